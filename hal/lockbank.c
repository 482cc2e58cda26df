// SPDX-License-Identifier: GPL-2.0-or-later
/* The backend-independent half of the lock bank interface. */
#include <errno.h>

#include "lockbank-internal.h"

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

int lockbank_get_fd(const struct lockbank *lb)
{
	return lb->fd;
}

int lockbank_read_event(struct lockbank *lb, struct lockbank_event *ret)
{
	return lb->ops->read_event(lb, ret);
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
