#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The touchscreen app (ui/) in Debian's Chromium, driven by playwright-core,
# against a real lokerd on simulated hardware: every patron and staff flow,
# screenshots of each screen, and the time from a simulated card or door to
# the browser's DOM.
#
#   tests/ui/run.sh [BUILD_DIR]      (CTest sets BIN to the build's bin/)
#   UI_ONLY=REGEX tests/ui/run.sh    only the tests whose names match
#
# Exits 77 (CTest: skipped) when chromium, node or npm is missing, or when
# playwright-core cannot be installed from the npm registry.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BIN=${BIN:-${1:-$top/build}/bin}
build=$(cd "$BIN/.." && pwd)
PN532_SIM=${PN532_SIM:-$BIN/pn532-sim}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
OUT=${UI_OUT:-$build/ui-screenshots}
node_dir=$build/ui-node

skip() {
	{
		echo
		echo "########################################################"
		echo "# UI TESTS SKIPPED: $*"
		echo "# Install Debian's chromium, nodejs and npm (tools/bootstrap)"
		echo "# and let npm reach registry.npmjs.org to run them."
		echo "########################################################"
	} >&2
	exit 77
}

[ -x "$BIN/lokerd" ] || { echo "ui: no lokerd in $BIN" >&2; exit 1; }
[ -x "$CHROMIUM" ] || skip "no Chromium at $CHROMIUM"
command -v node >/dev/null || skip "node is not installed"
command -v npm >/dev/null || skip "npm is not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || skip "node $(node --version) is older than 18 (node:test)"

# playwright-core and axe-core only, as pinned in package-lock.json, into the build
# tree (never a browser download: Debian's Chromium is the browser). A
# matching install is reused, so runs after the first need no network.
lock_sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$node_dir/.lock-sum" 2>/dev/null)" != "$lock_sum" ]; then
	mkdir -p "$node_dir"
	cp "$here/package.json" "$here/package-lock.json" "$node_dir/"
	echo "ui: npm ci (playwright-core, axe-core) in $node_dir"
	if ! (cd "$node_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
		npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
		tail -n 15 "$node_dir/npm.log" >&2
		skip "npm ci failed (is the npm registry reachable?); log: $node_dir/npm.log"
	fi
	echo "$lock_sum" >"$node_dir/.lock-sum"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lokerbuku-ui.XXXXXX")
# shellcheck source=tools/lib/kiosk.sh
. "$top/tools/lib/kiosk.sh"
# shellcheck source=tools/lib/hub.sh
. "$top/tools/lib/hub.sh"
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	kiosk_stop >/dev/null 2>&1 || true
	if [ -n "${NFC_PID:-}" ]; then
		kill -TERM "$NFC_PID" 2>/dev/null || true
		wait "$NFC_PID" 2>/dev/null || true
	fi
	if [ -n "${HUBK_PID:-}" ]; then
		kill -TERM "$HUBK_PID" 2>/dev/null || true
		wait "$HUBK_PID" 2>/dev/null || true
	fi
	hub_stop
	if [ -n "${SIM_PID:-}" ]; then
		kill -TERM "$SIM_PID" 2>/dev/null || true
		wait "$SIM_PID" 2>/dev/null || true
	fi
	if [ "${KEEP_WORK:-0}" = 1 ]; then
		echo "ui: kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# The app as installed: ui/ and the spoken prompts the build rendered
# with espeak-ng (ui/CMakeLists.txt), in speech/.
[ -d "$build/ui-speech/id" ] && [ -d "$build/ui-speech/en" ] ||
	{ echo "ui: no spoken prompts in $build/ui-speech: build the ui-speech target" >&2; exit 1; }
app=$WORK/ui
cp -r "$top/ui/." "$app"
cp -r "$build/ui-speech" "$app/speech"

# A second kiosk whose card reader is libnfc on pn532-sim, for the reader
# out of order: its chip is made to hang and answer again.
[ -x "$PN532_SIM" ] || { echo "ui: no pn532-sim at $PN532_SIM" >&2; exit 1; }
mkdir -p "$WORK/nfc"
"$PN532_SIM" --link "$WORK/nfc/pn532" --control "$WORK/nfc/pn532.sock" \
	>"$WORK/nfc/pn532.out" 2>>"$WORK/nfc/pn532.log" &
SIM_PID=$!
for _ in $(seq 100); do
	grep -q '^ready' "$WORK/nfc/pn532.out" 2>/dev/null && break
	sleep 0.05
done
kiosk_write_config "$WORK/nfc" "
[webui]
listen = 127.0.0.1:0
ui_dir = $app

[reader]
backend = nfc
connstring = pn532_uart:$WORK/nfc/pn532"
kiosk_start "$WORK/nfc"
NFC_PID=$KIOSK_PID
KIOSK_PID=
nfc_url=$(LOKERBUKU_SOCKET=$WORK/nfc/control.sock "$BIN/lokerctl" --json status | jq -r .webui.url)
[[ $nfc_url == http://127.0.0.1:* ]] || { echo "ui: no web UI url: $nfc_url" >&2; exit 1; }

# A third kiosk synced with the real lokerhub over HTTPS: what only the
# library's side can say (a due date, a checkout the library system
# refused) comes from the server, as it would.
[ -x "$BIN/lokerhub" ] || { echo "ui: no lokerhub in $BIN" >&2; exit 1; }
kiosk_write_config "$WORK/hubk" "
[webui]
listen = 127.0.0.1:0
ui_dir = $app

[locker.5]
low = yes"
hub_setup "$WORK/hub" demo-01 "$WORK/hubk/site.key" >/dev/null
hub_start
hub_sync_config >>"$WORK/hubk/lokerd.conf"
kiosk_start "$WORK/hubk"
HUBK_PID=$KIOSK_PID
KIOSK_PID=
hubk_url=$(LOKERBUKU_SOCKET=$WORK/hubk/control.sock "$BIN/lokerctl" --json status | jq -r .webui.url)
[[ $hubk_url == http://127.0.0.1:* ]] || { echo "ui: no web UI url: $hubk_url" >&2; exit 1; }

# The screen's time-out at its shortest (10 s) for the time-out test;
# patron sessions (60 s) outlast it, so the screen's own cancel is what
# ends them there. Doors left open alarm after 10 s (the close-door
# screen): time to look at the open doors at four sizes on a loaded machine.
kiosk_write_config "$WORK" "
[webui]
listen = 127.0.0.1:0
ui_dir = $app
idle_timeout_s = 10
volume = 60
library_name = Perpustakaan Kota Contoh
help_phone = (021) 555-0100
help_whatsapp = +62 812 0000 0000
opening_hours = Senin–Jumat 08.00–16.00, Sabtu 08.00–12.00

[doors]
left_open_s = 10"
kiosk_start "$WORK"
export LOKERBUKU_SOCKET=$WORK/control.sock
url=$("$BIN/lokerctl" --json status | jq -r .webui.url)
[[ $url == http://127.0.0.1:* ]] || { echo "ui: no web UI url: $url" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT"
echo "ui: lokerd at $url, Chromium $("$CHROMIUM" --version 2>/dev/null | tr -s ' ' | cut -d' ' -f2 || true), node $(node --version)"
rc=0
LOKERBUKU_URL=$url LOKERBUKU_SOCKET=$WORK/control.sock CHROMIUM=$CHROMIUM \
	NFC_URL=$nfc_url NFC_SOCKET=$WORK/nfc/control.sock PN532_SIM=$PN532_SIM \
	PN532_CONTROL=$WORK/nfc/pn532.sock \
	HUBK_URL=$hubk_url HUBK_SOCKET=$WORK/hubk/control.sock \
	LOKERHUB=$BIN/lokerhub HUB_DB=$WORK/hub/hub.db \
	UI_OUT=$OUT PLAYWRIGHT_CORE=$node_dir/node_modules/playwright-core/index.mjs \
	AXE_CORE=$node_dir/node_modules/axe-core/axe.min.js \
	node --test --test-reporter=spec ${UI_ONLY:+"--test-name-pattern=$UI_ONLY"} \
	"$here/kiosk.test.mjs" || rc=$?

echo
[ -s "$OUT/latency.txt" ] && cat "$OUT/latency.txt"
echo "ui: screenshots in $OUT:"
for f in "$OUT"/*.png; do
	if [ -e "$f" ]; then echo "    ${f##*/}"; fi
done
if [ $rc -ne 0 ]; then
	echo "--- last lines of lokerd's log:" >&2
	tail -n 30 "$WORK/lokerd.log" >&2
fi
kiosk_stop || { echo "ui: lokerd did not stop cleanly" >&2; rc=1; }
exit $rc
