#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# viewstampctl's cluster commands against real daemons that list no cluster: cluster init, token
# and join (a wrong token refused with status 1 and the daemon's words), node ls in human and
# --json form, tenant create --replicas, move, reconfigure and delete, node drain and remove of an
# empty node, node drain of a node that hosts a replica (moved off), and usage errors (status 2).
source "$(dirname "$0")/lib.sh"
: "${VIEWSTAMPCTL:?path to viewstampctl}"

status_of() { # status_of COMMAND...: the exit status, output discarded
        local rc=0
        "$@" >/dev/null 2>&1 || rc=$?
        echo "$rc"
}

start_unjoined 5
[[ $(status_of ctl 1 cluster token) == 1 ]] || fail "token of a node in no cluster"
id=$(ctl 1 cluster init) || fail "cluster init: $id"
[[ $id =~ ^[0-9a-f]{16}$ ]] || fail "cluster init printed $id"
[[ $(ctl 1 cluster init --json 2>/dev/null | json 'd["error"]["name"]') == org.viewstamp1.Error.AlreadyInCluster ]] ||
        fail "a second init"
token=$(ctl 1 cluster token) || fail "cluster token"
[[ $(ctl 1 cluster token --json | json 'd["token"]') == "$token" ]] || fail "cluster token --json"

out=$(ctl 2 cluster join "$PEER_1" "${token%?}x" 2>&1) && fail "a malformed token joined"
[[ $out == *"not a join token"* ]] || fail "malformed token: $out"
wrong=${token%?}$([[ ${token: -1} == 0 ]] && echo 1 || echo 0)
set +e
out=$(ctl 2 cluster join "$PEER_1" "$wrong" 2>&1); rc=$?
set -e
((rc == 1)) || fail "wrong token: exit $rc: $out"
[[ $out == "viewstampctl: $PEER_1 refused: wrong join token, or a cluster that takes no joins" ]] || fail "wrong token said: $out"
[[ $(status_of ctl 2 cluster join "$PEER_1") == 2 ]] || fail "join without a token is not a usage error"
for i in 2 3 4 5; do
        out=$(ctl "$i" cluster join "$PEER_1" "$token") || fail "node$i: cluster join: $out"
        [[ $out == "Joined the cluster." ]] || fail "cluster join printed $out"
done
five() { [[ $(ctl "$1" node ls --json | json '" ".join(n["name"] for n in d["nodes"])') == "node1 node2 node3 node4 node5" ]]; }
for i in 1 2 3 4 5; do wait_until 20 five "$i" || fail "node$i: node ls: $(ctl "$i" node ls)"; done

out=$(ctl 1 node ls) || fail "node ls"
read -ra cols <<<"$(head -n1 <<<"$out")"
[[ ${cols[*]} == "NODE STATE REACHABLE PEER CLIENT TENANTS" ]] || fail "node ls header: $out"
[[ $(sed -n 2p <<<"$out") == node1*active*true*"$PEER_1"*"$CLIENT_1"* ]] || fail "node ls row: $out"
[[ $(tail -n1 <<<"$out") == "5 nodes listed." ]] || fail "node ls count: $out"
doc=$(ctl 1 node ls --json)
[[ $(json 'sorted(d["nodes"][0])' <<<"$doc") == "['client_address', 'last_seen', 'name', 'peer_address', 'reachable', 'state', 'tenants']" ]] ||
        fail "node ls --json keys: $doc"

out=$(ctl 2 tenant create auto --replicas=3) || fail "tenant create --replicas: $out"
[[ $out == /org/viewstamp1/tenant/auto ]] || fail "tenant create --replicas printed $out"
[[ $(ctl 3 tenant create --json solo --replicas 1 | json 'd["path"]') == /org/viewstamp1/tenant/solo ]] ||
        fail "tenant create --json --replicas"
[[ $(status_of ctl 1 tenant create both --replicas=3 node1 node2 node3) == 2 ]] || fail "--replicas with nodes"
[[ $(status_of ctl 1 tenant create none --replicas=x) == 2 ]] || fail "--replicas=x"
[[ $(status_of ctl 1 tenant create many --replicas=7) == 1 ]] || fail "7 replicas"
placed() { [[ $(ctl 1 node ls --json | json 'sum(len(n["tenants"]) for n in d["nodes"])') == 4 ]]; }
wait_until 20 placed || fail "auto and solo not placed on 4 replicas: $(ctl 1 node ls)"

# solo moves to another node, through the node holding it, and back to the count of one.
holder=$(ctl 1 node ls --json | json '[n["name"] for n in d["nodes"] if "solo" in n["tenants"]][0]')
h=${holder#node}
target=node$((h % 5 + 1))
# The root placed it; the holder starts its replica once its follower read that.
hosts_solo() { ctl "$h" tenant show solo >/dev/null 2>&1; }
wait_until 20 hosts_solo || fail "$holder does not host solo"
[[ $(status_of ctl "$h" tenant move solo "$holder") == 2 ]] || fail "tenant move without TO"
[[ $(status_of ctl "$h" tenant reconfigure solo) == 2 ]] || fail "tenant reconfigure without nodes"
[[ $(status_of ctl "$h" tenant reconfigure solo "$holder" "$target") == 1 ]] || fail "reconfigure to 2 nodes"
out=$(ctl "$h" tenant move solo "$holder" "$target") || fail "tenant move: $out"
[[ $out == "Replica moved." ]] || fail "tenant move printed $out"
moved() { [[ $(ctl 1 node ls --json | json '[n["name"] for n in d["nodes"] if "solo" in n["tenants"]]') == "['$target']" ]]; }
wait_until 20 moved || fail "solo not on $target: $(ctl 1 node ls)"
[[ $(ctl "${target#node}" tenant reconfigure --json solo "$target" | json 'd["reconfigured"]') == solo ]] ||
        fail "tenant reconfigure --json to the nodes it has"
[[ $(ctl "$h" tenant move --json solo "$holder" "$target" 2>/dev/null | json 'd["error"]["name"]') == \
        org.viewstamp1.Error.NoSuchTenant ]] || fail "tenant move through a node that no longer hosts it"

out=$(ctl 1 tenant delete solo) || fail "tenant delete: $out"
[[ $out == "Tenant deleted." ]] || fail "tenant delete printed $out"
[[ $(ctl 1 tenant delete --json solo 2>/dev/null | json 'd["error"]["name"]') == org.viewstamp1.Error.NoSuchTenant ]] ||
        fail "deleting twice"
unplaced() { [[ $(ctl 1 node ls --json | json 'sum(len(n["tenants"]) for n in d["nodes"])') == 3 ]]; }
wait_until 20 unplaced || fail "solo still placed: $(ctl 1 node ls)"

# An empty node (auto took three of node2-node5: node1 holds the root group).
empty=""
for i in 2 3 4 5; do
        [[ $(ctl 1 node ls --json | json '[n for n in d["nodes"] if n["name"] == "node'"$i"'"][0]["tenants"]') == "[]" ]] &&
                empty=node$i
done
[[ -n $empty ]] || fail "no empty node: $(ctl 1 node ls)"
busy=$(ctl 1 node ls --json | json '[n["name"] for n in d["nodes"] if n["tenants"] and n["name"] != "node1"][0]')
set +e
out=$(ctl 1 node remove "$busy" 2>&1); rc=$?
set -e
((rc == 1)) || fail "removing a busy node: exit $rc: $out"
[[ $out == *"drain it first"* ]] || fail "removing a busy node said: $out"
[[ $(ctl 1 node remove --json --drain node1 2>/dev/null | json 'd["error"]["name"]') == org.freedesktop.DBus.Error.InvalidArgs ]] ||
        fail "remove --drain of the node asked"
[[ $(ctl 1 node drain "$empty") == "Node drained." ]] || fail "node drain"
wait_until 10 eval '[[ $(ctl 1 node ls --json | json "[n[\"state\"] for n in d[\"nodes\"] if n[\"name\"] == \"$empty\"][0]") == draining ]]' ||
        fail "$empty not draining: $(ctl 1 node ls)"
[[ $(ctl 1 node remove "$empty") == "Node removed." ]] || fail "node remove"
four() { [[ $(ctl 1 node ls --json | json 'len(d["nodes"])') == 4 ]]; }
wait_until 20 four || fail "$empty still listed: $(ctl 1 node ls)"
# The busy node's replica moves to node1, the one node left without one.
[[ $(ctl 1 node drain --json "$busy" | json 'd["drained"]') == "$busy" ]] || fail "node drain of $busy"
moved() { [[ $(ctl 1 node ls --json | json '[n["tenants"] for n in d["nodes"] if n["name"] == "'"$busy"'"][0]') == "[]" ]]; }
wait_until 20 moved || fail "$busy still hosts: $(ctl 1 node ls)"
[[ $(status_of ctl 1 node remove) == 2 ]] || fail "node remove without a name"
[[ $(status_of ctl 1 node ls --drain) == 2 ]] || fail "node ls --drain"
echo "ctl-cluster: ok"
