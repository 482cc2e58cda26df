// SPDX-License-Identifier: GPL-2.0-or-later
/* The barcode scanner: key events back to text, and the evdev backend. */
#include <errno.h>
#include <linux/input-event-codes.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "reader.h"
#include "scan-decode.h"

/* A decoder with its clock: a scanner types a key every 5 ms. */
struct typist {
	struct scan_decoder d;
	uint64_t now_usec;
	char text[SCAN_TEXT_MAX + 1];
};

#define KEY_USEC 5000

static void typist_init(struct typist *t)
{
	scan_decoder_init(&t->d);
	t->now_usec = 1000000;
	strcpy(t->text, "untouched");
}

/* One event of key code now: the decoder's answer. */
static int key(struct typist *t, unsigned code, int value)
{
	return scan_decoder_key(&t->d, code, value, t->now_usec, t->text,
				sizeof(t->text));
}

static void hold(struct typist *t, unsigned code)
{
	t->now_usec += KEY_USEC;
	assert_int_equal(key(t, code, 1), 0);
}

static void let_go(struct typist *t, unsigned code)
{
	t->now_usec += KEY_USEC;
	assert_int_equal(key(t, code, 0), 0);
}

/* Presses and releases a key: the press's answer (a release ends nothing). */
static int tap(struct typist *t, unsigned code)
{
	int ret;

	t->now_usec += KEY_USEC;
	ret = key(t, code, 1);
	t->now_usec += KEY_USEC;
	assert_int_equal(key(t, code, 0), 0);
	return ret;
}

/* Taps each key, none of which ends a scan. */
static void tap_keys(struct typist *t, const unsigned *codes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tap(t, codes[i]), 0);
}

#define TAP_KEYS(t, ...)                               \
	tap_keys(t, (const unsigned[]){ __VA_ARGS__ }, \
		 sizeof((const unsigned[]){ __VA_ARGS__ }) / sizeof(unsigned))

static void shifted_tap(struct typist *t, unsigned shift, unsigned code)
{
	hold(t, shift);
	assert_int_equal(tap(t, code), 0);
	let_go(t, shift);
}

static void reads_a_member_number_typed_with_shift(void **state)
{
	struct typist t;

	typist_init(&t);
	shifted_tap(&t, KEY_LEFTSHIFT, KEY_M);
	TAP_KEYS(&t, KEY_0, KEY_0, KEY_1, KEY_2, KEY_3, KEY_4, KEY_5);
	assert_string_equal(t.text, "untouched");
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "M0012345");
}

static void reads_one_scan_after_another(void **state)
{
	struct typist t;

	typist_init(&t);
	TAP_KEYS(&t, KEY_1, KEY_2);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "12");
	TAP_KEYS(&t, KEY_3);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "3");
}

static void types_lower_case_letters_without_shift(void **state)
{
	struct typist t;

	typist_init(&t);
	TAP_KEYS(&t, KEY_Q, KEY_W, KEY_E, KEY_R, KEY_T, KEY_Y, KEY_U, KEY_I,
		 KEY_O, KEY_P, KEY_A, KEY_S, KEY_D, KEY_F, KEY_G, KEY_H, KEY_J,
		 KEY_K, KEY_L, KEY_Z, KEY_X, KEY_C, KEY_V, KEY_B, KEY_N, KEY_M);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "qwertyuiopasdfghjklzxcvbnm");
}

static void either_shift_makes_upper_case(void **state)
{
	struct typist t;

	typist_init(&t);
	shifted_tap(&t, KEY_RIGHTSHIFT, KEY_A);
	/* Both held, one let go: still shifted. */
	hold(&t, KEY_LEFTSHIFT);
	hold(&t, KEY_RIGHTSHIFT);
	let_go(&t, KEY_LEFTSHIFT);
	assert_int_equal(tap(&t, KEY_B), 0);
	let_go(&t, KEY_RIGHTSHIFT);
	assert_int_equal(tap(&t, KEY_C), 0);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "ABc");
}

static void types_us_symbols_with_and_without_shift(void **state)
{
	static const unsigned codes[] = {
		KEY_1,	       KEY_2,	       KEY_3,	      KEY_4,
		KEY_5,	       KEY_6,	       KEY_7,	      KEY_8,
		KEY_9,	       KEY_0,	       KEY_MINUS,     KEY_EQUAL,
		KEY_LEFTBRACE, KEY_RIGHTBRACE, KEY_SEMICOLON, KEY_APOSTROPHE,
		KEY_GRAVE,     KEY_BACKSLASH,  KEY_COMMA,     KEY_DOT,
		KEY_SLASH,     KEY_SPACE,
	};
	struct typist t;

	typist_init(&t);
	tap_keys(&t, codes, sizeof(codes) / sizeof(codes[0]));
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "1234567890-=[];'`\\,./ ");

	hold(&t, KEY_LEFTSHIFT);
	tap_keys(&t, codes, sizeof(codes) / sizeof(codes[0]));
	let_go(&t, KEY_LEFTSHIFT);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "!@#$%^&*()_+{}:\"~|<>? ");
}

static void types_keypad_keys_and_ends_with_keypad_enter(void **state)
{
	struct typist t;

	typist_init(&t);
	TAP_KEYS(&t, KEY_KP0, KEY_KP1, KEY_KP2, KEY_KP3, KEY_KP4, KEY_KP5,
		 KEY_KP6, KEY_KP7, KEY_KP8, KEY_KP9, KEY_KPMINUS, KEY_KPPLUS,
		 KEY_KPASTERISK, KEY_KPSLASH, KEY_KPDOT);
	assert_int_equal(tap(&t, KEY_KPENTER), 1);
	assert_string_equal(t.text, "0123456789-+*/.");
}

static void caps_lock_toggles_the_case_of_letters_only(void **state)
{
	struct typist t;

	typist_init(&t);
	assert_int_equal(tap(&t, KEY_CAPSLOCK), 0);
	TAP_KEYS(&t, KEY_M, KEY_1);
	/* Shift undoes Caps Lock for letters, not for digits. */
	shifted_tap(&t, KEY_LEFTSHIFT, KEY_X);
	shifted_tap(&t, KEY_LEFTSHIFT, KEY_2);
	assert_int_equal(tap(&t, KEY_CAPSLOCK), 0);
	TAP_KEYS(&t, KEY_M);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "M1x@m");
}

static void caps_lock_held_down_toggles_once(void **state)
{
	struct typist t;

	typist_init(&t);
	t.now_usec += KEY_USEC;
	assert_int_equal(key(&t, KEY_CAPSLOCK, 1), 0);
	assert_int_equal(key(&t, KEY_CAPSLOCK, 2), 0);
	assert_int_equal(key(&t, KEY_CAPSLOCK, 0), 0);
	TAP_KEYS(&t, KEY_A);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "A");
}

static void tab_ends_a_scan(void **state)
{
	struct typist t;

	typist_init(&t);
	TAP_KEYS(&t, KEY_B, KEY_4, KEY_2);
	assert_int_equal(tap(&t, KEY_TAB), 1);
	assert_string_equal(t.text, "b42");
}

static void enter_or_tab_alone_yields_nothing(void **state)
{
	struct typist t;

	typist_init(&t);
	assert_int_equal(tap(&t, KEY_ENTER), 0);
	assert_int_equal(tap(&t, KEY_KPENTER), 0);
	assert_int_equal(tap(&t, KEY_TAB), 0);
	assert_string_equal(t.text, "untouched");
}

static void keeps_a_scan_of_the_longest_length(void **state)
{
	char expected[SCAN_TEXT_MAX + 1];
	struct typist t;

	typist_init(&t);
	for (int i = 0; i < SCAN_TEXT_MAX; i++) {
		assert_int_equal(tap(&t, KEY_7), 0);
		expected[i] = '7';
	}
	expected[SCAN_TEXT_MAX] = '\0';
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, expected);
}

static void drops_a_too_long_scan_up_to_its_enter(void **state)
{
	struct typist t;

	typist_init(&t);
	for (int i = 0; i < SCAN_TEXT_MAX + 1; i++)
		assert_int_equal(tap(&t, KEY_7), 0);
	assert_int_equal(tap(&t, KEY_ENTER), -EMSGSIZE);
	assert_string_equal(t.text, "untouched");
	/* However much longer. */
	for (int i = 0; i < 3 * SCAN_TEXT_MAX; i++)
		assert_int_equal(tap(&t, KEY_7), 0);
	assert_int_equal(tap(&t, KEY_ENTER), -EMSGSIZE);
	assert_string_equal(t.text, "untouched");
	/* The next scan is read whole. */
	TAP_KEYS(&t, KEY_8, KEY_9);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "89");
}

static void a_pause_abandons_the_partial_scan(void **state)
{
	struct typist t;

	typist_init(&t);
	/* A person pressing keys is no scanner. */
	TAP_KEYS(&t, KEY_1, KEY_2);
	t.now_usec += SCAN_GAP_USEC + 1;
	/* The key after the pause starts a new scan. */
	assert_int_equal(tap(&t, KEY_3), -ETIMEDOUT);
	TAP_KEYS(&t, KEY_4);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "34");

	TAP_KEYS(&t, KEY_5);
	t.now_usec += SCAN_GAP_USEC + 1;
	assert_int_equal(tap(&t, KEY_ENTER), -ETIMEDOUT);
	assert_string_equal(t.text, "34");
	assert_int_equal(tap(&t, KEY_ENTER), 0);
}

static void a_pause_up_to_the_limit_is_still_one_scan(void **state)
{
	struct typist t;

	typist_init(&t);
	TAP_KEYS(&t, KEY_1);
	/* The last press was KEY_USEC ago, tap() adds KEY_USEC: the limit. */
	t.now_usec += SCAN_GAP_USEC - 2 * KEY_USEC;
	TAP_KEYS(&t, KEY_2);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "12");
	/* Between scans any pause is fine. */
	t.now_usec += 10 * SCAN_GAP_USEC;
	TAP_KEYS(&t, KEY_3);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "3");
}

static void a_pause_ends_dropping_a_too_long_scan(void **state)
{
	struct typist t;

	typist_init(&t);
	for (int i = 0; i < SCAN_TEXT_MAX + 1; i++)
		assert_int_equal(tap(&t, KEY_7), 0);
	t.now_usec += SCAN_GAP_USEC + 1;
	assert_int_equal(tap(&t, KEY_8), -ETIMEDOUT);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "8");
}

static void autorepeat_types_the_key_again(void **state)
{
	struct typist t;

	typist_init(&t);
	t.now_usec += KEY_USEC;
	assert_int_equal(key(&t, KEY_1, 1), 0);
	t.now_usec += KEY_USEC;
	assert_int_equal(key(&t, KEY_1, 2), 0);
	t.now_usec += KEY_USEC;
	assert_int_equal(key(&t, KEY_1, 2), 0);
	assert_int_equal(key(&t, KEY_1, 0), 0);
	t.now_usec += KEY_USEC;
	assert_int_equal(key(&t, KEY_ENTER, 1), 1);
	assert_string_equal(t.text, "111");
	/* An Enter held down ends nothing more: the scan is empty. */
	t.now_usec += KEY_USEC;
	assert_int_equal(key(&t, KEY_ENTER, 2), 0);
}

static void keys_with_ctrl_or_alt_held_are_ignored(void **state)
{
	struct typist t;

	typist_init(&t);
	TAP_KEYS(&t, KEY_1);
	hold(&t, KEY_LEFTCTRL);
	assert_int_equal(tap(&t, KEY_C), 0);
	assert_int_equal(tap(&t, KEY_ENTER), 0);
	let_go(&t, KEY_LEFTCTRL);
	hold(&t, KEY_RIGHTALT);
	assert_int_equal(tap(&t, KEY_2), 0);
	assert_int_equal(tap(&t, KEY_TAB), 0);
	let_go(&t, KEY_RIGHTALT);
	TAP_KEYS(&t, KEY_3);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "13");
}

static void other_keys_are_ignored(void **state)
{
	struct typist t;

	typist_init(&t);
	TAP_KEYS(&t, KEY_1, KEY_F1, KEY_UP, KEY_LEFT, KEY_ESC, KEY_BACKSPACE,
		 KEY_LEFTMETA, KEY_NUMLOCK, KEY_102ND, KEY_2);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "12");
}

static void lost_events_drop_the_scan_under_way(void **state)
{
	struct typist t;

	typist_init(&t);
	TAP_KEYS(&t, KEY_1, KEY_2);
	hold(&t, KEY_LEFTSHIFT);
	scan_decoder_lost(&t.d, t.now_usec);
	/* Shift's release may have been lost: it counts as let go. */
	TAP_KEYS(&t, KEY_A);
	assert_int_equal(tap(&t, KEY_ENTER), -EIO);
	TAP_KEYS(&t, KEY_B);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "b");
}

static void a_scan_well_after_lost_events_is_read(void **state)
{
	struct typist t;

	typist_init(&t);
	scan_decoder_lost(&t.d, t.now_usec);
	t.now_usec += SCAN_GAP_USEC + 1;
	assert_int_equal(tap(&t, KEY_4), -ETIMEDOUT);
	assert_int_equal(tap(&t, KEY_ENTER), 1);
	assert_string_equal(t.text, "4");
}

static void a_small_buffer_drops_the_scan_untouched(void **state)
{
	struct scan_decoder d;
	char small[3] = "xy";

	scan_decoder_init(&d);
	assert_int_equal(scan_decoder_key(&d, KEY_1, 1, 10, small, 3), 0);
	assert_int_equal(scan_decoder_key(&d, KEY_2, 1, 20, small, 3), 0);
	assert_int_equal(scan_decoder_key(&d, KEY_3, 1, 30, small, 3), 0);
	assert_int_equal(scan_decoder_key(&d, KEY_ENTER, 1, 40, small, 3),
			 -ENOBUFS);
	assert_string_equal(small, "xy");
	assert_int_equal(scan_decoder_key(&d, KEY_4, 1, 50, small, 3), 0);
	assert_int_equal(scan_decoder_key(&d, KEY_ENTER, 1, 60, small, 3), 1);
	assert_string_equal(small, "4");
}

static uint64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The reader's next event, waiting up to timeout_ms for it: 0 or -EAGAIN. */
static int next_event(struct reader *r, int timeout_ms,
		      struct reader_event *ret)
{
	struct pollfd p = { .fd = reader_get_fd(r), .events = POLLIN };

	if (poll(&p, 1, timeout_ms) != 1)
		return -EAGAIN;
	return reader_read_event(r, ret);
}

static void evdev_refuses_no_path(void **state)
{
	errno = 0;
	assert_null(reader_new_evdev(NULL));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(reader_new_evdev(""));
	assert_int_equal(errno, EINVAL);
}

static void evdev_reports_a_missing_device_once_by_its_path(void **state)
{
	static const char path[] = "/nonexistent/lokerbuku-test-event-kbd";
	struct reader *r = reader_new_evdev(path);
	struct reader_event ev;
	uint64_t start;

	assert_non_null(r);
	assert_string_equal(reader_get_backend(r), "evdev");
	assert_int_equal(next_event(r, 5000, &ev), 0);
	assert_int_equal(ev.type, READER_EVENT_FAULT);
	assert_string_equal(
		ev.credential,
		"/nonexistent/lokerbuku-test-event-kbd: No such file or directory");
	assert_false(reader_is_ok(r));
	/* The reopen 250 ms later fails the same way, and says nothing. */
	assert_int_equal(next_event(r, 600, &ev), -EAGAIN);
	assert_false(reader_is_ok(r));
	/* The thread is waiting 500 ms before the next reopen: not for free. */
	start = monotonic_usec();
	reader_free(r);
	assert_true(monotonic_usec() - start < 150000);
}

static void evdev_a_device_it_cannot_grab_is_a_fault(void **state)
{
	/* Opens fine, but is no input device: the grab fails. */
	struct reader *r = reader_new_evdev("/dev/null");
	struct reader_event ev;

	assert_non_null(r);
	assert_int_equal(next_event(r, 5000, &ev), 0);
	assert_int_equal(ev.type, READER_EVENT_FAULT);
	/*
	 * qemu-user, which runs the arm64 build's tests, does not implement
	 * EVIOCGRAB and says ENOSYS where the kernel says ENOTTY.
	 */
	if (strcmp(ev.credential,
		   "/dev/null: cannot grab: Function not implemented") != 0)
		assert_string_equal(
			ev.credential,
			"/dev/null: cannot grab: Inappropriate ioctl for device");
	assert_false(reader_is_ok(r));
	reader_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_a_member_number_typed_with_shift),
		cmocka_unit_test(reads_one_scan_after_another),
		cmocka_unit_test(types_lower_case_letters_without_shift),
		cmocka_unit_test(either_shift_makes_upper_case),
		cmocka_unit_test(types_us_symbols_with_and_without_shift),
		cmocka_unit_test(types_keypad_keys_and_ends_with_keypad_enter),
		cmocka_unit_test(caps_lock_toggles_the_case_of_letters_only),
		cmocka_unit_test(caps_lock_held_down_toggles_once),
		cmocka_unit_test(tab_ends_a_scan),
		cmocka_unit_test(enter_or_tab_alone_yields_nothing),
		cmocka_unit_test(keeps_a_scan_of_the_longest_length),
		cmocka_unit_test(drops_a_too_long_scan_up_to_its_enter),
		cmocka_unit_test(a_pause_abandons_the_partial_scan),
		cmocka_unit_test(a_pause_up_to_the_limit_is_still_one_scan),
		cmocka_unit_test(a_pause_ends_dropping_a_too_long_scan),
		cmocka_unit_test(autorepeat_types_the_key_again),
		cmocka_unit_test(keys_with_ctrl_or_alt_held_are_ignored),
		cmocka_unit_test(other_keys_are_ignored),
		cmocka_unit_test(lost_events_drop_the_scan_under_way),
		cmocka_unit_test(a_scan_well_after_lost_events_is_read),
		cmocka_unit_test(a_small_buffer_drops_the_scan_untouched),
		cmocka_unit_test(evdev_refuses_no_path),
		cmocka_unit_test(
			evdev_reports_a_missing_device_once_by_its_path),
		cmocka_unit_test(evdev_a_device_it_cannot_grab_is_a_fault),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
