#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# viewstamp-bench --history against a fake node (linearizable by construction: one tree behind
# one lock) under heavy contention on few keys, reads, writes and cas mixed: the recorded
# history must pass vs-lincheck. Arguments: fake-node, viewstamp-bench, vs-lincheck.
set -euo pipefail
fake=$1 bench=$2 lincheck=$3
dir=$(mktemp -d)
fake_pid=
cleanup() {
        [[ -n $fake_pid ]] && kill "$fake_pid" && wait "$fake_pid" || true
        rm -rf "$dir"
}
trap cleanup EXIT

"$fake" 0 >"$dir/address" &
fake_pid=$!
for _ in $(seq 100); do [[ -s $dir/address ]] && break; sleep 0.05; done
address=$(cat "$dir/address")
[[ -n $address ]] || { echo "fake-node did not start" >&2; exit 1; }

"$bench" --tenant t --node "$address" --connections 2 --outstanding 8 --keys 4 --mix 40:40:20 \
        --duration 1 --history "$dir/history.jsonl"
[[ $(wc -l <"$dir/history.jsonl") -gt 1000 ]] || { echo "history too short" >&2; exit 1; }
grep -q '"f":"cas","key":"/bench/k[0-9]","value":\[[0-9]' "$dir/history.jsonl" ||
        { echo "no cas with a known expected value recorded" >&2; exit 1; }
"$lincheck" "$dir/history.jsonl"
