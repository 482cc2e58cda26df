#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Issue 19, point 12, in the bridge on INLISLite's real 3.2 schema (lib.sh:
# MariaDB, nginx with TLS, php-fpm): a kiosk staff card added for every
# kiosk, then scoped to one kiosk by staff on the bridge's staff page
# (signed in with their INLISLite account); tests/conformance/staff-scope.sh
# then checks, as both kiosks over HTTPS, that the other kiosk is told to
# forget the card and never gets its PIN hash, that the card's kiosk gets
# a hash of 600 000 iterations when it speaks v1.1 and none as v1.0.
#   LOKERBUKU_TOP=. tests/inlislite/staff-scope.sh
set -euo pipefail
LOKERBUKU_TOP=${LOKERBUKU_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$LOKERBUKU_TOP/tests/inlislite/lib.sh"
inl_need_tools || exit 77

WORK=$(mktemp -d /tmp/lokerbuku-inl-staff-scope.XXXXXX)
cleanup() {
	local rc=$?
	[ $rc -eq 0 ] || inl_logs
	inl_stop
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

inl_start "$WORK/inl"
inl_admin kiosk-add scope-01 "$WORK/token-1"
inl_admin kiosk-add scope-02 "$WORK/token-2"
inl_admin staff-add card:STAFF-SCOPE-1 246813 'Budi'
cred=$(printf %s 'card:STAFF-SCOPE-1' | openssl dgst -sha256 -mac HMAC \
	-macopt "hexkey:$(tr -d ' \n' <"$INL_SITE_KEY")" | sed 's/.*= //')

# The hook: staff sign in and choose the card's kiosk on the staff page.
cat >"$WORK/scope-hook" <<HOOK
#!/bin/bash
set -euo pipefail
. "$LOKERBUKU_TOP/tests/inlislite/lib.sh"
export INL_CA=$INL_CA
jar=$WORK/cookies
csrf=\$(inl_curl -c "\$jar" "${INL_BASE}staff/" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | cut -d'"' -f4)
inl_curl -b "\$jar" -c "\$jar" -o /dev/null --data-urlencode action=login --data-urlencode "csrf=\$csrf" \
	--data-urlencode "username=$INL_STAFF_USER" --data-urlencode "password=$INL_STAFF_PASSWORD" "${INL_BASE}staff/"
page=\$(inl_curl -b "\$jar" "${INL_BASE}staff/")
grep -q 'data-action="staff_kiosks"' <<<"\$page" || { echo "no kiosk choice for staff cards on the page" >&2; exit 1; }
csrf=\$(grep -o 'name="csrf" value="[0-9a-f]*"' <<<"\$page" | head -1 | cut -d'"' -f4)
inl_curl -b "\$jar" -o "$WORK/scope-reply" --data-urlencode action=staff_kiosks --data-urlencode "csrf=\$csrf" \
	--data-urlencode "credential=$cred" --data-urlencode 'kiosks[]=scope-01' "${INL_BASE}staff/"
grep -q 'class="note note-success"' "$WORK/scope-reply" || { echo "the staff page did not save it" >&2; exit 1; }
HOOK
chmod 700 "$WORK/scope-hook"

"$LOKERBUKU_TOP/tests/conformance/staff-scope.sh" --url "$INL_URL" --cacert "$INL_CA" --credential "$cred" \
	--kiosk scope-01 --token-file "$WORK/token-1" --other-kiosk scope-02 --other-token-file "$WORK/token-2" \
	--scope-hook "$WORK/scope-hook"
