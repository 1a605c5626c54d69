#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A cluster of N real daemons on loopback (N = 3 by default, or $1), each on its own private bus.
# A tenant with N replicas is created over D-Bus (a second creation of the same name is refused),
# concurrent clients read, write and compare-and-set through libviewstamp while the primary's
# daemon is SIGKILLed (and, with 5 nodes, a second node too), the tenant keeps serving through the
# view change, the killed daemons restart and catch up, and the whole client history (written as
# JSON lines) is linearizable with no acknowledged write lost.
source "$(dirname "$0")/lib.sh"

N=${1:-3}
start_cluster "$N"

replicas=()
for i in $(seq "$N"); do replicas+=("node$i"); done
out=$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 2) busctl --system call org.viewstamp1 /org/viewstamp1 \
        org.viewstamp1.Manager CreateTenant sas accounts "$N" "${replicas[@]}") ||
        fail "CreateTenant failed: $out"
[[ $out == 'o "/org/viewstamp1/tenant/accounts"' ]] || fail "CreateTenant answered $out"
if out=$(DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) busctl --system call org.viewstamp1 /org/viewstamp1 \
        org.viewstamp1.Manager CreateTenant sas accounts "$N" "${replicas[@]}" 2>&1); then
        fail "a second CreateTenant of the same name succeeded"
fi
[[ $out == *"tenant 'accounts' already exists"* ]] || fail "unclear duplicate error: $out"

hosted() { [[ $(tenant_property "$1" accounts Status) == 's "normal"' ]]; }
for i in $(seq "$N"); do
        wait_until 20 hosted "$i" || fail "node$i does not host a normal replica of accounts"
done

DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) busctl --system --xml-interface introspect org.viewstamp1 \
        /org/viewstamp1/tenant/accounts >"$SCRATCH/tenant.xml"
"$VS_SOURCE_ROOT/tests/integration/introspect-compare.py" "$SCRATCH/tenant.xml" \
        "$VS_SOURCE_ROOT/dbus/org.viewstamp1.Tenant.xml" || fail "tenant introspection differs from dbus/"

nodes=()
for i in $(seq "$N"); do c="CLIENT_$i"; nodes+=(--node "${!c}"); done
"$VS_WORKLOAD" --tenant accounts "${nodes[@]}" --processes 6 --keys 4 --duration-ms 12000 \
        --timeout-ms 8000 --min-ok 500 --history "$SCRATCH/history.jsonl" >"$SCRATCH/workload.out" 2>&1 &
workload=$!
STARTED_PIDS+=($workload)

sleep 3
primary=$(tenant_property 1 accounts Primary)
primary=${primary#s \"node}
primary=${primary%\"}
victims=("$primary")
if ((N == 5)); then victims+=($((primary % N + 1))); fi
for v in "${victims[@]}"; do
        echo "killing node$v"
        kill_node "$v"
done
sleep 4
for v in "${victims[@]}"; do start_node "$v"; done

wait "$workload" || { cat "$SCRATCH/workload.out"; fail "workload: $(tail -n 3 "$SCRATCH/workload.out")"; }
cat "$SCRATCH/workload.out"
grep -q " linearizable" "$SCRATCH/workload.out" || fail "history not linearizable"

# The standalone checker agrees on the JSON-lines history.
"$VS_LINCHECK" "$SCRATCH/history.jsonl" >/dev/null || fail "vs-lincheck rejects the history"

# Restarted replicas catch up with the rest.
commit_of() { tenant_property "$1" accounts CommitNumber; }
caught_up() {
        local want
        want=$(commit_of "${survivor}")
        for v in "${victims[@]}"; do [[ $(commit_of "$v") == "$want" ]] || return 1; done
}
for i in $(seq "$N"); do [[ " ${victims[*]} " == *" $i "* ]] || { survivor=$i; break; }; done
wait_until 30 caught_up || fail "restarted nodes did not catch up: $(for i in $(seq "$N"); do commit_of "$i"; done)"
view=$(tenant_property "$survivor" accounts View)
[[ $view != "t 0" ]] || fail "no view change happened"
echo "ok: view now ${view#t }, every replica at commit $(commit_of "$survivor")"
