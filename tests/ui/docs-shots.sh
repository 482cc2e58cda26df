#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copies the 800x480 screenshots of the last UI test run into docs/webui/
# for docs/webui.md, reduced to 64 colours (pngquant) to keep them small.
#
#   tests/ui/docs-shots.sh [BUILD_DIR]
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
shots=${1:-$top/build}/ui-screenshots
dest=$top/docs/webui
command -v pngquant >/dev/null || { echo "docs-shots: pngquant is not installed" >&2; exit 1; }
ls "$shots"/*-800x480.png >/dev/null 2>&1 || { echo "docs-shots: no screenshots in $shots" >&2; exit 1; }
mkdir -p "$dest"
rm -f "$dest"/*.png
for f in "$shots"/*-800x480.png; do
	name=${f##*/}
	name=${name#*-}
	name=${name%-800x480.png}
	pngquant --force --strip --quality=40-90 64 --output "$dest/$name.png" "$f"
done
ls -l "$dest"
