// SPDX-License-Identifier: GPL-2.0-or-later
/* Which local user holds the other end of a TCP connection, by sock_diag. */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "tcp-peer.h"

/* Stale replies a lookup skips before it gives up. */
#define REPLIES_MAX 8

int tcp_peer_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_SOCK_DIAG);

	return fd < 0 ? -errno : fd;
}

/*
 * Puts a's address and port in the diag id's words; false if not IP. An
 * IPv4 client of an IPv6 socket ("::ffff:127.0.0.1") made an IPv4 socket:
 * v4 says to put it as one.
 */
static bool id_end(const struct sockaddr *a, bool v4, __be32 addr[4],
		   __be16 *port)
{
	if (a->sa_family == AF_INET6 && v4) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;

		memcpy(addr, &in6->sin6_addr.s6_addr[12], 4);
		*port = in6->sin6_port;
		return true;
	}
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)a;

		memcpy(addr, &in->sin_addr, sizeof(in->sin_addr));
		*port = in->sin_port;
		return true;
	}
	if (a->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;

		memcpy(addr, &in6->sin6_addr, sizeof(in6->sin6_addr));
		*port = in6->sin6_port;
		return true;
	}
	return false;
}

/*
 * A socket that is, or was just now, one end of a connection. Not a
 * listener the address happens to match, nor a TIME_WAIT left-over, which
 * the kernel reports as uid 0.
 */
static bool is_connected(uint8_t state)
{
	switch (state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK:
	case TCP_CLOSING:
		return true;
	default:
		return false;
	}
}

int tcp_peer_uid(int fd, const struct sockaddr *peer,
		 const struct sockaddr *local, uid_t *ret)
{
	static uint32_t seq;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req),
			 .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST,
			 .nlmsg_seq = ++seq },
		.r = { .sdiag_family = (uint8_t)peer->sa_family,
		       .sdiag_protocol = IPPROTO_TCP,
		       .idiag_states = ~0u,
		       .id.idiag_cookie = { INET_DIAG_NOCOOKIE,
					    INET_DIAG_NOCOOKIE } },
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	bool v4 = peer->sa_family == AF_INET6 &&
		  IN6_IS_ADDR_V4MAPPED(
			  &((const struct sockaddr_in6 *)peer)->sin6_addr);
	/* Aligned for the headers read in place. */
	union {
		struct nlmsghdr nlh;
		char bytes[8192];
	} buf;

	if (peer->sa_family != local->sa_family ||
	    !id_end(peer, v4, req.r.id.idiag_src, &req.r.id.idiag_sport) ||
	    !id_end(local, v4, req.r.id.idiag_dst, &req.r.id.idiag_dport))
		return -EAFNOSUPPORT;
	if (v4)
		req.r.sdiag_family = AF_INET;
	if (sendto(fd, &req, sizeof(req), 0, (struct sockaddr *)&kernel,
		   sizeof(kernel)) < 0)
		return -errno;
	/* The kernel answers within sendto(): the reply is waiting. */
	for (unsigned i = 0; i < REPLIES_MAX; i++) {
		ssize_t n =
			recv(fd, buf.bytes, sizeof(buf.bytes), MSG_DONTWAIT);
		const struct nlmsghdr *h = &buf.nlh;
		const struct inet_diag_msg *m;

		if (n < 0)
			return -errno;
		if (!NLMSG_OK(h, (size_t)n))
			return -EBADMSG;
		if (h->nlmsg_seq != req.nlh.nlmsg_seq)
			continue; /* an answer to a lookup given up on */
		if (h->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			return e->error < 0 ? e->error : -ENOENT;
		}
		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			return -EBADMSG;
		m = NLMSG_DATA(h);
		/* The socket asked for, still connected, or none. */
		if (m->idiag_family != req.r.sdiag_family ||
		    m->id.idiag_sport != req.r.id.idiag_sport ||
		    m->id.idiag_dport != req.r.id.idiag_dport ||
		    memcmp(m->id.idiag_src, req.r.id.idiag_src,
			   sizeof(m->id.idiag_src)) != 0 ||
		    !is_connected(m->idiag_state))
			return -ENOENT;
		*ret = m->idiag_uid;
		return 0;
	}
	return -EAGAIN;
}
