#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
# An SMTP sink for the SLiMS tests: takes every message SLiMS's mailer
# (PHPMailer) sends on 127.0.0.1 and writes it to a file of its own,
# delivering nothing. ESMTP with AUTH PLAIN and LOGIN checked against the
# user and password given (SLiMS's mail settings always authenticate); no
# STARTTLS, so PHPMailer speaks plain text on loopback.
#
#   smtp-sink.py DIR PORT-FILE USER PASSWORD
#
# Listens on a free port of 127.0.0.1 and writes it to PORT-FILE once
# listening. Message N goes to DIR/N.json: {"from": ..., "to": [...],
# "data": "the message as sent"}, written whole (a temporary name, then
# renamed, so a reader never sees half a message). At most 1 MiB a
# message and 50 recipients; a connection silent for 60 s is dropped.
import base64
import itertools
import json
import os
import socketserver
import sys
import threading

MAX_DATA = 1 << 20
MAX_RCPT = 50
DIR, PORT_FILE, USER, PASSWORD = sys.argv[1:5]
counter = itertools.count(1)
lock = threading.Lock()


class Session(socketserver.StreamRequestHandler):
    timeout = 60

    def say(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def line(self):
        raw = self.rfile.readline(4096)
        if not raw:
            raise EOFError
        return raw.decode("utf-8", "replace").rstrip("\r\n")

    def auth_ok(self, user, password):
        if user == USER and password == PASSWORD:
            self.authed = True
            self.say("235 2.7.0 authenticated")
        else:
            self.say("535 5.7.8 bad user or password")

    def auth(self, args):
        parts = args.split()
        mech = parts[0].upper() if parts else ""
        try:
            if mech == "PLAIN":
                if len(parts) > 1:
                    blob = parts[1]
                else:
                    self.say("334 ")
                    blob = self.line()
                _, user, password = base64.b64decode(blob).decode().split("\0")
                self.auth_ok(user, password)
            elif mech == "LOGIN":
                if len(parts) > 1:
                    user = base64.b64decode(parts[1]).decode()
                else:
                    self.say("334 VXNlcm5hbWU6")
                    user = base64.b64decode(self.line()).decode()
                self.say("334 UGFzc3dvcmQ6")
                password = base64.b64decode(self.line()).decode()
                self.auth_ok(user, password)
            else:
                self.say("504 5.5.4 unknown mechanism")
        except (ValueError, UnicodeDecodeError):
            self.say("501 5.5.2 bad AUTH data")

    def data(self):
        lines, size = [], 0
        while True:
            raw = self.rfile.readline(MAX_DATA + 2)
            if not raw:
                raise EOFError
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b"."):
                raw = raw[1:]
            size += len(raw)
            if size > MAX_DATA:
                self.say("552 5.3.4 message too big")
                raise EOFError
            lines.append(raw)
        with lock:
            n = next(counter)
        msg = {"from": self.sender, "to": self.rcpts,
               "data": b"".join(lines).decode("utf-8", "replace")}
        tmp = os.path.join(DIR, ".%d.tmp" % n)
        with open(tmp, "w") as f:
            json.dump(msg, f)
        os.rename(tmp, os.path.join(DIR, "%d.json" % n))
        self.say("250 2.0.0 queued as %d" % n)

    def handle(self):
        self.authed, self.sender, self.rcpts = False, None, []
        self.say("220 smtp-sink.lokerbuku.test ESMTP")
        try:
            while True:
                cmd, _, args = self.line().partition(" ")
                cmd = cmd.upper()
                if cmd == "EHLO":
                    self.say("250-smtp-sink.lokerbuku.test")
                    self.say("250-AUTH PLAIN LOGIN")
                    self.say("250 8BITMIME")
                elif cmd == "HELO":
                    self.say("250 smtp-sink.lokerbuku.test")
                elif cmd == "AUTH":
                    self.auth(args)
                elif cmd == "MAIL":
                    if not self.authed:
                        self.say("530 5.7.0 authentication required")
                        continue
                    self.sender = args.partition(":")[2].strip().strip("<>").split(">")[0]
                    self.rcpts = []
                    self.say("250 2.1.0 ok")
                elif cmd == "RCPT":
                    if self.sender is None:
                        self.say("503 5.5.1 MAIL first")
                    elif len(self.rcpts) >= MAX_RCPT:
                        self.say("452 4.5.3 too many recipients")
                    else:
                        self.rcpts.append(args.partition(":")[2].strip().strip("<>").split(">")[0])
                        self.say("250 2.1.5 ok")
                elif cmd == "DATA":
                    if not self.rcpts:
                        self.say("503 5.5.1 RCPT first")
                        continue
                    self.say("354 end with <CRLF>.<CRLF>")
                    self.data()
                    self.sender, self.rcpts = None, []
                elif cmd == "RSET":
                    self.sender, self.rcpts = None, []
                    self.say("250 2.0.0 ok")
                elif cmd == "NOOP":
                    self.say("250 2.0.0 ok")
                elif cmd == "QUIT":
                    self.say("221 2.0.0 bye")
                    return
                else:
                    self.say("502 5.5.2 not implemented")
        except (EOFError, OSError):
            return


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    server = Server(("127.0.0.1", 0), Session)
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    server.serve_forever()


if __name__ == "__main__":
    main()
