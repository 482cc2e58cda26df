// SPDX-License-Identifier: GPL-2.0-or-later
/* A simulated lock bank: lines kept in memory, doors moved by tests. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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
	int pulse_log_fd; /* LOCKBANK_SIM_PULSE_LOG_ENV, or -1 */
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

/*
 * One line per pulse start for the benchmarks: taken on CLOCK_MONOTONIC,
 * the clock pn532-sim stamps a tap with, before the write costs anything.
 * A failed write loses the line, never the pulse.
 */
static void pulse_log(const struct lockbank_sim *s, unsigned locker,
		      unsigned pulses)
{
	struct timespec ts;
	char line[64];
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(line, sizeof(line), "%u %u %" PRIu64 "\n", locker, pulses,
		     (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
	if (write(s->pulse_log_fd, line, (size_t)n) != n)
		return;
}

static int sim_set_lock(struct lockbank *lb, unsigned locker, bool energised)
{
	struct lockbank_sim *s = to_sim(lb);
	struct sim_locker *l = &s->lockers[locker];

	if (energised && !l->energised) {
		l->pulses++;
		if (s->pulse_log_fd >= 0)
			pulse_log(s, locker, l->pulses);
	}
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
	if (s->pulse_log_fd >= 0)
		close(s->pulse_log_fd);
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
	const char *log_path;
	struct lockbank_sim *s;

	if (n < 1 || n > LOCKBANK_LOCKERS_MAX) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->pulse_log_fd = -1;
	log_path = getenv(LOCKBANK_SIM_PULSE_LOG_ENV);
	if (log_path && log_path[0]) {
		s->pulse_log_fd =
			open(log_path,
			     O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		if (s->pulse_log_fd < 0) {
			free(s);
			return NULL;
		}
	}
	s->queue =
		evqueue_new(sizeof(struct lockbank_event), LOCKBANK_QUEUE_MAX);
	if (!s->queue) {
		sim_free(&s->base);
		return NULL;
	}
	s->base.ops = &sim_ops;
	s->base.fd = evqueue_get_fd(s->queue);
	s->base.n = n;
	return &s->base;
}
