/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PN532 host serial (HSU) framing: a byte-stream parser that turns what a
 * host writes into frames, ACKs, NACKs and errors, and a frame builder.
 * Pure code, no I/O, so a fuzz target can drive the parser directly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bytes after TFI (command code and parameters): the PN532 firmware's limit. */
#define FRAME_DATA_MAX 264
/* Preamble, start code, FF FF, LENM, LENL, LCS, TFI, DCS, postamble. */
#define FRAME_OVERHEAD_MAX 11
#define FRAME_SIZE_MAX	   (FRAME_DATA_MAX + FRAME_OVERHEAD_MAX)

#define FRAME_TFI_HOST 0xD4 /* host to chip */
#define FRAME_TFI_CHIP 0xD5 /* chip to host */

extern const uint8_t frame_ack[6];
/* The chip's answer to a command it cannot carry out ("syntax error"). */
extern const uint8_t frame_syntax_error[8];

enum frame_event_type {
	FRAME_EVENT_NONE, /* every byte consumed, no complete event yet */
	FRAME_EVENT_INFO, /* an information frame with good checksums */
	FRAME_EVENT_ACK,
	FRAME_EVENT_NACK,
	FRAME_EVENT_BAD_LCS,	/* length checksum wrong */
	FRAME_EVENT_BAD_DCS,	/* data checksum wrong */
	FRAME_EVENT_BAD_LENGTH, /* a length of zero: not even a TFI */
	FRAME_EVENT_TOO_LONG,	/* more than FRAME_DATA_MAX bytes announced */
};

struct frame_event {
	enum frame_event_type type;
	/* For FRAME_EVENT_INFO: */
	bool extended; /* sent with the FF FF extended length */
	uint8_t tfi;
	size_t size;
	/* Owned by the parser, valid until its next call. */
	const uint8_t *data;
};

/* A parser at the start of a stream; the caller frees it. NULL on ENOMEM. */
struct frame_parser *frame_parser_new(void);
void frame_parser_free(struct frame_parser *p);
/* Forgets a half-read frame, e.g. when the chip wakes up from power down. */
void frame_parser_reset(struct frame_parser *p);

/*
 * Consumes bytes until one event is complete or none are left; returns how
 * many it consumed. ret->type is FRAME_EVENT_NONE when it needs more. Bytes
 * outside frames (preambles, postambles, the 0x55 wake-up, line noise) are
 * skipped while looking for the 00 FF start code.
 */
size_t frame_parser_feed(struct frame_parser *p, const uint8_t *buf,
			 size_t size, struct frame_event *ret);

/*
 * Writes an information frame carrying tfi and data into buf: the normal
 * form up to 254 data bytes, the extended form above. 0, or -EMSGSIZE when
 * data or buf is too big or small.
 */
int frame_build(uint8_t tfi, const uint8_t *data, size_t size, uint8_t *buf,
		size_t buf_size, size_t *ret_len);
