#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Staff cards scoped per kiosk, and PIN hashes only where they can be
# checked (docs/sync-api.md "PIN hashes", docs/security.md "Staff PINs"),
# checked over HTTPS against a running sync server as two kiosks:
#
#   staff-scope.sh --url BASE_URL --cacert PEM --credential HMAC
#                  --kiosk A --token-file FILE --other-kiosk B
#                  --other-token-file FILE2 --scope-hook CMD
#
# HMAC is the credential hash of a staff card the server sends to every
# kiosk when this starts; CMD (run once, with no arguments) scopes that
# card to kiosk A alone, as staff do on the server's staff page. Then:
# kiosk B gets the card in removed_staff and never its PIN hash, in a
# delta or a full set; kiosk A, speaking v1.1, gets it with a hash of
# 600 000 iterations; kiosk A without Lokerbuku-Sync (a v1.0 kiosk) does
# not get that hash at all. Prints one TAP line per check; exits 1 when
# one failed, 2 on bad usage.
set -uo pipefail

URL='' CACERT='' CRED='' KIOSK='' TOKEN_FILE='' OTHER='' OTHER_TOKEN_FILE='' HOOK=''
while [ $# -gt 0 ]; do
	case "$1" in
	--url) URL=${2%/}; shift 2 ;;
	--cacert) CACERT=$2; shift 2 ;;
	--credential) CRED=$2; shift 2 ;;
	--kiosk) KIOSK=$2; shift 2 ;;
	--token-file) TOKEN_FILE=$2; shift 2 ;;
	--other-kiosk) OTHER=$2; shift 2 ;;
	--other-token-file) OTHER_TOKEN_FILE=$2; shift 2 ;;
	--scope-hook) HOOK=$2; shift 2 ;;
	*) echo "staff-scope.sh: unknown argument: $1" >&2; exit 2 ;;
	esac
done
for v in URL CACERT CRED KIOSK TOKEN_FILE OTHER OTHER_TOKEN_FILE HOOK; do
	[ -n "${!v}" ] || { echo "staff-scope.sh: every option is required" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/lokerbuku-staff-scope.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
umask 077
printf 'Authorization: Bearer %s\n' "$(tr -d '\r\n' <"$TOKEN_FILE")" >"$WORK/auth-a"
printf 'Authorization: Bearer %s\n' "$(tr -d '\r\n' <"$OTHER_TOKEN_FILE")" >"$WORK/auth-b"

N=0 FAILED=0
check() { # DESC REPLY-NAME JQ-TEST
	N=$((N + 1))
	if jq -e --arg c "$CRED" "$3" "$WORK/$2.body" >/dev/null 2>&1; then
		echo "ok - $1"
	else
		FAILED=$((FAILED + 1))
		echo "not ok - $1"
		echo "#   reply: HTTP $(cat "$WORK/$2.status"), $(jq -c '{full, staff, removed_staff}' "$WORK/$2.body" 2>/dev/null ||
			head -c 300 "$WORK/$2.body")"
	fi
}
# pull NAME a|b v1.0|v1.1 [CURSOR]: GET changes as that kiosk.
pull() {
	local name=$1 who=$2 version=$3 cursor=${4:-} kiosk=$KIOSK
	[ "$who" = b ] && kiosk=$OTHER
	local args=(-sS --max-time 60 --cacert "$CACERT" -H @"$WORK/auth-$who" -H 'Accept: application/json'
		-o "$WORK/$name.body" -w '%{http_code}')
	[ "$version" = v1.1 ] && args+=(-H 'Lokerbuku-Sync: 1.1')
	local q=limit=500
	[ -z "$cursor" ] || q+="&cursor=$(jq -rn --arg s "$cursor" '$s|@uri')"
	curl "${args[@]}" "$URL/kiosks/$kiosk/changes?$q" >"$WORK/$name.status"
}

pull b-before b v1.1
check "before scoping: kiosk $OTHER (v1.1) gets the card that goes to every kiosk" b-before \
	'any(.staff[]; .credential == $c)'
cursor_b=$(jq -r .cursor "$WORK/b-before.body")

"$HOOK" || { echo "staff-scope.sh: the scope hook failed" >&2; exit 2; }

pull b-delta b v1.1 "$cursor_b"
check "scoped to $KIOSK: kiosk $OTHER's delta has the card in removed_staff, not in staff" b-delta \
	'.full == false and any(.removed_staff[]; . == $c) and all(.staff[]; .credential != $c)'
pull b-full b v1.1
check "scoped to $KIOSK: kiosk $OTHER's full set leaves the card out" b-full \
	'.full == true and all(.staff[]; .credential != $c)'
pull a-full a v1.1
check "kiosk $KIOSK (v1.1) gets the card with a PIN hash of 600000 iterations" a-full \
	'any(.staff[]; .credential == $c and (.pin | test("^pbkdf2-sha256\\$600000\\$[0-9a-f]{32}\\$[0-9a-f]{64}$")))'
hash=$(jq -r --arg c "$CRED" '.staff[] | select(.credential == $c) | .pin' "$WORK/a-full.body")
pull a-v10 a v1.0
check "kiosk $KIOSK speaking v1.0 (no Lokerbuku-Sync) is not sent the 600000-iteration hash" a-v10 \
	'all(.staff[]; .credential != $c)'
N=$((N + 1))
if [ -n "$hash" ] && ! grep -qF -- "${hash##*\$}" "$WORK/b-delta.body" "$WORK/b-full.body" "$WORK/a-v10.body"; then
	echo "ok - the card's PIN hash is in no reply to kiosk $OTHER since, nor to a v1.0 kiosk"
else
	FAILED=$((FAILED + 1))
	echo "not ok - the card's PIN hash is in no reply to kiosk $OTHER since, nor to a v1.0 kiosk"
	echo "#   hash: ${hash:-(kiosk $KIOSK got none)}"
fi
echo "# $N checks, $FAILED failed"
[ "$FAILED" = 0 ]
