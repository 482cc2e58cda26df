// SPDX-License-Identifier: GPL-2.0-or-later
/* The Prometheus metrics listener: its text, its requests, its server. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "httpd.h"
#include "log.h"
#include "metrics.h"

struct metrics {
	struct httpd *httpd;
	const struct metrics_ops *ops;
	void *userdata;
	char token[CONFIG_TOKEN_MAX + 1]; /* "" when none is asked */
	char url[METRICS_URL_MAX];
};

static const char *const credential_names[] = {
	[METRICS_CREDENTIAL_UID] = "uid",
	[METRICS_CREDENTIAL_CARD] = "card",
	[METRICS_CREDENTIAL_CODE] = "code",
	[METRICS_CREDENTIAL_OTHER] = "other",
};
_Static_assert(sizeof(credential_names) / sizeof(credential_names[0]) ==
		       METRICS_CREDENTIALS,
	       "a name for every credential kind");

static const char *const refusal_names[] = {
	[METRICS_REFUSAL_WRONG_PIN] = "wrong_pin",
	[METRICS_REFUSAL_LOCKED_OUT] = "locked_out",
	[METRICS_REFUSAL_UNKNOWN_CARD] = "unknown_card",
	[METRICS_REFUSAL_NO_HOLDS] = "no_holds",
	[METRICS_REFUSAL_PIN_NOT_SET] = "pin_not_set",
	[METRICS_REFUSAL_BAD_CREDENTIAL] = "bad_credential",
};
_Static_assert(sizeof(refusal_names) / sizeof(refusal_names[0]) ==
		       METRICS_REFUSALS,
	       "a name for every refusal");

enum metrics_credential metrics_credential_of(const char *credential)
{
	if (strncmp(credential, "uid:", 4) == 0)
		return METRICS_CREDENTIAL_UID;
	if (strncmp(credential, "card:", 5) == 0)
		return METRICS_CREDENTIAL_CARD;
	if (strncmp(credential, "code:", 5) == 0)
		return METRICS_CREDENTIAL_CODE;
	return METRICS_CREDENTIAL_OTHER;
}

int metrics_refusal_of(enum kiosk_screen screen)
{
	switch (screen) {
	case KIOSK_SCREEN_WRONG_PIN:
		return METRICS_REFUSAL_WRONG_PIN;
	case KIOSK_SCREEN_LOCKED_OUT:
		return METRICS_REFUSAL_LOCKED_OUT;
	case KIOSK_SCREEN_UNKNOWN_CARD:
		return METRICS_REFUSAL_UNKNOWN_CARD;
	case KIOSK_SCREEN_NO_HOLDS:
		return METRICS_REFUSAL_NO_HOLDS;
	case KIOSK_SCREEN_PIN_NOT_SET:
		return METRICS_REFUSAL_PIN_NOT_SET;
	case KIOSK_SCREEN_BAD_CREDENTIAL:
		return METRICS_REFUSAL_BAD_CREDENTIAL;
	case KIOSK_SCREEN_IDLE:
	case KIOSK_SCREEN_PIN:
	case KIOSK_SCREEN_LOCKERS_OPEN:
	case KIOSK_SCREEN_LOCKER_FAULT:
	case KIOSK_SCREEN_CLOSE_DOOR:
	case KIOSK_SCREEN_THANK_YOU:
	case KIOSK_SCREEN_STAFF_PIN:
	case KIOSK_SCREEN_STAFF_MENU:
	case KIOSK_SCREEN_RETURN_IDENTIFY:
	case KIOSK_SCREEN_RETURN_OPEN:
	case KIOSK_SCREEN_CHOOSE_BOOKS:
	case KIOSK_SCREEN_RETURN_FULL:
		break;
	}
	return -1;
}

/* ---- the text ---- */

static void family(FILE *f, const char *name, const char *type,
		   const char *help)
{
	fprintf(f, "# HELP lokerbuku_%s %s\n# TYPE lokerbuku_%s %s\n", name,
		help, name, type);
}

/* A label value: backslash, double quote and newline escaped. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*v, f);
	}
}

static void seconds(FILE *f, int64_t usec)
{
	int64_t whole = usec / 1000000, frac = usec % 1000000;

	if (frac < 0) {
		whole--;
		frac += 1000000;
	}
	fprintf(f, "%" PRId64 ".%06" PRId64, whole, frac);
}

static void locker_gauge(FILE *f, const struct metrics_snapshot *s,
			 const char *name, const char *type, const char *help,
			 bool (*value)(const struct metrics_locker *l))
{
	family(f, name, type, help);
	for (unsigned i = 0; i < s->n_lockers; i++)
		fprintf(f, "lokerbuku_%s{locker=\"%u\"} %d\n", name,
			s->lockers[i].number, value(&s->lockers[i]));
}

static bool door_open(const struct metrics_locker *l)
{
	return l->door_open;
}

static bool disabled(const struct metrics_locker *l)
{
	return l->disabled;
}

static bool occupied(const struct metrics_locker *l)
{
	return l->occupied;
}

static void render_lockers(FILE *f, const struct metrics_snapshot *s)
{
	static const enum kiosk_door_state states[] = {
		KIOSK_DOOR_STATE_CLOSED,
		KIOSK_DOOR_STATE_UNLOCKING,
		KIOSK_DOOR_STATE_OPEN,
		KIOSK_DOOR_STATE_FORCED,
	};
	static const enum kiosk_fault faults[] = {
		KIOSK_FAULT_NOT_OPENED,
		KIOSK_FAULT_INTERRUPTED,
	};

	locker_gauge(f, s, "door_open", "gauge",
		     "Whether the locker's door sensor reads open.", door_open);
	family(f, "locker_state", "gauge",
	       "1 for the door supervisor's state of the locker, 0 for the others.");
	for (unsigned i = 0; i < s->n_lockers; i++)
		for (size_t j = 0; j < sizeof(states) / sizeof(states[0]); j++)
			fprintf(f,
				"lokerbuku_locker_state{locker=\"%u\",state=\"%s\"} %d\n",
				s->lockers[i].number,
				kiosk_door_state_to_string(states[j]),
				s->lockers[i].door_state == states[j]);
	family(f, "locker_fault", "gauge",
	       "1 when the locker is out of use for this fault until staff enable it.");
	for (unsigned i = 0; i < s->n_lockers; i++)
		for (size_t j = 0; j < sizeof(faults) / sizeof(faults[0]); j++)
			fprintf(f,
				"lokerbuku_locker_fault{locker=\"%u\",fault=\"%s\"} %d\n",
				s->lockers[i].number,
				kiosk_fault_to_string(faults[j]),
				s->lockers[i].fault == faults[j]);
	family(f, "door_alarm", "gauge",
	       "1 while the door's alarm is raised: left open too long, or opened without an unlock.");
	for (unsigned i = 0; i < s->n_lockers; i++)
		fprintf(f,
			"lokerbuku_door_alarm{locker=\"%u\",alarm=\"left_open\"} %d\n"
			"lokerbuku_door_alarm{locker=\"%u\",alarm=\"forced_open\"} %d\n",
			s->lockers[i].number, s->lockers[i].alarm_left_open,
			s->lockers[i].number, s->lockers[i].alarm_forced_open);
	locker_gauge(f, s, "locker_disabled", "gauge",
		     "Whether staff or the server disabled the locker.",
		     disabled);
	locker_gauge(f, s, "locker_occupied", "gauge",
		     "Whether the locker holds a hold or uncollected returns.",
		     occupied);
}

static void render_counters(FILE *f, const struct metrics_snapshot *s)
{
	const struct metrics_counters *c = &s->counters;

	family(f, "taps_total", "counter",
	       "Credentials presented since lokerd started: cards tapped, member numbers scanned, pickup codes typed.");
	for (int i = 0; i < METRICS_CREDENTIALS; i++)
		fprintf(f,
			"lokerbuku_taps_total{credential=\"%s\"} %" PRIu64 "\n",
			credential_names[i], c->taps[i]);
	family(f, "refusals_total", "counter",
	       "Credentials and PINs refused since lokerd started, by the screen that said so.");
	for (int i = 0; i < METRICS_REFUSALS; i++)
		fprintf(f,
			"lokerbuku_refusals_total{reason=\"%s\"} %" PRIu64 "\n",
			refusal_names[i], c->refusals[i]);
	family(f, "pickups_total", "counter",
	       "Holds picked up since lokerd started.");
	fprintf(f, "lokerbuku_pickups_total %" PRIu64 "\n",
		c->events[KIOSK_RECORD_HOLD_PICKED_UP]);
	family(f, "unlocks_total", "counter",
	       "Lock pulses carried out since lokerd started.");
	fprintf(f, "lokerbuku_unlocks_total %" PRIu64 "\n", c->unlocks);
	family(f, "events_total", "counter",
	       "Events recorded in the outbox since lokerd started, by type.");
	for (int i = 0; i <= KIOSK_RECORD_COMMAND_DONE; i++)
		fprintf(f, "lokerbuku_events_total{type=\"%s\"} %" PRIu64 "\n",
			kiosk_record_type_to_string((enum kiosk_record_type)i),
			c->events[i]);
}

static void render_sync(FILE *f, const struct metrics_snapshot *s)
{
	family(f, "sync_up", "gauge",
	       "Whether the last request to the library's server got a valid reply.");
	fprintf(f, "lokerbuku_sync_up %d\n", s->sync_up);
	family(f, "sync_last_success_timestamp_seconds", "gauge",
	       "When the server last gave a valid reply, in seconds since the epoch; 0 when never since lokerd started.");
	fputs("lokerbuku_sync_last_success_timestamp_seconds ", f);
	seconds(f, s->sync_last_ok_usec);
	fputc('\n', f);
	family(f, "sync_last_request_duration_seconds", "gauge",
	       "How long the last request to the server took, to its reply or its failure.");
	fputs("lokerbuku_sync_last_request_duration_seconds ", f);
	seconds(f, (int64_t)s->sync_last_request_usec);
	fputc('\n', f);
	family(f, "sync_requests_total", "counter",
	       "Requests made to the server since lokerd started.");
	fprintf(f, "lokerbuku_sync_requests_total %" PRIu64 "\n",
		s->sync_requests);
	family(f, "sync_failures_total", "counter",
	       "Requests to the server that failed since lokerd started.");
	fprintf(f, "lokerbuku_sync_failures_total %" PRIu64 "\n",
		s->sync_failures);
	family(f, "sync_rejected_events_total", "counter",
	       "Events the server ever rejected (kept in the database).");
	fprintf(f, "lokerbuku_sync_rejected_events_total %" PRIu64 "\n",
		s->sync_rejected_events);
	family(f, "sync_refused_events_total", "counter",
	       "Events the server took that the library system refused (v1.1; kept in the database).");
	fprintf(f, "lokerbuku_sync_refused_events_total %" PRIu64 "\n",
		s->sync_refused_events);
}

char *metrics_render(const struct metrics_snapshot *s)
{
	char *text = NULL;
	size_t len = 0;
	int64_t age_usec = 0;
	FILE *f;

	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	family(f, "build_info", "gauge",
	       "Always 1: lokerd's version and the kiosk's id as labels.");
	fputs("lokerbuku_build_info{version=\"", f);
	label_value(f, s->version);
	fputs("\",kiosk=\"", f);
	label_value(f, s->kiosk_id);
	fputs("\"} 1\n", f);
	family(f, "start_time_seconds", "gauge",
	       "When lokerd started, in seconds since the epoch.");
	fputs("lokerbuku_start_time_seconds ", f);
	seconds(f, s->started_usec);
	fputc('\n', f);
	family(f, "uptime_seconds", "gauge", "How long lokerd has run.");
	fputs("lokerbuku_uptime_seconds ", f);
	seconds(f, (int64_t)s->uptime_usec);
	fputc('\n', f);
	family(f, "in_service", "gauge",
	       "0 while events cannot be recorded, and the kiosk refuses to open doors.");
	fprintf(f, "lokerbuku_in_service %d\n", s->in_service);
	family(f, "reader_up", "gauge", "Whether the card reader answers.");
	fprintf(f, "lokerbuku_reader_up %d\n", s->reader_up);
	family(f, "lockbank_up", "gauge",
	       "Whether the lock bank's hardware answers (a Modbus board may not).");
	fprintf(f, "lokerbuku_lockbank_up %d\n", s->lockbank_up);
	if (s->has_scanner) {
		family(f, "scanner_up", "gauge",
		       "Whether the barcode scanner is there and reading.");
		fprintf(f, "lokerbuku_scanner_up %d\n", s->scanner_up);
	}
	family(f, "outbox_unsent_events", "gauge",
	       "Events recorded and not yet accepted by the server: the backlog.");
	fprintf(f, "lokerbuku_outbox_unsent_events %" PRIu64 "\n",
		s->outbox_unsent);
	if (s->oldest_unsent_at_usec && s->now_usec > s->oldest_unsent_at_usec)
		age_usec = s->now_usec - s->oldest_unsent_at_usec;
	family(f, "outbox_oldest_unsent_age_seconds", "gauge",
	       "How long the oldest unsent event has waited; 0 when none waits.");
	fputs("lokerbuku_outbox_oldest_unsent_age_seconds ", f);
	seconds(f, age_usec);
	fputc('\n', f);
	if (s->has_sync)
		render_sync(f, s);
	render_lockers(f, s);
	render_counters(f, s);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* ---- requests ---- */

bool metrics_token_matches(const char *given, const char *expected)
{
	size_t n = strlen(expected), m = strnlen(given, n + 1);
	unsigned char diff = m != n;

	/* Every byte of expected is looked at, whatever given holds. */
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)expected[i] ^
			(unsigned char)(i < m ? given[i] : 0);
	return diff == 0;
}

/* "Bearer <token>", the scheme in any case, the token alone after it. */
static bool authorized(const char *authorization, const char *token)
{
	const char *given;

	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	given = authorization + 7;
	while (*given == ' ')
		given++;
	return metrics_token_matches(given, token);
}

unsigned metrics_request_decide(const char *method, const char *path,
				const char *authorization, bool has_body,
				const char *token)
{
	/* Nothing, not even which paths exist, before the token. */
	if (token && !authorized(authorization, token))
		return 401;
	if (strcmp(path, "/metrics") != 0)
		return 404;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return 405;
	if (has_body)
		return 413;
	return 200;
}

/* ---- the server ---- */

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
				  char *text, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), text, mode);
	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ?
					METRICS_CONTENT_TYPE :
					"text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"lokerbuku metrics\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static const char *refusal_text(unsigned status)
{
	switch (status) {
	case MHD_HTTP_UNAUTHORIZED:
		return "a bearer token is needed\n";
	case MHD_HTTP_NOT_FOUND:
		return "only /metrics is here\n";
	case MHD_HTTP_METHOD_NOT_ALLOWED:
		return "only GET and HEAD\n";
	default:
		return "no request body is taken\n";
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *data_size, void **req_cls)
{
	struct metrics *m = cls;
	struct metrics_snapshot snap;
	bool has_body;
	unsigned status;
	char *text;

	/*
	 * Answered at the first call, before any body is read: MHD then
	 * closes a connection whose body it did not take.
	 */
	if (*data_size)
		return MHD_NO;
	has_body =
		MHD_lookup_connection_value(
			c, MHD_HEADER_KIND,
			MHD_HTTP_HEADER_TRANSFER_ENCODING) ||
		strtoull(
			MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) ?:
				"0",
			NULL, 10) > 0;
	status = metrics_request_decide(
		method, url,
		MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					    MHD_HTTP_HEADER_AUTHORIZATION),
		has_body, m->token[0] ? m->token : NULL);
	if (status != MHD_HTTP_OK)
		return reply_text(c, status, (char *)refusal_text(status),
				  MHD_RESPMEM_PERSISTENT);
	m->ops->snapshot(&snap, m->userdata);
	text = metrics_render(&snap);
	if (!text)
		return MHD_NO; /* out of memory: MHD closes the connection */
	return reply_text(c, MHD_HTTP_OK, text, MHD_RESPMEM_MUST_FREE);
}

struct metrics *metrics_new(sd_event *event, const struct metrics_config *c,
			    const struct metrics_ops *ops, void *userdata)
{
	struct httpd_options o = {
		.name = "metrics",
		.address = c->address,
		.port = c->port,
		.connections_max = METRICS_CONNECTIONS_MAX,
		.timeout_s = METRICS_TIMEOUT_S,
		.headers_max = METRICS_HEADERS_MAX,
		.on_request = on_request,
	};
	struct metrics *m;
	int err;

	if (c->token && strlen(c->token) >= sizeof(m->token)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->ops = ops;
	m->userdata = userdata;
	if (c->token)
		memcpy(m->token, c->token, strlen(c->token) + 1);
	o.userdata = m;
	m->httpd = httpd_new(event, &o);
	err = m->httpd ? 0 : errno; /* logged */
	/* config_load() refuses it; a second lock on the same door. */
	if (m->httpd && !m->token[0] && !httpd_is_loopback(m->httpd)) {
		log_err("metrics: %s is beyond loopback: a token is required",
			c->address);
		err = EPERM;
	}
	if (err) {
		metrics_free(m);
		errno = err;
		return NULL;
	}
	snprintf(m->url, sizeof(m->url),
		 strchr(c->address, ':') ? "http://[%s]:%u/metrics" :
					   "http://%s:%u/metrics",
		 c->address, httpd_get_port(m->httpd));
	log_notice("metrics: %s (%s)", m->url,
		   m->token[0] ? "bearer token required" :
				 "loopback, no token");
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	httpd_free(m->httpd);
	explicit_bzero(m->token, sizeof(m->token));
	free(m);
}

unsigned metrics_get_port(const struct metrics *m)
{
	return httpd_get_port(m->httpd);
}

const char *metrics_get_url(const struct metrics *m)
{
	return m->url;
}
