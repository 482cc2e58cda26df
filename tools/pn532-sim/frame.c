// SPDX-License-Identifier: GPL-2.0-or-later
/* PN532 HSU framing: the host byte-stream parser and the frame builder. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

const uint8_t frame_ack[6] = { 0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00 };
const uint8_t frame_syntax_error[8] = { 0x00, 0x00, 0xFF, 0x01,
					0xFF, 0x7F, 0x81, 0x00 };

/* The largest LEN a normal frame can carry (TFI included). */
#define NORMAL_LEN_MAX 0xFF

enum parser_state {
	PARSER_STATE_HUNT, /* looking for the 00 FF start code */
	PARSER_STATE_LEN,
	PARSER_STATE_LCS,
	PARSER_STATE_EXT_LENM,
	PARSER_STATE_EXT_LENL,
	PARSER_STATE_EXT_LCS,
	PARSER_STATE_TFI,
	PARSER_STATE_DATA,
	PARSER_STATE_DCS,
};

struct frame_parser {
	enum parser_state state;
	bool after_zero; /* the last byte skipped while hunting was 0x00 */
	bool extended;
	uint8_t len, lenm; /* as read, for the checksums */
	size_t expect;	   /* data bytes announced, TFI excluded */
	size_t have;
	uint8_t tfi;
	uint8_t sum; /* running data checksum: TFI + data */
	uint8_t data[FRAME_DATA_MAX];
};

struct frame_parser *frame_parser_new(void)
{
	struct frame_parser *p = calloc(1, sizeof(*p));

	if (p)
		frame_parser_reset(p);
	return p;
}

void frame_parser_free(struct frame_parser *p)
{
	free(p);
}

void frame_parser_reset(struct frame_parser *p)
{
	p->state = PARSER_STATE_HUNT;
	p->after_zero = false;
	p->extended = false;
	p->expect = 0;
	p->have = 0;
	p->sum = 0;
}

/* Starts reading TFI and data once the length is known and checked. */
static enum frame_event_type begin_body(struct frame_parser *p, size_t len)
{
	if (len == 0) {
		p->state = PARSER_STATE_HUNT;
		return FRAME_EVENT_BAD_LENGTH;
	}
	/*
	 * Refused without reading on: a length we cannot hold may just as
	 * well be line noise, and hunting again resynchronises on the next
	 * start code instead of swallowing up to 64 KiB of later frames.
	 */
	if (len - 1 > FRAME_DATA_MAX) {
		p->state = PARSER_STATE_HUNT;
		return FRAME_EVENT_TOO_LONG;
	}
	p->expect = len - 1;
	p->have = 0;
	p->state = PARSER_STATE_TFI;
	return FRAME_EVENT_NONE;
}

/* One byte; returns the event it completes, if any. */
static enum frame_event_type step(struct frame_parser *p, uint8_t b)
{
	switch (p->state) {
	case PARSER_STATE_HUNT:
		if (b == 0xFF && p->after_zero) {
			p->after_zero = false;
			p->extended = false;
			p->state = PARSER_STATE_LEN;
		} else {
			p->after_zero = b == 0x00;
		}
		return FRAME_EVENT_NONE;
	case PARSER_STATE_LEN:
		p->len = b;
		p->state = PARSER_STATE_LCS;
		return FRAME_EVENT_NONE;
	case PARSER_STATE_LCS:
		p->state = PARSER_STATE_HUNT;
		if (p->len == 0x00 && b == 0xFF)
			return FRAME_EVENT_ACK;
		if (p->len == 0xFF && b == 0x00)
			return FRAME_EVENT_NACK;
		if (p->len == 0xFF && b == 0xFF) {
			p->extended = true;
			p->state = PARSER_STATE_EXT_LENM;
			return FRAME_EVENT_NONE;
		}
		if ((uint8_t)(p->len + b) != 0)
			return FRAME_EVENT_BAD_LCS;
		return begin_body(p, p->len);
	case PARSER_STATE_EXT_LENM:
		p->lenm = b;
		p->state = PARSER_STATE_EXT_LENL;
		return FRAME_EVENT_NONE;
	case PARSER_STATE_EXT_LENL:
		p->len = b;
		p->state = PARSER_STATE_EXT_LCS;
		return FRAME_EVENT_NONE;
	case PARSER_STATE_EXT_LCS:
		if ((uint8_t)(p->lenm + p->len + b) != 0) {
			p->state = PARSER_STATE_HUNT;
			return FRAME_EVENT_BAD_LCS;
		}
		return begin_body(p, (size_t)p->lenm << 8 | p->len);
	case PARSER_STATE_TFI:
		p->tfi = b;
		p->sum = b;
		p->state = p->expect ? PARSER_STATE_DATA : PARSER_STATE_DCS;
		return FRAME_EVENT_NONE;
	case PARSER_STATE_DATA:
		p->data[p->have++] = b;
		p->sum += b;
		if (p->have == p->expect)
			p->state = PARSER_STATE_DCS;
		return FRAME_EVENT_NONE;
	case PARSER_STATE_DCS:
		/*
		 * The postamble is not waited for: hosts send it in the same
		 * write, and hunting skips it like any preamble byte.
		 */
		p->state = PARSER_STATE_HUNT;
		if ((uint8_t)(p->sum + b) != 0)
			return FRAME_EVENT_BAD_DCS;
		return FRAME_EVENT_INFO;
	}
	return FRAME_EVENT_NONE;
}

size_t frame_parser_feed(struct frame_parser *p, const uint8_t *buf,
			 size_t size, struct frame_event *ret)
{
	size_t i;

	memset(ret, 0, sizeof(*ret));
	ret->type = FRAME_EVENT_NONE;
	for (i = 0; i < size;) {
		enum frame_event_type t = step(p, buf[i++]);

		if (t == FRAME_EVENT_NONE)
			continue;
		ret->type = t;
		if (t == FRAME_EVENT_INFO) {
			ret->extended = p->extended;
			ret->tfi = p->tfi;
			ret->size = p->have;
			ret->data = p->data;
		}
		break;
	}
	return i;
}

int frame_build(uint8_t tfi, const uint8_t *data, size_t size, uint8_t *buf,
		size_t buf_size, size_t *ret_len)
{
	size_t len = size + 1, n = 0, i;
	uint8_t sum = tfi;

	if (size > FRAME_DATA_MAX || buf_size < size + FRAME_OVERHEAD_MAX)
		return -EMSGSIZE;
	buf[n++] = 0x00;
	buf[n++] = 0x00;
	buf[n++] = 0xFF;
	if (len <= NORMAL_LEN_MAX) {
		buf[n++] = (uint8_t)len;
		buf[n++] = (uint8_t)-len;
	} else {
		buf[n++] = 0xFF;
		buf[n++] = 0xFF;
		buf[n++] = (uint8_t)(len >> 8);
		buf[n++] = (uint8_t)len;
		buf[n++] = (uint8_t) - (uint8_t)((len >> 8) + (len & 0xFF));
	}
	buf[n++] = tfi;
	for (i = 0; i < size; i++) {
		buf[n++] = data[i];
		sum += data[i];
	}
	buf[n++] = (uint8_t)-sum;
	buf[n++] = 0x00;
	*ret_len = n;
	return 0;
}
