// SPDX-License-Identifier: GPL-2.0-or-later
/* Reader helpers: UID normalisation and present/removed debouncing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "reader.h"

static void formats_uids_in_card_byte_order_upper_case(void **state)
{
	static const unsigned char seven[] = { 0x04, 0xa1, 0xb2, 0xc3,
					       0xd4, 0xe5, 0xf6 };
	static const unsigned char four[] = { 0xde, 0xad, 0x00, 0x0f };
	char buf[32];

	assert_int_equal(
		reader_format_uid(seven, sizeof(seven), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "uid:04A1B2C3D4E5F6");
	assert_int_equal(
		reader_format_uid(four, sizeof(four), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "uid:DEAD000F");
}

static void refuses_empty_long_uids_and_short_buffers(void **state)
{
	static const unsigned char eleven[11] = { 1 };
	char buf[32] = "untouched";

	assert_int_equal(reader_format_uid(eleven, 0, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(reader_format_uid(eleven, 11, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(reader_format_uid(eleven, 4, buf, 12), -ENOBUFS);
	assert_string_equal(buf, "untouched");
	assert_int_equal(reader_format_uid(eleven, 4, buf, 13), 0);
}

#define CARD(d, cred, ev) reader_debounce_feed(d, READER_POLL_CARD, cred, ev)
#define NO_CARD(d, ev)	  reader_debounce_feed(d, READER_POLL_NO_CARD, NULL, ev)
#define UNKNOWN(d, ev)	  reader_debounce_feed(d, READER_POLL_UNKNOWN, NULL, ev)

static void reports_a_card_left_on_the_reader_once(void **state)
{
	struct reader_debounce d = { 0 };
	struct reader_event ev[2];

	assert_int_equal(NO_CARD(&d, ev), 0);
	assert_int_equal(CARD(&d, "uid:01020304", ev), 1);
	assert_int_equal(ev[0].type, READER_EVENT_CARD_PRESENT);
	assert_string_equal(ev[0].credential, "uid:01020304");
	for (int i = 0; i < 100; i++)
		assert_int_equal(CARD(&d, "uid:01020304", ev), 0);
}

static void needs_consecutive_misses_before_removed(void **state)
{
	struct reader_debounce d = { 0 };
	struct reader_event ev[2];

	CARD(&d, "uid:01020304", ev);
	/* One missed poll at the edge of the field is no removal. */
	assert_int_equal(NO_CARD(&d, ev), 0);
	assert_int_equal(CARD(&d, "uid:01020304", ev), 0);
	for (int i = 1; i < READER_MISSES_MAX; i++)
		assert_int_equal(NO_CARD(&d, ev), 0);
	assert_int_equal(NO_CARD(&d, ev), 1);
	assert_int_equal(ev[0].type, READER_EVENT_CARD_REMOVED);
	assert_int_equal(NO_CARD(&d, ev), 0);
	/* Back again: present again. */
	assert_int_equal(CARD(&d, "uid:01020304", ev), 1);
	assert_int_equal(ev[0].type, READER_EVENT_CARD_PRESENT);
}

/*
 * A poll that timed out or came back garbled, or a reader that failed,
 * says nothing about the card: however many of them, the card lying on
 * the reader is still the same tap when the chip answers again.
 */
static void unanswered_polls_never_end_a_presence(void **state)
{
	struct reader_debounce d = { 0 };
	struct reader_event ev[2];

	assert_int_equal(UNKNOWN(&d, ev), 0);
	CARD(&d, "uid:04A1B2C3D4E5F6", ev);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(UNKNOWN(&d, ev), 0);
	assert_int_equal(CARD(&d, "uid:04A1B2C3D4E5F6", ev), 0);
	/* Between answered misses too: they do not add up to a removal. */
	for (int i = 0; i < READER_MISSES_MAX - 1; i++) {
		assert_int_equal(NO_CARD(&d, ev), 0);
		assert_int_equal(UNKNOWN(&d, ev), 0);
	}
	assert_int_equal(CARD(&d, "uid:04A1B2C3D4E5F6", ev), 0);
	assert_true(d.present);
}

/* Unanswered polls between answered misses neither reset nor add. */
static void unanswered_polls_between_misses_change_nothing(void **state)
{
	struct reader_debounce d = { 0 };
	struct reader_event ev[2];

	CARD(&d, "uid:01020304", ev);
	for (int i = 1; i < READER_MISSES_MAX; i++) {
		assert_int_equal(NO_CARD(&d, ev), 0);
		assert_int_equal(UNKNOWN(&d, ev), 0);
	}
	assert_int_equal(NO_CARD(&d, ev), 1);
	assert_int_equal(ev[0].type, READER_EVENT_CARD_REMOVED);
	/* And with no card, they make none. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(UNKNOWN(&d, ev), 0);
	assert_false(d.present);
}

static void a_new_card_replaces_the_old_one_in_order(void **state)
{
	struct reader_debounce d = { 0 };
	struct reader_event ev[2];

	CARD(&d, "uid:01020304", ev);
	UNKNOWN(&d, ev);
	assert_int_equal(CARD(&d, "uid:0A0B0C0D", ev), 2);
	assert_int_equal(ev[0].type, READER_EVENT_CARD_REMOVED);
	assert_int_equal(ev[1].type, READER_EVENT_CARD_PRESENT);
	assert_string_equal(ev[1].credential, "uid:0A0B0C0D");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(formats_uids_in_card_byte_order_upper_case),
		cmocka_unit_test(refuses_empty_long_uids_and_short_buffers),
		cmocka_unit_test(reports_a_card_left_on_the_reader_once),
		cmocka_unit_test(needs_consecutive_misses_before_removed),
		cmocka_unit_test(unanswered_polls_never_end_a_presence),
		cmocka_unit_test(
			unanswered_polls_between_misses_change_nothing),
		cmocka_unit_test(a_new_card_replaces_the_old_one_in_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
