#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Works a kiosk at its documented limits while lokerd does its long jobs.

lokerd times every callback of its loop and every lock pulse itself
(CLOCK_MONOTONIC, the control command loop-stats). For each phase this
resets those figures, starts the job (pruning, which runs from the start,
a backup, an integrity check, or a backlog drain the caller starts with
--phase drain), and meanwhile opens lockers as a kiosk in use does: one
patron session that opens 16 lockers at one tap, then maintenance openings
one after another, each door opened and closed, until the job is done.
Then it prints the longest callback and the worst pulse-length error
(the pulse as timed by lokerd, less pulse_ms) of the phase.

Checks, each of which fails the run: every session opens its 16 lockers
at one tap, every job answers ok, and the prune leaves the newest sent
events only.

Prints "figure<TAB>value<TAB>unit" lines on stdout.
"""
import argparse
import sqlite3
import sys
import time

from lokerdctl import Fail, Lokerd

SESSION_LOCKERS = 16
SESSIONS = 6
# The longest pulse_ms configured, with room: lokerd's default 500 ms.
PULSE_S = 0.7
# Lockers no hold goes to, for the maintenance openings: one every 25 ms
# at most, so that a locker's pulse is over when its turn comes again.
MAINTENANCE = range(100, 128)
MAINTENANCE_EVERY_S = 0.025


def card(session):
    return "uid:0A0B0C%02X" % session


def door(kiosk, locker):
    kiosk.ask({"cmd": "sim-door", "locker": locker, "open": True})
    kiosk.ask({"cmd": "sim-door", "locker": locker, "open": False})


def load_sessions(kiosk):
    """SESSIONS patrons with SESSION_LOCKERS holds each, in lockers."""
    for s in range(1, SESSIONS + 1):
        for i in range(1, SESSION_LOCKERS + 1):
            hold = f"S{s}-{i}"
            kiosk.ask({"cmd": "hold-add", "id": hold,
                       "credentials": [card(s)],
                       "items": [{"barcode": f"B{s}-{i}",
                                  "title": "Bumi Manusia"}]})
            reply = kiosk.ask({"cmd": "load", "hold": hold})
            if len(reply.get("unlocked", [])) != 1:
                raise Fail(f"load {hold}: {reply}")
            door(kiosk, reply["unlocked"][0])


def session(kiosk, s):
    """One tap that opens SESSION_LOCKERS lockers; every door taken."""
    reply = kiosk.ask({"cmd": "sim-tap", "credential": card(s)})
    opened = reply.get("unlocked", [])
    if len(opened) != SESSION_LOCKERS:
        raise Fail(f"session {s}: {len(opened)} lockers opened: {reply}")
    for locker in opened:
        door(kiosk, locker)
    kiosk.ask({"cmd": "cancel"}, check=False)


def maintenance(kiosk, n):
    locker = MAINTENANCE[n % len(MAINTENANCE)]
    reply = kiosk.ask({"cmd": "open", "locker": locker})
    if reply.get("unlocked") != [locker]:
        raise Fail(f"open {locker}: {reply}")
    door(kiosk, locker)


def phase(kiosk, name, s, done, timeout_s):
    """Works the kiosk until done() or timeout_s; prints the figures."""
    kiosk.ask({"cmd": "loop-stats", "reset": True})
    start = time.monotonic()
    session(kiosk, s)
    n = 0
    while not done() and time.monotonic() - start < timeout_s:
        began = time.monotonic()
        maintenance(kiosk, n)
        n += 1
        time.sleep(max(0.0, MAINTENANCE_EVERY_S - (time.monotonic() - began)))
    took = time.monotonic() - start
    # The last pulses end, and are timed, pulse_ms later.
    time.sleep(PULSE_S)
    st = kiosk.ask({"cmd": "loop-stats"})
    print(f"{name}: longest callback\t{st['longest_callback_us'] / 1000:.2f}\tms")
    print(f"{name}: longest callback, CPU\t"
          f"{st['longest_callback_cpu_us'] / 1000:.2f}\tms")
    print(f"{name}: longest callback, less waits for a core\t"
          f"{st['longest_callback_own_us'] / 1000:.2f}\tms")
    print(f"{name}: worst pulse error\t{st['worst_pulse_error_us'] / 1000:.2f}\tms")
    print(f"{name}: pulses\t{st['pulses']}\tpulses")
    print(f"{name}: callbacks\t{st['callbacks']}\tcallbacks")
    print(f"{name}: duration\t{took:.2f}\ts")
    sys.stdout.flush()
    print(f"loopdrive: {name}: {took:.1f} s, {st['pulses']} pulses, "
          f"{st['callbacks']} callbacks", file=sys.stderr)


def count(db, sql):
    return db.execute(sql).fetchone()[0]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--control", required=True, help="lokerd's socket")
    ap.add_argument("--db", required=True, help="lokerd's database")
    ap.add_argument("--phase", required=True,
                    choices=["prune", "backup", "check", "pull", "drain",
                             "quiet"])
    ap.add_argument("--log", help="lokerd's log, for the pull")
    ap.add_argument("--backup", help="the backup's path")
    ap.add_argument("--keep", type=int, default=10000,
                    help="sent events pruning keeps")
    ap.add_argument("--sent", type=int, default=0,
                    help="sent events there were at the start")
    ap.add_argument("--timeout", type=float, default=120.0)
    args = ap.parse_args()
    kiosk = Lokerd(args.control)
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)

    try:
        if args.phase == "prune":
            def pruned():
                return count(db, "SELECT count(*) FROM outbox"
                                 " WHERE sent = 1") <= args.keep

            # Pruning started with the loop: the holds load meanwhile.
            kiosk.ask({"cmd": "loop-stats", "reset": True})
            load_sessions(kiosk)
            phase(kiosk, "prune", 1, pruned, args.timeout)
            if not pruned():
                raise Fail("pruning did not finish in time")
            print(f"prune: rows pruned\t{args.sent - args.keep}\trows")
        elif args.phase in ("backup", "check"):
            job = Lokerd(args.control)
            req = {"cmd": args.phase}
            if args.backup:
                req["path"] = args.backup
            start = time.monotonic()
            job.send(req)
            phase(kiosk, args.phase, 2 if args.phase == "backup" else 3,
                  job.ready, args.timeout)
            reply = job.receive()
            if not reply.get("ok"):
                raise Fail(f"{args.phase}: {reply.get('error')}")
            print(f"{args.phase}: job time\t{time.monotonic() - start:.2f}\ts")
        elif args.phase == "pull":
            # The first contact: the server's full set of holds (it knows
            # none of the pending ones, which go) and the first uploads.
            def pulled():
                with open(args.log, encoding="utf-8") as f:
                    return "changes (full set)" in f.read()

            kiosk.ask({"cmd": "sync"})
            phase(kiosk, "pull", 4, pulled, args.timeout)
            if not pulled():
                raise Fail("no full set of holds came")
            # Applied a step at a time: wait for the last step (the
            # cursor) and check that every pending hold went, none else.
            def applied():
                return count(db, "SELECT count(*) FROM sync_state"
                             " WHERE key = 'cursor'") == 1

            until = time.monotonic() + args.timeout
            while not applied() and time.monotonic() < until:
                time.sleep(0.1)
            pending = count(db, "SELECT count(*) FROM holds"
                            " WHERE state = 'pending'")
            loaded = count(db, "SELECT count(*) FROM holds"
                           " WHERE state = 'loaded'")
            if not applied() or pending:
                raise Fail(f"pull: {pending} pending holds left after the"
                           " full set")
            print(f"pull: holds dropped, loaded left\t{loaded}\tholds")
        elif args.phase == "drain":
            before = kiosk.ask({"cmd": "status"})["backlog"]

            def drained():
                return kiosk.ask({"cmd": "status"})["backlog"] == 0

            kiosk.ask({"cmd": "sync"})
            start = time.monotonic()
            phase(kiosk, "drain", 6, drained, args.timeout)
            after = kiosk.ask({"cmd": "status"})["backlog"]
            took = time.monotonic() - start
            if after >= before:
                raise Fail(f"nothing drained: backlog {before} -> {after}")
            print(f"drain: events drained\t{before - after}\tevents")
            print(f"drain: events per second\t{(before - after) / took:.0f}"
                  "\tevents/s")
        else:
            phase(kiosk, "quiet", 5, lambda: False, 5.0)
    except Fail as e:
        print(f"loopdrive: FAIL: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
