/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* viewstampctl: the administrator's command line. Commands are rows of the table below. */

#include "ctl/verb.h"
#include "util/cleanup.h"

static const struct vs_verb commands[] = {
        { "get", "PATH", "print a node's value", vs_verb_get },
        { "set", "PATH VALUE|-", "set a node's value (--version=N: only at that version)", vs_verb_set },
        { "cas", "PATH VERSION VALUE|-", "set a node's value if it is at VERSION", vs_verb_cas },
        { "create", "PATH [VALUE|-]", "create a node (--sequential: numbered name)", vs_verb_create },
        { "delete", "PATH", "delete a node (--recursive, --version=N)", vs_verb_delete },
        { "ls", "PATH", "list a node's children (--stat: with their metadata)", vs_verb_ls },
        { "stat", "PATH", "print a node's metadata", vs_verb_stat },
        { "multi", "< OPS", "apply the ops on standard input all or nothing", vs_verb_multi },
        { "export", "[PATH] > FILE", "write the tree (or a subtree) as JSON lines", vs_verb_export },
        { "import", "< FILE", "create the nodes of an export", vs_verb_import },
        { "status", "", "this node, its cluster and the tenants hosted here", vs_verb_status },
        { "tenants", "", "list the tenants hosted here with their replica's state", vs_verb_tenants },
        { "tenant", "create|delete|show|token NAME ...", "create or delete a tenant, print one's properties, or set its access token", vs_verb_tenant },
        { "cluster", "init|join|token ...", "start a cluster, join one, or print its join token", vs_verb_cluster },
        { "node", "ls|drain|remove ...", "list the cluster's nodes, drain or remove one", vs_verb_node },
        { "journal", "verify|dump DIR", "check or print a state directory's journal and checkpoints", vs_verb_journal },
};

int main(int argc, char **argv) {
        return vs_verb_dispatch("viewstampctl", commands, ELEMENTSOF(commands), argc, argv);
}
