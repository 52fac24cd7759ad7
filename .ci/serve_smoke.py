#!/usr/bin/env python3
"""CI: a rule edited under a running `rolecall serve` changes the next `/v1/check` answer.

    python3 .ci/serve_smoke.py BASE_URL RULE_FILE

RULE_FILE is a rule in a directory the server was given with `--rules`; its report message is
`before`. The script checks the served findings say `before`, rewrites the rule to say `after`,
and waits (with a deadline) for the served findings to say `after`.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from serve_client import ask  # noqa: E402


def messages(base):
    status, answer = ask(base, "/v1/check", {"select": ["CI001"]})
    assert status == 200, answer
    return {f["message"] for f in answer["findings"]}, answer["meta"]


def main(base, rule):
    found, _ = messages(base)
    assert found == {"before"}, found
    with open(rule, encoding="utf-8") as f:
        text = f.read()
    with open(rule, "w", encoding="utf-8") as f:
        f.write(text.replace('"before"', '"after"'))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found, meta = messages(base)
        if found == {"after"}:
            print(f"the edited rule answers (generation {meta['generation']}, stale: {meta['stale']})")
            return 0
        time.sleep(0.1)
    print(f"the edit never reached /v1/check: {found}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/"), sys.argv[2]))
