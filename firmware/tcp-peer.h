/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which local user holds the other end of a TCP connection: the kernel's
 * socket diagnostics (NETLINK_SOCK_DIAG, as ss(8) uses) name the uid that
 * made the client's socket. What SO_PEERCRED is to a UNIX socket, for
 * loopback TCP; the web UI tells the kiosk's screen apart with it
 * (docs/security.md).
 */
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

/* A socket to ask with, for tcp_peer_uid(); close() it. -errno on error. */
int tcp_peer_open(void);

/*
 * The uid of the socket on this machine whose own end is peer and whose
 * other end is local (the server's): the client of a connection lokerd
 * accepted. Returns 0, or -ENOENT when no such socket lives here (a client
 * on another machine, or one gone), -EAFNOSUPPORT for a family not IPv4 or
 * IPv6, -EAGAIN when the kernel had no answer ready, -errno else. Never
 * blocks.
 */
int tcp_peer_uid(int fd, const struct sockaddr *peer,
		 const struct sockaddr *local, uid_t *ret);
