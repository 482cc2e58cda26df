# SPDX-License-Identifier: GPL-2.0-or-later
"""lokerd's control socket for the benchmarks' drivers (tapdrive, loopdrive)."""

import json
import select
import socket


class Fail(Exception):
    pass


class Lokerd:
    """One connection to lokerd's control socket: a line out, a line in."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")

    def send(self, req):
        self.sock.sendall(json.dumps(req).encode() + b"\n")

    def receive(self):
        line = self.reader.readline()
        if not line:
            raise Fail("lokerd closed the control socket")
        return json.loads(line)

    def ask(self, req, check=True):
        self.send(req)
        reply = self.receive()
        if check and not reply.get("ok"):
            raise Fail(f"lokerd refused {req}: {reply}")
        return reply

    def ready(self):
        """Whether a reply waits, without reading it."""
        return bool(select.select([self.sock], [], [], 0)[0])
