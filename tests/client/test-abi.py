#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""libviewstamp exports exactly the functions viewstamp.h declares, all listed in the version
script, under the soname libviewstamp.so.0. Arguments: the built library, the source root."""
import re
import subprocess
import sys

lib, root = sys.argv[1], sys.argv[2]
header = open(f"{root}/daemon/client/viewstamp.h").read()
script = open(f"{root}/daemon/client/libviewstamp.sym").read()

declared = set(re.findall(r"^[a-z][\w \*]*?\b(vs_\w+)\(", header, re.M))
listed = set(re.findall(r"^\s+(vs_\w+);", script, re.M))
nm = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True).stdout
exported = set(m.group(1) for m in re.finditer(r" T (\w+)@@LIBVIEWSTAMP_0$", nm, re.M))
others = set(m.group(2) for m in re.finditer(r" ([TDBR]) (\w+)", nm)) - exported - {"LIBVIEWSTAMP_0"}
soname = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True, check=True).stdout

failures = []
for name, a, b in (("declared but not listed in the version script", declared, listed),
                   ("listed in the version script but not declared", listed, declared),
                   ("declared but not exported", declared, exported),
                   ("exported but not declared", exported, declared)):
    for f in sorted(a - b):
        failures.append(f"{f}: {name}")
for f in sorted(others):
    failures.append(f"{f}: exported without the version")
if "Library soname: [libviewstamp.so.0]" not in soname:
    failures.append("soname is not libviewstamp.so.0")
for f in failures:
    print("FAIL:", f)
print(f"{len(declared)} functions checked")
sys.exit(1 if failures else 0)
