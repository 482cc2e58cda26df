/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Lock banks: one lock output and one door sensor per locker, numbered from
 * 1. Door edges reach the event loop through a file descriptor.
 *
 * Lock outputs start locked (de-energised) and lockbank_free() leaves them
 * locked. Pulse timing is the caller's: energise, then release.
 */
#pragma once

#include <stdbool.h>

#define LOCKBANK_LOCKERS_MAX 128
/* Door events queued before the loop reads them. */
#define LOCKBANK_QUEUE_MAX 256

struct lockbank_event {
	unsigned locker;
	bool door_open;
};

/*
 * A simulated bank of n lockers, every door closed; tests and the demo open
 * and close doors with lockbank_sim_set_door(). Returns NULL with errno set
 * (EINVAL for n out of 1..LOCKBANK_LOCKERS_MAX). The caller frees it with
 * lockbank_free().
 */
struct lockbank *lockbank_new_sim(unsigned n);
/* Locks every output, then frees. */
void lockbank_free(struct lockbank *lb);

unsigned lockbank_get_n_lockers(const struct lockbank *lb);
/* Short backend name for status: "sim". Static storage. */
const char *lockbank_get_backend(const struct lockbank *lb);
/* Readable while door events wait. Owned by lb. */
int lockbank_get_fd(const struct lockbank *lb);
/* Takes the oldest door event: 0, or -EAGAIN when none waits. */
int lockbank_read_event(struct lockbank *lb, struct lockbank_event *ret);

/* Energises (unlocks) or releases a lock output. -EINVAL for a bad locker. */
int lockbank_set_lock(struct lockbank *lb, unsigned locker, bool energised);
/* Releases every lock output; returns the first error, trying them all. */
int lockbank_release_all(struct lockbank *lb);
/* The door sensor now. -EINVAL for a bad locker. */
int lockbank_get_door(struct lockbank *lb, unsigned locker, bool *ret_open);

/*
 * Simulator controls. A door is opened or closed by hand (a change queues
 * an event); lock outputs are observed with how many pulses each has had.
 * -EOPNOTSUPP on real hardware, -EINVAL for a bad locker.
 */
int lockbank_sim_set_door(struct lockbank *lb, unsigned locker, bool open);
int lockbank_sim_get_lock(const struct lockbank *lb, unsigned locker,
			  bool *ret_energised, unsigned *ret_pulses);
