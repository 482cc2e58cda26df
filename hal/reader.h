/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Card readers: whatever reads a member card hands the event loop a
 * credential string through a file descriptor.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define READER_CREDENTIAL_MAX 127
/* Events queued before the loop reads them; more are refused. */
#define READER_QUEUE_MAX 32

enum reader_event_type {
	READER_EVENT_CARD_PRESENT, /* .credential, e.g. "uid:04A1B2C3D4E5F6" */
	READER_EVENT_CARD_REMOVED,
	READER_EVENT_FAULT,	/* .credential holds the reason */
	READER_EVENT_RECOVERED, /* the device answers again */
	/* .credential holds the scanned text, as typed, e.g. "M0012345" */
	READER_EVENT_BARCODE,
	/* a scan that could not be read whole; .credential says why */
	READER_EVENT_UNREADABLE,
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
/*
 * A libnfc reader at connstring ("pn532_uart:/dev/ttyS0", "acr122_usb",
 * ...), read for ISO14443A cards by a thread of its own: with no card the
 * chip waits for one (a PN532 with InAutoPoll), and a card left on the
 * reader is polled every poll_ms (at least 10). A device that is missing,
 * or answers nothing for 2 s, is reported with READER_EVENT_FAULT once and
 * reopened with backoff; READER_EVENT_RECOVERED once when it answers.
 * Returns NULL with errno set; the caller frees it with reader_free(),
 * which aborts a poll under way.
 */
struct reader *reader_new_nfc(const char *connstring, unsigned poll_ms);
/*
 * A USB barcode scanner that types like a keyboard, at its evdev node
 * ("/dev/input/by-id/...-event-kbd"), read by a thread of its own. The
 * device is grabbed, so its keys reach nothing else (console, browser).
 * Each scan ending with Enter or Tab is a READER_EVENT_BARCODE; one too
 * long, broken off or with keys lost is a READER_EVENT_UNREADABLE. A device
 * that is missing, taken by another grab or unplugged is reported with
 * READER_EVENT_FAULT once and reopened with backoff. Returns NULL with
 * errno set; the caller frees it with reader_free().
 */
struct reader *reader_new_evdev(const char *device_path);
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
 * "uid:" and the UID's bytes as the card sends them, upper-case hex, into
 * ret (size n). Returns 0, or -EINVAL for 0 or more than 10 bytes,
 * -ENOBUFS when n is too small.
 */
int reader_format_uid(const unsigned char *uid, size_t len, char *ret,
		      size_t n);

/*
 * Turns poll results into present/removed events: a card left on the
 * reader is reported once. Only a poll the chip answered says anything
 * about the card: a card must be missed by READER_MISSES_MAX answered polls
 * in a row (a card at the edge of the field drops out of single polls), or
 * replaced by another, to count as removed. A poll that timed out or came
 * back garbled, and a reader that failed and was reopened, say nothing:
 * a card lying on the reader meanwhile is still the same tap.
 */
#define READER_MISSES_MAX 2
enum reader_poll {
	READER_POLL_CARD,    /* answered: this card is on the reader */
	READER_POLL_NO_CARD, /* answered: no card in the field */
	READER_POLL_UNKNOWN, /* no answer, a garbled one, or no device */
};
struct reader_debounce {
	bool present;
	unsigned misses;
	char credential[READER_CREDENTIAL_MAX + 1];
};

/*
 * Feeds one poll; credential is the card's for READER_POLL_CARD and
 * ignored otherwise. Writes up to two events to ret (a different card
 * replacing another is removed, then present) and returns how many.
 */
unsigned reader_debounce_feed(struct reader_debounce *d, enum reader_poll poll,
			      const char *credential,
			      struct reader_event ret[2]);

/*
 * Simulator controls: a card with this credential text is put on the
 * reader / taken off. -EOPNOTSUPP on a real reader, -EINVAL for an empty or
 * too long credential, -ENOBUFS when the queue is full.
 */
int reader_sim_present(struct reader *r, const char *credential);
int reader_sim_remove(struct reader *r);
