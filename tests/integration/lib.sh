# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the integration tests: private buses and daemons that the test starts itself, on
# loopback, in a scratch directory; everything is stopped (by PID, only what the test started)
# and removed on exit, whatever happens.
set -euo pipefail

: "${VIEWSTAMPD:?path to viewstampd}"
: "${VS_SOURCE_ROOT:?path to the source tree}"

SCRATCH=$(mktemp -d /tmp/viewstamp-test.XXXXXX)
STARTED_PIDS=()

cleanup() {
        local pid
        for pid in "${STARTED_PIDS[@]}"; do
                kill -TERM "$pid" 2>/dev/null || true
        done
        for pid in "${STARTED_PIDS[@]}"; do
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$pid" 2>/dev/null || true
        done
        rm -rf "$SCRATCH"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

# start_bus NAME: a private system-type dbus-daemon with viewstamp's policy (the source tree's,
# or the file VS_BUS_POLICY names); sets BUS to its address. (Not a $(...) function: the PID must
# be recorded in this shell.)
start_bus() {
        local dir="$SCRATCH/bus-$1"
        mkdir -p "$dir"
        sed -e "s|@DIR@|$dir|" -e "s|@USER@|$(id -un)|" \
                -e "s|@POLICY@|${VS_BUS_POLICY:-$VS_SOURCE_ROOT/dbus/org.viewstamp1.conf}|" \
                "$VS_SOURCE_ROOT/tests/integration/bus.conf.in" >"$dir/bus.conf"
        dbus-daemon --config-file="$dir/bus.conf" --nofork --print-address=3 3>"$dir/address" \
                </dev/null >"$dir/log" 2>&1 &
        STARTED_PIDS+=($!)
        for _ in $(seq 100); do [[ -s $dir/address ]] && break; sleep 0.05; done
        [[ -s $dir/address ]] || fail "dbus-daemon $1 did not start: $(cat "$dir/log")"
        BUS=$(head -n1 "$dir/address")
}

# wait_for_name ADDRESS: until org.viewstamp1 is owned on that bus (bounded).
wait_for_name() {
        for _ in $(seq 100); do
                DBUS_SYSTEM_BUS_ADDRESS=$1 busctl --system status org.viewstamp1 >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        fail "org.viewstamp1 did not appear on $1"
}

# free_port: a TCP port on 127.0.0.1 that nothing listens on right now.
free_port() {
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
