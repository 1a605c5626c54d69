#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tallies test results for tests/run.

  summary.py add NAME passed failed [skipped]   record a step that is not a meson test
  summary.py meson BUILDDIR LABEL                record every test of a meson run
  summary.py print                               print 'N passed, N failed[, N skipped]'

A meson test that is a check suite counts as its individual checks (from check's own
'Checks: N, Failures: F, Errors: E' line); any other meson test counts as one.
The tally lives in the file named by $VS_TALLY.
"""
import json
import os
import re
import sys

CHECK_LINE = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")


def load():
    try:
        with open(os.environ["VS_TALLY"]) as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    if not text:
        return {"passed": 0, "failed": 0, "skipped": 0, "failures": []}
    return json.loads(text)


def save(t):
    with open(os.environ["VS_TALLY"], "w") as f:
        json.dump(t, f)


def main(argv):
    t = load()
    if argv[0] == "add":
        name, passed, failed = argv[1], int(argv[2]), int(argv[3])
        t["passed"] += passed
        t["failed"] += failed
        t["skipped"] += int(argv[4]) if len(argv) > 4 else 0
        if failed:
            t["failures"].append(name)
    elif argv[0] == "meson":
        builddir, label = argv[1], argv[2]
        with open(os.path.join(builddir, "meson-logs", "testlog.json")) as f:
            for line in f:
                r = json.loads(line)
                name = f"{label}: {r['name']}"
                result = r["result"]
                m = CHECK_LINE.findall(r.get("stdout") or "")
                if result == "SKIP":
                    t["skipped"] += 1
                elif m:
                    checks = sum(int(c) for c, _, _ in m)
                    bad = sum(int(f) + int(e) for _, f, e in m)
                    if result != "OK" and bad == 0:
                        bad = 1  # the binary failed outside its checks (crash, leak, timeout)
                    t["passed"] += max(checks - bad, 0)
                    t["failed"] += bad
                    if bad:
                        t["failures"].append(name)
                elif result == "OK":
                    t["passed"] += 1
                else:
                    t["failed"] += 1
                    t["failures"].append(name)
    elif argv[0] == "print":
        for name in t["failures"]:
            print(f"FAILED: {name}")
        line = f"{t['passed']} passed, {t['failed']} failed"
        if t["skipped"]:
            line += f", {t['skipped']} skipped"
        print(line)
        return 1 if t["failed"] else 0
    save(t)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
