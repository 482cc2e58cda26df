/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the PN532 HSU frame parser, what pn532-sim reads from
 * whatever the host writes.
 *
 * The input is the byte stream, fed as a host's reads would split it: the
 * byte at the start of each read decides its length (1..READ_MAX), so the
 * fuzzer controls where frames are cut, and a read starting with
 * RESET_BYTE first resets the parser, as a wake-up from power down does.
 * Beyond the sanitizers' findings it aborts when the parser breaks its
 * contract: it consumes nothing, more than offered, or less than offered
 * without an event; an INFO event carries more than FRAME_DATA_MAX bytes or
 * no data pointer; or the frame that frame_build() makes of an INFO event's
 * TFI and data does not parse back to the same TFI and bytes. Each input
 * is run twice: as it is, and with the checksums of its frames corrected.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define READ_MAX   64
#define RESET_BYTE 0xA5

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* frame_parser_feed() as the contract says, whatever the parser's state. */
static size_t feed_checked(struct frame_parser *p, const uint8_t *buf,
			   size_t size, struct frame_event *ret)
{
	size_t n = frame_parser_feed(p, buf, size, ret);

	if (n == 0 || n > size)
		abort();
	if (ret->type == FRAME_EVENT_NONE && n != size)
		abort();
	if (ret->type == FRAME_EVENT_INFO &&
	    (ret->size > FRAME_DATA_MAX || (ret->size > 0 && !ret->data)))
		abort();
	return n;
}

/* The frame built from ev's TFI and data parses back to the same. */
static void check_round_trip(struct frame_parser *again,
			     const struct frame_event *ev)
{
	uint8_t buf[FRAME_SIZE_MAX];
	size_t len, off = 0;
	bool seen = false;

	if (frame_build(ev->tfi, ev->data, ev->size, buf, sizeof(buf), &len) <
	    0)
		abort();
	frame_parser_reset(again);
	while (off < len) {
		struct frame_event back;

		off += feed_checked(again, buf + off, len - off, &back);
		if (back.type == FRAME_EVENT_NONE)
			continue;
		/* Exactly one event, and it is the frame. */
		if (seen || back.type != FRAME_EVENT_INFO)
			abort();
		seen = true;
		/* The builder picks the extended form only when it must. */
		if (back.tfi != ev->tfi || back.size != ev->size ||
		    back.extended != (ev->size + 1 > 0xFF) ||
		    (ev->size && memcmp(back.data, ev->data, ev->size) != 0))
			abort();
	}
	if (!seen)
		abort();
}

/*
 * Corrects the LCS and DCS of every frame the stream seems to hold, where
 * the bytes for them are there: lengths are guarded by checksums, so a
 * fuzzer rarely gets a length it chose past them without this.
 */
static void fix_checksums(uint8_t *b, size_t n)
{
	size_t i = 0;

	while (i + 3 < n) {
		size_t len, body;
		uint8_t sum = 0;

		if (b[i] != 0x00 || b[i + 1] != 0xFF ||
		    (b[i + 2] == 0x00 && b[i + 3] == 0xFF) || /* ACK */
		    (b[i + 2] == 0xFF && b[i + 3] == 0x00)) { /* NACK */
			i++;
			continue;
		}
		if (b[i + 2] == 0xFF && b[i + 3] == 0xFF) {
			/* Extended: 00 FF FF FF LENM LENL LCS */
			if (i + 6 >= n)
				return;
			len = (size_t)b[i + 4] << 8 | b[i + 5];
			b[i + 6] = (uint8_t)(0x100 -
					     ((b[i + 4] + b[i + 5]) & 0xFF));
			body = i + 7;
		} else {
			len = b[i + 2];
			b[i + 3] = (uint8_t)(0x100 - b[i + 2]);
			body = i + 4;
		}
		if (len == 0 || body + len >= n) {
			i = body;
			continue;
		}
		for (size_t k = 0; k < len; k++)
			sum += b[body + k];
		b[body + len] = (uint8_t)(0x100 - sum);
		i = body + len + 1;
	}
}

/* Feeds the stream in reads as its own bytes decide. */
static void run(struct frame_parser *p, struct frame_parser *again,
		const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		size_t end = off + 1 + data[off] % READ_MAX;

		if (end > size)
			end = size;
		if (data[off] == RESET_BYTE)
			frame_parser_reset(p);
		/* A read can hold more than one event: drain it. */
		while (off < end) {
			struct frame_event ev;

			off += feed_checked(p, data + off, end - off, &ev);
			if (ev.type == FRAME_EVENT_INFO)
				check_round_trip(again, &ev);
		}
	}
}

/* The input as it is, then with its checksums made right. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame_parser *p = frame_parser_new();
	struct frame_parser *again = frame_parser_new();
	uint8_t *fixed = malloc(size ? size : 1);

	if (!p || !again || !fixed)
		abort();
	run(p, again, data, size);
	memcpy(fixed, data, size);
	fix_checksums(fixed, size);
	frame_parser_reset(p);
	run(p, again, fixed, size);
	free(fixed);
	frame_parser_free(again);
	frame_parser_free(p);
	return 0;
}
