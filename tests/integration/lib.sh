# SPDX-License-Identifier: LGPL-2.1-or-later
# Shared by the integration tests: private buses and daemons that the test starts itself, on
# loopback, in a scratch directory (under $VS_SCRATCH_PARENT, /tmp by default); everything is
# stopped (by PID, only what the test started) and removed on exit, whatever happens.
set -euo pipefail

: "${VIEWSTAMPD:?path to viewstampd}"
: "${VS_SOURCE_ROOT:?path to the source tree}"

SCRATCH=$(mktemp -d "${VS_SCRATCH_PARENT:-/tmp}/viewstamp-test.XXXXXX")
STARTED_PIDS=()

# stop_pids PID...: SIGTERM, then SIGKILL whatever still runs after 5 s; only PIDs started here.
stop_pids() {
        local pid
        for pid in "$@"; do
                kill -TERM "$pid" 2>/dev/null || true
        done
        for pid in "$@"; do
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
}

cleanup() {
        stop_pids "${STARTED_PIDS[@]}"
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

# start_cluster N: N nodes on loopback, each with its own bus and state directory holding the
# cluster's secret ($SCRATCH/cluster.key). Sets NODES (count), BUS_i, CLIENT_i (client address),
# PEER_i (peer address) and PID_i for i = 1..N, and CONF_i. $CLUSTER_CONF_EXTRA, when set, is
# appended to every node's configuration file.
start_cluster() {
        local n=$1 i
        NODES=$n
        local lines=""
        for i in $(seq "$n"); do
                local peer client
                peer=$(free_port); client=$(free_port)
                lines+="Node=node$i 127.0.0.1:$peer 127.0.0.1:$client"$'\n'
                printf -v "CLIENT_$i" '%s' "127.0.0.1:$client"
                printf -v "PEER_$i" '%s' "127.0.0.1:$peer"
        done
        "$VIEWSTAMPD" --new-secret="$SCRATCH/cluster.key" >/dev/null
        for i in $(seq "$n"); do
                mkdir -p "$SCRATCH/state$i"
                install -m 0600 "$SCRATCH/cluster.key" "$SCRATCH/state$i/cluster.key"
                printf '[Node]\nName=node%s\nStateDirectory=%s\nLogLevel=info\n\n[Cluster]\n%s' \
                        "$i" "$SCRATCH/state$i" "$lines" >"$SCRATCH/node$i.conf"
                printf '%s' "${CLUSTER_CONF_EXTRA:-}" >>"$SCRATCH/node$i.conf"
        done
        boot_nodes "$n"
}

# boot_nodes N: for each node i = 1..N configured in $SCRATCH/node$i.conf, its bus and its daemon;
# sets CONF_i, BUS_i and PID_i, and waits until each owns its name.
boot_nodes() {
        local i
        for i in $(seq "$1"); do
                printf -v "CONF_$i" '%s' "$SCRATCH/node$i.conf"
                start_bus "node$i"
                printf -v "BUS_$i" '%s' "$BUS"
                start_node "$i"
        done
        for i in $(seq "$1"); do
                local b="BUS_$i"
                wait_for_name "${!b}"
        done
}

# start_node I: (re)starts node I's daemon on its bus; sets PID_I.
start_node() {
        local b="BUS_$1" c="CONF_$1"
        DBUS_SYSTEM_BUS_ADDRESS=${!b} "$VIEWSTAMPD" --config "${!c}" >>"$SCRATCH/node$1.log" 2>&1 &
        STARTED_PIDS+=($!)
        printf -v "PID_$1" '%s' "$!"
}

# kill_node I: SIGKILL, like a power cut of that machine's daemon.
kill_node() {
        local p="PID_$1"
        kill -KILL "${!p}"
        wait "${!p}" 2>/dev/null || true
}

# bus_of I: node I's bus address.
bus_of() {
        local b="BUS_$1"
        echo "${!b}"
}

# ctl I ARGS...: viewstampctl ($VIEWSTAMPCTL) on node I's bus.
ctl() {
        local i=$1
        shift
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") "${VIEWSTAMPCTL:?path to viewstampctl}" "$@"
}

# tenant_property I TENANT PROPERTY: the property's value as busctl prints it (e.g. 's "node1"').
tenant_property() {
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$1") busctl --system get-property org.viewstamp1 \
                "/org/viewstamp1/tenant/$2" org.viewstamp1.Tenant "$3" 2>/dev/null
}

# ctl I ARGS...: viewstampctl ($VIEWSTAMPCTL) on node I's bus.
ctl() {
        local i=$1
        shift
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") "${VIEWSTAMPCTL:?path to viewstampctl}" "$@"
}

# expect_rc RC DESCRIPTION COMMAND...: runs COMMAND, which must exit RC; its output (standard
# output and error) is left in $out.
expect_rc() {
        local want=$1 what=$2 rc
        shift 2
        set +e
        out=$("$@" 2>&1); rc=$?
        set -e
        ((rc == want)) || fail "$what: exit status $rc, expected $want: $out"
}

# create_tenant NAME: a tenant on every node of the cluster, created through node 1; returns once
# each node hosts a normal replica of it.
create_tenant() {
        local out i
        out=$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) busctl --system call org.viewstamp1 /org/viewstamp1 \
                org.viewstamp1.Manager CreateTenant sas "$1" "$NODES" $(for i in $(seq "$NODES"); do echo "node$i"; done)) ||
                fail "CreateTenant $1: $out"
        for i in $(seq "$NODES"); do
                wait_until 20 tenant_normal "$i" "$1" || fail "node$i does not host a normal replica of $1"
        done
}

tenant_normal() { # I NAME
        [[ $(tenant_property "$1" "$2" Status) == 's "normal"' ]]
}

# wait_until SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_until() {
        local deadline=$((SECONDS + $1))
        shift
        until "$@"; do
                ((SECONDS < deadline)) || return 1
                sleep 0.1
        done
}

# start_unjoined N: N nodes on loopback that list no cluster ([Node] PeerAddress= and
# ClientAddress= only): each serves D-Bus and waits for InitCluster or JoinCluster. Sets what
# start_cluster sets, and PEER_i (peer address).
start_unjoined() {
        local n=$1 i
        NODES=$n
        for i in $(seq "$n"); do
                local peer client
                peer=$(free_port); client=$(free_port)
                printf -v "PEER_$i" '%s' "127.0.0.1:$peer"
                printf -v "CLIENT_$i" '%s' "127.0.0.1:$client"
                mkdir -p "$SCRATCH/state$i"
                printf '[Node]\nName=node%s\nStateDirectory=%s\nLogLevel=info\nPeerAddress=127.0.0.1:%s\nClientAddress=127.0.0.1:%s\n' \
                        "$i" "$SCRATCH/state$i" "$peer" "$client" >"$SCRATCH/node$i.conf"
        done
        boot_nodes "$n"
}

# ctl I ARGS...: viewstampctl ($VIEWSTAMPCTL) on node I's bus.
ctl() {
        local i=$1
        shift
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") "$VIEWSTAMPCTL" "$@"
}

# json EXPR < DOCUMENT: prints the Python expression EXPR over the parsed document d.
json() {
        python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# manager I METHOD SIGNATURE ARGS...: calls a Manager method on node I; prints busctl's answer
# (and its error on stderr).
manager() {
        local i=$1
        shift
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") busctl --system call org.viewstamp1 /org/viewstamp1 \
                org.viewstamp1.Manager "$@"
}

# error_name I METHOD DBUS-SEND-ARGS...: the D-Bus error name a Manager method fails with, or "ok"
error_name() {
        local i=$1 method=$2 out
        shift 2
        if out=$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") dbus-send --system --print-reply --reply-timeout=20000 \
                --dest=org.viewstamp1 /org/viewstamp1 "org.viewstamp1.Manager.$method" "$@" 2>&1); then
                echo ok
        else
                sed -n 's/^Error \([^:]*\):.*/\1/p' <<<"$out"
        fi
}

# node_names I: the names in node I's Nodes property, space-separated.
node_names() {
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$1") busctl --system get-property org.viewstamp1 /org/viewstamp1 \
                org.viewstamp1.Manager Nodes --json=short | python3 -c \
                'import json, sys; print(" ".join(n[0] for n in json.load(sys.stdin)["data"]))'
}

# form_cluster N: start_unjoined N, then InitCluster on node1 and JoinCluster of every other node
# through node1; waits until every node lists all N. Sets TOKEN.
form_cluster() {
        local n=$1 i want=""
        start_unjoined "$n"
        manager 1 InitCluster >/dev/null || fail "InitCluster"
        TOKEN=$(manager 1 GetJoinToken | sed -n 's/^s "\(.*\)"$/\1/p')
        for i in $(seq 2 "$n"); do
                manager "$i" JoinCluster ss "$PEER_1" "$TOKEN" >/dev/null || fail "node$i could not join"
        done
        for i in $(seq "$n"); do want+="${want:+ }node$i"; done
        for i in $(seq "$n"); do
                wait_until 20 eval '[[ $(node_names '"$i"') == "$want" ]]' || fail "node$i lists $(node_names "$i")"
        done
}
