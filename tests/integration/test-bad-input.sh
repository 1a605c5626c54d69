#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A running 3-node cluster survives bad input on both ports of a node: garbage bytes, an oversized
# frame header, a frame cut off at EOF and a half-open connection that never sends anything (on
# the peer port none of it is a TLS handshake, which is what the node says). Each
# bad connection is closed with one clear log line naming its address, and nothing else changes:
# the tenant keeps serving and its replicas keep their view.
source "$(dirname "$0")/lib.sh"

start_cluster 3
create_tenant accounts
view_before=$(tenant_property 1 accounts View)

peer1=$(grep -o "Node=node1 [0-9.:]*" "$CONF_1" | cut -d' ' -f2)
client1=$CLIENT_1

# send ADDRESS PYTHON-BYTES [HOLD]: connects, sends the bytes, optionally keeps the connection open
# for HOLD seconds without sending more, then closes.
send() {
        python3 - "$1" "$2" "${3:-0}" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(eval(sys.argv[2]))
time.sleep(float(sys.argv[3]))
s.close()
PY
}

for addr in "$peer1" "$client1"; do
        send "$addr" 'b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"'         # garbage that reads as a huge length
        send "$addr" 'b"\x00\x00\x00\x05\xff\xff\xff\xff\xff"'        # framed garbage
        send "$addr" 'b"\x7f\xff\xff\xff"'                            # oversized frame header
        send "$addr" 'b"\x00\x00\x00\x40abc"'                          # a frame cut off at EOF
done
# Half-open: connect and say nothing; the node must give up on its own (client port: 10 s, peer
# port: 5 s) while serving others.
send "$client1" 'b""' 12 &
half_client=$!
send "$peer1" 'b""' 7 &
half_peer=$!

"$VS_WORKLOAD" --tenant accounts --node "$CLIENT_1" --node "$CLIENT_2" --node "$CLIENT_3" --processes 3 \
        --keys 2 --duration-ms 3000 --min-ok 100 >"$SCRATCH/workload.out" 2>&1 ||
        fail "the tenant stopped serving: $(cat "$SCRATCH/workload.out")"
wait "$half_client" "$half_peer"

log="$SCRATCH/node1.log"
# The client port reads frames; the peer port speaks nothing before a TLS handshake.
for why in "garbage (not a framed viewstamp envelope)" "oversize frame" "truncated frame at EOF"; do
        n=$(grep -c "closing connection: $why" "$log" || true)
        ((n >= 1)) || fail "expected a '$why' line for the client port, found $n:
$(grep -i 'closing connection\|refus' "$log")"
done
n=$(grep -c "closing connection: TLS handshake failed" "$log" || true)
((n >= 4)) || fail "expected a failed TLS handshake for each bad peer connection, found $n:
$(grep -i 'closing connection\|refus' "$log")"
unnamed=$(grep "closing connection" "$log" | grep -v "127\.0\.0\.1:[0-9]" || true)
[[ -z $unnamed ]] || fail "log lines that do not name the address: $unnamed"
timeouts=$(grep -c "closing connection: no frame within" "$log" || true)
((timeouts >= 2)) || fail "half-open connections were not given up: $(grep "closing connection" "$log")"
[[ $(tenant_property 1 accounts View) == "$view_before" ]] || fail "the view changed"
kill -0 "$PID_1" || fail "node1 died"
cat "$SCRATCH/workload.out"
echo "ok: bad input closed, cluster unaffected"
