#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Who may act on the kiosk (docs/security.md): the control socket records
# which local user asked, from the kernel's peer credentials.
. "$(dirname "$0")/lib.sh"

kiosk_write_config "$WORK" "
[webui]
listen = 127.0.0.1:0
ui_dir = $WORK/ui"
mkdir -p "$WORK/ui"
kiosk_start "$WORK"

# as_other CMD...: CMD as nobody, with the root group that may use the
# control socket (mode 0660), so only the uid differs from ours.
as_other() { setpriv --reuid=nobody --regid=0 --clear-groups -- "$@"; }
chmod 0710 "$WORK"
as_other true 2>/dev/null || {
	echo "SKIP: cannot run a command as nobody (setpriv needs root)" >&2
	exit 77
}

echo "the control socket: each opening names the local user who asked"
ctl open 2 >/dev/null
ctl sim door 2 open >/dev/null
ctl sim door 2 close >/dev/null
as_other "$BIN/lokerctl" open 3 >/dev/null
ev=$(ctl --json events --limit 50)
expect "[.events[] | select(.type==\"locker_unlocked\" and .payload.locker==2 and
	(.payload.actor | test(\"^service:uid=$(id -u),user=$(id -un),pid=[0-9]+$\")))] | length == 1" "$ev"
expect "[.events[] | select(.type==\"locker_unlocked\" and .payload.locker==3 and
	(.payload.actor | test(\"^service:uid=$(id -u nobody),user=nobody,pid=[0-9]+$\")))] | length == 1" "$ev"

kiosk_stop || fail "lokerd did not stop cleanly"
echo "screen-auth: all checks passed"
