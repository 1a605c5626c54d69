#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""dbus-api-check.py LIVE.xml...: org.viewstamp1(5) documents exactly the D-Bus API that exists.

- Every org.viewstamp1.* interface in LIVE.xml (what a running viewstampd answered to Introspect,
  one file per object) and in dbus/*.xml has a block "interface NAME { ... };" in the page, with
  the same methods (argument names, types, directions), properties (type, access, change-signal
  annotation) and signals, and no others.
- Every member of such a block has its own entry (".TP" then ".B Name" or ".BI \"Name(...")
  under the Methods, Properties or Signals subsection of the same section, and no entry
  describes a member that does not exist.
- Every error name the daemon can return (org.viewstamp1.Error.* and the SD_BUS_ERROR_*
  constants daemon/bus/ sets or replies with) has an entry in ERRORS, and every org.viewstamp1.Error.* entry
  there is one the daemon returns.
Each failure says what to add or remove where."""
import glob
import importlib.util
import os
import re
import sys
import xml.etree.ElementTree as ET

root = os.environ["VS_SOURCE_ROOT"]
PAGE = "man/org.viewstamp1.5"
EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"

spec = importlib.util.spec_from_file_location(
    "introspect_compare", os.path.join(root, "tests/integration/introspect-compare.py"))
introspect_compare = importlib.util.module_from_spec(spec)
spec.loader.exec_module(introspect_compare)
describe = introspect_compare.describe

failures = []


def read(path):
    with open(os.path.join(root, path)) as f:
        return f.read()


def idl(member):
    """A member as the page's interface block writes it."""
    kind, name, detail = member
    if kind == "method":
        return f"{name}({', '.join(f'{d} {t} {n}' for n, t, d in detail)});"
    if kind == "signal":
        return f"{name}({', '.join(f'{t} {n}' for n, t in detail)});"
    typ, access, emits = detail
    note = "" if emits == "true" else f' under @{EMITS}("{emits}")'
    return f"{'readonly' if access == 'read' else access} {typ} {name};{note}"


def interfaces_of(xml_files):
    found = {}
    for path in xml_files:
        for iface in ET.parse(path).getroot().iter("interface"):
            name = iface.get("name")
            if name.startswith("org.viewstamp1."):
                found.setdefault(name, set()).update(describe(iface))
    return found


def parse_page(text):
    """{interface: (members, section text)} from the page's interface blocks."""
    out = {}
    sections = re.split(r"^(?=\.SH )", text, flags=re.M)
    for section in sections:
        for block in re.findall(r"^\.EX\n(.*?)^\.EE", section, re.M | re.S):
            for name, body in re.findall(r"interface ([\w.]+) \{\n(.*?)\n\s*\};", block, re.S):
                members, kind, emits = set(), None, "true"
                for stmt in re.findall(r"[^;:]*[;:]", body):
                    stmt = " ".join(stmt.split())
                    if stmt in ("methods:", "properties:", "signals:"):
                        kind = stmt[:-2] if stmt != "properties:" else "property"
                        continue
                    m = re.fullmatch(r'(?:@' + re.escape(EMITS) + r'\("(\w+)"\) )?(.*)', stmt)
                    emits, stmt = m.group(1) or "true", m.group(2)
                    if kind == "method":
                        m = re.fullmatch(r"(\w+)\((.*)\);", stmt)
                        args = tuple((a.split()[2], a.split()[1], a.split()[0])
                                     for a in m.group(2).split(",") if a.strip()) if m else None
                        members.add(("method", m.group(1), args) if m else ("unparsed", stmt, ()))
                    elif kind == "signal":
                        m = re.fullmatch(r"(\w+)\((.*)\);", stmt)
                        args = tuple((a.split()[1], a.split()[0]) for a in m.group(2).split(",")
                                     if a.strip()) if m else None
                        members.add(("signal", m.group(1), args) if m else ("unparsed", stmt, ()))
                    elif kind == "property":
                        m = re.fullmatch(r"(readonly|readwrite|writeonly) (\S+) (\w+);", stmt)
                        access = {"readonly": "read", "readwrite": "readwrite", "writeonly": "write"}
                        members.add(("property", m.group(3), (m.group(2), access[m.group(1)], emits))
                                    if m else ("unparsed", stmt, ()))
                    else:
                        members.add(("unparsed", stmt, ()))
                out[name] = (members, section)
    return out


def entries(section, subsection):
    """Member names described under .SS subsection of a page section."""
    parts = re.split(r"^\.SS ", section, flags=re.M)
    body = next((p for p in parts if p.split("\n", 1)[0].strip('" ') == subsection), "")
    return set(re.findall(r'^\.TP\n\.BI? "?(\w+)', body, re.M))


text = read(PAGE)
page = parse_page(text)
live_files = sys.argv[1:]
sources = [("the running daemon", interfaces_of(live_files)),
           ("dbus/*.xml", interfaces_of(sorted(glob.glob(os.path.join(root, "dbus", "*.xml")))))]

if not live_files:
    failures.append("no live introspection given")
for where, found in sources:
    for iface, have in sorted(found.items()):
        if iface not in page:
            failures.append(f"{PAGE} has no block for interface {iface} (on {where}): add a section with "
                            f'".EX" "interface {iface} {{" ... "}};" ".EE" and Methods/Properties/Signals entries')
            continue
        documented = page[iface][0]
        for m in sorted(have - documented, key=str):
            failures.append(f"{PAGE}: interface {iface} block lacks {m[0]} {idl(m)} (on {where})")
        for m in sorted(documented - have, key=str):
            if m[0] == "unparsed":
                failures.append(f"{PAGE}: interface {iface} block has a line not understood: {m[1]}")
            else:
                failures.append(f"{PAGE}: interface {iface} block has {m[0]} {idl(m)}, which {where} does not")
for iface, (documented, section) in sorted(page.items()):
    if not any(iface in found for _, found in sources):
        failures.append(f"{PAGE} documents interface {iface}, which neither the daemon nor dbus/*.xml has")
    for kind, sub in (("method", "Methods"), ("property", "Properties"), ("signal", "Signals")):
        names = {m[1] for m in documented if m[0] == kind}
        described = entries(section, sub)
        for n in sorted(names - described):
            failures.append(f'{PAGE}: {kind} {iface}.{n} has no entry under .SS {sub} '
                            f'(".TP" then ".B {n}" or ".BI \\"{n}(...")')
        for n in sorted(described - names):
            failures.append(f"{PAGE}: .SS {sub} of {iface} describes {n}, which is not in its interface block")

# Error names the daemon's bus code can return.
protocol = open("/usr/include/systemd/sd-bus-protocol.h").read()
standard = dict(re.findall(r'#define (SD_BUS_ERROR_\w+)\s+"([\w.]+)"', protocol))
code = "".join(read(os.path.relpath(p, root)) for p in sorted(glob.glob(os.path.join(root, "daemon/bus/*.[ch]"))))
prefix = re.search(r'#define VS_BUS_ERROR_PREFIX "([\w.]+)"', code).group(1)
# Our own names wherever they are spelled out; standard names where an error is set or replied
# with one (not where a received error is compared with it).
code_errors = {prefix + e for e in re.findall(r'VS_BUS_ERROR_PREFIX "(\w+)"', code)}
code_errors |= set(re.findall(r'"(' + re.escape(prefix) + r'\w+)"', code))
sent = re.findall(r"\bsd_bus_(?:error_setf?|reply_method_errorf?)\(\s*[^,()]+,\s*(SD_BUS_ERROR_\w+)", code)
code_errors |= {standard[c] for c in sent if c in standard}
errors_section = text.split(".SH ERRORS", 1)[1].split("\n.SH ", 1)[0] if ".SH ERRORS" in text else ""
doc_errors = set(re.findall(r"^\.TP\n\.B ([\w.]+)$", errors_section, re.M))
for e in sorted(code_errors - doc_errors):
    failures.append(f'{PAGE}: error {e}, returned in daemon/bus/, has no entry under .SH ERRORS (".TP" then ".B {e}")')
for e in sorted(e for e in doc_errors - code_errors if e.startswith(prefix)):
    failures.append(f"{PAGE}: ERRORS describes {e}, which daemon/bus/ never returns")

for f in failures:
    print("FAIL:", f)
n_members = sum(len(m) for m, _ in page.values())
print(f"{len(page)} interfaces, {n_members} members, {len(code_errors)} error names checked "
      f"against {len(live_files)} live objects and dbus/*.xml")
sys.exit(1 if failures else 0)
