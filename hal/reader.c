// SPDX-License-Identifier: GPL-2.0-or-later
/* The backend-independent half of the card reader interface. */
#include <errno.h>

#include "reader-internal.h"

void reader_free(struct reader *r)
{
	if (r)
		r->ops->free(r);
}

int reader_get_fd(const struct reader *r)
{
	return r->fd;
}

int reader_read_event(struct reader *r, struct reader_event *ret)
{
	return r->ops->read_event(r, ret);
}

const char *reader_get_backend(const struct reader *r)
{
	return r->ops->name;
}

bool reader_is_ok(const struct reader *r)
{
	return r->ops->is_ok(r);
}

int reader_sim_present(struct reader *r, const char *credential)
{
	if (!r->ops->sim_present)
		return -EOPNOTSUPP;
	return r->ops->sim_present(r, credential);
}

int reader_sim_remove(struct reader *r)
{
	if (!r->ops->sim_remove)
		return -EOPNOTSUPP;
	return r->ops->sim_remove(r);
}
