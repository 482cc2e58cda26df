// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerhub serve: the API over HTTPS (libmicrohttpd with GnuTLS). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "fault.h"
#include "fleet.h"
#include "protocol.h"
#include "retention.h"
#include "serve.h"

#define SERVE_PEM_MAX	    (64u << 10)
#define SERVE_LOG_PATH_MAX  160
#define SERVE_HUGE_BYTES    ((4u << 20) + (64u << 10))
#define SERVE_DELAY_STEP_MS 50
/*
 * libmicrohttpd's buffers of one connection (its default: 32 KiB), all
 * of it resident once the connection has served a request. A kiosk's
 * request headers take under 2 KiB (a 1 KiB token at most), bodies are
 * copied out as they come and replies are not kept in it; 8 KiB still
 * takes 7 KB of headers (431 past that). Each KiB is 10 MiB at 10,000
 * kiosks: 8 KiB takes a held kiosk from 26 to 18 KiB of memory here.
 */
#define SERVE_CONNECTION_MEMORY (8u << 10)
/* At most one line a minute says that kiosks are refused. */
#define SERVE_BUSY_LOG_USEC (60 * 1000000LL)
/* Requests a delay or trickle fault holds without holding a thread. */
#define SERVE_PAUSES_MAX 64
/* TLS 1.2 at least, as the API asks. */
#define SERVE_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

static const char garbage_body[] = "<html><body>Bad gateway?</body></html>";

struct request;

/*
 * A kiosk's status from a heartbeat that acknowledged nothing, answered on
 * a reader (api_status_answer()): the writer stores it with its next
 * group.
 */
struct status_note {
	struct status_note *next;
	int64_t at_usec;
	char kiosk_id[DB_ID_MAX + 1];
	char body[]; /* the heartbeat as it came, '\0'-terminated */
};

/*
 * The one thread that writes (group commit): uploads and heartbeats that
 * acknowledge commands queue here, their connections suspended; it runs
 * all that are waiting in one transaction, commits it once, syncs the WAL
 * (synchronous=NORMAL, and db_group_commit() syncs unless every request
 * was only a kiosk's status) and only then resumes them with their
 * replies. Nothing acknowledged is answered before it is on disk, and the
 * queue is served in the order it came, kiosk after kiosk. The statuses
 * noted since the last group go first in the next, which comes at most
 * SERVE_STATUS_DELAY_MS after the first of them.
 */
struct writer {
	sqlite3 *db; /* its connection, the one db_open() migrated */
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct request *head, *tail; /* waiting, oldest first */
	bool stop;		     /* take no more; finish those queued */
	struct status_note *statuses, **statuses_end; /* oldest first */
	size_t status_bytes;			      /* their bodies' */
	int64_t status_due_usec;    /* monotonic: the group that stores them */
	unsigned retention_days;    /* 0: no event retention */
	int64_t retention_due_usec; /* monotonic: its next step */
	uint64_t retention_moved;   /* in this catch-up, to say once */
	/*
	 * WAL checkpoints, on a thread and a connection of their own (the
	 * writer's connection never runs one): PASSIVE, so the writer goes
	 * on committing while the pages are copied and the file synced.
	 */
	sqlite3 *checkpoint_db;
	pthread_t checkpoint_thread;
	bool checkpoint_started;
	bool checkpoint_due, checkpoint_stop; /* under lock */
	pthread_cond_t checkpoint_wake;
	int checkpoint_mark; /* the WAL's pages at the last one asked for */
};

/* The connections of the threads that read, closed at the end. */
struct readers {
	pthread_mutex_t lock;
	sqlite3 *db[SERVE_THREADS_MAX + 8];
	unsigned n;
};

struct server {
	const char *db_path;
	struct writer writer;
	struct readers readers;
	/* Faults are taken (counted down) on a connection of their own. */
	sqlite3 *fault_db;
	pthread_mutex_t fault_lock;
	const char *base_path;
	bool client_certs;
	bool v1_only; /* --api 1.0: as a server of before v1.1 */
	atomic_bool stopping;
	struct serve_load load;
	atomic_llong busy_log_usec; /* the last line about the limit, or 0 */
	/* Connections suspended by a fault, each with a thread to resume it. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_done;
	unsigned paused;
};

/* The socket context of a connection taken past the limit. */
static char over_limit;

/* One HTTP request, from its headers to the last byte of its reply. */
struct request {
	int64_t start_usec;
	char method[16];
	char path[SERVE_LOG_PATH_MAX + 1]; /* for the log line */
	char *body;
	size_t body_len, body_cap;
	bool too_large;
	unsigned status;     /* 0: no reply */
	const char *outcome; /* what a fault did, for the log */
	bool v1_only;	     /* the server's --api 1.0 */
	bool close;	     /* Connection: close with the reply */
	/* A delay fault suspended the request after these were taken. */
	bool delayed;
	/* Queued for the writer; written: its reply is in write_reply. */
	bool written;
	struct MHD_Connection *connection;
	struct request *next_write;
	struct api_reply write_reply;
	struct api_route route;
	struct fault fault;
};

/* A reply sent by a callback: cut short, padded past 4 MiB, or trickled. */
struct stream {
	char *body;
	size_t len, stop; /* the body ends at stop: whole, or cut short */
	bool complete;
	struct server *srv; /* for trickle: a stop ends the pauses */
	struct MHD_Connection *connection; /* for trickle: suspended */
	unsigned trickle_ms;		   /* 0, or one byte per this many ms */
	int64_t due_usec; /* trickle: the next byte, monotonic */
};

static void delay(struct server *srv, unsigned ms);
static int pause_connection(struct server *srv,
			    struct MHD_Connection *connection, unsigned ms);

static int64_t monotonic_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t n = 0;
	int64_t now;

	if (pos >= s->stop)
		return s->complete ? MHD_CONTENT_READER_END_OF_STREAM :
				     MHD_CONTENT_READER_END_WITH_ERROR;
	/*
	 * Each call sends what it returns at once: one byte, then a pause,
	 * with the connection suspended (0 returned, called again once
	 * resumed) so that its thread serves the others meanwhile.
	 */
	if (s->trickle_ms) {
		now = monotonic_usec();
		if (pos > 0 && now < s->due_usec) {
			unsigned ms =
				(unsigned)((s->due_usec - now + 999) / 1000);

			if (pause_connection(s->srv, s->connection, ms) == 0)
				return 0;
			delay(s->srv, ms);
		}
		buf[0] = s->body[pos];
		s->due_usec = monotonic_usec() + (int64_t)s->trickle_ms * 1000;
		return 1;
	}
	while (n < max && pos + n < s->stop) {
		size_t at = (size_t)pos + n;

		buf[n++] = at < s->len ? s->body[at] : ' ';
	}
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	if (s) {
		free(s->body);
		free(s);
	}
}

/* The path for a log line: printable, bounded. */
static void copy_for_log(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = src[i] > ' ' && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

/*
 * As copy_for_log(), without what follows "/items/": a v1 item lookup
 * carries the scanned text in its path, and that may be a member card
 * scanned by mistake (issue 19). It is never logged.
 */
static void copy_path_for_log(char *dst, size_t size, const char *src)
{
	const char *items = strstr(src, "/items/");

	copy_for_log(dst, size, src);
	/* Wherever "/items/" begins in what was kept, nothing after it is:
	 * even a few characters of a member card are too many. */
	if (items && (size_t)(items - src) + 1 < size &&
	    strcmp(items, "/items/lookup") != 0)
		snprintf(dst + (items - src), size - (size_t)(items - src),
			 "/items/...");
}

static void request_completed(void *cls, struct MHD_Connection *connection,
			      void **con_cls,
			      enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;
	char status[16];

	if (!r)
		return;
	if (r->status)
		snprintf(status, sizeof(status), "%u", r->status);
	else
		snprintf(status, sizeof(status), "-");
	fprintf(stderr, "lokerhub: %s %s %s %lld ms%s%s%s\n", r->method,
		r->path, status,
		(long long)((db_now_usec() - r->start_usec) / 1000),
		r->outcome ? " (fault: " : "", r->outcome ? r->outcome : "",
		r->outcome ? ")" : "");
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && !r->outcome &&
	    r->status)
		fprintf(stderr,
			"lokerhub: %s %s: the reply was not delivered\n",
			r->method, r->path);
	free(r->write_reply.body);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void add_headers(struct MHD_Response *resp, const struct request *r,
			const char *content_type)
{
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	/* The version of the API this server speaks (v1.1: negotiated). */
	if (!r->v1_only)
		MHD_add_response_header(resp, "Lokerbuku-Sync",
					API_SYNC_VERSION);
}

/* Queues reply (its body taken over) as it is. */
static enum MHD_Result send_reply(struct MHD_Connection *connection,
				  struct request *r, struct api_reply *reply,
				  unsigned retry_after_s)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char value[16];

	resp = MHD_create_response_from_buffer_with_free_callback(
		reply->body_len, reply->body, free);
	if (!resp) {
		free(reply->body);
		return MHD_NO;
	}
	reply->body = NULL;
	add_headers(resp, r, "application/json");
	if (reply->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					reply->allow);
	/* RFC 9110: a 401 names the scheme that would do. */
	if (reply->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer");
	if (retry_after_s) {
		snprintf(value, sizeof(value), "%u", retry_after_s);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
					value);
	}
	if (r->close)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION,
					"close");
	r->status = reply->status;
	ret = MHD_queue_response(connection, reply->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *connection,
				  struct request *r, unsigned status,
				  const char *message, unsigned retry_after_s)
{
	struct api_reply reply = { 0 };

	api_error(&reply, status, message);
	return send_reply(connection, r, &reply, retry_after_s);
}

/*
 * Half of the reply, then the connection closes: a truncated body. Or the
 * reply padded with blanks past what a kiosk may take.
 */
static enum MHD_Result send_stream(struct MHD_Connection *connection,
				   struct request *r, struct api_reply *reply,
				   bool huge)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct MHD_Response *resp;
	enum MHD_Result ret;
	uint64_t total;

	if (!s) {
		free(reply->body);
		return MHD_NO;
	}
	s->body = reply->body;
	s->len = reply->body_len;
	reply->body = NULL;
	/*
	 * Huge goes chunked, without a Content-Length: the kiosk must stop
	 * reading by itself, not merely believe a header.
	 */
	s->complete = huge;
	s->stop = huge ? SERVE_HUGE_BYTES : s->len / 2;
	total = huge ? MHD_SIZE_UNKNOWN : s->len;
	resp = MHD_create_response_from_callback(total, 16 << 10, stream_read,
						 s, stream_free);
	if (!resp) {
		stream_free(s);
		return MHD_NO;
	}
	add_headers(resp, r, "application/json");
	r->status = huge ? 200 : reply->status;
	ret = MHD_queue_response(connection, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * The whole reply with its Content-Length, the headers at once, then the
 * body one byte every ms: a slow-loris server, whose every byte comes in
 * time to keep the connection alive, but not the reply.
 */
static enum MHD_Result send_trickle(struct server *srv,
				    struct MHD_Connection *connection,
				    struct request *r, struct api_reply *reply,
				    unsigned ms)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!s || !reply->body) {
		free(s);
		free(reply->body);
		return MHD_NO;
	}
	*s = (struct stream){ .body = reply->body,
			      .len = reply->body_len,
			      .stop = reply->body_len,
			      .complete = true,
			      .srv = srv,
			      .connection = connection,
			      .trickle_ms = ms };
	reply->body = NULL;
	resp = MHD_create_response_from_callback(s->len, 1, stream_read, s,
						 stream_free);
	if (!resp) {
		stream_free(s);
		return MHD_NO;
	}
	add_headers(resp, r, "application/json");
	r->status = reply->status;
	ret = MHD_queue_response(connection, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/*
 * With --client-ca: the connection's certificate must verify against it,
 * and its common name must be the kiosk's id. A message, or NULL when fine.
 */
static const char *check_client_cert(struct MHD_Connection *connection,
				     const char *kiosk_id)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(
		connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	const gnutls_datum_t *certs;
	gnutls_session_t session;
	gnutls_x509_crt_t crt;
	char cn[256];
	size_t cn_len = sizeof(cn);
	unsigned status = 0, n = 0;
	int rc;

	if (!info || !info->tls_session)
		return "no TLS session";
	session = (gnutls_session_t)info->tls_session;
	certs = gnutls_certificate_get_peers(session, &n);
	if (!certs || n == 0)
		return "a client certificate is required";
	if (gnutls_certificate_verify_peers2(session, &status) < 0 ||
	    status != 0)
		return "the client certificate is not from the library's CA";
	if (gnutls_x509_crt_init(&crt) < 0)
		return "cannot read the client certificate";
	rc = gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER);
	if (rc == 0)
		rc = gnutls_x509_crt_get_dn_by_oid(
			crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &cn_len);
	gnutls_x509_crt_deinit(crt);
	if (rc < 0)
		return "the client certificate has no common name";
	if (strlen(cn) != cn_len || strcmp(cn, kiosk_id) != 0)
		return "the client certificate is another kiosk's";
	return NULL;
}

/* Sleeps ms, but no longer than until a stop is asked for. */
static void delay(struct server *srv, unsigned ms)
{
	while (ms > 0 && !atomic_load(&srv->stopping)) {
		unsigned step =
			ms < SERVE_DELAY_STEP_MS ? ms : SERVE_DELAY_STEP_MS;
		struct timespec ts = { .tv_nsec = (long)step * 1000000L };

		nanosleep(&ts, NULL);
		ms -= step;
	}
}

struct pause {
	struct server *srv;
	struct MHD_Connection *connection;
	unsigned ms;
};

static void *pause_run(void *arg)
{
	struct pause *p = arg;
	struct server *srv = p->srv;

	delay(srv, p->ms);
	MHD_resume_connection(p->connection);
	free(p);
	pthread_mutex_lock(&srv->pause_lock);
	if (--srv->paused == 0)
		pthread_cond_broadcast(&srv->pause_done);
	pthread_mutex_unlock(&srv->pause_lock);
	return NULL;
}

/*
 * Suspends connection for ms (from its request or reply callback), to be
 * resumed by a thread of its own: the fault waits, not the thread that
 * serves this and other connections. 0, or -errno when it cannot (too
 * many pauses, stopping): then the caller waits in place.
 */
static int pause_connection(struct server *srv,
			    struct MHD_Connection *connection, unsigned ms)
{
	struct pause *p = malloc(sizeof(*p));
	pthread_attr_t attr;
	pthread_t thread;
	int err = 0;

	if (!p)
		return -ENOMEM;
	*p = (struct pause){ .srv = srv, .connection = connection, .ms = ms };
	pthread_mutex_lock(&srv->pause_lock);
	if (atomic_load(&srv->stopping))
		err = -ECANCELED;
	else if (srv->paused >= SERVE_PAUSES_MAX)
		err = -EAGAIN;
	else
		srv->paused++;
	pthread_mutex_unlock(&srv->pause_lock);
	if (err < 0) {
		free(p);
		return err;
	}
	/* Suspended before the thread exists: it cannot resume too early. */
	MHD_suspend_connection(connection);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = -pthread_create(&thread, &attr, pause_run, p);
	pthread_attr_destroy(&attr);
	if (err < 0) {
		MHD_resume_connection(connection);
		free(p);
		pthread_mutex_lock(&srv->pause_lock);
		if (--srv->paused == 0)
			pthread_cond_broadcast(&srv->pause_done);
		pthread_mutex_unlock(&srv->pause_lock);
	}
	return err;
}

/* libmicrohttpd stops only with no connection suspended: waits for them. */
static void pause_wait_all(struct server *srv)
{
	pthread_mutex_lock(&srv->pause_lock);
	while (srv->paused > 0)
		pthread_cond_wait(&srv->pause_done, &srv->pause_lock);
	pthread_mutex_unlock(&srv->pause_lock);
}

/* This thread's connection for reads, opened at its first request. */
static _Thread_local sqlite3 *thread_reader;

/*
 * A request is read in one transaction of its thread's connection, from
 * its authorisation to its reply (answer() begins it): each transaction
 * takes and lets go of a lock in the WAL's shared memory (two fcntl
 * calls), and one that finds the database changed empties the
 * connection's page cache. Ends it, if open, and passes result on.
 */
static enum MHD_Result read_end(enum MHD_Result result)
{
	if (thread_reader && !sqlite3_get_autocommit(thread_reader))
		db_run(thread_reader, "COMMIT", "");
	return result;
}

static sqlite3 *reader(struct server *srv)
{
	sqlite3 *db;

	if (thread_reader)
		return thread_reader;
	if (db_open_reader(srv->db_path, &db) < 0)
		return NULL;
	pthread_mutex_lock(&srv->readers.lock);
	if (srv->readers.n <
	    sizeof(srv->readers.db) / sizeof(srv->readers.db[0])) {
		srv->readers.db[srv->readers.n++] = db;
		thread_reader = db;
	}
	pthread_mutex_unlock(&srv->readers.lock);
	if (!thread_reader) {
		fprintf(stderr, "lokerhub: more threads read than expected\n");
		db_close(db);
	}
	return thread_reader;
}

/*
 * The fault for this request, if a test asked for one: looked for on the
 * reader (no fault: no write, the usual case), counted down on the fault
 * connection.
 */
static int take_fault(struct server *srv, sqlite3 *db, const char *endpoint,
		      struct fault *ret)
{
	int64_t any = 0;
	int err;

	err = db_get_int(db, &any,
			 "SELECT EXISTS (SELECT 1 FROM faults"
			 " WHERE endpoint IN (?, 'any'))",
			 "s", endpoint);
	if (err < 0 || !any)
		return err;
	pthread_mutex_lock(&srv->fault_lock);
	err = fault_take(srv->fault_db, endpoint, ret);
	pthread_mutex_unlock(&srv->fault_lock);
	return err;
}

static bool is_write(enum api_endpoint e)
{
	switch (e) {
	case API_ENDPOINT_EVENTS:
	case API_ENDPOINT_STATUS:
		return true;
	case API_ENDPOINT_CHANGES:
	case API_ENDPOINT_ITEMS:
	case API_ENDPOINT_ITEM_LOOKUP:
		return false;
	}
	return true;
}

/*
 * Hands r to the writer, its connection suspended until its reply is
 * durable. -ESHUTDOWN once the server stops.
 */
static int writer_queue(struct server *srv, struct MHD_Connection *connection,
			struct request *r)
{
	struct writer *w = &srv->writer;

	pthread_mutex_lock(&w->lock);
	if (w->stop) {
		pthread_mutex_unlock(&w->lock);
		return -ESHUTDOWN;
	}
	/* Suspended first: the writer may resume it at once. */
	MHD_suspend_connection(connection);
	r->connection = connection;
	r->next_write = NULL;
	if (w->tail)
		w->tail->next_write = r;
	else
		w->head = r;
	w->tail = r;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/*
 * Notes a kiosk's status for the writer's next group, a heartbeat's
 * answered on a reader: 0, or -ENOBUFS when SERVE_STATUS_BYTES_MAX are
 * waiting already (the writer is behind: the heartbeat is then queued as
 * a write), -ESHUTDOWN once the server stops, -ENOMEM.
 */
static int writer_note_status(struct server *srv, const char *kiosk_id,
			      int64_t at_usec, const char *body, size_t len)
{
	struct writer *w = &srv->writer;
	struct status_note *n = malloc(sizeof(*n) + len + 1);
	int err = 0;

	if (!n)
		return -ENOMEM;
	n->next = NULL;
	n->at_usec = at_usec;
	snprintf(n->kiosk_id, sizeof(n->kiosk_id), "%s", kiosk_id);
	memcpy(n->body, body, len);
	n->body[len] = '\0';
	pthread_mutex_lock(&w->lock);
	if (w->stop)
		err = -ESHUTDOWN;
	else if (w->status_bytes + len > SERVE_STATUS_BYTES_MAX)
		err = -ENOBUFS;
	if (err == 0) {
		if (!w->statuses) {
			w->status_due_usec = monotonic_usec() +
					     SERVE_STATUS_DELAY_MS * 1000LL;
			pthread_cond_signal(&w->wake); /* for its due time */
		}
		*w->statuses_end = n;
		w->statuses_end = &n->next;
		w->status_bytes += len;
	}
	pthread_mutex_unlock(&w->lock);
	if (err < 0)
		free(n);
	return err;
}

/*
 * One group: the statuses noted, then every request taken, in one
 * transaction, committed once. A status that fails is logged (db_run)
 * and left: the kiosk's next heartbeat says it again.
 */
static void writer_run_group(struct server *srv, struct status_note *statuses,
			     struct request *group)
{
	sqlite3 *db = srv->writer.db;
	bool durable = false;
	unsigned n = 0;
	int err;

	err = db_group_begin(db);
	for (struct status_note *s = statuses; s && err == 0; s = s->next) {
		if (!db_group_is_open(db))
			err = -EIO;
		else
			(void)api_status_store(db, s->kiosk_id, s->at_usec,
					       s->body);
	}
	for (struct request *r = group; r; r = r->next_write) {
		n++;
		if (err == 0 && !db_group_is_open(db))
			err = -EIO; /* lost to a hard error: none is kept */
		if (err < 0)
			continue;
		api_handle(db, &r->route, NULL, NULL, r->body ? r->body : "",
			   r->body_len, &r->write_reply);
		durable |= !r->write_reply.status_only;
	}
	if (err == 0)
		err = db_group_commit(db, durable);
	else
		db_group_rollback(db);
	atomic_fetch_add(&srv->load.writes, n);
	atomic_fetch_add(&srv->load.write_groups, 1);
	for (struct request *r = group; r; r = r->next_write) {
		if (err < 0) {
			free(r->write_reply.body);
			r->write_reply = (struct api_reply){ 0 };
			api_error(&r->write_reply, 500, "database error");
		}
	}
}

/*
 * One step of event retention when it is due: between groups, so that
 * it never makes a write wait for more than one short transaction.
 */
static void writer_retain(struct server *srv)
{
	struct writer *w = &srv->writer;
	int64_t now = monotonic_usec();
	int moved;

	if (!w->retention_days || now < w->retention_due_usec)
		return;
	moved = retention_step(w->db,
			       db_now_usec() - (int64_t)w->retention_days *
						       86400 * 1000000);
	if (moved > 0) {
		w->retention_moved += (unsigned)moved;
		atomic_fetch_add(&srv->load.events_archived, (unsigned)moved);
	}
	if (moved < RETENTION_STEP_EVENTS && w->retention_moved) {
		fprintf(stderr,
			"lokerhub: event retention: %llu events older than %u days moved to the archive\n",
			(unsigned long long)w->retention_moved,
			w->retention_days);
		w->retention_moved = 0;
	}
	w->retention_due_usec = now + (moved == RETENTION_STEP_EVENTS ?
					       SERVE_RETENTION_BUSY_MS :
					       SERVE_RETENTION_IDLE_MS) *
					      1000LL;
}

/* The next retention step or group of statuses, monotonic; or 0. */
static int64_t writer_due(const struct writer *w)
{
	int64_t due = w->retention_days ? w->retention_due_usec : 0;

	if (w->statuses && (!due || w->status_due_usec < due))
		due = w->status_due_usec;
	return due;
}

/* Waits for writes, or until the next retention step or group is due. */
static void writer_wait(struct writer *w)
{
	struct timespec ts;
	int64_t due = writer_due(w);

	if (!due) {
		pthread_cond_wait(&w->wake, &w->lock);
		return;
	}
	ts.tv_sec = (time_t)(due / 1000000);
	ts.tv_nsec = (long)(due % 1000000) * 1000;
	pthread_cond_timedwait(&w->wake, &w->lock, &ts);
}

static void *writer_thread(void *arg)
{
	struct server *srv = arg;
	struct writer *w = &srv->writer;

	for (;;) {
		struct request *group = NULL, *last, *next;
		struct status_note *statuses;
		unsigned n = 1;
		int64_t due;

		writer_retain(srv);
		pthread_mutex_lock(&w->lock);
		while (!w->head && !w->stop &&
		       (!(due = writer_due(w)) || monotonic_usec() < due))
			writer_wait(w);
		if (!w->head && !w->stop &&
		    (!w->statuses || monotonic_usec() < w->status_due_usec)) {
			pthread_mutex_unlock(&w->lock);
			continue; /* a retention step is due */
		}
		if (!w->head && !w->statuses) {
			pthread_mutex_unlock(&w->lock);
			break; /* stopped, and nothing is left */
		}
		/* Everything waiting, up to the bound, oldest first. */
		if (w->head) {
			group = last = w->head;
			while (last->next_write && n < SERVE_GROUP_MAX) {
				last = last->next_write;
				n++;
			}
			w->head = last->next_write;
			if (!w->head)
				w->tail = NULL;
			last->next_write = NULL;
		}
		statuses = w->statuses;
		w->statuses = NULL;
		w->statuses_end = &w->statuses;
		w->status_bytes = 0;
		pthread_mutex_unlock(&w->lock);

		writer_run_group(srv, statuses, group);
		while (statuses) {
			struct status_note *s = statuses;

			statuses = s->next;
			free(s);
		}
		for (struct request *r = group; r; r = next) {
			next = r->next_write;
			r->written = true;
			MHD_resume_connection(r->connection);
		}
	}
	return NULL;
}

/*
 * After each of the writer's commits, with the pages now in the WAL.
 * SQLite's own checkpoint would run here, in the commit: it copies the
 * pages into the database and syncs both files, and every write queued
 * meanwhile waits for the disk (1 % of 10,000 kiosks' heartbeats were
 * 150 ms late). Every SERVE_CHECKPOINT_PAGES new pages the checkpointer
 * is woken instead. Should it fall behind as far as SERVE_WAL_PAGES_MAX,
 * the writer checkpoints itself, so that the WAL stays bounded.
 */
static int writer_committed(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct writer *w = arg;

	if (pages >= SERVE_WAL_PAGES_MAX) {
		(void)sqlite3_wal_checkpoint_v2(
			db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		w->checkpoint_mark = 0;
		return SQLITE_OK;
	}
	if (pages < w->checkpoint_mark)
		w->checkpoint_mark = 0; /* the WAL started again */
	if (pages - w->checkpoint_mark >= SERVE_CHECKPOINT_PAGES) {
		w->checkpoint_mark = pages;
		pthread_mutex_lock(&w->lock);
		w->checkpoint_due = true;
		pthread_cond_signal(&w->checkpoint_wake);
		pthread_mutex_unlock(&w->lock);
	}
	return SQLITE_OK;
}

static void *checkpoint_thread(void *arg)
{
	struct writer *w = arg;
	int log = 0, done = 0, rc;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->checkpoint_due && !w->checkpoint_stop)
			pthread_cond_wait(&w->checkpoint_wake, &w->lock);
		if (w->checkpoint_stop)
			break;
		w->checkpoint_due = false;
		pthread_mutex_unlock(&w->lock);
		rc = sqlite3_wal_checkpoint_v2(w->checkpoint_db, "main",
					       SQLITE_CHECKPOINT_PASSIVE, &log,
					       &done);
		/* SQLITE_BUSY: the writer's own, past the bound, is running. */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			fprintf(stderr,
				"lokerhub: checkpoint of the WAL (%d pages): %s\n",
				log, sqlite3_errmsg(w->checkpoint_db));
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static int writer_start(struct server *srv, sqlite3 *db, unsigned days)
{
	struct writer *w = &srv->writer;
	int err;

	w->db = db;
	w->statuses_end = &w->statuses;
	w->retention_days = days;
	w->retention_due_usec = monotonic_usec();
	/*
	 * A heartbeat's status alone is committed without a sync: the WAL
	 * is synced for the next group that needs it, and by each
	 * checkpoint. A power cut may lose the statuses written since (the
	 * next heartbeats say them again); WAL keeps the database whole.
	 */
	if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "lokerhub: database: %s\n", sqlite3_errmsg(db));
		return -EIO;
	}
	if (db_open(srv->db_path, false, &w->checkpoint_db) < 0)
		return -EIO;
	err = pthread_create(&w->checkpoint_thread, NULL, checkpoint_thread, w);
	if (err) {
		fprintf(stderr, "lokerhub: cannot start the checkpointer: %s\n",
			strerror(err));
		return -err;
	}
	w->checkpoint_started = true;
	/* From here on, only the checkpointer copies the WAL back. */
	sqlite3_wal_hook(db, writer_committed, w);
	err = pthread_create(&w->thread, NULL, writer_thread, srv);
	if (err) {
		fprintf(stderr, "lokerhub: cannot start the writer: %s\n",
			strerror(err));
		return -err;
	}
	w->started = true;
	return 0;
}

/* Takes no more writes, answers those queued, and waits for it. */
static void writer_stop(struct server *srv)
{
	struct writer *w = &srv->writer;

	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	if (w->started)
		pthread_join(w->thread, NULL);
	w->started = false;
	/* No commit wakes it now. */
	pthread_mutex_lock(&w->lock);
	w->checkpoint_stop = true;
	pthread_cond_signal(&w->checkpoint_wake);
	pthread_mutex_unlock(&w->lock);
	if (w->checkpoint_started)
		pthread_join(w->checkpoint_thread, NULL);
	w->checkpoint_started = false;
	db_close(w->checkpoint_db);
	w->checkpoint_db = NULL;
}

static enum MHD_Result answer_rest(struct server *srv,
				   struct MHD_Connection *connection,
				   struct request *r);
static enum MHD_Result send_answer(struct server *srv,
				   struct MHD_Connection *connection,
				   struct request *r, struct api_reply *reply);

/* The whole request is in: route, check, answer (or misbehave, if told). */
static enum MHD_Result answer(struct server *srv,
			      struct MHD_Connection *connection,
			      struct request *r, const char *url)
{
	struct api_reply reply = { 0 };
	struct api_route *route = &r->route;
	struct fault *fault = &r->fault;
	const char *auth, *why;
	sqlite3 *db;
	int err;

	if (r->too_large)
		return send_error(connection, r, 413,
				  "the request body is over 1 MiB", 0);
	if (api_route(srv->base_path, r->method, url, route, &reply) < 0)
		return send_reply(connection, r, &reply, 0);
	if (!srv->v1_only)
		route->kiosk_minor =
			protocol_minor_version(MHD_lookup_connection_value(
				connection, MHD_HEADER_KIND, "Lokerbuku-Sync"));
	/* A v1 server knows items/lookup only as the barcode "lookup". */
	if (srv->v1_only && route->endpoint == API_ENDPOINT_ITEM_LOOKUP) {
		reply.allow = "GET";
		api_error(&reply, 405, "method not allowed here");
		return send_reply(connection, r, &reply, 0);
	}
	if (srv->client_certs) {
		why = check_client_cert(connection, route->kiosk_id);
		if (why)
			return send_error(connection, r, 403, why, 0);
	}
	auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_AUTHORIZATION);
	db = reader(srv);
	if (!db || db_run(db, "BEGIN", "") < 0)
		return send_error(connection, r, 500, "database error", 0);
	err = api_authorize(db, route, auth, &reply);
	if (err == 0)
		err = take_fault(srv, db, api_endpoint_name(route->endpoint),
				 fault);
	if (err == -EIO)
		return send_error(connection, r, 500, "database error", 0);
	if (err < 0)
		return send_reply(connection, r, &reply, 0);

	if (fault->kind != FAULT_KIND_NONE)
		r->outcome = fault_kind_name(fault->kind);
	switch (fault->kind) {
	case FAULT_KIND_500:
		return send_error(connection, r, 500, "injected fault", 0);
	case FAULT_KIND_400:
		return send_error(connection, r, 400, "injected fault", 0);
	case FAULT_KIND_503:
		return send_error(connection, r, 503, "injected fault",
				  fault->retry_after_s);
	case FAULT_KIND_429:
		return send_error(connection, r, 429, "injected fault",
				  fault->retry_after_s);
	case FAULT_KIND_DROP:
		return MHD_NO;
	case FAULT_KIND_DELAY:
		/* Called again once resumed: answer_rest() then. */
		r->delayed = true;
		if (pause_connection(srv, connection, fault->delay_ms) == 0)
			return MHD_YES;
		r->delayed = false;
		delay(srv, fault->delay_ms);
		break;
	case FAULT_KIND_NONE:
	case FAULT_KIND_DROP_AFTER:
	case FAULT_KIND_TRUNCATE:
	case FAULT_KIND_GARBAGE:
	case FAULT_KIND_HUGE:
	case FAULT_KIND_TRICKLE:
		break;
	}
	return answer_rest(srv, connection, r);
}

/* The request is authorised, its fault taken: handle it, reply. */
static enum MHD_Result answer_rest(struct server *srv,
				   struct MHD_Connection *connection,
				   struct request *r)
{
	struct api_reply reply = { 0 };
	const struct api_route *route = &r->route;
	sqlite3 *db;

	db = reader(srv);
	if (!db)
		return send_error(connection, r, 500, "database error", 0);
	/*
	 * A heartbeat that writes only the kiosk's status is answered here:
	 * the status waits in memory for the writer's next group (a second
	 * at most). Nothing it acknowledges is at stake, its next heartbeat
	 * says it again, and no commit now means none of the readers'
	 * caches is emptied by it.
	 */
	if (route->endpoint == API_ENDPOINT_STATUS && r->body) {
		int64_t now = db_now_usec();

		if (api_status_answer(db, route, r->body, r->body_len, now,
				      &reply)) {
			if (writer_note_status(srv, route->kiosk_id, now,
					       r->body, r->body_len) == 0)
				return send_answer(srv, connection, r, &reply);
			free(reply.body); /* the writer is behind: it writes it */
			reply = (struct api_reply){ 0 };
		}
	}
	/* A write waits for its group's commit; its thread does not. */
	if (is_write(route->endpoint)) {
		if (writer_queue(srv, connection, r) == 0)
			return MHD_YES;
		r->close = true;
		return send_error(connection, r, 503, "the server is stopping",
				  SERVE_BUSY_RETRY_MIN_S);
	}
	api_handle(db, route,
		   MHD_lookup_connection_value(connection,
					       MHD_GET_ARGUMENT_KIND, "cursor"),
		   MHD_lookup_connection_value(connection,
					       MHD_GET_ARGUMENT_KIND, "limit"),
		   r->body ? r->body : "", r->body_len, &reply);
	return send_answer(srv, connection, r, &reply);
}

/* The reply, as the request's fault (if any) says to send it. */
static enum MHD_Result send_answer(struct server *srv,
				   struct MHD_Connection *connection,
				   struct request *r,
				   struct api_reply *reply_in)
{
	struct api_reply reply = *reply_in;
	const struct fault *fault = &r->fault;

	*reply_in = (struct api_reply){ 0 };
	switch (fault->kind) {
	case FAULT_KIND_DROP_AFTER:
		/* Done and durable, but the client never hears of it. */
		r->status = reply.status;
		free(reply.body);
		return MHD_NO;
	case FAULT_KIND_TRUNCATE:
		return send_stream(connection, r, &reply, false);
	case FAULT_KIND_HUGE:
		return send_stream(connection, r, &reply, true);
	case FAULT_KIND_TRICKLE:
		return send_trickle(srv, connection, r, &reply,
				    fault->delay_ms);
	case FAULT_KIND_GARBAGE:
		free(reply.body);
		reply.body = strdup(garbage_body);
		reply.body_len = reply.body ? strlen(reply.body) : 0;
		reply.status = 200;
		reply.allow = NULL;
		if (!reply.body)
			return MHD_NO;
		return send_reply(connection, r, &reply, 0);
	case FAULT_KIND_NONE:
	case FAULT_KIND_400:
	case FAULT_KIND_500:
	case FAULT_KIND_503:
	case FAULT_KIND_429:
	case FAULT_KIND_DROP:
	case FAULT_KIND_DELAY:
		break;
	}
	return send_reply(connection, r, &reply, 0);
}

/*
 * Counts the connections open. One taken past the limit is marked, and
 * its request answered 503 (a kiosk knows to come back after Retry-After),
 * not left to time out in the listen queue.
 */
static void notify_connection(void *cls, struct MHD_Connection *connection,
			      void **socket_context,
			      enum MHD_ConnectionNotificationCode code)
{
	struct server *srv = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		if (atomic_fetch_add(&srv->load.open, 1) + 1 > srv->load.limit)
			*socket_context = &over_limit;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		atomic_fetch_sub(&srv->load.open, 1);
	}
}

/* A request on a connection past the limit: 503, said once a minute. */
static enum MHD_Result send_busy(struct server *srv,
				 struct MHD_Connection *connection,
				 struct request *r)
{
	unsigned long long n = atomic_fetch_add(&srv->load.refused, 1) + 1;
	long long now = monotonic_usec(), last;
	char message[128];

	last = atomic_load(&srv->busy_log_usec);
	if ((last == 0 || now - last >= SERVE_BUSY_LOG_USEC) &&
	    atomic_compare_exchange_strong(&srv->busy_log_usec, &last, now))
		fprintf(stderr,
			"lokerhub: %u connections open, over the limit of %u (--max-connections): new ones are answered 503 with Retry-After (%llu so far)\n",
			atomic_load(&srv->load.open), srv->load.limit, n);
	snprintf(message, sizeof(message),
		 "the server holds its limit of %u connections",
		 srv->load.limit);
	r->close = true;
	return send_error(connection, r, 503, message,
			  SERVE_BUSY_RETRY_MIN_S +
				  arc4random_uniform(SERVE_BUSY_RETRY_SPAN_S));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct request *r = *con_cls;
	const union MHD_ConnectionInfo *info;
	const char *length;

	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->start_usec = db_now_usec();
		r->v1_only = srv->v1_only;
		copy_for_log(r->method, sizeof(r->method), method);
		copy_path_for_log(r->path, sizeof(r->path), url);
		*con_cls = r;
		info = MHD_get_connection_info(
			connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		if (info && info->socket_context == &over_limit)
			return send_busy(srv, connection, r);
		/* Said too large up front: no need to read it first. */
		length = MHD_lookup_connection_value(
			connection, MHD_HEADER_KIND,
			MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (length && strtoull(length, NULL, 10) > API_BODY_MAX) {
			r->too_large = true;
			return send_error(connection, r, 413,
					  "the request body is over 1 MiB", 0);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->too_large || r->body_len + n > API_BODY_MAX) {
			r->too_large = true;
			return MHD_YES;
		}
		if (r->body_len + n + 1 > r->body_cap) {
			size_t cap = r->body_cap ? r->body_cap : 4096;
			char *p;

			while (cap < r->body_len + n + 1)
				cap *= 2;
			p = realloc(r->body, cap);
			if (!p)
				return MHD_NO;
			r->body = p;
			r->body_cap = cap;
		}
		memcpy(r->body + r->body_len, upload_data, n);
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	if (r->status)
		return MHD_YES; /* answered already (413, 503 up front) */
	if (r->delayed) {
		r->delayed = false;
		return read_end(answer_rest(srv, connection, r));
	}
	if (r->written) {
		r->written = false;
		return send_answer(srv, connection, r, &r->write_reply);
	}
	return read_end(answer(srv, connection, r, url));
}

/*
 * Paths and query values come to us still escaped: a barcode may hold an
 * escaped '/', which must not split the path. api.c decodes each part.
 */
static size_t keep_escaped(void *cls, struct MHD_Connection *c, char *s)
{
	return strlen(s);
}

static char *read_pem(const char *path)
{
	struct stat st;
	char *text;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "lokerhub: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > SERVE_PEM_MAX) {
		fprintf(stderr,
			"lokerhub: %s: not a PEM file of at most 64 KiB\n",
			path);
		close(fd);
		return NULL;
	}
	text = calloc(1, (size_t)st.st_size + 1);
	n = text ? read(fd, text, (size_t)st.st_size) : -1;
	close(fd);
	if (n != st.st_size) {
		fprintf(stderr, "lokerhub: %s: cannot read it\n", path);
		free(text);
		return NULL;
	}
	return text;
}

/* ADDR:PORT or [ADDR6]:PORT, numeric only. */
int serve_parse_listen(const char *text, struct sockaddr_storage *ret,
		       bool *ret_v6)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	unsigned long port;
	char *end;
	size_t n;

	if (!colon)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || port > 65535)
		return -EINVAL;
	n = (size_t)(colon - text);
	if (n >= 2 && text[0] == '[' && text[n - 1] == ']') {
		text++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ret)->sin_addr) ==
	    1) {
		((struct sockaddr_in *)ret)->sin_family = AF_INET;
		((struct sockaddr_in *)ret)->sin_port = htons((uint16_t)port);
		*ret_v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, host,
		      &((struct sockaddr_in6 *)ret)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)ret)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)ret)->sin6_port = htons((uint16_t)port);
		*ret_v6 = true;
		return 0;
	}
	return -EINVAL;
}

/* The port in path, whole or not at all: tests wait for the file. */
int serve_write_port_file(const char *path, unsigned port)
{
	char tmp[4096];
	FILE *f;
	int err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	if (fprintf(f, "%u\n", port) < 0 || fflush(f) != 0 ||
	    fsync(fileno(f)) < 0)
		err = -errno ?: -EIO;
	if (fclose(f) != 0 && err == 0)
		err = -errno;
	if (err == 0 && rename(tmp, path) < 0)
		err = -errno;
	if (err < 0)
		unlink(tmp);
	return err;
}

/* libmicrohttpd's format and arguments, as its MHD_LogCallback passes them. */
__attribute__((format(printf, 2, 0))) static void
log_mhd(void *cls, const char *fmt, va_list ap)
{
	fputs("lokerhub: libmicrohttpd: ", stderr);
	vfprintf(stderr, fmt, ap);
}

/*
 * The connection limit the descriptors allow: the soft limit raised to the
 * hard one first, and want lowered, with one line, when that is too few.
 */
static unsigned fit_connection_limit(unsigned want)
{
	const rlim_t other = SERVE_CONNECTIONS_SPARE + SERVE_FDS_RESERVED;
	struct rlimit rl;
	rlim_t fit;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return want;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want + other)
		return want;
	fit = rl.rlim_cur > other + 1 ? rl.rlim_cur - other : 1;
	fprintf(stderr,
		"lokerhub: at most %llu connections, not %u: the process may open %llu files (raise LimitNOFILE= or ulimit -Hn)\n",
		(unsigned long long)fit, want, (unsigned long long)rl.rlim_cur);
	return (unsigned)fit;
}

unsigned serve_threads_default(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	if (n < 1)
		return 1;
	return n < SERVE_THREADS_DEFAULT_MAX ? (unsigned)n :
					       SERVE_THREADS_DEFAULT_MAX;
}

int serve_run(sqlite3 *db, const struct serve_options *o)
{
	struct server srv = { .db_path = sqlite3_db_filename(db, "main"),
			      .base_path = o->base_path,
			      .client_certs = o->client_ca_file != NULL,
			      .v1_only = o->v1_only,
			      .load.limit = o->max_connections };
	char *cert = NULL, *key = NULL, *trust = NULL;
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage addr;
	struct MHD_Daemon *d = NULL;
	struct fleet_server *fleet = NULL;
	char host[INET6_ADDRSTRLEN];
	unsigned flags;
	sigset_t mask;
	bool v6 = false;
	int sig = 0, status = 1;

	sqlite3 *fleet_db = NULL;
	pthread_mutex_t fleet_lock;
	pthread_condattr_t cattr;

	/* The writer's timed waits (event retention) are monotonic. */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_mutex_init(&srv.writer.lock, NULL);
	pthread_cond_init(&srv.writer.wake, &cattr);
	pthread_condattr_destroy(&cattr);
	pthread_cond_init(&srv.writer.checkpoint_wake, NULL);
	pthread_mutex_init(&srv.readers.lock, NULL);
	pthread_mutex_init(&srv.fault_lock, NULL);
	pthread_mutex_init(&fleet_lock, NULL);
	pthread_mutex_init(&srv.pause_lock, NULL);
	pthread_cond_init(&srv.pause_done, NULL);
	if (serve_parse_listen(o->listen, &addr, &v6) < 0) {
		fprintf(stderr,
			"lokerhub: --listen %s: not ADDR:PORT (numeric, e.g. 127.0.0.1:8443 or [::1]:8443)\n",
			o->listen);
		goto out;
	}
	cert = read_pem(o->cert_file);
	key = cert ? read_pem(o->key_file) : NULL;
	if (!key)
		goto out;
	if (o->client_ca_file) {
		trust = read_pem(o->client_ca_file);
		if (!trust)
			goto out;
	}

	if (!srv.db_path || !srv.db_path[0] ||
	    db_open(srv.db_path, false, &srv.fault_db) < 0)
		goto out;

	/* Every thread MHD starts inherits this: only sigwait() sees them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (writer_start(&srv, db, o->event_retention_days) < 0)
		goto out;

	srv.load.limit = fit_connection_limit(srv.load.limit);
	/*
	 * A few threads, each polling its share of the connections with
	 * epoll: an idle kiosk costs a descriptor and its TLS session, not a
	 * thread. A fault's pause suspends its connection, not a thread.
	 * MHD's own limit is above ours, so that those past ours are taken
	 * and answered 503, not left unanswered in the listen queue.
	 */
	/* One thread is MHD's own, without a pool (it warns of a pool of 1). */
	struct MHD_OptionItem pool[] = {
		{ o->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
		  (intptr_t)o->threads, NULL },
		{ MHD_OPTION_END, 0, NULL },
	};
	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_TLS | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	d = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, &srv,
		/* First, or MHD's own logger has its say before it. */
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_SOCK_ADDR,
		&addr, MHD_OPTION_HTTPS_MEM_CERT, cert,
		MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_PRIORITIES,
		SERVE_TLS_PRIORITIES, MHD_OPTION_ARRAY, pool,
		MHD_OPTION_CONNECTION_LIMIT,
		srv.load.limit + (unsigned)SERVE_CONNECTIONS_SPARE,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SERVE_IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)SERVE_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_CONNECTION,
		notify_connection, &srv, MHD_OPTION_NOTIFY_COMPLETED,
		request_completed, &srv, MHD_OPTION_UNESCAPE_CALLBACK,
		keep_escaped, NULL,
		trust ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, trust,
		MHD_OPTION_END);
	if (!d) {
		fprintf(stderr,
			"lokerhub: cannot serve on %s (port in use, or the certificate and key do not match?)\n",
			o->listen);
		goto out;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (!info || !info->port) {
		fprintf(stderr, "lokerhub: cannot tell which port is ours\n");
		goto out;
	}
	if (o->port_file) {
		int err = serve_write_port_file(o->port_file, info->port);

		if (err < 0) {
			fprintf(stderr, "lokerhub: %s: %s\n", o->port_file,
				strerror(-err));
			goto out;
		}
	}
	if (v6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&addr)->sin6_addr,
			  host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&addr)->sin_addr,
			  host, sizeof(host));
	fprintf(stderr,
		"lokerhub: serving https://%s%s%s:%u%s/kiosks/...%s, at most %u connections, %u thread%s (pid %d)\n",
		v6 ? "[" : "", host, v6 ? "]" : "", info->port, o->base_path,
		trust ? ", client certificates required" : "", srv.load.limit,
		o->threads, o->threads == 1 ? "" : "s", (int)getpid());
	if (o->fleet_listen) {
		/* The status page reads on a connection of its own. */
		if (db_open_reader(srv.db_path, &fleet_db) < 0)
			goto out;
		fleet = fleet_server_start(fleet_db, &fleet_lock, &srv.load,
					   o->fleet_listen, o->fleet_port_file);
		if (!fleet)
			goto out;
	}
	while (sigwait(&mask, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	fprintf(stderr, "lokerhub: %s: stopping\n", strsignal(sig));
	status = 0;
out:
	atomic_store(&srv.stopping, true);
	/* Every write queued is answered (and no more taken) before MHD
	 * stops: it must not stop with a connection suspended. */
	writer_stop(&srv);
	pause_wait_all(&srv);
	fleet_server_stop(fleet);
	if (d)
		MHD_stop_daemon(d);
	for (unsigned i = 0; i < srv.readers.n; i++)
		db_close(srv.readers.db[i]);
	db_close(srv.fault_db);
	db_close(fleet_db);
	free(cert);
	if (key)
		explicit_bzero(key, strlen(key));
	free(key);
	free(trust);
	pthread_cond_destroy(&srv.pause_done);
	pthread_mutex_destroy(&srv.pause_lock);
	pthread_mutex_destroy(&fleet_lock);
	pthread_mutex_destroy(&srv.fault_lock);
	pthread_mutex_destroy(&srv.readers.lock);
	pthread_cond_destroy(&srv.writer.checkpoint_wake);
	pthread_cond_destroy(&srv.writer.wake);
	pthread_mutex_destroy(&srv.writer.lock);
	db_close(db);
	return status;
}
