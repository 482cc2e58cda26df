// SPDX-License-Identifier: GPL-2.0-or-later
/* The control socket, driven through real UNIX socket clients and sd-event. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "control.h"

/* Loop iterations a peer waits for a reply before the test fails. */
#define WAIT_ITERATIONS_MAX 200
#define WAIT_USEC	    (100 * 1000)

struct fixture {
	char dir[64];
	char path[96];
	sd_event *event;
	struct control *control;
	unsigned calls;
	struct control_reply *later; /* a request {"later":true} answered */
};

/* A test's end of a connection, with what it received but not yet read. */
struct peer {
	int fd;
	char *buf;
	size_t len;
};

/*
 * Echoes the request; {"big":N} gets a reply with an N byte string instead,
 * to try the reply limit.
 */
static json_t *handler(json_t *request, void *userdata)
{
	struct fixture *f = userdata;
	json_t *big = json_object_get(request, "big");
	json_t *reply;
	char *s;
	size_t n;

	f->calls++;
	/* Answered later, as lokerd's backup is. */
	if (json_is_true(json_object_get(request, "later"))) {
		f->later = control_defer(f->control);
		assert_non_null(f->later);
		return json_pack("{s:s}", "dropped", "never sent");
	}
	if (!big)
		return json_incref(request);
	n = (size_t)json_integer_value(big);
	s = malloc(n + 1);
	assert_non_null(s);
	memset(s, 'x', n);
	s[n] = '\0';
	reply = json_pack("{s:b, s:s}", "ok", 1, "data", s);
	free(s);
	return reply;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-control-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/control.sock", f->dir);
	assert_int_equal(sd_event_new(&f->event), 0);
	f->control = control_new(f->event, f->path, handler, f);
	assert_non_null(f->control);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	control_free(f->control);
	sd_event_unref(f->event);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

static struct peer *peer_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct peer *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	assert_int_equal(connect(p->fd, (struct sockaddr *)&addr, sizeof(addr)),
			 0);
	return p;
}

static void peer_free(struct peer *p)
{
	close(p->fd);
	free(p->buf);
	free(p);
}

/* Sends all of data, running the loop while the socket buffer is full. */
static void peer_send(struct fixture *f, struct peer *p, const void *data,
		      size_t len)
{
	const char *d = data;
	unsigned waits = 0;

	while (len > 0) {
		ssize_t n = send(p->fd, d, len, MSG_NOSIGNAL);

		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			assert_true(++waits < WAIT_ITERATIONS_MAX);
			assert_true(sd_event_run(f->event, WAIT_USEC) >= 0);
			continue;
		}
		d += n;
		len -= (size_t)n;
	}
}

static void peer_send_text(struct fixture *f, struct peer *p, const char *s)
{
	peer_send(f, p, s, strlen(s));
}

/*
 * Runs the loop until a whole reply line arrives; returns it without its
 * newline (the caller frees it), or NULL when the server closed instead.
 */
static char *peer_line(struct fixture *f, struct peer *p)
{
	unsigned waits = 0;

	for (;;) {
		char *nl = p->buf ? memchr(p->buf, '\n', p->len) : NULL;
		char chunk[65536];
		ssize_t n;

		if (nl) {
			size_t used = (size_t)(nl - p->buf) + 1;
			char *line = strndup(p->buf, used - 1);

			assert_non_null(line);
			memmove(p->buf, p->buf + used, p->len - used);
			p->len -= used;
			return line;
		}
		n = recv(p->fd, chunk, sizeof(chunk), 0);
		if (n == 0) {
			assert_int_equal(p->len, 0);
			return NULL;
		}
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			assert_true(++waits < WAIT_ITERATIONS_MAX);
			assert_true(sd_event_run(f->event, WAIT_USEC) >= 0);
			continue;
		}
		p->buf = realloc(p->buf, p->len + (size_t)n);
		assert_non_null(p->buf);
		memcpy(p->buf + p->len, chunk, (size_t)n);
		p->len += (size_t)n;
	}
}

/* Reads a reply line and checks it is an error with errno_name. */
static void expect_error(struct fixture *f, struct peer *p,
			 const char *errno_name, const char *message_part)
{
	char *line = peer_line(f, p);
	json_t *reply;

	assert_non_null(line);
	reply = json_loads(line, 0, NULL);
	assert_non_null(reply);
	assert_true(json_is_false(json_object_get(reply, "ok")));
	assert_string_equal(json_string_value(json_object_get(reply, "errno")),
			    errno_name);
	if (!strstr(json_string_value(json_object_get(reply, "error")),
		    message_part))
		fail_msg("reply '%s' lacks '%s'", line, message_part);
	json_decref(reply);
	free(line);
}

static void expect_line(struct fixture *f, struct peer *p, const char *expect)
{
	char *line = peer_line(f, p);

	assert_non_null(line);
	assert_string_equal(line, expect);
	free(line);
}

static void expect_closed(struct fixture *f, struct peer *p)
{
	assert_null(peer_line(f, p));
}

/* Runs the loop until the handler has been called `calls` times. */
static void run_until_calls(struct fixture *f, unsigned calls)
{
	for (unsigned i = 0; f->calls < calls; i++) {
		assert_true(i < WAIT_ITERATIONS_MAX);
		assert_true(sd_event_run(f->event, WAIT_USEC) >= 0);
	}
}

static void a_deferred_reply_comes_when_sent_and_holds_the_next(void **state)
{
	struct fixture *f = *state;
	struct peer *p = peer_connect(f->path), *q;
	char c;

	/* Outside the handler there is no request to answer later. */
	assert_null(control_defer(f->control));
	assert_int_equal(errno, ENOTCONN);

	peer_send_text(f, p, "{\"later\":true}\n{\"id\":2}\n");
	run_until_calls(f, 1);
	/* Meanwhile the loop turns; the client hears nothing, asks nothing. */
	for (unsigned i = 0; i < 20; i++)
		assert_true(sd_event_run(f->event, 1000) >= 0);
	assert_int_equal(f->calls, 1);
	assert_int_equal(recv(p->fd, &c, 1, MSG_PEEK), -1);
	assert_int_equal(errno, EAGAIN);
	control_reply_send(f->later, json_pack("{s:b}", "ok", 1));
	f->later = NULL;
	expect_line(f, p, "{\"ok\":true}");
	expect_line(f, p, "{\"id\":2}");
	assert_int_equal(f->calls, 2);

	/* A client gone meanwhile: the reply is dropped, and freed. */
	q = peer_connect(f->path);
	peer_send_text(f, q, "{\"later\":true}\n");
	run_until_calls(f, 3);
	peer_free(q);
	control_reply_send(f->later, json_pack("{s:b}", "ok", 1));
	f->later = NULL;
	for (unsigned i = 0; i < 5; i++)
		assert_true(sd_event_run(f->event, 1000) >= 0);

	/* Still waiting when the socket closes: the handle outlives it. */
	peer_send_text(f, p, "{\"later\":true}\n");
	run_until_calls(f, 4);
	control_free(f->control);
	f->control = NULL;
	control_reply_send(f->later, NULL);
	f->later = NULL;
	control_reply_send(NULL, NULL);
	peer_free(p);
}

static void answers_each_line_in_order(void **state)
{
	struct fixture *f = *state;
	struct peer *p = peer_connect(f->path);

	peer_send_text(f, p, "{\"id\":1}\n{\"id\":2}\n");
	peer_send_text(f, p, "{\"id\":3,\"cmd\":\"status\"}\n");
	expect_line(f, p, "{\"id\":1}");
	expect_line(f, p, "{\"id\":2}");
	expect_line(f, p, "{\"cmd\":\"status\",\"id\":3}");
	peer_send_text(f, p, "{\"id\":4}\n");
	expect_line(f, p, "{\"id\":4}");
	assert_int_equal(f->calls, 4);
	peer_free(p);
}

static void answers_one_request_per_loop_iteration_when_pipelined(void **state)
{
	struct fixture *f = *state;
	struct peer *p = peer_connect(f->path);

	peer_send_text(f, p, "{\"id\":1}\n{\"id\":2}\n{\"id\":3}\n");
	run_until_calls(f, 1);
	assert_int_equal(f->calls, 1);
	/* No new input arrives: the rest are answered from the buffer. */
	assert_true(sd_event_run(f->event, WAIT_USEC) > 0);
	assert_int_equal(f->calls, 2);
	assert_true(sd_event_run(f->event, WAIT_USEC) > 0);
	assert_int_equal(f->calls, 3);
	expect_line(f, p, "{\"id\":1}");
	expect_line(f, p, "{\"id\":2}");
	expect_line(f, p, "{\"id\":3}");
	peer_free(p);
}

struct timer_probe {
	struct fixture *f;
	unsigned calls_then; /* handler calls when the timer fired */
	bool fired;
};

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct timer_probe *t = userdata;

	t->calls_then = t->f->calls;
	t->fired = true;
	return 0;
}

static void a_timer_fires_between_pipelined_requests(void **state)
{
	struct fixture *f = *state;
	struct peer *p = peer_connect(f->path);
	struct timer_probe timer = { .f = f };
	char lines[64 * 16] = "";
	uint64_t now;

	for (unsigned i = 0; i < 64; i++)
		strcat(lines, "{\"x\":1}\n");
	peer_send_text(f, p, lines);
	run_until_calls(f, 1);
	assert_int_equal(sd_event_now(f->event, CLOCK_MONOTONIC, &now), 0);
	assert_int_equal(sd_event_add_time(f->event, NULL, CLOCK_MONOTONIC, now,
					   1, on_timer, &timer),
			 0);
	while (!timer.fired)
		assert_true(sd_event_run(f->event, WAIT_USEC) > 0);
	/* Not after the other 63 requests. */
	assert_in_range(timer.calls_then, 1, 3);
	for (unsigned i = 0; i < 64; i++)
		expect_line(f, p, "{\"x\":1}");
	peer_free(p);
}

static void replies_after_a_half_close(void **state)
{
	struct fixture *f = *state;
	struct peer *p = peer_connect(f->path);

	/* A last line without its newline is not a request. */
	peer_send_text(f, p, "{\"id\":1}\n{\"id\":2}\n{\"id\":3}");
	assert_int_equal(shutdown(p->fd, SHUT_WR), 0);
	expect_line(f, p, "{\"id\":1}");
	expect_line(f, p, "{\"id\":2}");
	expect_closed(f, p);
	assert_int_equal(f->calls, 2);
	peer_free(p);
}

static void refuses_a_nul_in_a_line(void **state)
{
	static const char line[] = "{\"cmd\":\"open\",\"locker\":7}\0garbage\n";
	struct fixture *f = *state;
	struct peer *p = peer_connect(f->path);

	peer_send(f, p, line, sizeof(line) - 1);
	expect_error(f, p, "EINVAL", "NUL");
	assert_int_equal(f->calls, 0);
	/* The connection goes on. */
	peer_send_text(f, p, "{\"id\":1}\n");
	expect_line(f, p, "{\"id\":1}");
	peer_free(p);
}

static void refuses_an_over_long_line_with_emsgsize(void **state)
{
	struct fixture *f = *state;
	struct peer *p = peer_connect(f->path);
	char *big = malloc(CONTROL_LINE_MAX);

	assert_non_null(big);
	memset(big, 'a', CONTROL_LINE_MAX);
	peer_send(f, p, big, CONTROL_LINE_MAX);
	expect_error(f, p, "EMSGSIZE", "request longer than 65536 bytes");
	expect_closed(f, p);
	assert_int_equal(f->calls, 0);
	free(big);
	peer_free(p);
}

static void refuses_non_json_and_non_object_requests(void **state)
{
	struct fixture *f = *state;
	struct peer *p = peer_connect(f->path);

	peer_send_text(f, p, "hello\n[1,2]\n\n{\"a\":1,\"a\":2}\n");
	expect_error(f, p, "EINVAL", "request is not JSON");
	expect_error(f, p, "EINVAL", "request must be a JSON object");
	expect_error(f, p, "EINVAL", "request is not JSON");
	expect_error(f, p, "EINVAL", "request is not JSON");
	assert_int_equal(f->calls, 0);
	peer_free(p);
}

static void a_17th_client_is_refused_with_ebusy(void **state)
{
	struct fixture *f = *state;
	struct peer *peers[CONTROL_CLIENTS_MAX + 1];

	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++) {
		peers[i] = peer_connect(f->path);
		/* A reply shows it was accepted. */
		peer_send_text(f, peers[i], "{}\n");
		expect_line(f, peers[i], "{}");
	}
	peers[CONTROL_CLIENTS_MAX] = peer_connect(f->path);
	expect_error(f, peers[CONTROL_CLIENTS_MAX], "EBUSY",
		     "too many control clients");
	expect_closed(f, peers[CONTROL_CLIENTS_MAX]);
	/* The others are still served. */
	peer_send_text(f, peers[0], "{\"id\":1}\n");
	expect_line(f, peers[0], "{\"id\":1}");
	for (unsigned i = 0; i <= CONTROL_CLIENTS_MAX; i++)
		peer_free(peers[i]);
}

static void a_stale_socket_file_is_replaced_but_a_live_one_is_not(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char stale[96], plain[96];
	struct control *c;
	struct peer *p;
	int fd;

	/* A socket file nobody listens on, as a killed lokerd leaves it. */
	snprintf(stale, sizeof(stale), "%s/stale.sock", f->dir);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", stale);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	c = control_new(f->event, stale, handler, f);
	assert_non_null(c);
	p = peer_connect(stale);
	peer_send_text(f, p, "{\"id\":1}\n");
	expect_line(f, p, "{\"id\":1}");
	peer_free(p);
	control_free(c);
	assert_int_equal(access(stale, F_OK), -1);

	errno = 0;
	assert_null(control_new(f->event, f->path, handler, f));
	assert_int_equal(errno, EADDRINUSE);
	/* The live one is untouched. */
	p = peer_connect(f->path);
	peer_send_text(f, p, "{\"id\":2}\n");
	expect_line(f, p, "{\"id\":2}");
	peer_free(p);

	/* Nor is a file that is not a socket. */
	snprintf(plain, sizeof(plain), "%s/plain", f->dir);
	fd = open(plain, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	errno = 0;
	assert_null(control_new(f->event, plain, handler, f));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(unlink(plain), 0);
}

static void the_socket_file_is_mode_0660(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
}

static void an_over_limit_reply_becomes_an_emsgsize_error(void **state)
{
	struct fixture *f = *state;
	struct peer *p = peer_connect(f->path);
	char request[64], *line;
	json_t *reply;

	/* Just under the limit: sent whole, over many loop iterations. */
	snprintf(request, sizeof(request), "{\"big\":%d}\n",
		 CONTROL_OUTPUT_MAX - 64);
	peer_send_text(f, p, request);
	line = peer_line(f, p);
	assert_non_null(line);
	reply = json_loads(line, 0, NULL);
	assert_non_null(reply);
	assert_int_equal(json_string_length(json_object_get(reply, "data")),
			 CONTROL_OUTPUT_MAX - 64);
	json_decref(reply);
	free(line);

	snprintf(request, sizeof(request), "{\"big\":%d}\n",
		 CONTROL_OUTPUT_MAX);
	peer_send_text(f, p, request);
	expect_error(f, p, "EMSGSIZE", "over the 1048576 byte limit");
	/* The connection goes on. */
	peer_send_text(f, p, "{\"id\":1}\n");
	expect_line(f, p, "{\"id\":1}");
	peer_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			a_deferred_reply_comes_when_sent_and_holds_the_next,
			setup, teardown),
		cmocka_unit_test_setup_teardown(answers_each_line_in_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			answers_one_request_per_loop_iteration_when_pipelined,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_timer_fires_between_pipelined_requests, setup,
			teardown),
		cmocka_unit_test_setup_teardown(replies_after_a_half_close,
						setup, teardown),
		cmocka_unit_test_setup_teardown(refuses_a_nul_in_a_line, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			refuses_an_over_long_line_with_emsgsize, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			refuses_non_json_and_non_object_requests, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_17th_client_is_refused_with_ebusy, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_stale_socket_file_is_replaced_but_a_live_one_is_not,
			setup, teardown),
		cmocka_unit_test_setup_teardown(the_socket_file_is_mode_0660,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			an_over_limit_reply_becomes_an_emsgsize_error, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
