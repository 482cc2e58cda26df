// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerhub's heartbeat read without jansson's tree, against jansson's. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api.h"
#include "db.h"

#define LOCKER                                                                \
	"{\"number\":%d,\"size\":\"small\",\"kind\":\"hold\",\"door\":"       \
	"\"closed\",\"hold\":%s,\"disabled\":false,\"returns\":0,\"faults\":" \
	"[{\"code\":\"x\"}]}"

/* A heartbeat as lokerd sends it, with n lockers; the caller frees. */
static char *heartbeat(int n, const char *backlog, const char *done)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	fprintf(f,
		"{\"at\":\"2026-12-06T08:00:00.000Z\",\"kiosk_id\":\"k1\","
		"\"version\":\"0.1.0\",\"uptime_s\":12,\"in_service\":true,"
		"\"backlog\":%s,\"reader\":{\"backend\":\"nfc\",\"ok\":true},"
		"\"scanner\":null,\"lockers\":[",
		backlog);
	for (int i = 1; i <= n; i++) {
		fputs(i > 1 ? ",\n " : "", f);
		fprintf(f, LOCKER, i, i % 2 ? "null" : "\"H-7\"");
	}
	fprintf(f,
		"],\"faults\":[],\"utc_offset_s\":-25200,"
		"\"done_commands\":%s}",
		done);
	assert_int_equal(fclose(f), 0);
	return text;
}

/* What api_status_skim() says a value reads as. */
static json_t *kept(json_t *v)
{
	if (json_is_null(v) || json_is_integer(v) || json_is_string(v))
		return json_incref(v);
	return json_true();
}

/* The same, made from jansson's tree of the whole. */
static json_t *skim_of(json_t *root)
{
	json_t *out = json_object(), *v, *l, *a;
	size_t i;

	assert_non_null(out);
	if ((v = json_object_get(root, "backlog")))
		json_object_set_new(out, "backlog", kept(v));
	if ((v = json_object_get(root, "done_commands"))) {
		a = json_is_array(v) ? json_array() : json_true();
		json_array_foreach(v, i, l)
		{
			if (i < 1000)
				json_array_append_new(a, kept(l));
		}
		json_object_set_new(out, "done_commands", a);
	}
	if ((v = json_object_get(root, "lockers"))) {
		a = json_is_array(v) ? json_array() : json_true();
		json_array_foreach(v, i, l)
		{
			json_t *o =
				json_is_object(l) ? json_object() : json_true();

			if (json_object_get(l, "number"))
				json_object_set_new(
					o, "number",
					kept(json_object_get(l, "number")));
			if (json_object_get(l, "hold"))
				json_object_set_new(
					o, "hold",
					kept(json_object_get(l, "hold")));
			json_array_append_new(a, o);
		}
		json_object_set_new(out, "lockers", a);
	}
	return out;
}

/*
 * The contract: what the skim takes jansson takes, and reads the same.
 * True when the skim took it.
 */
static bool skim_agrees(const char *body, size_t len)
{
	json_t *skim = api_status_skim(body, len), *full, *want;

	if (!skim)
		return false;
	full = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(full))
		fail_msg("the skim took what jansson refuses: %.*s", (int)len,
			 body);
	want = skim_of(full);
	if (!json_equal(skim, want)) {
		char *a = json_dumps(skim, 0), *b = json_dumps(want, 0);

		fail_msg("the skim read %s, jansson %s, of: %.*s", a, b,
			 (int)len, body);
	}
	json_decref(want);
	json_decref(full);
	json_decref(skim);
	return true;
}

static void skim_reads_a_heartbeat_as_jansson_does(void **state)
{
	static const char *const backlogs[] = { "0",	 "3",
						"-0",	 "null",
						"\"x\"", "true",
						"[1]",	 "999999999999999999" };
	static const char *const dones[] = { "[]", "[\"c-1\",\"c-22\"]",
					     "[\"c-1\",7,null,{\"a\":1}]", "{}",
					     "\"c-1\"" };
	char *hb;

	(void)state;
	for (size_t b = 0; b < sizeof(backlogs) / sizeof(*backlogs); b++)
		for (size_t d = 0; d < sizeof(dones) / sizeof(*dones); d++) {
			hb = heartbeat(12, backlogs[b], dones[d]);
			assert_true(skim_agrees(hb, strlen(hb)));
			free(hb);
		}
	/* Lockers that are not objects, or no array; what else is there. */
	hb = "{\"lockers\":[1,\"a\",[],{\"number\":1,\"hold\":{\"x\":[]}},{}]}";
	assert_true(skim_agrees(hb, strlen(hb)));
	hb = "{\"lockers\":{\"number\":1},\"backlog\":{}}";
	assert_true(skim_agrees(hb, strlen(hb)));
	hb = " \t\r\n{ \"lockers\" : [ ] , \"\" : \"\" }\n ";
	assert_true(skim_agrees(hb, strlen(hb)));
	hb = "{}";
	assert_true(skim_agrees(hb, strlen(hb)));
}

static void skim_reads_only_the_first_done_commands(void **state)
{
	char *text = NULL;
	size_t len;
	FILE *f = open_memstream(&text, &len);
	json_t *skim;

	(void)state;
	assert_non_null(f);
	fputs("{\"done_commands\":[", f);
	for (int i = 0; i < 1500; i++)
		fprintf(f, "%s\"c-%d\"", i ? "," : "", i);
	fputs("]}", f);
	assert_int_equal(fclose(f), 0);
	assert_true(skim_agrees(text, len));
	skim = api_status_skim(text, len);
	assert_int_equal(
		json_array_size(json_object_get(skim, "done_commands")), 1000);
	json_decref(skim);
	free(text);
}

/* What it cannot say it leaves to jansson, which takes some of it. */
static void skim_leaves_to_jansson_what_it_cannot_say(void **state)
{
	static const char *const bodies[] = {
		"{\"a\":\"\\u0041\"}",	/* an escape */
		"{\"a\":\"\xc3\xa9\"}", /* UTF-8 */
		"{\"a\":1.5}",
		"{\"a\":1e3}",
		"{\"a\":1234567890123456789}", /* 19 digits */
		"{\"a\":01}",
		"{\"a\":-}",
		"{\"a\":1,\"a\":2}", /* a duplicate key */
		"{\"lockers\":[{\"hold\":1,\"hold\":1}]}",
		"{\"x\":{\"y\":{\"a\":1,\"b\":2,\"a\":3}}}",
		"{\"a\":1} x",
		"{\"a\":1}{}",
		"{\"a\":\"\t\"}", /* a control character */
		"[1]",
		"",
		"   ",
		"{",
		"{\"a\":tru}",
		"{\"a\":truex}",
		"{\"a\":nul}",
		"{\"a\":1,}",
		"{\"a\":[1,]}",
		"{,}",
		"{\"a\" 1}",
		"{\"a\":1 \"b\":2}",
		"{'a':1}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", /* 20 deep */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(*bodies); i++)
		if (api_status_skim(bodies[i], strlen(bodies[i])))
			fail_msg("the skim took %s", bodies[i]);
	/* A NUL inside. */
	assert_null(api_status_skim("{\"a\":1}\0", 8));
	assert_null(api_status_skim("{\"a\":\"\0\"}", 9));
}

/* An object of n keys. */
static size_t keys(char *buf, size_t size, int n)
{
	size_t len = 1;

	buf[0] = '{';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s\"k%d\":%d",
					i ? "," : "", i, i);
	buf[len++] = '}';
	return len;
}

/* Duplicates are looked for among 64 keys an object; more are jansson's. */
static void skim_leaves_larger_objects_to_jansson(void **state)
{
	char buf[2048];

	(void)state;
	assert_true(skim_agrees(buf, keys(buf, sizeof(buf), 64)));
	assert_null(api_status_skim(buf, keys(buf, sizeof(buf), 65)));
}

/*
 * Every heartbeat one byte away from a real one (each byte changed to each
 * of the bytes that matter to JSON, removed, or one inserted): the skim
 * takes only what jansson takes, and reads it as jansson does.
 */
static void skim_takes_only_what_jansson_takes(void **state)
{
	static const char bytes[] =
		"{}[],:\"\\ \t\n0159-+.eEtrufalsn x\x7f\x80";
	char *hb = heartbeat(2, "0", "[\"c-1\"]"), buf[2048];
	size_t n = strlen(hb), took = 0, left = 0, len;

	(void)state;
	assert_true(n + 1 < sizeof(buf));
	for (size_t at = 0; at <= n; at++) {
		memcpy(buf, hb, at);
		if (at < n) { /* removed */
			memcpy(buf + at, hb + at + 1, n - at - 1);
			skim_agrees(buf, n - 1) ? took++ : left++;
		}
		for (size_t b = 0; b < sizeof(bytes) - 1; b++) {
			buf[at] = bytes[b];
			if (at < n) { /* changed */
				memcpy(buf + at + 1, hb + at + 1, n - at - 1);
				skim_agrees(buf, n) ? took++ : left++;
			}
			/* inserted */
			memcpy(buf + at + 1, hb + at, n - at);
			len = n + 1;
			skim_agrees(buf, len) ? took++ : left++;
		}
	}
	/* Both seen: neither a skim that takes nothing nor one that takes all. */
	assert_true(took > 1000);
	assert_true(left > 1000);
	free(hb);
}

/* ---- the heartbeat's handler, on a real database ---- */

struct fixture {
	char dir[64], path[96];
	sqlite3 *db;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/lokerbuku-hubapi.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/hub.db", f->dir);
	assert_int_equal(db_open(f->path, true, &f->db), 0);
	assert_int_equal(
		db_run(f->db,
		       "INSERT INTO kiosks (id, token_sha256, created_usec)"
		       " VALUES ('k1', 'x', 0)",
		       ""),
		0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	db_close(f->db);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static unsigned status(sqlite3 *db, const char *body)
{
	struct api_route route = { .endpoint = API_ENDPOINT_STATUS,
				   .kiosk_id = "k1",
				   .kiosk_minor = 1 };
	struct api_reply reply = { 0 };

	api_handle(db, &route, NULL, NULL, body, strlen(body), &reply);
	free(reply.body);
	return reply.status;
}

static char *text_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = db_query(db, sql, "");
	char *s;

	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	s = sqlite3_column_text(st, 0) ?
		    strdup((const char *)sqlite3_column_text(st, 0)) :
		    NULL;
	db_done(st);
	return s;
}

static void heartbeat_refused_or_taken_as_before(void **state)
{
	struct fixture *f = *state;
	char *hb = heartbeat(12, "0", "[\"c-1\",\"c-2\"]"), *kept, *seen;
	int64_t done = -1;

	assert_int_equal(
		db_run(f->db,
		       "INSERT INTO commands (kiosk_id, type, created_usec)"
		       " VALUES ('k1', 'reset', 0), ('k1', 'reset', 0),"
		       " ('k1', 'reset', 0)",
		       ""),
		0);
	assert_int_equal(status(f->db, hb), 200);
	kept = text_of(f->db, "SELECT status_json FROM kiosks");
	assert_string_equal(kept, hb);
	assert_int_equal(db_get_int(f->db, &done,
				    "SELECT count(*) FROM commands"
				    " WHERE done_usec IS NOT NULL",
				    ""),
			 0);
	assert_int_equal(done, 2);
	seen = text_of(f->db, "SELECT lockers_seen FROM kiosks");
	assert_non_null(seen);
	/* Refused as jansson refuses, and nothing kept of it. */
	assert_int_equal(status(f->db, "{\"backlog\":0,\"backlog\":1}"), 400);
	assert_int_equal(status(f->db, "{\"lockers\":[{\"hold\":1.5e999}]}"),
			 400);
	assert_int_equal(status(f->db, "{\"a\":\"\\u0000\"}"), 400);
	assert_int_equal(status(f->db, "[]"), 400);
	free(kept);
	kept = text_of(f->db, "SELECT status_json FROM kiosks");
	assert_string_equal(kept, hb);
	free(kept);
	free(hb);
	/*
	 * The same lockers said with an escape (jansson's to read): the
	 * same fingerprint, so the lockers were not compared again.
	 */
	hb = heartbeat(12, "0", "[]");
	memcpy(strstr(hb, "\"small\""), "\"\\/mal\"", 7); /* "/mal" */
	assert_null(api_status_skim(hb, strlen(hb)));
	assert_int_equal(status(f->db, hb), 200);
	kept = text_of(f->db, "SELECT lockers_seen FROM kiosks");
	assert_string_equal(kept, seen);
	free(kept);
	free(seen);
	free(hb);
}

/* An integer with its tag, as lockers_seen() hashes it: 8 bytes, LSB first. */
static void add_int(struct db_sha256 *h, char tag, int64_t n)
{
	unsigned char b[9] = { (unsigned char)tag };
	uint64_t u = (uint64_t)n;

	for (int i = 1; i < 9; i++, u >>= 8)
		b[i] = (unsigned char)(u & 0xff);
	db_sha256_add(h, b, sizeof(b));
}

static void sha256_in_pieces_is_sha256_of_the_whole(void **state)
{
	char text[700], whole[DB_SHA256_HEX_LEN + 1], pieces[sizeof(whole)];
	const size_t sizes[] = { 1, 7, 255, 256, 1, 179 }; /* 699 */
	struct db_sha256 *h = db_sha256_new();
	size_t at = 0;

	(void)state;
	assert_non_null(h);
	for (size_t i = 0; i < sizeof(text) - 1; i++)
		text[i] = (char)('a' + i % 26);
	text[sizeof(text) - 1] = '\0';
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		db_sha256_add(h, text + at, sizes[i]);
		at += sizes[i];
	}
	assert_int_equal(at, sizeof(text) - 1);
	assert_true(db_sha256_end_hex(h, pieces));
	db_sha256_free(h);
	db_sha256_hex(text, whole);
	assert_string_equal(pieces, whole);
	db_sha256_hex("abc", whole);
	assert_string_equal(whole, "ba7816bf8f01cfea414140de5dae2223"
				   "b00361a396177a9cb410ff61f20015ad");
}

static void
lockers_seen_hashes_values_and_compares_an_old_one_once(void **state)
{
	struct fixture *f = *state;
	char *hb = heartbeat(3, "0", "[]"), *seen, text[128];
	char want[DB_SHA256_HEX_LEN + 1], old[DB_SHA256_HEX_LEN + 1];
	struct db_sha256 *h;
	int64_t version = -1;

	assert_int_equal(status(f->db, hb), 200);
	assert_int_equal(db_get_int(f->db, &version,
				    "SELECT holds_version FROM kiosks", ""),
			 0);
	/* The holds_version, backlog 0, then lockers 1 (null), 2 ("H-7"), 3. */
	h = db_sha256_new();
	assert_non_null(h);
	add_int(h, 'v', version);
	add_int(h, 'i', 0);
	for (int i = 1; i <= 3; i++) {
		add_int(h, 'i', i);
		if (i % 2) {
			db_sha256_add(h, "n", 1);
		} else {
			add_int(h, 's', 3);
			db_sha256_add(h, "H-7", 3);
		}
	}
	assert_true(db_sha256_end_hex(h, want));
	db_sha256_free(h);
	seen = text_of(f->db, "SELECT lockers_seen FROM kiosks");
	assert_string_equal(seen, want);
	free(seen);
	/*
	 * What lokerhub stored before (the same values as text): not this,
	 * so the lockers are compared once more and this one is kept.
	 */
	snprintf(text, sizeof(text), "v%" PRId64 ";i0;i1;n;i2;s3:H-7;i3;n;",
		 version);
	db_sha256_hex(text, old);
	assert_int_equal(
		db_run(f->db, "UPDATE kiosks SET lockers_seen = ?", "s", old),
		0);
	assert_int_equal(status(f->db, hb), 200);
	seen = text_of(f->db, "SELECT lockers_seen FROM kiosks");
	assert_string_equal(seen, want);
	free(seen);
	free(hb);
}

/* A heartbeat's reply body from the handler; the caller frees. */
static char *status_reply(sqlite3 *db, const char *body)
{
	struct api_route route = { .endpoint = API_ENDPOINT_STATUS,
				   .kiosk_id = "k1",
				   .kiosk_minor = 1 };
	struct api_reply reply = { 0 };

	api_handle(db, &route, NULL, NULL, body, strlen(body), &reply);
	assert_int_equal(reply.status, 200);
	assert_non_null(reply.body);
	assert_int_equal(reply.body_len, strlen(reply.body));
	return reply.body;
}

/* A command for the fixture's kiosk, not yet done. */
static void add_command(sqlite3 *db)
{
	assert_int_equal(db_run(db,
				"INSERT INTO commands (kiosk_id, type,"
				" created_usec) VALUES ('k1', 'reset', 0)",
				""),
			 0);
}

static void heartbeat_reply_is_what_jansson_writes(void **state)
{
	struct fixture *f = *state;
	char *hb = heartbeat(2, "0", "[]"), *text, *want;
	json_t *got, *commands, *packed;

	for (int pending = 0; pending < 2; pending++) {
		/* Without commands (written directly), then with one. */
		if (pending)
			add_command(f->db);
		text = status_reply(f->db, hb);
		got = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(got);
		assert_true(
			json_is_string(json_object_get(got, "server_time")));
		assert_int_equal(json_integer_value(
					 json_object_get(got, "next_status_s")),
				 60);
		commands = json_object_get(got, "commands");
		assert_int_equal(json_array_size(commands), (size_t)pending);
		packed = json_pack("{s:O, s:O, s:O}", "server_time",
				   json_object_get(got, "server_time"),
				   "next_status_s",
				   json_object_get(got, "next_status_s"),
				   "commands", commands);
		assert_non_null(packed);
		want = json_dumps(packed, JSON_COMPACT);
		json_decref(packed);
		assert_non_null(want);
		assert_string_equal(text, want);
		free(want);
		json_decref(got);
		free(text);
	}
	free(hb);
}

/* api_status_answer() on the fixture's kiosk: its reply, or NULL if not. */
static char *answered(sqlite3 *db, const char *body)
{
	struct api_route route = { .endpoint = API_ENDPOINT_STATUS,
				   .kiosk_id = "k1",
				   .kiosk_minor = 1 };
	struct api_reply reply = { 0 };

	if (!api_status_answer(db, &route, body, strlen(body), 1000000,
			       &reply)) {
		assert_null(reply.body);
		return NULL;
	}
	assert_int_equal(reply.status, 200);
	assert_non_null(reply.body);
	return reply.body;
}

/* A reply's body without its server_time, to compare two replies. */
static char *without_time(char *text)
{
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	char *out;

	assert_non_null(o);
	assert_int_equal(json_object_del(o, "server_time"), 0);
	out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	free(text);
	return out;
}

static void heartbeat_answered_on_a_reader_only_for_its_status(void **state)
{
	struct fixture *f = *state;
	char *hb = heartbeat(4, "0", "[]"), *text, *want, *kept;
	char *hb_done = heartbeat(4, "0", "[\"c-1\"]");
	char *hb_backlog = heartbeat(5, "2", "[]");
	int64_t at = -1, before = -1;

	/* Never compared yet: the lockers are, on the writer. */
	assert_null(answered(f->db, hb));
	assert_int_equal(status(f->db, hb), 200);
	/* Compared now: answered as api_handle() answers, writing nothing. */
	for (int pending = 0; pending < 2; pending++) {
		if (pending)
			add_command(f->db);
		assert_int_equal(db_get_int(f->db, &before,
					    "SELECT status_usec FROM kiosks",
					    ""),
				 0);
		text = answered(f->db, hb);
		assert_non_null(text);
		assert_int_equal(db_get_int(f->db, &at,
					    "SELECT status_usec FROM kiosks",
					    ""),
				 0);
		assert_int_equal(at, before);
		text = without_time(text);
		want = without_time(status_reply(f->db, hb));
		assert_string_equal(text, want);
		free(text);
		free(want);
	}
	assert_int_equal(api_status_store(f->db, "k1", 1000000, hb_backlog), 0);
	assert_int_equal(
		db_get_int(f->db, &at, "SELECT status_usec FROM kiosks", ""),
		0);
	assert_int_equal(at, 1000000);
	kept = text_of(f->db, "SELECT status_json FROM kiosks");
	assert_string_equal(kept, hb_backlog);
	/* Other lockers, but something left to upload: no comparison. */
	text = answered(f->db, hb_backlog);
	assert_non_null(text);
	free(text);
	/* Commands acknowledged: the writer's, to be on disk first. */
	assert_null(answered(f->db, hb_done));
	/* What the skim leaves to jansson, jansson judges, on the writer. */
	memcpy(strstr(hb, "\"small\""), "\"\\/mal\"", 7);
	assert_null(answered(f->db, hb));
	assert_null(answered(f->db, "[]"));
	assert_null(answered(f->db, "{\"backlog\":0,\"backlog\":0}"));
	/* The other lockers, with nothing to upload: compared again. */
	free(hb_backlog);
	hb_backlog = heartbeat(5, "0", "[]");
	assert_null(answered(f->db, hb_backlog));
	free(kept);
	free(hb);
	free(hb_done);
	free(hb_backlog);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(skim_reads_a_heartbeat_as_jansson_does),
		cmocka_unit_test(skim_reads_only_the_first_done_commands),
		cmocka_unit_test(skim_leaves_to_jansson_what_it_cannot_say),
		cmocka_unit_test(skim_leaves_larger_objects_to_jansson),
		cmocka_unit_test(skim_takes_only_what_jansson_takes),
		cmocka_unit_test_setup_teardown(
			heartbeat_refused_or_taken_as_before, setup, teardown),
		cmocka_unit_test(sha256_in_pieces_is_sha256_of_the_whole),
		cmocka_unit_test_setup_teardown(
			heartbeat_reply_is_what_jansson_writes, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			lockers_seen_hashes_values_and_compares_an_old_one_once,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			heartbeat_answered_on_a_reader_only_for_its_status,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
