#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An offline attack on a staff PIN (issue 19, point 12): someone with a
# kiosk's lokerd.db (and the site key beside it) tries PINs against the
# staff PIN hash it holds, with no lock-out. This times guesses on one core
# of this machine (Python's hashlib.pbkdf2_hmac, OpenSSL underneath, the
# process's CPU time) against the hash lokerd made at its default and
# against one of the 10,000 iterations used before, and says how long
# every 6-digit PIN would take. The check: the attack finds the PIN when
# it is among its guesses. Needs BIN and LOKERBUKU_TOP.
set -euo pipefail
: "${BIN:?}" "${LOKERBUKU_TOP:?}"
# shellcheck source=tools/lib/kiosk.sh
. "$LOKERBUKU_TOP/tools/lib/kiosk.sh"
WORK=$(mktemp -d /tmp/lokerbuku-bench.XXXXXX)
export LOKERBUKU_SOCKET=$WORK/control.sock
trap 'kiosk_stop >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
PIN=482913

kiosk_write_config "$WORK"
kiosk_start "$WORK"
"$BIN/lokerctl" staff add card:S-1 --pin "$PIN" >/dev/null
kiosk_stop
hash=$(sqlite3 "$WORK/lokerd.db" "SELECT pin_hash FROM staff")

python3 - "$hash" "$PIN" "${BENCH_PIN_SECONDS:-5}" <<'PY'
import hashlib, os, sys, time

def parse(h):
    parts = h.split("$")
    if parts[0] == "pbkdf2-sha256":
        return [int(parts[1])], bytes.fromhex(parts[2]), bytes.fromhex(parts[3])
    if parts[0] == "pbkdf2-sha256-2":
        return [int(parts[1]), int(parts[2])], bytes.fromhex(parts[3]), bytes.fromhex(parts[4])
    raise SystemExit(f"pin-guess: FAIL: not a PIN hash: {h}")

def guess(counts, salt, pin):
    key = pin.encode()
    for n in counts:
        key = hashlib.pbkdf2_hmac("sha256", key, salt, n, 32)
    return key

def attack(name, h, pin, seconds):
    counts, salt, want = parse(h)
    tried, found = 0, False
    start = time.process_time()
    # Wrong guesses for a while, then the right one: the attack must see it.
    while time.process_time() - start < seconds:
        if guess(counts, salt, f"{tried:06d}") == want and f"{tried:06d}" != pin:
            raise SystemExit(f"pin-guess: FAIL: {name}: a wrong PIN matched")
        tried += 1
    found = guess(counts, salt, pin) == want
    tried += 1
    took = time.process_time() - start
    if not found:
        raise SystemExit(f"pin-guess: FAIL: {name}: the right PIN was not found")
    rate = tried / took
    print(f"{name}: iterations per guess\t{sum(counts)}\titerations")
    print(f"{name}: guesses per second, one core\t{rate:.1f}\tguesses/s")
    print(f"{name}: cost of one guess\t{1000 / rate:.1f}\tms")
    print(f"{name}: every 6-digit PIN, one core\t{1e6 / rate / 3600:.1f}\thours")

h = sys.argv[1]
attack("lokerd's default", h, sys.argv[2], float(sys.argv[3]))
salt = os.urandom(16)
old = "pbkdf2-sha256$10000$%s$%s" % (salt.hex(), hashlib.pbkdf2_hmac(
    "sha256", sys.argv[2].encode(), salt, 10000, 32).hex())
attack("10,000 iterations (before)", old, sys.argv[2], float(sys.argv[3]))
PY
echo "pin-guess: load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
