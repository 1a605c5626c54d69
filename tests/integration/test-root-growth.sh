#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The root group grows with a cluster formed at run time and can move (issue 7). InitCluster puts
# it on node1 alone; once three nodes are in it is on three, once five on all five, as every
# node's Manager.RootNodes says and every state directory's copy of the root's configuration
# shows. With node1's daemon killed, a tenant is still created and used through another node:
# the cluster's metadata survives its first node. node1 back, it is drained (its root replica
# moves off, the root going to 3 of the 4 nodes left) and removed.
source "$(dirname "$0")/lib.sh"

start_unjoined 5
manager 1 InitCluster >/dev/null || fail "InitCluster"
TOKEN=$(manager 1 GetJoinToken | sed -n 's/^s "\(.*\)"$/\1/p')

root_nodes() { # root_nodes I: node I's RootNodes, sorted
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$1") busctl --system get-property org.viewstamp1 /org/viewstamp1 \
                org.viewstamp1.Manager RootNodes --json=short |
                python3 -c 'import json, sys; print(" ".join(sorted(json.load(sys.stdin)["data"])))'
}
root_on() { # root_on WANT I...: every node I names WANT as the root's nodes
        local want=$1 i
        shift
        for i in "$@"; do [[ $(root_nodes "$i") == "$want" ]] || return 1; done
}
holds_root() { [[ -e $SCRATCH/state$1/tenant-0000000000000001.conf ]]; }
show() { local i; for i in "$@"; do echo "node$i: root on '$(root_nodes "$i")'"; done; }

[[ $(root_nodes 1) == node1 ]] || fail "InitCluster: root on $(root_nodes 1)"
manager 2 JoinCluster ss "$PEER_1" "$TOKEN" >/dev/null || fail "node2 could not join"
sleep 3
root_on node1 1 2 || fail "two nodes: $(show 1 2)"

manager 3 JoinCluster ss "$PEER_1" "$TOKEN" >/dev/null || fail "node3 could not join"
wait_until 90 root_on "node1 node2 node3" 1 2 3 || fail "three nodes: $(show 1 2 3)"
for i in 1 2 3; do holds_root "$i" || fail "node$i holds no root replica: $(ls "$SCRATCH/state$i")"; done

for i in 4 5; do manager "$i" JoinCluster ss "$PEER_1" "$TOKEN" >/dev/null || fail "node$i could not join"; done
all="node1 node2 node3 node4 node5"
wait_until 120 root_on "$all" 1 2 3 4 5 || fail "five nodes: $(show 1 2 3 4 5)"
for i in 4 5; do wait_until 30 holds_root "$i" || fail "node$i holds no root replica"; done

# Without node1: a tenant is created and used through node2.
kill_node 1
created() { manager 2 CreateTenant sas after 3 node2 node3 node4 >/dev/null 2>&1; }
wait_until 60 created || fail "no tenant created without node1: $(manager 2 CreateTenant sas after 3 node2 node3 node4 2>&1)"
normal() { [[ $(tenant_property "$1" after Status) == 's "normal"' ]]; }
for i in 2 3 4; do wait_until 30 normal "$i" || fail "node$i: 'after' is $(tenant_property "$i" after Status)"; done
"$VS_WORKLOAD" --tenant after --node "$CLIENT_2" --node "$CLIENT_3" --processes 1 --keys 1 --duration-ms 1000 \
        --timeout-ms 10000 --min-ok 5 >"$SCRATCH/after.out" 2>&1 || fail "client of 'after': $(cat "$SCRATCH/after.out")"

# node1 back, it follows the root where it is, then leaves: drained (the root moves off it) and removed.
start_node 1
wait_for_name "$(bus_of 1)"
wait_until 30 root_on "$all" 1 || fail "node1 after its restart: $(show 1)"
removed() { manager 2 RemoveNode sb node1 true >"$SCRATCH/remove.out" 2>&1; }
wait_until 180 removed || fail "RemoveNode node1 with drain: $(cat "$SCRATCH/remove.out")"
for i in 2 3 4 5; do
        wait_until 30 eval '[[ $(node_names '"$i"') == "node2 node3 node4 node5" ]]' || fail "node$i lists $(node_names "$i")"
        wait_until 30 eval '[[ $(root_nodes '"$i"' | wc -w) == 3 && " $(root_nodes '"$i"') " != *" node1 "* ]]' ||
                fail "after the drain: $(show "$i")"
done
# node1's root replica stopped once the root's new epoch was confirmed, and its files went.
wait_until 30 eval '! holds_root 1' || fail "node1 keeps the root's files: $(ls "$SCRATCH/state1")"
first=$(root_nodes 2)
root_on "$first" 3 4 5 || fail "the nodes disagree: $(show 2 3 4 5)"
# The metadata is where the root now is: another tenant, through a node of it.
manager 5 CreateTenant sas last 3 node3 node4 node5 >/dev/null || fail "CreateTenant after node1 left"
echo "root-growth: ok"
