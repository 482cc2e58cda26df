// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The web UI's server (firmware/webui.c) on a real sd-event loop, asked by
 * real TCP clients on loopback: files, actions, the event stream and its
 * bounds.
 */
#include <arpa/inet.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "webui.h"

#define WAIT_ITERATIONS_MAX 200
#define WAIT_USEC	    (50 * 1000)

struct fixture {
	char dir[64];
	sd_event *event;
	struct webui *webui;
	unsigned port;
	int generation;	   /* what the state says; a change is pushed */
	unsigned n_states; /* how often the state was built */
	json_t *last_command;
};

struct peer {
	int fd;
	char buf[16384];
	size_t len;
};

static json_t *fake_state(void *userdata)
{
	struct fixture *f = userdata;

	f->n_states++;
	return json_pack("{s:i}", "generation", f->generation);
}

static uint64_t fake_generation(void *userdata)
{
	struct fixture *f = userdata;

	return (uint64_t)f->generation;
}

static json_t *fake_command(json_t *request, void *userdata)
{
	struct fixture *f = userdata;

	json_decref(f->last_command);
	f->last_command = json_incref(request);
	if (strcmp(json_string_value(json_object_get(request, "cmd")),
		   "open") == 0)
		return json_pack("{s:b, s:s, s:s}", "ok", 0, "error",
				 "no staff session", "errno", "EPERM");
	return json_pack("{s:b}", "ok", 1);
}

static const struct webui_ops ops = {
	.state = fake_state,
	.command = fake_command,
	.generation = fake_generation,
};

/* screen_user: as webui_config says; NULL, this test's own user. */
static int setup_for(void **state, const char *screen_user)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct webui_config c = { .address = "127.0.0.1",
				  .port = 0,
				  .screen_user = screen_user };
	char path[128];
	FILE *file;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-webui.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/index.html", f->dir);
	file = fopen(path, "w");
	assert_non_null(file);
	fputs("<!doctype html><title>lokerbuku</title>\n", file);
	fclose(file);
	assert_int_equal(sd_event_new(&f->event), 0);
	c.ui_dir = f->dir;
	f->webui = webui_new(f->event, &c, &ops, f);
	assert_non_null(f->webui);
	assert_int_equal(sscanf(webui_get_url(f->webui), "http://127.0.0.1:%u/",
				&f->port),
			 1);
	*state = f;
	return 0;
}

/* This test is the screen. */
static int setup(void **state)
{
	return setup_for(state, NULL);
}

/* This test is someone else: the screen is a user it is not. */
static int setup_other(void **state)
{
	static char uid[16];

	snprintf(uid, sizeof(uid), "%u", (unsigned)getuid() + 4242u);
	return setup_for(state, uid);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	webui_free(f->webui);
	sd_event_unref(f->event);
	json_decref(f->last_command);
	snprintf(path, sizeof(path), "%s/index.html", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void peer_connect(struct fixture *f, struct peer *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)f->port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->len = 0;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(p->fd >= 0);
	/* Loopback: the connection is queued at once, accepted by the loop. */
	if (connect(p->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		assert_int_equal(errno, EINPROGRESS);
}

static void peer_send(struct fixture *f, struct peer *p, const char *text)
{
	size_t n = strlen(text), done = 0;

	for (unsigned i = 0; done < n && i < WAIT_ITERATIONS_MAX; i++) {
		ssize_t k = write(p->fd, text + done, n - done);

		if (k > 0)
			done += (size_t)k;
		else
			sd_event_run(f->event, WAIT_USEC);
	}
	assert_int_equal(done, n);
}

/* Runs the loop until the peer has received needle. */
static void peer_wait_for(struct fixture *f, struct peer *p, const char *needle)
{
	for (unsigned i = 0; i < WAIT_ITERATIONS_MAX; i++) {
		ssize_t k = read(p->fd, p->buf + p->len,
				 sizeof(p->buf) - 1 - p->len);

		if (k > 0)
			p->len += (size_t)k;
		p->buf[p->len] = '\0';
		if (strstr(p->buf, needle))
			return;
		sd_event_run(f->event, WAIT_USEC);
	}
	fail_msg("never received \"%s\"; got \"%s\"", needle, p->buf);
}

static void request(struct fixture *f, struct peer *p, const char *method,
		    const char *path, const char *headers, const char *body)
{
	char text[8192];

	snprintf(text, sizeof(text),
		 "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%s"
		 "Content-Length: %zu\r\n\r\n%s",
		 method, path, f->port, headers, strlen(body), body);
	peer_connect(f, p);
	peer_send(f, p, text);
}

static void serves_files_with_a_content_security_policy(void **state)
{
	struct fixture *f = *state;
	struct peer p;

	request(f, &p, "GET", "/", "", "");
	peer_wait_for(f, &p, "<title>lokerbuku</title>");
	assert_non_null(strstr(p.buf, "HTTP/1.1 200"));
	assert_non_null(strstr(p.buf, "Content-Type: text/html"));
	assert_non_null(
		strstr(p.buf, "Content-Security-Policy: default-src 'self'"));
	assert_non_null(strstr(p.buf, "X-Content-Type-Options: nosniff"));
	close(p.fd);

	request(f, &p, "GET", "/missing.js", "", "");
	peer_wait_for(f, &p, "\r\n\r\n");
	assert_non_null(strstr(p.buf, "HTTP/1.1 404"));
	close(p.fd);
}

static void passes_checked_actions_to_the_handler(void **state)
{
	struct fixture *f = *state;
	struct peer p;

	request(f, &p, "POST", "/api/action",
		"Content-Type: application/json\r\n",
		"{\"action\":\"pin\",\"pin\":\"2468\"}");
	peer_wait_for(f, &p, "{\"ok\":true}");
	assert_non_null(strstr(p.buf, "HTTP/1.1 200"));
	assert_non_null(strstr(p.buf, "Cache-Control: no-store"));
	assert_string_equal(
		json_string_value(json_object_get(f->last_command, "pin")),
		"2468");
	close(p.fd);

	/* A refusal for want of a session is a 403. */
	request(f, &p, "POST", "/api/action",
		"Content-Type: application/json\r\n",
		"{\"action\":\"open\",\"locker\":3}");
	peer_wait_for(f, &p, "EPERM");
	assert_non_null(strstr(p.buf, "HTTP/1.1 403"));
	close(p.fd);

	/* A foreign page's request never reaches the handler. */
	json_decref(f->last_command);
	f->last_command = NULL;
	request(f, &p, "POST", "/api/action",
		"Content-Type: application/json\r\n"
		"Origin: http://evil.example\r\n",
		"{\"action\":\"cancel\"}");
	peer_wait_for(f, &p, "other origins");
	assert_non_null(strstr(p.buf, "HTTP/1.1 403"));
	assert_null(f->last_command);
	close(p.fd);
}

static void refuses_a_large_body_before_reading_it(void **state)
{
	struct fixture *f = *state;
	struct peer p;

	peer_connect(f, &p);
	peer_send(f, &p,
		  "POST /api/action HTTP/1.1\r\nHost: 127.0.0.1:1\r\n"
		  "Content-Type: application/json\r\n"
		  "Content-Length: 100000000\r\n\r\n{");
	/* Refused on its size, before the Host is even looked at. */
	peer_wait_for(f, &p, "larger than 4096 bytes");
	assert_non_null(strstr(p.buf, "HTTP/1.1 413"));
	close(p.fd);
}

static int on_poke(sd_event_source *s, void *userdata)
{
	return 0;
}

static void pushes_each_change_to_every_stream(void **state)
{
	struct fixture *f = *state;
	struct peer a, b;
	sd_event_source *poke;

	request(f, &a, "GET", "/api/events", "", "");
	peer_wait_for(f, &a, "data: {\"generation\":0}\n\n");
	assert_non_null(strstr(a.buf, "Content-Type: text/event-stream"));
	request(f, &b, "GET", "/api/events", "", "");
	peer_wait_for(f, &b, "data: {\"generation\":0}\n\n");

	/* A change, then a turn of the loop: both streams hear of it. */
	f->generation = 1;
	assert_int_equal(sd_event_add_defer(f->event, &poke, on_poke, NULL), 0);
	peer_wait_for(f, &b, "event: state\ndata: {\"generation\":1}\n\n");
	peer_wait_for(f, &a, "event: state\ndata: {\"generation\":1}\n\n");
	sd_event_source_disable_unref(poke);

	/* Nothing changed: nothing more is sent. */
	a.len = 0;
	a.buf[0] = '\0';
	for (unsigned i = 0; i < 5; i++)
		sd_event_run(f->event, 10000);
	assert_int_equal(read(a.fd, a.buf, sizeof(a.buf)), -1);
	assert_int_equal(errno, EAGAIN);
	close(a.fd);
	/* b stays open: webui_free() must end it. */
}

/*
 * Work on the loop, turn after turn. Made pending anew each time, so the
 * turns' post sources (the web UI's push) run between.
 */
static int on_busy(sd_event_source *s, void *userdata)
{
	unsigned *n = userdata;

	(*n)++;
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void builds_the_state_only_when_it_changed(void **state)
{
	struct fixture *f = *state;
	sd_event_source *busy;
	unsigned turns = 0, built;
	struct peer a;

	request(f, &a, "GET", "/api/events", "", "");
	peer_wait_for(f, &a, "data: {\"generation\":0}\n\n");
	built = f->n_states;

	/* A busy loop (a large pull, a crowd of taps): nothing shown moved. */
	assert_int_equal(sd_event_add_defer(f->event, &busy, on_busy, &turns),
			 0);
	/* Below the server's own sources, which must still get their turns. */
	assert_int_equal(
		sd_event_source_set_priority(busy, SD_EVENT_PRIORITY_IDLE), 0);
	assert_int_equal(sd_event_source_set_enabled(busy, SD_EVENT_ONESHOT),
			 0);
	for (unsigned i = 0; i < 1000; i++)
		assert_true(sd_event_run(f->event, 0) >= 0);
	/* Each followed by the post sources' turn. */
	assert_true(turns >= 300);
	assert_int_equal(f->n_states, built);

	/* A change: built once, pushed once, however many turns follow. */
	f->generation = 1;
	peer_wait_for(f, &a, "data: {\"generation\":1}\n\n");
	for (unsigned i = 0; i < 500; i++)
		assert_true(sd_event_run(f->event, 0) >= 0);
	assert_int_equal(f->n_states, built + 1);
	sd_event_source_disable_unref(busy);
	close(a.fd);
}

/* The screen's ninth stream ends its oldest: the screen is never refused. */
static void the_screen_always_gets_a_stream(void **state)
{
	struct fixture *f = *state;
	struct peer p[WEBUI_STREAMS_MAX + 1];

	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++) {
		request(f, &p[i], "GET", "/api/events", "", "");
		peer_wait_for(f, &p[i], "data: ");
	}
	request(f, &p[WEBUI_STREAMS_MAX], "GET", "/api/events", "", "");
	peer_wait_for(f, &p[WEBUI_STREAMS_MAX], "data: ");
	/* The oldest got the end of its chunked stream. */
	peer_wait_for(f, &p[0], "\r\n0\r\n\r\n");
	for (unsigned i = 0; i <= WEBUI_STREAMS_MAX; i++)
		close(p[i].fd);
}

/*
 * Anyone else: the idle state without names or holds, no action, and
 * their own share of streams, beyond which they are refused.
 */
static void others_may_only_look_within_their_share(void **state)
{
	struct fixture *f = *state;
	struct peer p[WEBUI_PUBLIC_STREAMS_MAX + 1];

	request(f, &p[0], "POST", "/api/action",
		"Content-Type: application/json\r\n",
		"{\"action\":\"pin\",\"pin\":\"2468\"}");
	peer_wait_for(f, &p[0], "only the kiosk's screen may act");
	assert_non_null(strstr(p[0].buf, "HTTP/1.1 403"));
	assert_null(f->last_command);
	close(p[0].fd);

	request(f, &p[0], "GET", "/api/state", "", "");
	peer_wait_for(f, &p[0], "\"staff\":null}");
	assert_non_null(strstr(p[0].buf, "\"screen\":{\"name\":\"idle\"}"));
	assert_null(strstr(p[0].buf, "generation"));
	close(p[0].fd);

	for (unsigned i = 0; i < WEBUI_PUBLIC_STREAMS_MAX; i++) {
		request(f, &p[i], "GET", "/api/events", "", "");
		peer_wait_for(f, &p[i], "data: {");
	}
	assert_null(strstr(p[0].buf, "generation"));
	request(f, &p[WEBUI_PUBLIC_STREAMS_MAX], "GET", "/api/events", "", "");
	peer_wait_for(f, &p[WEBUI_PUBLIC_STREAMS_MAX],
		      "too many event streams");
	assert_non_null(
		strstr(p[WEBUI_PUBLIC_STREAMS_MAX].buf, "HTTP/1.1 503"));
	close(p[WEBUI_PUBLIC_STREAMS_MAX].fd);

	/* A client that hung up gives its place to the next. */
	close(p[0].fd);
	request(f, &p[0], "GET", "/api/events", "", "");
	peer_wait_for(f, &p[0], "data: ");
	for (unsigned i = 0; i < WEBUI_PUBLIC_STREAMS_MAX; i++)
		close(p[i].fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			serves_files_with_a_content_security_policy, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			passes_checked_actions_to_the_handler, setup, teardown),
		cmocka_unit_test_setup_teardown(
			refuses_a_large_body_before_reading_it, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			pushes_each_change_to_every_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(
			builds_the_state_only_when_it_changed, setup, teardown),
		cmocka_unit_test_setup_teardown(the_screen_always_gets_a_stream,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			others_may_only_look_within_their_share, setup_other,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
