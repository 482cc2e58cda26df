/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Locker Sync API v1, the server's side (docs/sync-api.md): routing,
 * authentication and the four endpoints over the database, without HTTP
 * transport, so every rule can be reached without a socket.
 */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"

#define API_BODY_MAX	  (1u << 20) /* request bytes */
#define API_EVENTS_MAX	  500	     /* per upload */
#define API_LIMIT_DEFAULT 200	     /* holds per changes reply */
#define API_LIMIT_MAX	  1000
#define API_REMOVED_MAX	  10000 /* removed_holds, removed_staff per reply */
#define API_STAFF_MAX	  1000	/* staff per reply */
#define API_COMMANDS_MAX  32	/* per status reply */
#define API_TOKEN_MAX	  1024
#define API_DEFAULT_BASE  "/locker-sync/v1"

enum api_endpoint {
	API_ENDPOINT_CHANGES,
	API_ENDPOINT_EVENTS,
	API_ENDPOINT_STATUS,
	API_ENDPOINT_ITEMS,
	/* v1.1: POST items/lookup, the barcode in the body, not the URL. */
	API_ENDPOINT_ITEM_LOOKUP,
};

/*
 * Why an event about a hold routed to another kiosk now is rejected; the
 * fleet status looks for it (misplaced holds).
 */
#define API_REASON_ROUTED_ELSEWHERE "unknown_hold: routed to another kiosk"

/* The protocol version lokerhub speaks: its Lokerbuku-Sync reply header. */
#define API_SYNC_VERSION "1.1"

/* "changes", "events", "status", "items": the names faults use too. */
const char *api_endpoint_name(enum api_endpoint e);

struct api_route {
	enum api_endpoint endpoint;
	char kiosk_id[DB_ID_MAX + 1];
	char barcode[DB_ID_MAX + 1]; /* items only (lookup: from the body) */
	/* The kiosk's Lokerbuku-Sync minor version: 1 for v1.1, 0 for v1. */
	unsigned kiosk_minor;
};

/* A reply: status, a JSON body the caller frees, and its extra header. */
struct api_reply {
	unsigned status;
	char *body;
	size_t body_len;
	const char *allow; /* a 405's Allow header, static */
	/*
	 * What the request wrote is only the kiosk's status (a heartbeat
	 * that acknowledged no command): its next heartbeat says it again,
	 * so it need not be on disk before the reply.
	 */
	bool status_only;
};

/*
 * Finds the endpoint of method and path (raw, still %-escaped) under
 * base. 0 and *ret filled, or an error reply (404, 405) in *reply.
 */
int api_route(const char *base, const char *method, const char *path,
	      struct api_route *ret, struct api_reply *reply);

/*
 * Checks the Authorization header (may be NULL) for the route's kiosk:
 * 0, or a 401 or 403 error reply in *reply.
 */
int api_authorize(sqlite3 *db, const struct api_route *route,
		  const char *authorization, struct api_reply *reply);

/*
 * Answers one authorised request. query_cursor and query_limit are the
 * raw (escaped) query values or NULL; body has a '\0' after its body_len
 * bytes. Always fills *reply; a database failure is a 500.
 */
void api_handle(sqlite3 *db, const struct api_route *route,
		const char *query_cursor, const char *query_limit,
		const char *body, size_t body_len, struct api_reply *reply);

/*
 * A heartbeat answered on a reader's connection (in its read transaction)
 * at now, when all it writes is the kiosk's status: it acknowledges no
 * command, the skim reads it, and the kiosk's lockers need no comparison.
 * true and *reply filled: the caller has the status stored later with
 * api_status_store(). false: the heartbeat is api_handle()'s, on the
 * writer (*reply untouched).
 */
bool api_status_answer(sqlite3 *db, const struct api_route *route,
		       const char *body, size_t body_len, int64_t now,
		       struct api_reply *reply);

/* Stores a kiosk's status, the heartbeat's body as it came, said at. */
int api_status_store(sqlite3 *db, const char *kiosk_id, int64_t at_usec,
		     const char *body);

/*
 * What a heartbeat's handler reads of it, without jansson's tree of the
 * whole: an object with its "backlog", the first API_DONE_MAX of its
 * "done_commands", and each of its "lockers" with that one's "number" and
 * "hold", each value as jansson gives it if null, an integer or a string,
 * else json_true() (which reads as none of them, as the value would).
 * NULL when it cannot say: the body is then jansson's to judge. What it
 * takes jansson takes with JSON_REJECT_DUPLICATES: an object, its strings
 * printable ASCII without escapes, its numbers integers of up to 18
 * digits, nested up to 16 deep. The caller frees with json_decref().
 */
json_t *api_status_skim(const char *body, size_t body_len);

/* An error reply: {"error": {"code", "message"}}. */
void api_error(struct api_reply *reply, unsigned status, const char *message);

/* The error code the API gives a status: "bad_request", ... */
const char *api_error_code(unsigned status);

/*
 * Decodes %XX escapes of s in place. false when an escape is broken or
 * decodes to a NUL.
 */
bool api_unescape(char *s);
