#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The shipped default configuration (units/viewstampd.conf, installed as
# /etc/viewstamp/viewstampd.conf) names no node, so the unit's ExecCondition= skips the service;
# naming a node lets it start; and every commented setting in it is valid once uncommented.
source "$(dirname "$0")/lib.sh"
: "${VS_UNIT:?path to the built viewstampd.service}"

default="$VS_SOURCE_ROOT/units/viewstampd.conf"
installed_path=$(sed -n 's/^ConditionPathExists=//p' "$VS_UNIT")
condition=$(sed -n 's/^ExecCondition=//p' "$VS_UNIT")
[[ -n $installed_path && $condition == *"$installed_path"* ]] || fail "unit has no ExecCondition= on $installed_path"

# run_condition FILE: the unit's ExecCondition= command, aimed at FILE; prints its exit status.
run_condition() {
        local status=0
        eval "${condition//"$installed_path"/\"$1\"}" || status=$?
        echo "$status"
}

if out=$("$VIEWSTAMPD" --config "$default" --check-config 2>&1); then fail "default config accepted: $out"; fi
[[ $out == *"[Node] Name= is not set"* ]] || fail "unclear error for the default config: $out"
[[ $(run_condition "$default") == 1 ]] || fail "ExecCondition= does not skip the default config"

# An administrator's edit: name the node and list the cluster.
named="$SCRATCH/named.conf"
sed -e 's/^#Name=/Name=/' -e 's/^#Node=/Node=/' "$default" >"$named"
[[ $(run_condition "$named") == 0 ]] || fail "ExecCondition= skips a config that names a node"
"$VIEWSTAMPD" --config "$named" --check-config | grep -q "valid, node node1 of 3" ||
        fail "the default config's example cluster is not valid"

# Every commented setting, uncommented, is accepted as it stands.
sed -e 's/^#\([A-Za-z]*=\)/\1/' "$default" >"$SCRATCH/all.conf"
keys=$(grep -c '^[A-Za-z]*=' "$SCRATCH/all.conf")
"$VIEWSTAMPD" --config "$SCRATCH/all.conf" --check-config >/dev/null || fail "a commented setting is invalid"
echo "ok: $keys settings"
