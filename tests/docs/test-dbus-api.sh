#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# org.viewstamp1(5) documents exactly the D-Bus API there is: a 1-node cluster with a tenant (so
# every kind of object exists) is introspected object by object, and dbus-api-check.py compares
# that, dbus/*.xml and the error names in daemon/bus/ with the page.
source "$VS_SOURCE_ROOT/tests/integration/lib.sh"

start_cluster 1
export DBUS_SYSTEM_BUS_ADDRESS=$BUS_1
if [[ $(id -u) == 0 ]]; then
        busctl --system call org.viewstamp1 /org/viewstamp1 org.viewstamp1.Manager \
                CreateTenant sas docs 1 node1 >/dev/null || fail "CreateTenant failed"
        wait_until 30 busctl --system get-property org.viewstamp1 /org/viewstamp1/tenant/docs \
                org.viewstamp1.Tenant Name >/dev/null 2>&1 || fail "the tenant object did not appear"
else
        echo "not root: no tenant object can be created; its interface is checked from dbus/*.xml only"
fi

mkdir "$SCRATCH/live"
i=0
while read -r path; do
        i=$((i + 1))
        busctl --system --xml-interface introspect org.viewstamp1 "$path" >"$SCRATCH/live/$i.xml" ||
                fail "cannot introspect $path"
done < <(busctl --system tree --list org.viewstamp1)
((i > 0)) || fail "busctl tree listed no objects"

"$VS_SOURCE_ROOT/tests/docs/dbus-api-check.py" "$SCRATCH"/live/*.xml
