// SPDX-License-Identifier: GPL-2.0-or-later
/* The fleet as staff see it: each kiosk's last heartbeat, and its holds. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "db.h"
#include "fleet.h"
#include "serve.h"

#define FLEET_CONNECTIONS_MAX 16
#define FLEET_IDLE_TIMEOUT_S  30
/* The page's script is inline; nothing else loads, nothing frames it. */
#define FLEET_CSP                                         \
	"default-src 'none'; script-src 'unsafe-inline';" \
	" style-src 'unsafe-inline'; connect-src 'self';" \
	" frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

extern const char fleet_page[];

struct fleet_server {
	struct MHD_Daemon *d;
	sqlite3 *db;
	pthread_mutex_t *db_lock;
	const struct serve_load *load;
	unsigned port;
};

/* A copy of value when it has the JSON type is_type checks, else null. */
static json_t *pick(json_t *value, int (*is_type)(const json_t *))
{
	return value && is_type(value) ? json_deep_copy(value) : json_null();
}

static int is_bool(const json_t *v)
{
	return json_is_boolean(v);
}

static int is_int(const json_t *v)
{
	return json_is_integer(v);
}

static int is_string(const json_t *v)
{
	return json_is_string(v);
}

static int is_any(const json_t *v)
{
	return 1;
}

static json_t *time_or_null(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ?
		       json_null() :
		       db_time_json(sqlite3_column_int64(st, i));
}

/* The doors of a heartbeat, with the fields staff look at; the numbers of
 * the doors not closed are added to doors_open. */
static json_t *lockers_of(json_t *status, json_t *doors_open)
{
	json_t *in = json_object_get(status, "lockers"), *out = json_array();
	static const char *const fields[] = { "number", "size",	 "kind",
					      "door",	"state", "disabled",
					      "fault",	"hold" };

	for (size_t i = 0;
	     out && i < json_array_size(in) && i < FLEET_LOCKERS_MAX; i++) {
		json_t *l = json_array_get(in, i), *o = json_object();

		if (!json_is_object(l) || !o) {
			json_decref(o);
			continue;
		}
		for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
			json_object_set_new(
				o, fields[f],
				pick(json_object_get(l, fields[f]), is_any));
		if (json_is_string(json_object_get(l, "door")) &&
		    strcmp(json_string_value(json_object_get(l, "door")),
			   "closed") != 0)
			json_array_append(doors_open,
					  json_object_get(l, "number"));
		json_array_append_new(out, o);
	}
	return out;
}

/*
 * Holds this kiosk reported loaded or picked up (rejected: routed to
 * another kiosk by then) that are still waiting elsewhere: staff moved
 * them while the kiosk, offline, was loading them, so their books are in
 * this kiosk while the patron is sent to the other. Staff route them back
 * or unload them (docs/lokerhub.md, hold-route). The candidates are the
 * holds taken away from this kiosk and still open elsewhere, few; at most
 * FLEET_FAULTS_MAX.
 */
static json_t *misplaced_holds(sqlite3 *db, const char *kiosk_id)
{
	json_t *out = json_array();
	sqlite3_stmt *st = db_query(
		db,
		"SELECT DISTINCT h.id FROM hold_removals r"
		" JOIN holds h ON h.id = r.hold_id"
		" WHERE r.kiosk_id = ?1 AND h.kiosk_id != ?1"
		" AND h.state IN ('pending', 'loaded')"
		" AND EXISTS (SELECT 1 FROM events e WHERE e.kiosk_id = ?1"
		"  AND e.status = 'rejected'"
		"  AND e.type IN ('hold_loaded', 'hold_picked_up')"
		"  AND e.reason = '" API_REASON_ROUTED_ELSEWHERE "'"
		"  AND json_extract(e.payload, '$.hold_id') = h.id)"
		" ORDER BY h.id LIMIT ?2",
		"sI", kiosk_id, (int64_t)FLEET_FAULTS_MAX);

	while (out && st && sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(
			out,
			json_string((const char *)sqlite3_column_text(st, 0)));
	db_done(st);
	return out;
}

json_t *fleet_kiosk(sqlite3 *db, sqlite3_stmt *st, int64_t offline_after_s)
{
	int64_t seen_usec = sqlite3_column_int64(st, 4);
	int64_t next_s = sqlite3_column_int64(st, 3);
	int64_t after_s = offline_after_s ? offline_after_s : 3 * next_s;
	bool online =
		seen_usec > 0 && db_now_usec() - seen_usec <= after_s * 1000000;
	json_t *status = NULL, *doors_open = json_array(), *faults, *lockers;
	json_t *in_faults, *obj, *misplaced;

	if (sqlite3_column_type(st, 5) != SQLITE_NULL)
		status = json_loads((const char *)sqlite3_column_text(st, 5), 0,
				    NULL);
	in_faults = json_object_get(status, "faults");
	faults = json_array();
	for (size_t i = 0;
	     faults && i < json_array_size(in_faults) && i < FLEET_FAULTS_MAX;
	     i++)
		json_array_append(faults, json_array_get(in_faults, i));
	lockers = lockers_of(status, doors_open);
	misplaced =
		misplaced_holds(db, (const char *)sqlite3_column_text(st, 0));
	obj = json_pack(
		"{s:s, s:b, s:I, s:I, s:o, s:b, s:o, s:I, s:o, s:o, s:o, s:o,"
		" s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
		"id", (const char *)sqlite3_column_text(st, 0), "pin_required",
		sqlite3_column_int(st, 1), "hold_window_days",
		(json_int_t)sqlite3_column_int64(st, 2), "next_status_s",
		(json_int_t)next_s, "last_status_at", time_or_null(st, 4),
		"online", online, "offline_since",
		online || seen_usec <= 0 ? json_null() :
					   db_time_json(seen_usec),
		"offline_after_s", (json_int_t)after_s, "kiosk_time",
		pick(json_object_get(status, "at"), is_string), "version",
		pick(json_object_get(status, "version"), is_string), "uptime_s",
		pick(json_object_get(status, "uptime_s"), is_int), "in_service",
		pick(json_object_get(status, "in_service"), is_bool), "backlog",
		pick(json_object_get(status, "backlog"), is_int),
		"rejected_events",
		pick(json_object_get(status, "rejected_events"), is_int),
		"reader_ok",
		pick(json_object_get(json_object_get(status, "reader"), "ok"),
		     is_bool),
		"scanner_ok",
		pick(json_object_get(json_object_get(status, "scanner"), "ok"),
		     is_bool),
		"faults", faults ? faults : json_array(), "doors_open",
		doors_open ? json_incref(doors_open) : json_array(), "lockers",
		lockers ? lockers : json_array(), "misplaced_holds",
		misplaced ? misplaced : json_array());
	json_decref(doors_open);
	json_decref(status);
	return obj;
}

/* Adds holds: {pending, loaded, expiring, next_expiry} to each kiosk. */
static int add_holds(sqlite3 *db, json_t *by_id)
{
	int64_t soon = db_now_usec() + (int64_t)FLEET_EXPIRING_S * 1000000;
	sqlite3_stmt *st = db_query(
		db,
		"SELECT kiosk_id, SUM(state = 'pending'), SUM(state = 'loaded'),"
		" SUM(state = 'loaded' AND expires_usec IS NOT NULL"
		"     AND expires_usec <= ?1),"
		" MIN(CASE WHEN state = 'loaded' THEN expires_usec END)"
		" FROM holds WHERE state IN ('pending', 'loaded')"
		" GROUP BY kiosk_id",
		"I", soon);
	int rc;

	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *k = json_object_get(
			by_id, (const char *)sqlite3_column_text(st, 0));

		if (!k)
			continue;
		json_object_set_new(
			k, "holds",
			json_pack("{s:I, s:I, s:I, s:o}", "pending",
				  (json_int_t)sqlite3_column_int64(st, 1),
				  "loaded",
				  (json_int_t)sqlite3_column_int64(st, 2),
				  "expiring",
				  (json_int_t)sqlite3_column_int64(st, 3),
				  "next_expiry", time_or_null(st, 4)));
	}
	db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

json_t *fleet_status(sqlite3 *db)
{
	json_t *kiosks = json_array(), *by_id = json_object(), *out = NULL;
	json_int_t online = 0, faulty = 0, backlog = 0, loaded = 0,
		   expiring = 0;
	sqlite3_stmt *st;
	size_t i;
	json_t *k;
	int rc;

	if (!kiosks || !by_id)
		goto out;
	/* One snapshot: the kiosks and their holds agree. */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	st = db_query(db,
		      "SELECT " FLEET_KIOSK_COLUMNS
		      " FROM kiosks ORDER BY id LIMIT ?",
		      "I", (int64_t)FLEET_KIOSKS_MAX);
	if (!st)
		goto end;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		k = fleet_kiosk(db, st, 0);
		if (!k)
			continue;
		json_object_set_new(k, "holds",
				    json_pack("{s:i, s:i, s:i, s:n}", "pending",
					      0, "loaded", 0, "expiring", 0,
					      "next_expiry"));
		json_object_set(by_id,
				json_string_value(json_object_get(k, "id")), k);
		json_array_append_new(kiosks, k);
	}
	db_done(st);
	if (rc != SQLITE_DONE || add_holds(db, by_id) < 0)
		goto end;
	json_array_foreach(kiosks, i, k)
	{
		json_t *h = json_object_get(k, "holds");

		online += json_is_true(json_object_get(k, "online"));
		faulty += json_array_size(json_object_get(k, "faults")) > 0 ||
			  json_array_size(
				  json_object_get(k, "misplaced_holds")) > 0;
		backlog += json_integer_value(json_object_get(k, "backlog"));
		loaded += json_integer_value(json_object_get(h, "loaded"));
		expiring += json_integer_value(json_object_get(h, "expiring"));
	}
	out = json_pack("{s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:O}",
			"generated_at", db_time_json(db_now_usec()), "totals",
			"kiosks", (json_int_t)json_array_size(kiosks), "online",
			online, "with_faults", faulty, "backlog", backlog,
			"holds_loaded", loaded, "holds_expiring", expiring,
			"kiosks", kiosks);
end:
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (!out)
		fprintf(stderr, "lokerhub: fleet status: %s\n",
			sqlite3_errmsg(db));
out:
	json_decref(kiosks);
	json_decref(by_id);
	return out;
}

/* A browser on this machine names the server by a loopback address: any
 * other Host is a DNS rebinding attempt. */
static bool host_is_ours(const struct fleet_server *s, const char *host)
{
	static const char *const names[] = { "127.0.0.1", "localhost",
					     "[::1]" };
	char want[64];

	if (!host)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(want, sizeof(want), "%s:%u", names[i], s->port);
		if (strcmp(host, want) == 0)
			return true;
	}
	return false;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
			     const char *type, char *body, bool owned)
{
	struct MHD_Response *resp =
		owned ? MHD_create_response_from_buffer_with_free_callback(
				strlen(body), body, free) :
			MHD_create_response_from_buffer(strlen(body), body,
							MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	MHD_add_response_header(resp, "Content-Security-Policy", FLEET_CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					"GET, HEAD");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct fleet_server *s = cls;
	json_t *fleet;
	char *body;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     "GET or HEAD only\n", false);
	if (!host_is_ours(s, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_HOST)))
		return reply(c, MHD_HTTP_FORBIDDEN, "text/plain",
			     "open this page by a loopback address\n", false);
	if (strcmp(url, "/") == 0)
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8",
			     (char *)fleet_page, false);
	if (strcmp(url, "/fleet.json") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "not found\n",
			     false);
	pthread_mutex_lock(s->db_lock);
	fleet = fleet_status(s->db);
	pthread_mutex_unlock(s->db_lock);
	/* How near the connection limit the API server is (issue 26). */
	if (fleet)
		json_object_set_new(
			fleet, "server",
			json_pack(
				"{s:I, s:I, s:I, s:I, s:I, s:I}", "connections",
				(json_int_t)atomic_load(&s->load->open),
				"max_connections", (json_int_t)s->load->limit,
				"refused_at_limit",
				(json_int_t)atomic_load(&s->load->refused),
				"writes",
				(json_int_t)atomic_load(&s->load->writes),
				"write_commits",
				(json_int_t)atomic_load(&s->load->write_groups),
				"events_archived",
				(json_int_t)atomic_load(
					&s->load->events_archived)));
	body = fleet ? json_dumps(fleet, JSON_COMPACT) : NULL;
	json_decref(fleet);
	if (!body)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
			     "application/json",
			     "{\"error\":\"the database failed\"}", false);
	return reply(c, MHD_HTTP_OK, "application/json", body, true);
}

static bool is_loopback(const struct sockaddr_storage *a, bool v6)
{
	if (v6)
		return IN6_IS_ADDR_LOOPBACK(
			&((const struct sockaddr_in6 *)a)->sin6_addr);
	return (ntohl(((const struct sockaddr_in *)a)->sin_addr.s_addr) >>
		24) == 127;
}

struct fleet_server *fleet_server_start(sqlite3 *db, pthread_mutex_t *db_lock,
					const struct serve_load *load,
					const char *listen,
					const char *port_file)
{
	struct fleet_server *s = calloc(1, sizeof(*s));
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage addr;
	bool v6 = false;
	int err;

	if (!s)
		return NULL;
	s->db = db;
	s->db_lock = db_lock;
	s->load = load;
	if (serve_parse_listen(listen, &addr, &v6) < 0) {
		fprintf(stderr,
			"lokerhub: --fleet-listen %s: not ADDR:PORT (numeric, e.g. 127.0.0.1:8090)\n",
			listen);
		goto fail;
	}
	if (!is_loopback(&addr, v6)) {
		fprintf(stderr,
			"lokerhub: --fleet-listen %s: the status page has no login of its own, so it listens on loopback only; reach it through an SSH tunnel or a reverse proxy with authentication\n",
			listen);
		goto fail;
	}
	/* One thread polls every connection: the page is light, and staff
	 * are few. */
	s->d = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
			(v6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, answer, s, MHD_OPTION_SOCK_ADDR, &addr,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)FLEET_CONNECTIONS_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)FLEET_IDLE_TIMEOUT_S,
		MHD_OPTION_END);
	if (!s->d) {
		fprintf(stderr,
			"lokerhub: cannot serve the status page on %s\n",
			listen);
		goto fail;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port)
		goto fail;
	s->port = info->port;
	if (port_file) {
		err = serve_write_port_file(port_file, s->port);
		if (err < 0) {
			fprintf(stderr, "lokerhub: %s: %s\n", port_file,
				strerror(-err));
			goto fail;
		}
	}
	fprintf(stderr, "lokerhub: status page at http://%s%s%s:%u/\n",
		v6 ? "[" : "", v6 ? "::1" : "127.0.0.1", v6 ? "]" : "",
		s->port);
	return s;
fail:
	fleet_server_stop(s);
	return NULL;
}

void fleet_server_stop(struct fleet_server *s)
{
	if (!s)
		return;
	if (s->d)
		MHD_stop_daemon(s->d);
	free(s);
}
