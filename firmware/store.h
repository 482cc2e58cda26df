/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kiosk's database: lockers, holds, staff and the outbox of events, in
 * one SQLite file (WAL, synchronous=FULL). Only lokerd opens it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "kiosk.h"

#define STORE_ITEMS_MAX	  16
#define STORE_BARCODE_MAX 63
#define STORE_TITLE_MAX	  255 /* bytes of UTF-8 */
#define STORE_DUE_LEN	  10  /* YYYY-MM-DD */
#define STORE_UUID_LEN	  36
/* Sent events older than the newest this many are pruned. */
#define STORE_SENT_KEEP 10000
/* Holds picked up or unloaded longer ago than the newest this many, too. */
#define STORE_FINISHED_KEEP 10000
/* PRAGMA user_version of the schema this code writes. */
#define STORE_SCHEMA_VERSION 8
/* Done server commands the server stopped sending, kept to refuse repeats. */
#define STORE_COMMANDS_KEEP 1000

struct store_item {
	char barcode[STORE_BARCODE_MAX + 1];
	char title[STORE_TITLE_MAX + 1];
	/* "2026-12-20", the date the library lent it until, or "". */
	char due[STORE_DUE_LEN + 1];
};

/* A hold as the server (or lokerctl) hands it over: the core's view + items. */
struct store_hold {
	struct kiosk_hold hold;
	unsigned n_items;
	struct store_item items[STORE_ITEMS_MAX];
};

struct store_event {
	int64_t seq;
	char uuid[STORE_UUID_LEN + 1];
	const char *type;    /* valid during the callback */
	int64_t at_usec;     /* CLOCK_REALTIME */
	const char *payload; /* JSON object text, valid during the callback */
	bool sent;
};

/*
 * Past max_unsent, facts (a pickup seen, a door closed) are still recorded
 * up to this many more; only what would open a door is refused.
 */
#define STORE_FACTS_HEADROOM 10000

struct store_options {
	/*
	 * Recording a locker_unlocked fails with -ENOSPC once this many
	 * events are unsent; any record, STORE_FACTS_HEADROOM later.
	 */
	uint64_t max_unsent; /* 0 means 1000000 */
	uint64_t sent_keep;  /* 0 means STORE_SENT_KEEP */
	/*
	 * Sent events recorded longer ago than this (by their wall time) go
	 * too, whatever their number; 0: only by count.
	 */
	int64_t sent_keep_usec;
	uint64_t finished_keep; /* 0 means STORE_FINISHED_KEEP */
	/*
	 * Finished holds done longer ago than this (by their wall time) are
	 * wiped: their credentials, items, patron name, code and PIN hash
	 * go, their id and state stay; 0: never.
	 */
	int64_t finished_keep_usec;
	/*
	 * PRAGMA quick_check at open (about 0.3 s for 100,000 events on a
	 * PC): a file damaged past its first pages fails to open as corrupt
	 * rather than at some later record.
	 */
	bool quick_check;
};

/* How the open database is set up, for status and self-tests. */
struct store_info {
	unsigned schema_version; /* PRAGMA user_version */
	bool wal;		 /* journal_mode is WAL */
	unsigned synchronous;	 /* PRAGMA synchronous: 2 is FULL */
	bool foreign_keys;
};

/*
 * Opens (creating if needed) and migrates the database at path. Returns
 * NULL with errno set: EROFS/EACCES when it cannot be written, EILSEQ when
 * the file is corrupt, not ours or of a newer schema, ENOMEM. opt may be
 * NULL for the defaults. The caller frees it with store_free(). Logs
 * nothing; store_open_error() tells why it failed.
 */
struct store *store_open(const char *path, const struct store_options *opt);
void store_free(struct store *s);
/* Why the last store_open() of this thread failed; valid until the next. */
const char *store_open_error(void);

/* What kind of failure the last store_open() of this thread was. */
enum store_open_failure {
	STORE_OPEN_FAILURE_NONE,
	STORE_OPEN_FAILURE_CORRUPT,   /* damaged: lokerctl recover */
	STORE_OPEN_FAILURE_READ_ONLY, /* the file, its folder or file system */
	STORE_OPEN_FAILURE_NEWER,     /* of a schema this code does not know */
	STORE_OPEN_FAILURE_FOREIGN,   /* not a lokerbuku database */
	STORE_OPEN_FAILURE_OTHER,
};
enum store_open_failure store_open_failure(void);
/* store_open_error() without the path in front. */
const char *store_open_reason(void);
/* The last failure's message for s, valid until the next call on s. */
const char *store_last_error(const struct store *s);
int store_get_info(struct store *s, struct store_info *ret);
/*
 * A number that changes with every change made through s but pruning and
 * marking events sent (a change rolled back may change it too): what was
 * read from s may have changed only when it has. Reads nothing.
 */
uint64_t store_get_generation(const struct store *s);

/*
 * Makes rec durable: applies the state change it describes and appends it
 * to the outbox in one transaction. ret_uuid (may be NULL) gets the
 * event's UUID. Returns 0, -EINVAL for a record naming an unknown hold or
 * locker or a change the schema refuses, -ENOSPC when the disk or the
 * outbox bound is full, -EROFS, -EIO otherwise; on failure nothing was
 * written.
 */
int store_record(struct store *s, const struct kiosk_record *rec,
		 int64_t wall_usec, char ret_uuid[STORE_UUID_LEN + 1]);
/*
 * store_record() of n records in one transaction, made durable by one
 * fsync: each record is applied and appended whole or, refused, writes
 * nothing of its own. ret_errs[i] gets record i's 0 or -errno (as
 * store_record() returns), ret_uuids[i] (ret_uuids may be NULL) its UUID.
 * Returns 0 when the transaction committed, or -errno when it failed as a
 * whole (every ret_errs[i] then non-zero: nothing written).
 * store_last_error() tells the first record refused.
 */
int store_record_batch(struct store *s, const struct kiosk_record *const *recs,
		       unsigned n, int64_t wall_usec,
		       char (*ret_uuids)[STORE_UUID_LEN + 1], int *ret_errs);

/*
 * Pruning, in steps the caller runs when nothing else waits (never between
 * a record and the pulse it guards): sent events beyond the newest
 * sent_keep or older than sent_keep_usec, finished holds beyond the newest
 * finished_keep, finished holds older than finished_keep_usec wiped,
 * acknowledged commands beyond STORE_COMMANDS_KEEP, guessing-defence rows
 * of holds and staff gone. One
 * step deletes at most max_rows rows, in one transaction. Returns 1 while
 * more is left, 0 once all is done, -errno (-EBUSY inside store_begin());
 * a failed step leaves what it would have deleted for the next.
 */
int store_prune_step(struct store *s, unsigned max_rows, int64_t wall_usec);
/* Makes pruning due now: for what ages without events (lokerd, hourly). */
void store_prune_request(struct store *s);
/*
 * Whether pruning is due: at open, and after every few hundred events
 * recorded or marked sent, until store_prune_step() says it is done.
 */
bool store_prune_due(const struct store *s);

/*
 * Inserts a new hold in the state h says (PENDING from the server; LOADED
 * and EXPIRED ones name their locker, which must exist and be free).
 * -EEXIST when the id is known, -EINVAL for a bad value.
 */
int store_add_hold(struct store *s, const struct store_hold *h);
/* Inserts or replaces a staff credential. -EINVAL for a bad value. */
int store_put_staff(struct store *s, const struct kiosk_staff *st);
/*
 * Saves one piece of the guessing defence's state (a KIOSK_ACTION_GUARD):
 * store_load() gives it back to the core. 0 or -errno.
 */
int store_put_guard(struct store *s, const struct kiosk_guard *g);
/*
 * Forgets the opening under way of a locker (a KIOSK_ACTION_OPENING_DROPPED:
 * it ended with no outcome to record), so store_load() does not give it
 * back as interrupted. 0 or -errno.
 */
int store_drop_opening(struct store *s, unsigned locker);
/* Makes sure rows exist for lockers 1..n. */
int store_ensure_lockers(struct store *s, unsigned n);

/*
 * Loads everything the core needs (lockers 1..kiosk_get_n_lockers(k),
 * holds not yet finished, staff) into a fresh core.
 */
int store_load(struct store *s, struct kiosk *k);

/*
 * Calls cb for each hold (all states, newest first, at most limit). A
 * non-zero cb return stops the walk and is returned. Callbacks of the
 * store_foreach_*() functions must not call into s.
 */
int store_foreach_hold(struct store *s, unsigned limit,
		       int (*cb)(const struct store_hold *h, void *userdata),
		       void *userdata);
/*
 * The id of the pending hold (not yet loaded) one of whose items has this
 * barcode, for staff who load by scanning a book: 0, or -ENOENT.
 */
int store_find_pending_hold_by_item(struct store *s, const char *barcode,
				    char ret_id[KIOSK_HOLD_ID_MAX + 1]);
/* Reads one hold with its items and credentials; -ENOENT when unknown. */
int store_get_hold(struct store *s, const char *id, struct store_hold *ret);
/*
 * 1 when the store has hold id in any state (finished ones too), 0 when
 * not, or -errno; inside store_begin()'s transaction too.
 */
int store_has_hold(struct store *s, const char *id);

/* Calls cb for the newest limit events, oldest first. A non-zero cb
 * return stops the walk and is returned. */
int store_foreach_event(struct store *s, unsigned limit,
			int (*cb)(const struct store_event *e, void *userdata),
			void *userdata);
/* Like store_foreach_event(), for the oldest limit unsent events. */
int store_foreach_unsent(struct store *s, unsigned limit,
			 int (*cb)(const struct store_event *e, void *userdata),
			 void *userdata);
/*
 * v1.1 resend_events: the oldest limit sent events (rejected ones
 * included) with from_seq <= seq <= to_seq, to be sent again.
 */
int store_foreach_sent_between(
	struct store *s, int64_t from_seq, int64_t to_seq, unsigned limit,
	int (*cb)(const struct store_event *e, void *userdata), void *userdata);
/* The lowest and highest seq of the sent events kept; 0 and 0: none. */
int store_get_sent_range(struct store *s, int64_t *ret_oldest,
			 int64_t *ret_newest);
/*
 * Marks every event up to and including seq sent, once the server has it.
 * -EBUSY inside store_begin() (as store_mark_events_sent()).
 */
int store_mark_sent(struct store *s, int64_t seq);
int store_count_unsent(struct store *s, uint64_t *ret);

/* The longest reason the server may give for rejecting an event, bytes. */
#define STORE_REJECTED_MAX 127
/*
 * The server's answer per event: each listed unsent event is marked sent,
 * with the server's reason when it was rejected (1..STORE_REJECTED_MAX
 * bytes, else -EINVAL and nothing marked), in one transaction; unknown or
 * already sent ones are skipped. *ret_marked (may be NULL) gets how many
 * changed.
 */
struct store_sent_mark {
	const char *uuid;
	const char *rejected; /* NULL: accepted (or a duplicate) */
	/*
	 * v1.1, accepted but refused by the library system (a loan limit):
	 * its code (1..STORE_REFUSED_CODE_MAX of a-z 0-9 _) and text (at most
	 * STORE_REJECTED_MAX bytes), kept in the refusals; NULL: none.
	 */
	const char *refused_code, *refused_text;
};
int store_mark_events_sent(struct store *s, const struct store_sent_mark *marks,
			   unsigned n, unsigned *ret_marked);
/* Events the server ever rejected (kept when they are pruned). */
int store_count_rejected(struct store *s, uint64_t *ret);

#define STORE_REFUSED_CODE_MAX 63
/* The newest refusals kept for staff; older ones are dropped. */
#define STORE_REFUSALS_MAX 64
/* Events the library system ever refused (kept when they are pruned). */
int store_count_refused(struct store *s, uint64_t *ret);
/* A refusal as staff see it. */
struct store_refusal {
	int64_t event_seq;
	char uuid[STORE_UUID_LEN + 1];
	char type[64];
	char hold_id[64]; /* "" when the event named none */
	char code[STORE_REFUSED_CODE_MAX + 1];
	char text[STORE_REJECTED_MAX + 1];
	uint64_t at_usec; /* when the kiosk learnt it, CLOCK_REALTIME */
};
/* The kept refusals, newest first; cb returning non-zero stops. */
int store_foreach_refusal(struct store *s,
			  int (*cb)(const struct store_refusal *r,
				    void *userdata),
			  void *userdata);

/*
 * One transaction around several changes (a changes reply). Every store
 * function that changes something runs in it while it is open, else in its
 * own; store_record() and the store_mark_*() are refused (-EBUSY): they
 * keep the count of unsent events, which a rollback would not undo.
 * store_commit() rolls back what it could not commit.
 */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

enum store_put_result {
	STORE_PUT_ADDED,
	STORE_PUT_REPLACED,	  /* it was pending: taken whole */
	STORE_PUT_EXPIRY_UPDATED, /* in a locker: only expires_at taken */
	STORE_PUT_KEPT,		  /* finished here: the server's copy ignored */
};
/*
 * The server's copy of a hold (state PENDING), as kiosk_put_hold(): added
 * when unknown; replaced with its credentials and items while pending;
 * only its expires_at taken while loaded or expired; ignored when picked
 * up or unloaded. ret (may be NULL) says which. -EINVAL for a bad hold.
 */
int store_put_hold(struct store *s, const struct store_hold *h,
		   enum store_put_result *ret);
/*
 * v1.1: a hold in a locker (loaded or expired) takes the server's new
 * credentials, pickup code and PIN (a lost card replaced), nothing else.
 * 0, -ENOENT when it is not in a locker here, or an error as elsewhere.
 */
int store_set_hold_credentials(struct store *s, const struct store_hold *h);
/* Deletes a pending hold: 0, -ENOENT, -EBUSY when it is not pending. */
int store_remove_pending_hold(struct store *s, const char *id);
/* 0, or -ENOENT. */
int store_remove_staff(struct store *s, const char *credential_hmac);

/*
 * Small values the sync module keeps (its cursor, the server's settings):
 * key 1..32 of [a-z_], value at most 1024 bytes. Get: 0, -ENOENT,
 * -ENOBUFS when n is too small (ret untouched then). Delete: 0, -ENOENT.
 */
int store_get_sync_value(struct store *s, const char *key, char *ret, size_t n);
int store_set_sync_value(struct store *s, const char *key, const char *value);
int store_delete_sync_value(struct store *s, const char *key);

/*
 * A full set of holds and staff spans pages: the ids seen so far are kept
 * here, and once the last page is in, the pending holds (and staff) the
 * set lacks are walked to be dropped. The walk goes in the order of the
 * ids, from the first after `after` ("" for the start), and takes at most
 * limit of them: a caller drops them a bounded step at a time, going on
 * after the last id it was given. A cb returning non-zero ends the walk
 * with that value.
 */
enum store_kind {
	STORE_KIND_HOLD,
	STORE_KIND_STAFF,
};
int store_full_seen_clear(struct store *s);
int store_full_seen_add(struct store *s, enum store_kind kind, const char *id);
int store_foreach_unseen(struct store *s, enum store_kind kind,
			 const char *after, unsigned limit,
			 int (*cb)(const char *id, void *userdata),
			 void *userdata);

/*
 * Server commands. store_record() of a record whose .command is set notes
 * the command done in the same transaction, and fails with -EALREADY,
 * writing nothing, when it was done before: one command never pulses a
 * lock twice, even across a crash.
 */
int store_command_is_done(struct store *s, const char *id); /* 1, 0, -errno */
/* The done commands the server still sends, oldest first, at most limit. */
int store_foreach_unacked_command(struct store *s, unsigned limit,
				  int (*cb)(const char *id, void *userdata),
				  void *userdata);
/* The server stopped sending it. 0, or -ENOENT. */
int store_ack_command(struct store *s, const char *id);

/* PRAGMA integrity_check: 0 when "ok", -EILSEQ otherwise. */
int store_check_integrity(struct store *s);

/*
 * store_check_integrity() taking seconds on a large database, or a
 * consistent copy of the whole database taken while it is in use (at
 * backup_path, which must not exist yet: -EEXIST; flushed to disk as it
 * is written), off the caller's thread: a thread of its own, with its own
 * read-only connection (WAL lets it read a snapshot while s goes on
 * writing). Returns NULL with errno set. The caller frees it with
 * store_job_free(), which stops a job not yet done.
 */
enum store_job_kind {
	STORE_JOB_CHECK,
	STORE_JOB_BACKUP,     /* to backup_path */
	STORE_JOB_CHECKPOINT, /* the WAL into the database file, when due */
};
struct store_job *store_job_start(struct store *s, enum store_job_kind kind,
				  const char *backup_path);
/* Readable once the job is done; lives as long as j. */
int store_job_get_fd(const struct store_job *j);
/*
 * -EINPROGRESS until done; then 0 or -errno (a check of a damaged
 * database: -EILSEQ), *ret_error (may be NULL) the why, valid as
 * long as j.
 */
int store_job_result(struct store_job *j, const char **ret_error);
void store_job_free(struct store_job *j);
/*
 * Whether the WAL has grown enough for a checkpoint (STORE_JOB_CHECKPOINT):
 * the store does not checkpoint on commit, as SQLite would, but for a
 * bound on the WAL when nobody checkpoints (a stall then, not growth).
 */
bool store_checkpoint_due(const struct store *s);

/* What store_recover() could take over from a damaged database. */
struct store_recover_table {
	const char *name; /* static */
	uint64_t copied;
	/* Rows that could not be read, or that the schema refused. */
	uint64_t lost;
	/* lost counted from an intact index; else a guess from rowid gaps. */
	bool lost_counted;
};

#define STORE_RECOVER_TABLES 9

struct store_recover_report {
	struct store_recover_table tables[STORE_RECOVER_TABLES];
	unsigned schema_version; /* of the damaged file */
	uint64_t unsent_kept;
	/* -1 when the outbox's index of unsent events is unreadable too. */
	int64_t unsent_lost;
};

/*
 * PRAGMA integrity_check of the database at path, opened read-only and
 * left as it is: 0 when intact, -EILSEQ when damaged, -errno when it
 * cannot be opened; store_open_error() says why.
 */
int store_check_file(const char *path);

/*
 * Copies what can still be read of the damaged database at damaged
 * (opened read-only, left as it is) into a new database at path (which
 * must not exist: -EEXIST), of the current schema: table by table, row by
 * row, stepping over what cannot be read. Events keep their seq, UUID and
 * sent flag. The sync cursors stay behind, so the next sync pulls a full
 * set of holds and staff. lost_event (may be NULL) is called for each
 * unsent event known to the outbox's indexes but unreadable. ret gets the
 * counts. 0; -ENOTSUP for a file of a newer schema or not a lokerbuku
 * database; -EIO when not even its schema can be read; -errno.
 * store_open_error() says why. path is flushed and closed on return.
 */
int store_recover(const char *damaged, const char *path,
		  void (*lost_event)(int64_t seq, const char *uuid,
				     void *userdata),
		  void *userdata, struct store_recover_report *ret);
