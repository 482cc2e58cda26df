/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lokerhub serve: the API over HTTPS (libmicrohttpd with GnuTLS). */
#pragma once

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

/* Far above any library network: an idle kiosk costs a descriptor and
 * its TLS session, no thread. */
#define SERVE_CONNECTIONS_DEFAULT 16384
#define SERVE_CONNECTIONS_MAX	  1000000
/*
 * Connections past the limit that are still taken, to be answered 503:
 * past limit + spare libmicrohttpd accepts none, and they wait unanswered.
 */
#define SERVE_CONNECTIONS_SPARE 64
/* Descriptors kept for everything but connections: the database, the
 * status page, logs. */
#define SERVE_FDS_RESERVED 64
/* By default a polling thread per core lokerhub may run on, up to 8. */
#define SERVE_THREADS_DEFAULT_MAX 8
#define SERVE_THREADS_MAX	  64
/*
 * Longer than the longest heartbeat interval a server may ask for (3600 s)
 * plus the kiosk's longest back-off (300 s): a kiosk keeps its connection
 * whatever its interval.
 */
#define SERVE_IDLE_TIMEOUT_S 3900
/*
 * Write requests (heartbeats, uploads) committed in one transaction at
 * most: a group of 500-event uploads stays a few MiB of WAL.
 */
#define SERVE_GROUP_MAX 128
/*
 * A kiosk's status from a heartbeat that acknowledges nothing is answered
 * at once and stored by the writer's next group, at most this long after
 * (fewer commits: each empties every reader's page cache). Past the bytes
 * waiting, a heartbeat is queued as a write, as any other.
 */
#define SERVE_STATUS_DELAY_MS  1000
#define SERVE_STATUS_BYTES_MAX (16u << 20)
/*
 * WAL checkpoints, off the writer: one every this many new pages (4 MiB,
 * SQLite's own default), and the writer checkpoints itself only if the
 * WAL reaches the second (64 MiB), the checkpointer being that far behind.
 */
#define SERVE_CHECKPOINT_PAGES 1000
#define SERVE_WAL_PAGES_MAX    16000

/*
 * Event retention: a step (a short transaction of its own) between
 * groups this often while old events remain, and a look this often once
 * none does.
 */
#define SERVE_RETENTION_BUSY_MS 100
#define SERVE_RETENTION_IDLE_MS 60000

/* A refused kiosk comes back after 30 to 59 s, not all at once. */
#define SERVE_BUSY_RETRY_MIN_S	30
#define SERVE_BUSY_RETRY_SPAN_S 30

/* How full the API server is, for the status page's data. */
struct serve_load {
	unsigned limit;	       /* --max-connections, as the descriptors allow */
	atomic_uint open;      /* connections open now */
	atomic_ullong refused; /* answered 503 at the limit since the start */
	/* Group commit: write requests, and the commits they took. */
	atomic_ullong writes, write_groups;
	atomic_ullong events_archived; /* by event retention, since the start */
};

struct serve_options {
	const char *cert_file, *key_file; /* PEM */
	const char *listen;		  /* ADDR:PORT, [ADDR6]:PORT */
	const char *port_file;		  /* or NULL */
	const char *client_ca_file;	  /* or NULL: no client certificates */
	const char *base_path;
	const char *fleet_listen;    /* the status page: ADDR:PORT, or NULL */
	const char *fleet_port_file; /* or NULL */
	/* Speak v1 only (--api 1.0): no version header, no v1.1 endpoint. */
	bool v1_only;
	unsigned max_connections; /* past it: 503 with Retry-After */
	unsigned threads;	  /* each polls its share of connections */
	/* Events older than this leave for the archive; 0: never. */
	unsigned event_retention_days;
};

/*
 * Serves until SIGTERM or SIGINT. Takes over db (closes it). Returns an
 * exit status: 0 after a clean stop, 1 when it could not start (said on
 * stderr).
 */
int serve_run(sqlite3 *db, const struct serve_options *o);
/*
 * --threads' default: the cores this process may run on (its CPU
 * affinity: one when pinned, as by taskset or systemd's CPUAffinity=), at
 * most SERVE_THREADS_DEFAULT_MAX. More threads than cores only take turns.
 */
unsigned serve_threads_default(void);

/* ADDR:PORT or [ADDR6]:PORT, numeric, into ret. 0 or -EINVAL. */
int serve_parse_listen(const char *text, struct sockaddr_storage *ret,
		       bool *ret_v6);

/* Writes port into path, whole or not at all (tests wait for the file).
 * 0 or -errno. */
int serve_write_port_file(const char *path, unsigned port);
