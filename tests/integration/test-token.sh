#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Per-tenant access tokens on a real 3-node cluster: a tenant without a token serves anyone; once
# "viewstampctl tenant token" set one (over D-Bus, stored as a salted hash in the root group),
# every node refuses a client without it and one with a wrong one (exit status 5, the daemon's
# reason, nothing written), and serves one with it (--token, --token-file, $VIEWSTAMP_TOKEN,
# viewstamp-bench --token). A rotation makes the old token fail and the new one work on every
# node; clearing the token opens the tenant again. A second tenant is not affected by the first's
# token, and the token appears in no log and no state file.
source "$(dirname "$0")/lib.sh"
: "${VIEWSTAMPCTL:?path to viewstampctl}"
: "${VIEWSTAMP_BENCH:?path to viewstamp-bench}"

data() { # data I ARGS...: a data command through node I's client address only
        local i=$1 c="CLIENT_$1"
        shift
        "$VIEWSTAMPCTL" "$@" --node "${!c}" --timeout 5
}
required() { [[ $(tenant_property "$1" "$2" AccessTokenRequired) == "b $3" ]]; }

start_cluster 3
ctl 1 tenant create accounts node1 node2 node3 >/dev/null || fail "tenant create accounts"
ctl 1 tenant create other node1 node2 node3 >/dev/null || fail "tenant create other"
for i in 1 2 3; do
        wait_until 30 tenant_normal "$i" accounts || fail "node$i does not host accounts"
        wait_until 30 tenant_normal "$i" other || fail "node$i does not host other"
done
required 1 accounts false || fail "a new tenant requires a token"
data 1 create -t accounts /open before >/dev/null || fail "no token set, yet a client without one was refused"

# Setting a token: generated and printed, required on every node.
token=$(ctl 2 tenant token accounts) || fail "tenant token: $token"
[[ $token =~ ^[0-9a-f]{64}$ ]] || fail "generated token looks like '$token'"
for i in 1 2 3; do wait_until 20 required "$i" accounts true || fail "node$i does not require the token"; done

for i in 1 2 3; do
        expect_rc 5 "node$i without a token" data "$i" set -t accounts /open nope
        [[ $out == *"access token"*"presented none"* ]] || fail "refusal without a token said: $out"
        expect_rc 5 "node$i with a wrong token" data "$i" set -t accounts /open nope --token wrong
        [[ $out == *"access token"*"not the tenant's"* ]] || fail "refusal of a wrong token said: $out"
        expect_rc 0 "node$i with the token" data "$i" get -t accounts /open --token "$token"
        [[ $out == before ]] || fail "node$i read '$out' (a refused write changed the value?)"
done
printf '%s\n' "$token" >"$SCRATCH/token"
expect_rc 0 "--token-file" data 1 set -t accounts /open after --token-file "$SCRATCH/token"
expect_rc 0 "VIEWSTAMP_TOKEN" env VIEWSTAMP_TOKEN="$token" "$VIEWSTAMPCTL" get -t accounts /open --node "$CLIENT_3"
[[ $out == after ]] || fail "VIEWSTAMP_TOKEN read '$out'"
set +e
out=$(data 1 get -t accounts /open --json 2>/dev/null)
set -e
[[ $out == *'"error"'* ]] || fail "--json refusal printed: $out"
expect_rc 0 "another tenant without a token" data 1 create -t other /x y

expect_rc 0 "viewstamp-bench with the token" "$VIEWSTAMP_BENCH" -t accounts -n "$CLIENT_1" -n "$CLIENT_2" \
        -n "$CLIENT_3" --token "$token" -o 4 -d 1 -k 10
[[ $out == *", errors 0)"* && $out != *"throughput: 0 ops/s"* ]] || fail "bench with the token: $out"
expect_rc 1 "viewstamp-bench without the token" "$VIEWSTAMP_BENCH" -t accounts -n "$CLIENT_1" -o 1 -d 1 -k 10
[[ $out == *"access token"* ]] || fail "bench without the token said: $out"

# A weak token is refused with the reason, and the token stays.
expect_rc 1 "a short token" sh -c "echo short | DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) $VIEWSTAMPCTL tenant token accounts -"
[[ $out == *"an access token has 16 to 1024 characters, not 5"* ]] || fail "a short token said: $out"
expect_rc 1 "a token with a space" sh -c "echo 'with a space 0123456789' | DBUS_SYSTEM_BUS_ADDRESS=$(bus_of 1) $VIEWSTAMPCTL tenant token accounts -"
expect_rc 0 "the token after refusals" data 1 get -t accounts /open --token "$token"

# Rotation, read from standard input: the old token stops working everywhere, the new one works.
printf 'second-token-0123456789\n' | ctl 3 tenant token accounts - >/dev/null || fail "tenant token from stdin"
# Each node takes the new token once it applied the root's change (within a few heartbeats).
new_works() { data "$1" get -t accounts /open --token second-token-0123456789 >/dev/null 2>&1; }
for i in 1 2 3; do
        wait_until 20 new_works "$i" || fail "node$i does not accept the rotated token"
done
for i in 1 2 3; do
        expect_rc 5 "node$i with the old token" data "$i" get -t accounts /open --token "$token"
done

# Clearing: anyone again.
ctl 1 tenant token accounts - </dev/null >/dev/null || fail "clearing the token"
for i in 1 2 3; do
        wait_until 20 required "$i" accounts false || fail "node$i still requires a token"
        expect_rc 0 "node$i after clearing" data "$i" get -t accounts /open
done

# Only root may set a token (the test runs as root; nobody is not).
if command -v setpriv >/dev/null && [[ $(id -u) == 0 ]]; then
        expect_rc 5 "tenant token as nobody" env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of 1)" \
                setpriv --reuid=nobody --regid=nogroup --clear-groups "$VIEWSTAMPCTL" tenant token accounts
fi

# The token is stored as a hash only.
! grep -rqa -e "$token" -e second-token-0123456789 "$SCRATCH"/state* "$SCRATCH"/node*.log || fail "a token appears in a state file or log"
echo "ok: tokens refused without, with a wrong one, after rotation; accepted with the right one"
