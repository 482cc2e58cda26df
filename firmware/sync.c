// SPDX-License-Identifier: GPL-2.0-or-later
/* Locker Sync API v1, the kiosk's side, on libcurl multi and sd-event. */
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>

#include "log.h"
#include "sync.h"

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC  1000000ULL
/* Done commands listed in one heartbeat. */
#define SYNC_DONE_COMMANDS_MAX 64

enum sync_request_kind {
	SYNC_REQUEST_EVENTS,
	SYNC_REQUEST_CHANGES,
	SYNC_REQUEST_STATUS,
	SYNC_REQUEST_ITEM,
};

static const char *const request_names[] = {
	[SYNC_REQUEST_EVENTS] = "events upload",
	[SYNC_REQUEST_CHANGES] = "changes pull",
	[SYNC_REQUEST_STATUS] = "heartbeat",
	[SYNC_REQUEST_ITEM] = "item lookup",
};

struct request {
	struct sync *sync;
	enum sync_request_kind kind;
	CURL *easy;
	struct curl_slist *headers;
	char *body;
	char *reply;
	size_t reply_len, reply_cap;
	bool reply_too_large;
	char curl_error[CURL_ERROR_SIZE];
	uint64_t started_usec;
	/* events: what was sent, in order */
	char (*uuids)[STORE_UUID_LEN + 1];
	unsigned n_uuids;
	/* events sent again (resend_events): the last one's seq, else 0 */
	int64_t resend_upto;
	/* changes: the cursor asked with ("" for none) */
	char cursor[PROTOCOL_CURSOR_MAX + 1];
	/* status: the done commands listed */
	json_t *done; /* the array of ids sent */
	/* item */
	void (*cb)(int err, const char *hold_id, void *userdata);
	void *cb_userdata;
};

struct sync {
	sd_event *event;
	struct store *store;
	struct kiosk *kiosk;
	const struct sync_ops *ops;
	void *userdata;
	char base_url[CONFIG_URL_MAX + CONFIG_KIOSK_ID_MAX + 16];
	char auth_header[CONFIG_TOKEN_MAX + 32];
	char ca_file[PATH_MAX], pinned_public_key[1024];
	char client_cert[PATH_MAX], client_key[PATH_MAX];
	unsigned batch_size_max;

	CURLM *multi;
	sd_event_source *curl_timer, *wake;
	struct request *busy;	/* the one upload, pull or heartbeat */
	struct request *lookup; /* an item lookup, beside it */
	/*
	 * An item lookup with a v1 server: a pull instead, then the store
	 * asked (sync_lookup_item()). waiting: its pull has not started yet.
	 */
	struct {
		char barcode[STORE_BARCODE_MAX + 1];
		void (*cb)(int err, const char *hold_id, void *userdata);
		void *userdata;
		bool waiting;
	} pull_lookup;
	/* A changes reply being applied a step at a time, or NULL. */
	struct pull_apply *applying;
	sd_event_source *apply_source;

	uint64_t status_interval_usec, pull_interval_usec;
	uint64_t status_due_usec, pull_due_usec; /* CLOCK_MONOTONIC */
	uint64_t backoff_until_usec;
	/* The server's Retry-After: even sync_now waits for it. */
	uint64_t not_before_usec;
	unsigned attempt; /* failures in a row */
	bool upload_wanted;
	/* sync_now() came while a pull was under way: pull again after it. */
	bool pull_asked;
	/* An event was given up on a 400 since the last upload taken. */
	bool refused_alone;
	/*
	 * v1.1 resend_events: sent events from resend_next to resend_last
	 * go again, before the unsent ones; 0 and 0 when none. Kept in the
	 * store (sync value "resend") so a restart goes on from there.
	 */
	int64_t resend_next, resend_last;
	/* The last request was a changes page with more to come. */
	bool paging;
	bool skew_warned;
	struct sync_info info;
	char last_logged_error[256];
	char last_pull_error[256]; /* a changes reply the kiosk cannot use */
};

static uint64_t now_usec(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

static void schedule(struct sync *s);

/* ---- libcurl's sockets and timer on sd-event ---- */

static void process_done(struct sync *s);

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	struct sync *s = userdata;
	int flags = 0, running;

	if (revents & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(s->multi, fd, flags, &running);
	process_done(s);
	return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
		     void *socketp)
{
	struct sync *s = userp;
	sd_event_source *src = socketp;
	uint32_t events = 0;

	if (what == CURL_POLL_REMOVE) {
		if (src) {
			sd_event_source_disable_unref(src);
			curl_multi_assign(s->multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (!src) {
		if (sd_event_add_io(s->event, &src, fd, events, on_io, s) < 0)
			return -1;
		curl_multi_assign(s->multi, fd, src);
		return 0;
	}
	if (sd_event_source_set_io_events(src, events) < 0 ||
	    sd_event_source_set_enabled(src, SD_EVENT_ON) < 0)
		return -1;
	return 0;
}

static int on_curl_timeout(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct sync *s = userdata;
	int running;

	curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	process_done(s);
	return 0;
}

static int arm_at(struct sync *s, sd_event_source **src, uint64_t at_usec,
		  sd_event_time_handler_t cb)
{
	int err;

	if (!*src)
		return sd_event_add_time(s->event, src, CLOCK_MONOTONIC,
					 at_usec, USEC_PER_MSEC, cb, s);
	err = sd_event_source_set_time(*src, at_usec);
	if (err < 0)
		return err;
	return sd_event_source_set_enabled(*src, SD_EVENT_ONESHOT);
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct sync *s = userp;

	if (timeout_ms < 0) {
		if (s->curl_timer)
			sd_event_source_set_enabled(s->curl_timer,
						    SD_EVENT_OFF);
		return 0;
	}
	return arm_at(s, &s->curl_timer,
		      now_usec(CLOCK_MONOTONIC) +
			      (uint64_t)timeout_ms * USEC_PER_MSEC,
		      on_curl_timeout) < 0 ?
		       -1 :
		       0;
}

/* ---- requests ---- */

static size_t on_write(char *data, size_t size, size_t n, void *userdata)
{
	struct request *r = userdata;
	size_t len = size * n, cap;
	char *p;

	if (r->reply_len + len > PROTOCOL_REPLY_MAX) {
		r->reply_too_large = true;
		return 0; /* libcurl ends the transfer: CURLE_WRITE_ERROR */
	}
	if (r->reply_len + len + 1 > r->reply_cap) {
		cap = r->reply_cap ? r->reply_cap : 16384;
		while (cap < r->reply_len + len + 1)
			cap *= 2;
		p = realloc(r->reply, cap);
		if (!p)
			return 0;
		r->reply = p;
		r->reply_cap = cap;
	}
	memcpy(r->reply + r->reply_len, data, len);
	r->reply_len += len;
	r->reply[r->reply_len] = '\0';
	return len;
}

static void request_free(struct request *r)
{
	if (!r)
		return;
	if (r->easy) {
		curl_multi_remove_handle(r->sync->multi, r->easy);
		curl_easy_cleanup(r->easy);
	}
	/* The first header holds the token. */
	for (struct curl_slist *h = r->headers; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(r->headers);
	free(r->body);
	free(r->reply);
	free(r->uuids);
	json_decref(r->done);
	free(r);
}

/*
 * Starts method on path (after .../kiosks/{id}) with body (taken, may be
 * NULL). Returns the request, or NULL when it could not even start.
 */
static struct request *request_start(struct sync *s,
				     enum sync_request_kind kind,
				     const char *path, char *body)
{
	struct request *r = calloc(1, sizeof(*r));
	char url[sizeof(s->base_url) + 512];
	bool ok;

	if (!r) {
		free(body);
		return NULL;
	}
	r->sync = s;
	r->kind = kind;
	r->body = body;
	r->started_usec = now_usec(CLOCK_MONOTONIC);
	if ((size_t)snprintf(url, sizeof(url), "%s%s", s->base_url, path) >=
	    sizeof(url)) {
		log_err("sync: %s: the URL is too long", request_names[kind]);
		request_free(r);
		return NULL;
	}
	r->easy = curl_easy_init();
	r->headers = curl_slist_append(NULL, s->auth_header);
	if (r->headers)
		r->headers = curl_slist_append(r->headers,
					       "Accept: application/json");
	if (r->headers)
		r->headers =
			curl_slist_append(r->headers, PROTOCOL_VERSION_HEADER
					  ": " PROTOCOL_VERSION);
	if (r->headers && body)
		r->headers = curl_slist_append(
			r->headers, "Content-Type: application/json");
	/* No "100 Continue" round trip before a body. */
	if (r->headers)
		r->headers = curl_slist_append(r->headers, "Expect:");
	ok = r->easy && r->headers;
	/*
	 * Verification is libcurl's default; it is set here anyway, so no
	 * later change of default or option can turn it off unnoticed.
	 */
	ok = ok && curl_easy_setopt(r->easy, CURLOPT_URL, url) == CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "https") ==
		     CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYPEER, 1L) ==
		     CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_SSL_VERIFYHOST, 2L) ==
		     CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_SSLVERSION,
			      (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_HTTP_VERSION,
			      (long)CURL_HTTP_VERSION_2TLS) == CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers) ==
		     CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_USERAGENT,
			      "lokerbuku/" LOKERBUKU_VERSION) == CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L) == CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
			      (long)SYNC_CONNECT_TIMEOUT_MS) == CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS,
			      (long)(kind == SYNC_REQUEST_ITEM ?
					     SYNC_LOOKUP_TIMEOUT_MS :
					     SYNC_REQUEST_TIMEOUT_MS)) ==
		     CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_MAXFILESIZE_LARGE,
			      (curl_off_t)PROTOCOL_REPLY_MAX) == CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write) ==
		     CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r) == CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->curl_error) ==
		     CURLE_OK &&
	     curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r) == CURLE_OK;
	if (ok && s->ca_file[0])
		ok = curl_easy_setopt(r->easy, CURLOPT_CAINFO, s->ca_file) ==
		     CURLE_OK;
	if (ok && s->pinned_public_key[0])
		ok = curl_easy_setopt(r->easy, CURLOPT_PINNEDPUBLICKEY,
				      s->pinned_public_key) == CURLE_OK;
	if (ok && s->client_cert[0])
		ok = curl_easy_setopt(r->easy, CURLOPT_SSLCERT,
				      s->client_cert) == CURLE_OK &&
		     curl_easy_setopt(r->easy, CURLOPT_SSLKEY, s->client_key) ==
			     CURLE_OK;
	if (ok && body)
		ok = curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, body) ==
			     CURLE_OK &&
		     curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE_LARGE,
				      (curl_off_t)strlen(body)) == CURLE_OK;
	if (ok)
		ok = curl_multi_add_handle(s->multi, r->easy) == CURLM_OK;
	if (!ok) {
		/* The caller's failed() says so, once, and backs off. */
		log_debug("sync: %s: libcurl refused an option",
			  request_names[kind]);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
		request_free(r);
		return NULL;
	}
	s->info.requests++;
	return r;
}

/* ---- success, failure and back-off ---- */

static void succeeded(struct sync *s, struct request *r)
{
	if (!s->info.online || s->attempt)
		log_notice("sync: the server answers again");
	s->info.online = true;
	s->info.last_ok_usec = (int64_t)now_usec(CLOCK_REALTIME);
	s->info.last_error[0] = '\0';
	s->last_logged_error[0] = '\0';
	s->attempt = 0;
	s->backoff_until_usec = 0;
	s->not_before_usec = 0;
}

/*
 * Waits before the next try: a random time up to min(cap, base * 2^n)
 * (full jitter, so a fleet that lost its server does not return in step),
 * and at least what the server asked in Retry-After.
 */
static void failed(struct sync *s, enum sync_request_kind kind,
		   uint64_t retry_after_usec, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * The end of a v1 item lookup: err, or (0) whatever the store has now.
 * The scanned text is forgotten.
 */
static void pull_lookup_done(struct sync *s, int err)
{
	char hold_id[KIOSK_HOLD_ID_MAX + 1] = "";
	void (*cb)(int, const char *, void *) = s->pull_lookup.cb;

	if (!cb)
		return;
	if (err == 0) {
		err = store_find_pending_hold_by_item(
			s->store, s->pull_lookup.barcode, hold_id);
		if (err < 0 && err != -ENOENT)
			err = -EIO;
	}
	explicit_bzero(s->pull_lookup.barcode, sizeof(s->pull_lookup.barcode));
	s->pull_lookup.cb = NULL;
	cb(err, err == 0 ? hold_id : NULL, s->pull_lookup.userdata);
}

static void failed(struct sync *s, enum sync_request_kind kind,
		   uint64_t retry_after_usec, const char *fmt, ...)
{
	uint64_t cap = SYNC_BACKOFF_CAP_USEC, wait;
	char why[sizeof(s->info.last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (s->attempt < 20 && SYNC_BACKOFF_BASE_USEC << s->attempt < cap)
		cap = SYNC_BACKOFF_BASE_USEC << s->attempt;
	wait = (uint64_t)arc4random_uniform((uint32_t)(cap / USEC_PER_MSEC) +
					    1) *
	       USEC_PER_MSEC;
	if (wait < retry_after_usec)
		wait = retry_after_usec;
	s->attempt++;
	s->backoff_until_usec = now_usec(CLOCK_MONOTONIC) + wait;
	s->not_before_usec = retry_after_usec ? now_usec(CLOCK_MONOTONIC) +
							retry_after_usec :
						0;
	s->info.online = false;
	s->info.failures++;
	snprintf(s->info.last_error, sizeof(s->info.last_error), "%s", why);
	/* The pull a v1 lookup waits for will not come soon. */
	pull_lookup_done(s, -EIO);
	/* The same trouble again and again is said once, then quietly. */
	if (strcmp(why, s->last_logged_error) != 0) {
		log_warning(
			"sync: %s: %s; trying again in %.1f s (pickups go on)",
			request_names[kind], why, (double)wait / USEC_PER_SEC);
		snprintf(s->last_logged_error, sizeof(s->last_logged_error),
			 "%s", why);
	} else {
		log_debug("sync: %s: %s; trying again in %.1f s",
			  request_names[kind], why,
			  (double)wait / USEC_PER_SEC);
	}
}

/* Retry-After: seconds or an HTTP date; 0 when absent or unreadable. */
static uint64_t retry_after_of(struct request *r)
{
	struct curl_header *h;
	const long long max_s = SYNC_RETRY_AFTER_MAX_USEC / USEC_PER_SEC;
	const char *v;
	char *end;
	long long secs;

	if (curl_easy_header(r->easy, "Retry-After", 0, CURLH_HEADER, -1, &h) !=
	    CURLHE_OK)
		return 0;
	v = h->value;
	errno = 0;
	secs = strtoll(v, &end, 10);
	if (end == v || *end || errno)
		secs = (long long)curl_getdate(v, NULL) - (long long)time(NULL);
	if (secs <= 0)
		return 0;
	/* Clamped before it is multiplied: a bound on silence, and no wrap. */
	return (uint64_t)(secs < max_s ? secs : max_s) * USEC_PER_SEC;
}

/* "503 unavailable: down for maintenance", or just "503" for odd bodies. */
static void describe_status(struct request *r, long status, char *ret, size_t n)
{
	char code[PROTOCOL_ERROR_CODE_MAX + 1],
		message[PROTOCOL_REASON_MAX + 1];

	if (r->reply &&
	    protocol_parse_error(r->reply, r->reply_len, code, message) == 0)
		snprintf(ret, n, "HTTP %ld %s%s%s", status, code,
			 message[0] ? ": " : "", message);
	else
		snprintf(ret, n, "HTTP %ld (no error body of the API's form)",
			 status);
}

/* ---- events upload ---- */

struct upload {
	json_t *events;
	char (*uuids)[STORE_UUID_LEN + 1];
	unsigned n;
	int64_t bad_seq; /* an event whose payload cannot be sent, or 0 */
	char bad_uuid[STORE_UUID_LEN + 1];
	int64_t last_seq; /* of the last event added */
};

static int add_event(const struct store_event *e, void *userdata)
{
	struct upload *u = userdata;

	if (protocol_add_event(u->events, e) < 0) {
		/* Cannot happen for what store_record() wrote: stop there. */
		u->bad_seq = e->seq;
		memcpy(u->bad_uuid, e->uuid, sizeof(u->bad_uuid));
		return 1;
	}
	memcpy(u->uuids[u->n++], e->uuid, STORE_UUID_LEN + 1);
	u->last_seq = e->seq;
	return 0;
}

/* Keeps the resend's progress; next 0 (or past last): it is over. */
static void resend_save(struct sync *s, int64_t next)
{
	char value[64];
	int err;

	if (next > s->resend_last) {
		log_notice(
			"sync: events %lld to %lld sent again, as the server asked",
			(long long)s->resend_next, (long long)s->resend_last);
		s->resend_next = s->resend_last = 0;
		err = store_delete_sync_value(s->store, "resend");
	} else {
		s->resend_next = next;
		snprintf(value, sizeof(value), "%lld %lld", (long long)next,
			 (long long)s->resend_last);
		err = store_set_sync_value(s->store, "resend", value);
	}
	/* Lost, the resend starts again after a restart: duplicates only. */
	if (err < 0)
		log_err("sync: cannot keep how far events were sent again: %s",
			store_last_error(s->store));
}

int sync_resend_from(struct sync *s, int64_t from_seq, bool *ret_pruned)
{
	int64_t oldest = 0, newest = 0;
	int err;

	err = store_get_sent_range(s->store, &oldest, &newest);
	if (err < 0)
		return err;
	/* Unsent events go anyway; sent ones from before are gone. */
	*ret_pruned = newest >= from_seq && oldest > from_seq;
	if (newest < from_seq)
		return 0;
	if (from_seq < oldest)
		from_seq = oldest;
	/* A second request widens the first, never narrows it. */
	if (s->resend_next && s->resend_next < from_seq)
		from_seq = s->resend_next;
	s->resend_last = newest;
	resend_save(s, from_seq);
	log_notice("sync: the server asks for events %lld to %lld again",
		   (long long)from_seq, (long long)newest);
	sync_kick(s);
	return 0;
}

static void resend_load(struct sync *s)
{
	char value[64];
	long long next, last;

	if (store_get_sync_value(s->store, "resend", value, sizeof(value)) <
		    0 ||
	    sscanf(value, "%lld %lld", &next, &last) != 2 || next < 1 ||
	    last < next)
		return;
	s->resend_next = next;
	s->resend_last = last;
	log_info("sync: sending events %lld to %lld again, as the server asked",
		 next, last);
}

/* Returns true when a request started (or a bad event was dealt with). */
static bool start_upload(struct sync *s)
{
	struct upload u = { 0 };
	bool resending;
	struct request *r;
	char *body;
	int err;

	u.events = json_array();
	u.uuids = calloc(s->info.batch_size, sizeof(*u.uuids));
	if (!u.events || !u.uuids)
		goto oom;
	/* What the server asked for again first: it is older. */
	resending = s->resend_next != 0;
	if (resending) {
		err = store_foreach_sent_between(
			s->store, s->resend_next, s->resend_last,
			s->info.batch_size, add_event, &u);
		if (err == 0 && u.n == 0) {
			resend_save(s, s->resend_last + 1); /* pruned since */
			resending = false;
		}
	}
	if (!resending)
		err = store_foreach_unsent(s->store, s->info.batch_size,
					   add_event, &u);
	if (err < 0 && err != 1) {
		json_decref(u.events);
		free(u.uuids);
		failed(s, SYNC_REQUEST_EVENTS, 0, "cannot read the outbox: %s",
		       store_last_error(s->store));
		return true;
	}
	/* Sent once already; not to be marked again: go on after it. */
	if (u.bad_seq && u.n == 0 && resending) {
		resend_save(s, u.bad_seq + 1);
		json_decref(u.events);
		free(u.uuids);
		return true;
	}
	if (u.bad_seq && u.n == 0) {
		struct store_sent_mark m = {
			.uuid = u.bad_uuid,
			.rejected = "unreadable payload, not sent"
		};

		log_err("sync: event %lld has a payload that is not a JSON object; marking it rejected",
			(long long)u.bad_seq);
		if (store_mark_events_sent(s->store, &m, 1, NULL) < 0)
			failed(s, SYNC_REQUEST_EVENTS, 0,
			       "cannot mark an unreadable event: %s",
			       store_last_error(s->store));
		json_decref(u.events);
		free(u.uuids);
		return true;
	}
	if (u.n == 0) {
		s->upload_wanted = false;
		json_decref(u.events);
		free(u.uuids);
		return false;
	}
	body = protocol_events_body(u.events);
	json_decref(u.events);
	if (!body) {
		free(u.uuids);
		goto oom_logged;
	}
	r = request_start(s, SYNC_REQUEST_EVENTS, "/events", body);
	if (!r) {
		free(u.uuids);
		failed(s, SYNC_REQUEST_EVENTS, 0, "cannot start a request");
		return true;
	}
	r->uuids = u.uuids;
	r->n_uuids = u.n;
	r->resend_upto = resending ? u.last_seq : 0;
	s->busy = r;
	return true;
oom:
	json_decref(u.events);
	free(u.uuids);
oom_logged:
	failed(s, SYNC_REQUEST_EVENTS, 0, "out of memory");
	return true;
}

static void finish_upload(struct sync *s, struct request *r)
{
	struct protocol_event_result *res = NULL;
	struct store_sent_mark *marks = NULL;
	char error[PROTOCOL_ERROR_MAX];
	unsigned n = 0, n_marks = 0, marked = 0, rejected = 0, refused = 0;
	int err;

	err = protocol_parse_event_results(r->reply ? r->reply : "",
					   r->reply_len, &res, &n, error);
	if (err < 0) {
		failed(s, r->kind, 0, "the reply is not valid: %s", error);
		return;
	}
	marks = calloc(n ? n : 1, sizeof(*marks));
	if (!marks) {
		free(res);
		failed(s, r->kind, 0, "out of memory");
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		bool ours = false;

		/* Only what this batch sent: a result for another id is odd. */
		for (unsigned j = 0; j < r->n_uuids && !ours; j++)
			ours = strcmp(r->uuids[j], res[i].id) == 0;
		if (!ours) {
			log_warning(
				"sync: the server answered for event %s, which this upload did not send; ignored",
				res[i].id);
			continue;
		}
		marks[n_marks].uuid = res[i].id;
		marks[n_marks].rejected = NULL;
		marks[n_marks].refused_code = NULL;
		marks[n_marks].refused_text = NULL;
		switch (res[i].status) {
		case PROTOCOL_EVENT_ACCEPTED:
			/* v1.1 only: a v1 server never meant it. */
			if (!res[i].refused_code[0] || s->info.server_minor < 1)
				break;
			marks[n_marks].refused_code = res[i].refused_code;
			marks[n_marks].refused_text = res[i].refused_text;
			log_warning(
				"sync: the library system refused event %s: %s%s%s; shown to staff",
				res[i].id, res[i].refused_code,
				res[i].refused_text[0] ? ": " : "",
				res[i].refused_text);
			refused++;
			break;
		case PROTOCOL_EVENT_DUPLICATE:
			break;
		case PROTOCOL_EVENT_REJECTED:
			marks[n_marks].rejected =
				res[i].reason[0] ? res[i].reason : "rejected";
			log_warning(
				"sync: the server rejected event %s: %s; it will not be sent again",
				res[i].id, marks[n_marks].rejected);
			rejected++;
			break;
		}
		n_marks++;
	}
	err = n_marks ? store_mark_events_sent(s->store, marks, n_marks,
					       &marked) :
			0;
	free(marks);
	free(res);
	if (err < 0) {
		failed(s, r->kind, 0, "cannot note the server's answer: %s",
		       store_last_error(s->store));
		return;
	}
	if (n_marks == 0) {
		failed(s, r->kind, 0,
		       "the server answered for none of the %u events",
		       r->n_uuids);
		return;
	}
	succeeded(s, r);
	s->refused_alone = false;
	if (r->resend_upto)
		resend_save(s, r->resend_upto + 1);
	/* A 413 or a search for a refused event made batches small: grow back. */
	if (s->info.batch_size < s->batch_size_max)
		s->info.batch_size =
			2 * s->info.batch_size < s->batch_size_max ?
				2 * s->info.batch_size :
				s->batch_size_max;
	log_debug("sync: %u events uploaded (%u rejected, %u refused)", marked,
		  rejected, refused);
}

/*
 * A 400 or 422 for a whole upload: find the event it is about by halving
 * the batch, then give that one up. Only for a refusal in the API's own
 * words, with a back-off at every step, and never two in a row without an
 * upload taken in between: a server (or a proxy in front of it) that
 * refuses everything must not empty the outbox.
 */
static void upload_refused(struct sync *s, struct request *r, long status)
{
	char why[256], reason[PROTOCOL_REASON_MAX + 1],
		code[PROTOCOL_ERROR_CODE_MAX + 1],
		message[PROTOCOL_REASON_MAX + 1];
	struct store_sent_mark m = { .uuid = r->uuids[0], .rejected = reason };

	describe_status(r, status, why, sizeof(why));
	if (!r->reply ||
	    protocol_parse_error(r->reply, r->reply_len, code, message) < 0) {
		failed(s, r->kind, 0, "%s", why);
		return;
	}
	/* An event sent again that the server objects to: skip it. */
	if (r->resend_upto && r->n_uuids == 1) {
		log_warning(
			"sync: the server refuses event %s sent again (%s); going on after it",
			r->uuids[0], why);
		resend_save(s, r->resend_upto + 1);
		s->info.batch_size = s->batch_size_max;
		return;
	}
	if (r->n_uuids > 1) {
		s->info.batch_size = r->n_uuids / 2;
		failed(s, r->kind, 0,
		       "%s; sending %u at a time to find the event it objects to",
		       why, s->info.batch_size);
		return;
	}
	if (s->refused_alone) {
		failed(s, r->kind, 0,
		       "%s, again for a single event: taken as the server's fault, nothing given up",
		       why);
		return;
	}
	snprintf(reason, sizeof(reason), "refused: %.110s", why);
	log_err("sync: the server refuses event %s (%s); it will not be sent again",
		r->uuids[0], why);
	if (store_mark_events_sent(s->store, &m, 1, NULL) < 0) {
		failed(s, r->kind, 0, "cannot note the refusal: %s",
		       store_last_error(s->store));
		return;
	}
	s->refused_alone = true;
	/* The one it objected to is out of the way. */
	s->info.batch_size = s->batch_size_max;
}

/* ---- changes pull ---- */

static bool start_pull(struct sync *s)
{
	char cursor[PROTOCOL_CURSOR_MAX + 1] = "", path[1024];
	struct request *r;
	int err;

	s->pull_asked = false;
	s->pull_lookup.waiting = false;
	err = store_get_sync_value(s->store, "cursor", cursor, sizeof(cursor));
	if (err < 0 && err != -ENOENT)
		cursor[0] = '\0';
	if (cursor[0]) {
		char *esc = curl_easy_escape(NULL, cursor, 0);

		if (!esc) {
			failed(s, SYNC_REQUEST_CHANGES, 0, "out of memory");
			return true;
		}
		snprintf(path, sizeof(path), "/changes?limit=%u&cursor=%s",
			 SYNC_PULL_LIMIT, esc);
		curl_free(esc);
	} else {
		snprintf(path, sizeof(path), "/changes?limit=%u",
			 SYNC_PULL_LIMIT);
	}
	r = request_start(s, SYNC_REQUEST_CHANGES, path, NULL);
	if (!r) {
		failed(s, SYNC_REQUEST_CHANGES, 0, "cannot start a request");
		return true;
	}
	memcpy(r->cursor, cursor, sizeof(cursor));
	s->busy = r;
	return true;
}

/*
 * A changes reply is applied a bounded step at a time, each step one
 * transaction of at most SYNC_APPLY_STEP_ROWS rows, on an idle source of
 * the loop: a full set that drops thousands of holds would otherwise hold
 * the loop for a second, with pulses and taps waiting. The core gets what
 * each step stored right after its commit, so store and core agree between
 * steps. The cursor (and full_cursor) move only in the last step, with the
 * full set's bookkeeping: a crash, a failed step or lokerd's stop before
 * that asks for the same page again, and applying it again changes nothing
 * that is there already (a hold put again is the same hold, a removal of
 * one gone is nothing), so the whole reply ends up applied exactly as if in
 * one go. No other request starts while a reply is being applied.
 */
enum apply_phase {
	APPLY_HOLDS,
	APPLY_REMOVED_HOLDS,
	APPLY_STAFF,
	APPLY_REMOVED_STAFF,
	APPLY_GONE_HOLDS, /* a full set's last page: drop what it lacked */
	APPLY_GONE_STAFF,
	APPLY_FINISH, /* settings, the full set's end, the cursor */
};

static void pull_unusable(struct sync *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

struct pull_apply {
	struct protocol_changes c;
	char sent_cursor[PROTOCOL_CURSOR_MAX + 1];
	bool in_full, continuing, begun;
	enum apply_phase phase;
	unsigned next; /* the phase's next row */
	/* APPLY_GONE_*: the last id walked ("" for none yet) */
	char after[CREDENTIAL_HMAC_HEX_LEN + 1];
	unsigned holds, removed, staff, removed_staff, gone_holds, gone_staff;
	/*
	 * Lockers a hold of this reply was taken as loaded in: the core
	 * learns of them only after their step's commit.
	 */
	bool claimed[KIOSK_LOCKERS_MAX + 1];
};

_Static_assert(KIOSK_HOLD_ID_MAX <= CREDENTIAL_HMAC_HEX_LEN,
	       "a gone id fits hold ids too");

/* One step's walk of the ids a full set lacked. */
struct gone_ids {
	char ids[SYNC_APPLY_STEP_ROWS][CREDENTIAL_HMAC_HEX_LEN + 1];
	unsigned n;
};

static int collect_gone(const char *id, void *userdata)
{
	struct gone_ids *g = userdata;

	if (g->n == SYNC_APPLY_STEP_ROWS)
		return -ENOBUFS;
	snprintf(g->ids[g->n++], sizeof(g->ids[0]), "%s", id);
	return 0;
}

static void apply_free(struct pull_apply *p)
{
	if (!p)
		return;
	protocol_changes_clear(&p->c);
	free(p);
}

/*
 * v1.1 reconciliation: a hold this kiosk has never heard of (its database
 * was reset) that the server has loaded in a locker which here is a hold
 * compartment with nothing in it is taken as loaded there, so that its
 * patron can collect it, not as pending for staff to load again. h is
 * made loaded when so, pending otherwise.
 */
static bool take_as_loaded(struct sync *s, struct pull_apply *p,
			   struct store_hold *h, unsigned locker)
{
	struct kiosk_locker_info li = { 0 };
	const char *why = NULL;

	h->hold.state = KIOSK_HOLD_STATE_PENDING;
	h->hold.locker = 0;
	h->hold.loaded_at_usec = 0;
	if (!locker || s->info.server_minor < 1 ||
	    kiosk_get_hold(s->kiosk, h->hold.id) ||
	    store_has_hold(s->store, h->hold.id) != 0)
		return false;
	if (locker > KIOSK_LOCKERS_MAX ||
	    kiosk_get_locker(s->kiosk, locker, &li) < 0)
		why = "no such locker";
	else if (p->claimed[locker])
		why = "another hold of this reply is there";
	else if (li.hold_id[0])
		why = li.hold_id;
	else if (li.kind != KIOSK_LOCKER_KIND_HOLD ||
		 li.purpose != KIOSK_PURPOSE_NONE)
		why = "not free";
	if (why) {
		log_warning(
			"sync: the server has hold %s loaded in locker %u, which here is no empty hold compartment (%s); taken as pending, for staff to check",
			h->hold.id, locker, why);
		return false;
	}
	p->claimed[locker] = true;
	h->hold.state = KIOSK_HOLD_STATE_LOADED;
	h->hold.locker = locker;
	h->hold.loaded_at_usec = (int64_t)now_usec(CLOCK_REALTIME);
	return true;
}

/*
 * The rows of one step into the store, in one transaction; what the core
 * is to get is noted in core_rows (holds: false for one the store kept,
 * finished here, whose news the server has not had yet) and gone.
 */
static int apply_step_to_store(struct sync *s, struct pull_apply *p,
			       unsigned first, unsigned *ret_n, bool *core_rows,
			       struct gone_ids *gone)
{
	const struct protocol_changes *c = &p->c;
	unsigned n = 0, i;
	int err = 0;

	if (!p->begun && c->full && !p->continuing)
		err = store_full_seen_clear(s->store);
	switch (p->phase) {
	case APPLY_HOLDS:
		for (i = first;
		     err == 0 && i < c->n_holds && n < SYNC_APPLY_STEP_ROWS;
		     i++, n++) {
			enum store_put_result res = STORE_PUT_ADDED;

			if (take_as_loaded(s, p, &p->c.holds[i],
					   c->hold_lockers[i])) {
				err = store_add_hold(s->store, &c->holds[i]);
			} else {
				err = store_put_hold(s->store, &c->holds[i],
						     &res);
			}
			core_rows[n] = err == 0 && res != STORE_PUT_KEPT;
			/*
			 * v1.1: a hold in a locker takes new credentials (a
			 * lost card replaced); v1 keeps them as loaded.
			 */
			if (err == 0 && res == STORE_PUT_EXPIRY_UPDATED &&
			    s->info.server_minor >= 1)
				err = store_set_hold_credentials(s->store,
								 &c->holds[i]);
			if (err == 0 && p->in_full)
				err = store_full_seen_add(s->store,
							  STORE_KIND_HOLD,
							  c->holds[i].hold.id);
		}
		break;
	case APPLY_REMOVED_HOLDS:
		for (i = first; err == 0 && i < c->n_removed_holds &&
				n < SYNC_APPLY_STEP_ROWS;
		     i++, n++) {
			const char *id = c->removed_holds[i];

			core_rows[n] = false;
			if (kiosk_can_remove_hold(s->kiosk, id) == -EBUSY) {
				log_notice(
					"sync: the server took hold %s away, but it is in a locker or being loaded: kept for staff to unload",
					id);
				continue;
			}
			core_rows[n] = true;
			err = store_remove_pending_hold(s->store, id);
			if (err == -ENOENT || err == -EBUSY)
				err = 0;
		}
		break;
	case APPLY_STAFF:
		for (i = first;
		     err == 0 && i < c->n_staff && n < SYNC_APPLY_STEP_ROWS;
		     i++, n++) {
			err = store_put_staff(s->store, &c->staff[i]);
			if (err == 0 && p->in_full)
				err = store_full_seen_add(
					s->store, STORE_KIND_STAFF,
					c->staff[i].credential_hmac);
		}
		break;
	case APPLY_REMOVED_STAFF:
		for (i = first; err == 0 && i < c->n_removed_staff &&
				n < SYNC_APPLY_STEP_ROWS;
		     i++, n++) {
			err = store_remove_staff(s->store, c->removed_staff[i]);
			if (err == -ENOENT)
				err = 0;
		}
		break;
	case APPLY_GONE_HOLDS:
		err = store_foreach_unseen(s->store, STORE_KIND_HOLD, p->after,
					   SYNC_APPLY_STEP_ROWS, collect_gone,
					   gone);
		for (i = 0; err == 0 && i < gone->n; i++) {
			const char *id = gone->ids[i];

			snprintf(p->after, sizeof(p->after), "%s", id);
			if (kiosk_can_remove_hold(s->kiosk, id) == -EBUSY) {
				/* Being loaded: the core keeps it. */
				gone->ids[i][0] = '\0';
				continue;
			}
			err = store_remove_pending_hold(s->store, id);
			if (err == -ENOENT || err == -EBUSY)
				err = 0;
		}
		n = gone->n;
		break;
	case APPLY_GONE_STAFF:
		err = store_foreach_unseen(s->store, STORE_KIND_STAFF, p->after,
					   SYNC_APPLY_STEP_ROWS, collect_gone,
					   gone);
		for (i = 0; err == 0 && i < gone->n; i++) {
			snprintf(p->after, sizeof(p->after), "%s",
				 gone->ids[i]);
			err = store_remove_staff(s->store, gone->ids[i]);
			if (err == -ENOENT)
				err = 0;
		}
		n = gone->n;
		break;
	case APPLY_FINISH:
		if (c->has_pin_required)
			err = store_set_sync_value(s->store, "pin_required",
						   c->pin_required ? "1" : "0");
		if (err == 0 && p->in_full && !c->more) {
			err = store_full_seen_clear(s->store);
			if (err == 0)
				err = store_delete_sync_value(s->store,
							      "full_cursor");
			if (err == -ENOENT)
				err = 0;
		} else if (err == 0 && p->in_full) {
			err = store_set_sync_value(s->store, "full_cursor",
						   c->cursor);
		}
		if (err == 0)
			err = store_set_sync_value(s->store, "cursor",
						   c->cursor);
		break;
	}
	*ret_n = n;
	return err;
}

/* What the store now has, the core gets too: after the commit, never before. */
static void apply_step_to_core(struct sync *s, struct pull_apply *p,
			       unsigned first, unsigned n,
			       const bool *core_rows,
			       const struct gone_ids *gone)
{
	const struct protocol_changes *c = &p->c;
	const char *drop[SYNC_APPLY_STEP_ROWS];
	unsigned i, n_drop = 0;
	int err;

	for (i = 0; i < n; i++) {
		switch (p->phase) {
		case APPLY_HOLDS:
			p->holds++;
			if (!core_rows[i])
				break;
			/* Taken as loaded: reconciled, as it was. */
			if (c->holds[first + i].hold.state ==
			    KIOSK_HOLD_STATE_LOADED) {
				err = kiosk_add_hold(s->kiosk,
						     &c->holds[first + i].hold);
				if (err == 0)
					log_notice(
						"sync: hold %s taken as loaded in locker %u, as the server has it (this kiosk did not know it: a database reset?)",
						c->holds[first + i].hold.id,
						c->holds[first + i]
							.hold.locker);
				else
					log_err("sync: hold %s is stored but not in use until lokerd restarts: %s",
						c->holds[first + i].hold.id,
						strerror(-err));
				break;
			}
			err = kiosk_put_hold(s->kiosk,
					     &c->holds[first + i].hold);
			if (err == 0 && s->info.server_minor >= 1 &&
			    kiosk_set_hold_credentials(
				    s->kiosk, &c->holds[first + i].hold) == 0)
				log_info(
					"sync: hold %s, in a locker, takes the server's credentials",
					c->holds[first + i].hold.id);
			if (err < 0)
				log_err("sync: hold %s is stored but not in use until lokerd restarts: %s",
					c->holds[first + i].hold.id,
					strerror(-err));
			break;
		case APPLY_REMOVED_HOLDS:
			p->removed++;
			if (core_rows[i])
				drop[n_drop++] = c->removed_holds[first + i];
			break;
		case APPLY_STAFF:
			p->staff++;
			kiosk_put_staff(s->kiosk, &c->staff[first + i]);
			break;
		case APPLY_REMOVED_STAFF:
			p->removed_staff++;
			kiosk_remove_staff(s->kiosk,
					   c->removed_staff[first + i]);
			break;
		case APPLY_GONE_HOLDS:
			if (!gone->ids[i][0])
				break;
			p->gone_holds++;
			drop[n_drop++] = gone->ids[i];
			break;
		case APPLY_GONE_STAFF:
			p->gone_staff++;
			kiosk_remove_staff(s->kiosk, gone->ids[i]);
			break;
		case APPLY_FINISH:
			break;
		}
	}
	kiosk_remove_holds(s->kiosk, drop, n_drop);
	if (p->phase == APPLY_FINISH && c->has_pin_required)
		kiosk_set_pin_required(s->kiosk, c->pin_required);
}

/* The phase after p's, once p's rows are all in. */
static void apply_advance(struct pull_apply *p, unsigned n)
{
	const struct protocol_changes *c = &p->c;
	unsigned rows;

	switch (p->phase) {
	case APPLY_HOLDS:
		rows = c->n_holds;
		break;
	case APPLY_REMOVED_HOLDS:
		rows = c->n_removed_holds;
		break;
	case APPLY_STAFF:
		rows = c->n_staff;
		break;
	case APPLY_REMOVED_STAFF:
		rows = c->n_removed_staff;
		break;
	case APPLY_GONE_HOLDS:
	case APPLY_GONE_STAFF:
		/* A walk short of a whole step has found the last. */
		if (n == SYNC_APPLY_STEP_ROWS)
			return;
		p->after[0] = '\0';
		p->phase++;
		return;
	case APPLY_FINISH:
	default:
		return;
	}
	p->next += n;
	if (p->next < rows)
		return;
	p->next = 0;
	p->phase++;
	/* The full set's drops come after its last page only. */
	if (p->phase == APPLY_GONE_HOLDS && !(p->in_full && !c->more))
		p->phase = APPLY_FINISH;
}

static void apply_done(struct sync *s, struct pull_apply *p)
{
	const struct protocol_changes *c = &p->c;

	s->last_pull_error[0] = '\0';
	if (c->n_holds || c->n_removed_holds || c->n_staff ||
	    c->n_removed_staff || p->gone_holds || p->gone_staff || c->full)
		log_info(
			"sync: changes%s: %u holds, %u taken away, %u staff, %u staff removed%s",
			c->full ? " (full set)" : "", p->holds,
			p->removed + p->gone_holds, p->staff,
			p->removed_staff + p->gone_staff,
			c->more ? "; more to come" : "");
	s->pull_due_usec =
		c->more || s->pull_asked ?
			0 :
			now_usec(CLOCK_MONOTONIC) + s->pull_interval_usec;
	s->paging = c->more;
	/* A pull begun after a v1 lookup, all of it in: the store knows. */
	if (!c->more && !s->pull_lookup.waiting)
		pull_lookup_done(s, 0);
}

/* One step of the reply being applied, when nothing else waits. */
static int on_apply(sd_event_source *src, void *userdata)
{
	struct sync *s = userdata;
	struct pull_apply *p = s->applying;
	bool core_rows[SYNC_APPLY_STEP_ROWS];
	struct gone_ids *gone;
	unsigned first, n = 0;
	int err;

	if (!p)
		return 0;
	gone = calloc(1, sizeof(*gone));
	if (!gone) {
		err = -ENOMEM;
		goto fail;
	}
	first = p->next;
	err = store_begin(s->store);
	if (err == 0) {
		err = apply_step_to_store(s, p, first, &n, core_rows, gone);
		if (err < 0)
			store_rollback(s->store);
		else
			err = store_commit(s->store);
	}
	if (err < 0) {
		free(gone);
		goto fail;
	}
	p->begun = true;
	apply_step_to_core(s, p, first, n, core_rows, gone);
	free(gone);
	if (p->phase == APPLY_FINISH) {
		s->applying = NULL;
		apply_done(s, p);
		apply_free(p);
		schedule(s);
		return 0;
	}
	apply_advance(p, n);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
fail:
	/*
	 * What is stored stays, the core has it too; the page comes again,
	 * after the pull interval: a step the store refuses is most often
	 * refused again, and at once would fetch the page twice a second.
	 */
	s->applying = NULL;
	pull_unusable(s, "cannot store the changes: %s",
		      err == -ENOMEM ? "out of memory" :
				       store_last_error(s->store));
	apply_free(p);
	schedule(s);
	return 0;
}

/*
 * The server answered, but with changes the kiosk cannot use (not valid,
 * or more holds than it keeps): asking again at once gets the same, and
 * would starve the upload, so the pull waits its interval while events
 * go up and heartbeats go on. Said once until a pull works again.
 */
static void pull_unusable(struct sync *s, const char *fmt, ...)
{
	char why[sizeof(s->info.last_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	s->info.failures++;
	snprintf(s->info.last_error, sizeof(s->info.last_error), "%s", why);
	s->pull_due_usec = now_usec(CLOCK_MONOTONIC) + s->pull_interval_usec;
	s->paging = false;
	if (strcmp(why, s->last_pull_error) == 0)
		return;
	log_warning(
		"sync: changes pull: %s; trying again in %.0f s (pickups and uploads go on)",
		why, (double)s->pull_interval_usec / USEC_PER_SEC);
	snprintf(s->last_pull_error, sizeof(s->last_pull_error), "%s", why);
}

static void finish_pull(struct sync *s, struct request *r)
{
	char full_cursor[PROTOCOL_CURSOR_MAX + 1] = "";
	char error[PROTOCOL_ERROR_MAX];
	unsigned new_holds = 0, new_staff = 0;
	struct pull_apply *p;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p) {
		failed(s, r->kind, 0,
		       "cannot store the changes: out of memory");
		return;
	}
	err = protocol_parse_changes(r->reply ? r->reply : "", r->reply_len,
				     &p->c, error);
	if (err < 0) {
		free(p);
		pull_unusable(s,
			      "the reply is not valid, nothing of it used: %s",
			      error);
		return;
	}
	if (p->c.more && strcmp(p->c.cursor, r->cursor) == 0) {
		apply_free(p);
		pull_unusable(
			s,
			"the reply says more, but its cursor is the one asked with");
		return;
	}
	/*
	 * What the core could not keep would be stored all the same, and
	 * lokerd could not start again: a reply past its bounds is refused.
	 * Nothing but the sync module adds holds or staff while it applies.
	 */
	for (unsigned i = 0; i < p->c.n_holds; i++)
		new_holds += !kiosk_get_hold(s->kiosk, p->c.holds[i].hold.id);
	for (unsigned i = 0; i < p->c.n_staff; i++)
		new_staff += !kiosk_is_staff(s->kiosk,
					     p->c.staff[i].credential_hmac);
	if (!kiosk_has_room(s->kiosk, new_holds, new_staff)) {
		apply_free(p);
		pull_unusable(
			s, "cannot store the changes: more holds or staff "
			   "than this kiosk keeps (raise [policy] max_holds; "
			   "at most 256 staff)");
		return;
	}
	store_get_sync_value(s->store, "full_cursor", full_cursor,
			     sizeof(full_cursor));
	memcpy(p->sent_cursor, r->cursor, sizeof(p->sent_cursor));
	p->continuing = full_cursor[0] && strcmp(full_cursor, r->cursor) == 0;
	p->in_full = p->c.full || p->continuing;
	succeeded(s, r);
	s->applying = p;
	sd_event_source_set_enabled(s->apply_source, SD_EVENT_ONESHOT);
}

/* ---- heartbeat and commands ---- */

static int add_done(const char *id, void *userdata)
{
	return json_array_append_new(userdata, json_string(id)) < 0 ? -ENOMEM :
								      0;
}

static bool start_status(struct sync *s)
{
	char at[32];
	json_t *body, *done;
	uint64_t unsent = 0;
	struct request *r;
	char *text;

	body = s->ops->status(s->userdata);
	done = json_array();
	if (!body || !done) {
		json_decref(body);
		json_decref(done);
		failed(s, SYNC_REQUEST_STATUS, 0, "out of memory");
		return true;
	}
	store_foreach_unacked_command(s->store, SYNC_DONE_COMMANDS_MAX,
				      add_done, done);
	protocol_format_time((int64_t)now_usec(CLOCK_REALTIME), at);
	store_count_unsent(s->store, &unsent);
	store_count_rejected(s->store, &s->info.rejected_events);
	json_object_set_new(body, "at", json_string(at));
	json_object_set_new(body, "backlog", json_integer((json_int_t)unsent));
	json_object_set_new(body, "rejected_events",
			    json_integer((json_int_t)s->info.rejected_events));
	json_object_set(body, "done_commands", done);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r = text ? request_start(s, SYNC_REQUEST_STATUS, "/status", text) :
		   NULL;
	if (!r) {
		json_decref(done);
		failed(s, SYNC_REQUEST_STATUS, 0, "cannot start a request");
		return true;
	}
	r->done = done;
	s->busy = r;
	return true;
}

static void finish_status(struct sync *s, struct request *r)
{
	struct protocol_status_reply reply;
	char error[PROTOCOL_ERROR_MAX];
	bool ran = false;
	int64_t skew;
	int err;

	err = protocol_parse_status_reply(r->reply ? r->reply : "",
					  r->reply_len, &reply, error);
	if (err < 0) {
		failed(s, r->kind, 0,
		       "the reply is not valid, nothing of it used: %s", error);
		return;
	}
	succeeded(s, r);
	if (reply.next_status_s)
		s->status_interval_usec =
			(uint64_t)reply.next_status_s * USEC_PER_SEC;
	s->status_due_usec =
		now_usec(CLOCK_MONOTONIC) + s->status_interval_usec;
	if (reply.server_time_usec) {
		skew = reply.server_time_usec -
		       (int64_t)now_usec(CLOCK_REALTIME);
		/* The server wrote its time about halfway through. */
		s->info.clock_skew_ms =
			(-skew - (int64_t)(s->info.last_request_usec / 2)) /
			1000;
		s->info.has_clock_skew = true;
		if (llabs(skew) > (long long)SYNC_CLOCK_SKEW_USEC) {
			if (!s->skew_warned)
				log_warning(
					"sync: this kiosk's clock is %+.0f s off the server's; check NTP (times in events come from this clock)",
					-(double)skew / USEC_PER_SEC);
			s->skew_warned = true;
		} else {
			s->skew_warned = false;
		}
	}
	/* The server has seen these done: it no longer sends them. */
	for (size_t k = 0; k < json_array_size(r->done); k++) {
		const char *id = json_string_value(json_array_get(r->done, k));
		bool still = false;

		for (unsigned j = 0; j < reply.n_commands && !still; j++)
			still = strcmp(reply.commands[j].id, id) == 0;
		if (!still)
			store_ack_command(s->store, id);
	}
	for (unsigned i = 0; i < reply.n_commands; i++) {
		struct protocol_command *c = &reply.commands[i];

		if (store_command_is_done(s->store, c->id) != 0)
			continue;
		/* Its expiry against the server's clock, not ours; without
		 * the server's time it cannot be shown still valid, and the
		 * safe side is not to run it. */
		c->expired = c->expires_at_usec &&
			     (!reply.server_time_usec ||
			      c->expires_at_usec <= reply.server_time_usec);
		s->ops->command(c, s->userdata);
		/* Not recorded (a full disk): the next heartbeat brings it. */
		if (store_command_is_done(s->store, c->id) == 1)
			ran = true;
	}
	/*
	 * Say soon what ran, rather than a minute later; not at once, so a
	 * server with a new command in every reply gets a pause.
	 */
	if (ran)
		s->status_due_usec = now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC;
}

/* ---- versions ---- */

/* What the server said it speaks, in the reply it just gave. */
static void note_server_version(struct sync *s, struct request *r)
{
	struct curl_header *h;
	unsigned minor = 0;

	if (curl_easy_header(r->easy, PROTOCOL_VERSION_HEADER, 0, CURLH_HEADER,
			     -1, &h) == CURLHE_OK)
		minor = protocol_minor_version(h->value);
	if (minor != s->info.server_minor)
		log_info("sync: the server speaks Locker Sync API 1.%u", minor);
	s->info.server_minor = minor;
	/* A v1 server would finish a hold taken in part: all or nothing. */
	kiosk_set_partial_pickup(s->kiosk, minor >= 1);
}

/* ---- item lookup ---- */

int sync_lookup_item(struct sync *s, const char *barcode,
		     void (*cb)(int err, const char *hold_id, void *userdata),
		     void *userdata)
{
	char path[512], *body = NULL;
	struct request *r;
	json_t *o;

	if (s->lookup || s->pull_lookup.cb)
		return -EBUSY;
	if (!barcode[0] || strlen(barcode) > STORE_BARCODE_MAX)
		return -EINVAL;
	if (s->info.server_minor < 1) {
		/*
		 * v1 has the lookup only as GET items/{barcode}: the scan,
		 * which may be a member card, would be in a URL and in every
		 * log of one (issue 19, point 5). A pull brings a hold routed
		 * since the last one all the same, without the scan.
		 */
		if (s->not_before_usec > now_usec(CLOCK_MONOTONIC))
			return -EAGAIN;
		snprintf(s->pull_lookup.barcode, sizeof(s->pull_lookup.barcode),
			 "%s", barcode);
		s->pull_lookup.cb = cb;
		s->pull_lookup.userdata = userdata;
		s->pull_lookup.waiting = true;
		sync_now(s);
		return 0;
	}
	/* v1.1: in the body, where no URL log of any proxy sees it. */
	o = json_pack("{s:s}", "barcode", barcode);
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!body)
		return -ENOMEM;
	snprintf(path, sizeof(path), "/items/lookup");
	r = request_start(s, SYNC_REQUEST_ITEM, path, body);
	if (!r)
		return -EIO;
	r->cb = cb;
	r->cb_userdata = userdata;
	s->lookup = r;
	return 0;
}

static int finish_lookup(struct sync *s, struct request *r, long status,
			 struct store_hold *h)
{
	char error[PROTOCOL_ERROR_MAX];
	enum store_put_result res;
	int err;

	if (status == 404)
		return -ENOENT;
	if (status != 200) {
		describe_status(r, status, error, sizeof(error));
		log_warning("sync: item lookup: %s", error);
		return -EIO;
	}
	err = protocol_parse_item_reply(r->reply ? r->reply : "", r->reply_len,
					h, error);
	if (err < 0) {
		log_warning(
			"sync: item lookup: the reply is not valid, nothing of it used: %s",
			error);
		return -EIO;
	}
	err = store_put_hold(s->store, h, &res);
	if (err < 0) {
		log_err("sync: item lookup: cannot store hold %s: %s",
			h->hold.id, store_last_error(s->store));
		return -ENOSPC;
	}
	/* Finished or in a locker here; the server has not heard yet. */
	if (res == STORE_PUT_EXPIRY_UPDATED)
		kiosk_put_hold(s->kiosk, &h->hold);
	if (res == STORE_PUT_KEPT || res == STORE_PUT_EXPIRY_UPDATED)
		return -ENOENT;
	err = kiosk_put_hold(s->kiosk, &h->hold);
	if (err < 0) {
		log_err("sync: item lookup: hold %s: %s", h->hold.id,
			strerror(-err));
		return -ENOSPC;
	}
	log_info("sync: item lookup: the server routed hold %s here",
		 h->hold.id);
	return 0;
}

/* ---- the loop ---- */

static void finish(struct sync *s, struct request *r, CURLcode code)
{
	long status = 0;
	long connects = 0;
	char why[256];

	s->info.last_request_usec = now_usec(CLOCK_MONOTONIC) - r->started_usec;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status > 0)
		note_server_version(s, r);
	if (curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &connects) ==
		    CURLE_OK &&
	    connects > 0)
		s->info.connects += (uint64_t)connects;
	if (r->kind == SYNC_REQUEST_ITEM) {
		struct store_hold h;
		int err;

		if (code == CURLE_OPERATION_TIMEDOUT)
			err = -ETIMEDOUT;
		else if (code != CURLE_OK)
			err = -EIO;
		else
			err = finish_lookup(s, r, status, &h);
		if (code != CURLE_OK)
			log_warning("sync: item lookup: %s",
				    r->curl_error[0] ?
					    r->curl_error :
					    curl_easy_strerror(code));
		r->cb(err, err == 0 ? h.hold.id : NULL, r->cb_userdata);
		return;
	}
	if (r->reply_too_large || code == CURLE_FILESIZE_EXCEEDED) {
		failed(s, r->kind, 0, "the reply is larger than %u bytes",
		       PROTOCOL_REPLY_MAX);
		return;
	}
	if (code == CURLE_OPERATION_TIMEDOUT) {
		curl_off_t tls_usec = 0;

		/*
		 * Not curl's text, which counts the milliseconds and bytes
		 * and so differs at every try: a server that stays slow is
		 * said once. A reused connection was made long before.
		 */
		curl_easy_getinfo(r->easy, CURLINFO_APPCONNECT_TIME_T,
				  &tls_usec);
		if (connects > 0 && tls_usec == 0)
			failed(s, r->kind, 0,
			       "no connection within %d s (timed out)",
			       SYNC_CONNECT_TIMEOUT_MS / 1000);
		else
			failed(s, r->kind, 0,
			       "no whole reply within %d s (timed out)",
			       SYNC_REQUEST_TIMEOUT_MS / 1000);
		return;
	}
	if (code == CURLE_COULDNT_CONNECT) {
		long os_errno = 0;

		/* As above: curl's text counts the milliseconds it took. */
		curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
		failed(s, r->kind, 0, "cannot connect: %s",
		       os_errno > 0 ? strerror((int)os_errno) :
				      curl_easy_strerror(code));
		return;
	}
	if (code != CURLE_OK) {
		/* TLS trouble says what to check: it is a setting to fix. */
		failed(s, r->kind, 0, "%s%s",
		       r->curl_error[0] ? r->curl_error :
					  curl_easy_strerror(code),
		       code == CURLE_PEER_FAILED_VERIFICATION ||
				       code == CURLE_SSL_CACERT_BADFILE ||
				       code == CURLE_SSL_PINNEDPUBKEYNOTMATCH ?
			       " (the server is refused: check [sync] url, ca_file and pinned_public_key)" :
			       "");
		return;
	}
	if (status >= 200 && status < 300) {
		switch (r->kind) {
		case SYNC_REQUEST_EVENTS:
			finish_upload(s, r);
			break;
		case SYNC_REQUEST_CHANGES:
			finish_pull(s, r);
			break;
		case SYNC_REQUEST_STATUS:
			finish_status(s, r);
			break;
		case SYNC_REQUEST_ITEM:
			break;
		}
		return;
	}
	describe_status(r, status, why, sizeof(why));
	if (r->kind == SYNC_REQUEST_EVENTS && status == 413) {
		s->info.batch_size = r->n_uuids > 1 ? r->n_uuids / 2 : 1;
		log_warning(
			"sync: the server finds %u events too many (%s); sending %u at a time",
			r->n_uuids, why, s->info.batch_size);
		if (r->n_uuids > 1)
			return;
	}
	if (r->kind == SYNC_REQUEST_EVENTS &&
	    (status == 400 || status == 422)) {
		upload_refused(s, r, status);
		return;
	}
	failed(s, r->kind,
	       status == 429 || status == 503 ? retry_after_of(r) : 0, "%s%s",
	       why,
	       status == 401 || status == 403 ?
		       " (check [sync] token_file, client_cert and [kiosk] id)" :
		       "");
}

static void process_done(struct sync *s)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(s->multi, &left))) {
		struct request *r = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
				  (char **)&r);
		if (!r)
			continue;
		/* The request is ours until freed: detach it first. */
		if (r == s->busy)
			s->busy = NULL;
		else if (r == s->lookup)
			s->lookup = NULL;
		finish(s, r, m->data.result);
		request_free(r);
	}
	schedule(s);
}

static int on_wake(sd_event_source *src, uint64_t usec, void *userdata)
{
	schedule(userdata);
	return 0;
}

static void wake_at(struct sync *s, uint64_t at_usec)
{
	int err = arm_at(s, &s->wake, at_usec, on_wake);

	if (err < 0)
		log_err("sync: cannot arm a timer: %s", strerror(-err));
}

/*
 * One request at a time, in this order: a heartbeat when due (staff see
 * the kiosk even while a long backlog drains), changes when due (with an
 * upload between pages), then the outbox. Otherwise sleep until the next
 * is due.
 */
static void schedule(struct sync *s)
{
	uint64_t now = now_usec(CLOCK_MONOTONIC), next;

	if (s->busy || s->applying)
		return;
	if (now < s->backoff_until_usec) {
		wake_at(s, s->backoff_until_usec);
		return;
	}
	if (s->status_due_usec <= now && start_status(s))
		goto started;
	/* Between the pages of a long pull, one upload: neither starves. */
	if (s->paging && s->upload_wanted) {
		s->paging = false;
		if (start_upload(s))
			goto started;
	}
	if (s->pull_due_usec <= now && start_pull(s))
		goto started;
	if (s->upload_wanted && start_upload(s))
		goto started;
	next = s->status_due_usec < s->pull_due_usec ? s->status_due_usec :
						       s->pull_due_usec;
	wake_at(s, next);
	return;
started:
	/* A start that failed set a back-off: come back then. */
	if (!s->busy)
		wake_at(s, s->backoff_until_usec > now ? s->backoff_until_usec :
							 now);
}

void sync_kick(struct sync *s)
{
	if (!s)
		return;
	if (!s->upload_wanted) {
		s->upload_wanted = true;
		if (!s->busy &&
		    now_usec(CLOCK_MONOTONIC) >= s->backoff_until_usec)
			wake_at(s, now_usec(CLOCK_MONOTONIC) +
					   SYNC_KICK_DELAY_USEC);
	}
}

uint64_t sync_now(struct sync *s)
{
	uint64_t now;

	if (!s)
		return 0;
	now = now_usec(CLOCK_MONOTONIC);
	s->pull_due_usec = 0;
	s->pull_asked = s->busy || s->applying;
	s->status_due_usec = 0;
	s->upload_wanted = true;
	/* Our own back-off goes; what the server asked for stays. */
	s->backoff_until_usec =
		s->not_before_usec > now ? s->not_before_usec : 0;
	if (!s->busy)
		wake_at(s, s->backoff_until_usec ? s->backoff_until_usec : now);
	return s->backoff_until_usec ? s->backoff_until_usec - now : 0;
}

void sync_status_soon(struct sync *s)
{
	if (!s)
		return;
	s->status_due_usec = 0;
	if (!s->busy && now_usec(CLOCK_MONOTONIC) >= s->backoff_until_usec)
		wake_at(s, now_usec(CLOCK_MONOTONIC));
}

bool sync_is_online(const struct sync *s)
{
	return s->info.online;
}

void sync_get_info(const struct sync *s, struct sync_info *ret)
{
	*ret = s->info;
	store_count_rejected(s->store, &ret->rejected_events);
	store_count_refused(s->store, &ret->refused_events);
}

struct sync *sync_new(const struct config *c, sd_event *event,
		      struct store *store, struct kiosk *kiosk,
		      const struct sync_ops *ops, void *userdata)
{
	const curl_version_info_data *v;
	struct sync *s;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errno = ENOMEM;
		return NULL;
	}
	v = curl_version_info(CURLVERSION_NOW);
	if (!(v->features & CURL_VERSION_SSL)) {
		log_err("sync: this libcurl has no TLS: cannot sync over HTTPS");
		curl_global_cleanup();
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		curl_global_cleanup();
		return NULL;
	}
	s->event = sd_event_ref(event);
	s->store = store;
	s->kiosk = kiosk;
	s->ops = ops;
	s->userdata = userdata;
	snprintf(s->base_url, sizeof(s->base_url), "%s/kiosks/%s", c->sync.url,
		 c->kiosk_id);
	snprintf(s->auth_header, sizeof(s->auth_header),
		 "Authorization: Bearer %s", c->sync.token);
	snprintf(s->ca_file, sizeof(s->ca_file), "%s", c->sync.ca_file);
	snprintf(s->pinned_public_key, sizeof(s->pinned_public_key), "%s",
		 c->sync.pinned_public_key);
	snprintf(s->client_cert, sizeof(s->client_cert), "%s",
		 c->sync.client_cert);
	snprintf(s->client_key, sizeof(s->client_key), "%s",
		 c->sync.client_key);
	s->info.batch_size = c->sync.batch_size;
	s->batch_size_max = c->sync.batch_size;
	s->status_interval_usec =
		(uint64_t)c->sync.status_interval_s * USEC_PER_SEC;
	s->pull_interval_usec =
		(uint64_t)c->sync.pull_interval_s * USEC_PER_SEC;
	/* Everything is due at start: say hello, catch up, upload. */
	s->upload_wanted = true;
	resend_load(s);
	s->multi = curl_multi_init();
	if (!s->multi ||
	    curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket) !=
		    CURLM_OK ||
	    curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s) != CURLM_OK ||
	    curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION,
			      on_curl_timer) != CURLM_OK ||
	    curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s) != CURLM_OK) {
		sync_free(s);
		errno = ENOMEM;
		return NULL;
	}
	/* Below everything else: a step of applying runs when nothing waits. */
	if (sd_event_add_defer(event, &s->apply_source, on_apply, s) < 0 ||
	    sd_event_source_set_priority(s->apply_source,
					 SD_EVENT_PRIORITY_IDLE) < 0 ||
	    sd_event_source_set_enabled(s->apply_source, SD_EVENT_OFF) < 0) {
		sync_free(s);
		errno = ENOMEM;
		return NULL;
	}
	log_info("sync: server %s as kiosk %s (CA %s%s)", c->sync.url,
		 c->kiosk_id, s->ca_file[0] ? s->ca_file : "of the system",
		 s->pinned_public_key[0] ? ", key pinned" : "");
	wake_at(s, now_usec(CLOCK_MONOTONIC));
	return s;
}

void sync_free(struct sync *s)
{
	if (!s)
		return;
	request_free(s->busy);
	request_free(s->lookup);
	/* Its steps so far are stored: the page is asked for again. */
	apply_free(s->applying);
	sd_event_source_disable_unref(s->apply_source);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	sd_event_source_disable_unref(s->curl_timer);
	sd_event_source_disable_unref(s->wake);
	sd_event_unref(s->event);
	explicit_bzero(s->auth_header, sizeof(s->auth_header));
	free(s);
	curl_global_cleanup();
}
