#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The packages end to end. packaging/build makes the .deb and .rpm (lintian and rpmlint reports
# printed; errors fail); both hold everything meson installs; the .deb installs with dpkg -i,
# creates its user, renders its manual pages and passes systemd-analyze; the installed viewstampd
# runs as that user, with the unit's settings and the packaged configuration file edited to name
# one node on 127.0.0.1, and answers on the system bus; a purge then leaves nothing behind but
# the user and group, which Debian policy keeps, and keeps the state directory only when it holds
# data. Whatever happens, the machine is left as the
# test found it: processes it started are stopped, and the package, user, group and state
# directory are removed if the test brought them.
set -euo pipefail
if ((EUID != 0)); then
        echo "SKIP: installing a package needs root"
        exit 77
fi
: "${VS_BUILD_ROOT:?path to the meson build tree}"
export VIEWSTAMPD=/usr/sbin/viewstampd
source "$(dirname "$0")/../integration/lib.sh"

packages="$VS_BUILD_ROOT/packages"
unit=/lib/systemd/system/viewstampd.service
conf=/etc/viewstamp/viewstampd.conf

[[ -e /var/lib/viewstamp ]] && fail "/var/lib/viewstamp exists on this machine; the test will not touch it"

echo "=== packaging/build"
rm -rf "$packages"
DEB_BUILD_OPTIONS=nocheck "$VS_SOURCE_ROOT/packaging/build" "$packages" || fail "packaging/build failed"
mapfile -t debs < <(find "$packages" -name '*.deb' ! -name '*-dbgsym_*' | sort)
mapfile -t rpms < <(find "$packages" -name '*.rpm' ! -name '*-debuginfo-*' ! -name '*-debugsource-*' | sort)
((${#debs[@]} > 0 && ${#rpms[@]} > 0)) || fail "no .deb or .rpm in $packages"
names=()
for deb in "${debs[@]}"; do names+=("$(dpkg-deb -f "$deb" Package)"); done

installed() { # any of the packages, in any state but gone
        local n
        for n in "${names[@]}"; do
                [[ $(dpkg-query -W -f='${db:Status-Status}' "$n" 2>/dev/null) =~ ^(installed|config-files|half-|unpacked|triggers) ]] &&
                        return 0
        done
        return 1
}

installed && fail "one of ${names[*]} is already on this machine; the test installs and purges its own"
had_user=$(getent passwd viewstamp || true)
had_group=$(getent group viewstamp || true)

restore() {
        local status=$?
        cleanup
        if installed; then
                dpkg --purge "${names[@]}" >/dev/null 2>&1 || echo "WARNING: could not purge ${names[*]}" >&2
        fi
        [[ -z $had_user ]] && getent passwd viewstamp >/dev/null && userdel viewstamp
        [[ -z $had_group ]] && getent group viewstamp >/dev/null && groupdel viewstamp
        rm -rf /var/lib/viewstamp
        exit "$status"
}
trap restore EXIT

echo "=== file lists"
declare -A file_list=([deb]="" [rpm]="")
for deb in "${debs[@]}"; do
        echo "${deb##*/}:"
        dpkg-deb -c "$deb"
        file_list[deb]+=$(dpkg-deb -c "$deb" | awk '{ print substr($6, 2) }')$'\n'
done
for rpm in "${rpms[@]}"; do
        echo "${rpm##*/}:"
        rpm -qlp "$rpm"
        file_list[rpm]+=$(rpm -qlp "$rpm")$'\n'
done

# has LIST PATTERN: the list holds a path matching the extended regular expression.
has() {
        grep -qE "^$2\$" <<<"$1"
}
for kind in deb rpm; do
        files=${file_list[$kind]}
        unitdir=/lib/systemd/system
        [[ $kind == rpm ]] && unitdir=/usr/lib/systemd/system
        for want in /usr/sbin/viewstampd "$unitdir/viewstampd.service" /usr/lib/sysusers.d/viewstamp.conf \
                /usr/share/dbus-1/system.d/org.viewstamp1.conf \
                /usr/share/dbus-1/system-services/org.viewstamp1.service \
                /usr/share/dbus-1/interfaces/org.viewstamp1.Manager.xml \
                /usr/share/dbus-1/interfaces/org.viewstamp1.Node.xml \
                /usr/share/dbus-1/interfaces/org.viewstamp1.Tenant.xml /etc/viewstamp/viewstampd.conf \
                /usr/share/polkit-1/actions/org.viewstamp1.policy; do
                has "$files" "$want" || fail "$kind lacks $want"
        done
        for page in "$VS_SOURCE_ROOT"/man/*.[0-9]; do
                page=${page##*/}
                has "$files" "/usr/share/man/man${page##*.}/$page\.gz" || fail "$kind lacks man page $page"
        done
        # Whatever else meson installs (binaries, libraries, headers to come) is in the package.
        while read -r f; do
                has "$files" ".*/${f//./\\.}(\.gz)?" || fail "$kind lacks $f, which meson installs"
        done < <(meson introspect "$VS_BUILD_ROOT" --installed |
                python3 -c 'import json, os, sys; print("\n".join(os.path.basename(p) for p in json.load(sys.stdin).values()))')
done
rpm -qp --scripts "${rpms[@]}"
# The scriptlets are the spec's stand-ins for the systemd and sysusers macros here: valid sh?
for rpm in "${rpms[@]}"; do
        for tag in PREIN POSTIN PREUN POSTUN; do
                script=$(rpm -qp --qf "%{$tag}" "$rpm")
                [[ $script == "(none)" ]] || sh -n <<<"$script" || fail "${rpm##*/}: the $tag scriptlet is not valid sh"
        done
done
rpm -qpc "${rpms[@]}" | grep -qx "$conf" || fail "rpm does not mark $conf as a configuration file"

# Where the real macros exist (Fedora, RHEL), the spec uses them and none of its stand-ins.
mkdir -p "$SCRATCH/rpm/SOURCES"
cp "$VS_SOURCE_ROOT/units/viewstamp.sysusers" "$SCRATCH/rpm/SOURCES/"
real=(--define "_topdir $SCRATCH/rpm")
for m in meson meson_build meson_install meson_test; do real+=(--define "$m REAL_$m"); done
real+=(--define "sysusers_requires_compat Requires(pre): REAL_sysusers_requires_compat")
for m in systemd_post systemd_preun systemd_postun_with_restart sysusers_create_compat; do
        real+=(--define "$m() REAL_$m %*")
done
parsed=$(rpmspec -P "${real[@]}" "$VS_SOURCE_ROOT/packaging/rpm/viewstamp.spec")
for m in meson meson_build meson_install meson_test sysusers_requires_compat systemd_post systemd_preun \
        systemd_postun_with_restart sysusers_create_compat; do
        grep -q "REAL_$m\b" <<<"$parsed" || fail "the spec does not use the real %$m"
done
! grep -qE 'systemctl|systemd-sysusers|meson (setup|compile|install|test)' <<<"$parsed" ||
        fail "the spec uses a stand-in where the real macro exists"

before="$SCRATCH/before"
after="$SCRATCH/after"
# Every path where a package may put something, less dpkg's own records and the caches and logs.
snapshot() {
        local roots=() r
        for r in /bin /boot /etc /lib /lib64 /opt /sbin /srv /usr /var; do [[ -e $r ]] && roots+=("$r"); done
        find "${roots[@]}" -xdev \( -path /var/tmp -o -path /var/lib/dpkg -o -path /var/log -o -path /var/cache \) \
                -prune -o -print | sort
}
snapshot >"$before"

echo "=== dpkg -i"
dpkg -i "${debs[@]}" || fail "dpkg -i failed"
[[ $(dpkg-query -W -f='${Conffiles}' viewstamp) == *"$conf "* ]] || fail "$conf is not a conffile"
for link in multi-user.target.wants/viewstampd.service dbus-org.viewstamp1.service; do
        [[ -L /etc/systemd/system/$link ]] || fail "the unit is not enabled: no /etc/systemd/system/$link"
done

unit_value() { # KEY: the last KEY= of the installed unit
        sed -n "s/^$1=//p" "$unit" | tail -n1
}
user=$(unit_value User)
group=$(unit_value Group)
IFS=: read -r _ _ _ _ _ home shell < <(getent passwd "$user") || fail "postinst did not create user $user"
getent group "$group" >/dev/null || fail "postinst did not create group $group"
echo "user: $(getent passwd "$user")"

echo "=== systemd-analyze verify $unit"
out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify: $out"
echo "clean"
echo "=== systemd-analyze security --offline=true $unit"
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
echo "$out"
exposure=$(sed -n 's/.*Overall exposure level for viewstampd.service: \([0-9.]*\).*/\1/p' <<<"$out")
[[ -n $exposure ]] || fail "no exposure level"
python3 -c "import sys; sys.exit(float('$exposure') > 2.0)" || fail "exposure $exposure is above 2.0"

echo "=== man pages"
for page in "$VS_SOURCE_ROOT"/man/*.[0-9]; do
        page=${page##*/}
        text=$(MANWIDTH=80 man -P cat "${page##*.}" "${page%.*}" 2>&1) ||
                fail "man $page does not render (dpkg path-exclude on /usr/share/man?): $text"
        grep -q "^NAME" <<<"$text" || fail "man $page has no NAME section: $text"
        echo "man ${page##*.} ${page%.*}: $(wc -l <<<"$text") lines"
done

echo "=== the packaged configuration"
condition=$(unit_value ExecCondition)
condition_status() {
        local status=0
        eval "$condition" || status=$?
        echo "$status"
}
[[ $(condition_status) == 1 ]] || fail "the unit would start with the default configuration"
p1=$(free_port)
p2=$(free_port)
sed -i -e 's/^#Name=.*/Name=node1/' -e "s/^#Node=node1 .*/Node=node1 127.0.0.1:$p1 127.0.0.1:$p2/" "$conf"
[[ $(condition_status) == 0 ]] || fail "the unit would skip a configuration that names its node"
grep -v '^#' "$conf" | grep .

# The service's runtime as systemd sets it up: state directory, user, groups, umask, no
# capabilities, no new privileges, and the environment it passes to ExecStart=.
state=/var/lib/$(unit_value StateDirectory)
chmod 0755 "$SCRATCH" # the daemon, as $user, reaches the bus and notify sockets in it
install -d -o "$user" -g "$group" -m "$(unit_value StateDirectoryMode)" "$state"
if [[ -S /run/dbus/system_bus_socket ]] && busctl --system status org.freedesktop.DBus >/dev/null 2>&1; then
        bus=unix:path=/run/dbus/system_bus_socket
        busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ReloadConfig
        echo "system bus: the running one"
else
        VS_BUS_POLICY=/usr/share/dbus-1/system.d/org.viewstamp1.conf start_bus system
        bus=$BUS
        echo "system bus: private, with the installed policy ($bus)"
fi
notify="$SCRATCH/notify"
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o777)
with open(sys.argv[2], "w", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode() + "\n")
' "$notify.sock" "$notify.log" &
STARTED_PIDS+=($!)
for _ in $(seq 100); do [[ -S $notify.sock ]] && break; sleep 0.05; done
[[ -S $notify.sock ]] || fail "notify socket listener did not start"

watchdog=$(unit_value WatchdogSec)
[[ $watchdog =~ ^([0-9]+)s$ ]] || fail "WatchdogSec=$watchdog is not in seconds"
read -r -a exec_start <<<"$(unit_value ExecStart)"
(
        umask "$(unit_value UMask)"
        cd /
        exec setpriv --reuid="$user" --regid="$group" --init-groups --no-new-privs --inh-caps=-all \
                --bounding-set=-all -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin \
                USER="$user" LOGNAME="$user" HOME="$home" SHELL="$shell" \
                STATE_DIRECTORY="$state" CONFIGURATION_DIRECTORY="/etc/$(unit_value ConfigurationDirectory)" \
                NOTIFY_SOCKET="$notify.sock" WATCHDOG_PID="$BASHPID" \
                WATCHDOG_USEC="$((BASH_REMATCH[1] * 1000000))" DBUS_SYSTEM_BUS_ADDRESS="$bus" \
                "${exec_start[@]}"
) 2>"$SCRATCH/viewstampd.log" &
pid=$!
STARTED_PIDS+=("$pid")

echo "=== the installed viewstampd (pid $pid)"
for _ in $(seq 100); do grep -qx READY=1 "$notify.log" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
grep -qx READY=1 "$notify.log" || fail "no READY=1: $(cat "$SCRATCH/viewstampd.log")"
grep -qE "^Uid:[[:space:]]+$(id -u "$user")[[:space:]]" "/proc/$pid/status" || fail "viewstampd does not run as $user"
grep -q "^Umask:[[:space:]]*$(unit_value UMask)$" "/proc/$pid/status" || fail "viewstampd's umask is not the unit's"
wait_for_name "$bus"
name=$(DBUS_SYSTEM_BUS_ADDRESS=$bus busctl --system --auto-start=no get-property org.viewstamp1 /org/viewstamp1 \
        org.viewstamp1.Manager NodeName)
echo "NodeName: $name"
[[ $name == 's "node1"' ]] || fail "NodeName is $name"
grep '^STATUS=' "$notify.log" | tail -n1

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
((status == 0)) || fail "viewstampd exited with $status on SIGTERM: $(cat "$SCRATCH/viewstampd.log")"
for _ in $(seq 100); do grep -qx STOPPING=1 "$notify.log" && break; sleep 0.05; done
grep -qx STOPPING=1 "$notify.log" || fail "no STOPPING=1"
cat "$SCRATCH/viewstampd.log"

# The installed viewstampctl, as the service's user, checks the journal the daemon left in its state
# directory.
status=0
out=$(setpriv --reuid="$user" --regid="$group" --init-groups viewstampctl journal verify "$state" 2>&1) || status=$?
echo "viewstampctl journal verify $state: $out (exit $status)"
((status == 0)) || fail "viewstampctl journal verify failed"

echo "=== dpkg --purge"
# The daemon wrote its journal: the purge keeps the state directory (replicas other nodes may count
# on are never deleted by a package operation) and says so; everything else goes.
purge_out=$(dpkg --purge "${names[@]}" 2>&1) || fail "dpkg --purge failed: $purge_out"
echo "$purge_out"
[[ $purge_out == *"/var/lib/viewstamp is not empty and was kept"* ]] || fail "the purge did not say it kept the state"
! installed || fail "${names[*]} still known to dpkg after the purge"
snapshot >"$after"
# New paths that no installed package owns (others may be installing meanwhile); systemd-sysusers
# keeps the previous account files as NAME- when it adds the user.
left=$(comm -13 "$before" "$after" | { grep -vxE '/etc/(passwd|group|shadow|gshadow)-|/var/lib/viewstamp(/.*)?' || true; } |
        while read -r f; do dpkg-query -S "$f" >/dev/null 2>&1 || echo "$f"; done)
[[ -z $left ]] || fail "left behind after purge: $left"
getent passwd "$user" >/dev/null || fail "purge removed user $user, which Debian policy keeps"
echo "nothing left behind but the state directory, user $user and group $group (the test removes them if it made them)"
rm -rf /var/lib/viewstamp

echo "=== dpkg -i, then --purge with data in $state"
dpkg -i "${debs[@]}" >/dev/null || fail "reinstalling failed"
install -d -o "$user" -g "$group" -m "$(unit_value StateDirectoryMode)" "$state"
setpriv --reuid="$user" --regid="$group" --init-groups sh -c "echo replica >'$state/journal'"
out=$(dpkg --purge "${names[@]}" 2>&1) || fail "dpkg --purge failed: $out"
echo "$out"
[[ $(cat "$state/journal" 2>/dev/null) == replica ]] || fail "purge deleted the node's data in $state"
[[ $out == *"$state is not empty and was kept"* ]] || fail "purge did not say that it kept $state"
echo "ok"
