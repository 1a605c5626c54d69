#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Peer authentication against real daemons: while a 3-node cluster serves a workload, a rogue
# process attacks node2's peer port with a plain Hello (no TLS), a TLS handshake with a wrong
# secret, a TLS handshake as a node that is not a member or as a joining node (this cluster is
# static), and the replay of a genuine handshake
# it captured on the wire (node1's link to node2 runs through a recording relay). Every attempt
# is refused, node2 logs each with the rogue's address, the real links stay up, and the client
# history stays linearizable.
source "$(dirname "$0")/lib.sh"

start_cluster 3
create_tenant accounts

# node1 (its name sorts lower: it dials) reaches node2 through a relay that records what node1
# sends: a genuine handshake, as an eavesdropper on the wire would see it.
relay_port=$(free_port)
"$VS_ROGUE" relay "127.0.0.1:$relay_port" "$PEER_2" "$SCRATCH/captured" &
STARTED_PIDS+=($!)
kill_node 1
sed -i "s|^Node=node2 $PEER_2 |Node=node2 127.0.0.1:$relay_port |" "$CONF_1"
start_node 1
log2="$SCRATCH/node2.log"
relayed() { [[ -s $SCRATCH/captured ]] && (($(grep -c "\[peer=node1\] peer link up" "$log2") >= 2)); }
wait_until 20 relayed || fail "node1's link did not come up through the relay"

nodes=(--node "$CLIENT_1" --node "$CLIENT_2" --node "$CLIENT_3")
"$VS_WORKLOAD" --tenant accounts "${nodes[@]}" --processes 4 --keys 4 --duration-ms 10000 \
        --timeout-ms 8000 --min-ok 300 --history "$SCRATCH/history.jsonl" >"$SCRATCH/workload.out" 2>&1 &
workload=$!
STARTED_PIDS+=($workload)
sleep 1

# attack I WHY ARGS...: the rogue must be refused, and node I must log WHY with the rogue's address.
attack() {
        local log="$SCRATCH/node$1.log" why=$2 out from
        shift 2
        out=$("$VS_ROGUE" "$@") || fail "not refused: vs-rogue $* ($out)"
        from=$(sed -n 's/^from //p' <<<"$out")
        [[ -n $from ]] || fail "vs-rogue $* did not say where it came from: $out"
        wait_until 5 grep -q "\[peer=$from\] .*$why" "$log" ||
                fail "$log has no '$why' for $from: $(grep "$from" "$log")"
        echo "refused: vs-rogue $1 from $from: $(grep "\[peer=$from\]" "$log" | head -n1)"
}
attack 2 "TLS handshake failed: not a TLS 1.3 handshake" plain "$PEER_2" node1
attack 2 "TLS handshake failed: TLS authentication failed" tls "$PEER_2" node1
attack 2 "TLS handshake failed: PSK identity 'mallory' is not a member of this cluster" tls "$PEER_2" mallory
# A static cluster takes no joins: the join identity is refused like a stranger.
attack 2 "TLS handshake failed: a join, but this cluster lists its nodes in viewstampd.conf" tls "$PEER_2" .join
attack 2 "TLS handshake failed: TLS authentication failed" replay "$PEER_2" "$SCRATCH/captured"
# node3 accepts from both others: the capture is worth nothing there either.
attack 3 "TLS handshake failed: TLS authentication failed" replay "$PEER_3" "$SCRATCH/captured"

wait "$workload" || { cat "$SCRATCH/workload.out"; fail "workload: $(tail -n 3 "$SCRATCH/workload.out")"; }
cat "$SCRATCH/workload.out"
grep -q " linearizable" "$SCRATCH/workload.out" || fail "history not linearizable"
"$VS_LINCHECK" "$SCRATCH/history.jsonl" >/dev/null || fail "vs-lincheck rejects the history"

# No rogue got a link: every link that came up on node2 is node1's (twice: before and after its
# restart through the relay) or node3's, and none went down since.
ups=$(grep "peer link up" "$log2" | grep -vc "\[peer=node[13]\]" || true)
((ups == 0)) || fail "a link came up for someone else: $(grep "peer link up" "$log2")"
downs=$(grep -c "peer link down" "$SCRATCH/node3.log" || true)
((downs <= 1)) || fail "node3's links flapped under attack: $(grep "peer link" "$SCRATCH/node3.log")"
grep -q "cluster.key\|[0-9a-f]\{64\}" "$SCRATCH"/node*.log && fail "a log names the secret"
echo "ok: every rogue attempt refused and logged with its address; history linearizable"
