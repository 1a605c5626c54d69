#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A log far longer than one frame: with MaxFrameBytes=64K and no checkpoint for 10000 ops, 48
# values of 12K put 576K of log above the last checkpoint. The primary is killed twice (each time
# a view change, and the killed node catches up when it returns); every message still fits a
# frame, so the tenant stays available and every value reads back whole. A command over half a
# frame is refused with the limit's error and changes nothing.
source "$(dirname "$0")/lib.sh"
: "${VIEWSTAMPCTL:?path to viewstampctl}"

CLUSTER_CONF_EXTRA="
[Replica]
CheckpointInterval=10000

[Limits]
MaxFrameBytes=64K
MaxValueBytes=48K
"
start_cluster 3
create_tenant big
nodes=(-n "$CLIENT_1" -n "$CLIENT_2" -n "$CLIENT_3")

value() { # N: 12K of a pattern naming N
        { yes "value $1" || true; } | head -c 12288
}
write_values() { # FROM TO
        local k
        for k in $(seq "$1" "$2"); do
                value "$k" >"$SCRATCH/v"
                expect_rc 0 "create /k$k" "$VIEWSTAMPCTL" create -t big "${nodes[@]}" "/k$k" - <"$SCRATCH/v"
        done
}
check_values() { # FROM TO
        local k
        for k in $(seq "$1" "$2"); do
                expect_rc 0 "get /k$k" "$VIEWSTAMPCTL" get -t big "${nodes[@]}" "/k$k"
                [[ $out == "$(value "$k")" ]] || fail "/k$k reads back other than written (${#out} bytes)"
        done
}
primary_of() {
        local p
        p=$(tenant_property "$1" big Primary)
        p=${p#s \"node}
        echo "${p%\"}"
}
kill_primary() { # ROUND: kills the primary, waits for the others to form a view without it
        local p i
        p=$(primary_of "$survivor")
        echo "round $1: killing node$p, the primary"
        kill_node "$p"
        for i in 1 2 3; do
                if ((i != p)); then survivor=$i; fi
        done
        wait_until 30 new_primary "$p" || fail "round $1: no view formed without node$p: $(cat "$SCRATCH"/node*.log | tail -n 5)"
        victim=$p
}
new_primary() { # OLD
        local p
        p=$(primary_of "$survivor")
        [[ -n $p && $p != "$1" ]] && tenant_normal "$survivor" big
}

survivor=1
write_values 1 24
kill_primary 1
write_values 25 48
check_values 1 48
start_node "$victim"
commit_of() { tenant_property "$1" big CommitNumber; }
wait_until 60 eval '[[ $(commit_of "$victim") == "$(commit_of "$survivor")" ]]' ||
        fail "node$victim did not catch up: $(commit_of "$victim") vs $(commit_of "$survivor")"

kill_primary 2
check_values 1 48
start_node "$victim"

# Half a frame is the most one command may take: refused by name, nothing created.
{ yes x || true; } | head -c 40000 >"$SCRATCH/huge"
expect_rc 1 "a 40K value" "$VIEWSTAMPCTL" create -t big "${nodes[@]}" /huge - <"$SCRATCH/huge"
[[ $out == *"too large to replicate"* ]] || fail "a command over half a frame said: $out"
expect_rc 1 "/huge after the refusal" "$VIEWSTAMPCTL" get -t big "${nodes[@]}" /huge

grep -q "oversize frame" "$SCRATCH"/node*.log && fail "a replica sent a frame over MaxFrameBytes="
echo "ok: 576K of log over 64K frames, two view changes, every value intact"
