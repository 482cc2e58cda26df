#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drives pickups through a running lokerd and times each tap to its pulse.

A cycle per locker, in batches over the lockers given: hold-add (a card of
its own), load into that locker, door open and closed (hold_loaded); then
for each locker of the batch the measured tap (the card placed on
pn532-sim, or sim-tap on lokerd's control socket), the door open
(hold_picked_up) and closed. Only the tap to pulse start is timed: from
pn532-sim's placed_ns, or from just before the sim-tap request is sent,
to the pulse start the simulated lock bank logs (LOKERBUKU_SIM_PULSE_LOG),
all on CLOCK_MONOTONIC.

Checks, each of which fails the run: every tap starts exactly one pulse,
on its hold's locker and no other; at the end the kiosk's database has
one hold_picked_up and one pickup locker_unlocked per hold, and the lock
bank counted two pulses (load, pickup) per cycle.

Writes one latency in nanoseconds per line to --out.
"""
import argparse
import json
import os
import random
import socket
import sqlite3
import sys
import time

from lokerdctl import Fail, Lokerd


# --while-backlog: unsent events at each tap, at least a full upload
# batch ([sync] batch_size, 100 by default).
BACKLOG_MIN = 100


class Pn532:
    """pn532-sim's control socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")

    def ask(self, line):
        self.sock.sendall(line.encode() + b"\n")
        reply = self.reader.readline().decode().strip()
        if not reply.startswith("ok"):
            raise Fail(f"pn532-sim refused {line!r}: {reply}")
        return reply


class PulseLog:
    """Follows the lock bank's pulse log: (locker, pulses, at_ns) lines."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o640)
        self.buf = b""

    def poll(self):
        while True:
            chunk = os.read(self.fd, 65536)
            if not chunk:
                break
            self.buf += chunk
        lines, _, self.buf = self.buf.rpartition(b"\n")
        out = []
        for line in lines.split(b"\n") if lines else []:
            locker, pulses, at_ns = (int(x) for x in line.split())
            out.append((locker, pulses, at_ns))
        return out

    def wait(self, n, timeout_s=3.0):
        """The next n pulses, waiting up to timeout_s for them."""
        got = []
        deadline = time.monotonic() + timeout_s
        while True:
            got += self.poll()
            if len(got) >= n:
                return got
            if time.monotonic() > deadline:
                return got
            time.sleep(0.0002)


def wait_released(kiosk, last_pulse, locker, pulse_ms):
    """
    A lock still energised from its last pulse would not pulse again: waits
    for the pulse's end by the clock, then until lokerctl status says the
    lock is released (a loop that was busy, or a descheduled process, ends
    a pulse a little late).
    """
    if locker not in last_pulse:
        return
    wait_ns = last_pulse[locker] + (pulse_ms + 1) * 1000000 - time.monotonic_ns()
    if wait_ns > 0:
        time.sleep(wait_ns / 1e9)
    deadline = time.monotonic() + 2
    while kiosk.ask({"cmd": "status"})["lockers"][locker - 1]["lock_energised"]:
        if time.monotonic() > deadline:
            raise Fail(f"locker {locker}: still energised 2 s after its pulse")
        time.sleep(0.001)


def uid_of(i, base):
    # 7-byte UIDs as an NTAG has; 04 is NXP's manufacturer byte.
    return f"04{base:04X}{i:08X}"


def pipeline(kiosk, reqs):
    """Sends every request, then reads every reply: lokerd takes one a turn."""
    for r in reqs:
        kiosk.send({k: v for k, v in r.items() if k != "_locker"})
    replies = [kiosk.receive() for _ in reqs]
    for req, reply in zip(reqs, replies):
        if not reply.get("ok"):
            raise Fail(f"lokerd refused {req}: {reply}")
        if req["cmd"] in ("load", "sim-tap") and reply.get("unlocked") != [req["_locker"]]:
            raise Fail(f"{req}: unlocked {reply.get('unlocked')}")


def volume(kiosk, lockers, taps, prefix, base):
    """Full pickup cycles as fast as lokerd takes them, nothing timed."""
    holds = []
    while len(holds) < taps:
        batch = []
        for locker in lockers[: taps - len(holds)]:
            i = len(holds) + len(batch)
            batch.append((i, locker, f"{prefix}-{i}", uid_of(i, base)))
        load, pickup = [], []
        for i, locker, hold, uid in batch:
            door = {"cmd": "sim-door", "locker": locker}
            load += [{"cmd": "hold-add", "id": hold,
                      "credentials": [f"uid:{uid}"], "size": "small",
                      "items": [{"barcode": f"BK{i:07d}"}]},
                     {"cmd": "load", "hold": hold, "locker": locker,
                      "_locker": locker},
                     dict(door, open=True), dict(door, open=False)]
            pickup += [{"cmd": "sim-tap", "credential": f"uid:{uid}",
                        "_locker": locker},
                       dict(door, open=True), dict(door, open=False)]
        pipeline(kiosk, load)
        pipeline(kiosk, pickup)
        holds += [hold for _, _, hold, _ in batch]
    return holds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--control", required=True, help="lokerd's socket")
    ap.add_argument("--db", required=True, help="lokerd's database")
    ap.add_argument("--pulse-log", required=True)
    ap.add_argument("--reader", choices=("sim", "pn532"), required=True)
    ap.add_argument("--pn532", help="pn532-sim's control socket")
    ap.add_argument("--taps", type=int, required=True)
    ap.add_argument("--lockers", default="1-10")
    ap.add_argument("--pulse-ms", type=int, default=500)
    ap.add_argument("--prefix", default="B", help="hold ids and UIDs")
    ap.add_argument("--out", help="latencies in ns, one a line")
    ap.add_argument("--while-backlog", action="store_true",
                    help="tap only while at least a batch is unsent: stop"
                    " when the backlog runs out")
    ap.add_argument("--min-taps", type=int, default=100,
                    help="with --while-backlog: fail with fewer taps made"
                    " before the backlog ran out")
    ap.add_argument("--jitter-ms", type=float, default=0,
                    help="wait a random time up to this before each tap")
    ap.add_argument("--volume", action="store_true",
                    help="pipelined cycles, untimed: for the footprint")
    args = ap.parse_args()

    lockers = []
    for part in args.lockers.split(","):
        lo, _, hi = part.partition("-")
        lockers += range(int(lo), int(hi or lo) + 1)
    # A UID space of its own for each run on one kiosk.
    base = sum(args.prefix.encode()) & 0xFFFF
    kiosk = Lokerd(args.control)
    pn532 = Pn532(args.pn532) if args.reader == "pn532" else None
    log = PulseLog(args.pulse_log)
    log.poll()  # what earlier runs left
    last_pulse = {}  # locker: when its last pulse started, ns
    pulses_before = {
        l["number"]: l["lock_pulses"] for l in kiosk.ask({"cmd": "status"})["lockers"]
    }
    latencies = []
    backlogs = []
    requests_first = None
    loads = 0
    drained = False
    holds = []
    done = 0
    if args.volume:
        holds = volume(kiosk, lockers, args.taps, args.prefix, base)
        done = args.taps
    while done < args.taps:
        batch = []
        for locker in lockers[: args.taps - done]:
            i = done + len(batch)
            hold = f"{args.prefix}-{i}"
            uid = uid_of(i, base)
            wait_released(kiosk, last_pulse, locker, args.pulse_ms)
            kiosk.ask({"cmd": "hold-add", "id": hold,
                       "credentials": [f"uid:{uid}"], "size": "small",
                       "items": [{"barcode": f"BK{i:07d}"}]})
            reply = kiosk.ask({"cmd": "load", "hold": hold, "locker": locker})
            if reply.get("unlocked") != [locker]:
                raise Fail(f"load {hold}: unlocked {reply.get('unlocked')}, not [{locker}]")
            p = log.wait(1)
            if len(p) != 1 or p[0][0] != locker:
                raise Fail(f"load {hold}: pulses {p}, not one on {locker}")
            loads += 1
            last_pulse[locker] = p[0][2]
            kiosk.ask({"cmd": "sim-door", "locker": locker, "open": True})
            kiosk.ask({"cmd": "sim-door", "locker": locker, "open": False})
            batch.append((locker, hold, uid))
        for locker, hold, uid in batch:
            wait_released(kiosk, last_pulse, locker, args.pulse_ms)
            if args.while_backlog:
                # A fast machine drains the backlog before all the taps
                # are done: the taps stop there, the ones made count.
                status = kiosk.ask({"cmd": "status"})
                if requests_first is None:
                    requests_first = status["sync"]["requests"]
                if status["backlog"] < BACKLOG_MIN:
                    drained = True
                    break
                backlogs.append(status["backlog"])
            # Cards come at any moment, not in step with the reader's polls.
            if args.jitter_ms:
                time.sleep(random.uniform(0, args.jitter_ms) / 1000)
            if pn532:
                reply = pn532.ask(f"tap {uid}")
                tapped_ns = int(reply.rsplit("placed_ns=", 1)[1])
            else:
                tapped_ns = time.monotonic_ns()
                reply = kiosk.ask({"cmd": "sim-tap", "credential": f"uid:{uid}"})
                if reply.get("unlocked") != [locker]:
                    raise Fail(f"tap {hold}: unlocked {reply.get('unlocked')}, not [{locker}]")
            p = log.wait(1)
            if pn532:
                pn532.ask("remove")
            if len(p) != 1 or p[0][0] != locker:
                raise Fail(f"tap {hold}: pulses {p}, not one on locker {locker}")
            latencies.append(p[0][2] - tapped_ns)
            last_pulse[locker] = p[0][2]
            kiosk.ask({"cmd": "sim-door", "locker": locker, "open": True})
            kiosk.ask({"cmd": "sim-door", "locker": locker, "open": False})
            holds.append(hold)
        done += len(batch)
        extra = log.poll()
        if extra:
            raise Fail(f"pulses nobody asked for: {extra}")
        if drained:
            break

    # What the kiosk recorded, read from its database as it stands.
    status = kiosk.ask({"cmd": "status"})
    if args.while_backlog and len(holds) < args.min_taps:
        raise Fail(f"the backlog ran out after {len(holds)} taps, fewer than"
                   f" {args.min_taps}: a larger BENCH_BACKLOG is needed")
    if args.while_backlog and status["sync"]["requests"] <= requests_first:
        raise Fail("no upload ran during the taps: not taps during a drain")
    pulses = sum(l["lock_pulses"] - pulses_before[l["number"]] for l in status["lockers"])
    # Pipelined pulses overlap: a lock energised again while still
    # energised counts once. The replies said which lockers unlocked.
    if not args.volume and pulses != loads + len(holds):
        raise Fail(f"the lock bank counted {pulses} pulses, not {loads + len(holds)}"
                   f" ({loads} loads, {len(holds)} pickups)")
    db = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    picked = {}
    for (payload,) in db.execute(
            "SELECT payload FROM outbox WHERE type = 'hold_picked_up'"):
        h = json.loads(payload)["hold_id"]
        picked[h] = picked.get(h, 0) + 1
    unlocked = {}
    for (payload,) in db.execute(
            "SELECT payload FROM outbox WHERE type = 'locker_unlocked'"):
        p = json.loads(payload)
        if p.get("purpose") == "pickup":
            unlocked[p["hold_id"]] = unlocked.get(p["hold_id"], 0) + 1
    for h in holds:
        if picked.get(h) != 1:
            raise Fail(f"hold {h}: {picked.get(h, 0)} hold_picked_up events, not 1")
        if unlocked.get(h) != 1:
            raise Fail(f"hold {h}: {unlocked.get(h, 0)} pickup unlocks, not 1")
    if args.out:
        with open(args.out, "w") as f:
            f.write("".join(f"{x}\n" for x in latencies))
    print(f"tapdrive: {len(holds)} pickups checked", file=sys.stderr)
    if backlogs:
        print(f"tapdrive: backlog from {backlogs[0]} down to {backlogs[-1]}"
              " events during the taps", file=sys.stderr)
        print(f"tapdrive: {len(holds)} taps during the drain"
              f"{' (then it was drained)' if drained else ''},"
              f" {status['sync']['requests'] - requests_first} uploads",
              file=sys.stderr)


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        print(f"tapdrive: FAIL: {e}", file=sys.stderr)
        sys.exit(1)
