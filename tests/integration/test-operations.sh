#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The operations guide of viewstamp(7), step by step against a real 3-node cluster: a logical
# backup of one tenant (export, import into a new tenant), a cold backup of every node's state
# directory and its restore (the cluster comes back as it was at the
# backup), replacing a node's lost disk (tenant files from a peer, then recovery from peers,
# proven by a majority that needs the replaced node's copy to answer), and a rolling restart (one
# node at a time, waiting for every replica to be normal) with the tenant serving throughout.
source "$(dirname "$0")/lib.sh"
: "${VIEWSTAMPCTL:?path to viewstampctl}"

data_in() { # data_in TENANT COMMAND ARGS...: a data command on the tenant through every node
        local tenant=$1
        shift
        "$VIEWSTAMPCTL" "$@" --tenant "$tenant" --node "$CLIENT_1" --node "$CLIENT_2" --node "$CLIENT_3" --timeout 20
}
data() { data_in accounts "$@"; }
status_on() { # status_on I [TENANT]: the tenant's replica status on node I ("" when unknown)
        ctl "$1" tenant show --json "${2:-accounts}" 2>/dev/null |
                python3 -c 'import json, sys; print(json.load(sys.stdin).get("status", ""))' 2>/dev/null || true
}
normal_on() { [[ $(status_on "$1" "${2:-}") == normal ]]; }
all_normal() { for i in "$@"; do normal_on "$i" || return 1; done; }
stop_node() { # stop_node I: a clean stop (SIGTERM), as systemctl stop does
        local p="PID_$1"
        stop_pids "${!p}"
}
restart_node() {
        start_node "$1"
        wait_for_name "$(bus_of "$1")"
}
try_set() { # try_set PATH VALUE ADDRESS...: one write through the nodes at those client addresses
        local path=$1 value=$2 a args=()
        shift 2
        for a in "$@"; do args+=(--node "$a"); done
        "$VIEWSTAMPCTL" set --tenant accounts "${args[@]}" --timeout 20 "$path" "$value" >/dev/null 2>&1
}
reads() { # reads PATH VALUE: the tenant answers PATH with VALUE (retried through view changes)
        [[ $(data get "$1" 2>/dev/null) == "$2" ]]
}

start_cluster 3
ctl 1 tenant create accounts node1 node2 node3 >/dev/null
wait_until 30 all_normal 1 2 3 || fail "the tenant did not become normal"
data create /config v1 >/dev/null
for k in $(seq 20); do data create "/k$k" "value $k" >/dev/null; done
printf 'bin\0ary' | data create /k7/blob - >/dev/null

# Logical backup: export the tenant while it serves, import it into a new tenant, same export.
data export >"$SCRATCH/accounts.jsonl" || fail "export failed"
[[ $(wc -l <"$SCRATCH/accounts.jsonl") == 22 ]] || fail "export: $(cat "$SCRATCH/accounts.jsonl")"
grep -qx '{"path":"/k7/blob","value_hex":"62696e00617279"}' "$SCRATCH/accounts.jsonl" || fail "export of binary"
ctl 1 tenant create accounts-restored node1 node2 node3 >/dev/null
wait_until 30 normal_on 1 accounts-restored || fail "accounts-restored did not become normal"
out=$(data_in accounts-restored import <"$SCRATCH/accounts.jsonl") || fail "import failed: $out"
[[ $out == "22 nodes created" ]] || fail "import said: $out"
data_in accounts-restored export | cmp - "$SCRATCH/accounts.jsonl" || fail "the imported tenant exports differently"

# Backup: stop every node, copy every state directory, start them again.
for i in 1 2 3; do stop_node "$i"; done
for i in 1 2 3; do cp -a "$SCRATCH/state$i" "$SCRATCH/backup$i"; done
for i in 1 2 3; do
        "$VIEWSTAMPCTL" journal verify "$SCRATCH/backup$i" >/dev/null || fail "backup of node$i does not verify"
        restart_node "$i"
done
wait_until 30 reads /config v1 || fail "the cluster did not serve after the backup"
data set /config v2 >/dev/null
data create /after-backup x >/dev/null

# Restore: stop every node, put every backup back, start them: the state of the backup.
for i in 1 2 3; do stop_node "$i"; done
for i in 1 2 3; do
        rm -rf "$SCRATCH/state$i"
        cp -a "$SCRATCH/backup$i" "$SCRATCH/state$i"
        restart_node "$i"
done
wait_until 30 all_normal 1 2 3 || fail "the tenant is not normal after the restore"
wait_until 30 reads /config v1 || fail "restore: /config is $(data get /config 2>&1)"
if data stat /after-backup >/dev/null 2>&1; then fail "restore kept a node created after the backup"; fi
data set /config v3 >/dev/null || fail "no write after the restore"

# A lost disk: node3's state directory is gone. The tenant files come from the other nodes (a
# tenant's file is the same on all its nodes), the cluster secret from one of them; the node
# recovers its replicas from their peers.
kill_node 3
rm -rf "$SCRATCH/state3"
install -d -m 0700 "$SCRATCH/state3"
for f in "$SCRATCH"/state1/tenant-*.conf; do
        cmp "$f" "$SCRATCH/state2/${f##*/}" || fail "${f##*/} differs between node1 and node2"
done
mkdir "$SCRATCH/tenants"
for i in 1 2; do cp "$SCRATCH/state$i"/tenant-*.conf "$SCRATCH/tenants/"; done
cp "$SCRATCH/state1/cluster.key" "$SCRATCH/tenants/"
install -m 0600 "$SCRATCH"/tenants/* "$SCRATCH/state3/"
rm -r "$SCRATCH/tenants"
data set /config v4 >/dev/null
restart_node 3
wait_until 60 all_normal 1 2 3 || fail "node3 did not recover: $(ctl 3 tenant show accounts 2>&1)"
grep -q "journal is gone; recovering from peers" "$SCRATCH/node3.log" || fail "node3 did not say it recovers"
# Only node2 and node3 see v5; then node1 and node3 must answer it, which needs node3's copy.
stop_node 1
wait_until 60 try_set /config v5 "$CLIENT_2" "$CLIENT_3" ||
        fail "node2 and node3 did not take a write"
stop_node 2
restart_node 1
wait_until 60 reads /config v5 || fail "node1 and node3 do not answer v5: $(data get /config 2>&1)"
wait_until 10 reads /k7 "value 7" || fail "node1 and node3 lost /k7"
restart_node 2
wait_until 60 all_normal 1 2 3 || fail "not normal after node3's replacement"

# Rolling restart (an upgrade): one node at a time, the next only once every replica is normal.
for i in 1 2 3; do
        stop_node "$i"
        # Losing the primary means a view change; the CLI may give up on redirects meanwhile.
        wait_until 60 try_set /config "rolling $i" "$CLIENT_1" "$CLIENT_2" "$CLIENT_3" ||
                fail "no write while node$i is down"
        restart_node "$i"
        wait_until 60 all_normal 1 2 3 || fail "not normal after restarting node$i"
done
wait_until 10 reads /config "rolling 3" || fail "after the rolling restart: $(data get /config 2>&1)"
echo "backup, restore, disk replacement and rolling restart: ok"
