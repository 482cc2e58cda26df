#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# tools/provision on the packaged lokerd.conf: the site key, token, TLS key
# and certificate request made with the right modes, the configuration
# naming the kiosk and its server, the keys kept when it runs again, and
# a certificate signed later taken into [sync].
. "$(dirname "$0")/lib.sh"
PATH=$BIN:$PATH
user=$(id -un)
etc=$WORK/etc
mkdir -p "$etc"
cp "$LOKERBUKU_TOP/firmware/dist/lokerd.conf" "$etc/"
printf '%s\n' 0123456789abcdef0123456789abcdef01234567 >"$WORK/token"
"$LOKERBUKU_TOP/tools/make-test-ca" "$WORK/ca" >/dev/null
provision() { "$LOKERBUKU_TOP/tools/provision" --dir "$etc" --user "$user" "$@"; }

echo "refuses what lokerd would not take"
rc=0; out=$(provision --kiosk 'bad id' --url https://x 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "kiosk" <<<"$out" || fail "bad id: $rc $out"
rc=0; out=$(provision --kiosk k-01 --url http://x 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "https" <<<"$out" || fail "http url: $rc $out"
rc=0; out=$(provision --kiosk k-01 --url https://x --user no-such-user 2>&1) || rc=$?
[ $rc -eq 1 ] && grep -q "no user no-such-user" <<<"$out" || fail "unknown user: $rc $out"
[ ! -e "$etc/site.key" ] || fail "a refused run left a site key"

echo "a first run makes the keys and the configuration"
out=$(provision --kiosk perpus-kota-01 --url https://perpus.example/index.php?p=api/locker/v1 \
	--token-file "$WORK/token" --ca-file "$WORK/ca/ca.pem")
echo "$out" | sed 's/^/  /'
# Secrets are lokerd's user's alone; the configuration is readable by its group.
for f in site.key sync.token kiosk.key; do
	[ "$(stat -c %a:%U "$etc/$f")" = "600:$user" ] || fail "$f is $(stat -c %a:%U "$etc/$f")"
done
[ "$(stat -c %a "$etc/lokerd.conf")" = 640 ] || fail "lokerd.conf is mode $(stat -c %a "$etc/lokerd.conf")"
grep -Eqx '[0-9a-f]{64}' "$etc/site.key" || fail "site.key: $(cat "$etc/site.key")"
openssl req -in "$etc/kiosk.csr" -noout -verify 2>&1 | grep -q "verify OK" ||
	fail "the request does not verify"
openssl req -in "$etc/kiosk.csr" -noout -subject | grep -q "CN *= *perpus-kota-01" ||
	fail "the request is not for the kiosk"
grep -qx "id = perpus-kota-01" "$etc/lokerd.conf" || fail "no id"
grep -qx "site_key_file = $etc/site.key" "$etc/lokerd.conf" || fail "no site_key_file"
[ "$(grep -c '^\[sync\]' "$etc/lokerd.conf")" = 1 ] || fail "not one [sync]"
grep -q '^; *\[sync\]' "$etc/lokerd.conf" && fail "the commented example stayed"
grep -qx "ca_file = $etc/server-ca.pem" "$etc/lokerd.conf" || fail "no ca_file"
# The hardware is still to be described: lokerd says so, and only that.
grep -q "check-config: .*\[locker.1\] lock" <<<"$out" || fail "check-config: $out"

echo "a second run keeps the keys; a signed certificate joins [sync]"
key=$(cat "$etc/site.key")
tls=$(sha256sum <"$etc/kiosk.key")
openssl x509 -req -in "$etc/kiosk.csr" -CA "$WORK/ca/ca.pem" -CAkey "$WORK/ca/ca.key" \
	-CAcreateserial -days 30 -out "$etc/kiosk.pem" 2>/dev/null
provision --kiosk perpus-kota-01 --url https://perpus.example/index.php?p=api/locker/v1 >/dev/null
[ "$(cat "$etc/site.key")" = "$key" ] || fail "the site key changed"
[ "$(sha256sum <"$etc/kiosk.key")" = "$tls" ] || fail "the TLS key changed"
[ "$(grep -c '^\[sync\]' "$etc/lokerd.conf")" = 1 ] || fail "not one [sync] after a second run"
grep -qx "client_cert = $etc/kiosk.pem" "$etc/lokerd.conf" || fail "no client_cert"

echo "with its hardware described, lokerd takes the configuration"
sed -i 's/^backend = nfc.*/backend = sim/; s/^backend = gpiod.*/backend = sim/; /^chip = /d; /^connstring = /d' "$etc/lokerd.conf"
lokerd --check-config -c "$etc/lokerd.conf" || fail "lokerd refuses the provisioned configuration"
echo "provision: OK"
