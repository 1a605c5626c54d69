#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""bus-call.py PATH INTERFACE METHOD SIGNATURE [JSON-ARG...]: calls org.viewstamp1 on the bus at
$DBUS_SYSTEM_BUS_ADDRESS (with the ALLOW_INTERACTIVE_AUTHORIZATION flag when $VS_INTERACTIVE is
set) and prints the reply's values as JSON, exit 0; or 'ERROR name: message', exit 1. Unlike
busctl it prints the error's name, which is what the tests check. With $VS_SENDER_FILE set, it
first writes its unique bus name there (what polkit is asked about)."""
import json
import os
import sys

import dbus
import dbus.lowlevel


def plain(v):
    if isinstance(v, (list, dbus.Array, dbus.Struct, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (dict, dbus.Dictionary)):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.Boolean, bool)):
        return bool(v)
    if isinstance(v, (int, dbus.Byte)):
        return int(v)
    if isinstance(v, float):
        return float(v)
    return str(v)


path, interface, method, signature = sys.argv[1:5]
args = [json.loads(a) for a in sys.argv[5:]]
bus = dbus.bus.BusConnection(os.environ["DBUS_SYSTEM_BUS_ADDRESS"])
if os.environ.get("VS_SENDER_FILE"):
    with open(os.environ["VS_SENDER_FILE"], "w") as f:
        print(bus.get_unique_name(), file=f)
msg = dbus.lowlevel.MethodCallMessage("org.viewstamp1", path, interface, method)
if os.environ.get("VS_INTERACTIVE"):
    msg.set_allow_interactive_authorization(True)
if signature:
    msg.append(signature=signature, *args)
try:
    reply = bus.send_message_with_reply_and_block(msg, 30)
except dbus.exceptions.DBusException as e:
    print(f"ERROR {e.get_dbus_name()}: {e.get_dbus_message()}")
    sys.exit(1)
print(json.dumps(plain(reply.get_args_list())))
