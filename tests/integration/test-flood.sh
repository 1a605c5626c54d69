#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# viewstamp-bench loads a 3-node cluster while flood.py opens garbage, reset, half-open and
# unfinished-large-frame connections to node1's client port as fast as it can: first from one
# source address, then from ten (127.0.0.2-11; the bench uses 127.0.0.1). Meanwhile node1's
# RSS and the client connections it holds are sampled from /proc. Passes when the connections
# held never exceed MaxConnections= in total nor MaxConnectionsPerAddress= per address, the RSS
# stays under a bound derived from the limits, node1 keeps running and the bench completes with
# a non-zero throughput and no errors. Prints the figures.
source "$(dirname "$0")/lib.sh"
: "${VIEWSTAMP_BENCH:?path to viewstamp-bench}"

MAX_CONNECTIONS=96
PER_ADDRESS=8
MAX_FRAME=$((1024 * 1024))
FLOOD_SECONDS=${VS_FLOOD_SECONDS:-6}
CLUSTER_CONF_EXTRA="
[Replica]
CheckpointInterval=1000

[Limits]
MaxConnections=$MAX_CONNECTIONS
MaxConnectionsPerAddress=$PER_ADDRESS
MaxFrameBytes=$MAX_FRAME
"
# Under AddressSanitizer every allocation carries redzones and freed memory waits in a
# quarantine before reuse (256 MiB by default): keep the quarantine small and allow for both.
asan=0
if ldd "$VIEWSTAMPD" | grep -q libasan; then
        asan=1
        export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=32"
fi
start_cluster 3
create_tenant load
port1=${CLIENT_1##*:}

bench_seconds=$((2 * FLOOD_SECONDS + 4))
"$VIEWSTAMP_BENCH" -t load -n "$CLIENT_1" -n "$CLIENT_2" -n "$CLIENT_3" -c 2 -o 16 -k 100 -m 50:50:0 \
        -d "$bench_seconds" >"$SCRATCH/bench.out" 2>&1 &
bench=$!
STARTED_PIDS+=("$bench")
sleep 2 # the bench's connections are up and the replicas warm before the flood
baseline=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID_1/status")
"$VS_SOURCE_ROOT/tests/integration/flood.py" watch "$PID_1" "$port1" $((2 * FLOOD_SECONDS + 1)) >"$SCRATCH/watch.json" &
watch=$!
STARTED_PIDS+=("$watch")
"$VS_SOURCE_ROOT/tests/integration/flood.py" flood "$CLIENT_1" "$FLOOD_SECONDS" 127.0.0.2 >"$SCRATCH/flood1.json"
"$VS_SOURCE_ROOT/tests/integration/flood.py" flood "$CLIENT_1" "$FLOOD_SECONDS" $(printf '127.0.0.%s ' $(seq 2 11)) \
        >"$SCRATCH/flood2.json"
wait "$watch" || fail "the watch failed"
wait "$bench" || fail "the bench failed: $(cat "$SCRATCH/bench.out")"
kill -0 "$PID_1" || fail "node1 died: $(tail -n 20 "$SCRATCH/node1.log")"

get() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], 0))' "$@"; }
peak=$(get "$SCRATCH/watch.json" rss_kib)
held=$(get "$SCRATCH/watch.json" connections)
per=$(get "$SCRATCH/watch.json" per_address)
samples=$(get "$SCRATCH/watch.json" samples)
attempts=$(( $(get "$SCRATCH/flood1.json" attempts) + $(get "$SCRATCH/flood2.json" attempts) ))
# What the limits allow node1 to hold beyond its steady state: every client connection with a
# receive buffer for one frame that cannot exceed MaxFrameBytes=, grown by doubling (so up to
# twice what arrived), plus 64 KiB of bookkeeping each, plus 64 MiB for the allocator's
# fragmentation and the bench's own growth of the tree and journal.
# Under ASan: twice that per connection, and the quarantine.
bound=$((baseline + (1 + asan) * MAX_CONNECTIONS * (2 * MAX_FRAME / 1024 + 64) + 64 * 1024 + asan * 32 * 1024))
echo "flood: $attempts connections opened in $((2 * FLOOD_SECONDS)) s; from one address: $(cat "$SCRATCH/flood1.json")"
echo "flood: from ten addresses: $(cat "$SCRATCH/flood2.json")"
echo "node1: RSS $baseline KiB before, peak $peak KiB, bound $bound KiB; client connections held: peak $held" \
        "(limit $MAX_CONNECTIONS), peak from one address $per (limit $PER_ADDRESS); $samples samples"
cat "$SCRATCH/bench.out"
refusals=$(grep -c "refused a client" "$SCRATCH/node1.log" || true)
closes=$(grep -c "closing connection\|more connections closed" "$SCRATCH/node1.log" || true)
echo "node1 log: $refusals refusal lines, $closes close lines for $attempts connections"

((samples > 10)) || fail "too few samples ($samples)"
((attempts > 500)) || fail "the flood opened only $attempts connections"
((held <= MAX_CONNECTIONS)) || fail "node1 held $held client connections, over MaxConnections=$MAX_CONNECTIONS"
((per <= PER_ADDRESS)) || fail "node1 held $per connections from one address, over MaxConnectionsPerAddress=$PER_ADDRESS"
((per == PER_ADDRESS)) || fail "the flood never reached the per-address limit (peak $per): the test tests nothing"
((peak <= bound)) || fail "node1's RSS reached $peak KiB, over the bound of $bound KiB"
grep -q ", errors 0)" "$SCRATCH/bench.out" || fail "the bench saw errors"
! grep -q "throughput: 0 ops/s" "$SCRATCH/bench.out" || fail "the bench did nothing"
# Logging stayed bounded: about ten lines a second of each kind, not one per connection.
((refusals + closes < attempts / 4)) || fail "$refusals + $closes log lines for $attempts connections: not rate-limited"
echo "ok: node1 stayed within its limits under the flood and kept serving"
