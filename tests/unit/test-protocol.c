// SPDX-License-Identifier: GPL-2.0-or-later
/* Locker Sync API v1 replies: what is taken, and what is refused, and why. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol.h"

#define HMAC_A \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HMAC_B \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define PIN "pbkdf2-sha256$10000$00112233445566778899aabbccddeeff$abcd"

/* A hold as a server would send it. */
static json_t *good_hold(void)
{
	return json_pack("{s:s, s:s, s:s, s:[s, s], s:s, s:s,"
			 " s:[{s:s, s:s, s:s}, {s:s}], s:s, s:s}",
			 "id", "SLiMS-4711", "size", "medium", "patron_name",
			 "Siti", "credentials", HMAC_A, HMAC_B, "code", HMAC_B,
			 "pin", PIN, "items", "barcode", "B00012", "title",
			 "Bumi Manusia", "due", "2026-12-13", "barcode",
			 "B00013", "expires_at", "2026-11-29T17:00:00.250Z",
			 "future_field", "ignored");
}

/* {"cursor": "s:1", "holds": [hold]} with hold changed as asked. */
static json_t *reply_with(json_t *hold)
{
	return json_pack("{s:s, s:b, s:b, s:[o]}", "cursor", "s:1", "more", 0,
			 "full", 0, "holds", hold);
}

static int parse_json(json_t *reply, struct protocol_changes *c, char *error)
{
	char *text = json_dumps(reply, 0);
	int err;

	assert_non_null(text);
	err = protocol_parse_changes(text, strlen(text), c, error);
	free(text);
	json_decref(reply);
	return err;
}

static void a_whole_reply_is_taken(void **state)
{
	struct protocol_changes c;
	char error[PROTOCOL_ERROR_MAX] = "";
	json_t *hold = good_hold(), *r;

	/* v1.1: where the server has it loaded; a patron who needs a low locker. */
	json_object_set_new(hold, "locker", json_integer(3));
	json_object_set_new(hold, "reach", json_string("low"));
	r = reply_with(hold);
	json_object_set_new(r, "more", json_true());
	json_object_set_new(r, "full", json_false());
	json_object_set_new(r, "removed_holds", json_pack("[s]", "SLiMS-4702"));
	json_object_set_new(r, "staff",
			    json_pack("[{s:s, s:s, s:s}]", "credential", HMAC_B,
				      "pin", PIN, "role", "admin"));
	json_object_set_new(r, "removed_staff",
			    json_pack("[s, s]", HMAC_A, HMAC_B));
	json_object_set_new(r, "settings",
			    json_pack("{s:b}", "pin_required", 1));
	assert_int_equal(parse_json(r, &c, error), 0);
	assert_string_equal(c.cursor, "s:1");
	assert_true(c.more);
	assert_false(c.full);
	assert_int_equal(c.n_holds, 1);
	assert_string_equal(c.holds[0].hold.id, "SLiMS-4711");
	assert_int_equal(c.holds[0].hold.state, KIOSK_HOLD_STATE_PENDING);
	assert_int_equal(c.holds[0].hold.locker, 0);
	assert_int_equal(c.hold_lockers[0], 3);
	assert_int_equal(c.holds[0].hold.size, KIOSK_SIZE_MEDIUM);
	assert_string_equal(c.holds[0].hold.patron_name, "Siti");
	assert_int_equal(c.holds[0].hold.n_credentials, 2);
	assert_string_equal(c.holds[0].hold.credential_hmacs[1], HMAC_B);
	assert_string_equal(c.holds[0].hold.code_hmac, HMAC_B);
	assert_string_equal(c.holds[0].hold.pin_hash, PIN);
	assert_true(c.holds[0].hold.needs_low);
	/* 2026-11-29T17:00:00Z; the fraction is dropped. */
	assert_int_equal(c.holds[0].hold.expires_at_usec,
			 1795971600LL * 1000000);
	assert_int_equal(c.holds[0].n_items, 2);
	assert_string_equal(c.holds[0].items[0].title, "Bumi Manusia");
	assert_string_equal(c.holds[0].items[1].barcode, "B00013");
	assert_string_equal(c.holds[0].items[1].title, "");
	assert_string_equal(c.holds[0].items[0].due, "2026-12-13");
	assert_string_equal(c.holds[0].items[1].due, "");
	assert_int_equal(c.n_removed_holds, 1);
	assert_string_equal(c.removed_holds[0], "SLiMS-4702");
	assert_int_equal(c.n_staff, 1);
	assert_int_equal(c.staff[0].role, KIOSK_STAFF_ROLE_ADMIN);
	assert_string_equal(c.staff[0].pin_hash, PIN);
	assert_int_equal(c.n_removed_staff, 2);
	assert_string_equal(c.removed_staff[1], HMAC_B);
	assert_true(c.has_pin_required && c.pin_required);
	protocol_changes_clear(&c);
}

static void a_cursor_with_more_and_full_is_an_empty_change(void **state)
{
	struct protocol_changes c;
	char error[PROTOCOL_ERROR_MAX];
	static const char body[] = "{\"cursor\": \"c1\", \"more\": false,"
				   " \"full\": false, \"holds\": null}";
	static const char no_more[] = "{\"cursor\": \"c1\", \"full\": true}";
	static const char no_full[] = "{\"cursor\": \"c1\", \"more\": true}";

	/* Without them a last page and a full set cannot be told apart. */
	assert_int_equal(
		protocol_parse_changes(no_more, strlen(no_more), &c, error),
		-EINVAL);
	assert_string_equal(error, "more: missing");
	assert_int_equal(
		protocol_parse_changes(no_full, strlen(no_full), &c, error),
		-EINVAL);
	assert_string_equal(error, "full: missing");

	assert_int_equal(protocol_parse_changes(body, strlen(body), &c, error),
			 0);
	assert_string_equal(c.cursor, "c1");
	assert_false(c.more || c.full || c.has_pin_required);
	assert_int_equal(c.n_holds + c.n_removed_holds + c.n_staff +
				 c.n_removed_staff,
			 0);
	protocol_changes_clear(&c);
}

struct bad_hold {
	const char *key;
	json_t *value; /* NULL: the key is removed */
	const char *expect;
};

static void bad_holds_are_refused_naming_the_field(void **state)
{
	const struct bad_hold cases[] = {
		{ "id", json_string("SLiMS 4711"),
		  "holds[0].id: not 1 to 63 printable ASCII characters" },
		{ "id", NULL, "holds[0].id: missing" },
		{ "id", json_integer(4711), "holds[0].id: not a string" },
		{ "size", json_string("huge"),
		  "holds[0].size: not small, medium or large" },
		{ "patron_name", json_string("Siti\nNurbaya"),
		  "holds[0].patron_name: over 47 bytes or has control codes" },
		{ "credentials", json_pack("[s]", "AAAA"),
		  "holds[0].credentials: entry 0 is not 64 lower-case hex digits" },
		{ "credentials", json_array(),
		  "holds[0].credentials: not an array of 1 to 4 HMACs" },
		{ "credentials",
		  json_pack("[s, s, s, s, s]", HMAC_A, HMAC_A, HMAC_A, HMAC_A,
			    HMAC_A),
		  "holds[0].credentials: not an array of 1 to 4 HMACs" },
		{ "code", json_string("482913"),
		  "holds[0].code: not 64 lower-case hex digits" },
		{ "pin", json_string("1234"),
		  "holds[0].pin: not a pbkdf2-sha256 PIN hash" },
		{ "items",
		  json_pack("[{s:s}, {s:s}]", "barcode", "B1", "title",
			    "no barcode"),
		  "holds[0].items[1].barcode: missing" },
		{ "items",
		  json_pack("[{s:s, s:s}]", "barcode", "B1", "title", "a\tb"),
		  "holds[0].items[0].title: over 255 bytes or has control codes" },
		{ "items", json_array(),
		  "holds[0].items: not an array of 1 to 16 items" },
		{ "items",
		  json_pack("[{s:s, s:s}]", "barcode", "B1", "due",
			    "2026-02-30"),
		  "holds[0].items[0].due: not a date like 2026-12-20" },
		{ "items",
		  json_pack("[{s:s, s:s}]", "barcode", "B1", "due",
			    "2026-12-13T00:00:00Z"),
		  "holds[0].items[0].due: not a date like 2026-12-20" },
		{ "items",
		  json_pack("[{s:s, s:s}]", "barcode", "B1", "due",
			    "13/12/2026"),
		  "holds[0].items[0].due: not a date like 2026-12-20" },
		{ "reach", json_string("high"), "holds[0].reach: not low" },
		{ "expires_at", json_string("2026-02-30T00:00:00Z"),
		  "holds[0].expires_at: not a time like" },
		{ "expires_at", json_string("2026-11-29T17:00:00+07:00"),
		  "holds[0].expires_at: not a time like" },
		{ "locker", json_integer(0),
		  "holds[0].locker: not a number 1..128" },
		{ "locker", json_string("3"),
		  "holds[0].locker: not a number 1..128" },
	};
	char error[PROTOCOL_ERROR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct protocol_changes c;
		json_t *hold = good_hold();

		if (cases[i].value)
			json_object_set_new(hold, cases[i].key, cases[i].value);
		else
			json_object_del(hold, cases[i].key);
		error[0] = '\0';
		assert_int_equal(parse_json(reply_with(hold), &c, error),
				 -EINVAL);
		if (!strstr(error, cases[i].expect))
			fail_msg("case %zu: '%s' lacks '%s'", i, error,
				 cases[i].expect);
		/* Nothing is left to free after a refusal. */
		assert_null(c.holds);
	}
}

static void bad_replies_are_refused_naming_the_field(void **state)
{
	static const struct {
		const char *body, *expect;
	} cases[] = {
		{ "", "reply: not JSON" },
		{ "{\"cursor\": \"a\", \"cursor\": \"b\"}", "reply: not JSON" },
		{ "[]", "reply: not a JSON object" },
		{ "{}", "cursor: missing" },
		{ "{\"cursor\": \"\"}", "cursor: not 1 to 255" },
		{ "{\"cursor\": \"c\", \"more\": \"yes\"}",
		  "more: not true or false" },
		{ "{\"cursor\": \"c\", \"more\": false, \"full\": false, \"holds\": {}}",
		  "holds: not an array" },
		{ "{\"cursor\": \"c\", \"more\": false, \"full\": false, \"holds\": [7]}",
		  "holds[0]: not an object" },
		{ "{\"cursor\": \"c\", \"more\": false, \"full\": false, \"removed_holds\": [\"ok\", 7]}",
		  "removed_holds[1]: not a string" },
		{ "{\"cursor\": \"c\", \"more\": false, \"full\": false, \"removed_staff\": [\"" HMAC_A
		  "\", \"xyz\"]}",
		  "removed_staff[1]: not 64 lower-case hex digits" },
		{ "{\"cursor\": \"c\", \"more\": false, \"full\": false, \"staff\": [{\"credential\": \"" HMAC_A
		  "\", \"pin\": \"" PIN "\", \"role\": \"boss\"}]}",
		  "staff[0].role: not staff or admin" },
		{ "{\"cursor\": \"c\", \"more\": false, \"full\": false, \"staff\": [{\"credential\": \"" HMAC_A
		  "\"}]}",
		  "staff[0].pin: missing" },
		{ "{\"cursor\": \"c\", \"more\": false, \"full\": false, \"settings\": []}",
		  "settings: not an object" },
	};
	char error[PROTOCOL_ERROR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct protocol_changes c;

		assert_int_equal(protocol_parse_changes(cases[i].body,
							strlen(cases[i].body),
							&c, error),
				 -EINVAL);
		if (!strstr(error, cases[i].expect))
			fail_msg("case %zu: '%s' lacks '%s'", i, error,
				 cases[i].expect);
	}
}

static void replies_past_the_limits_are_refused(void **state)
{
	struct protocol_changes c;
	char error[PROTOCOL_ERROR_MAX];
	json_t *holds = json_array();
	char *big;

	for (int i = 0; i <= PROTOCOL_HOLDS_MAX; i++)
		json_array_append_new(holds, json_object());
	assert_int_equal(parse_json(json_pack("{s:s, s:o}", "cursor", "c",
					      "holds", holds),
				    &c, error),
			 -EMSGSIZE);
	assert_non_null(strstr(error, "holds: more than 1000 entries"));

	/* Refused by its size alone, before it is read. */
	big = malloc(PROTOCOL_REPLY_MAX + 1);
	assert_non_null(big);
	memset(big, ' ', PROTOCOL_REPLY_MAX + 1);
	assert_int_equal(
		protocol_parse_changes(big, PROTOCOL_REPLY_MAX + 1, &c, error),
		-EMSGSIZE);
	free(big);
}

static void times_are_rfc3339_utc_only(void **state)
{
	int64_t t = -1;

	assert_int_equal(protocol_parse_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(protocol_parse_time("2024-02-29T23:59:59.999999Z", &t),
			 0);
	assert_int_equal(t, 1709251199LL * 1000000);
	static const char *const bad[] = {
		"2023-02-29T00:00:00Z",	 "2026-11-22T24:00:00Z",
		"2026-11-22T08:15:00",	 "2026-11-22 08:15:00Z",
		"2026-11-22T08:15:00.Z", "2026-11-22T08:15:00Zjunk",
		"26-11-22T08:15:00Z",	 "1969-12-31T23:59:59Z",
		"2026-13-01T00:00:00Z",	 "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (protocol_parse_time(bad[i], &t) != -EINVAL)
			fail_msg("'%s' was taken", bad[i]);
}

#define UUID_1 "0575dcb5-bf91-4f6b-b173-b826ead87c20"
#define UUID_2 "4c0bad72-f471-4b54-b986-afa3e91e01b1"

static void event_results_are_read(void **state)
{
	static const char body[] =
		"{\"results\": [{\"id\": \"" UUID_1
		"\", \"status\": \"accepted\"},"
		" {\"id\": \"" UUID_2 "\", \"status\": \"rejected\","
		" \"reason\": \"unknown_hold\", \"later\": 1}]}";
	struct protocol_event_result *r;
	char error[PROTOCOL_ERROR_MAX];
	unsigned n;

	assert_int_equal(
		protocol_parse_event_results(body, strlen(body), &r, &n, error),
		0);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].id, UUID_1);
	assert_int_equal(r[0].status, PROTOCOL_EVENT_ACCEPTED);
	assert_int_equal(r[1].status, PROTOCOL_EVENT_REJECTED);
	assert_string_equal(r[1].reason, "unknown_hold");
	free(r);
}

/* v1.1: the library system's refusal of an accepted event. */
static void refusals_are_read(void **state)
{
	static const char body[] =
		"{\"results\": [{\"id\": \"" UUID_1
		"\", \"status\": \"accepted\", \"refused\": {\"code\":"
		" \"loan_limit\", \"text\": \"Batas pinjam tercapai\"}},"
		" {\"id\": \"" UUID_2 "\", \"status\": \"accepted\","
		" \"refused\": {\"code\": \"member_expired\"}}]}";
	struct protocol_event_result *r;
	char error[PROTOCOL_ERROR_MAX];
	unsigned n;

	assert_int_equal(
		protocol_parse_event_results(body, strlen(body), &r, &n, error),
		0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].status, PROTOCOL_EVENT_ACCEPTED);
	assert_string_equal(r[0].refused_code, "loan_limit");
	assert_string_equal(r[0].refused_text, "Batas pinjam tercapai");
	assert_string_equal(r[1].refused_code, "member_expired");
	assert_string_equal(r[1].refused_text, "");
	free(r);
}

static void bad_event_results_are_refused(void **state)
{
	static const struct {
		const char *body, *expect;
	} cases[] = {
		{ "{}", "results: missing or not an array" },
		{ "{\"results\": [{\"id\": \"" UUID_1
		  "\", \"status\": \"ok\"}]}",
		  "results[0].status: not accepted, duplicate or rejected" },
		{ "{\"results\": [{\"id\": \"0575DCB5-BF91-4F6B-B173-B826EAD87C20\","
		  " \"status\": \"accepted\"}]}",
		  "results[0].id: not a lower-case UUID" },
		{ "{\"results\": [{\"status\": \"accepted\"}]}",
		  "results[0].id: missing" },
		{ "{\"results\": [{\"id\": \"" UUID_1
		  "\", \"status\": \"accepted\", \"refused\": \"loan_limit\"}]}",
		  "results[0].refused: not an object" },
		{ "{\"results\": [{\"id\": \"" UUID_1
		  "\", \"status\": \"accepted\", \"refused\": {\"text\": \"x\"}}]}",
		  "results[0].refused.code: missing" },
		{ "{\"results\": [{\"id\": \"" UUID_1
		  "\", \"status\": \"accepted\", \"refused\": {\"code\": \"Loan Limit\"}}]}",
		  "results[0].refused.code: not 1 to 63 characters a-z 0-9 _" },
		{ "{\"results\": [{\"id\": \"" UUID_1
		  "\", \"status\": \"accepted\", \"refused\": {\"code\": \"x\","
		  " \"text\": \"a\\nb\"}}]}",
		  "results[0].refused.text: over 127 bytes or has control codes" },
	};
	struct protocol_event_result *r = (void *)1;
	char error[PROTOCOL_ERROR_MAX];
	unsigned n = 7;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(protocol_parse_event_results(
					 cases[i].body, strlen(cases[i].body),
					 &r, &n, error),
				 -EINVAL);
		assert_null(r);
		assert_int_equal(n, 0);
		if (!strstr(error, cases[i].expect))
			fail_msg("case %zu: '%s' lacks '%s'", i, error,
				 cases[i].expect);
	}
}

static void a_status_reply_carries_commands(void **state)
{
	static const char body[] =
		"{\"server_time\": \"2026-11-22T08:16:00Z\", \"next_status_s\": 30,"
		" \"commands\": ["
		"{\"id\": \"c-1\", \"type\": \"open_locker\", \"locker\": 4,"
		" \"reason\": \"stuck door\", \"by\": \"ani.s@perpus\"},"
		"{\"id\": \"c-2\", \"type\": \"unload_hold\", \"hold_id\": \"H-9\"},"
		"{\"id\": \"c-3\", \"type\": \"sync_now\"},"
		"{\"id\": \"c-4\", \"type\": \"reboot_into_v2\"},"
		"{\"id\": \"c-5\", \"type\": \"resend_events\","
		" \"from_seq\": 1841}]}";
	struct protocol_status_reply r;
	char error[PROTOCOL_ERROR_MAX];

	assert_int_equal(
		protocol_parse_status_reply(body, strlen(body), &r, error), 0);
	assert_int_equal(r.server_time_usec, 1795335360LL * 1000000);
	assert_int_equal(r.next_status_s, 30);
	assert_int_equal(r.n_commands, 5);
	assert_int_equal(r.commands[0].type, PROTOCOL_COMMAND_OPEN_LOCKER);
	assert_int_equal(r.commands[0].locker, 4);
	assert_string_equal(r.commands[0].reason, "stuck door");
	assert_string_equal(r.commands[0].by, "ani.s@perpus");
	assert_int_equal(r.commands[1].type, PROTOCOL_COMMAND_UNLOAD_HOLD);
	assert_string_equal(r.commands[1].by, "");
	assert_string_equal(r.commands[1].hold_id, "H-9");
	assert_int_equal(r.commands[2].type, PROTOCOL_COMMAND_SYNC_NOW);
	/* A command of a newer server: kept, to be acknowledged, not run. */
	assert_int_equal(r.commands[3].type, PROTOCOL_COMMAND_UNKNOWN);
	assert_string_equal(r.commands[3].id, "c-4");
	assert_int_equal(r.commands[4].type, PROTOCOL_COMMAND_RESEND_EVENTS);
	assert_int_equal(r.commands[4].from_seq, 1841);
}

static void bad_status_replies_are_refused(void **state)
{
	static const struct {
		const char *body, *expect;
	} cases[] = {
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"next_status_s\": 1}",
		  "next_status_s: not a number 10..3600" },
		{ "{}", "server_time: missing" },
		{ "{\"server_time\": \"yesterday\"}",
		  "server_time: not a time" },
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"commands\": [{\"id\": \"c\", \"type\": \"open_locker\"}]}",
		  "commands[0].locker: not a number 1..128" },
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"commands\": [{\"id\": \"c\", \"type\": \"open_locker\","
		  " \"locker\": 129}]}",
		  "commands[0].locker: not a number 1..128" },
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"commands\": [{\"id\": \"c\", \"type\": \"unload_hold\"}]}",
		  "commands[0].hold_id: missing" },
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"commands\": [{\"id\": \"c\", \"type\": \"resend_events\"}]}",
		  "commands[0].from_seq: not a number 1 or more" },
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"commands\": [{\"id\": \"c\", \"type\": \"resend_events\","
		  " \"from_seq\": 0}]}",
		  "commands[0].from_seq: not a number 1 or more" },
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"commands\": [{\"type\": \"sync_now\"}]}",
		  "commands[0].id: missing" },
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"commands\": [{\"id\": \"c\"}]}",
		  "commands[0].type: missing or not a string" },
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"commands\": {}}",
		  "commands: not an array" },
		{ "{\"server_time\": \"2026-11-22T08:16:00Z\", \"commands\": [{\"id\": \"c\", \"type\": \"sync_now\","
		  " \"by\": \"ani s\"}]}",
		  "commands[0].by: not 1 to 48 printable ASCII characters" },
	};
	struct protocol_status_reply r;
	char error[PROTOCOL_ERROR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(protocol_parse_status_reply(
					 cases[i].body, strlen(cases[i].body),
					 &r, error),
				 -EINVAL);
		assert_int_equal(r.n_commands, 0);
		if (!strstr(error, cases[i].expect))
			fail_msg("case %zu: '%s' lacks '%s'", i, error,
				 cases[i].expect);
	}
}

static void an_item_lookup_reply_is_one_hold(void **state)
{
	json_t *reply = json_pack("{s:o}", "hold", good_hold());
	char *text = json_dumps(reply, 0);
	char error[PROTOCOL_ERROR_MAX];
	struct store_hold h;

	assert_int_equal(
		protocol_parse_item_reply(text, strlen(text), &h, error), 0);
	assert_string_equal(h.hold.id, "SLiMS-4711");
	assert_int_equal(h.hold.state, KIOSK_HOLD_STATE_PENDING);
	assert_int_equal(h.n_items, 2);
	free(text);
	json_decref(reply);

	memset(&h, 0x5a, sizeof(h));
	assert_int_equal(
		protocol_parse_item_reply("{\"hold\": null}", 14, &h, error),
		-EINVAL);
	assert_non_null(strstr(error, "hold: not an object"));
	/* Refused: untouched. */
	assert_int_equal(h.hold.id[0], 0x5a);
	assert_int_equal(protocol_parse_item_reply("{}", 2, &h, error),
			 -EINVAL);
}

static void an_error_body_gives_its_code_and_message(void **state)
{
	static const char good[] = "{\"error\": {\"code\": \"rate_limited\","
				   " \"message\": \"too many requests\"}}";
	char code[PROTOCOL_ERROR_CODE_MAX + 1] = "x",
					    message[PROTOCOL_REASON_MAX + 1] =
						    "y";
	static const char *const bad[] = {
		"<html>502 Bad Gateway</html>",
		"{\"error\": \"rate_limited\"}",
		"{\"error\": {\"message\": \"no code\"}}",
		"{\"error\": {\"code\": \"two words\"}}",
		/* A message with control codes would forge log lines. */
		"{\"error\": {\"code\": \"x\", \"message\": \"a\\nb\"}}",
	};

	assert_int_equal(
		protocol_parse_error(good, strlen(good), code, message), 0);
	assert_string_equal(code, "rate_limited");
	assert_string_equal(message, "too many requests");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(code, "x");
		if (protocol_parse_error(bad[i], strlen(bad[i]), code,
					 message) == 0)
			fail_msg("case %zu taken: %s", i, bad[i]);
		assert_string_equal(code, "x");
	}
}

static void events_are_uploaded_as_the_api_says(void **state)
{
	const struct store_event e[] = {
		{ .seq = 7,
		  .uuid = UUID_1,
		  .type = "hold_picked_up",
		  .at_usec = 1795335302123456LL,
		  .payload = "{\"hold_id\": \"H-1\", \"locker\": 3}" },
		{ .seq = 9,
		  .uuid = UUID_2,
		  .type = "door_closed",
		  .at_usec = 0,
		  .payload = "{}" },
	};
	const struct store_event bad = {
		.seq = 10, .uuid = UUID_2, .type = "x", .payload = "[1]"
	};
	json_t *events = json_array(), *body, *first;
	char *text;
	int64_t t;

	for (size_t i = 0; i < 2; i++)
		assert_int_equal(protocol_add_event(events, &e[i]), 0);
	/* Not an object: the store never writes one, and it is not sent. */
	assert_int_equal(protocol_add_event(events, &bad), -EINVAL);
	text = protocol_events_body(events);
	assert_non_null(text);
	json_decref(events);
	body = json_loads(text, 0, NULL);
	free(text);
	assert_int_equal(json_array_size(json_object_get(body, "events")), 2);
	first = json_array_get(json_object_get(body, "events"), 0);
	assert_string_equal(json_string_value(json_object_get(first, "id")),
			    UUID_1);
	assert_int_equal(json_integer_value(json_object_get(first, "seq")), 7);
	assert_string_equal(json_string_value(json_object_get(first, "type")),
			    "hold_picked_up");
	assert_string_equal(json_string_value(json_object_get(first, "at")),
			    "2026-11-22T08:15:02.123Z");
	assert_int_equal(
		protocol_parse_time(
			json_string_value(json_object_get(first, "at")), &t),
		0);
	assert_int_equal(t, 1795335302LL * 1000000);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(first, "payload"), "locker")),
			 3);
	json_decref(body);
}

/* v1.1: a command's expires_at, read as a time; a bad one refuses it. */
static void a_command_may_expire(void **state)
{
	const char *ok =
		"{\"server_time\":\"2026-11-22T08:16:00Z\","
		"\"commands\":[{\"id\":\"c-1\",\"type\":\"open_locker\","
		"\"locker\":4,\"expires_at\":\"2026-11-22T08:15:00Z\"},"
		"{\"id\":\"c-2\",\"type\":\"sync_now\"}]}";
	const char *bad = "{\"server_time\":\"2026-11-22T08:16:00Z\","
			  "\"commands\":[{\"id\":\"c-1\",\"type\":\"sync_now\","
			  "\"expires_at\":\"tomorrow\"}]}";
	struct protocol_status_reply r;
	char error[PROTOCOL_ERROR_MAX];
	int64_t t;

	(void)state;
	assert_int_equal(protocol_parse_status_reply(ok, strlen(ok), &r, error),
			 0);
	assert_int_equal(r.n_commands, 2);
	assert_int_equal(protocol_parse_time("2026-11-22T08:15:00Z", &t), 0);
	assert_true(r.commands[0].expires_at_usec == t);
	assert_true(r.commands[0].expires_at_usec < r.server_time_usec);
	assert_true(r.commands[1].expires_at_usec == 0);
	assert_false(r.commands[0].expired); /* the sync module decides */
	assert_int_equal(
		protocol_parse_status_reply(bad, strlen(bad), &r, error),
		-EINVAL);
	assert_non_null(strstr(error, "expires_at"));
}

/* Lokerbuku-Sync: a server says 1.1 to get v1.1; anything else is v1. */
static void the_server_version_is_read_from_its_header(void **state)
{
	(void)state;
	assert_int_equal(protocol_minor_version("1.1"), 1);
	assert_int_equal(protocol_minor_version(" 1.1 "), 1);
	assert_int_equal(protocol_minor_version("1.2"), 2);
	assert_int_equal(protocol_minor_version(NULL), 0);
	assert_int_equal(protocol_minor_version(""), 0);
	assert_int_equal(protocol_minor_version("1"), 0);
	assert_int_equal(protocol_minor_version("1.0"), 0);
	assert_int_equal(protocol_minor_version("2.1"), 0);
	assert_int_equal(protocol_minor_version("1.1x"), 0);
	assert_int_equal(protocol_minor_version("1.-1"), 0);
	assert_int_equal(protocol_minor_version("1.99999999999999999999"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_whole_reply_is_taken),
		cmocka_unit_test(refusals_are_read),
		cmocka_unit_test(
			a_cursor_with_more_and_full_is_an_empty_change),
		cmocka_unit_test(bad_holds_are_refused_naming_the_field),
		cmocka_unit_test(bad_replies_are_refused_naming_the_field),
		cmocka_unit_test(replies_past_the_limits_are_refused),
		cmocka_unit_test(times_are_rfc3339_utc_only),
		cmocka_unit_test(event_results_are_read),
		cmocka_unit_test(bad_event_results_are_refused),
		cmocka_unit_test(a_status_reply_carries_commands),
		cmocka_unit_test(bad_status_replies_are_refused),
		cmocka_unit_test(events_are_uploaded_as_the_api_says),
		cmocka_unit_test(an_item_lookup_reply_is_one_hold),
		cmocka_unit_test(an_error_body_gives_its_code_and_message),
		cmocka_unit_test(the_server_version_is_read_from_its_header),
		cmocka_unit_test(a_command_may_expire),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
