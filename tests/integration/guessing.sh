#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The guessing defence through the real lokerd (docs/security.md,
# "Guessing"): wrong PINs count on the hold, not on each of its four
# credentials; a SIGKILL and a restart reset neither the PIN counts nor the
# pickup code budget; a flood of bogus codes slows code entry only, and a
# card patron still gets in. Each attack's figure is printed.
. "$(dirname "$0")/lib.sh"

kiosk_write_config "$WORK" "
[policy]
pin_required = yes
pin_max_attempts = 3
pin_lockout_s = 86400"
kiosk_start "$WORK"

CODE=48151623
ctl holds add H-1 --credential uid:04A1B2C3D4E5F6 --credential card:M-1 \
	--credential card:M-1B --credential uid:0A0B0C0D --pin 2468 >/dev/null
ctl holds add H-2 --credential card:M-2 --pin 1357 >/dev/null
ctl holds add H-3 --credential card:M-3 --pin 9753 --code "$CODE" >/dev/null
for h in H-1 H-2 H-3; do
	l=$(ctl --json load "$h" | jq -r '.unlocked[0]')
	ctl sim door "$l" open >/dev/null
	ctl sim door "$l" close >/dev/null
done
screen_after() { ctl --json sim "$@" | jq -r .screen.name; }
# SIGKILL, as a power cut would, then start again on the same database.
crash_restart() {
	kill -KILL "$KIOSK_PID"
	wait "$KIOSK_PID" 2>/dev/null || true
	KIOSK_PID=
	kiosk_start "$WORK"
}

echo "a hold with four credentials takes 3 wrong PINs in all, not 12"
wrong=0
for c in uid:04A1B2C3D4E5F6 card:M-1 card:M-1B uid:0A0B0C0D; do
	[ "$(screen_after tap "$c")" = pin ] || continue
	ctl sim pin 0000 >/dev/null
	wrong=$((wrong + 1))
done
echo "  wrong PINs taken across the four credentials: $wrong"
[ "$wrong" = 3 ] || fail "the hold took $wrong wrong PINs"
expect '[.events[] | select(.type == "pin_lockout")] | length == 1' \
	"$(ctl --json events)"

echo "two wrong PINs on another hold, then a SIGKILL: the count is kept"
expect '.screen.name == "pin" and .screen.attempts_left == 3' \
	"$(ctl --json sim tap card:M-2)"
ctl sim pin 0000 >/dev/null
r=$(ctl --json sim pin 0001)
expect '.screen.name == "wrong_pin" and .screen.attempts_left == 1' "$r"
crash_restart
for c in uid:04A1B2C3D4E5F6 card:M-1 card:M-1B uid:0A0B0C0D; do
	s=$(screen_after tap "$c")
	[ "$s" = locked_out ] || fail "$c after the restart: $s"
done
echo "  H-1 still locked out after the restart, on all four credentials"
r=$(ctl --json sim tap card:M-2)
expect '.screen.name == "pin" and .screen.attempts_left == 1' "$r"
r=$(ctl --json sim pin 0002)
expect '.screen.name == "locked_out" and .unlocked == []' "$r"
echo "  H-2 had 1 try left after the restart, and is locked out after it"

echo "a flood of 30 bogus codes: 5 are matched, the rest refused unmatched"
matched=0 refused=0
for i in $(seq 30); do
	case $(screen_after tap "code:9$(printf %07d "$i")") in
	unknown_card) matched=$((matched + 1)) ;;
	locked_out) refused=$((refused + 1)) ;;
	*) fail "bogus code $i: unexpected screen" ;;
	esac
done
echo "  bogus codes matched: $matched, refused: $refused"
[ "$matched" = 5 ] && [ "$refused" = 25 ] || fail "matched $matched, refused $refused"
r=$(ctl --json sim tap "code:$CODE")
expect '.screen.name == "locked_out" and .unlocked == []' "$r"
echo "  the right code is refused too while the budget is spent"

echo "and a card patron still gets in, by card and PIN"
expect '.screen.name == "pin"' "$(ctl --json sim tap card:M-3)"
r=$(ctl --json sim pin 9753)
expect '.screen.name == "lockers_open" and (.unlocked | length) == 1' "$r"
l=$(jq '.unlocked[0]' <<<"$r")
ctl sim door "$l" open >/dev/null
ctl sim door "$l" close >/dev/null

echo "a SIGKILL does not give the code guesser a new budget"
crash_restart
s=$(screen_after tap code:91234567)
[ "$s" = locked_out ] || fail "a bogus code after the restart: $s"
echo "  a bogus code after the restart: $s"
kiosk_stop
echo "PASS"
