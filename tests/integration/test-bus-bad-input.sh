#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bad input over D-Bus (bus-bad-input.py: every member in dbus/*.xml with wrong argument types and
# counts, empty, huge and invalid strings, unknown tenant and node names) against a live node
# hosting a tenant: as the user running the tests and, when that is root, as nobody. Every call
# gets a named error or succeeds, the daemon keeps running, and nothing it shows changes.
source "$(dirname "$0")/lib.sh"

start_cluster 1
bus=$(bus_of 1)
out=$(DBUS_SYSTEM_BUS_ADDRESS=$bus busctl --system call org.viewstamp1 /org/viewstamp1 \
        org.viewstamp1.Manager CreateTenant sas accounts 1 node1) || fail "CreateTenant: $out"
hosted() { [[ $(tenant_property 1 accounts Status) == 's "normal"' ]]; }
wait_until 20 hosted || fail "node1 does not host accounts"

install -m 0755 "$VS_SOURCE_ROOT/tests/integration/bus-bad-input.py" "$SCRATCH/bus-bad-input.py"
cp -r "$VS_SOURCE_ROOT/dbus" "$SCRATCH/dbus"
chmod -R o+rX "$SCRATCH/dbus"
(cd / && DBUS_SYSTEM_BUS_ADDRESS=$bus "$SCRATCH/bus-bad-input.py" "$SCRATCH/dbus" "$(id -un)") ||
        fail "bad input as $(id -un)"
if ((EUID == 0)); then
        chmod o+x "$SCRATCH" "$SCRATCH/bus-node1"
        (cd / && setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
                env DBUS_SYSTEM_BUS_ADDRESS="$bus" "$SCRATCH/bus-bad-input.py" "$SCRATCH/dbus" nobody) ||
                fail "bad input as nobody"
else
        echo "skipped the calls as nobody: setpriv needs root"
fi
kill -0 "$PID_1" || fail "viewstampd is gone: $(tail -n 20 "$SCRATCH/node1.log")"
kill -TERM "$PID_1"
rc=0
wait "$PID_1" || rc=$?
((rc == 0)) || fail "viewstampd exited $rc: $(tail -n 20 "$SCRATCH/node1.log")"
