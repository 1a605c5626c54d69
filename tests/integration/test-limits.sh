#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The limits a client or administrator can run into on a real 3-node cluster, each refused with
# an error that names it while the daemon stays healthy:
#  - MaxTenants=2: a third tenant is refused with org.viewstamp1.Error.TooManyTenants (viewstampctl
#    exit 1, the node named) and appears nowhere;
#  - MaxRequestsPerConnection=2: viewstamp-bench with 16 requests in flight on one connection
#    gets the limit's error, with 2 none;
#  - MaxClientsPerTenant=3: four clients each keeping a session: evicted ones are told so;
#  - MaxValueBytes=1K: a larger value is refused as ValueTooLarge.
# Afterwards the tenants serve as before.
source "$(dirname "$0")/lib.sh"
: "${VIEWSTAMPCTL:?path to viewstampctl}"
: "${VIEWSTAMP_BENCH:?path to viewstamp-bench}"

CLUSTER_CONF_EXTRA="
[Limits]
MaxTenants=2
MaxRequestsPerConnection=2
MaxClientsPerTenant=3
MaxValueBytes=1K
"
start_cluster 3
nodes=(-n "$CLIENT_1" -n "$CLIENT_2" -n "$CLIENT_3")

ctl 1 tenant create t1 node1 node2 node3 >/dev/null || fail "first tenant"
ctl 2 tenant create t2 node1 node2 node3 >/dev/null || fail "second tenant"
for i in 1 2 3; do
        wait_until 30 tenant_normal "$i" t1 || fail "node$i does not serve t1"
        wait_until 30 tenant_normal "$i" t2 || fail "node$i does not serve t2"
done

# MaxTenants=: refused by name, from any node, and nothing created.
for i in 1 3; do
        expect_rc 1 "a third tenant on node$i" ctl "$i" tenant create t3 node1 node2 node3
        [[ $out == *"node 'node1' hosts 2 tenants, its limit (MaxTenants=2)"* ]] || fail "TooManyTenants said: $out"
done
expect_rc 1 "a third tenant --json" ctl 2 tenant create --json t3 node1 node2 node3
[[ $out == *"org.viewstamp1.Error.TooManyTenants"* ]] || fail "--json named no error: $out"
sleep 1
for i in 1 2 3; do
        [[ $(ctl "$i" tenants) == *"2 tenants listed."* ]] || fail "node$i lists other than 2 tenants: $(ctl "$i" tenants)"
done

# MaxRequestsPerConnection=: one connection with 16 in flight (the bench creates its keys that
# way): the requests over the limit fail with its error, and the bench says so.
expect_rc 1 "bench -o 16" "$VIEWSTAMP_BENCH" -t t1 "${nodes[@]}" -c 1 -o 16 -k 32 -d 1
[[ $out == *"over a limit of the server"* ]] || fail "16 in flight said: $out"
grep -q "refused a client: more than 2 requests outstanding on one connection (MaxRequestsPerConnection=)" \
        "$SCRATCH"/node*.log || fail "no log line names MaxRequestsPerConnection="
# Within the limit (its setup keeps at most 2 in flight too with 1 key): no error at all.
"$VIEWSTAMP_BENCH" -t t1 "${nodes[@]}" -c 1 -o 2 -k 1 -d 1 >"$SCRATCH/bench4.out" 2>&1 || fail "bench -o 2: $(cat "$SCRATCH/bench4.out")"
grep -q ", errors 0)" "$SCRATCH/bench4.out" || fail "errors within the limit: $(cat "$SCRATCH/bench4.out")"

# MaxClientsPerTenant=: four clients of one session each take turns; evicted ones are told why.
"$VIEWSTAMP_BENCH" -t t2 "${nodes[@]}" -c 4 -o 1 -k 1 -d 2 >"$SCRATCH/clients.out" 2>&1 || fail "bench -c 4"
grep -q "first error: session expired" "$SCRATCH/clients.out" ||
        fail "no session was evicted with 4 clients and MaxClientsPerTenant=3: $(cat "$SCRATCH/clients.out")"

# MaxValueBytes=.
head -c 2048 /dev/zero | tr '\0' x >"$SCRATCH/big"
expect_rc 1 "a value over MaxValueBytes=" "$VIEWSTAMPCTL" set -t t2 "${nodes[@]}" /big - <"$SCRATCH/big"
[[ $out == *"too large"* || $out == *"TooLarge"* ]] || fail "a large value said: $out"

# Healthy after all that.
for i in 1 2 3; do kill -0 "$(eval echo "\$PID_$i")" || fail "node$i died"; done
expect_rc 0 "t1 after the limits" "$VIEWSTAMPCTL" create -t t1 "${nodes[@]}" /after ok
expect_rc 0 "t2 after the limits" "$VIEWSTAMPCTL" create -t t2 "${nodes[@]}" /after ok
echo "ok: every limit refused with its name, the daemons kept serving"
