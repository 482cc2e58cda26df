// SPDX-License-Identifier: GPL-2.0-or-later
/* The backend-independent half of the card reader interface. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reader-internal.h"

void reader_free(struct reader *r)
{
	if (r)
		r->ops->free(r);
}

int reader_init(struct reader *r, const struct reader_ops *ops)
{
	r->ops = ops;
	atomic_init(&r->ok, true);
	r->queue = evqueue_new(sizeof(struct reader_event), READER_QUEUE_MAX);
	return r->queue ? 0 : -errno;
}

void reader_fini(struct reader *r)
{
	evqueue_free(r->queue);
	r->queue = NULL;
}

void reader_push(struct reader *r, const struct reader_event *ev)
{
	(void)evqueue_push(r->queue, ev);
}

void reader_report_fault(struct reader *r, const char *fmt, ...)
{
	struct reader_event ev = { .type = READER_EVENT_FAULT };
	va_list ap;

	if (!atomic_exchange(&r->ok, false))
		return;
	va_start(ap, fmt);
	vsnprintf(ev.credential, sizeof(ev.credential), fmt, ap);
	va_end(ap);
	reader_push(r, &ev);
}

void reader_report_recovered(struct reader *r)
{
	struct reader_event ev = { .type = READER_EVENT_RECOVERED };

	if (!atomic_exchange(&r->ok, true))
		reader_push(r, &ev);
}

int reader_get_fd(const struct reader *r)
{
	return evqueue_get_fd(r->queue);
}

int reader_read_event(struct reader *r, struct reader_event *ret)
{
	return evqueue_pop(r->queue, ret);
}

const char *reader_get_backend(const struct reader *r)
{
	return r->ops->name;
}

bool reader_is_ok(const struct reader *r)
{
	return atomic_load(&r->ok);
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

int reader_format_uid(const unsigned char *uid, size_t len, char *ret, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";

	if (len == 0 || len > 10)
		return -EINVAL;
	if (n < 4 + 2 * len + 1)
		return -ENOBUFS;
	memcpy(ret, "uid:", 4);
	for (size_t i = 0; i < len; i++) {
		ret[4 + 2 * i] = hex[uid[i] >> 4];
		ret[4 + 2 * i + 1] = hex[uid[i] & 0xf];
	}
	ret[4 + 2 * len] = '\0';
	return 0;
}

unsigned reader_debounce_feed(struct reader_debounce *d, enum reader_poll poll,
			      const char *credential,
			      struct reader_event ret[2])
{
	unsigned n = 0;

	if (poll == READER_POLL_UNKNOWN)
		return 0; /* no evidence either way: nothing changes */
	if (poll == READER_POLL_NO_CARD) {
		if (!d->present || ++d->misses < READER_MISSES_MAX)
			return 0;
		d->present = false;
		ret[0] = (struct reader_event){
			.type = READER_EVENT_CARD_REMOVED
		};
		return 1;
	}
	if (d->present && strcmp(credential, d->credential) == 0) {
		d->misses = 0;
		return 0;
	}
	if (d->present)
		ret[n++] = (struct reader_event){
			.type = READER_EVENT_CARD_REMOVED
		};
	ret[n] = (struct reader_event){ .type = READER_EVENT_CARD_PRESENT };
	snprintf(ret[n].credential, sizeof(ret[n].credential), "%s",
		 credential);
	snprintf(d->credential, sizeof(d->credential), "%s", credential);
	d->present = true;
	d->misses = 0;
	return n + 1;
}
