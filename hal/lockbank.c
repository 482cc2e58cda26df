// SPDX-License-Identifier: GPL-2.0-or-later
/* The backend-independent half of the lock bank interface. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "lockbank-internal.h"

static _Thread_local char last_error[256];

const char *lockbank_last_error(void)
{
	return last_error;
}

int lockbank_error_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -err;
}

static bool valid(const struct lockbank *lb, unsigned locker)
{
	return locker >= 1 && locker <= lb->n;
}

void lockbank_free(struct lockbank *lb)
{
	if (!lb)
		return;
	lockbank_release_all(lb);
	lb->ops->free(lb);
}

unsigned lockbank_get_n_lockers(const struct lockbank *lb)
{
	return lb->n;
}

const char *lockbank_get_backend(const struct lockbank *lb)
{
	return lb->ops->name;
}

const char *lockbank_get_fault(const struct lockbank *lb)
{
	return lb->ops->get_fault ? lb->ops->get_fault(lb) : NULL;
}

int lockbank_get_fd(const struct lockbank *lb)
{
	return lb->fd;
}

int lockbank_read_event(struct lockbank *lb, struct lockbank_event *ret)
{
	return lb->ops->read_event(lb, ret);
}

unsigned lockbank_get_door_resyncs(const struct lockbank *lb)
{
	return lb->n_door_resyncs;
}

int lockbank_set_lock(struct lockbank *lb, unsigned locker, bool energised)
{
	if (!valid(lb, locker))
		return -EINVAL;
	return lb->ops->set_lock(lb, locker, energised);
}

int lockbank_release_all(struct lockbank *lb)
{
	int first = 0;

	for (unsigned i = 1; i <= lb->n; i++) {
		int err = lb->ops->set_lock(lb, i, false);

		if (err < 0 && first == 0)
			first = err;
	}
	return first;
}

int lockbank_get_door(struct lockbank *lb, unsigned locker, bool *ret_open)
{
	if (!valid(lb, locker))
		return -EINVAL;
	return lb->ops->get_door(lb, locker, ret_open);
}

int lockbank_get_item(struct lockbank *lb, unsigned locker, bool *ret_present)
{
	if (!valid(lb, locker))
		return -EINVAL;
	if (!lb->ops->get_item)
		return -ENODATA;
	return lb->ops->get_item(lb, locker, ret_present);
}

int lockbank_sim_set_door(struct lockbank *lb, unsigned locker, bool open)
{
	if (!lb->ops->sim_set_door)
		return -EOPNOTSUPP;
	if (!valid(lb, locker))
		return -EINVAL;
	return lb->ops->sim_set_door(lb, locker, open);
}

int lockbank_sim_get_lock(const struct lockbank *lb, unsigned locker,
			  bool *ret_energised, unsigned *ret_pulses)
{
	if (!lb->ops->sim_get_lock)
		return -EOPNOTSUPP;
	if (!valid(lb, locker))
		return -EINVAL;
	return lb->ops->sim_get_lock(lb, locker, ret_energised, ret_pulses);
}

void lockbank_doors_init(struct lockbank_doors *d, unsigned n, const bool *open)
{
	*d = (struct lockbank_doors){ .n = n };
	for (unsigned i = 1; i <= n && i <= LOCKBANK_LOCKERS_MAX; i++)
		d->open[i] = open[i];
}

bool lockbank_doors_edge(struct lockbank_doors *d, unsigned locker, bool open,
			 uint64_t seq, uint64_t at_ns)
{
	if (seq != d->last_seqno + 1)
		d->resync_needed = true;
	d->last_seqno = seq;
	/* The lines read after this edge show it. */
	if (d->resync_needed || at_ns < d->resync_ns)
		return false;
	/* Only changes: an edge the lines read already told is not news. */
	if (locker < 1 || locker > d->n || d->open[locker] == open)
		return false;
	d->open[locker] = open;
	d->pending[locker] = false;
	return true;
}

void lockbank_doors_resync(struct lockbank_doors *d, const bool *now_open,
			   uint64_t at_ns)
{
	for (unsigned i = 1; i <= d->n; i++) {
		if (d->open[i] == now_open[i])
			continue;
		d->open[i] = now_open[i];
		/* Changed twice unseen: back where it was, nothing to say. */
		d->pending[i] = !d->pending[i];
	}
	d->resync_needed = false;
	d->resync_ns = at_ns;
}

bool lockbank_doors_next(struct lockbank_doors *d, struct lockbank_event *ret)
{
	for (unsigned i = 1; i <= d->n; i++) {
		if (!d->pending[i])
			continue;
		d->pending[i] = false;
		*ret = (struct lockbank_event){ .locker = i,
						.door_open = d->open[i] };
		return true;
	}
	return false;
}
