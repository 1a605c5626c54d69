#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Membership and tenants learned from the root group: a 4-node static cluster, whose root group is
# on node1-node3, so node4 hosts no root replica and follows the root through its admin session.
# Every node records itself under /nodes and lists all four; a tenant placed only on node4, created
# through node1, starts on node4; node4 keeps the membership in its state directory.
source "$(dirname "$0")/lib.sh"

start_cluster 4

for i in 1 2 3 4; do
        [[ $(node_names "$i") == "node1 node2 node3 node4" ]] || fail "node$i lists nodes: $(node_names "$i")"
done

create() { # create I NAME NODE...: CreateTenant through node I
        local i=$1 name=$2
        shift 2
        manager "$i" CreateTenant sas "$name" "$#" "$@"
}
out=$(create 1 solo node4) || fail "CreateTenant solo: $out"
out=$(create 4 mixed node2 node3 node4) || fail "CreateTenant mixed: $out"
normal() { [[ $(tenant_property "$1" "$2" Status) == 's "normal"' ]]; }
wait_until 20 normal 4 solo || fail "node4 (no root replica) does not run solo: $(tenant_property 4 solo Status)"
for i in 2 3 4; do wait_until 20 normal "$i" mixed || fail "node$i does not run mixed"; done
[[ -z $(tenant_property 1 solo Status) ]] || fail "node1 hosts solo, which is not placed there"

# Client I/O to the tenant hosted where no root replica is.
"$VS_WORKLOAD" --tenant solo --node "$CLIENT_4" --processes 2 --keys 2 --duration-ms 1500 \
        --timeout-ms 5000 --min-ok 20 --history "$SCRATCH/solo.jsonl" >"$SCRATCH/solo.out" 2>&1 ||
        fail "workload on solo: $(cat "$SCRATCH/solo.out")"

# node4's membership cache: every node's name, written once it read the root.
cached() { [[ -s $SCRATCH/state4/members.cache ]] && for i in 1 2 3 4; do grep -q "node$i" "$SCRATCH/state4/members.cache" || return 1; done; }
wait_until 10 cached || fail "node4 has no membership cache naming every node"

# Restarted, node4 brings solo back from its own files and reads the root again.
kill_node 4
start_node 4
wait_for_name "$(bus_of 4)"
wait_until 20 normal 4 solo || fail "node4 does not run solo after a restart"
[[ $(node_names 4) == "node1 node2 node3 node4" ]] || fail "node4 lists nodes after a restart: $(node_names 4)"
grep -q "recorded this node in the cluster" "$SCRATCH/node4.log" || fail "node4 did not record itself"
echo "membership: ok"
