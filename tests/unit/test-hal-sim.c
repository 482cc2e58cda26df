// SPDX-License-Identifier: GPL-2.0-or-later
/* The simulated reader and lock bank behave like devices behind an fd. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "lockbank-internal.h"
#include "lockbank.h"
#include "reader.h"

static bool fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void reader_tap_queues_present_then_removed(void **state)
{
	struct reader *r = reader_new_sim();
	struct reader_event ev;

	assert_non_null(r);
	assert_string_equal(reader_get_backend(r), "sim");
	assert_false(fd_readable(reader_get_fd(r)));
	assert_int_equal(reader_sim_present(r, "uid:04A1B2C3"), 0);
	assert_true(fd_readable(reader_get_fd(r)));
	assert_int_equal(reader_sim_remove(r), 0);
	assert_int_equal(reader_read_event(r, &ev), 0);
	assert_int_equal(ev.type, READER_EVENT_CARD_PRESENT);
	assert_string_equal(ev.credential, "uid:04A1B2C3");
	assert_int_equal(reader_read_event(r, &ev), 0);
	assert_int_equal(ev.type, READER_EVENT_CARD_REMOVED);
	assert_int_equal(reader_read_event(r, &ev), -EAGAIN);
	assert_false(fd_readable(reader_get_fd(r)));
	reader_free(r);
}

static void reader_second_card_removes_the_first(void **state)
{
	struct reader *r = reader_new_sim();
	struct reader_event ev;

	assert_int_equal(reader_sim_present(r, "card:1"), 0);
	assert_int_equal(reader_sim_present(r, "card:2"), 0);
	assert_int_equal(reader_read_event(r, &ev), 0);
	assert_string_equal(ev.credential, "card:1");
	assert_int_equal(reader_read_event(r, &ev), 0);
	assert_int_equal(ev.type, READER_EVENT_CARD_REMOVED);
	assert_int_equal(reader_read_event(r, &ev), 0);
	assert_string_equal(ev.credential, "card:2");
	reader_free(r);
}

static void reader_refuses_empty_long_and_overflowing_input(void **state)
{
	struct reader *r = reader_new_sim();
	char longer[READER_CREDENTIAL_MAX + 2];
	int err = 0;

	memset(longer, 'A', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(reader_sim_present(r, ""), -EINVAL);
	assert_int_equal(reader_sim_present(r, longer), -EINVAL);
	for (unsigned i = 0; i < READER_QUEUE_MAX * 2 && err == 0; i++)
		err = reader_sim_present(r, "card:1");
	assert_int_equal(err, -ENOBUFS);
	reader_free(r);
}

static void lockbank_counts_pulses_and_reports_door_edges(void **state)
{
	struct lockbank *lb = lockbank_new_sim(4);
	struct lockbank_event ev;
	bool energised, open;
	unsigned pulses;

	assert_non_null(lb);
	assert_int_equal(lockbank_get_n_lockers(lb), 4);
	assert_int_equal(lockbank_set_lock(lb, 3, true), 0);
	assert_int_equal(lockbank_sim_get_lock(lb, 3, &energised, &pulses), 0);
	assert_true(energised);
	assert_int_equal(pulses, 1);
	assert_int_equal(lockbank_set_lock(lb, 3, false), 0);
	assert_int_equal(lockbank_sim_get_lock(lb, 3, &energised, &pulses), 0);
	assert_false(energised);
	assert_int_equal(pulses, 1);

	assert_false(fd_readable(lockbank_get_fd(lb)));
	assert_int_equal(lockbank_sim_set_door(lb, 3, true), 0);
	/* The same reading twice is no edge. */
	assert_int_equal(lockbank_sim_set_door(lb, 3, true), 0);
	assert_true(fd_readable(lockbank_get_fd(lb)));
	assert_int_equal(lockbank_read_event(lb, &ev), 0);
	assert_int_equal(ev.locker, 3);
	assert_true(ev.door_open);
	assert_int_equal(lockbank_read_event(lb, &ev), -EAGAIN);
	assert_int_equal(lockbank_get_door(lb, 3, &open), 0);
	assert_true(open);
	lockbank_free(lb);
}

static void lockbank_refuses_lockers_out_of_range(void **state)
{
	struct lockbank *lb = lockbank_new_sim(2);
	bool open;

	assert_int_equal(lockbank_set_lock(lb, 0, true), -EINVAL);
	assert_int_equal(lockbank_set_lock(lb, 3, true), -EINVAL);
	assert_int_equal(lockbank_get_door(lb, 3, &open), -EINVAL);
	assert_int_equal(lockbank_get_item(lb, 3, &open), -EINVAL);
	/* The simulated bank has no item sensors. */
	assert_int_equal(lockbank_get_item(lb, 2, &open), -ENODATA);
	assert_int_equal(lockbank_sim_set_door(lb, 0, true), -EINVAL);
	assert_null(lockbank_new_sim(0));
	assert_int_equal(errno, EINVAL);
	assert_null(lockbank_new_sim(LOCKBANK_LOCKERS_MAX + 1));
	lockbank_free(lb);
}

static void lockbank_release_all_leaves_every_lock_deenergised(void **state)
{
	struct lockbank *lb = lockbank_new_sim(3);
	bool energised;

	for (unsigned i = 1; i <= 3; i++)
		assert_int_equal(lockbank_set_lock(lb, i, true), 0);
	assert_int_equal(lockbank_release_all(lb), 0);
	for (unsigned i = 1; i <= 3; i++) {
		assert_int_equal(lockbank_sim_get_lock(lb, i, &energised, NULL),
				 0);
		assert_false(energised);
	}
	lockbank_free(lb);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void lockbank_logs_each_pulse_start_for_the_benchmarks(void **state)
{
	char path[] = "/tmp/lokerbuku-pulse-log.XXXXXX";
	unsigned locker, pulses;
	unsigned long long at_ns;
	struct lockbank *lb;
	uint64_t before;
	int fd = mkstemp(path);
	FILE *f;

	assert_true(fd >= 0);
	close(fd);
	setenv(LOCKBANK_SIM_PULSE_LOG_ENV, path, 1);
	lb = lockbank_new_sim(3);
	unsetenv(LOCKBANK_SIM_PULSE_LOG_ENV);
	assert_non_null(lb);
	before = monotonic_ns();
	assert_int_equal(lockbank_set_lock(lb, 2, true), 0);
	/* Still energised: the same pulse, not a second line. */
	assert_int_equal(lockbank_set_lock(lb, 2, true), 0);
	assert_int_equal(lockbank_set_lock(lb, 2, false), 0);
	assert_int_equal(lockbank_set_lock(lb, 2, true), 0);
	lockbank_free(lb);

	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%u %u %llu", &locker, &pulses, &at_ns), 3);
	assert_int_equal(locker, 2);
	assert_int_equal(pulses, 1);
	assert_true(at_ns >= before && at_ns <= monotonic_ns());
	assert_int_equal(fscanf(f, "%u %u %llu", &locker, &pulses, &at_ns), 3);
	assert_int_equal(pulses, 2);
	assert_int_equal(fscanf(f, "%u", &locker), EOF);
	fclose(f);
	unlink(path);
}

/* Four doors, 1 and 3 open: as lockbank_doors_init() takes them. */
static void doors_init_four(struct lockbank_doors *d)
{
	bool open[5] = { false, true, false, true, false };

	lockbank_doors_init(d, 4, open);
}

static void lockbank_doors_report_edges_in_sequence_once(void **state)
{
	struct lockbank_doors d;
	struct lockbank_event ev;

	doors_init_four(&d);
	assert_true(lockbank_doors_edge(&d, 2, true, 1, 100));
	/* The same state again (a bounce the kernel let through): no news. */
	assert_false(lockbank_doors_edge(&d, 2, true, 2, 200));
	assert_true(lockbank_doors_edge(&d, 1, false, 3, 300));
	assert_false(lockbank_doors_edge(&d, 0, true, 4, 400));
	assert_false(d.resync_needed);
	assert_false(lockbank_doors_next(&d, &ev));
}

static void lockbank_doors_read_again_after_lost_edges(void **state)
{
	struct lockbank_doors d;
	struct lockbank_event ev;
	bool now[5] = { false, false, true, true, true };

	doors_init_four(&d);
	assert_true(lockbank_doors_edge(&d, 2, true, 1, 100));
	/* Edges 2 to 9 were dropped by a full kernel queue. */
	assert_false(lockbank_doors_edge(&d, 4, true, 10, 1000));
	assert_true(d.resync_needed);
	/* Read at 1100: door 1 closed, door 4 opened meanwhile. */
	lockbank_doors_resync(&d, now, 1100);
	assert_false(d.resync_needed);
	assert_true(lockbank_doors_next(&d, &ev));
	assert_int_equal(ev.locker, 1);
	assert_false(ev.door_open);
	assert_true(lockbank_doors_next(&d, &ev));
	assert_int_equal(ev.locker, 4);
	assert_true(ev.door_open);
	assert_false(lockbank_doors_next(&d, &ev));
	/* Still queued from before the read: already told. */
	assert_false(lockbank_doors_edge(&d, 1, false, 11, 1050));
	assert_false(d.resync_needed);
	/* After it, a change is news again. */
	assert_true(lockbank_doors_edge(&d, 3, false, 12, 1200));
}

static void
lockbank_doors_read_again_when_the_first_edges_are_lost(void **state)
{
	struct lockbank_doors d;
	struct lockbank_event ev;
	bool now[5] = { false, true, false, true, true };

	doors_init_four(&d);
	/* The first edge read is the 300th: 299 were lost. */
	assert_false(lockbank_doors_edge(&d, 4, true, 300, 5000));
	assert_true(d.resync_needed);
	lockbank_doors_resync(&d, now, 5100);
	assert_true(lockbank_doors_next(&d, &ev));
	assert_int_equal(ev.locker, 4);
	assert_true(ev.door_open);
	assert_false(lockbank_doors_next(&d, &ev));
}

static void lockbank_doors_say_nothing_of_a_door_back_as_it_was(void **state)
{
	struct lockbank_doors d;
	struct lockbank_event ev;
	bool closed[5] = { false, false, false, true, false };
	bool open[5] = { false, true, false, true, false };

	doors_init_four(&d);
	lockbank_doors_resync(&d, closed, 10);
	/* Read again before the change was taken: open, as last reported. */
	lockbank_doors_resync(&d, open, 20);
	assert_false(lockbank_doors_next(&d, &ev));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reader_tap_queues_present_then_removed),
		cmocka_unit_test(reader_second_card_removes_the_first),
		cmocka_unit_test(
			reader_refuses_empty_long_and_overflowing_input),
		cmocka_unit_test(lockbank_counts_pulses_and_reports_door_edges),
		cmocka_unit_test(lockbank_doors_report_edges_in_sequence_once),
		cmocka_unit_test(lockbank_doors_read_again_after_lost_edges),
		cmocka_unit_test(
			lockbank_doors_read_again_when_the_first_edges_are_lost),
		cmocka_unit_test(
			lockbank_doors_say_nothing_of_a_door_back_as_it_was),
		cmocka_unit_test(lockbank_refuses_lockers_out_of_range),
		cmocka_unit_test(
			lockbank_release_all_leaves_every_lock_deenergised),
		cmocka_unit_test(
			lockbank_logs_each_pulse_start_for_the_benchmarks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
