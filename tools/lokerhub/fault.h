/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Faults for tests, kept in the database so a test switches them on and
 * off while the server runs: each hits the next matching requests.
 */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>

#define FAULT_DELAY_MS_MAX    60000
#define FAULT_RETRY_AFTER_MAX 86400
#define FAULT_COUNT_MAX	      1000000
#define FAULT_ACTIVE_MAX      100 /* faults waiting at once */

/* A trickle's pause between two bytes without --delay-ms. */
#define FAULT_TRICKLE_MS 1000

enum fault_kind {
	FAULT_KIND_NONE,
	FAULT_KIND_500,	       /* error reply, request not processed */
	FAULT_KIND_503,	       /* as 500, with Retry-After when given */
	FAULT_KIND_429,	       /* as 503 */
	FAULT_KIND_DELAY,      /* sleep delay_ms, then as usual */
	FAULT_KIND_DROP,       /* close the connection, nothing processed */
	FAULT_KIND_DROP_AFTER, /* process and commit, then close, no reply */
	FAULT_KIND_TRUNCATE,   /* process, send half the reply, close */
	FAULT_KIND_GARBAGE,    /* process, reply 200 with a body not JSON */
	FAULT_KIND_HUGE,       /* process, reply 200 with over 4 MiB */
	FAULT_KIND_400,	       /* bad_request, request not processed */
	FAULT_KIND_TRICKLE,    /* process, send the body a byte per delay_ms */
};

struct fault {
	enum fault_kind kind;
	unsigned retry_after_s; /* 0: no Retry-After */
	unsigned delay_ms;
};

/* "500", "drop-after", ...; and back: 0 or -EINVAL. */
const char *fault_kind_name(enum fault_kind kind);
int fault_kind_from_name(const char *name, enum fault_kind *ret);

/* true for changes, events, status, items and any. */
bool fault_endpoint_is_valid(const char *endpoint);

/* Adds a fault for the next count requests (0: until cleared). */
int fault_add(sqlite3 *db, const char *endpoint, enum fault_kind kind,
	      unsigned count, unsigned retry_after_s, unsigned delay_ms);
int fault_clear(sqlite3 *db);

/*
 * Takes the oldest fault waiting for a request to endpoint (or any) and
 * counts it down. *ret gets FAULT_KIND_NONE when there is none; 0 or -EIO.
 */
int fault_take(sqlite3 *db, const char *endpoint, struct fault *ret);
