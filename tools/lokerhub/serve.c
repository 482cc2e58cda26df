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
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "fault.h"
#include "fleet.h"
#include "protocol.h"
#include "serve.h"

#define SERVE_PEM_MAX	    (64u << 10)
#define SERVE_LOG_PATH_MAX  160
#define SERVE_HUGE_BYTES    ((4u << 20) + (64u << 10))
#define SERVE_DELAY_STEP_MS 50
/* TLS 1.2 at least, as the API asks. */
#define SERVE_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

static const char garbage_body[] = "<html><body>Bad gateway?</body></html>";

struct server {
	sqlite3 *db;
	pthread_mutex_t
		db_lock; /* one connection, used by one thread at once */
	const char *base_path;
	bool client_certs;
	bool v1_only; /* --api 1.0: as a server of before v1.1 */
	atomic_bool stopping;
};

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
};

/* A reply sent by a callback: cut short, padded past 4 MiB, or trickled. */
struct stream {
	char *body;
	size_t len, stop; /* the body ends at stop: whole, or cut short */
	bool complete;
	struct server *srv;  /* for trickle: a stop ends the pauses */
	unsigned trickle_ms; /* 0, or one byte per this many ms */
};

static void delay(struct server *srv, unsigned ms);

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t n = 0;

	if (pos >= s->stop)
		return s->complete ? MHD_CONTENT_READER_END_OF_STREAM :
				     MHD_CONTENT_READER_END_WITH_ERROR;
	/* Each call sends what it returns at once: one byte, then a pause. */
	if (s->trickle_ms) {
		if (pos > 0)
			delay(s->srv, s->trickle_ms);
		buf[0] = s->body[pos];
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

/* The whole request is in: route, check, answer (or misbehave, if told). */
static enum MHD_Result answer(struct server *srv,
			      struct MHD_Connection *connection,
			      struct request *r, const char *url)
{
	struct api_reply reply = { 0 };
	struct api_route route;
	struct fault fault = { .kind = FAULT_KIND_NONE };
	const char *auth, *why;
	int err;

	if (r->too_large)
		return send_error(connection, r, 413,
				  "the request body is over 1 MiB", 0);
	if (api_route(srv->base_path, r->method, url, &route, &reply) < 0)
		return send_reply(connection, r, &reply, 0);
	if (!srv->v1_only)
		route.kiosk_minor =
			protocol_minor_version(MHD_lookup_connection_value(
				connection, MHD_HEADER_KIND, "Lokerbuku-Sync"));
	/* A v1 server knows items/lookup only as the barcode "lookup". */
	if (srv->v1_only && route.endpoint == API_ENDPOINT_ITEM_LOOKUP) {
		reply.allow = "GET";
		api_error(&reply, 405, "method not allowed here");
		return send_reply(connection, r, &reply, 0);
	}
	if (srv->client_certs) {
		why = check_client_cert(connection, route.kiosk_id);
		if (why)
			return send_error(connection, r, 403, why, 0);
	}
	auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_AUTHORIZATION);
	pthread_mutex_lock(&srv->db_lock);
	err = api_authorize(srv->db, &route, auth, &reply);
	if (err == 0)
		err = fault_take(srv->db, api_endpoint_name(route.endpoint),
				 &fault);
	pthread_mutex_unlock(&srv->db_lock);
	if (err == -EIO)
		return send_error(connection, r, 500, "database error", 0);
	if (err < 0)
		return send_reply(connection, r, &reply, 0);

	if (fault.kind != FAULT_KIND_NONE)
		r->outcome = fault_kind_name(fault.kind);
	switch (fault.kind) {
	case FAULT_KIND_500:
		return send_error(connection, r, 500, "injected fault", 0);
	case FAULT_KIND_400:
		return send_error(connection, r, 400, "injected fault", 0);
	case FAULT_KIND_503:
		return send_error(connection, r, 503, "injected fault",
				  fault.retry_after_s);
	case FAULT_KIND_429:
		return send_error(connection, r, 429, "injected fault",
				  fault.retry_after_s);
	case FAULT_KIND_DROP:
		return MHD_NO;
	case FAULT_KIND_DELAY:
		delay(srv, fault.delay_ms);
		break;
	case FAULT_KIND_NONE:
	case FAULT_KIND_DROP_AFTER:
	case FAULT_KIND_TRUNCATE:
	case FAULT_KIND_GARBAGE:
	case FAULT_KIND_HUGE:
	case FAULT_KIND_TRICKLE:
		break;
	}

	pthread_mutex_lock(&srv->db_lock);
	api_handle(srv->db, &route,
		   MHD_lookup_connection_value(connection,
					       MHD_GET_ARGUMENT_KIND, "cursor"),
		   MHD_lookup_connection_value(connection,
					       MHD_GET_ARGUMENT_KIND, "limit"),
		   r->body ? r->body : "", r->body_len, &reply);
	pthread_mutex_unlock(&srv->db_lock);

	switch (fault.kind) {
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
		return send_trickle(srv, connection, r, &reply, fault.delay_ms);
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

static enum MHD_Result handle(void *cls, struct MHD_Connection *connection,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct request *r = *con_cls;
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
		return MHD_YES; /* answered already (413 up front) */
	return answer(srv, connection, r, url);
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

int serve_run(sqlite3 *db, const struct serve_options *o)
{
	struct server srv = { .db = db,
			      .base_path = o->base_path,
			      .client_certs = o->client_ca_file != NULL,
			      .v1_only = o->v1_only };
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

	pthread_mutex_init(&srv.db_lock, NULL);
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

	/* Every thread MHD starts inherits this: only sigwait() sees them. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* A thread per connection: a delay fault stalls only its own. */
	flags = MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS |
		MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	d = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, &srv,
		/* First, or MHD's own logger has its say before it. */
		MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL, MHD_OPTION_SOCK_ADDR,
		&addr, MHD_OPTION_HTTPS_MEM_CERT, cert,
		MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_HTTPS_PRIORITIES,
		SERVE_TLS_PRIORITIES, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)SERVE_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)SERVE_IDLE_TIMEOUT_S, MHD_OPTION_NOTIFY_COMPLETED,
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
		"lokerhub: serving https://%s%s%s:%u%s/kiosks/...%s (pid %d)\n",
		v6 ? "[" : "", host, v6 ? "]" : "", info->port, o->base_path,
		trust ? ", client certificates required" : "", (int)getpid());
	if (o->fleet_listen) {
		fleet = fleet_server_start(db, &srv.db_lock, o->fleet_listen,
					   o->fleet_port_file);
		if (!fleet)
			goto out;
	}
	while (sigwait(&mask, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
		;
	fprintf(stderr, "lokerhub: %s: stopping\n", strsignal(sig));
	status = 0;
out:
	atomic_store(&srv.stopping, true);
	fleet_server_stop(fleet);
	if (d)
		MHD_stop_daemon(d);
	free(cert);
	if (key)
		explicit_bzero(key, strlen(key));
	free(key);
	free(trust);
	pthread_mutex_destroy(&srv.db_lock);
	sqlite3_close(db);
	return status;
}
