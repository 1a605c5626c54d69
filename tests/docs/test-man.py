#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The man pages are lint-clean and document exactly what the code has: every configuration key
of daemon/conf/conf.c in viewstampd.conf(5) and back, and every viewstampd option in
viewstampd(8) and back."""
import os
import re
import subprocess
import sys

root = os.environ["VS_SOURCE_ROOT"]
failures = []


def read(path):
    with open(os.path.join(root, path)) as f:
        return f.read()


def check_same(what, in_code, in_doc):
    for k in sorted(in_code - in_doc):
        failures.append(f"{what} {k} exists in the code but is not documented")
    for k in sorted(in_doc - in_code):
        failures.append(f"{what} {k} is documented but does not exist in the code")


pages = sorted(os.path.join(root, "man", p) for p in os.listdir(os.path.join(root, "man"))
               if re.search(r"\.\d$", p))
lint = subprocess.run(["mandoc", "-Tlint", "-Wstyle", *pages], capture_output=True, text=True)
if lint.returncode != 0 or lint.stdout or lint.stderr:
    failures.append("mandoc -Tlint:\n" + lint.stdout + lint.stderr)

code_keys = set(re.findall(r'\{ "\w+", "(\w+)", parse_', read("daemon/conf/conf.c")))
doc_keys = set(re.findall(r'^\.BI? (\w+)= ', read("man/viewstampd.conf.5"), re.M))
check_same("configuration key", code_keys, doc_keys)

code_opts = set(re.findall(r'\{ "([\w-]+)", (?:no|required)_argument', read("daemon/viewstampd/main.c")))
options_section = read("man/viewstampd.8").split(".SH OPTIONS", 1)[1].split(".SH ", 1)[0]
doc_opts = set(o.replace("\\-", "-") for o in re.findall(r'\\-\\-([a-z](?:[a-z]|\\-)*)', options_section))
check_same("viewstampd option", code_opts, doc_opts)

for f in failures:
    print("FAIL:", f)
print(f"{len(code_keys)} keys, {len(code_opts)} options checked")
sys.exit(1 if failures else 0)
