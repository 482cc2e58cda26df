/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the PN532 HSU frame parser and builder. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"

#define EVENTS_MAX 8

/* GetFirmwareVersion and InListPassiveTarget as libnfc sends them. */
static const uint8_t get_firmware[] = { 0x00, 0x00, 0xFF, 0x02, 0xFE,
					0xD4, 0x02, 0x2A, 0x00 };
static const uint8_t list_passive[] = { 0x00, 0x00, 0xFF, 0x04, 0xFC, 0xD4,
					0x4A, 0x01, 0x00, 0xE1, 0x00 };
static const uint8_t wake_up[16] = { 0x55, 0x55 };

struct seen {
	enum frame_event_type type;
	uint8_t tfi;
	bool extended;
	size_t size;
	uint8_t data[FRAME_DATA_MAX];
};

/* Feeds size bytes in reads of at most chunk bytes; collects the events. */
static size_t feed(struct frame_parser *p, const uint8_t *buf, size_t size,
		   size_t chunk, struct seen *ret, size_t max)
{
	size_t n = 0, off = 0;

	while (off < size) {
		size_t end = off + chunk < size ? off + chunk : size;

		while (off < end) {
			struct frame_event ev;

			off += frame_parser_feed(p, buf + off, end - off, &ev);
			if (ev.type == FRAME_EVENT_NONE)
				continue;
			assert_true(n < max);
			ret[n].type = ev.type;
			ret[n].tfi = ev.tfi;
			ret[n].extended = ev.extended;
			ret[n].size = ev.size;
			if (ev.type == FRAME_EVENT_INFO)
				memcpy(ret[n].data, ev.data, ev.size);
			n++;
		}
	}
	return n;
}

static size_t concat(uint8_t *out, const uint8_t *a, size_t na,
		     const uint8_t *b, size_t nb)
{
	memcpy(out, a, na);
	memcpy(out + na, b, nb);
	return na + nb;
}

static void parses_a_good_frame(void **state)
{
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];

	assert_non_null(p);
	assert_int_equal(feed(p, list_passive, sizeof(list_passive),
			      sizeof(list_passive), ev, EVENTS_MAX),
			 1);
	assert_int_equal(ev[0].type, FRAME_EVENT_INFO);
	assert_int_equal(ev[0].tfi, FRAME_TFI_HOST);
	assert_false(ev[0].extended);
	assert_int_equal(ev[0].size, 3);
	assert_memory_equal(ev[0].data, "\x4A\x01\x00", 3);
	frame_parser_free(p);
}

static void reassembles_a_frame_split_across_reads(void **state)
{
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];
	size_t chunk;

	for (chunk = 1; chunk < sizeof(list_passive); chunk++) {
		assert_int_equal(feed(p, list_passive, sizeof(list_passive),
				      chunk, ev, EVENTS_MAX),
				 1);
		assert_int_equal(ev[0].type, FRAME_EVENT_INFO);
		assert_memory_equal(ev[0].data, "\x4A\x01\x00", 3);
	}
	frame_parser_free(p);
}

static void skips_the_wake_up_preamble_in_the_same_or_another_read(void **state)
{
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];
	uint8_t buf[64];
	size_t n = concat(buf, wake_up, sizeof(wake_up), get_firmware,
			  sizeof(get_firmware));

	assert_int_equal(feed(p, buf, n, n, ev, EVENTS_MAX), 1);
	assert_int_equal(ev[0].type, FRAME_EVENT_INFO);
	assert_int_equal(ev[0].size, 1);
	assert_int_equal(ev[0].data[0], 0x02);

	/* libnfc writes the wake-up and the frame separately. */
	assert_int_equal(feed(p, wake_up, sizeof(wake_up), 5, ev, EVENTS_MAX),
			 0);
	assert_int_equal(
		feed(p, get_firmware, sizeof(get_firmware), 3, ev, EVENTS_MAX),
		1);
	assert_int_equal(ev[0].type, FRAME_EVENT_INFO);
	frame_parser_free(p);
}

static void reports_a_bad_length_checksum_and_reads_the_next_frame(void **state)
{
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];
	uint8_t bad[sizeof(list_passive)], buf[64];
	size_t n;

	memcpy(bad, list_passive, sizeof(bad));
	bad[4] = 0xFD;
	n = concat(buf, bad, sizeof(bad), get_firmware, sizeof(get_firmware));
	assert_int_equal(feed(p, buf, n, n, ev, EVENTS_MAX), 2);
	assert_int_equal(ev[0].type, FRAME_EVENT_BAD_LCS);
	assert_int_equal(ev[1].type, FRAME_EVENT_INFO);
	assert_int_equal(ev[1].data[0], 0x02);
	frame_parser_free(p);
}

static void reports_a_bad_data_checksum_and_reads_the_next_frame(void **state)
{
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];
	uint8_t bad[sizeof(list_passive)], buf[64];
	size_t n;

	memcpy(bad, list_passive, sizeof(bad));
	bad[9] ^= 0x01;
	n = concat(buf, bad, sizeof(bad), get_firmware, sizeof(get_firmware));
	assert_int_equal(feed(p, buf, n, 4, ev, EVENTS_MAX), 2);
	assert_int_equal(ev[0].type, FRAME_EVENT_BAD_DCS);
	assert_int_equal(ev[1].type, FRAME_EVENT_INFO);
	assert_int_equal(ev[1].data[0], 0x02);
	frame_parser_free(p);
}

static void refuses_a_frame_longer_than_the_chip_holds(void **state)
{
	/* Extended length 0x0200 with a good LCS, then a good frame. */
	static const uint8_t too_long[] = { 0x00, 0x00, 0xFF, 0xFF, 0xFF,
					    0x02, 0x00, 0xFE, 0xD4, 0x4A };
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];
	uint8_t buf[64];
	size_t n = concat(buf, too_long, sizeof(too_long), get_firmware,
			  sizeof(get_firmware));

	assert_int_equal(feed(p, buf, n, n, ev, EVENTS_MAX), 2);
	assert_int_equal(ev[0].type, FRAME_EVENT_TOO_LONG);
	assert_int_equal(ev[1].type, FRAME_EVENT_INFO);
	assert_int_equal(ev[1].data[0], 0x02);
	frame_parser_free(p);
}

static void refuses_a_frame_of_length_zero(void **state)
{
	static const uint8_t empty[] = { 0x00, 0x00, 0xFF, 0x00, 0x00, 0x00 };
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];

	assert_int_equal(feed(p, empty, sizeof(empty), 1, ev, EVENTS_MAX), 1);
	assert_int_equal(ev[0].type, FRAME_EVENT_BAD_LENGTH);
	frame_parser_free(p);
}

static void skips_garbage_between_frames(void **state)
{
	static const uint8_t garbage[] = { 0x12, 0xFF, 0x34, 0x00, 0x00,
					   0xAB, 0xFF, 0x55, 0xD4, 0x00 };
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];
	uint8_t buf[64];
	size_t n;

	n = concat(buf, get_firmware, sizeof(get_firmware), garbage,
		   sizeof(garbage));
	memcpy(buf + n, list_passive, sizeof(list_passive));
	n += sizeof(list_passive);
	assert_int_equal(feed(p, buf, n, 7, ev, EVENTS_MAX), 2);
	assert_int_equal(ev[0].type, FRAME_EVENT_INFO);
	assert_int_equal(ev[0].data[0], 0x02);
	assert_int_equal(ev[1].type, FRAME_EVENT_INFO);
	assert_int_equal(ev[1].data[0], 0x4A);
	frame_parser_free(p);
}

static void recognises_ack_and_nack(void **state)
{
	static const uint8_t nack[] = { 0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00 };
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];
	uint8_t buf[64];
	size_t n =
		concat(buf, frame_ack, sizeof(frame_ack), nack, sizeof(nack));

	assert_int_equal(feed(p, buf, n, 2, ev, EVENTS_MAX), 2);
	assert_int_equal(ev[0].type, FRAME_EVENT_ACK);
	assert_int_equal(ev[1].type, FRAME_EVENT_NACK);
	frame_parser_free(p);
}

static void accepts_an_extended_frame(void **state)
{
	/* GetFirmwareVersion in the extended form: LENGTH 0x0002. */
	static const uint8_t ext[] = { 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0x00,
				       0x02, 0xFE, 0xD4, 0x02, 0x2A, 0x00 };
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];

	assert_int_equal(feed(p, ext, sizeof(ext), 1, ev, EVENTS_MAX), 1);
	assert_int_equal(ev[0].type, FRAME_EVENT_INFO);
	assert_true(ev[0].extended);
	assert_int_equal(ev[0].size, 1);
	assert_int_equal(ev[0].data[0], 0x02);
	frame_parser_free(p);
}

static void hands_out_two_frames_of_one_read_one_at_a_time(void **state)
{
	struct frame_parser *p = frame_parser_new();
	struct frame_event ev;
	uint8_t buf[64];
	size_t n = concat(buf, get_firmware, sizeof(get_firmware), list_passive,
			  sizeof(list_passive));
	size_t used;

	used = frame_parser_feed(p, buf, n, &ev);
	assert_int_equal(ev.type, FRAME_EVENT_INFO);
	/* The postamble stays for the next call, where it is skipped. */
	assert_int_equal(used, sizeof(get_firmware) - 1);
	used += frame_parser_feed(p, buf + used, n - used, &ev);
	assert_int_equal(ev.type, FRAME_EVENT_INFO);
	assert_int_equal(ev.data[0], 0x4A);
	assert_int_equal(used, n - 1);
	used += frame_parser_feed(p, buf + used, n - used, &ev);
	assert_int_equal(ev.type, FRAME_EVENT_NONE);
	assert_int_equal(used, n);
	frame_parser_free(p);
}

static void builds_frames_the_parser_reads_back(void **state)
{
	static const size_t sizes[] = {
		0, 1, 3, 253, 254, 255, FRAME_DATA_MAX
	};
	struct frame_parser *p = frame_parser_new();
	uint8_t data[FRAME_DATA_MAX], frame[FRAME_SIZE_MAX];
	struct seen ev[EVENTS_MAX];
	size_t i, len;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		assert_int_equal(frame_build(FRAME_TFI_CHIP, data, sizes[i],
					     frame, sizeof(frame), &len),
				 0);
		/* Normal frames carry up to 255 bytes with the TFI. */
		assert_int_equal(len, sizes[i] + (sizes[i] < 255 ? 8 : 11));
		assert_int_equal(feed(p, frame, len, len, ev, EVENTS_MAX), 1);
		assert_int_equal(ev[0].type, FRAME_EVENT_INFO);
		assert_int_equal(ev[0].tfi, FRAME_TFI_CHIP);
		assert_int_equal(ev[0].extended, sizes[i] >= 255);
		assert_int_equal(ev[0].size, sizes[i]);
		assert_memory_equal(ev[0].data, data, sizes[i]);
	}
	assert_int_equal(frame_build(FRAME_TFI_HOST, data, 1, frame,
				     sizeof(frame), &len),
			 0);
	assert_int_equal(len, 9);
	assert_memory_equal(frame, "\x00\x00\xFF\x02\xFE\xD4\x01\x2B\x00", 9);
	frame_parser_free(p);
}

static void refuses_to_build_what_does_not_fit(void **state)
{
	uint8_t data[FRAME_DATA_MAX + 1] = { 0 }, frame[FRAME_SIZE_MAX + 1];
	size_t len = 42;

	assert_int_equal(frame_build(FRAME_TFI_CHIP, data, sizeof(data), frame,
				     sizeof(frame), &len),
			 -EMSGSIZE);
	assert_int_equal(frame_build(FRAME_TFI_CHIP, data, 10, frame, 20, &len),
			 -EMSGSIZE);
	assert_int_equal(len, 42);
}

static void parses_the_chip_frames_libnfc_expects(void **state)
{
	struct frame_parser *p = frame_parser_new();
	struct seen ev[EVENTS_MAX];

	assert_int_equal(feed(p, frame_syntax_error, sizeof(frame_syntax_error),
			      3, ev, EVENTS_MAX),
			 1);
	assert_int_equal(ev[0].type, FRAME_EVENT_INFO);
	assert_int_equal(ev[0].tfi, 0x7F);
	assert_int_equal(ev[0].size, 0);
	frame_parser_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_a_good_frame),
		cmocka_unit_test(reassembles_a_frame_split_across_reads),
		cmocka_unit_test(
			skips_the_wake_up_preamble_in_the_same_or_another_read),
		cmocka_unit_test(
			reports_a_bad_length_checksum_and_reads_the_next_frame),
		cmocka_unit_test(
			reports_a_bad_data_checksum_and_reads_the_next_frame),
		cmocka_unit_test(refuses_a_frame_longer_than_the_chip_holds),
		cmocka_unit_test(refuses_a_frame_of_length_zero),
		cmocka_unit_test(skips_garbage_between_frames),
		cmocka_unit_test(recognises_ack_and_nack),
		cmocka_unit_test(accepts_an_extended_frame),
		cmocka_unit_test(
			hands_out_two_frames_of_one_read_one_at_a_time),
		cmocka_unit_test(builds_frames_the_parser_reads_back),
		cmocka_unit_test(refuses_to_build_what_does_not_fit),
		cmocka_unit_test(parses_the_chip_frames_libnfc_expects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
