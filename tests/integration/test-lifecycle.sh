#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A cluster formed at run time over D-Bus: five nodes that list no cluster host nothing until
# node1 runs InitCluster; the others join with node1's token (one through another member). A
# join without a token or with a wrong one is refused, named, logged with the joiner's address
# (a wrong token fails the TLS handshake), and changes nothing. Every node ends with the cluster
# secret InitCluster made. Removing: refused for a node that hosts replicas unless drained first
# (test-reconfigure drains), done for an empty one; a removed node is refused by the members it
# dials, each logging its address. Identity survives a restart.
source "$(dirname "$0")/lib.sh"

start_unjoined 5

[[ $(error_name 1 CreateTenant string:t array:string:node1) == org.viewstamp1.Error.NotInCluster ]] ||
        fail "CreateTenant on a node in no cluster: $(error_name 1 CreateTenant string:t array:string:node1)"
[[ $(error_name 1 GetJoinToken) == org.viewstamp1.Error.NotInCluster ]] || fail "GetJoinToken before init"
[[ -z $(node_names 1) ]] || fail "an unjoined node lists $(node_names 1)"
[[ -z $(ls "$SCRATCH/state1") ]] || fail "an unjoined node wrote to its state directory: $(ls "$SCRATCH/state1")"

out=$(manager 1 InitCluster) || fail "InitCluster: $out"
[[ $out =~ ^s\ \"[0-9a-f]{16}\"$ ]] || fail "InitCluster answered $out"
[[ $(error_name 1 InitCluster) == org.viewstamp1.Error.AlreadyInCluster ]] || fail "a second InitCluster"
token=$(manager 1 GetJoinToken | sed -n 's/^s "\(.*\)"$/\1/p')
# node1's Manager signals from here on.
DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) dbus-monitor --system "type='signal',interface='org.viewstamp1.Manager'" \
        >"$SCRATCH/signals" 2>&1 &
STARTED_PIDS+=($!)
sleep 0.5
[[ $token =~ ^vsjoin1-[0-9a-f]{16}-[0-9a-f]{64}$ ]] || fail "GetJoinToken: $token"

# Refused joins: nothing changes on either side.
[[ $(error_name 2 JoinCluster string:"$PEER_1" string:) == org.viewstamp1.Error.BadToken ]] || fail "join without a token"
last=${token: -1}
wrong=${token%?}$([[ $last == 0 ]] && echo 1 || echo 0)
[[ $(error_name 2 JoinCluster string:"$PEER_1" string:"$wrong") == org.viewstamp1.Error.JoinRefused ]] ||
        fail "join with a wrong token: $(error_name 2 JoinCluster string:"$PEER_1" string:"$wrong")"
grep -q "127.0.0.1:[0-9]*.*closing connection: TLS handshake failed: a join with a wrong join token" "$SCRATCH/node1.log" ||
        fail "node1 did not log the refused join: $(grep -i join "$SCRATCH/node1.log")"
[[ $(node_names 1) == node1 ]] || fail "a refused join changed node1's members: $(node_names 1)"
[[ $(error_name 2 CreateTenant string:t array:string:node2) == org.viewstamp1.Error.NotInCluster ]] || fail "refused joiner in a cluster"
[[ ! -e $SCRATCH/state2/cluster.id ]] || fail "a refused joiner wrote an identity"
[[ ! -e $SCRATCH/state2/cluster.key ]] || fail "a refused joiner wrote a secret"

manager 2 JoinCluster ss "$PEER_1" "$token" >/dev/null || fail "node2 could not join"
manager 3 JoinCluster ss "$PEER_2" "$token" >/dev/null || fail "node3 could not join through node2"
for i in 4 5; do manager "$i" JoinCluster ss "$PEER_1" "$token" >/dev/null || fail "node$i could not join"; done
[[ $(error_name 2 JoinCluster string:"$PEER_1" string:"$token") == org.viewstamp1.Error.AlreadyInCluster ]] || fail "joined twice"
all_listed() { for i in 1 2 3 4 5; do [[ $(node_names "$i") == "node1 node2 node3 node4 node5" ]] || return 1; done; }
wait_until 20 all_listed || fail "not every node lists all five: $(for i in 1 2 3 4 5; do node_names "$i"; done)"
# InitCluster made the cluster secret; every joiner received it (over TLS) into its own file,
# readable by the daemon's user alone, and the identity file does not carry it.
key=$(cat "$SCRATCH/state1/cluster.key")
[[ $key =~ ^[0-9a-f]{64}$ ]] || fail "node1's cluster.key is not a secret file"
for i in 2 3 4 5; do
        [[ $(cat "$SCRATCH/state$i/cluster.key") == "$key" ]] || fail "node$i holds another secret"
        [[ $(stat -c %a "$SCRATCH/state$i/cluster.key") == 600 ]] || fail "node$i's cluster.key is not mode 0600"
done
python3 -c 'import sys; k = bytes.fromhex(sys.argv[2]); sys.exit(k in open(sys.argv[1], "rb").read())' \
        "$SCRATCH/state1/cluster.id" "$key" || fail "cluster.id carries the cluster secret"

# Node objects: as the XML says, with what each node knows of the others.
DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) busctl --system --xml-interface introspect org.viewstamp1 \
        /org/viewstamp1/node/node3 >"$SCRATCH/node.xml" || fail "no object for node3 on node1"
"$VS_SOURCE_ROOT/tests/integration/introspect-compare.py" "$SCRATCH/node.xml" \
        "$VS_SOURCE_ROOT/dbus/org.viewstamp1.Node.xml" || fail "node introspection differs from dbus/"
node_property() { # node_property I NODE PROPERTY
        DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$1") busctl --system get-property org.viewstamp1 \
                "/org/viewstamp1/node/$2" org.viewstamp1.Node "$3"
}
[[ $(node_property 1 node3 Name) == 's "node3"' ]] || fail "node3's Name"
[[ $(node_property 1 node3 PeerAddress) == "s \"$PEER_3\"" ]] || fail "node3's PeerAddress: $(node_property 1 node3 PeerAddress)"
[[ $(node_property 1 node3 ClientAddress) == "s \"$CLIENT_3\"" ]] || fail "node3's ClientAddress"
[[ $(node_property 1 node3 State) == 's "active"' ]] || fail "node3's State"
wait_until 10 eval '[[ $(node_property 1 node3 Reachable) == "b true" ]]' || fail "node3 not reachable from node1"
seen=$(node_property 1 node3 LastSeen | cut -d' ' -f2)
now=$(date +%s%6N)
((seen > now - 10000000 && seen <= now)) || fail "node3 last seen at $seen, now is $now"

out=$(manager 3 CreateTenant sas accounts 3 node3 node4 node5) || fail "CreateTenant: $out"
tenants_of() { node_property "$1" "$2" Tenants; }
wait_until 10 eval '[[ $(tenants_of 1 node4) == "as 1 \"accounts\"" ]]' || fail "node4's Tenants on node1: $(tenants_of 1 node4)"
[[ $(tenants_of 1 node2) == "as 0" ]] || fail "node2's Tenants: $(tenants_of 1 node2)"
normal() { [[ $(tenant_property "$1" "$2" Status) == 's "normal"' ]]; }
for i in 3 4 5; do wait_until 30 normal "$i" accounts || fail "node$i does not run accounts"; done
"$VS_WORKLOAD" --tenant accounts --node "$CLIENT_3" --node "$CLIENT_4" --processes 2 --keys 2 \
        --duration-ms 1500 --timeout-ms 5000 --min-ok 20 --history "$SCRATCH/accounts.jsonl" \
        >"$SCRATCH/accounts.out" 2>&1 || fail "workload on accounts: $(cat "$SCRATCH/accounts.out")"

[[ $(error_name 1 RemoveNode string:node4 boolean:false) == org.viewstamp1.Error.NodeNotEmpty ]] || fail "removed a node with replicas"
[[ $(error_name 1 RemoveNode string:node1 boolean:false) == org.freedesktop.DBus.Error.InvalidArgs ]] || fail "a node removed itself"
[[ $(error_name 1 RemoveNode string:node9 boolean:false) == org.viewstamp1.Error.NoSuchNode ]] || fail "removed an unknown node"
manager 1 DrainNode s node2 >/dev/null || fail "DrainNode of an empty node"
manager 1 RemoveNode sb node2 false >/dev/null || fail "RemoveNode of an empty node"
gone() { for i in 1 3 4 5; do [[ $(node_names "$i") == "node1 node3 node4 node5" ]] || return 1; done; }
wait_until 20 gone || fail "node2 still listed: $(for i in 1 3 4 5; do node_names "$i"; done)"
node_property 1 node2 Name >/dev/null 2>&1 && fail "node2's object is still on node1"
for s in 'NodeAdded.*"node2"' 'NodeAdded.*"node5"' 'TenantAdded.*"accounts"' 'NodeRemoved.*"node2"'; do
        grep -A2 "member=${s%%.\**}" "$SCRATCH/signals" | grep -q "${s#*\*}" || fail "node1 sent no $s: $(cat "$SCRATCH/signals")"
done

# A removed node is refused: restarted with its identity and the cluster secret, it dials the
# members it remembers (the higher names: node3 and up), whose TLS handshakes fail with a log line
# naming its address.
kill_node 2
start_node 2
refused() {
        grep -q "\[peer=127\.0\.0\.1:[0-9]*\] .*PSK identity 'node2' is not a member of this cluster" "$SCRATCH/node$1.log"
}
for i in 3 4 5; do
        wait_until 20 refused "$i" || fail "node$i did not refuse the removed node2: $(grep -i node2 "$SCRATCH/node$i.log" | tail -n 3)"
done

# The removed node, its identity forgotten but not its journal, may neither start nor join a
# cluster until its state directory is cleared.
kill_node 2
rm "$SCRATCH/state2/cluster.id"
start_node 2
wait_for_name "$(bus_of 2)"
[[ $(error_name 2 InitCluster) == org.viewstamp1.Error.StateNotEmpty ]] || fail "init over an old journal"
[[ $(error_name 2 JoinCluster string:"$PEER_1" string:"$token") == org.viewstamp1.Error.StateNotEmpty ]] ||
        fail "join over an old journal"

# The identity and the tenant survive a restart.
kill_node 4
start_node 4
wait_for_name "$(bus_of 4)"
wait_until 30 normal 4 accounts || fail "node4 does not run accounts after a restart"
[[ $(manager 4 GetJoinToken | sed -n 's/^s "\(.*\)"$/\1/p') == "$token" ]] || fail "node4's token differs"
echo "lifecycle: ok"
