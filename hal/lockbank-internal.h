/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every lock bank backend provides to the generic lock bank code. */
#pragma once

#include <stdint.h>

#include "lockbank.h"

struct lockbank_ops {
	const char *name;
	int (*read_event)(struct lockbank *lb, struct lockbank_event *ret);
	int (*set_lock)(struct lockbank *lb, unsigned locker, bool energised);
	int (*get_door)(struct lockbank *lb, unsigned locker, bool *ret_open);
	/* NULL: no backend item sensors */
	int (*get_item)(struct lockbank *lb, unsigned locker,
			bool *ret_present);
	int (*sim_set_door)(struct lockbank *lb, unsigned locker, bool open);
	int (*sim_get_lock)(const struct lockbank *lb, unsigned locker,
			    bool *ret_energised, unsigned *ret_pulses);
	/* NULL: the backend has nothing that can stop answering */
	const char *(*get_fault)(const struct lockbank *lb);
	void (*free)(struct lockbank *lb);
};

/*
 * Records why a constructor failed, for lockbank_last_error(); returns
 * -err. lockbank_error_set(0, "%s", "") clears it.
 */
int lockbank_error_set(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Backends embed this first in their own struct. */
struct lockbank {
	const struct lockbank_ops *ops;
	int fd;
	unsigned n;
	unsigned n_door_resyncs; /* lockbank_get_door_resyncs() */
};

/*
 * The doors as last reported, kept from edges whose sequence numbers show
 * when some were lost (a kernel queue that overflowed drops its oldest):
 * then the lines are read again, and what changed meanwhile is reported.
 * Pure: the backend reads the lines and the clock.
 */
struct lockbank_doors {
	unsigned n;
	bool open[LOCKBANK_LOCKERS_MAX + 1];	/* as last reported */
	bool pending[LOCKBANK_LOCKERS_MAX + 1]; /* found changed, to report */
	uint64_t last_seqno;			/* of the last edge; 0: none */
	uint64_t resync_ns; /* edges before it are in the lines last read */
	bool resync_needed; /* read every door line before the next edge */
};

/* n doors, open[1..n] as they are now. */
void lockbank_doors_init(struct lockbank_doors *d, unsigned n,
			 const bool *open);
/*
 * An edge of the request's seq-th (counting from 1 on all its lines),
 * timestamped at_ns: true when it is a change to report (open[] updated).
 * A gap in seq sets resync_needed; until the lines are read again, and for
 * edges they already show, nothing is reported.
 */
bool lockbank_doors_edge(struct lockbank_doors *d, unsigned locker, bool open,
			 uint64_t seq, uint64_t at_ns);
/* The door lines read at at_ns (taken before reading): now_open[1..n]. */
void lockbank_doors_resync(struct lockbank_doors *d, const bool *now_open,
			   uint64_t at_ns);
/* A change the last resync found, oldest locker first: true, or false. */
bool lockbank_doors_next(struct lockbank_doors *d, struct lockbank_event *ret);
