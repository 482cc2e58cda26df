/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Card readers: whatever reads a member card hands the event loop a
 * credential string through a file descriptor.
 */
#pragma once

#include <stdbool.h>

#define READER_CREDENTIAL_MAX 127
/* Events queued before the loop reads them; more are refused. */
#define READER_QUEUE_MAX 32

enum reader_event_type {
	READER_EVENT_CARD_PRESENT, /* .credential, e.g. "uid:04A1B2C3D4E5F6" */
	READER_EVENT_CARD_REMOVED,
};

struct reader_event {
	enum reader_event_type type;
	char credential[READER_CREDENTIAL_MAX + 1];
};

/*
 * A simulated reader: tests and the demo place cards with
 * reader_sim_present(). Returns NULL with errno set on failure; the caller
 * frees it with reader_free().
 */
struct reader *reader_new_sim(void);
void reader_free(struct reader *r);

/* Readable (poll POLLIN) while events wait. Owned by r. */
int reader_get_fd(const struct reader *r);
/* Takes the oldest event: 0, or -EAGAIN when none waits. */
int reader_read_event(struct reader *r, struct reader_event *ret);
/* Short backend name for status: "sim". Static storage. */
const char *reader_get_backend(const struct reader *r);
/* True while the device answers. */
bool reader_is_ok(const struct reader *r);

/*
 * Simulator controls: a card with this credential text is put on the
 * reader / taken off. -EOPNOTSUPP on a real reader, -EINVAL for an empty or
 * too long credential, -ENOBUFS when the queue is full.
 */
int reader_sim_present(struct reader *r, const char *credential);
int reader_sim_remove(struct reader *r);
