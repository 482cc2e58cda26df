// SPDX-License-Identifier: GPL-2.0-or-later
/* The touchscreen's web server, on libmicrohttpd in external-poll mode. */
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "webui-request.h"
#include "webui.h"

#define HEADERS_MAX  (32 * 1024) /* MHD's memory for one request's headers */
#define STREAM_BLOCK 4096

/* Every reply: only our own files may run, be shown or be fetched. */
#define CONTENT_SECURITY_POLICY                                         \
	"default-src 'self'; img-src 'self' data:; object-src 'none'; " \
	"base-uri 'none'; frame-ancestors 'none'; form-action 'none'"

/*
 * One Server-Sent Events client. Every message is the whole state, so a
 * client that falls behind gets only the newest: at most the message being
 * sent and one more are held.
 */
struct stream {
	struct webui *webui;
	struct MHD_Connection *connection;
	bool suspended;
	char *sending; /* the message under way, or NULL */
	size_t sending_len, sent;
	char *next;   /* the newest message not started, or NULL */
	bool dropped; /* its client hung up: ends at its next read */
};

struct webui {
	sd_event *event;
	struct httpd *httpd;
	const struct webui_ops *ops;
	void *userdata;
	int dir_fd;
	struct webui_request_policy policy;
	char host[64], alt_host[64], url[WEBUI_URL_MAX];
	sd_event_source *post, *keepalive;
	struct stream *streams[WEBUI_STREAMS_MAX];
	char *last_state;    /* as last pushed, compact JSON */
	uint64_t generation; /* ops->generation() of last_state */
	bool stopping;
};

/* A POST body as it arrives. */
struct upload {
	char body[WEBUI_REQUEST_BODY_MAX];
	size_t len;
};

static void add_common_headers(struct MHD_Response *r, bool api)
{
	MHD_add_response_header(r, "Content-Security-Policy",
				CONTENT_SECURITY_POLICY);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
				api ? "no-store" : "no-cache");
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     struct MHD_Response *r, bool api)
{
	enum MHD_Result ret;

	if (!r)
		return MHD_NO; /* out of memory: MHD closes the connection */
	add_common_headers(r, api);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* A JSON reply; takes the reference to body. */
static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status,
				  json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct MHD_Response *r;

	json_decref(body);
	if (!text)
		return MHD_NO;
	r = MHD_create_response_from_buffer(strlen(text), text,
					    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json");
	return reply(c, status, r, true);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status,
				   const char *why)
{
	return reply_json(c, status,
			  json_pack("{s:b, s:s}", "ok", 0, "error", why));
}

static enum MHD_Result reply_file(struct webui *w, struct MHD_Connection *c,
				  const struct webui_request_answer *a)
{
	struct MHD_Response *r;
	struct stat st;
	int fd;

	fd = w->dir_fd < 0 ? -1 :
			     openat(w->dir_fd, a->path,
				    O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such file");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > WEBUI_FILE_MAX) {
		close(fd);
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no such file");
	}
	r = MHD_create_response_from_fd((size_t)st.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				a->content_type);
	return reply(c, MHD_HTTP_OK, r, false);
}

/* The control handler's refusals that are the asker's fault. */
static unsigned command_status(json_t *reply)
{
	const char *err = json_string_value(json_object_get(reply, "errno"));

	if (json_is_true(json_object_get(reply, "ok")) || !err)
		return MHD_HTTP_OK;
	if (strcmp(err, "EPERM") == 0)
		return MHD_HTTP_FORBIDDEN;
	if (strcmp(err, "EINVAL") == 0)
		return MHD_HTTP_BAD_REQUEST;
	return MHD_HTTP_OK;
}

/* ---- Server-Sent Events ---- */

static char *state_message(struct webui *w, char **ret_state)
{
	/* Taken first: a change while the state is built is seen next turn. */
	uint64_t generation =
		w->ops->generation ? w->ops->generation(w->userdata) : 0;
	json_t *state = w->ops->state(w->userdata);
	char *text = state ? json_dumps(state, JSON_COMPACT) : NULL, *msg;

	json_decref(state);
	if (!text)
		return NULL;
	/* A browser that lost the stream asks again after a second. */
	if (asprintf(&msg, "retry: 1000\nevent: state\ndata: %s\n\n", text) <
	    0) {
		free(text);
		return NULL;
	}
	w->generation = generation;
	*ret_state = text;
	return msg;
}

/* Queues msg (taken) as the stream's next message, and wakes it. */
static void stream_queue(struct stream *s, char *msg)
{
	free(s->next);
	s->next = msg;
	if (s->suspended) {
		s->suspended = false;
		MHD_resume_connection(s->connection);
		httpd_wake(s->webui->httpd);
	}
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t n;

	if (s->webui->stopping || s->dropped)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (!s->sending) {
		if (!s->next) {
			/* Nothing to say: sleep until stream_queue(). */
			s->suspended = true;
			MHD_suspend_connection(s->connection);
			return 0;
		}
		s->sending = s->next;
		s->sending_len = strlen(s->sending);
		s->sent = 0;
		s->next = NULL;
	}
	n = s->sending_len - s->sent;
	if (n > max)
		n = max;
	memcpy(buf, s->sending + s->sent, n);
	s->sent += n;
	if (s->sent == s->sending_len) {
		free(s->sending);
		s->sending = NULL;
	}
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++)
		if (s->webui->streams[i] == s)
			s->webui->streams[i] = NULL;
	free(s->sending);
	free(s->next);
	free(s);
}

/*
 * A sleeping stream does not see its client go: when every place is taken,
 * the streams whose clients hung up give theirs up at once.
 */
static void drop_hung_up_streams(struct webui *w)
{
	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++) {
		struct stream *s = w->streams[i];
		const union MHD_ConnectionInfo *info;
		struct pollfd pfd = { .events = POLLIN | POLLRDHUP };

		if (!s)
			continue;
		info = MHD_get_connection_info(
			s->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (!info)
			continue;
		pfd.fd = info->connect_fd;
		if (poll(&pfd, 1, 0) <= 0 ||
		    !(pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			continue;
		s->dropped = true;
		w->streams[i] = NULL;
		if (s->suspended) {
			s->suspended = false;
			MHD_resume_connection(s->connection);
			httpd_wake(w->httpd);
		}
	}
}

static enum MHD_Result reply_stream(struct webui *w, struct MHD_Connection *c)
{
	struct MHD_Response *r;
	struct stream *s;
	char *state = NULL;
	unsigned slot;

	for (slot = 0; slot < WEBUI_STREAMS_MAX && w->streams[slot]; slot++)
		;
	if (slot == WEBUI_STREAMS_MAX) {
		drop_hung_up_streams(w);
		for (slot = 0; slot < WEBUI_STREAMS_MAX && w->streams[slot];
		     slot++)
			;
	}
	if (slot == WEBUI_STREAMS_MAX)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "too many event streams");
	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	s->webui = w;
	s->connection = c;
	/* The state at once, so the screen needs no second request. */
	s->next = state_message(w, &state);
	if (!s->next) {
		free(s);
		return MHD_NO;
	}
	free(w->last_state);
	w->last_state = state;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK,
					      stream_read, s, stream_free);
	if (!r) {
		stream_free(s);
		return MHD_NO;
	}
	w->streams[slot] = s;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/event-stream");
	return reply(c, MHD_HTTP_OK, r, true);
}

/* After every turn of the loop: a changed state goes to every stream. */
static int on_post(sd_event_source *src, void *userdata)
{
	struct webui *w = userdata;
	char *msg, *state = NULL;
	unsigned n = 0;

	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++)
		n += w->streams[i] != NULL;
	if (n == 0)
		return 0;
	/* Nothing it shows has changed: not built, no database read. */
	if (w->last_state && w->ops->generation &&
	    w->ops->generation(w->userdata) == w->generation)
		return 0;
	msg = state_message(w, &state);
	if (!msg)
		return 0; /* out of memory: the next turn tries again */
	if (w->last_state && strcmp(state, w->last_state) == 0) {
		free(msg);
		free(state);
		return 0;
	}
	free(w->last_state);
	w->last_state = state;
	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++) {
		char *copy;

		if (!w->streams[i])
			continue;
		copy = --n ? strdup(msg) : msg;
		if (copy)
			stream_queue(w->streams[i], copy);
	}
	return 0;
}

/* A comment now and then, so a dead connection is found at both ends. */
static int on_keepalive(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct webui *w = userdata;

	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++) {
		struct stream *s = w->streams[i];
		char *msg;

		if (!s || s->sending || s->next)
			continue;
		msg = strdup(": keep-alive\n\n");
		if (msg)
			stream_queue(s, msg);
	}
	sd_event_source_set_time_relative(src, WEBUI_KEEPALIVE_USEC);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

/* ---- requests ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *data_size, void **req_cls)
{
	struct webui *w = cls;
	struct upload *up = *req_cls;
	struct webui_request r = { .method = method, .path = url };
	struct webui_request_answer a;
	const char *why;
	int status;

	if (strcmp(method, "POST") == 0) {
		if (!up) {
			const char *length = MHD_lookup_connection_value(
				c, MHD_HEADER_KIND,
				MHD_HTTP_HEADER_CONTENT_LENGTH);

			/* Refused before a byte of it is read. */
			if (length &&
			    strtoull(length, NULL, 10) > WEBUI_REQUEST_BODY_MAX)
				return reply_error(
					c, MHD_HTTP_CONTENT_TOO_LARGE,
					"the body is larger than 4096 bytes");
			/* The body comes in the calls that follow. */
			up = calloc(1, sizeof(*up));
			if (!up)
				return MHD_NO;
			*req_cls = up;
			return MHD_YES;
		}
		if (*data_size) {
			/* A chunked body that outgrows its bound: hang up. */
			if (*data_size > sizeof(up->body) - up->len)
				return MHD_NO;
			memcpy(up->body + up->len, data, *data_size);
			up->len += *data_size;
			*data_size = 0;
			return MHD_YES;
		}
		r.body = up->body;
		r.body_len = up->len;
	}
	r.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	r.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	r.sec_fetch_site = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						       "Sec-Fetch-Site");
	r.content_type =
		MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	status = webui_request_decide(&r, &w->policy, &a, &why);
	if (status)
		return reply_error(c, (unsigned)status, why);
	switch (a.route) {
	case WEBUI_REQUEST_ROUTE_FILE:
		return reply_file(w, c, &a);
	case WEBUI_REQUEST_ROUTE_STATE:
		return reply_json(c, MHD_HTTP_OK, w->ops->state(w->userdata));
	case WEBUI_REQUEST_ROUTE_EVENTS:
		return reply_stream(w, c);
	case WEBUI_REQUEST_ROUTE_COMMAND: {
		json_t *answer = w->ops->command(a.command, w->userdata);

		json_decref(a.command);
		return reply_json(c, answer ? command_status(answer) : 500,
				  answer);
	}
	}
	return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	free(*req_cls);
	*req_cls = NULL;
}

struct webui *webui_new(sd_event *event, const struct webui_config *c,
			const struct webui_ops *ops, void *userdata)
{
	struct httpd_options o = {
		.name = "web UI",
		.address = c->address,
		.port = c->port,
		.connections_max = WEBUI_CONNECTIONS_MAX,
		.timeout_s = WEBUI_TIMEOUT_S,
		.headers_max = HEADERS_MAX,
		.extra_flags = MHD_ALLOW_SUSPEND_RESUME,
		.on_request = on_request,
		.on_completed = on_completed,
	};
	struct webui *w;
	unsigned port;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->event = sd_event_ref(event);
	w->ops = ops;
	w->userdata = userdata;
	/*
	 * Without the app (its package not installed) the API still serves
	 * the kiosk's state; the screen's files are 404 until it comes.
	 */
	w->dir_fd = open(c->ui_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (w->dir_fd < 0)
		log_warning("web UI: %s: %s: no app to serve until a restart",
			    c->ui_dir, strerror(errno));
	o.userdata = w;
	w->httpd = httpd_new(event, &o);
	if (!w->httpd) {
		err = -errno; /* logged */
		goto fail;
	}
	port = httpd_get_port(w->httpd);
	snprintf(w->host, sizeof(w->host),
		 strchr(c->address, ':') ? "[%s]:%u" : "%s:%u", c->address,
		 port);
	snprintf(w->alt_host, sizeof(w->alt_host), "localhost:%u", port);
	snprintf(w->url, sizeof(w->url), "http://%s/", w->host);
	w->policy = (struct webui_request_policy){
		.host = w->host,
		.alt_host = httpd_is_loopback(w->httpd) ? w->alt_host : NULL,
		.sim = c->sim,
	};
	err = sd_event_add_post(event, &w->post, on_post, w);
	if (err >= 0)
		err = sd_event_add_time_relative(
			event, &w->keepalive, CLOCK_MONOTONIC,
			WEBUI_KEEPALIVE_USEC, 0, on_keepalive, w);
	if (err >= 0)
		err = sd_event_source_set_enabled(w->keepalive,
						  SD_EVENT_ONESHOT);
	if (err < 0) {
		log_err("web UI: event loop: %s", strerror(-err));
		goto fail;
	}
	log_notice("web UI: %s (app in %s)", w->url, c->ui_dir);
	return w;
fail:
	webui_free(w);
	errno = -err;
	return NULL;
}

void webui_free(struct webui *w)
{
	if (!w)
		return;
	if (w->httpd) {
		/* Sleeping streams wake to end; MHD then closes them all. */
		w->stopping = true;
		for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++)
			if (w->streams[i] && w->streams[i]->suspended) {
				w->streams[i]->suspended = false;
				MHD_resume_connection(
					w->streams[i]->connection);
			}
		httpd_free(w->httpd);
	}
	sd_event_source_disable_unref(w->post);
	sd_event_source_disable_unref(w->keepalive);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	free(w->last_state);
	sd_event_unref(w->event);
	free(w);
}

const char *webui_get_url(const struct webui *w)
{
	return w->url;
}
