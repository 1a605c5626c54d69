#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The man pages are lint-clean and document exactly what the code has: every configuration key
of daemon/conf/conf.c in viewstampd.conf(5) and back, every viewstampd option in viewstampd(8)
and back, every viewstampctl command and option (data and admin commands) in viewstampctl(1) and back, and
every viewstamp-bench option in viewstamp-bench(1) and back."""
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



def section(page, name):
    return read(page).split(".SH " + name, 1)[1].split("\n.SH ", 1)[0]


def long_options(source):
    return set(re.findall(r'\{ "([\w-]+)", (?:no|required)_argument', read(source)))


def documented_options(page):
    return set(o.replace("\\-", "-")
               for o in re.findall(r'\\-\\-([a-z](?:[a-z]|\\-)*)', section(page, "OPTIONS")))


# viewstampctl's commands are the rows of its table: { "name", "args", "help", function }.
code_cmds = set(re.findall(r'^\s*\{ "([a-z-]+)", "[^"]*", "', read("daemon/ctl/viewstampctl.c"), re.M))
doc_cmds = set(re.findall(r'^\.TP\n\.BI? "?([a-z-]+)', section("man/viewstampctl.1", "COMMANDS"), re.M))
check_same("viewstampctl command", code_cmds, doc_cmds)
check_same("viewstampctl option", long_options("daemon/ctl/data.c") | long_options("daemon/ctl/bus-verb.c"),
           documented_options("man/viewstampctl.1"))
check_same("viewstamp-bench option", long_options("daemon/bench/viewstamp-bench.c"),
           documented_options("man/viewstamp-bench.1"))

for f in failures:
    print("FAIL:", f)
print(f"{len(code_keys)} keys, {len(code_opts)} options, {len(code_cmds)} viewstampctl commands checked")
sys.exit(1 if failures else 0)
