/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The emulated PN532: what it answers to each host command, given the card
 * (if any) on the reader. Pure code: no I/O and no clock; time appears only
 * as durations the caller turns into delays.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

/* ISO/IEC 14443-3 UIDs are 4, 7 or 10 bytes. */
#define CHIP_UID_MAX 10

enum chip_power {
	CHIP_POWER_LOW_VBAT, /* after reset: the first byte wakes it */
	CHIP_POWER_NORMAL,
	CHIP_POWER_DOWN, /* after PowerDown: the first byte wakes it */
};

enum chip_verdict {
	CHIP_VERDICT_REPLY, /* ACK, then .data */
	/*
	 * ACK, then nothing until chip_resume() finds a card or, when
	 * .wait_usec is not 0, chip_expire() gives up after that long.
	 */
	CHIP_VERDICT_WAIT,
	CHIP_VERDICT_SYNTAX_ERROR, /* ACK, then the syntax error frame */
	/* Not emulated; on the wire the same as CHIP_VERDICT_SYNTAX_ERROR. */
	CHIP_VERDICT_UNSUPPORTED,
};

struct chip_reply {
	enum chip_verdict verdict;
	/* The response code (command + 1) and its data. */
	uint8_t data[FRAME_DATA_MAX];
	size_t size;
	/* Time the command spends on air before the reply can start. */
	uint32_t air_usec;
	uint64_t wait_usec;
	/* Why a command was refused, for the log. Static storage. */
	const char *why;
};

/* A chip fresh from reset, no card; the caller frees it. NULL on ENOMEM. */
struct chip *chip_new(void);
void chip_free(struct chip *c);

/*
 * Puts a card with this UID on the reader, replacing any other. -EINVAL
 * unless the UID has 4, 7 or 10 bytes and does not start with the cascade
 * tag 0x88.
 */
int chip_place_card(struct chip *c, const uint8_t *uid, size_t size);
void chip_remove_card(struct chip *c);
/* The UID of the card on the reader and its size; 0 when there is none. */
size_t chip_get_card(const struct chip *c, uint8_t ret_uid[CHIP_UID_MAX]);

enum chip_power chip_get_power(const struct chip *c);
/* A byte arrived on the serial line: a sleeping chip wakes up. */
void chip_wake(struct chip *c);
bool chip_field_is_on(const struct chip *c);

/* Carries out one command (command code first, TFI stripped). */
void chip_command(struct chip *c, const uint8_t *cmd, size_t size,
		  struct chip_reply *ret);

/* True while a command answered with CHIP_VERDICT_WAIT is running. */
bool chip_is_waiting(const struct chip *c);
/* Its name ("InAutoPoll"), or NULL. Static storage. */
const char *chip_get_waiting_name(const struct chip *c);
/*
 * Retries the waiting command after the card changed: 0 with the reply in
 * ret when it is done, -EAGAIN while it still waits.
 */
int chip_resume(struct chip *c, struct chip_reply *ret);
/* The waiting command ran out of time: its "nothing found" reply. */
void chip_expire(struct chip *c, struct chip_reply *ret);
/* The host aborted the running command (an ACK or a new command). */
void chip_abort(struct chip *c);

/* "InListPassiveTarget" for 0x4A, NULL for codes the PN532 lacks. */
const char *chip_command_name(uint8_t code);
