#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Automatic placement and deletion on a 5-node cluster formed with InitCluster/JoinCluster (its
# root group on node1 alone, the current limit). 20 tenants of 3 replicas placed by the cluster
# spread evenly and run on every node they were placed on, and clients use a few; two concurrent
# creations of one name through two nodes give exactly one success; a deleted tenant's replicas
# stop and its files go from every node, and a restart does not bring it back.
source "$(dirname "$0")/lib.sh"

form_cluster 5

tenant_id() { # tenant_id I NAME: the tenant's id as node I's object says, in the files' hex
        printf '%016x' "$(tenant_property "$1" "$2" Id | cut -d' ' -f2)"
}
hosted() { # hosted I: names of the tenants node I hosts
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$1") busctl --system call org.viewstamp1 /org/viewstamp1 \
                org.viewstamp1.Manager ListTenants --json=short |
                python3 -c 'import json, sys; print(" ".join(t[0] for t in json.load(sys.stdin)["data"][0]))'
}
normal() { [[ $(tenant_property "$1" "$2" Status) == 's "normal"' ]]; }

# Through node1, whose view of the root is its own root replica's: placements made through other
# nodes count loads up to a second old (what they last read), so their spread is looser.
for k in $(seq 20); do
        out=$(manager 1 PlaceTenant su "t$k" 3) || fail "PlaceTenant t$k: $out"
        [[ $out == "o \"/org/viewstamp1/tenant/t$k\"" ]] || fail "PlaceTenant answered $out"
done
[[ $(manager 1 PlaceTenant su bad 2 2>&1) == *"1, 3 or 5 replicas"* ]] || fail "2 replicas placed"
[[ $(manager 1 PlaceTenant su big 7 2>&1) == *"1, 3 or 5 replicas"* ]] || fail "7 replicas placed"

# Every placement runs where it was placed: 60 replicas, each node at its share (node1 also holds
# the root group's replica).
all_placed() {
        local total=0 i
        for i in 1 2 3 4 5; do total=$((total + $(hosted "$i" | wc -w))); done
        ((total == 60))
}
wait_until 30 all_placed || fail "not 60 replicas hosted: $(for i in 1 2 3 4 5; do echo "node$i: $(hosted "$i")"; done)"
for i in 1 2 3 4 5; do
        n=$(hosted "$i" | wc -w)
        ((n >= 11 && n <= 13)) || fail "node$i hosts $n replicas, not 11 to 13: $(for j in 1 2 3 4 5; do hosted "$j" | wc -w; done)"
        for t in $(hosted "$i"); do
                wait_until 30 normal "$i" "$t" || fail "node$i: $t is $(tenant_property "$i" "$t" Status)"
        done
done

# Clients on two of them, through every node's client address.
nodes=()
for i in 1 2 3 4 5; do c="CLIENT_$i"; nodes+=(--node "${!c}"); done
for t in t1 t7; do
        "$VS_WORKLOAD" --tenant "$t" "${nodes[@]}" --processes 2 --keys 2 --duration-ms 1500 --timeout-ms 5000 \
                --min-ok 20 --history "$SCRATCH/$t.jsonl" >"$SCRATCH/$t.out" 2>&1 ||
                fail "workload on $t: $(cat "$SCRATCH/$t.out")"
        "$VS_LINCHECK" "$SCRATCH/$t.jsonl" >/dev/null || fail "history of $t is not linearizable"
done

# One name, two nodes at once: exactly one creation wins.
manager 2 PlaceTenant su race 3 >"$SCRATCH/race2" 2>&1 &
a=$!
manager 4 CreateTenant sas race 3 node1 node3 node5 >"$SCRATCH/race4" 2>&1 &
b=$!
ok=0
wait "$a" && ok=$((ok + 1))
wait "$b" && ok=$((ok + 1))
((ok == 1)) || fail "$ok of two concurrent creations of 'race' succeeded: $(cat "$SCRATCH/race2" "$SCRATCH/race4")"
grep -q "already exists" "$SCRATCH/race2" "$SCRATCH/race4" || fail "the losing creation did not say why"

# Deleting t3: gone from every node that hosted it, files included, and not back after a restart.
holders=()
for i in 1 2 3 4 5; do [[ " $(hosted "$i") " == *" t3 "* ]] && holders+=("$i"); done
((${#holders[@]} == 3)) || fail "t3 is hosted on ${#holders[@]} nodes"
id=$(tenant_id "${holders[0]}" t3)
for i in "${holders[@]}"; do [[ -e $SCRATCH/state$i/tenant-$id.conf ]] || fail "node$i has no file of t3"; done
manager 1 DeleteTenant s t3 >/dev/null || fail "DeleteTenant t3"
[[ $(manager 1 DeleteTenant s t3 2>&1) == *"no tenant 't3'"* ]] || fail "t3 deleted twice"
files_gone() { ! ls "$SCRATCH/state$1" | grep -q -e "tenant-$id" -e "checkpoint-$id"; }
for i in "${holders[@]}"; do
        wait_until 20 eval '[[ " $(hosted '"$i"') " != *" t3 "* ]]' || fail "node$i still hosts t3"
        wait_until 20 files_gone "$i" || fail "node$i keeps files of t3: $(ls "$SCRATCH/state$i")"
done
i=${holders[0]}
kill_node "$i"
start_node "$i"
wait_for_name "$(bus_of "$i")"
sleep 2
[[ " $(hosted "$i") " != *" t3 "* ]] || fail "t3 is back on node$i after a restart"
files_gone "$i" || fail "t3's files are back on node$i"
for t in $(hosted "$i"); do wait_until 30 normal "$i" "$t" || fail "node$i: $t after restart"; done
echo "placement: ok"
