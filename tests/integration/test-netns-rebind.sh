#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A real viewstampd in its own network namespace, listening on an address of a veth (or dummy)
# interface: when the address is removed, and separately when the link goes down, the daemon
# logs it and its STATUS= says so; when the address or the link comes back, it logs that, the
# status clears, and a client request through that address succeeds again. Skips when network
# namespaces cannot be created (not root, or no CAP_SYS_ADMIN).
source "$(dirname "$0")/lib.sh"
: "${VIEWSTAMPCTL:?path to viewstampctl}"

NS=vs-rebind-$$
if ((EUID != 0)) || ! ip netns add "$NS" 2>"$SCRATCH/netns.err"; then
        echo "SKIP: cannot create a network namespace: $(cat "$SCRATCH/netns.err" 2>/dev/null || echo "not root")"
        exit 77
fi
trap 'cleanup; ip netns delete "$NS" 2>/dev/null || true' EXIT

ip -n "$NS" link set lo up
if ip -n "$NS" link add vs0 type veth peer name vs1 2>/dev/null; then
        ip -n "$NS" link set vs1 up
else
        ip -n "$NS" link add vs0 type dummy || fail "neither veth nor dummy links can be created"
fi
ip -n "$NS" link set vs0 up
ADDR=10.77.0.1
ip -n "$NS" addr add "$ADDR/24" dev vs0

mkdir -p "$SCRATCH/state1"
printf '[Node]\nName=node1\nStateDirectory=%s\nLogLevel=info\n\n[Cluster]\nNode=node1 %s:7401 %s:7501\n' \
        "$SCRATCH/state1" "$ADDR" "$ADDR" >"$SCRATCH/node1.conf"
start_bus node1
bus=$BUS

# The daemon's sd_notify messages, one per line, as systemd would receive them.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        for line in s.recv(65536).decode(errors="replace").splitlines():
            print(line, file=f, flush=True)
' "$SCRATCH/notify" "$SCRATCH/notify.log" &
STARTED_PIDS+=($!)
wait_until 10 test -S "$SCRATCH/notify" || fail "the notify socket did not appear"

# ip netns exec execs the daemon in place, so $! is the daemon's PID.
NOTIFY_SOCKET=$SCRATCH/notify DBUS_SYSTEM_BUS_ADDRESS=$bus ip netns exec "$NS" "$VIEWSTAMPD" \
        --config "$SCRATCH/node1.conf" >>"$SCRATCH/node1.log" 2>&1 &
pid=$!
STARTED_PIDS+=($pid)
wait_for_name "$bus"
out=$(DBUS_SYSTEM_BUS_ADDRESS=$bus busctl --system call org.viewstamp1 /org/viewstamp1 \
        org.viewstamp1.Manager CreateTenant sas t 1 node1) || fail "CreateTenant: $out"

ctl() { ip netns exec "$NS" timeout 20 "$VIEWSTAMPCTL" "$@" --tenant t --node "$ADDR:7501"; }
value_is() { [[ $(ctl get /k 2>/dev/null) == "$1" ]]; }
wait_until 20 ctl create /k v0 >/dev/null 2>&1 || fail "no client request succeeded: $(ctl create /k v0 2>&1)"

status() { grep '^STATUS=' "$SCRATCH/notify.log" | tail -n1; }
down() { [[ $(status) == *"peer address DOWN; client address DOWN"* ]]; }
up() { [[ $(status) == STATUS=* && $(status) != *DOWN* ]]; }
logged() { # logged TEXT COUNT: the log holds TEXT at least COUNT times
        (($(grep -c -F "$1" "$SCRATCH/node1.log") >= $2))
}
wait_until 10 up || fail "status before: $(status)"

# gone WHAT N / back WHAT N: the N-th disappearance or return of both addresses is logged and
# shown, and (when back) the peer port accepts again and a client request through the address
# succeeds.
gone() {
        wait_until 10 logged "peer address $ADDR:7401 is gone" "$2" || fail "$1: no log line: $(tail -n 5 "$SCRATCH/node1.log")"
        wait_until 10 logged "client address $ADDR:7501 is gone" "$2" || fail "$1: no log line: $(tail -n 5 "$SCRATCH/node1.log")"
        wait_until 10 down || fail "$1: status says $(status)"
}
back() {
        wait_until 10 logged "peer address $ADDR:7401 is back" "$2" || fail "$1: no log line: $(tail -n 5 "$SCRATCH/node1.log")"
        wait_until 10 logged "client address $ADDR:7501 is back" "$2" || fail "$1: no log line: $(tail -n 5 "$SCRATCH/node1.log")"
        wait_until 10 up || fail "$1: status says $(status)"
        ip netns exec "$NS" timeout 10 bash -c "exec 3<>/dev/tcp/$ADDR/7401" || fail "$1: the peer port does not accept"
        wait_until 20 ctl set /k "$1" >/dev/null 2>&1 || fail "$1: the client cannot write: $(ctl set /k "$1" 2>&1)"
        value_is "$1" || fail "$1: read back $(ctl get /k 2>&1)"
}

ip -n "$NS" addr del "$ADDR/24" dev vs0
gone "address removed" 1
if ctl get /k >/dev/null 2>&1; then fail "a client reached the node through a removed address"; fi
ip -n "$NS" addr add "$ADDR/24" dev vs0
back "address restored" 1

ip -n "$NS" link set vs0 down
gone "link down" 2
ip -n "$NS" link set vs0 up
back "link up" 2

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
((rc == 0)) || fail "viewstampd exited $rc: $(tail -n 20 "$SCRATCH/node1.log")"
# The notify reader may write the daemon's last datagram only after the daemon exited.
wait_until 5 grep -q '^STOPPING=1' "$SCRATCH/notify.log" || fail "no STOPPING=1"
