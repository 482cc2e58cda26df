// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerhub's listings: holds, events, kiosks, commands, faults. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "db.h"
#include "fleet.h"

#define LIST_LIMIT_DEFAULT 100000
#define LIST_LIMIT_MAX	   10000000

/*
 * --json listings are one JSON array of objects, written one object at a
 * time, so a long listing needs no more memory than a short one.
 */
struct out {
	bool json, first;
};

static void out_begin(struct out *o)
{
	o->first = true;
	if (o->json)
		fputs("[", stdout);
}

/* Writes obj (taken over) as the next entry. */
static void out_json(struct out *o, json_t *obj)
{
	if (!obj)
		return;
	fputs(o->first ? "\n  " : ",\n  ", stdout);
	json_dumpf(obj, stdout, JSON_COMPACT);
	json_decref(obj);
	o->first = false;
}

static int out_end(struct out *o)
{
	if (o->json)
		fputs(o->first ? "]\n" : "\n]\n", stdout);
	return fflush(stdout) == 0 && !ferror(stdout) ? CLI_EXIT_OK :
							CLI_EXIT_FAILED;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static json_t *col_json_text(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ?
		       json_null() :
		       json_string(col_text(st, i));
}

static json_t *col_json_int(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ?
		       json_null() :
		       json_integer(sqlite3_column_int64(st, i));
}

static json_t *col_json_time(sqlite3_stmt *st, int i)
{
	return db_time_json(sqlite3_column_int64(st, i));
}

/* A time for a text column: "-" for none. */
static const char *col_time(sqlite3_stmt *st, int i, char buf[32])
{
	int64_t usec = sqlite3_column_int64(st, i);

	if (usec <= 0)
		return "-";
	db_format_time(usec, buf);
	return buf;
}

/* The options the listings share; 0, or an exit status to return. */
struct list_args {
	const char *db_path, *kiosk, *type;
	bool json;
	long long limit, offline_after_s;
};

static int parse_list_args(int argc, char **argv, bool with_kiosk,
			   bool with_type, bool with_offline,
			   struct list_args *a)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "json", no_argument, NULL, 'j' },
		{ "kiosk", required_argument, NULL, 'k' },
		{ "type", required_argument, NULL, 't' },
		{ "limit", required_argument, NULL, 'l' },
		{ "offline-after", required_argument, NULL, 'o' },
		{ 0 },
	};
	int c, ex;

	a->limit = LIST_LIMIT_DEFAULT;
	a->offline_after_s = 0;
	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "jk:t:l:o:",
				options, NULL)) != -1) {
		if (cli_common_option(argv[0], c, &a->db_path, &ex))
			return ex;
		switch (c) {
		case 'j':
			a->json = true;
			break;
		case 'k':
			if (!with_kiosk)
				return cli_usage_error(argv[0],
						       "no --kiosk here");
			a->kiosk = optarg;
			break;
		case 't':
			if (!with_type)
				return cli_usage_error(argv[0],
						       "no --type here");
			a->type = optarg;
			break;
		case 'l':
			if (cli_parse_number(optarg, 1, LIST_LIMIT_MAX,
					     &a->limit) < 0)
				return cli_usage_error(argv[0],
						       "--limit: not 1 to %d",
						       LIST_LIMIT_MAX);
			break;
		case 'o':
			if (!with_offline ||
			    cli_parse_number(optarg, 1, 365LL * 86400,
					     &a->offline_after_s) < 0)
				return cli_usage_error(
					argv[0],
					"--offline-after: seconds, 1 or more");
			break;
		}
	}
	if (optind != argc)
		return cli_usage_error(argv[0], "unexpected argument: %s",
				       argv[optind]);
	return 0;
}

/* Runs a listing query, rows through row(). */
static int list(const char *command, struct list_args *a, const char *sql,
		const char *types, const char *k, const char *t,
		void (*row)(sqlite3 *db, sqlite3_stmt *st, struct list_args *a,
			    struct out *o))
{
	struct out o = { .json = a->json };
	sqlite3_stmt *st;
	sqlite3 *db;
	int rc;

	if (cli_open(command, a->db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	/* One snapshot, however long the listing. */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	/* Arguments: the kiosk, the type when the query has one, the limit. */
	st = strlen(types) == 3 ?
		     db_query(db, sql, types, k, t, (int64_t)a->limit) :
		     db_query(db, sql, types, k, (int64_t)a->limit);
	if (!st) {
		db_close(db);
		return CLI_EXIT_FAILED;
	}
	out_begin(&o);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		row(db, st, a, &o);
	db_done(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	db_close(db);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "lokerhub: %s: the listing broke off\n",
			command);
		return CLI_EXIT_FAILED;
	}
	return out_end(&o);
}

/* ---- holds ---- */

static void hold_row(sqlite3 *db, sqlite3_stmt *st, struct list_args *a,
		     struct out *o)
{
	sqlite3_stmt *it = db_query(db,
				    "SELECT barcode, title FROM hold_items"
				    " WHERE hold_id = ? ORDER BY pos",
				    "s", col_text(st, 0));
	json_t *items = json_array();
	char t1[32], locker[16];

	while (it && items && sqlite3_step(it) == SQLITE_ROW)
		json_array_append_new(items, json_pack("{s:s, s:s}", "barcode",
						       col_text(it, 0), "title",
						       col_text(it, 1)));
	db_done(it);
	if (o->json) {
		out_json(o, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:b,"
				      " s:o, s:o, s:o, s:o, s:o}",
				      "id", col_text(st, 0), "kiosk",
				      col_text(st, 1), "patron",
				      col_text(st, 2), "state", col_text(st, 3),
				      "size", col_text(st, 4), "locker",
				      col_json_int(st, 5), "items", items,
				      "has_code", sqlite3_column_int(st, 6),
				      "expires_at", col_json_time(st, 7),
				      "created_at", col_json_time(st, 8),
				      "updated_at", col_json_time(st, 9),
				      "loaded_at", col_json_time(st, 10),
				      "picked_up_at", col_json_time(st, 11)));
		return;
	}
	if (sqlite3_column_type(st, 5) == SQLITE_NULL)
		snprintf(locker, sizeof(locker), "-");
	else
		snprintf(locker, sizeof(locker), "%d",
			 sqlite3_column_int(st, 5));
	printf("%-16s %-14s %-12s %-10s %-6s %-6s %-24s", col_text(st, 0),
	       col_text(st, 1), col_text(st, 2), col_text(st, 3),
	       col_text(st, 4), locker, col_time(st, 7, t1));
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *item = json_array_get(items, i);
		const char *title =
			json_string_value(json_object_get(item, "title"));

		printf("%s%s%s%s", i ? "; " : " ",
		       json_string_value(json_object_get(item, "barcode")),
		       title && title[0] ? " " : "", title ? title : "");
	}
	putchar('\n');
	json_decref(items);
}

static int cmd_holds(const char *db_path, int argc, char **argv)
{
	struct list_args a = { .db_path = db_path };
	int ex = parse_list_args(argc, argv, true, false, false, &a);

	if (ex)
		return ex;
	if (!a.json)
		printf("%-16s %-14s %-12s %-10s %-6s %-6s %-24s %s\n", "HOLD",
		       "KIOSK", "PATRON", "STATE", "SIZE", "LOCKER", "EXPIRES",
		       "ITEMS");
	return list(argv[0], &a,
		    "SELECT * FROM (SELECT id, kiosk_id, patron_id, state,"
		    " size, locker, code_hmac IS NOT NULL, expires_usec,"
		    " created_usec, updated_usec, loaded_usec, picked_up_usec,"
		    " rowid AS r FROM holds WHERE ?1 IS NULL OR kiosk_id = ?1"
		    " ORDER BY rowid DESC LIMIT ?2) ORDER BY r",
		    "sI", a.kiosk, NULL, hold_row);
}

/* ---- events ---- */

static void event_row(sqlite3 *db, sqlite3_stmt *st, struct list_args *a,
		      struct out *o)
{
	json_t *payload = json_loads(col_text(st, 5), JSON_DECODE_ANY, NULL);
	char t1[32];

	if (o->json) {
		out_json(o,
			 json_pack("{s:s, s:s, s:o, s:s, s:o, s:o, s:s, s:o,"
				   " s:o}",
				   "id", col_text(st, 0), "kiosk",
				   col_text(st, 1), "seq", col_json_int(st, 2),
				   "type", col_text(st, 3), "at",
				   col_json_time(st, 4), "payload",
				   payload ? payload : json_null(), "status",
				   col_text(st, 6), "reason",
				   col_json_text(st, 7), "received_at",
				   col_json_time(st, 8)));
		return;
	}
	printf("%-24s %-14s %6lld %-18s %-9s %s%s%s\n", col_time(st, 8, t1),
	       col_text(st, 1), (long long)sqlite3_column_int64(st, 2),
	       col_text(st, 3), col_text(st, 6), col_text(st, 5),
	       sqlite3_column_type(st, 7) == SQLITE_NULL ? "" : " reason=",
	       sqlite3_column_type(st, 7) == SQLITE_NULL ? "" :
							   col_text(st, 7));
	json_decref(payload);
}

static int cmd_events(const char *db_path, int argc, char **argv)
{
	struct list_args a = { .db_path = db_path };
	int ex = parse_list_args(argc, argv, true, true, false, &a);

	if (ex)
		return ex;
	if (!a.json)
		printf("%-24s %-14s %6s %-18s %-9s %s\n", "RECEIVED", "KIOSK",
		       "SEQ", "TYPE", "STATUS", "PAYLOAD");
	return list(argv[0], &a,
		    "SELECT * FROM (SELECT id, kiosk_id, seq, type, at_usec,"
		    " payload, status, reason, received_usec, n FROM events"
		    " WHERE (?1 IS NULL OR kiosk_id = ?1)"
		    " AND (?2 IS NULL OR type = ?2)"
		    " ORDER BY n DESC LIMIT ?3) ORDER BY n",
		    "ssI", a.kiosk, a.type ? a.type : NULL, event_row);
}

/* ---- kiosks ---- */

static void kiosk_row(sqlite3 *db, sqlite3_stmt *st, struct list_args *a,
		      struct out *o)
{
	json_t *obj = fleet_kiosk(db, st, a->offline_after_s);
	json_t *backlog, *service, *reader, *since;
	/* One buffer per printed column: printf's arguments are all
	 * evaluated before it prints. */
	char t1[32], t2[32], state[64];
	char *f, *d, *m;

	if (!obj || o->json) {
		out_json(o, obj);
		return;
	}
	backlog = json_object_get(obj, "backlog");
	service = json_object_get(obj, "in_service");
	reader = json_object_get(obj, "reader_ok");
	since = json_object_get(obj, "offline_since");
	f = json_dumps(json_object_get(obj, "faults"), JSON_COMPACT);
	d = json_dumps(json_object_get(obj, "doors_open"), JSON_COMPACT);
	m = json_dumps(json_object_get(obj, "misplaced_holds"), JSON_COMPACT);
	if (sqlite3_column_int64(st, 4) <= 0)
		snprintf(state, sizeof(state), "never seen");
	else if (json_is_true(json_object_get(obj, "online")))
		snprintf(state, sizeof(state), "online");
	else
		snprintf(state, sizeof(state), "offline since %s",
			 json_is_string(since) ? json_string_value(since) :
						 "-");
	printf("%-14s %-40s %-24s %-7s %-11s %-6s %-14s %s%s%s\n",
	       col_text(st, 0), state, col_time(st, 4, t1),
	       json_is_integer(backlog) ?
		       (snprintf(t2, sizeof(t2), "%lld",
				 (long long)json_integer_value(backlog)),
			t2) :
		       "-",
	       json_is_boolean(service) ?
		       (json_is_true(service) ? "yes" : "NO") :
		       "-",
	       json_is_boolean(reader) ?
		       (json_is_true(reader) ? "ok" : "FAULT") :
		       "-",
	       d && strcmp(d, "[]") != 0 ? d : "-",
	       f && strcmp(f, "[]") != 0 ? f : "-",
	       m && strcmp(m, "[]") != 0 ?
		       " books of holds routed elsewhere: " :
		       "",
	       m && strcmp(m, "[]") != 0 ? m : "");
	free(f);
	free(d);
	free(m);
	json_decref(obj);
}

static int cmd_kiosks(const char *db_path, int argc, char **argv)
{
	struct list_args a = { .db_path = db_path };
	int ex = parse_list_args(argc, argv, true, false, true, &a);

	if (ex)
		return ex;
	if (!a.json)
		printf("%-14s %-40s %-24s %-7s %-11s %-6s %-14s %s\n", "KIOSK",
		       "STATE", "LAST HEARTBEAT", "BACKLOG", "IN SERVICE",
		       "READER", "DOORS OPEN", "FAULTS");
	return list(argv[0], &a,
		    "SELECT " FLEET_KIOSK_COLUMNS " FROM kiosks"
		    " WHERE ?1 IS NULL OR id = ?1 ORDER BY id LIMIT ?2",
		    "sI", a.kiosk, NULL, kiosk_row);
}

/* ---- commands ---- */

static void command_row(sqlite3 *db, sqlite3_stmt *st, struct list_args *a,
			struct out *o)
{
	char id[32], t1[32], t2[32], arg[96] = "";

	snprintf(id, sizeof(id), "c-%lld",
		 (long long)sqlite3_column_int64(st, 0));
	if (o->json) {
		out_json(
			o,
			json_pack(
				"{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
				"id", id, "kiosk", col_text(st, 1), "type",
				col_text(st, 2), "locker", col_json_int(st, 3),
				"hold_id", col_json_text(st, 4), "reason",
				col_json_text(st, 5), "created_at",
				col_json_time(st, 6), "done_at",
				col_json_time(st, 7), "expires_at",
				col_json_time(st, 8), "by",
				col_json_text(st, 9), "from_seq",
				col_json_int(st, 10)));
		return;
	}
	if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		snprintf(arg, sizeof(arg), "locker %d",
			 sqlite3_column_int(st, 3));
	else if (sqlite3_column_type(st, 4) != SQLITE_NULL)
		snprintf(arg, sizeof(arg), "hold %s", col_text(st, 4));
	else if (sqlite3_column_type(st, 10) != SQLITE_NULL)
		snprintf(arg, sizeof(arg), "from %s", col_text(st, 10));
	printf("%-8s %-14s %-15s %-14s %-24s %-24s %s\n", id, col_text(st, 1),
	       col_text(st, 2), arg[0] ? arg : "-", col_time(st, 6, t1),
	       col_time(st, 7, t2),
	       sqlite3_column_type(st, 5) == SQLITE_NULL ? "" :
							   col_text(st, 5));
}

static int cmd_commands(const char *db_path, int argc, char **argv)
{
	struct list_args a = { .db_path = db_path };
	int ex = parse_list_args(argc, argv, true, false, false, &a);

	if (ex)
		return ex;
	if (!a.json)
		printf("%-8s %-14s %-15s %-14s %-24s %-24s %s\n", "ID", "KIOSK",
		       "TYPE", "ARGUMENT", "QUEUED", "DONE", "REASON");
	return list(argv[0], &a,
		    "SELECT * FROM (SELECT n, kiosk_id, type, locker, hold_id,"
		    " reason, created_usec, done_usec, expires_usec, by_user,"
		    " from_seq FROM commands"
		    " WHERE ?1 IS NULL OR kiosk_id = ?1"
		    " ORDER BY n DESC LIMIT ?2) ORDER BY n",
		    "sI", a.kiosk, NULL, command_row);
}

/* ---- faults ---- */

static void fault_row(sqlite3 *db, sqlite3_stmt *st, struct list_args *a,
		      struct out *o)
{
	if (o->json) {
		out_json(o, json_pack("{s:I, s:s, s:s, s:I, s:o, s:o}", "n",
				      (json_int_t)sqlite3_column_int64(st, 0),
				      "endpoint", col_text(st, 1), "kind",
				      col_text(st, 2), "remaining",
				      (json_int_t)sqlite3_column_int64(st, 3),
				      "retry_after_s", col_json_int(st, 4),
				      "delay_ms", col_json_int(st, 5)));
		return;
	}
	printf("%-4lld %-8s %-11s %-11s %-12s %s\n",
	       (long long)sqlite3_column_int64(st, 0), col_text(st, 1),
	       col_text(st, 2),
	       sqlite3_column_int64(st, 3) ? col_text(st, 3) : "until-clear",
	       sqlite3_column_type(st, 4) == SQLITE_NULL ? "-" :
							   col_text(st, 4),
	       sqlite3_column_type(st, 5) == SQLITE_NULL ? "-" :
							   col_text(st, 5));
}

int cli_list_faults(const char *command, const char *db_path, bool json)
{
	struct list_args a = { .db_path = db_path,
			       .json = json,
			       .limit = LIST_LIMIT_DEFAULT };

	if (!json)
		printf("%-4s %-8s %-11s %-11s %-12s %s\n", "N", "ENDPOINT",
		       "KIND", "REMAINING", "RETRY-AFTER", "DELAY-MS");
	return list(command, &a,
		    "SELECT n, endpoint, kind, remaining,"
		    " nullif(retry_after_s, 0), nullif(delay_ms, 0)"
		    " FROM faults WHERE ?1 IS NULL OR 1 ORDER BY n LIMIT ?2",
		    "sI", NULL, NULL, fault_row);
}

const struct cli_command cli_list_commands[] = {
	{ "holds", "[--kiosk K] [--json] [--limit N]",
	  "list holds, oldest first", cmd_holds },
	{ "events", "[--kiosk K] [--type T] [--json] [--limit N]",
	  "list the events kiosks sent, oldest first (the newest N)",
	  cmd_events },
	{ "kiosks", "[--kiosk K] [--json] [--offline-after SECONDS]",
	  "every kiosk: last heartbeat, online or offline since, status",
	  cmd_kiosks },
	{ "commands", "[--kiosk K] [--json] [--limit N]",
	  "list remote commands and whether they are done", cmd_commands },
	{ 0 },
};
