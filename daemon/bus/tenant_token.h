/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * org.viewstamp1.Tenant.SetAccessToken(s token): sets, rotates (a new token) or clears (empty)
 * the tenant's access token. Root, or polkit's org.viewstamp1.manage (bus/authorize.h). Only a salted hash (node/access_token.h) is stored, in
 * the tenant's configuration in the root group, so every node hosting the tenant checks the
 * same token. The change is a compare-and-set of /tenants/NAME through the node's own root
 * session (read, then set with the version read, again on a concurrent change), so it never
 * undoes another administrator's change to the configuration. The call returns once the root
 * group committed the change; this node takes it at once, the others when they follow the root.
 *
 * Errors: InvalidArgs (a token vs_access_token_acceptable() refuses, with its reason), AccessDenied,
 * org.viewstamp1.Error.NoSuchTenant (the root no longer holds it), org.viewstamp1.Error.Busy
 * (kept changing under us), or the errno of an unreachable root group.
 */

#include <systemd/sd-bus.h>

int vs_bus_tenant_set_access_token(sd_bus_message *m, void *userdata, sd_bus_error *error);
