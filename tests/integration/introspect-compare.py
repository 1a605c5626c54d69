#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""introspect-compare.py LIVE.xml COMMITTED.xml: the interfaces declared in COMMITTED.xml appear
in LIVE.xml (what the running daemon answered to Introspect) with exactly the same methods
(argument names, types, directions), properties (types, access, change-signal annotation) and
signals. Prints every difference; exit 1 if any. describe() is shared with tests/docs."""
import sys
import xml.etree.ElementTree as ET

EMITS = "org.freedesktop.DBus.Property.EmitsChangedSignal"


def describe(iface):
    out = set()
    for m in iface.findall("method"):
        args = tuple((a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.findall("arg"))
        out.add(("method", m.get("name"), args))
    for s in iface.findall("signal"):
        args = tuple((a.get("name"), a.get("type")) for a in s.findall("arg"))
        out.add(("signal", s.get("name"), args))
    for p in iface.findall("property"):
        emits = [a.get("value") for a in p.findall("annotation") if a.get("name") == EMITS]
        out.add(("property", p.get("name"), (p.get("type"), p.get("access"), emits[0] if emits else "true")))
    return out


def main():
    live = {i.get("name"): i for i in ET.parse(sys.argv[1]).getroot().iter("interface")}
    committed = ET.parse(sys.argv[2]).getroot()
    bad = 0
    for iface in committed.iter("interface"):
        name = iface.get("name")
        if name not in live:
            print(f"{name}: not on the live object")
            bad += 1
            continue
        want, have = describe(iface), describe(live[name])
        for d in sorted(want - have, key=str):
            print(f"{name}: committed XML has {d}, the live object does not")
            bad += 1
        for d in sorted(have - want, key=str):
            print(f"{name}: the live object has {d}, the committed XML does not")
            bad += 1
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
