#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bus-bad-input.py DBUS-DIR LABEL: bad input for every member that dbus/*.xml declares, on the live
objects of org.viewstamp1 at $DBUS_SYSTEM_BUS_ADDRESS, as whoever runs it (LABEL names that in
the output). Runs on Debian's python3 with python3-dbus.

Every method of every interface is called on every live object that implements it (found by
walking the object tree with Introspect), and on an object that does not exist, with: no
arguments (for a method without arguments only when not root), one argument too many, each argument of the wrong type, and the right types filled
with empty strings, 1 MiB strings, names with invalid characters and names of tenants and nodes
that do not exist. Every property is read, and written with a value of the right and of the wrong
type. Each call must end in a named error (org.freedesktop.DBus.Error.* or org.viewstamp1.Error.*,
and not one saying that the daemon did not answer) or succeed, within 30 s; afterwards the daemon
must still own its name, and ListTenants and every property of every live object must be what
they were before. Exit 1 on any failure, listing them all."""
import glob
import os
import sys
import xml.etree.ElementTree as ET

import dbus
import dbus.lowlevel

NAME = "org.viewstamp1"
ROOT = "/org/viewstamp1"
UNKNOWN = "vs-no-such-name"
BAD_STRINGS = {
    "empty": "",
    "huge": "x" * (1 << 20),
    "slash": "bad/name",
    "dots": "../..",
    "space": "a name",
    "leading-dash": "-x",
    "control": "a\x01b",
    "non-ascii": "\u00e9t\u00e9\u4e2d",
    "unknown": UNKNOWN,
}
# Errors that mean the daemon did not answer the call itself.
UNANSWERED = {
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.Disconnected",
    "org.freedesktop.DBus.Error.Timeout",
    "org.freedesktop.DBus.Error.TimedOut",
}

dbus_dir, label = sys.argv[1:3]
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
failures = []
calls = 0
outcomes = {}


def complete_types(sig):
    """Splits a D-Bus signature into its complete types."""
    out, i = [], 0
    while i < len(sig):
        j = i
        while sig[j] == "a":
            j += 1
        if sig[j] in "({":
            depth, k = 0, j
            while True:
                depth += sig[k] in "({"
                depth -= sig[k] in ")}"
                k += 1
                if depth == 0:
                    break
            j = k
        else:
            j += 1
        out.append(sig[i:j])
        i = j
    return out


def value(t, s, big):
    """A value of type t whose strings are s and whose numbers are 0 or, with big, the largest."""
    c = t[0]
    if c == "s":
        return dbus.String(s)
    if c == "o":
        return dbus.ObjectPath(ROOT + "/" + UNKNOWN.replace("-", "_"))
    if c == "g":
        return dbus.Signature("s")
    if c == "b":
        return dbus.Boolean(big)
    if c in "ynqiuxt":
        bits, cls = {"y": (8, dbus.Byte), "n": (15, dbus.Int16), "q": (16, dbus.UInt16), "i": (31, dbus.Int32),
                     "u": (32, dbus.UInt32), "x": (63, dbus.Int64), "t": (64, dbus.UInt64)}[c]
        return cls((1 << bits) - 1 if big else 0)
    if c == "d":
        return dbus.Double(1e308 if big else 0.0)
    if c == "v":
        return dbus.String(s, variant_level=1)
    if c == "a" and t[1] == "{":
        k, v = complete_types(t[2:-1])
        return dbus.Dictionary({value(k, s, big): value(v, s, big)}, signature=k + v)
    if c == "a":
        return dbus.Array([value(t[1:], s, big)], signature=t[1:])
    if c == "(":
        return dbus.Struct([value(x, s, big) for x in complete_types(t[1:-1])])
    raise ValueError(f"no sample value for type {t}")


def wrong(t):
    """A type that is not t, with a value."""
    return ("i", dbus.Int32(7)) if t == "s" else ("s", dbus.String("x"))


def call(path, interface, member, sig, args):
    global calls
    calls += 1
    msg = dbus.lowlevel.MethodCallMessage(NAME, path, interface, member)
    if sig:
        msg.append(signature=sig, *args)
    try:
        bus.send_message_with_reply_and_block(msg, 30)
        return None
    except dbus.exceptions.DBusException as e:
        return e.get_dbus_name() or "(no name)"


def check(what, result):
    """A call's result: success, or a named error that the daemon itself gave."""
    outcomes[result or "success"] = outcomes.get(result or "success", 0) + 1
    if result is None:
        return
    named = result.startswith("org.freedesktop.DBus.Error.") or result.startswith("org.viewstamp1.Error.")
    if not named or result in UNANSWERED:
        failures.append(f"{what}: {result}")


def objects(path="/"):
    """Every object below / of the daemon, with the interfaces it implements."""
    xml = dbus.Interface(bus.get_object(NAME, path, introspect=False),
                         "org.freedesktop.DBus.Introspectable").Introspect()
    node = ET.fromstring(str(xml))
    found = {path: {i.get("name") for i in node.findall("interface")}}
    for child in node.findall("node"):
        found.update(objects(path.rstrip("/") + "/" + child.get("name")))
    return found


interfaces = {}
for f in sorted(glob.glob(os.path.join(dbus_dir, "*.xml"))):
    for iface in ET.parse(f).getroot().iter("interface"):
        interfaces[iface.get("name")] = iface


# Properties that are clocks: they move by themselves.
CLOCKS = {("org.viewstamp1.Node", "LastSeen")}


def state():
    """What a caller can see: ListTenants and every property of every live object (clocks aside)."""
    props = bus.get_object(NAME, ROOT, introspect=False)
    seen = {"ListTenants": dbus.Interface(props, "org.viewstamp1.Manager").ListTenants()}
    for path, impl in sorted(objects().items()):
        for name in sorted(impl & interfaces.keys()):
            all_props = dbus.Interface(bus.get_object(NAME, path, introspect=False),
                                       "org.freedesktop.DBus.Properties").GetAll(name)
            seen[path + " " + name] = {k: v for k, v in all_props.items() if (name, str(k)) not in CLOCKS}
    return seen


before = state()
live = objects()
targets = {name: [p for p, impl in live.items() if name in impl] for name in interfaces}
missing = [name for name, paths in targets.items() if not paths]
if missing:
    failures.append(f"no live object implements {', '.join(missing)}: the test needs one of each")

for name, iface in interfaces.items():
    paths = targets[name] + [ROOT + "/" + UNKNOWN.replace("-", "_"), ROOT + "/tenant/" + UNKNOWN.replace("-", "_")]
    for path in paths:
        for m in iface.findall("method"):
            member = m.get("name")
            types = [a.get("type") for a in m.findall("arg") if a.get("direction", "in") == "in"]
            sig = "".join(types)
            where = f"{label}: {path} {name}.{member}"
            # Without arguments the right call is the only call, and as root it could change
            # the cluster (an InitCluster()); unprivileged, it must be refused or only read.
            if types or os.geteuid() != 0:
                check(f"{where}()", call(path, name, member, "", []))
            check(f"{where} with an extra argument",
                  call(path, name, member, sig + "s", [value(t, UNKNOWN, False) for t in types] + ["extra"]))
            for i, t in enumerate(types):
                wt, wv = wrong(t)
                args = [value(x, UNKNOWN, False) for x in types]
                args[i] = wv
                check(f"{where} with argument {i} of type {wt}",
                      call(path, name, member, "".join(types[:i]) + wt + "".join(types[i + 1:]), args))
            if any("s" in t or "v" in t for t in types):
                for kind, s in BAD_STRINGS.items():
                    check(f"{where} with {kind} strings",
                          call(path, name, member, sig, [value(t, s, kind == "huge") for t in types]))
        for p in iface.findall("property"):
            t, prop = p.get("type"), p.get("name")
            where = f"{label}: {path} {name}.{prop}"
            check(f"{where} read", call(path, "org.freedesktop.DBus.Properties", "Get", "ss", [name, prop]))
            wt, wv = wrong(t)
            for desc, v in (("of its type", value(t, UNKNOWN, True)), (f"of type {wt}", wv)):
                check(f"{where} written with a value {desc}",
                      call(path, "org.freedesktop.DBus.Properties", "Set", "ssv", [name, prop, v]))

try:
    bus.get_name_owner(NAME)
except dbus.exceptions.DBusException as e:
    failures.append(f"{label}: after {calls} calls the daemon no longer owns {NAME}: {e.get_dbus_name()}")
else:
    after = state()
    for k in sorted(before.keys() | after.keys()):
        if before.get(k) != after.get(k):
            failures.append(f"{label}: {k} changed: {before.get(k)!r} -> {after.get(k)!r}")

for f in failures:
    print("FAIL:", f[:500])
for result, n in sorted(outcomes.items()):
    print(f"{label}: {n:4} x {result}")
print(f"{label}: {calls} calls on {sum(len(p) for p in targets.values())} objects, {len(failures)} failures")
sys.exit(1 if failures else 0)
