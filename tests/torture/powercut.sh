#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Power-cut torture: lokerd in a VM (tests/vm: Debian's kernel in qemu)
# keeps its database on ext4 on a virtio disk that qemu writes with
# cache=none (O_DIRECT past the host's page cache; the guest sees a
# write-back cache it must flush). A workload of holds added, loaded,
# picked up, and now and then a return runs in the VM
# (tests/vm/powercut.scenario), and the host kills qemu with SIGKILL once
# the workload has shown a random number of new events (0 to 23: about
# three holds), 0 to 1 s later: the guest loses its page cache and the
# requests in flight, as in a power cut. (A moment counted in seconds
# from the workload's start fell before its first event on a loaded
# machine.) That happens TORTURE_POWERCUTS times (10 by default, as CI
# runs it; the long mode is
#   TORTURE_POWERCUTS=200 ctest --test-dir build -R torture-powercut --output-on-failure
# and TORTURE_SEED repeats a run's kill moments). Every next boot checks
# what the cut left before it goes on, and a last boot only checks:
#  - the journal replays and e2fsck -fn finds the file system clean;
#  - lokerd starts on the database and answers; PRAGMA integrity_check is
#    ok through lokerd and through the sqlite3 shell;
#  - every event lokerctl had shown (printed on the serial console as it
#    was shown) is in the database, once; so is every event that was in
#    it at the start of the boot before;
#  - every lock pulse the host saw (the sim lock bank logs each one on
#    the console, after lokerd recorded its locker_unlocked) has its
#    locker_unlocked event on the disk;
#  - no hold is picked up twice, no door opened for a pickup after the
#    pickup was recorded, and the card of the newest pickup the host saw
#    confirmed, tapped again, opens nothing.
# Not covered: the sync with a server (torture-crash does that, with
# process kills), the gpiod lock bank (vm-lokerd), and a disk whose own
# cache drops writes it reported done: the host's file keeps every write
# qemu completed, flushed or not.
set -euo pipefail
TORTURE_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/vm/lib.sh
. "$TORTURE_DIR/../vm/lib.sh"
: "${LOKERD:?LOKERD must name lokerd}" "${LOKERCTL:?LOKERCTL must name lokerctl}"
PATH=$PATH:/usr/sbin:/sbin

ROUNDS=${TORTURE_POWERCUTS:-10}
SEED=${TORTURE_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
KILL_EVENTS=24
KILL_MAX_MS=1000
RANDOM=$SEED

vm_require
for tool in mkfs.ext4 e2fsck sqlite3 truncate; do
	command -v "$tool" >/dev/null ||
		vm_skip "no $tool (Debian: e2fsprogs, sqlite3, coreutils)"
done
# The image lives beside the build, not in /tmp, which may be a tmpfs:
# cache=none opens it with O_DIRECT, which tmpfs refuses.
DIR=$PWD/powercut
rm -rf "$DIR"
mkdir -p "$DIR"
dd if=/dev/zero of="$DIR/probe" bs=4096 count=1 oflag=direct 2>/dev/null ||
	vm_skip "the file system of $DIR does not support O_DIRECT, which qemu's cache=none needs"
rm -f "$DIR/probe"
truncate -s 128M "$DIR/disk.img"
mkfs.ext4 -F -q -b 4096 "$DIR/disk.img"
vm_prepare
VM_DISK=$DIR/disk.img
vm_initramfs "$TORTURE_DIR/../vm/powercut.scenario" "$LOKERD" "$LOKERCTL" \
	"$(command -v sqlite3)" "$(command -v e2fsck)"

QEMU_PID=
powercut_cleanup() {
	[ -z "$QEMU_PID" ] || kill -KILL "$QEMU_PID" 2>/dev/null || true
	vm_cleanup
}
trap powercut_cleanup EXIT

# fail ROUND-LOG TEXT: the reason and the end of that boot's console, and
# of the boot before, which the cut that boot checked ended.
fail() {
	local before=${1%.*}.$((${1##*.} - 1))

	echo "FAIL: $2" >&2
	if [ -f "$before" ]; then
		echo "--- VM console of the boot before, $before (last 30 lines):" >&2
		grep -v '^pc-ev ' "$before" | tail -n 30 >&2
	fi
	echo "--- VM console of that boot, $1 (last 40 lines):" >&2
	grep -v '^pc-ev ' "$1" | tail -n 40 >&2
	echo "(seed $SEED; to repeat the kill moments: TORTURE_SEED=$SEED)" >&2
	exit 1
}

# Waits for qemu to end by itself; its status.
wait_qemu() {
	local i rc=0
	for i in $(seq $((VM_TIMEOUT * 10))); do
		kill -0 "$QEMU_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ "$i" -lt $((VM_TIMEOUT * 10)) ] || kill -KILL "$QEMU_PID" 2>/dev/null || true
	wait "$QEMU_PID" || rc=$?
	QEMU_PID=
	return $rc
}

# The console of a boot as text, without the last line if a kill cut it.
console_text() {
	tr -d '\r' <"$1" >"$2"
	[ -z "$(tail -c 1 "$2")" ] || sed -i '$d' "$2"
}

echo "power-cut torture: $ROUNDS cuts, seed $SEED"
start=$(date +%s)
next=1
retap=0
: >"$DIR/confirmed" # UUID TYPE HOLD of every event lokerctl showed
: >"$DIR/before"    # the events at the start of the boot before
: >"$DIR/pulses"    # LOCKER PULSES NSEC seen in the boot before
retaps=0
pulses=0
delays=
shown=
for round in $(seq $((ROUNDS + 1))); do
	final=0
	[ "$round" -le "$ROUNDS" ] || final=1
	raw=$DIR/console.raw
	log=$DIR/console.$round
	VM_APPEND="powercut.next=$next powercut.retap=$retap powercut.final=$final"
	vm_qemu_command
	"${VM_QEMU[@]}" </dev/null >"$raw" 2>&1 &
	QEMU_PID=$!
	if [ $final = 0 ]; then
		for i in $(seq $((VM_TIMEOUT * 20))); do
			grep -q '^pc-go' "$raw" && break
			if ! kill -0 "$QEMU_PID" 2>/dev/null; then
				wait_qemu || true
				console_text "$raw" "$log"
				fail "$log" "round $round: the boot ended before the workload started"
			fi
			sleep 0.05
		done
		[ "$i" -lt $((VM_TIMEOUT * 20)) ] || {
			kill -KILL "$QEMU_PID"
			console_text "$raw" "$log"
			fail "$log" "round $round: no workload after ${VM_TIMEOUT}s"
		}
		want=$((RANDOM % KILL_EVENTS))
		for i in $(seq $((VM_TIMEOUT * 20))); do
			[ "$(awk '/^pc-go/ { go = 1 } go && /^pc-confirmed/ { n++ } END { print n + 0 }' "$raw")" -lt $want ] || break
			kill -0 "$QEMU_PID" 2>/dev/null || break
			sleep 0.05
		done
		ms=$((RANDOM % KILL_MAX_MS))
		sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
		if ! kill -KILL "$QEMU_PID" 2>/dev/null; then
			wait_qemu || true
			console_text "$raw" "$log"
			fail "$log" "round $round: the boot ended during the workload"
		fi
		wait "$QEMU_PID" 2>/dev/null || true
		QEMU_PID=
		delays="$delays $ms"
		shown="$shown $want"
	else
		rc=0
		wait_qemu || rc=$?
		console_text "$raw" "$log"
		# isa-debug-exit: (0 << 1) | 1 when the scenario passed.
		[ $rc = 1 ] || fail "$log" "the last boot ended with qemu status $rc"
	fi
	console_text "$raw" "$log"

	# What the cut before left, as this boot found it.
	! grep '^pc-check FAILED' "$log" >&2 ||
		fail "$log" "round $round: a check of the boot failed"
	grep -q '^pc-check ok PRAGMA integrity_check through the sqlite3' "$log" ||
		fail "$log" "round $round: the boot's checks did not all run"
	awk '$1 == "pc-ev" { $1 = ""; print substr($0, 2) }' "$log" >"$DIR/now"
	dup=$(cut -d' ' -f2 "$DIR/now" | sort | uniq -d)
	[ -z "$dup" ] || fail "$log" "round $round: events twice in the database: $dup"
	lost=$(sort "$DIR/before" | comm -23 - <(sort "$DIR/now"))
	[ -z "$lost" ] || fail "$log" "round $round: events that were in the database before are gone: $lost"
	lost=$(cut -d' ' -f1 "$DIR/confirmed" | sort -u |
		comm -23 - <(cut -d' ' -f2 "$DIR/now" | sort))
	[ -z "$lost" ] || fail "$log" "round $round: confirmed events lost: $lost"
	# Each pulse of the boot before: a locker_unlocked of that boot.
	bad=$(awk -v last="$(tail -n 1 "$DIR/before" | cut -d' ' -f1)" '
		FILENAME == ARGV[1] { pulses[$1]++; next }
		$1 > last + 0 && $3 == "locker_unlocked" { unlocks[$5]++ }
		END {
			for (l in pulses)
				if (pulses[l] > unlocks[l] + 0)
					print "locker " l ": " pulses[l] " pulses, " unlocks[l] + 0 " unlocks recorded"
		}' "$DIR/pulses" "$DIR/now")
	[ -z "$bad" ] || fail "$log" "round $round: pulses without their event on the disk: $bad"
	# Doors: no pickup twice; no opening for a pickup after the pickup.
	bad=$(awk '
		$3 == "hold_picked_up" { if ($4 in taken) print $4 " picked up twice"; taken[$4] = $1 }
		$3 == "locker_unlocked" && $6 == "pickup" && ($4 in taken) { print $4 " opened again after its pickup (event " $1 ")" }
		' "$DIR/now")
	[ -z "$bad" ] || fail "$log" "round $round: $bad"
	if [ "$retap" != 0 ]; then
		r=$(sed -n "s/^pc-retap H-$retap\\( \\|\$\\)//p" "$log")
		grep -q "^pc-retap H-$retap" "$log" ||
			fail "$log" "round $round: H-$retap was not tapped again"
		[ -z "${r// /}" ] ||
			fail "$log" "round $round: the card of H-$retap, picked up, opened locker $r again"
		retaps=$((retaps + 1))
	fi

	# What this boot did until the cut, for the next.
	awk '$1 == "pc-confirmed" && NF == 4 && length($2) == 36 { print $2, $3, $4 }' \
		"$log" >>"$DIR/confirmed"
	grep -E '^[0-9]+ [0-9]+ [0-9]+$' "$log" >"$DIR/pulses" || true
	pulses=$((pulses + $(wc -l <"$DIR/pulses")))
	cp "$DIR/now" "$DIR/before"
	n=$(sed -n 's/^pc-next //p' "$log" | tail -n 1)
	[ -z "$n" ] || next=$n
	n=$(awk '$1 == "pc-confirmed" && $3 == "hold_picked_up" && $4 ~ /^H-[0-9]+$/ { h = substr($4, 3) }
		END { print h }' "$log")
	[ -z "$n" ] || retap=$n
	rm -f "$DIR/console.$((round - 2))"
	if [ $final = 0 ]; then
		echo "cut $round: ${ms} ms after $want events shown, at hold H-$next;" \
			"$(wc -l <"$DIR/now") events found at boot, every confirmed one once"
	fi
done

events=$(wc -l <"$DIR/now")
confirmed=$(cut -d' ' -f1 "$DIR/confirmed" | sort -u | wc -l)
count() { awk -v t="$1" -v f="${2:-}" '$3 == t && (f == "" || $8 == f)' "$DIR/now" | wc -l; }
delays=$(tr ' ' '\n' <<<"$delays" | sed '/^$/d' | sort -n)
shown=$(tr ' ' '\n' <<<"$shown" | sed '/^$/d' | sort -n)
echo "power-cut torture: $ROUNDS cuts (seed $SEED) in $(($(date +%s) - start)) s," \
	"$(head -n 1 <<<"$delays")-$(tail -n 1 <<<"$delays") ms after" \
	"$(head -n 1 <<<"$shown")-$(tail -n 1 <<<"$shown") events shown"
echo "  $events events in the database, each once; all $confirmed that lokerctl had shown are there"
echo "  $(count hold_loaded) loads, $(count hold_picked_up) pickups, $(count return_deposited) returns," \
	"$(count locker_unlocked) lock openings recorded, $pulses pulses seen"
echo "  $(count locker_fault interrupted) openings cut short (locker faulted, then enabled);" \
	"$retaps picked-up cards tapped again after a cut, none opened a door"
echo "  e2fsck clean, integrity_check ok and lokerd started at all $((ROUNDS + 1)) boots"
