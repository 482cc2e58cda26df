// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The metrics listener's pure parts (firmware/metrics.c): the exposition
 * text of a snapshot, and what a request is answered. The listener over
 * TCP: tests/integration/metrics.sh.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

#define TOKEN "0123456789abcdef0123456789abcdef"

static const struct metrics_locker lockers[] = {
	{ .number = 1, .door_state = KIOSK_DOOR_STATE_CLOSED },
	{ .number = 2,
	  .door_open = true,
	  .occupied = true,
	  .alarm_left_open = true,
	  .door_state = KIOSK_DOOR_STATE_OPEN },
	{ .number = 3,
	  .disabled = true,
	  .fault = KIOSK_FAULT_NOT_OPENED,
	  .door_state = KIOSK_DOOR_STATE_CLOSED },
};

static struct metrics_snapshot snapshot(void)
{
	struct metrics_snapshot s = {
		.version = "1.2.3",
		.kiosk_id = "perpus-01",
		.now_usec = 1800000000000000,
		.started_usec = 1799999000000000,
		.uptime_usec = 1000250000,
		.in_service = true,
		.reader_up = true,
		.lockbank_up = true,
		.outbox_unsent = 7,
		.oldest_unsent_at_usec = 1799999940500000,
		.n_lockers = 3,
		.lockers = lockers,
	};

	s.counters.taps[METRICS_CREDENTIAL_UID] = 5;
	s.counters.taps[METRICS_CREDENTIAL_CODE] = 2;
	s.counters.refusals[METRICS_REFUSAL_WRONG_PIN] = 3;
	s.counters.unlocks = 4;
	s.counters.events[KIOSK_RECORD_HOLD_PICKED_UP] = 2;
	return s;
}

/* The line of text that starts with prefix, as a new string, or NULL. */
static char *line_of(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);

	for (const char *p = text; p && *p;
	     p = strchr(p, '\n'), p = p ? p + 1 : p)
		if (strncmp(p, prefix, n) == 0)
			return strndup(p, strcspn(p, "\n"));
	return NULL;
}

static void assert_line(const char *text, const char *line)
{
	char *found = line_of(text, line);

	if (!found || strcmp(found, line) != 0)
		fail_msg("no line \"%s\" in:\n%s", line, text);
	free(found);
}

static unsigned count_of(const char *text, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void every_family_has_one_help_and_one_type_line(void **state)
{
	struct metrics_snapshot s = snapshot();
	char *text = metrics_render(&s);
	unsigned families = 0;

	assert_non_null(text);
	for (const char *p = text; (p = strstr(p, "# TYPE ")); p++) {
		char name[128], type[32], help[160];

		assert_int_equal(sscanf(p, "# TYPE %127s %31s", name, type), 2);
		assert_true(strncmp(name, "lokerbuku_", 10) == 0);
		assert_true(strcmp(type, "gauge") == 0 ||
			    strcmp(type, "counter") == 0);
		/* The HELP line comes right before it, once. */
		snprintf(help, sizeof(help), "# HELP %s ", name);
		assert_int_equal(count_of(text, help), 1);
		snprintf(help, sizeof(help), "# TYPE %s ", name);
		assert_int_equal(count_of(text, help), 1);
		if (strcmp(type, "counter") == 0)
			assert_true(strlen(name) > 6 &&
				    strcmp(name + strlen(name) - 6, "_total") ==
					    0);
		families++;
	}
	/* Without a server or a scanner: their families are left out. */
	assert_int_equal(families, 19);
	assert_int_equal(text[strlen(text) - 1], '\n');
	free(text);
}

static void doors_faults_and_alarms_are_told_per_locker(void **state)
{
	struct metrics_snapshot s = snapshot();
	char *text = metrics_render(&s);

	assert_line(text, "lokerbuku_door_open{locker=\"1\"} 0");
	assert_line(text, "lokerbuku_door_open{locker=\"2\"} 1");
	assert_line(text,
		    "lokerbuku_locker_state{locker=\"2\",state=\"open\"} 1");
	assert_line(text,
		    "lokerbuku_locker_state{locker=\"2\",state=\"closed\"} 0");
	assert_line(text,
		    "lokerbuku_locker_state{locker=\"1\",state=\"closed\"} 1");
	assert_line(
		text,
		"lokerbuku_locker_fault{locker=\"3\",fault=\"not_opened\"} 1");
	assert_line(
		text,
		"lokerbuku_locker_fault{locker=\"3\",fault=\"interrupted\"} 0");
	assert_line(
		text,
		"lokerbuku_locker_fault{locker=\"1\",fault=\"not_opened\"} 0");
	assert_line(text,
		    "lokerbuku_door_alarm{locker=\"2\",alarm=\"left_open\"} 1");
	assert_line(
		text,
		"lokerbuku_door_alarm{locker=\"2\",alarm=\"forced_open\"} 0");
	assert_line(text, "lokerbuku_locker_disabled{locker=\"3\"} 1");
	assert_line(text, "lokerbuku_locker_occupied{locker=\"2\"} 1");
	assert_line(text, "lokerbuku_locker_occupied{locker=\"1\"} 0");
	/* Four states and two faults a locker, whatever it is in. */
	assert_int_equal(count_of(text, "lokerbuku_locker_state{"), 3 * 4);
	assert_int_equal(count_of(text, "lokerbuku_locker_fault{"), 3 * 2);
	free(text);
}

static void counters_backlog_and_times_are_given_in_base_units(void **state)
{
	struct metrics_snapshot s = snapshot();
	char *text = metrics_render(&s);

	assert_line(text, "lokerbuku_taps_total{credential=\"uid\"} 5");
	assert_line(text, "lokerbuku_taps_total{credential=\"code\"} 2");
	assert_line(text, "lokerbuku_taps_total{credential=\"card\"} 0");
	assert_line(text, "lokerbuku_refusals_total{reason=\"wrong_pin\"} 3");
	assert_line(text, "lokerbuku_pickups_total 2");
	assert_line(text, "lokerbuku_unlocks_total 4");
	assert_line(text, "lokerbuku_events_total{type=\"hold_picked_up\"} 2");
	assert_line(text, "lokerbuku_events_total{type=\"command_done\"} 0");
	assert_line(text, "lokerbuku_outbox_unsent_events 7");
	assert_line(text,
		    "lokerbuku_outbox_oldest_unsent_age_seconds 59.500000");
	assert_line(text, "lokerbuku_start_time_seconds 1799999000.000000");
	assert_line(text, "lokerbuku_uptime_seconds 1000.250000");
	assert_line(text, "lokerbuku_in_service 1");
	assert_line(text, "lokerbuku_reader_up 1");
	assert_line(text, "lokerbuku_lockbank_up 1");
	assert_line(
		text,
		"lokerbuku_build_info{version=\"1.2.3\",kiosk=\"perpus-01\"} 1");
	free(text);
}

static void an_empty_outbox_has_no_age(void **state)
{
	struct metrics_snapshot s = snapshot();
	char *text;

	s.outbox_unsent = 0;
	s.oldest_unsent_at_usec = 0;
	text = metrics_render(&s);
	assert_line(text,
		    "lokerbuku_outbox_oldest_unsent_age_seconds 0.000000");
	free(text);

	/* A clock set back since the event: no negative age. */
	s.outbox_unsent = 1;
	s.oldest_unsent_at_usec = s.now_usec + 5000000;
	text = metrics_render(&s);
	assert_line(text,
		    "lokerbuku_outbox_oldest_unsent_age_seconds 0.000000");
	free(text);
}

static void sync_and_scanner_appear_only_when_configured(void **state)
{
	struct metrics_snapshot s = snapshot();
	char *text = metrics_render(&s);

	assert_null(strstr(text, "lokerbuku_sync_"));
	assert_null(strstr(text, "lokerbuku_scanner_up"));
	free(text);

	s.has_sync = true;
	s.sync_up = true;
	s.sync_last_ok_usec = 1799999990000000;
	s.sync_last_request_usec = 123456;
	s.sync_requests = 10;
	s.sync_failures = 1;
	s.sync_rejected_events = 3;
	s.has_scanner = true;
	text = metrics_render(&s);
	assert_line(text, "lokerbuku_sync_up 1");
	assert_line(text, "lokerbuku_sync_last_success_timestamp_seconds "
			  "1799999990.000000");
	assert_line(text,
		    "lokerbuku_sync_last_request_duration_seconds 0.123456");
	assert_line(text, "lokerbuku_sync_requests_total 10");
	assert_line(text, "lokerbuku_sync_failures_total 1");
	assert_line(text, "lokerbuku_sync_rejected_events_total 3");
	assert_line(text, "lokerbuku_scanner_up 0");
	free(text);
}

static void label_values_are_escaped(void **state)
{
	struct metrics_snapshot s = snapshot();
	char *text;

	s.kiosk_id = "a\"b\\c\nd";
	text = metrics_render(&s);
	assert_line(
		text,
		"lokerbuku_build_info{version=\"1.2.3\",kiosk=\"a\\\"b\\\\c\\nd\"} 1");
	free(text);
}

static void a_request_without_the_token_learns_nothing(void **state)
{
	const char *auth = "Bearer " TOKEN;

	assert_int_equal(
		metrics_request_decide("GET", "/metrics", NULL, false, TOKEN),
		401);
	assert_int_equal(metrics_request_decide("GET", "/metrics",
						"Bearer 0123", false, TOKEN),
			 401);
	assert_int_equal(metrics_request_decide("GET", "/metrics",
						"Bearer " TOKEN "x", false,
						TOKEN),
			 401);
	assert_int_equal(metrics_request_decide("GET", "/metrics",
						"Basic " TOKEN, false, TOKEN),
			 401);
	/* Not even whether the path exists. */
	assert_int_equal(
		metrics_request_decide("GET", "/secret", NULL, false, TOKEN),
		401);
	assert_int_equal(
		metrics_request_decide("GET", "/metrics", auth, false, TOKEN),
		200);
	assert_int_equal(metrics_request_decide("GET", "/metrics",
						"bearer  " TOKEN, false, TOKEN),
			 200);
	assert_int_equal(
		metrics_request_decide("GET", "/secret", auth, false, TOKEN),
		404);
}

static void only_a_get_of_metrics_without_a_body_is_answered(void **state)
{
	assert_int_equal(
		metrics_request_decide("GET", "/metrics", NULL, false, NULL),
		200);
	assert_int_equal(
		metrics_request_decide("HEAD", "/metrics", NULL, false, NULL),
		200);
	assert_int_equal(
		metrics_request_decide("GET", "/metrics/", NULL, false, NULL),
		404);
	assert_int_equal(metrics_request_decide("GET", "/", NULL, false, NULL),
			 404);
	assert_int_equal(
		metrics_request_decide("POST", "/metrics", NULL, false, NULL),
		405);
	assert_int_equal(
		metrics_request_decide("GET", "/metrics", NULL, true, NULL),
		413);
}

static void tokens_match_only_when_equal(void **state)
{
	assert_true(metrics_token_matches(TOKEN, TOKEN));
	assert_false(metrics_token_matches("", TOKEN));
	assert_false(metrics_token_matches("0123456789abcdef", TOKEN));
	assert_false(metrics_token_matches(TOKEN "0", TOKEN));
	assert_false(metrics_token_matches("1123456789abcdef0123456789abcdef",
					   TOKEN));
	assert_false(metrics_token_matches("0123456789abcdef0123456789abcdeF",
					   TOKEN));
}

static void credentials_and_refusals_are_named_by_kind(void **state)
{
	assert_int_equal(metrics_credential_of("uid:04A1B2C3"),
			 METRICS_CREDENTIAL_UID);
	assert_int_equal(metrics_credential_of("card:M-9"),
			 METRICS_CREDENTIAL_CARD);
	assert_int_equal(metrics_credential_of("code:482913"),
			 METRICS_CREDENTIAL_CODE);
	assert_int_equal(metrics_credential_of("04A1"),
			 METRICS_CREDENTIAL_OTHER);
	assert_int_equal(metrics_refusal_of(KIOSK_SCREEN_WRONG_PIN),
			 METRICS_REFUSAL_WRONG_PIN);
	assert_int_equal(metrics_refusal_of(KIOSK_SCREEN_UNKNOWN_CARD),
			 METRICS_REFUSAL_UNKNOWN_CARD);
	assert_int_equal(metrics_refusal_of(KIOSK_SCREEN_LOCKERS_OPEN), -1);
	assert_int_equal(metrics_refusal_of(KIOSK_SCREEN_IDLE), -1);
}

static void refuses_to_listen_beyond_loopback_without_a_token(void **state)
{
	static const struct metrics_ops ops = { 0 };
	struct metrics_config c = { .address = "0.0.0.0", .port = 0 };
	struct metrics *m;
	sd_event *event;

	assert_int_equal(sd_event_new(&event), 0);
	errno = 0;
	assert_null(metrics_new(event, &c, &ops, NULL));
	assert_int_equal(errno, EPERM);
	c.address = "127.0.0.1";
	m = metrics_new(event, &c, &ops, NULL);
	assert_non_null(m);
	assert_true(metrics_get_port(m) > 0);
	metrics_free(m);
	sd_event_unref(event);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_family_has_one_help_and_one_type_line),
		cmocka_unit_test(doors_faults_and_alarms_are_told_per_locker),
		cmocka_unit_test(
			counters_backlog_and_times_are_given_in_base_units),
		cmocka_unit_test(an_empty_outbox_has_no_age),
		cmocka_unit_test(sync_and_scanner_appear_only_when_configured),
		cmocka_unit_test(label_values_are_escaped),
		cmocka_unit_test(a_request_without_the_token_learns_nothing),
		cmocka_unit_test(
			only_a_get_of_metrics_without_a_body_is_answered),
		cmocka_unit_test(tokens_match_only_when_equal),
		cmocka_unit_test(credentials_and_refusals_are_named_by_kind),
		cmocka_unit_test(
			refuses_to_listen_beyond_loopback_without_a_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
