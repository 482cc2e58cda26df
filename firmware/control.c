// SPDX-License-Identifier: GPL-2.0-or-later
/* The control socket: JSON lines over a UNIX stream socket, on sd-event. */
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "log.h"

/*
 * A client's requests are answered one per loop iteration, and only while
 * its previous reply is sent: a client pipelining many requests, or not
 * reading its replies, must not hold up the loop (a lock pulse timer would
 * fire late) nor make us buffer without bound.
 */
struct client {
	struct control *control;
	sd_event_source *source; /* io: EPOLLIN when idle, EPOLLOUT to flush */
	/*
	 * Answers the next buffered request; made anew each time, as sd-event
	 * orders sources of one priority by when they became pending and a
	 * defer source stays pending from its creation on: a lasting one
	 * would always run before a timer that fell due meanwhile.
	 */
	sd_event_source *defer;
	sd_event_source *idle; /* drops a client silent for too long */
	int fd;
	/* No more input: the client half-closed, or sent an over-long line. */
	bool input_done;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len;
	/* The request answered later, through control_reply_send(). */
	struct control_reply *deferred;
	/* Who connected (SO_PEERCRED, taken at accept), for the event log. */
	char peer[CONTROL_PEER_MAX + 1];
};

struct control_reply {
	struct client *client; /* NULL once the client is gone */
};

struct control {
	sd_event *event;
	sd_event_source *listen_source;
	int listen_fd;
	bool bound; /* the socket file is ours to remove */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_handler_t handler;
	void *userdata;
	struct client *clients[CONTROL_CLIENTS_MAX];
	struct client *answering; /* whose request the handler has */
	unsigned n_refused;	  /* since the last client taken */
};

json_t *control_error(int err, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", msg, "errno",
			 strerrorname_np(err > 0 ? err : -err) ?: "EIO");
}

static void client_free(struct client *cl)
{
	struct control *c = cl->control;

	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (c->clients[i] == cl)
			c->clients[i] = NULL;
	if (cl->deferred)
		cl->deferred->client = NULL;
	sd_event_source_disable_unref(cl->source);
	sd_event_source_disable_unref(cl->defer);
	sd_event_source_disable_unref(cl->idle);
	close(cl->fd);
	free(cl->in);
	free(cl->out);
	free(cl);
}

static int client_queue(struct client *cl, const char *text, size_t n)
{
	char *p;

	if (cl->out_len + n + 1 > CONTROL_OUTPUT_MAX)
		return -ENOBUFS;
	p = realloc(cl->out, cl->out_len + n + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p + cl->out_len, text, n);
	p[cl->out_len + n] = '\n';
	cl->out = p;
	cl->out_len += n + 1;
	return 0;
}

/* Queues reply (consumed) as one line; an error reply when it is too long. */
static int client_reply(struct client *cl, json_t *reply)
{
	char *text;
	size_t n;
	int err;

	if (!reply)
		reply = control_error(ENOMEM, "out of memory");
	if (!reply)
		return -ENOMEM;
	text = json_dumps(reply, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(reply);
	if (!text)
		return -ENOMEM;
	n = strlen(text);
	if (cl->out_len + n + 1 > CONTROL_OUTPUT_MAX) {
		/* Tell the client why rather than drop it silently. */
		log_warning(
			"control: a reply of %zu bytes is over the %d byte limit; sending an error instead",
			n + 1, CONTROL_OUTPUT_MAX);
		free(text);
		return client_reply(
			cl,
			control_error(
				EMSGSIZE,
				"reply of %zu bytes is over the %d byte limit",
				n + 1, CONTROL_OUTPUT_MAX));
	}
	err = client_queue(cl, text, n);
	free(text);
	return err;
}

static int client_answer(struct client *cl, const char *line, size_t len)
{
	struct control *c = cl->control;
	json_error_t jerr;
	json_t *req, *reply;

	/* json_loads() would stop at a NUL and run the text before it. */
	if (memchr(line, '\0', len))
		return client_reply(
			cl,
			control_error(EINVAL, "request contains a NUL byte"));
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!req)
		reply = control_error(EINVAL, "request is not JSON: %s",
				      jerr.text);
	else if (!json_is_object(req))
		reply = control_error(EINVAL, "request must be a JSON object");
	else {
		c->answering = cl;
		reply = c->handler(req, c->userdata);
		c->answering = NULL;
	}
	json_decref(req);
	if (cl->deferred) {
		json_decref(reply);
		return 0;
	}
	return client_reply(cl, reply);
}

struct control_reply *control_defer(struct control *c)
{
	struct control_reply *r;

	if (!c || !c->answering || c->answering->deferred) {
		errno = ENOTCONN;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->client = c->answering;
	r->client->deferred = r;
	return r;
}

static void client_settle(struct client *cl, int err);

void control_reply_send(struct control_reply *r, json_t *reply)
{
	struct client *cl;

	if (!r) {
		json_decref(reply);
		return;
	}
	cl = r->client;
	free(r);
	if (!cl) {
		json_decref(reply);
		return;
	}
	cl->deferred = NULL;
	client_settle(cl, reply ? client_reply(cl, reply) : -ECONNABORTED);
}

static int client_flush(struct client *cl)
{
	while (cl->out_len > 0) {
		ssize_t n = send(cl->fd, cl->out, cl->out_len, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		memmove(cl->out, cl->out + n, cl->out_len - (size_t)n);
		cl->out_len -= (size_t)n;
	}
	return 0;
}

/* True when a buffered request (or an over-long line) awaits an answer. */
static bool client_has_request(const struct client *cl)
{
	return cl->in_len > 0 && (memchr(cl->in, '\n', cl->in_len) ||
				  cl->in_len == CONTROL_LINE_MAX);
}

/* Answers the first buffered request, if any, once the last reply is sent. */
static int client_answer_one(struct client *cl)
{
	char *nl;
	size_t used;
	int err;

	if (cl->out_len > 0 || cl->in_len == 0)
		return 0;
	nl = memchr(cl->in, '\n', cl->in_len);
	if (!nl) {
		if (cl->in_len < CONTROL_LINE_MAX)
			return 0;
		/* No way to find the next request: answer, then hang up. */
		cl->in_len = 0;
		cl->input_done = true;
		return client_reply(
			cl,
			control_error(EMSGSIZE, "request longer than %d bytes",
				      CONTROL_LINE_MAX));
	}
	used = (size_t)(nl - cl->in) + 1;
	err = client_answer(cl, cl->in, used - 1);
	memmove(cl->in, cl->in + used, cl->in_len - used);
	cl->in_len -= used;
	return err;
}

/* One recv(): what arrived waits for client_answer_one(). */
static int client_read(struct client *cl)
{
	ssize_t n;

	if (!cl->in) {
		cl->in = malloc(CONTROL_LINE_MAX);
		if (!cl->in)
			return -ENOMEM;
	}
	n = recv(cl->fd, cl->in + cl->in_len, CONTROL_LINE_MAX - cl->in_len, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		cl->input_done = true;
	cl->in_len += (size_t)n;
	return 0;
}

static int client_next(sd_event_source *s, void *userdata);

/*
 * Decides what the client waits for next: its reply to drain (EPOLLOUT), its
 * next buffered request (the defer source, so that other sources run
 * between two requests), or more input (EPOLLIN). Returns 1 when nothing is
 * left to do for a client that sent its last request.
 */
static int client_rearm(struct client *cl)
{
	int err;

	/* Nothing read or answered until the pending reply is sent. */
	if (cl->deferred)
		return sd_event_source_set_enabled(cl->source, SD_EVENT_OFF);
	if (cl->out_len > 0) {
		err = sd_event_source_set_io_events(cl->source, EPOLLOUT);
		if (err >= 0)
			err = sd_event_source_set_enabled(cl->source,
							  SD_EVENT_ON);
		return err < 0 ? err : 0;
	}
	if (client_has_request(cl)) {
		err = sd_event_source_set_enabled(cl->source, SD_EVENT_OFF);
		if (err >= 0 && !cl->defer)
			err = sd_event_add_defer(cl->control->event, &cl->defer,
						 client_next, cl);
		return err < 0 ? err : 0;
	}
	if (cl->input_done)
		return 1; /* a partial last line is dropped: it has no end */
	err = sd_event_source_set_io_events(cl->source, EPOLLIN);
	if (err >= 0)
		err = sd_event_source_set_enabled(cl->source, SD_EVENT_ON);
	return err < 0 ? err : 0;
}

/* Ends a dispatch: flushes, then rearms or closes the client. */
static void client_settle(struct client *cl, int err)
{
	if (err >= 0)
		err = client_flush(cl);
	if (err >= 0)
		err = client_rearm(cl);
	if (err < 0 && err != -EPIPE && err != -ECONNRESET)
		log_debug("control: client dropped: %s", strerror(-err));
	/* Waiting for lokerd, a client is not silent. */
	if (err == 0 && cl->deferred) {
		err = sd_event_source_set_enabled(cl->idle, SD_EVENT_OFF);
	} else if (err == 0) {
		/* Anything done for the client counts as its sign of life. */
		err = sd_event_source_set_time_relative(
			cl->idle, CONTROL_IDLE_TIMEOUT_S * 1000000ULL);
		if (err == 0)
			err = sd_event_source_set_enabled(cl->idle,
							  SD_EVENT_ONESHOT);
	}
	if (err != 0)
		client_free(cl);
}

static int client_idle(sd_event_source *s, uint64_t usec, void *userdata)
{
	/* Not logged above debug: a crowd of them must not flood the log. */
	log_debug("control: a client silent for %d s dropped",
		  CONTROL_IDLE_TIMEOUT_S);
	client_free(userdata);
	return 0;
}

static int client_io(sd_event_source *s, int fd, uint32_t revents,
		     void *userdata)
{
	struct client *cl = userdata;
	int err = 0;

	/*
	 * EPOLLIN is only asked for with nothing left to send, and EPOLLOUT
	 * only with something; EPOLLHUP and EPOLLERR surface as an error of
	 * send() or an end of input from recv().
	 */
	if (cl->out_len == 0) {
		err = client_read(cl);
		if (err >= 0)
			err = client_answer_one(cl);
	}
	client_settle(cl, err);
	return 0;
}

static int client_next(sd_event_source *s, void *userdata)
{
	struct client *cl = userdata;

	cl->defer = sd_event_source_disable_unref(cl->defer);
	client_settle(cl, client_answer_one(cl));
	return 0;
}

/*
 * "uid=1000,user=alice,pid=4242": the kernel's word on who connected, as it
 * was when they did. A uid without a name in the user database is said as
 * a number only; one the kernel cannot tell is "unknown".
 */
/* A user name said as it is: 1 to 32 of ! to ~, none of , = " \\. */
static bool plain_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (name[i] < '!' || name[i] > '~' || strchr(",=\"\\", name[i]))
			return false;
	return true;
}

static void peer_describe(int fd, char ret[CONTROL_PEER_MAX + 1])
{
	struct passwd pw, *found = NULL;
	struct ucred cred;
	socklen_t n = sizeof(cred);
	char buf[1024];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &n) < 0) {
		snprintf(ret, CONTROL_PEER_MAX + 1, "unknown");
		return;
	}
	if (getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &found) != 0 ||
	    !found || !plain_name(found->pw_name))
		snprintf(ret, CONTROL_PEER_MAX + 1, "uid=%u,pid=%d",
			 (unsigned)cred.uid, (int)cred.pid);
	else if (snprintf(ret, CONTROL_PEER_MAX + 1, "uid=%u,user=%s,pid=%d",
			  (unsigned)cred.uid, found->pw_name,
			  (int)cred.pid) > CONTROL_PEER_MAX)
		/* Never a cut pid naming another process: no name then. */
		snprintf(ret, CONTROL_PEER_MAX + 1, "uid=%u,pid=%d",
			 (unsigned)cred.uid, (int)cred.pid);
}

const char *control_get_peer(const struct control *c)
{
	return c && c->answering ? c->answering->peer : NULL;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents,
		     void *userdata)
{
	struct control *c = userdata;
	struct client *cl;
	unsigned slot;
	int cfd, err;

	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return 0;
	for (slot = 0; slot < CONTROL_CLIENTS_MAX; slot++)
		if (!c->clients[slot])
			break;
	if (slot == CONTROL_CLIENTS_MAX) {
		static const char busy[] =
			"{\"ok\":false,\"error\":\"too many control clients\",\"errno\":\"EBUSY\"}\n";

		/*
		 * Said once until a client is taken again: a program
		 * connecting in a loop must not flood the log.
		 */
		if (c->n_refused++ == 0)
			log_warning(
				"control: refusing clients: %d already connected",
				CONTROL_CLIENTS_MAX);
		(void)!send(cfd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
		close(cfd);
		return 0;
	}
	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(cfd);
		return 0;
	}
	cl->control = c;
	cl->fd = cfd;
	peer_describe(cfd, cl->peer);
	err = sd_event_add_io(c->event, &cl->source, cfd, EPOLLIN, client_io,
			      cl);
	if (err >= 0)
		err = sd_event_add_time_relative(
			c->event, &cl->idle, CLOCK_MONOTONIC,
			CONTROL_IDLE_TIMEOUT_S * 1000000ULL, 0, client_idle,
			cl);
	if (err < 0) {
		log_warning("control: cannot watch a client: %s",
			    strerror(-err));
		sd_event_source_disable_unref(cl->source);
		close(cfd);
		free(cl);
		return 0;
	}
	c->clients[slot] = cl;
	if (c->n_refused) {
		log_notice(
			"control: taking clients again; %u refused meanwhile",
			c->n_refused);
		c->n_refused = 0;
	}
	return 0;
}

/* True when something accepts connections at addr. */
static bool socket_is_live(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return live;
}

struct control *control_new(sd_event *event, const char *path,
			    control_handler_t handler, void *userdata)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct control *c;
	struct stat st;
	mode_t old_umask;
	int err;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return NULL;
		}
		if (socket_is_live(&addr)) {
			errno = EADDRINUSE;
			return NULL;
		}
		unlink(path);
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->listen_fd = -1;
	c->event = sd_event_ref(event);
	c->handler = handler;
	c->userdata = userdata;
	memcpy(c->path, path, strlen(path) + 1);
	c->listen_fd =
		socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0)
		goto fail;
	/* Created 0660 from the start: no window where others could connect. */
	old_umask = umask(0117);
	err = bind(c->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old_umask);
	if (err < 0)
		goto fail;
	c->bound = true;
	if (listen(c->listen_fd, 16) < 0)
		goto fail;
	err = sd_event_add_io(event, &c->listen_source, c->listen_fd, EPOLLIN,
			      on_accept, c);
	if (err < 0) {
		errno = -err;
		goto fail;
	}
	return c;
fail:
	err = errno;
	control_free(c);
	errno = err;
	return NULL;
}

void control_free(struct control *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < CONTROL_CLIENTS_MAX; i++)
		if (c->clients[i])
			client_free(c->clients[i]);
	sd_event_source_disable_unref(c->listen_source);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	/* Only our own file: a failed bind() may have met someone else's. */
	if (c->bound)
		unlink(c->path);
	sd_event_unref(c->event);
	free(c);
}
