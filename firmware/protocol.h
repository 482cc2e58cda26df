/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Locker Sync API v1 (docs/sync-api.md): the JSON the server sends, checked
 * whole before anything of it is used. Pure code: bytes in, structs or an
 * error naming the offending field out.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credential.h"
#include "kiosk.h"
#include "store.h"

/*
 * The version this kiosk speaks, in the Lokerbuku-Sync header of every
 * request; a server that speaks 1.1 says so in the same header of its
 * replies, and only then does the kiosk use what 1.1 added.
 */
#define PROTOCOL_VERSION_HEADER "Lokerbuku-Sync"
#define PROTOCOL_VERSION	"1.1"
#define PROTOCOL_REPLY_MAX	(4u << 20) /* bytes */
#define PROTOCOL_CURSOR_MAX	255
#define PROTOCOL_HOLDS_MAX	1000 /* per changes reply */
#define PROTOCOL_REMOVED_MAX	10000
#define PROTOCOL_STAFF_MAX	1000
#define PROTOCOL_ERROR_MAX	256
#define PROTOCOL_RESULTS_MAX	500 /* events per upload */
#define PROTOCOL_COMMANDS_MAX	32  /* per status reply */
#define PROTOCOL_COMMAND_ID_MAX 63
#define PROTOCOL_REASON_MAX	127
/* A command's "by": who asked on the server's side. */
#define PROTOCOL_BY_MAX		48
#define PROTOCOL_ERROR_CODE_MAX 31

struct protocol_changes {
	char cursor[PROTOCOL_CURSOR_MAX + 1];
	bool more, full;
	struct store_hold *holds; /* state PENDING, as the server routes them */
	/*
	 * v1.1: per hold, the locker the server has it loaded in, or 0
	 * (reconciliation after the kiosk's database was reset).
	 */
	unsigned *hold_lockers;
	unsigned n_holds;
	char (*removed_holds)[KIOSK_HOLD_ID_MAX + 1];
	unsigned n_removed_holds;
	struct kiosk_staff *staff;
	unsigned n_staff;
	char (*removed_staff)[CREDENTIAL_HMAC_HEX_LEN + 1];
	unsigned n_removed_staff;
	/* settings, when the reply has them */
	bool has_pin_required, pin_required;
};

/*
 * Parses a reply to GET .../changes. Returns 0, or -EINVAL with ret_error
 * saying what and where ("holds[3].items[0].barcode: not 1-63 printable
 * ASCII characters"), -EMSGSIZE for a body over PROTOCOL_REPLY_MAX or
 * arrays over their limits, -ENOMEM. On failure ret holds nothing to free.
 * Unknown fields are ignored, as the API asks.
 */
int protocol_parse_changes(const char *body, size_t len,
			   struct protocol_changes *ret,
			   char ret_error[PROTOCOL_ERROR_MAX]);
void protocol_changes_clear(struct protocol_changes *c);

enum protocol_event_status {
	PROTOCOL_EVENT_ACCEPTED,
	PROTOCOL_EVENT_DUPLICATE, /* the server had it already: done too */
	PROTOCOL_EVENT_REJECTED,  /* never to be sent again; .reason says why */
};

struct protocol_event_result {
	char id[STORE_UUID_LEN + 1];
	enum protocol_event_status status;
	char reason[PROTOCOL_REASON_MAX + 1];
	/*
	 * v1.1, on an accepted one: the library system refused what the
	 * event asked (a checkout over the loan limit): a code, "" when not,
	 * and a text for staff.
	 */
	char refused_code[STORE_REFUSED_CODE_MAX + 1];
	char refused_text[PROTOCOL_REASON_MAX + 1];
};

/*
 * Parses a reply to POST .../events: *ret_results (freed by the caller with
 * free()) gets *ret_n results. Errors as protocol_parse_changes().
 */
int protocol_parse_event_results(const char *body, size_t len,
				 struct protocol_event_result **ret_results,
				 unsigned *ret_n,
				 char ret_error[PROTOCOL_ERROR_MAX]);

enum protocol_command_type {
	/* A type this kiosk does not know: acknowledged, not carried out. */
	PROTOCOL_COMMAND_UNKNOWN,
	PROTOCOL_COMMAND_OPEN_LOCKER,	 /* .locker */
	PROTOCOL_COMMAND_DISABLE_LOCKER, /* .locker */
	PROTOCOL_COMMAND_ENABLE_LOCKER,	 /* .locker */
	PROTOCOL_COMMAND_UNLOAD_HOLD,	 /* .hold_id */
	PROTOCOL_COMMAND_SYNC_NOW,
	PROTOCOL_COMMAND_RESEND_EVENTS, /* v1.1: .from_seq */
};

struct protocol_command {
	char id[PROTOCOL_COMMAND_ID_MAX + 1];
	enum protocol_command_type type;
	unsigned locker;
	char hold_id[KIOSK_HOLD_ID_MAX + 1];
	int64_t from_seq; /* resend_events: the first event to send again */
	char reason[PROTOCOL_REASON_MAX + 1];
	/* v1.1: the server's time after which it must not run; 0: none. */
	int64_t expires_at_usec;
	/*
	 * Set by the sync module: expires_at is not after the server_time of
	 * the reply that brought it (both the server's clock, so a kiosk
	 * clock that is off does not matter). Acknowledged, not carried out.
	 */
	bool expired;
	char by[PROTOCOL_BY_MAX + 1]; /* the server's user who asked, or "" */
};

struct protocol_status_reply {
	int64_t server_time_usec; /* 0 when the reply has none */
	unsigned next_status_s;	  /* 0 when the reply has none, else 10..3600 */
	unsigned n_commands;
	struct protocol_command commands[PROTOCOL_COMMANDS_MAX];
};

/* Parses a reply to POST .../status. Errors as protocol_parse_changes(). */
int protocol_parse_status_reply(const char *body, size_t len,
				struct protocol_status_reply *ret,
				char ret_error[PROTOCOL_ERROR_MAX]);

/*
 * Parses a reply to GET .../items/{barcode}: {"hold": {...}} with the hold
 * as in changes. Errors as protocol_parse_changes(); ret is untouched then.
 */
int protocol_parse_item_reply(const char *body, size_t len,
			      struct store_hold *ret,
			      char ret_error[PROTOCOL_ERROR_MAX]);

/*
 * Reads the error body of a reply other than 2xx:
 * {"error": {"code": "rate_limited", "message": "..."}}. 0, or -EINVAL
 * (-EMSGSIZE) when the body is not that; the outputs are untouched then.
 * The message is printable (no control codes), for a log line.
 */
int protocol_parse_error(const char *body, size_t len,
			 char ret_code[PROTOCOL_ERROR_CODE_MAX + 1],
			 char ret_message[PROTOCOL_REASON_MAX + 1]);

/*
 * Appends an outbox event to events (a JSON array) as the upload sends it:
 * {"id", "seq", "type", "at", "payload"}. 0, -EINVAL when its payload is
 * not a JSON object, -ENOMEM.
 */
int protocol_add_event(json_t *events, const struct store_event *e);
/* {"events": events} as compact text; the caller frees it. NULL: ENOMEM. */
char *protocol_events_body(json_t *events);

/* 1 to max characters from '!' to '~': ids, barcodes, cursors. */
bool protocol_is_token(const char *s, size_t max);
/* Text for people (names, titles): at most max bytes, no control codes. */
bool protocol_is_text(const char *s, size_t max);
/* A lower-case UUID, as kiosks make them for events. */
bool protocol_is_uuid(const char *s);

/*
 * The minor version of a Lokerbuku-Sync header's value ("1.1" -> 1), 0 for
 * NULL, "1", "1.0" or anything unreadable: a server that says nothing is a
 * v1 server.
 */
unsigned protocol_minor_version(const char *header_value);

/* usec since the epoch as "2026-11-22T08:15:02.123Z" into ret. */
void protocol_format_time(int64_t usec, char ret[32]);

/*
 * "2026-11-22T08:15:00Z" (fractions of a second allowed, ignored) as
 * microseconds since the epoch. 0, or -EINVAL for anything else, including
 * offsets other than Z and impossible dates.
 */
int protocol_parse_time(const char *s, int64_t *ret_usec);

/* A calendar date "2026-12-20", as an item's due date (v1.1). */
#define PROTOCOL_DATE_LEN 10
bool protocol_is_date(const char *s);
