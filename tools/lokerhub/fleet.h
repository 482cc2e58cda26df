/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fleet as staff see it: each kiosk's last heartbeat, and its holds. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#define FLEET_LOCKERS_MAX 128 /* per kiosk, as a heartbeat has them */
#define FLEET_FAULTS_MAX  64  /* per kiosk */
#define FLEET_KIOSKS_MAX  100000
#define FLEET_EXPIRING_S  (24 * 3600) /* "expiring": within a day */

/* The columns fleet_kiosk() reads, in its order. */
#define FLEET_KIOSK_COLUMNS                                               \
	"id, pin_required, hold_window_days, next_status_s, status_usec," \
	" status_json"

/*
 * One kiosk from a row of FLEET_KIOSK_COLUMNS of db: online or offline (no
 * heartbeat for offline_after_s, or 0: three of its intervals), what its
 * last heartbeat said, and the holds whose books it has though they are
 * routed elsewhere (misplaced_holds). The caller owns the object; NULL on
 * no memory.
 */
json_t *fleet_kiosk(sqlite3 *db, sqlite3_stmt *st, int64_t offline_after_s);

/*
 * The whole fleet for the status page: every kiosk with its holds waiting
 * (pending, loaded) and expiring within a day, and the totals. The caller
 * owns the object; NULL when the database fails (said on stderr).
 */
json_t *fleet_status(sqlite3 *db);

struct fleet_server;
struct serve_load;

/*
 * Serves the status page (GET /) and its data (GET /fleet.json) over plain
 * HTTP on listen, a loopback address only: staff reach it on the server,
 * through an SSH tunnel, or a reverse proxy of their own with its own
 * authentication. db is read under db_lock, both the caller's, and the
 * API server's connections from load, the caller's too. Writes the
 * port to port_file when not NULL. Returns NULL when it cannot (said on
 * stderr); the caller frees with fleet_server_stop().
 */
struct fleet_server *fleet_server_start(sqlite3 *db, pthread_mutex_t *db_lock,
					const struct serve_load *load,
					const char *listen,
					const char *port_file);

/* Stops serving; NULL is fine. */
void fleet_server_stop(struct fleet_server *s);
