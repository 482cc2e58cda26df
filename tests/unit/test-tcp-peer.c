// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Who holds the other end of a loopback TCP connection
 * (firmware/tcp-peer.c), asked of the real kernel: over IPv4, IPv6 and
 * IPv4 through an IPv6 socket, for this process's uid and, when the test
 * may change uid, another's; a client gone is no one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tcp-peer.h"

#define OTHER_UID 65534 /* nobody */

struct conn {
	int listen_fd, client_fd, server_fd;
	struct sockaddr_storage peer, local; /* as the server sees them */
};

/* A listener on addr (port 0); false when this family is not here. */
static bool conn_listen(struct conn *c, const struct sockaddr *addr,
			socklen_t n, bool v6only)
{
	int off = 0;

	memset(c, 0, sizeof(*c));
	c->client_fd = c->server_fd = -1;
	c->listen_fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		return false;
	if (addr->sa_family == AF_INET6 && !v6only)
		assert_int_equal(setsockopt(c->listen_fd, IPPROTO_IPV6,
					    IPV6_V6ONLY, &off, sizeof(off)),
				 0);
	if (bind(c->listen_fd, addr, n) < 0) {
		close(c->listen_fd);
		return false;
	}
	assert_int_equal(listen(c->listen_fd, 4), 0);
	return true;
}

static void conn_accept(struct conn *c)
{
	socklen_t pn = sizeof(c->peer), ln = sizeof(c->local);

	c->server_fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c->server_fd >= 0);
	assert_int_equal(
		getpeername(c->server_fd, (struct sockaddr *)&c->peer, &pn), 0);
	assert_int_equal(
		getsockname(c->server_fd, (struct sockaddr *)&c->local, &ln),
		0);
}

/* Connects to the listener at to (its port filled in), and accepts. */
static void conn_connect(struct conn *c, struct sockaddr *to, socklen_t n)
{
	struct sockaddr_storage bound;
	socklen_t bn = sizeof(bound);

	assert_int_equal(
		getsockname(c->listen_fd, (struct sockaddr *)&bound, &bn), 0);
	if (to->sa_family == AF_INET)
		((struct sockaddr_in *)to)->sin_port =
			((struct sockaddr_in *)&bound)->sin_port;
	else
		((struct sockaddr_in6 *)to)->sin6_port =
			((struct sockaddr_in6 *)&bound)->sin6_port;
	c->client_fd = socket(to->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->client_fd >= 0);
	assert_int_equal(connect(c->client_fd, to, n), 0);
	conn_accept(c);
}

static void conn_close(struct conn *c)
{
	if (c->client_fd >= 0)
		close(c->client_fd);
	if (c->server_fd >= 0)
		close(c->server_fd);
	close(c->listen_fd);
}

static int ask(struct conn *c, uid_t *uid)
{
	int fd = tcp_peer_open(), r;

	assert_true(fd >= 0);
	r = tcp_peer_uid(fd, (struct sockaddr *)&c->peer,
			 (struct sockaddr *)&c->local, uid);
	close(fd);
	return r;
}

static struct sockaddr_in v4(const char *ip)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

static struct sockaddr_in6 v6(const char *ip)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };

	assert_int_equal(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
	return a;
}

static void names_our_own_uid_over_ipv4(void **state)
{
	struct sockaddr_in a = v4("127.0.0.1"), to = v4("127.0.0.1");
	struct conn c;
	uid_t uid = (uid_t)-1;

	assert_true(conn_listen(&c, (struct sockaddr *)&a, sizeof(a), true));
	conn_connect(&c, (struct sockaddr *)&to, sizeof(to));
	assert_int_equal(ask(&c, &uid), 0);
	assert_int_equal(uid, getuid());
	conn_close(&c);
}

static void names_our_own_uid_over_ipv6_and_mapped_ipv4(void **state)
{
	struct sockaddr_in6 a = v6("::1"), to6 = v6("::1"), any = v6("::");
	struct sockaddr_in to4 = v4("127.0.0.1");
	struct conn c;
	uid_t uid = (uid_t)-1;

	if (!conn_listen(&c, (struct sockaddr *)&a, sizeof(a), true))
		skip(); /* no IPv6 loopback here */
	conn_connect(&c, (struct sockaddr *)&to6, sizeof(to6));
	assert_int_equal(ask(&c, &uid), 0);
	assert_int_equal(uid, getuid());
	conn_close(&c);

	/* An IPv4 client of a dual-stack listener: "::ffff:127.0.0.1". */
	assert_true(
		conn_listen(&c, (struct sockaddr *)&any, sizeof(any), false));
	conn_connect(&c, (struct sockaddr *)&to4, sizeof(to4));
	assert_int_equal(c.peer.ss_family, AF_INET6);
	uid = (uid_t)-1;
	assert_int_equal(ask(&c, &uid), 0);
	assert_int_equal(uid, getuid());
	conn_close(&c);
}

/* A client of another uid is named as that uid, not ours. */
static void names_another_users_uid(void **state)
{
	struct sockaddr_in a = v4("127.0.0.1"), to = v4("127.0.0.1");
	struct sockaddr_storage bound;
	socklen_t bn = sizeof(bound);
	struct conn c;
	uid_t uid = (uid_t)-1;
	int status, go[2];
	pid_t pid;

	if (geteuid() != 0)
		skip(); /* only root may become another user */
	assert_true(conn_listen(&c, (struct sockaddr *)&a, sizeof(a), true));
	assert_int_equal(
		getsockname(c.listen_fd, (struct sockaddr *)&bound, &bn), 0);
	to.sin_port = ((struct sockaddr_in *)&bound)->sin_port;
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char byte;
		int fd;

		close(go[1]);
		if (setresgid(OTHER_UID, OTHER_UID, OTHER_UID) < 0 ||
		    setresuid(OTHER_UID, OTHER_UID, OTHER_UID) < 0)
			_exit(2);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 ||
		    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
			_exit(3);
		/* Held until the parent has asked. */
		(void)!read(go[0], &byte, 1);
		_exit(0);
	}
	close(go[0]);
	conn_accept(&c);
	assert_int_equal(ask(&c, &uid), 0);
	assert_int_equal(uid, OTHER_UID);
	close(go[1]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	conn_close(&c);
}

static void a_client_gone_is_no_one(void **state)
{
	struct sockaddr_in a = v4("127.0.0.1"), to = v4("127.0.0.1");
	struct linger reset = { .l_onoff = 1, .l_linger = 0 };
	struct sockaddr_un {
		sa_family_t family;
	} unix_addr = { AF_UNIX };
	struct conn c;
	uid_t uid = 12345;
	int fd;

	assert_true(conn_listen(&c, (struct sockaddr *)&a, sizeof(a), true));
	conn_connect(&c, (struct sockaddr *)&to, sizeof(to));
	/* Reset, not closed: no socket of the client is left at all. */
	assert_int_equal(setsockopt(c.client_fd, SOL_SOCKET, SO_LINGER, &reset,
				    sizeof(reset)),
			 0);
	close(c.client_fd);
	c.client_fd = -1;
	assert_int_equal(ask(&c, &uid), -ENOENT);
	assert_int_equal(uid, 12345);
	conn_close(&c);

	fd = tcp_peer_open();
	assert_true(fd >= 0);
	assert_int_equal(tcp_peer_uid(fd, (struct sockaddr *)&unix_addr,
				      (struct sockaddr *)&unix_addr, &uid),
			 -EAFNOSUPPORT);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_our_own_uid_over_ipv4),
		cmocka_unit_test(names_our_own_uid_over_ipv6_and_mapped_ipv4),
		cmocka_unit_test(names_another_users_uid),
		cmocka_unit_test(a_client_gone_is_no_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
