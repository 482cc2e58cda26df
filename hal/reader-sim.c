// SPDX-License-Identifier: GPL-2.0-or-later
/* A simulated card reader for tests and the demo. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evqueue.h"
#include "reader-internal.h"

struct reader_sim {
	struct reader base;
	struct evqueue *queue;
	bool card_present;
};

static struct reader_sim *to_sim(struct reader *r)
{
	return (struct reader_sim *)r;
}

static int sim_read_event(struct reader *r, struct reader_event *ret)
{
	return evqueue_pop(to_sim(r)->queue, ret);
}

static bool sim_is_ok(const struct reader *r)
{
	return true;
}

static int sim_remove(struct reader *r)
{
	struct reader_sim *s = to_sim(r);
	struct reader_event ev = { .type = READER_EVENT_CARD_REMOVED };
	int err;

	if (!s->card_present)
		return 0;
	err = evqueue_push(s->queue, &ev);
	if (err < 0)
		return err;
	s->card_present = false;
	return 0;
}

static int sim_present(struct reader *r, const char *credential)
{
	struct reader_sim *s = to_sim(r);
	struct reader_event ev = { .type = READER_EVENT_CARD_PRESENT };
	size_t len = credential ? strlen(credential) : 0;
	int err;

	if (len == 0 || len > READER_CREDENTIAL_MAX)
		return -EINVAL;
	/* A card already on the reader is taken off first, as by a hand. */
	err = sim_remove(r);
	if (err < 0)
		return err;
	memcpy(ev.credential, credential, len + 1);
	err = evqueue_push(s->queue, &ev);
	if (err < 0)
		return err;
	s->card_present = true;
	return 0;
}

static void sim_free(struct reader *r)
{
	struct reader_sim *s = to_sim(r);

	evqueue_free(s->queue);
	free(s);
}

static const struct reader_ops sim_ops = {
	.name = "sim",
	.read_event = sim_read_event,
	.is_ok = sim_is_ok,
	.sim_present = sim_present,
	.sim_remove = sim_remove,
	.free = sim_free,
};

struct reader *reader_new_sim(void)
{
	struct reader_sim *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->queue = evqueue_new(sizeof(struct reader_event), READER_QUEUE_MAX);
	if (!s->queue) {
		free(s);
		return NULL;
	}
	s->base.ops = &sim_ops;
	s->base.fd = evqueue_get_fd(s->queue);
	return &s->base;
}
