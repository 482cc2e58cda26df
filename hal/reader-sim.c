// SPDX-License-Identifier: GPL-2.0-or-later
/* A simulated card reader for tests and the demo. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reader-internal.h"

struct reader_sim {
	struct reader base;
	bool card_present;
};

static struct reader_sim *to_sim(struct reader *r)
{
	return (struct reader_sim *)r;
}

static int sim_remove(struct reader *r)
{
	struct reader_sim *s = to_sim(r);
	struct reader_event ev = { .type = READER_EVENT_CARD_REMOVED };
	int err;

	if (!s->card_present)
		return 0;
	err = evqueue_push(s->base.queue, &ev);
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
	err = evqueue_push(s->base.queue, &ev);
	if (err < 0)
		return err;
	s->card_present = true;
	return 0;
}

static void sim_free(struct reader *r)
{
	struct reader_sim *s = to_sim(r);

	reader_fini(&s->base);
	free(s);
}

static const struct reader_ops sim_ops = {
	.name = "sim",
	.sim_present = sim_present,
	.sim_remove = sim_remove,
	.free = sim_free,
};

struct reader *reader_new_sim(void)
{
	struct reader_sim *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	err = reader_init(&s->base, &sim_ops);
	if (err < 0) {
		free(s);
		errno = -err;
		return NULL;
	}
	return &s->base;
}
