#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# viewstampctl against a real 3-node cluster: "tenant create" over D-Bus, then "tenants",
# "tenant show" and "status" in human and --json form on every node, the refusals (a duplicate
# create, an unknown tenant, a bad replica list) with their exit statuses and the daemon's message,
# and finally the data commands against the created tenant through the nodes' client addresses.
source "$(dirname "$0")/lib.sh"
: "${VIEWSTAMPCTL:?path to viewstampctl}"

start_cluster 3

# Before any tenant exists.
out=$(ctl 1 tenants) || fail "tenants on an empty node: $out"
[[ $out == "0 tenants listed." ]] || fail "empty tenants printed: $out"
[[ $(ctl 1 tenants --json | json 'd["tenants"]') == "[]" ]] || fail "empty tenants --json"
out=$(ctl 1 status) || fail "status: $out"
[[ $out == *"Node: node1"* && $out == *"No tenants hosted here."* ]] || fail "status on an empty node: $out"

out=$(ctl 2 tenant create accounts node1 node2 node3) || fail "tenant create: $out"
[[ $out == /org/viewstamp1/tenant/accounts ]] || fail "tenant create printed $out"

# The same name again, from another node: refused by the cluster, status 1, the daemon's words.
set +e
out=$(ctl 1 tenant create accounts node1 node2 node3 2>&1); rc=$?
set -e
((rc == 1)) || fail "duplicate create exited $rc: $out"
[[ $out == "viewstampctl: tenant 'accounts' already exists" ]] || fail "duplicate create said: $out"
set +e
out=$(ctl 1 tenant create --json accounts node1 node2 node3 2>/dev/null); rc=$?
set -e
((rc == 1)) || fail "duplicate create --json exited $rc"
[[ $(json 'd["error"]["name"]' <<<"$out") == org.viewstamp1.Error.TenantExists ]] || fail "duplicate --json: $out"

# Bad replica lists and usage errors change nothing.
set +e
out=$(ctl 1 tenant create other node1 node2 2>&1); rc=$?
set -e
((rc == 1)) || fail "two replicas: exit $rc: $out"
[[ $out == viewstampctl:* ]] || fail "two replicas: $out"
set +e
out=$(ctl 1 tenant create other 2>&1); rc=$?
set -e
((rc == 2)) || fail "create without nodes: exit $rc: $out"

# Every node comes to host a normal replica; then check the tables on each.
normal_on() { [[ $(ctl "$1" tenant show --json accounts 2>/dev/null | json 'd["status"]') == normal ]]; }
for i in 1 2 3; do wait_until 20 normal_on "$i" || fail "node$i: accounts not normal: $(ctl "$i" tenant show accounts 2>&1)"; done

for i in 1 2 3; do
        doc=$(ctl "$i" tenant show --json accounts) || fail "tenant show --json on node$i"
        [[ $(json 'sorted(d)' <<<"$doc") == "['access_token_required', 'checkpoint_op', 'commit_number', 'epoch', 'id', 'name', 'op_number', 'primary', 'replicas', 'status', 'view']" ]] ||
                fail "tenant show --json keys: $doc"
        [[ $(json 'd["name"], d["replicas"]' <<<"$doc") == "('accounts', ['node1', 'node2', 'node3'])" ]] ||
                fail "tenant show --json values: $doc"
        view=$(json 'd["view"]' <<<"$doc")
        primary=$(json 'd["primary"]' <<<"$doc")
        [[ $primary == "node$((view % 3 + 1))" ]] || fail "primary $primary in view $view"

        out=$(ctl "$i" tenant show accounts) || fail "tenant show on node$i"
        for line in "                 Name: accounts" "               Status: normal" \
                "             Replicas: node1, node2, node3" "            Op number: " "        Commit number: " \
                "        Checkpoint op: " "              Primary: $primary" "Access token required: false" \
                "                Epoch: 0"; do
                [[ $out == *"$line"* ]] || fail "tenant show lacks '$line': $out"
        done
        [[ $(ctl "$i" tenant show accounts | wc -l) == 11 ]] || fail "tenant show: not one line per property: $out"

        out=$(ctl "$i" tenants) || fail "tenants on node$i"
        head=$(head -n1 <<<"$out")
        read -ra cols <<<"$head"
        [[ ${cols[*]} == "NAME ID VIEW STATUS PRIMARY OP COMMIT REPLICAS" ]] || fail "tenants header: $head"
        row=$(sed -n 2p <<<"$out")
        [[ $row == accounts* && $row == *" normal "* && $row == *"node1, node2, node3" ]] || fail "tenants row: $row"
        [[ $(tail -n1 <<<"$out") == "1 tenant listed." ]] || fail "tenants footer: $out"
        [[ $(ctl "$i" tenants --json | json '[t["name"] for t in d["tenants"]]') == "['accounts']" ]] ||
                fail "tenants --json on node$i"

        out=$(ctl "$i" status) || fail "status on node$i"
        [[ $(head -n1 <<<"$out") == "Node: node$i" ]] || fail "status header: $out"
        for n in 1 2 3; do
                c="CLIENT_$n"
                grep -qE "^node$n +127\.0\.0\.1:[0-9]+ +${!c}\$" <<<"$out" || fail "status lacks node$n: $out"
        done
        grep -qE "^accounts +[0-9]+ +normal +node[1-3]\$" <<<"$out" || fail "status lacks the tenant: $out"
        doc=$(ctl "$i" status --json) || fail "status --json on node$i"
        [[ $(json 'd["node"], [n["name"] for n in d["nodes"]], d["nodes"][1]["client"], [t["name"] for t in d["tenants"]]' <<<"$doc") == \
                "('node$i', ['node1', 'node2', 'node3'], '$CLIENT_2', ['accounts'])" ]] || fail "status --json: $doc"
done

# An unknown tenant: refused, status 1, nothing printed on stdout but the --json error.
set +e
out=$(ctl 1 tenant show nosuch 2>&1); rc=$?
set -e
((rc == 1)) || fail "unknown tenant: exit $rc: $out"
[[ $out == "viewstampctl: no tenant 'nosuch' is hosted on this node" ]] || fail "unknown tenant said: $out"
set +e
out=$(ctl 1 tenant show --json nosuch 2>/dev/null); rc=$?
set -e
((rc == 1)) && [[ $(json 'd["error"]["name"]' <<<"$out") == org.viewstamp1.Error.NoSuchTenant ]] ||
        fail "unknown tenant --json: $rc $out"

# Not root: reading is open to everyone, creating a tenant is denied with its own status (5).
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if ((EUID == 0)) && chmod o+x "$SCRATCH" "$SCRATCH/bus-node1" && as_nobody test -x "$VIEWSTAMPCTL"; then
        out=$(as_nobody env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of 1)" "$VIEWSTAMPCTL" tenants) ||
                fail "tenants as nobody: $out"
        [[ $(tail -n1 <<<"$out") == "1 tenant listed." ]] || fail "tenants as nobody: $out"
        set +e
        out=$(as_nobody env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of 1)" "$VIEWSTAMPCTL" tenant create other \
                node1 node2 node3 2>&1); rc=$?
        set -e
        ((rc == 5)) || fail "create as nobody: exit $rc: $out"
        [[ $out == "viewstampctl: not authorized for org.viewstamp1.manage: only root may, and polkit is not available to ask" ]] ||
                fail "create as nobody said: $out"
else
        echo "skipped the unprivileged checks (not root, or nobody cannot run $VIEWSTAMPCTL)"
fi
out=$(ctl 1 tenants) && [[ $(tail -n1 <<<"$out") == "1 tenant listed." ]] || fail "a refused create changed: $out"

# No daemon on the bus: its own status (3).
set +e
out=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=$SCRATCH/no-bus "$VIEWSTAMPCTL" status 2>&1); rc=$?
set -e
((rc == 3)) && [[ $out == "viewstampctl: cannot connect to the system bus: "* ]] || fail "no bus: $rc $out"

# A second tenant, created with --json, on a 1-replica group: listed on its node only.
doc=$(ctl 3 tenant create --json solo node3) || fail "tenant create --json: $doc"
[[ $(json 'd["name"], d["path"]' <<<"$doc") == "('solo', '/org/viewstamp1/tenant/solo')" ]] || fail "create --json: $doc"
listed() { [[ $(ctl "$1" tenants --json | json 'sorted(t["name"] for t in d["tenants"])') == "$2" ]]; }
wait_until 20 listed 3 "['accounts', 'solo']" || fail "node3 does not list solo: $(ctl 3 tenants)"
listed 1 "['accounts']" || fail "node1 lists a tenant it does not host: $(ctl 1 tenants)"

# The whole CLI against real daemons: data through any node's client address.
nodes=(--node "$CLIENT_3" --node "$CLIENT_1" --node "$CLIENT_2")
"$VIEWSTAMPCTL" create -t accounts "${nodes[@]}" /config hello >/dev/null || fail "create /config"
"$VIEWSTAMPCTL" set -t accounts "${nodes[@]}" /config world || fail "set /config"
out=$("$VIEWSTAMPCTL" get -t accounts "${nodes[@]}" /config) || fail "get /config"
[[ $out == world ]] || fail "get /config read '$out'"
[[ $("$VIEWSTAMPCTL" stat -t accounts --node "$CLIENT_2" --json /config | json 'd["stat"]["version"]') == 1 ]] ||
        fail "stat through another node"
commit_of() { ctl "$1" tenant show --json accounts | json 'd["commit_number"]'; }
(($(commit_of 1) >= 2)) || fail "the tenant's commit number did not advance: $(commit_of 1)"
echo "ok"
