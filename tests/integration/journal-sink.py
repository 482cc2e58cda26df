#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A stand-in for journald's native socket, for tests/integration/journal.sh.

Binds a datagram socket at argv[1], and writes each message received to
argv[2] as one JSON object a line, its fields parsed from the native
protocol: KEY=value lines, and KEY, a 64-bit little-endian length, the
value and a newline for values that hold a newline. Stops at SIGTERM.
"""
import json
import signal
import socket
import struct
import sys


def parse(data):
    fields, i = {}, 0
    while i < len(data):
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            key, value = line.split(b"=", 1)
            i = nl + 1
        else:
            key = line
            (size,) = struct.unpack_from("<Q", data, nl + 1)
            start = nl + 1 + 8
            value = data[start:start + size]
            if data[start + size:start + size + 1] != b"\n":
                raise ValueError("a binary field not ended by a newline")
            i = start + size + 1
        if key.decode() in fields:
            raise ValueError("the field %s given twice" % key.decode())
        fields[key.decode()] = value.decode()
    return fields


def main():
    path, out = sys.argv[1], sys.argv[2]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(out, "a", encoding="utf-8") as f:
        while True:
            data, anc, _, _ = sock.recvmsg(1 << 20, socket.CMSG_SPACE(4))
            if anc:
                # journald takes a large message as a memfd: ours are small.
                f.write(json.dumps({"error": "a message sent as a file"}) + "\n")
            else:
                try:
                    f.write(json.dumps(parse(data)) + "\n")
                except ValueError as e:
                    f.write(json.dumps({"error": str(e)}) + "\n")
            f.flush()


main()
