/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every reader backend provides to the generic reader code. */
#pragma once

#include <stdatomic.h>

#include "evqueue.h"
#include "reader.h"

struct reader_ops {
	const char *name;
	int (*sim_present)(struct reader *r, const char *credential);
	int (*sim_remove)(struct reader *r);
	void (*free)(struct reader *r);
};

/* Backends embed this first in their own struct. */
struct reader {
	const struct reader_ops *ops;
	struct evqueue *queue; /* to the event loop, from any thread */
	atomic_bool ok;	       /* the device answers */
};

/*
 * A device that failed is reopened after READER_REOPEN_MS_FIRST, the wait
 * doubling at each failure up to READER_REOPEN_MS_MAX.
 */
#define READER_REOPEN_MS_FIRST 250
#define READER_REOPEN_MS_MAX   8000

static inline unsigned reader_reopen_next(unsigned ms)
{
	return ms * 2 > READER_REOPEN_MS_MAX ? READER_REOPEN_MS_MAX : ms * 2;
}

/*
 * Sets up the base: an empty queue, and "ok" until a fault is reported (so
 * that a device missing from the start is reported too). 0 or -errno.
 */
int reader_init(struct reader *r, const struct reader_ops *ops);
void reader_fini(struct reader *r);
/* Queues ev, from any thread; dropped when the loop is that far behind. */
void reader_push(struct reader *r, const struct reader_event *ev);
/*
 * From a backend's own thread: the device failed, or it answers again.
 * Each is reported once, as the state changes, not at every retry.
 */
void reader_report_fault(struct reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void reader_report_recovered(struct reader *r);
