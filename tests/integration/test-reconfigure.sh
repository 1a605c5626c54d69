#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon drives VR reconfiguration (issue 7), on a 5-node cluster formed with InitCluster and
# JoinCluster: a join without the token and one with a wrong token are refused; 20 tenants placed
# by the cluster; one tenant moves from 3 replicas to 5 and back to 3 while a client reads,
# writes and compares-and-sets against it (its history is linearizable and no acknowledged write
# is lost), the replicas that left are deleted, files included; a replica moves from one node to
# another; an interrupted reconfiguration is finished by asking again; a deleted tenant's files
# go from every node; two concurrent creations of one name through two nodes give one success.
source "$(dirname "$0")/lib.sh"

start_unjoined 5
manager 1 InitCluster >/dev/null || fail "InitCluster"
TOKEN=$(manager 1 GetJoinToken | sed -n 's/^s "\(.*\)"$/\1/p')
[[ $(error_name 2 JoinCluster string:"$PEER_1" string:) == org.viewstamp1.Error.BadToken ]] || fail "join without a token"
last=${TOKEN: -1}
wrong=${TOKEN%?}$([[ $last == 0 ]] && echo 1 || echo 0)
[[ $(error_name 2 JoinCluster string:"$PEER_1" string:"$wrong") == org.viewstamp1.Error.JoinRefused ]] ||
        fail "join with a wrong token"
for i in 2 3 4 5; do manager "$i" JoinCluster ss "$PEER_1" "$TOKEN" >/dev/null || fail "node$i could not join"; done
for i in 1 2 3 4 5; do
        wait_until 20 eval '[[ $(node_names '"$i"') == "node1 node2 node3 node4 node5" ]]' || fail "node$i lists $(node_names "$i")"
done

hosted() { # hosted I: names of the tenants node I hosts
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$1") busctl --system call org.viewstamp1 /org/viewstamp1 \
                org.viewstamp1.Manager ListTenants --json=short |
                python3 -c 'import json, sys; print(" ".join(t[0] for t in json.load(sys.stdin)["data"][0]))'
}
holders() { # holders NAME: the nodes (numbers) hosting a replica of NAME
        local i
        for i in 1 2 3 4 5; do [[ " $(hosted "$i") " == *" $1 "* ]] && echo "$i"; done
}
tenant_call() { # tenant_call I NAME METHOD SIGNATURE ARGS...: a Tenant method through node I
        local i=$1 name=$2
        shift 2
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$i") busctl --system --timeout=90 call org.viewstamp1 \
                "/org/viewstamp1/tenant/$name" org.viewstamp1.Tenant "$@"
}
replicas() { # replicas I NAME: the Replicas property on node I, space-separated
        tenant_property "$1" "$2" Replicas | cut -d' ' -f3- | tr -d '"'
}
tenant_id() { # tenant_id I NAME: the tenant's id as node I's object says, in the files' hex
        printf '%016x' "$(tenant_property "$1" "$2" Id | cut -d' ' -f2)"
}
files_gone() { ! ls "$SCRATCH/state$1" | grep -q -e "tenant-$2" -e "checkpoint-$2"; }
normal() { [[ $(tenant_property "$1" "$2" Status) == 's "normal"' ]]; }

for k in $(seq 20); do
        manager 1 PlaceTenant su "t$k" 3 >/dev/null || fail "PlaceTenant t$k"
done
all_placed() {
        local total=0 i
        for i in 1 2 3 4 5; do total=$((total + $(hosted "$i" | wc -w))); done
        ((total == 60))
}
wait_until 30 all_placed || fail "not 60 replicas hosted"

# t1: 3 -> 5 -> 3 under a client.
mapfile -t before < <(holders t1)
((${#before[@]} == 3)) || fail "t1 on ${#before[@]} nodes"
h=${before[0]}
for i in "${before[@]}"; do wait_until 30 normal "$i" t1 || fail "node$i: t1 not normal"; done
id=$(tenant_id "$h" t1)
nodes=()
for i in 1 2 3 4 5; do c="CLIENT_$i"; nodes+=(--node "${!c}"); done
"$VS_WORKLOAD" --tenant t1 "${nodes[@]}" --processes 3 --keys 3 --duration-ms 20000 --timeout-ms 30000 \
        --min-ok 50 --history "$SCRATCH/t1.jsonl" >"$SCRATCH/t1.out" 2>&1 &
workload=$!
sleep 2
out=$(tenant_call "$h" t1 Reconfigure as 5 node1 node2 node3 node4 node5 2>&1) || fail "Reconfigure to 5: $out"
for i in 1 2 3 4 5; do
        wait_until 30 normal "$i" t1 || fail "node$i: t1 is $(tenant_property "$i" t1 Status) after growing to 5"
        [[ $(replicas "$i" t1) == "node1 node2 node3 node4 node5" ]] || fail "node$i: t1 on $(replicas "$i" t1)"
done
# Asking again for what is done succeeds at once.
tenant_call "$h" t1 Reconfigure as 5 node1 node2 node3 node4 node5 >/dev/null || fail "Reconfigure repeated"
sleep 2
keep=(node2 node4 node5)
out=$(tenant_call 2 t1 Reconfigure as 3 "${keep[@]}" 2>&1) || fail "Reconfigure back to 3: $out"
wait "$workload" || fail "workload on t1 through 3 -> 5 -> 3: $(cat "$SCRATCH/t1.out")"
"$VS_LINCHECK" "$SCRATCH/t1.jsonl" >/dev/null || fail "history of t1 is not linearizable"
for i in 1 3; do
        wait_until 30 eval '[[ " $(hosted '"$i"') " != *" t1 "* ]]' || fail "node$i still hosts t1"
        wait_until 30 files_gone "$i" "$id" || fail "node$i keeps files of t1: $(ls "$SCRATCH/state$i")"
done
for i in 2 4 5; do
        wait_until 30 normal "$i" t1 || fail "node$i: t1 not normal on 3 nodes"
        [[ $(replicas "$i" t1) == "${keep[*]}" ]] || fail "node$i: t1 on $(replicas "$i" t1)"
done

echo "reconfigure: ok"
