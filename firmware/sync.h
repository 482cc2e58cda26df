/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kiosk's side of Locker Sync API v1 (docs/sync-api.md): outbox upload,
 * changes pull, heartbeat, server commands and the item lookup, over
 * libcurl's multi interface on lokerd's sd-event loop. Nothing here blocks
 * the loop, and nothing here stands between a patron and a door.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "kiosk.h"
#include "protocol.h"
#include "store.h"

#define SYNC_BACKOFF_BASE_USEC (1000ULL * 1000ULL)
#define SYNC_BACKOFF_CAP_USEC  (300ULL * 1000ULL * 1000ULL)
/* A Retry-After longer than this is taken as this: a bound on silence. */
#define SYNC_RETRY_AFTER_MAX_USEC (3600ULL * 1000ULL * 1000ULL)
#define SYNC_CONNECT_TIMEOUT_MS	  10000
#define SYNC_REQUEST_TIMEOUT_MS	  30000
#define SYNC_LOOKUP_TIMEOUT_MS	  3000
#define SYNC_PULL_LIMIT		  500 /* holds per changes page */
/*
 * Rows of a changes reply applied per turn of the loop, each step one
 * transaction (docs/performance.md, "Loop stalls").
 */
#define SYNC_APPLY_STEP_ROWS 32
/* How long a burst of new events is gathered before an upload starts. */
#define SYNC_KICK_DELAY_USEC (20ULL * 1000ULL)
/* Server clock further off than this is worth a warning. */
#define SYNC_CLOCK_SKEW_USEC (60ULL * 1000ULL * 1000ULL)

struct sync_ops {
	/*
	 * The kiosk's state for the heartbeat, as a new JSON object the sync
	 * module adds its own fields to and then releases.
	 */
	json_t *(*status)(void *userdata);
	/*
	 * Carries out a server command not carried out before. Whatever it
	 * does is recorded with the command's id (store_record() of a record
	 * whose .command is set), which is what makes it "done": a command
	 * left unrecorded (a full disk) is tried again at the next heartbeat.
	 */
	void (*command)(const struct protocol_command *c, void *userdata);
};

struct sync_info {
	bool online;		  /* the last request got a valid reply */
	int64_t last_ok_usec;	  /* CLOCK_REALTIME of that reply, or 0 */
	char last_error[256];	  /* why the last request failed, or "" */
	uint64_t rejected_events; /* ever, from the store */
	/* v1.1: accepted, but refused by the library system; ever */
	uint64_t refused_events;
	unsigned batch_size; /* events per upload now (413 halves it) */
	uint64_t requests, failures;
	uint64_t last_request_usec; /* how long the last reply took */
	/* New connections (each one a TLS handshake); keep-alive keeps it 1. */
	uint64_t connects;
	/* The server's Lokerbuku-Sync minor version: 1 for v1.1, 0 for v1. */
	unsigned server_minor;
	/*
	 * This kiosk's clock minus the server's, at the last heartbeat reply
	 * (half the request's time allowed for), when has_clock_skew.
	 */
	bool has_clock_skew;
	int64_t clock_skew_ms;
};

/*
 * Starts syncing with the server in c->sync (the caller checks url is set).
 * store and kiosk belong to the caller and must outlive the sync module;
 * ops and userdata too. Returns NULL with errno set (ENOMEM, or EINVAL
 * when libcurl lacks what is needed: HTTPS). The caller frees it with
 * sync_free(), which drops any request in flight.
 */
struct sync *sync_new(const struct config *c, sd_event *event,
		      struct store *store, struct kiosk *kiosk,
		      const struct sync_ops *ops, void *userdata);
void sync_free(struct sync *s);

/* New events are in the outbox: upload them soon (bursts are gathered). */
void sync_kick(struct sync *s);
/* Pull changes and send a heartbeat now (the sync_now command). */
/*
 * Returns 0, or the microseconds still to wait for the server's
 * Retry-After (a 429 or 503), which sync_now() honours too.
 */
uint64_t sync_now(struct sync *s);
/* A command has run: tell the server at once, in a heartbeat. */
void sync_status_soon(struct sync *s);

/*
 * Asks the server for the pending hold with an item of this barcode
 * (staff scanned a book the kiosk does not know): a v1.1 server in a POST
 * body; of a v1 server (whose lookup has the scan in its URL) a pull, then
 * the store. -EAGAIN: the server said to wait. On an answer the hold is
 * stored and given to the core before cb runs with 0 and its id; otherwise
 * cb gets -ENOENT (the server knows none), -EBUSY (another lookup is in
 * flight: cb is not called then, the return says so), -ETIMEDOUT, -EIO (no
 * valid answer), or -ENOSPC (it could not be stored). Returns 0 when asked.
 */
int sync_lookup_item(struct sync *s, const char *barcode,
		     void (*cb)(int err, const char *hold_id, void *userdata),
		     void *userdata);

/*
 * The v1.1 command resend_events: the events from from_seq on that were
 * sent already (given up ones too) are sent again, oldest first, before
 * the unsent ones; the progress outlives a restart. *ret_pruned: some of
 * them are no longer kept. 0, or -EIO when the store cannot say.
 */
int sync_resend_from(struct sync *s, int64_t from_seq, bool *ret_pruned);

void sync_get_info(const struct sync *s, struct sync_info *ret);
/* sync_get_info()'s online alone, without reading the database. */
bool sync_is_online(const struct sync *s);
