/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* viewstampctl: the administrator's command line. Commands are rows of the table below. */

#include "ctl/verb.h"
#include "util/cleanup.h"

static const struct vs_verb commands[] = {
        { "journal", "verify|dump DIR", "check or print a state directory's journal and checkpoints", vs_verb_journal },
};

int main(int argc, char **argv) {
        return vs_verb_dispatch("viewstampctl", commands, ELEMENTSOF(commands), argc, argv);
}
