/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Prometheus metrics listener (docs/monitoring.md): GET /metrics in
 * the text exposition format 0.0.4, behind a bearer token when one is
 * configured, on lokerd's sd-event loop. Off unless [metrics] listen is set.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "kiosk.h"

#define METRICS_CONNECTIONS_MAX 8
#define METRICS_TIMEOUT_S	10 /* for a request to arrive */
#define METRICS_HEADERS_MAX	(8 * 1024)
#define METRICS_URL_MAX		80
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

/* Where a credential came from, as the taps counter labels it. */
enum metrics_credential {
	METRICS_CREDENTIAL_UID,	 /* an NFC card */
	METRICS_CREDENTIAL_CARD, /* a member number, typed or scanned */
	METRICS_CREDENTIAL_CODE, /* a pickup code */
	METRICS_CREDENTIAL_OTHER,
};
#define METRICS_CREDENTIALS (METRICS_CREDENTIAL_OTHER + 1)

/* Refusals, by the screen that told the patron or staff member. */
enum metrics_refusal {
	METRICS_REFUSAL_WRONG_PIN,
	METRICS_REFUSAL_LOCKED_OUT,
	METRICS_REFUSAL_UNKNOWN_CARD,
	METRICS_REFUSAL_NO_HOLDS,
	METRICS_REFUSAL_PIN_NOT_SET,
	METRICS_REFUSAL_BAD_CREDENTIAL,
};
#define METRICS_REFUSALS (METRICS_REFUSAL_BAD_CREDENTIAL + 1)

/* Counted by lokerd from its start: they only ever grow. */
struct metrics_counters {
	uint64_t taps[METRICS_CREDENTIALS];
	uint64_t refusals[METRICS_REFUSALS];
	uint64_t unlocks; /* lock pulses that were carried out */
	/* Events made durable, by type; pickups are HOLD_PICKED_UP. */
	uint64_t events[KIOSK_RECORD_COMMAND_DONE + 1];
};

/* The credential kind of a normalised credential ("uid:04A1..."). */
enum metrics_credential metrics_credential_of(const char *credential);
/* The refusal a screen tells, or -1 when it is none. */
int metrics_refusal_of(enum kiosk_screen screen);

struct metrics_locker {
	unsigned number;
	bool door_open, disabled, occupied;
	bool alarm_left_open, alarm_forced_open;
	enum kiosk_door_state door_state;
	enum kiosk_fault fault;
};

/* Everything one scrape says, gathered by lokerd at the scrape. */
struct metrics_snapshot {
	const char *version, *kiosk_id;
	int64_t now_usec, started_usec; /* CLOCK_REALTIME */
	uint64_t uptime_usec;
	bool in_service, reader_up, lockbank_up;
	bool has_scanner, scanner_up;
	uint64_t outbox_unsent;
	int64_t oldest_unsent_at_usec; /* CLOCK_REALTIME; 0 when none */
	bool has_sync;		       /* the sync_ fields below only then */
	bool sync_up;
	int64_t sync_last_ok_usec; /* CLOCK_REALTIME; 0: never */
	uint64_t sync_last_request_usec;
	uint64_t sync_requests, sync_failures, sync_rejected_events;
	uint64_t sync_refused_events;
	unsigned n_lockers;
	const struct metrics_locker *lockers;
	struct metrics_counters counters;
};

/*
 * The exposition text of s: a string the caller frees, or NULL (ENOMEM).
 * Pure: the same snapshot gives the same text.
 */
char *metrics_render(const struct metrics_snapshot *s);

/*
 * What to answer a request, as an HTTP status: 200, 401 (no or a wrong
 * bearer token, when token is not NULL), 404 (not /metrics), 405 (not GET
 * or HEAD), 413 (it has a body). authorization is the header or NULL.
 */
unsigned metrics_request_decide(const char *method, const char *path,
				const char *authorization, bool has_body,
				const char *token);

/* Equal strings, in a time that depends on expected's length alone. */
bool metrics_token_matches(const char *given, const char *expected);

struct metrics_config {
	const char *address; /* numeric IPv4 or IPv6 */
	unsigned port;	     /* 0: a free one */
	const char *token;   /* NULL: none asked (loopback only) */
};

struct metrics_ops {
	/* Fills ret for a scrape; its pointers live until the next call. */
	void (*snapshot)(struct metrics_snapshot *ret, void *userdata);
};

/*
 * Listens as c says (c->token is copied). Returns NULL with errno set,
 * the reason logged. The caller frees it with metrics_free().
 */
struct metrics *metrics_new(sd_event *event, const struct metrics_config *c,
			    const struct metrics_ops *ops, void *userdata);
void metrics_free(struct metrics *m);

/* The port bound: the one asked for, or the free one found. */
unsigned metrics_get_port(const struct metrics *m);
/* "http://127.0.0.1:9464/metrics"; lives as long as m. */
const char *metrics_get_url(const struct metrics *m);
