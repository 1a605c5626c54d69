#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon drives VR reconfiguration (issue 7), on a 5-node cluster formed with InitCluster and
# JoinCluster: a join without the token and one with a wrong token are refused; 20 tenants placed
# by the cluster; one tenant moves from 3 replicas to 5 and back to 3 while a client reads,
# writes and compares-and-sets against it (its history is linearizable and no acknowledged write
# is lost), the replicas that left are deleted, files included; a replica moves from one node to
# another; an interrupted reconfiguration is finished by asking again; a deleted tenant's files
# go from every node; a node is drained and removed, every tenant keeping 3 replicas; removing
# the root group's node is refused; two concurrent creations of one name through two nodes give
# one success.
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
        for i in 1 2 3 4 5; do [[ " $(hosted "$i") " != *" $1 "* ]] || echo "$i"; done
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
# Back to the nodes it started on: the two it grew to leave.
keep=()
for i in "${before[@]}"; do keep+=("node$i"); done
out=$(tenant_call "$h" t1 Reconfigure as 3 "${keep[@]}" 2>&1) || fail "Reconfigure back to 3: $out"
wait "$workload" || fail "workload on t1 through 3 -> 5 -> 3: $(cat "$SCRATCH/t1.out")"
"$VS_LINCHECK" "$SCRATCH/t1.jsonl" >/dev/null || fail "history of t1 is not linearizable"
left=()
for i in 1 2 3 4 5; do [[ " ${before[*]} " != *" $i "* ]] && left+=("$i"); done
for i in "${left[@]}"; do
        wait_until 30 eval '[[ " $(hosted '"$i"') " != *" t1 "* ]]' || fail "node$i still hosts t1"
        wait_until 30 files_gone "$i" "$id" || fail "node$i keeps files of t1: $(ls "$SCRATCH/state$i")"
done
for i in "${before[@]}"; do
        wait_until 30 normal "$i" t1 || fail "node$i: t1 not normal on 3 nodes"
        [[ $(replicas "$i" t1) == "${keep[*]}" ]] || fail "node$i: t1 on $(replicas "$i" t1)"
        [[ $(tenant_property "$i" t1 Epoch) == "t 2" ]] || fail "node$i: t1 in $(tenant_property "$i" t1 Epoch)"
done
# A node that just left cannot hold a replica again yet (its journal closed the tenant).
[[ $(tenant_call "$h" t1 MoveReplica ss "node$h" "node${left[0]}" 2>&1) == *"cannot hold a replica of it again"* ]] ||
        fail "moved t1 back to a node that left it"

# Clients that know only nodes that left are redirected to the new group.
c1="CLIENT_${left[0]}"; c2="CLIENT_${left[1]}"
"$VS_WORKLOAD" --tenant t1 --node "${!c1}" --node "${!c2}" --processes 1 --keys 1 --duration-ms 1000 \
        --timeout-ms 10000 --min-ok 5 >"$SCRATCH/t1b.out" 2>&1 || fail "a client of nodes that left: $(cat "$SCRATCH/t1b.out")"

# node1 holds the root group, which does not move yet.
[[ $(error_name 2 RemoveNode string:node1 boolean:true) == org.viewstamp1.Error.NeedsReconfiguration ]] ||
        fail "removed the root's node"

# Removing a node with drain (one t1 left, not node1): every replica it held moves, the cluster
# keeps 3 of each tenant on the other four.
gone=${left[0]}
((gone != 1)) || gone=${left[1]}
[[ $(error_name 2 RemoveNode string:"node$gone" boolean:false) == org.viewstamp1.Error.NodeNotEmpty ]] ||
        fail "removed a busy node"
rest=()
for i in 1 2 3 4 5; do ((i == gone)) || rest+=("$i"); done
manager "${rest[1]}" RemoveNode sb "node$gone" true >/dev/null || fail "RemoveNode node$gone with drain"
names=$(for i in "${rest[@]}"; do echo -n "node$i "; done)
for i in "${rest[@]}"; do
        wait_until 20 eval '[[ "$(node_names '"$i"') " == "$names" ]]' || fail "node$i lists $(node_names "$i")"
done
total() { local t=0 i; for i in "${rest[@]}"; do t=$((t + $(hosted "$i" | wc -w))); done; echo "$t"; }
wait_until 30 eval '(($(total) == 60))' || fail "$(total) replicas on the four nodes left, not 60"
for k in $(seq 20); do
        for i in $(holders "t$k"); do
                ((i != gone)) || fail "t$k still on node$gone"
                wait_until 30 normal "$i" "t$k" || fail "node$i: t$k not normal after the drain"
        done
done
holders() { # on the four nodes left
        local i
        for i in "${rest[@]}"; do [[ " $(hosted "$i") " != *" $1 "* ]] || echo "$i"; done
}
settled() { # settled NAME: the nodes hosting NAME are the 3 its configuration names, on each of them
        local i h
        h=$(holders "$1" | sed 's/^/node/' | sort | xargs)
        [[ $(wc -w <<<"$h") == 3 ]] || return 1
        for i in $(holders "$1"); do [[ $(replicas "$i" "$1" | tr ' ' '\n' | sort | xargs) == "$h" ]] || return 1; done
}
for k in 2 4; do wait_until 30 settled "t$k" || fail "t$k not settled after the drain: $(for i in "${rest[@]}"; do hosted "$i"; done)"; done
free_of() { # free_of NAME: the node left that holds no replica of NAME
        local i
        for i in "${rest[@]}"; do [[ " $(hosted "$i") " == *" $1 "* ]] || echo "$i"; done
}

# Moving one replica of t2 to the node without one; the node it left deletes it.
mapfile -t from < <(holders t2)
to=$(free_of t2)
id2=$(tenant_id "${from[0]}" t2)
out=$(tenant_call "${from[1]}" t2 MoveReplica ss "node${from[0]}" "node$to" 2>&1) || fail "MoveReplica: $out"
wait_until 30 normal "$to" t2 || fail "node$to: t2 not normal after the move"
wait_until 30 files_gone "${from[0]}" "$id2" || fail "node${from[0]} keeps files of t2"
tenant_call "${from[1]}" t2 MoveReplica ss "node${from[0]}" "node$to" >/dev/null || fail "a finished move asked again"

# An interrupted reconfiguration: the node driving a move of its own replica of t4 dies at once;
# asking again through another node finishes it, and the group ends on the nodes asked for.
mapfile -t t4 < <(holders t4)
driver=${t4[1]} # holders are in node order: never node1, whose root group the cluster needs
other=$(free_of t4)
want=("node${t4[0]}" "node$other" "node${t4[2]}")
tenant_call "$driver" t4 MoveReplica ss "node$driver" "node$other" >/dev/null 2>&1 &
sleep 0.3
kill_node "$driver"
wait $! 2>/dev/null || true
start_node "$driver"
wait_for_name "$(bus_of "$driver")"
out=$(tenant_call "${t4[0]}" t4 Reconfigure as 3 "${want[@]}" 2>&1) || fail "finishing the interrupted move: $out"
# A node that did not drive the move learns the confirmed epoch at its next read of the root.
on_want() { [[ $(replicas "$1" t4 | tr ' ' '\n' | sort | xargs) == $(printf '%s\n' "${want[@]}" | sort | xargs) ]]; }
for i in "${t4[0]}" "$other" "${t4[2]}"; do
        wait_until 30 normal "$i" t4 || fail "node$i: t4 not normal after the finished move"
        # The move recorded the order; asking again for the same nodes in another order resumes it.
        wait_until 10 on_want "$i" || fail "node$i: t4 on $(replicas "$i" t4)"
done
wait_until 30 eval '[[ " $(hosted '"$driver"') " != *" t4 "* ]]' || fail "t4 left behind on node$driver"

# Deleting t3: its files go from every node that held it.
mapfile -t t3 < <(holders t3)
id3=$(tenant_id "${t3[0]}" t3)
manager "${rest[1]}" DeleteTenant s t3 >/dev/null || fail "DeleteTenant t3"
for i in "${t3[@]}"; do wait_until 20 files_gone "$i" "$id3" || fail "node$i keeps files of t3"; done

# One name, two nodes at once: exactly one creation wins.
manager "${rest[1]}" PlaceTenant su race 3 >"$SCRATCH/race2" 2>&1 &
a=$!
manager "${rest[2]}" CreateTenant sas race 3 "node${rest[0]}" "node${rest[1]}" "node${rest[3]}" >"$SCRATCH/race4" 2>&1 &
b=$!
ok=0
wait "$a" && ok=$((ok + 1))
wait "$b" && ok=$((ok + 1))
((ok == 1)) || fail "$ok of two concurrent creations of 'race' succeeded: $(cat "$SCRATCH/race2" "$SCRATCH/race4")"

echo "reconfigure: ok"
