#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
# meson install script: SOURCE DEST. Installs a configuration file only where none exists yet, so
# that reinstalling from source never overwrites an administrator's settings. Package builds
# install into an empty DESTDIR and always get it; there the package manager owns the file.
set -eu
dest="${DESTDIR:-}$2"
[ -e "$dest" ] && exit 0
install -D -m 0644 "$1" "$dest"
