#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Optional client TLS against real daemons: a 3-node cluster whose client ports speak TLS with a
# certificate (from a test CA, naming 127.0.0.1 and viewstamp.test). viewstampctl and
# viewstamp-bench with --tls-ca work, by IP address and by --tls-server-name, and the bench's
# history is linearizable; a client that trusts another CA, expects another name, or speaks no
# TLS is refused and gets nothing, and the node logs the failed handshake with its address.
source "$(dirname "$0")/lib.sh"

pki="$SCRATCH/pki"
mkdir -p "$pki"
certtool_q() { certtool "$@" >/dev/null 2>&1 || fail "certtool $*"; }
make_ca() { # NAME
        certtool_q --generate-privkey --key-type=ecdsa --outfile "$pki/$1.key"
        printf 'cn = "%s"\nca\ncert_signing_key\nexpiration_days = 2\n' "$1" >"$pki/$1.tmpl"
        certtool_q --generate-self-signed --load-privkey "$pki/$1.key" --template "$pki/$1.tmpl" --outfile "$pki/$1.pem"
}
make_ca ca
make_ca other-ca
certtool_q --generate-privkey --key-type=ecdsa --outfile "$pki/node.key"
printf 'cn = "viewstamp node"\nip_address = "127.0.0.1"\ndns_name = "viewstamp.test"\ntls_www_server\nsigning_key\nexpiration_days = 2\n' \
        >"$pki/node.tmpl"
certtool_q --generate-certificate --load-privkey "$pki/node.key" --load-ca-certificate "$pki/ca.pem" \
        --load-ca-privkey "$pki/ca.key" --template "$pki/node.tmpl" --outfile "$pki/node.pem"
chmod 0600 "$pki/node.key"

# A certificate without its key is a configuration error, named before anything starts.
printf '[Node]\nName=node1\n[Client]\nCertificateFile=%s\n' "$pki/node.pem" >"$SCRATCH/half.conf"
if out=$("$VIEWSTAMPD" --config "$SCRATCH/half.conf" --check-config 2>&1); then fail "a certificate without a key accepted"; fi
[[ $out == *"CertificateFile= and KeyFile= go together"* ]] || fail "unclear error: $out"

CLUSTER_CONF_EXTRA=$(printf '\n[Client]\nCertificateFile=%s\nKeyFile=%s\n' "$pki/node.pem" "$pki/node.key")
start_cluster 3
create_tenant accounts

ctl() { "$VIEWSTAMPCTL" "$@" --tenant accounts --node "$CLIENT_1" --node "$CLIENT_2" --node "$CLIENT_3" --timeout 5; }
ctl create --tls-ca "$pki/ca.pem" /tls secret-value || fail "create over TLS"
out=$(ctl get --tls-ca "$pki/ca.pem" --tls-server-name viewstamp.test /tls) || fail "get over TLS by name: $out"
[[ $out == secret-value ]] || fail "get over TLS answered '$out'"

# refused CLIENT-OPTIONS...: the client fails with "not completed" (3) and changes nothing.
refused() {
        local status=0 out
        out=$(ctl set "$@" /tls changed 2>&1) || status=$?
        ((status == 3)) || fail "viewstampctl $* exited $status: $out"
        echo "refused ($*): $out"
}
refused --tls-ca "$pki/other-ca.pem"
refused --tls-ca "$pki/ca.pem" --tls-server-name other.test
refused # no TLS at all
[[ $(ctl get --tls-ca "$pki/ca.pem" /tls) == secret-value ]] || fail "a refused client changed the value"
for i in 1 2 3; do
        grep -q "\[peer=client (127\.0\.0\.1:[0-9]*)\] closing connection: TLS handshake failed" "$SCRATCH/node$i.log" &&
                found=1
done
[[ -n ${found:-} ]] || fail "no node logged a failed client handshake with the address"

"$VIEWSTAMP_BENCH" --tenant accounts --node "$CLIENT_1" --node "$CLIENT_2" --node "$CLIENT_3" --tls-ca "$pki/ca.pem" \
        --outstanding 16 --mix 40:40:20 --keys 8 --duration 3 --history "$SCRATCH/history.jsonl" >"$SCRATCH/bench.out" 2>&1 ||
        fail "viewstamp-bench over TLS: $(cat "$SCRATCH/bench.out")"
cat "$SCRATCH/bench.out"
grep -q "errors 0" "$SCRATCH/bench.out" || fail "bench over TLS had errors"
"$VS_LINCHECK" "$SCRATCH/history.jsonl" >/dev/null || fail "vs-lincheck rejects the history"
echo "ok: client TLS works with the right CA and name, and refuses the rest"
