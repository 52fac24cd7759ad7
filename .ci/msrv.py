#!/usr/bin/env python3
"""Check that Cargo.toml's rust-version is the real minimum of the locked dependency tree.

Reads `cargo metadata --locked` (after `cargo fetch --locked`), takes every package the library
and binary build (normal and build dependencies of rolecall, transitively, any platform), and
compares the highest `rust-version` among them with rolecall's own. Fails when a dependency
needs a newer Rust than rolecall says (a dependency raised it), or when rolecall claims a newer
one than any dependency needs (the stated minimum is not the real one).
"""
import json
import subprocess
import sys


def version(text):
    return tuple(int(x) for x in text.split("."))[:2] if text else (0, 0)


def main():
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--locked", "--offline"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    packages = {p["id"]: p for p in meta["packages"]}
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = next(p for p in meta["packages"] if p["name"] == "rolecall")
    seen, stack = set(), [root["id"]]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        for dep in nodes[node]["deps"]:
            kinds = {k["kind"] for k in dep["dep_kinds"]}
            if kinds & {None, "build"}:
                stack.append(dep["pkg"])
    seen.discard(root["id"])
    needed = max(seen, key=lambda i: version(packages[i].get("rust_version")))
    need = version(packages[needed].get("rust_version"))
    ours = version(root.get("rust_version"))
    name = f"{packages[needed]['name']} {packages[needed]['version']}"
    shown = lambda v: ".".join(map(str, v))
    if need > ours:
        print(f"msrv: {name} needs Rust {shown(need)}, but Cargo.toml says rust-version = {shown(ours)}: raise it (and the README)")
        return 1
    if need < ours:
        print(f"msrv: Cargo.toml says rust-version = {shown(ours)}, but the locked dependencies need only {shown(need)} ({name})")
        return 1
    print(f"msrv: rust-version {shown(ours)} is the locked dependencies' minimum ({name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
