#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# viewstampd start-up: bad configuration and non-local addresses are refused with clear errors;
# a good one comes up on its private bus, answers busctl, and exits 0 on SIGTERM.
source "$(dirname "$0")/lib.sh"

p1=$(free_port); p2=$(free_port); p3=$(free_port); p4=$(free_port)
conf="$SCRATCH/node1.conf"
cat >"$conf" <<CONF
[Node]
Name=node1
StateDirectory=$SCRATCH/state1

[Cluster]
Node=node1 127.0.0.1:$p1 127.0.0.1:$p2
Node=node2 127.0.0.1:$p3 127.0.0.1:$p4
CONF

# A bad value is refused with FILE:LINE and the reason, before anything starts.
printf '[Node]\nName=node1\nLogLevel=chatty\n' >"$SCRATCH/bad.conf"
if out=$("$VIEWSTAMPD" --config "$SCRATCH/bad.conf" 2>&1); then fail "bad config accepted"; fi
[[ $out == *"$SCRATCH/bad.conf:3: unknown log level 'chatty'"* ]] || fail "unclear bad-config error: $out"

# A listen address that is not on this machine (TEST-NET-2, never contacted) is refused by name.
sed "s|Node=node1 127.0.0.1:$p1|Node=node1 198.51.100.7:$p1|" "$conf" >"$SCRATCH/remote.conf"
if out=$("$VIEWSTAMPD" --config "$SCRATCH/remote.conf" 2>&1); then fail "non-local address accepted"; fi
[[ $out == *"peer address 198.51.100.7:$p1 of node node1 is not on any local interface"* ]] ||
        fail "unclear address error: $out"

"$VIEWSTAMPD" --config "$conf" --check-config | grep -q "valid, node node1 of 2" || fail "--check-config"

start_bus node1
bus=$BUS

# A missing state directory is refused by name (systemd's StateDirectory= creates it).
if out=$(DBUS_SYSTEM_BUS_ADDRESS=$bus "$VIEWSTAMPD" --config "$conf" 2>&1); then fail "missing state dir accepted"; fi
[[ $out == *"state directory $SCRATCH/state1: No such file or directory"* ]] || fail "unclear state-dir error: $out"
mkdir "$SCRATCH/state1"

# The cluster secret: missing, open to others, malformed, or a link, the node refuses to start,
# names the file and the problem, never shows the content, and leaves its state directory alone.
key="$SCRATCH/state1/cluster.key"
refused_secret() { # WHY
        local out
        if out=$(DBUS_SYSTEM_BUS_ADDRESS=$bus "$VIEWSTAMPD" --config "$conf" 2>&1); then fail "secret accepted: $1"; fi
        [[ $out == *"cluster secret $key: $1"* ]] || fail "unclear secret error: $out"
        [[ $out != *0123456789abcdef* ]] || fail "the secret's content was logged: $out"
        [[ -z $(ls -A "$SCRATCH/state1" | grep -v cluster.key) ]] || fail "a refused start wrote state"
}
refused_secret "missing"
"$VIEWSTAMPD" --new-secret="$SCRATCH/made.key" | grep -q "new cluster secret" || fail "--new-secret"
[[ $(stat -c %a "$SCRATCH/made.key") == 600 ]] || fail "--new-secret made a file of mode $(stat -c %a "$SCRATCH/made.key")"
grep -Eqx '[0-9a-f]{64}' "$SCRATCH/made.key" || fail "--new-secret wrote $(wc -c <"$SCRATCH/made.key") bytes of another format"
if "$VIEWSTAMPD" --new-secret="$SCRATCH/made.key" 2>/dev/null; then fail "--new-secret replaced a secret"; fi
install -m 0640 "$SCRATCH/made.key" "$key"
refused_secret "readable or writable by group or others"
printf '0123456789abcdef%.0s' 1 2 3 >"$key"
chmod 0600 "$key"
refused_secret "not a cluster secret"
rm "$key"
ln -s "$SCRATCH/made.key" "$key"
refused_secret "is a symbolic link"
rm "$key"
# SecretFile= names a file anywhere.
printf '\n[Cluster]\nSecretFile=%s\n' "$SCRATCH/made.key" >>"$conf"

DBUS_SYSTEM_BUS_ADDRESS=$bus "$VIEWSTAMPD" --config "$conf" 2>"$SCRATCH/node1.log" &
pid=$!
STARTED_PIDS+=($pid)
wait_for_name "$bus"

name=$(DBUS_SYSTEM_BUS_ADDRESS=$bus busctl --system get-property org.viewstamp1 /org/viewstamp1 \
        org.viewstamp1.Manager NodeName)
[[ $name == 's "node1"' ]] || fail "NodeName is $name"
nodes=$(DBUS_SYSTEM_BUS_ADDRESS=$bus busctl --system get-property org.viewstamp1 /org/viewstamp1 \
        org.viewstamp1.Manager Nodes)
[[ $nodes == "a(sss) 2 \"node1\" \"127.0.0.1:$p1\" \"127.0.0.1:$p2\" \"node2\" \"127.0.0.1:$p3\" \"127.0.0.1:$p4\"" ]] ||
        fail "Nodes is $nodes"

# The committed introspection XML is what the live object says.
DBUS_SYSTEM_BUS_ADDRESS=$bus busctl --system --xml-interface introspect org.viewstamp1 /org/viewstamp1 \
        >"$SCRATCH/manager.xml"
"$VS_SOURCE_ROOT/tests/integration/introspect-compare.py" "$SCRATCH/manager.xml" \
        "$VS_SOURCE_ROOT/dbus/org.viewstamp1.Manager.xml" || fail "introspection differs from dbus/"

# A second daemon on the same state directory is refused by the journal's lock...
if out=$(DBUS_SYSTEM_BUS_ADDRESS=$bus "$VIEWSTAMPD" --config "$conf" 2>&1); then fail "second instance started"; fi
[[ $out == *"state directory $SCRATCH/state1 is in use by another process"* ]] || fail "unclear lock error: $out"
# ...and one with its own directory and ports cannot take the bus name.
p5=$(free_port); p6=$(free_port)
sed -e "s|127.0.0.1:$p1 127.0.0.1:$p2|127.0.0.1:$p5 127.0.0.1:$p6|" -e "s|state1|state1b|" "$conf" >"$SCRATCH/other.conf"
mkdir "$SCRATCH/state1b"
if out=$(DBUS_SYSTEM_BUS_ADDRESS=$bus "$VIEWSTAMPD" --config "$SCRATCH/other.conf" 2>&1); then fail "second instance started"; fi
[[ $out == *"org.viewstamp1 is already owned"* ]] || fail "unclear second-instance error: $out"

kill -TERM "$pid"
wait "$pid" || fail "viewstampd exited with $? on SIGTERM"
grep -q "shutting down" "$SCRATCH/node1.log" || fail "no shutdown log line"
echo "ok"
