#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Who may change the cluster over D-Bus: root may create a tenant; an unprivileged user (nobody)
# is refused with AccessDenied naming org.viewstamp1.manage and nothing changes, whether polkit is
# absent or says no; a mock polkit on the bus is asked about the caller's bus name and its yes
# lets the same user create a tenant; "authentication needed" without the interactive flag is
# InteractiveAuthorizationRequired; viewstampctl allows interaction on a terminal only, unless
# --no-ask-password; a daemon stopped while polkit has not answered exits cleanly.
source "$(dirname "$0")/lib.sh"
: "${VS_MOCK_POLKIT:?path to mock-polkit}" "${VIEWSTAMPCTL:?path to viewstampctl}"

if ((EUID != 0)); then
        echo "SKIP: calling as an unprivileged user (setpriv to nobody) needs root"
        exit 77
fi

start_cluster 1
bus=$(bus_of 1)
# nobody must reach the bus socket and the helper.
chmod o+x "$SCRATCH" "$SCRATCH/bus-node1"
install -m 0755 "$VS_SOURCE_ROOT/tests/integration/bus-call.py" "$SCRATCH/bus-call.py"
install -d -o nobody "$SCRATCH/nobody"

call() { # call [ENV=VALUE...] -- BUS-CALL ARGS: as root
        (cd / && env DBUS_SYSTEM_BUS_ADDRESS="$bus" "$SCRATCH/bus-call.py" "$@")
}
as_nobody() { # as_nobody BUS-CALL ARGS, with VS_* variables passed through
        (cd / && setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
                env DBUS_SYSTEM_BUS_ADDRESS="$bus" VS_INTERACTIVE="${VS_INTERACTIVE:-}" \
                VS_SENDER_FILE="${VS_SENDER_FILE:-}" "$SCRATCH/bus-call.py" "$@")
}
create() { # create ROLE NAME: ROLE is call or as_nobody
        "$1" /org/viewstamp1 org.viewstamp1.Manager CreateTenant sas "\"$2\"" '["node1"]'
}
tenants() { call /org/viewstamp1 org.viewstamp1.Manager ListTenants ""; }

POLKIT_PID=
start_polkit() { # start_polkit RULE: (re)starts the mock with that rule, recording to $RECORD
        [[ -z $POLKIT_PID ]] || stop_pids "$POLKIT_PID"
        DBUS_SYSTEM_BUS_ADDRESS=$bus "$VS_MOCK_POLKIT" "$1" "$RECORD" >>"$SCRATCH/polkit.log" 2>&1 &
        POLKIT_PID=$!
        STARTED_PIDS+=("$POLKIT_PID")
        wait_until 10 env DBUS_SYSTEM_BUS_ADDRESS="$bus" busctl --system status org.freedesktop.PolicyKit1 \
                >/dev/null 2>&1 || fail "mock polkit did not come up: $(cat "$SCRATCH/polkit.log")"
}
denied() { # denied OUTPUT: AccessDenied naming the action
        [[ $1 == "ERROR org.freedesktop.DBus.Error.AccessDenied: "*org.viewstamp1.manage* ]]
}
RECORD="$SCRATCH/polkit.record"
: >"$RECORD"

before=$(tenants) || fail "ListTenants: $before"
[[ $before == "[[]]" ]] || fail "a new node lists $before"

# No polkit on the bus: root only.
out=$(as_nobody /org/viewstamp1 org.viewstamp1.Manager ListTenants "") || fail "nobody cannot list: $out"
[[ $out == "$before" ]] || fail "nobody lists $out"
out=$(as_nobody /org/viewstamp1 org.freedesktop.DBus.Properties Get ss '"org.viewstamp1.Manager"' '"NodeName"') ||
        fail "nobody cannot read NodeName: $out"
[[ $out == '["node1"]' ]] || fail "nobody reads NodeName as $out"
out=$(create as_nobody sneaky) && fail "nobody created a tenant without polkit: $out"
denied "$out" || fail "nobody without polkit: $out"
[[ $out == *"polkit is not available"* ]] || fail "the refusal does not say why: $out"
[[ $(tenants) == "$before" ]] || fail "a refused call changed the tenants: $(tenants)"

out=$(create call byroot) || fail "root cannot create a tenant: $out"
[[ $out == '["/org/viewstamp1/tenant/byroot"]' ]] || fail "root's CreateTenant returned $out"
listed() { [[ $(tenants) == *'"byroot"'* ]]; }
wait_until 20 listed || fail "byroot never listed: $(tenants)"
before=$(tenants)

# polkit says no: refused, and polkit was asked about the caller's own bus name.
start_polkit no
out=$(VS_SENDER_FILE="$SCRATCH/nobody/sender" create as_nobody sneaky) && fail "polkit said no, yet: $out"
denied "$out" || fail "nobody, polkit no: $out"
[[ $out == *"polkit refused"* ]] || fail "the refusal does not say polkit refused: $out"
expect="action=org.viewstamp1.manage subject=system-bus-name name=$(cat "$SCRATCH/nobody/sender") flags=0"
[[ $(cat "$RECORD") == "$expect" ]] || fail "polkit was asked '$(cat "$RECORD")', not '$expect'"
[[ $(tenants) == "$before" ]] || fail "a refused call changed the tenants: $(tenants)"
# Interaction is allowed exactly when the caller says so.
out=$(VS_INTERACTIVE=1 create as_nobody sneaky) && fail "polkit said no, yet: $out"
denied "$out" || fail "nobody, polkit no, interactive: $out"
[[ $(tail -n1 "$RECORD") == *" flags=1" ]] || fail "interactive call asked polkit: $(tail -n1 "$RECORD")"
# Root is never asked about.
lines=$(wc -l <"$RECORD")
out=$(create call byroot) && fail "duplicate create: $out"
[[ $out == "ERROR org.viewstamp1.Error.TenantExists: "* ]] || fail "root's duplicate create: $out"
(($(wc -l <"$RECORD") == lines)) || fail "polkit was asked about root"

# polkit would ask for a password, the caller did not allow interaction.
start_polkit challenge
out=$(create as_nobody sneaky) && fail "polkit challenged, yet: $out"
[[ $out == "ERROR org.freedesktop.DBus.Error.InteractiveAuthorizationRequired: "* ]] ||
        fail "nobody, polkit challenge: $out"
[[ $(tenants) == "$before" ]] || fail "a refused call changed the tenants: $(tenants)"

# polkit says yes: the unprivileged caller is allowed, and the method runs as usual.
start_polkit yes
lines=$(wc -l <"$RECORD")
out=$(create as_nobody bypolkit) || fail "polkit said yes, yet: $out"
[[ $out == '["/org/viewstamp1/tenant/bypolkit"]' ]] || fail "CreateTenant via polkit returned $out"
out=$(create as_nobody "bad/name") && fail "an invalid name was accepted: $out"
[[ $out == "ERROR org.freedesktop.DBus.Error.InvalidArgs: "* ]] || fail "invalid name after polkit: $out"
listed2() { [[ $(tenants) == *'"bypolkit"'* ]]; }
wait_until 20 listed2 || fail "bypolkit never listed: $(tenants)"
# Authorization comes before the arguments are read: both calls asked polkit.
(($(wc -l <"$RECORD") == lines + 2)) || fail "polkit was not asked once per call: $(cat "$RECORD")"

# viewstampctl asks for interactive authorization exactly when it talks to a terminal (a pty
# from script(1)) and is not told --no-ask-password; polkit sees that in its flags.
install -d "$SCRATCH/ctl/ctl" "$SCRATCH/ctl/client"
install -m 0755 "$VIEWSTAMPCTL" "$SCRATCH/ctl/ctl/viewstampctl" # its RUNPATH is $ORIGIN/../client
cp -L "$(dirname "$VIEWSTAMPCTL")/../client/libviewstamp.so.0" "$SCRATCH/ctl/client/"
chmod -R o+rX "$SCRATCH/ctl"
ctl_as_nobody() { # ctl_as_nobody tty|notty ARGS: viewstampctl as nobody, on a pty or not
        local how=$1 cmd
        shift
        cmd=$(printf '%q ' env DBUS_SYSTEM_BUS_ADDRESS="$bus" "$SCRATCH/ctl/ctl/viewstampctl" "$@")
        if [[ $how == tty ]]; then
                (cd / && setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
                        script -qec "$cmd" /dev/null </dev/null)
        else
                (cd / && setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups bash -c "$cmd" </dev/null)
        fi
}
for c in "notty byctl1 0" "tty byctl2 1" "tty byctl3 0 --no-ask-password"; do
        read -r how name flags opt <<<"$c"
        out=$(ctl_as_nobody "$how" tenant create $opt "$name" node1 2>&1) || fail "viewstampctl ($c): $out"
        [[ $(tail -n1 "$RECORD") == *" flags=$flags" ]] || fail "viewstampctl ($c) asked polkit: $(tail -n1 "$RECORD")"
done
start_polkit challenge
out=$(ctl_as_nobody notty tenant create byctl4 node1 2>&1) && fail "polkit challenged, yet: $out"
[[ $out == *"needs authentication"* ]] || fail "viewstampctl without a terminal, polkit challenge: $out"

# polkit never answers: the daemon is stopped while the call waits and exits cleanly (under
# ASan: with nothing leaked).
start_polkit hang
lines=$(wc -l <"$RECORD")
create as_nobody pending >"$SCRATCH/pending.out" 2>&1 &
caller=$!
asked() { (($(wc -l <"$RECORD") > lines)); }
wait_until 10 asked || fail "polkit was not asked"
kill -TERM "$PID_1"
rc=0
wait "$PID_1" || rc=$?
((rc == 0)) || fail "viewstampd exited $rc when stopped with a polkit query pending: $(tail -n 20 "$SCRATCH/node1.log")"
wait "$caller" && fail "the pending call succeeded: $(cat "$SCRATCH/pending.out")"
grep -q "^ERROR org.freedesktop.DBus.Error" "$SCRATCH/pending.out" ||
        fail "the pending call ended with: $(cat "$SCRATCH/pending.out")"
echo "ok"
