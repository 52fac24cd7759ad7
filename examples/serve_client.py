#!/usr/bin/env python3
"""Ask a running `rolecall serve` the seed question, with Python's standard library only.

Why does the `wfm-sync` integration get 403 moving agents between management units?

    rolecall serve &                       # the built-in sample org, on 127.0.0.1:8181
    python3 examples/serve_client.py       # or: python3 examples/serve_client.py http://HOST:PORT

With `--expect FILE` (the output of `rolecall explain --format json` for the same question) it
exits 1 unless the served answer is that document. The token, when the server needs one, is
read from ROLECALL_TOKEN.
"""

import json
import os
import sys
import urllib.error
import urllib.request

SEED = {
    "subject": "client:wfm-sync",
    "operation": "POST /api/v2/workforcemanagement/agents",
    "target": "management-unit:EU Agents",
}


def ask(base, path, body=None):
    """POST `body` (or GET without one) and return the status and the JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="GET" if body is None else "POST")
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    token = os.environ.get("ROLECALL_TOKEN")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        # Problems (RFC 9457) are JSON too: `detail` and `help` are the CLI's words.
        return e.code, json.load(e)


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    base = (args[0] if args else "http://127.0.0.1:8181").rstrip("/")
    status, answer = ask(base, "/v1/explain", SEED)
    if status != 200:
        print(f"{status} {answer.get('title')}: {answer.get('detail')}", file=sys.stderr)
        if answer.get("help"):
            print(f"help: {answer['help']}", file=sys.stderr)
        return 2
    ex = answer["explanation"]
    meta = answer["meta"]
    print(f"verdict: {ex['verdict']}")
    if ex.get("fix"):
        print(f"fix: {ex['fix']}")
    print(f"snapshot {meta['snapshotId']}, {meta['snapshotAge']} s old, stale: {meta['stale']}")
    if "--expect" in argv:
        with open(argv[argv.index("--expect") + 1], encoding="utf-8") as f:
            expected = json.load(f)
        served = {k: v for k, v in answer.items() if k != "meta"}
        if served != expected:
            print("the served answer differs from `rolecall explain --format json`", file=sys.stderr)
            return 1
        print("same answer as `rolecall explain --format json`")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
