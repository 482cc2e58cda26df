// SPDX-License-Identifier: GPL-2.0-or-later
/* The touchscreen's web server, on libmicrohttpd in external-poll mode. */
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdio.h>
#include <poll.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "httpd.h"
#include "log.h"
#include "tcp-peer.h"
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
	char *next;    /* the newest message not started, or NULL */
	bool dropped;  /* its client hung up: ends at its next read */
	bool screen;   /* the kiosk's screen's: the whole state */
	uint64_t made; /* orders the streams by age */
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
	char *last_state;    /* as last built, compact JSON */
	char *last_public;   /* what others were last sent, or NULL */
	uint64_t generation; /* ops->generation() of last_state */
	bool built;	     /* generation says something */
	bool stopping;
	/* Who the screen is (docs/security.md). */
	int diag_fd; /* for tcp_peer_uid(), or -1: no one is */
	bool has_screen;
	uid_t screen_uid;
	unsigned n_public;	 /* connections not from the screen */
	uint64_t n_streams_made; /* for stream.made */
};

/* What a connection's socket context points to: whose it is. */
static char screen_mark, public_mark;

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

/* The keys of the state anyone may see: nobody's name, hold or screen. */
static const char *const public_keys[] = {
	"kiosk_id",	  "in_service",		  "online", "reader",
	"code_digits",	  "pin_digits",		  "help",   "sim",
	"idle_timeout_s", "staff_idle_timeout_s", "volume", NULL
};
static const char *const public_locker_keys[] = {
	"number", "size",  "kind",  "disabled", "fault",
	"door",	  "state", "alarm", "occupied", NULL
};

static void copy_keys(json_t *to, json_t *from, const char *const *keys)
{
	for (; *keys; keys++) {
		json_t *v = json_object_get(from, *keys);

		if (v)
			json_object_set(to, *keys, v);
	}
}

/*
 * The state as a client other than the screen sees it: the idle screen,
 * the lockers' doors, no staff view. Made by naming what it keeps, so a
 * key added to the state later stays the screen's. NULL: out of memory.
 */
static json_t *public_state(json_t *state)
{
	json_t *pub = json_object(), *lockers = json_array(), *l;
	size_t i;

	if (!pub || !lockers)
		goto fail;
	copy_keys(pub, state, public_keys);
	json_array_foreach(json_object_get(state, "lockers"), i, l)
	{
		json_t *o = json_object();

		if (!o || json_array_append_new(lockers, o) < 0)
			goto fail;
		copy_keys(o, l, public_locker_keys);
	}
	if (json_object_set_new(pub, "lockers", lockers) < 0) {
		lockers = NULL;
		goto fail;
	}
	if (json_object_set_new(pub, "screen",
				json_pack("{s:s}", "name", "idle")) < 0 ||
	    json_object_set_new(pub, "staff", json_null()) < 0) {
		json_decref(pub);
		return NULL;
	}
	return pub;
fail:
	json_decref(lockers);
	json_decref(pub);
	return NULL;
}

/*
 * The state as compact JSON: the whole in ret_full, and what others may
 * see in ret_public unless that is NULL; with the generation it was built
 * at. Returns 0 or -ENOMEM.
 */
static int state_texts(struct webui *w, uint64_t *ret_generation,
		       char **ret_full, char **ret_public)
{
	/* Taken first: a change while the state is built is seen next turn. */
	uint64_t generation =
		w->ops->generation ? w->ops->generation(w->userdata) : 0;
	json_t *state = w->ops->state(w->userdata), *pub;
	char *full = state ? json_dumps(state, JSON_COMPACT) : NULL;
	char *text = NULL;

	if (full && ret_public) {
		pub = public_state(state);
		text = pub ? json_dumps(pub, JSON_COMPACT) : NULL;
		json_decref(pub);
	}
	json_decref(state);
	if (!full || (ret_public && !text)) {
		free(full);
		free(text);
		return -ENOMEM;
	}
	*ret_generation = generation;
	*ret_full = full;
	if (ret_public)
		*ret_public = text;
	return 0;
}

/* A state as an event of the stream; NULL when out of memory. */
static char *state_message(const char *text)
{
	char *msg;

	/* A browser that lost the stream asks again after a second. */
	if (asprintf(&msg, "retry: 1000\nevent: state\ndata: %s\n\n", text) < 0)
		return NULL;
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

/* Ends the stream in place i at its next read, and frees the place. */
static void stream_end(struct webui *w, unsigned i)
{
	struct stream *s = w->streams[i];

	s->dropped = true;
	w->streams[i] = NULL;
	if (s->suspended) {
		s->suspended = false;
		MHD_resume_connection(s->connection);
		httpd_wake(w->httpd);
	}
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
		stream_end(w, i);
	}
}

/* A free place for a new stream, within the share of others; or -1. */
static int free_slot(const struct webui *w, bool screen)
{
	unsigned n_public = 0;
	int slot = -1;

	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++) {
		if (!w->streams[i]) {
			if (slot < 0)
				slot = (int)i;
		} else if (!w->streams[i]->screen) {
			n_public++;
		}
	}
	if (!screen && n_public >= WEBUI_PUBLIC_STREAMS_MAX)
		return -1;
	return slot;
}

/*
 * The place for a new stream, or -1 when it is refused. The screen always
 * gets one: with every place taken, it ends the oldest stream of another
 * client, or else its own oldest (a page it left, not yet seen gone).
 */
static int stream_slot(struct webui *w, bool screen)
{
	int slot = free_slot(w, screen), oldest = -1;

	if (slot >= 0)
		return slot;
	drop_hung_up_streams(w);
	slot = free_slot(w, screen);
	if (slot >= 0 || !screen)
		return slot;
	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++) {
		const struct stream *s = w->streams[i], *o;

		if (!s)
			continue;
		o = oldest < 0 ? NULL : w->streams[oldest];
		if (!o || (o->screen && !s->screen) ||
		    (o->screen == s->screen && s->made < o->made))
			oldest = (int)i;
	}
	if (oldest >= 0) {
		if (!w->streams[oldest]->screen)
			log_notice(
				"web UI: a stream of another client ended for the screen's");
		stream_end(w, (unsigned)oldest);
	}
	return oldest;
}

static enum MHD_Result reply_stream(struct webui *w, struct MHD_Connection *c,
				    bool screen)
{
	struct MHD_Response *r;
	struct stream *s;
	char *full = NULL, *pub = NULL;
	uint64_t generation;
	int slot;

	slot = stream_slot(w, screen);
	if (slot < 0)
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "too many event streams");
	s = calloc(1, sizeof(*s));
	if (!s)
		return MHD_NO;
	s->webui = w;
	s->connection = c;
	s->screen = screen;
	s->made = ++w->n_streams_made;
	/* The state at once, so the screen needs no second request. */
	if (state_texts(w, &generation, &full, screen ? NULL : &pub) < 0) {
		free(s);
		return MHD_NO;
	}
	s->next = state_message(screen ? full : pub);
	if (!s->next) {
		free(full);
		free(pub);
		free(s);
		return MHD_NO;
	}
	if (screen) {
		free(w->last_state);
		w->last_state = full;
		w->generation = generation;
		w->built = true;
	} else {
		/* The screen's streams may not have had this one yet. */
		free(full);
		free(w->last_public);
		w->last_public = pub;
	}
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

/* Queues text, as a state event, to every stream of the screen or not. */
static void queue_to_streams(struct webui *w, bool screen, const char *text)
{
	char *msg = state_message(text);

	if (!msg)
		return; /* out of memory: the next change is sent */
	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++) {
		char *copy;

		if (!w->streams[i] || w->streams[i]->screen != screen)
			continue;
		copy = strdup(msg);
		if (copy)
			stream_queue(w->streams[i], copy);
	}
	free(msg);
}

/* After every turn of the loop: a changed state goes to every stream. */
static int on_post(sd_event_source *src, void *userdata)
{
	struct webui *w = userdata;
	unsigned n_screen = 0, n_public = 0;
	char *full = NULL, *pub = NULL;
	uint64_t generation;

	for (unsigned i = 0; i < WEBUI_STREAMS_MAX; i++)
		if (w->streams[i])
			*(w->streams[i]->screen ? &n_screen : &n_public) += 1;
	if (n_screen + n_public == 0)
		return 0;
	/* Nothing it shows has changed: not built, no database read. */
	if (w->built && w->ops->generation &&
	    w->ops->generation(w->userdata) == w->generation)
		return 0;
	if (state_texts(w, &generation, &full, n_public ? &pub : NULL) < 0)
		return 0; /* out of memory: the next turn tries again */
	w->generation = generation;
	w->built = true;
	if (!w->last_state || strcmp(full, w->last_state) != 0) {
		if (n_screen)
			queue_to_streams(w, true, full);
		free(w->last_state);
		w->last_state = full;
	} else {
		free(full);
	}
	if (pub && (!w->last_public || strcmp(pub, w->last_public) != 0)) {
		queue_to_streams(w, false, pub);
		free(w->last_public);
		w->last_public = pub;
	} else {
		free(pub);
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

/* ---- who asks ---- */

/* Whether the client at peer, connected to local, is the screen's user. */
static bool peer_is_screen(struct webui *w, const struct sockaddr *peer,
			   const struct sockaddr *local)
{
	uid_t uid;
	int err;

	if (!w->has_screen || w->diag_fd < 0)
		return false;
	err = tcp_peer_uid(w->diag_fd, peer, local, &uid);
	if (err < 0 && err != -ENOENT)
		log_debug("web UI: who connected is unknown: %s",
			  strerror(-err));
	return err == 0 && uid == w->screen_uid;
}

/*
 * Beyond their share, connections of other clients are refused as they
 * come: the screen's always find a place. Its share not yet taken, a
 * connection is let in before it is asked who it is (on_connection()).
 */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
				 socklen_t addrlen)
{
	struct webui *w = cls;

	struct sockaddr_storage local;

	if (w->n_public < WEBUI_PUBLIC_CONNECTIONS_MAX)
		return MHD_YES;
	/*
	 * The address the client reached is not known yet: the one listened
	 * on, or for a wildcard the client's own (a local client connects
	 * from the address it connects to).
	 */
	memcpy(&local, httpd_get_address(w->httpd), sizeof(local));
	if (local.ss_family == AF_INET && addr->sa_family == AF_INET &&
	    ((struct sockaddr_in *)&local)->sin_addr.s_addr == INADDR_ANY)
		((struct sockaddr_in *)&local)->sin_addr =
			((const struct sockaddr_in *)addr)->sin_addr;
	else if (local.ss_family == AF_INET6 && addr->sa_family == AF_INET6 &&
		 IN6_IS_ADDR_UNSPECIFIED(
			 &((struct sockaddr_in6 *)&local)->sin6_addr))
		((struct sockaddr_in6 *)&local)->sin6_addr =
			((const struct sockaddr_in6 *)addr)->sin6_addr;
	return peer_is_screen(w, addr, (struct sockaddr *)&local) ? MHD_YES :
								    MHD_NO;
}

/* Marks each connection the screen's or another's, once, as it starts. */
static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct webui *w = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info = MHD_get_connection_info(
			c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct sockaddr_storage peer, local;
		socklen_t n_peer = sizeof(peer), n_local = sizeof(local);
		bool screen =
			info &&
			getpeername(info->connect_fd, (struct sockaddr *)&peer,
				    &n_peer) == 0 &&
			getsockname(info->connect_fd, (struct sockaddr *)&local,
				    &n_local) == 0 &&
			peer_is_screen(w, (struct sockaddr *)&peer,
				       (struct sockaddr *)&local);

		*socket_context = screen ? &screen_mark : &public_mark;
		if (!screen)
			w->n_public++;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (*socket_context == &public_mark)
			w->n_public--;
		*socket_context = NULL;
	}
}

static bool from_screen(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info && info->socket_context == &screen_mark;
}

/* The state for GET /api/state: the whole for the screen only. */
static json_t *request_state(struct webui *w, bool screen)
{
	json_t *state = w->ops->state(w->userdata), *pub;

	if (screen || !state)
		return state;
	pub = public_state(state);
	json_decref(state);
	return pub;
}

/* ---- requests ---- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *data_size, void **req_cls)
{
	struct webui *w = cls;
	struct upload *up = *req_cls;
	struct webui_request r = { .method = method,
				   .path = url,
				   .screen = from_screen(c) };
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
		return reply_json(c, MHD_HTTP_OK, request_state(w, r.screen));
	case WEBUI_REQUEST_ROUTE_EVENTS:
		return reply_stream(w, c, r.screen);
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

/*
 * Who the screen is: the user named, or lokerd's own. Without one, or
 * without a way to ask the kernel who connects, no one is: the web UI
 * still shows the state, and nothing can be done through it.
 */
static void find_screen(struct webui *w, const char *user)
{
	struct passwd pw, *found = NULL;
	char buf[1024], *end;
	unsigned long uid;
	int fd;

	if (!user || !user[0]) {
		w->screen_uid = getuid();
		w->has_screen = true;
	} else if (getpwnam_r(user, &pw, buf, sizeof(buf), &found) == 0 &&
		   found) {
		w->screen_uid = found->pw_uid;
		w->has_screen = true;
	} else {
		errno = 0;
		uid = strtoul(user, &end, 10);
		if (user[0] >= '0' && user[0] <= '9' && !*end && !errno &&
		    uid < (uid_t)-1) {
			w->screen_uid = (uid_t)uid;
			w->has_screen = true;
		}
	}
	if (!w->has_screen) {
		log_warning(
			"web UI: screen_user %s: no such user; the screen can do nothing until it exists and lokerd restarts",
			user);
		return;
	}
	fd = tcp_peer_open();
	if (fd < 0) {
		log_warning(
			"web UI: cannot ask the kernel who connects (%s); the screen can do nothing",
			strerror(-fd));
		return;
	}
	w->diag_fd = fd;
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
		.on_accept = on_accept,
		.on_connection = on_connection,
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
	w->diag_fd = -1;
	find_screen(w, c->screen_user);
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
	if (w->has_screen && w->diag_fd >= 0)
		log_notice("web UI: %s (app in %s; the screen is uid %u)",
			   w->url, c->ui_dir, (unsigned)w->screen_uid);
	else
		log_notice(
			"web UI: %s (app in %s; no screen: nothing can be done through the web UI)",
			w->url, c->ui_dir);
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
	if (w->diag_fd >= 0)
		close(w->diag_fd);
	free(w->last_state);
	free(w->last_public);
	sd_event_unref(w->event);
	free(w);
}

const char *webui_get_url(const struct webui *w)
{
	return w->url;
}
