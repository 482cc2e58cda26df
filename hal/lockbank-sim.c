// SPDX-License-Identifier: GPL-2.0-or-later
/* A simulated lock bank: lines kept in memory, doors moved by tests. */
#include <errno.h>
#include <stdlib.h>

#include "evqueue.h"
#include "lockbank-internal.h"

struct sim_locker {
	bool energised;
	bool door_open;
	unsigned pulses; /* times energised */
};

struct lockbank_sim {
	struct lockbank base;
	struct evqueue *queue;
	struct sim_locker lockers[LOCKBANK_LOCKERS_MAX + 1]; /* [0] unused */
};

static struct lockbank_sim *to_sim(struct lockbank *lb)
{
	return (struct lockbank_sim *)lb;
}

static const struct lockbank_sim *to_sim_const(const struct lockbank *lb)
{
	return (const struct lockbank_sim *)lb;
}

static int sim_read_event(struct lockbank *lb, struct lockbank_event *ret)
{
	return evqueue_pop(to_sim(lb)->queue, ret);
}

static int sim_set_lock(struct lockbank *lb, unsigned locker, bool energised)
{
	struct sim_locker *l = &to_sim(lb)->lockers[locker];

	if (energised && !l->energised)
		l->pulses++;
	l->energised = energised;
	return 0;
}

static int sim_get_door(struct lockbank *lb, unsigned locker, bool *ret_open)
{
	*ret_open = to_sim(lb)->lockers[locker].door_open;
	return 0;
}

static int sim_set_door(struct lockbank *lb, unsigned locker, bool open)
{
	struct lockbank_sim *s = to_sim(lb);
	struct lockbank_event ev = { .locker = locker, .door_open = open };
	int err;

	if (s->lockers[locker].door_open == open)
		return 0;
	err = evqueue_push(s->queue, &ev);
	if (err < 0)
		return err;
	s->lockers[locker].door_open = open;
	return 0;
}

static int sim_get_lock(const struct lockbank *lb, unsigned locker,
			bool *ret_energised, unsigned *ret_pulses)
{
	const struct sim_locker *l = &to_sim_const(lb)->lockers[locker];

	if (ret_energised)
		*ret_energised = l->energised;
	if (ret_pulses)
		*ret_pulses = l->pulses;
	return 0;
}

static void sim_free(struct lockbank *lb)
{
	struct lockbank_sim *s = to_sim(lb);

	evqueue_free(s->queue);
	free(s);
}

static const struct lockbank_ops sim_ops = {
	.name = "sim",
	.read_event = sim_read_event,
	.set_lock = sim_set_lock,
	.get_door = sim_get_door,
	.sim_set_door = sim_set_door,
	.sim_get_lock = sim_get_lock,
	.free = sim_free,
};

struct lockbank *lockbank_new_sim(unsigned n)
{
	struct lockbank_sim *s;

	if (n < 1 || n > LOCKBANK_LOCKERS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->queue =
		evqueue_new(sizeof(struct lockbank_event), LOCKBANK_QUEUE_MAX);
	if (!s->queue) {
		free(s);
		return NULL;
	}
	s->base.ops = &sim_ops;
	s->base.fd = evqueue_get_fd(s->queue);
	s->base.n = n;
	return &s->base;
}
