// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-fleet: a library network of simulated kiosks against one server.
 * Each kiosk has its own token and keeps one TLS connection open, as lokerd
 * does, and speaks Locker Sync API v1.1 on lokerd's schedule: a heartbeat
 * every 60 s, a changes pull every 60 s, and events (loads and pickups of
 * its hold, at random) uploaded as they happen; one request at a time per
 * kiosk. A time factor divides every interval. All kiosks run in one
 * epoll loop on non-blocking OpenSSL connections.
 *
 * It prints "figure<TAB>value<TAB>unit" lines (tests/bench/run's format)
 * and fails when an event was sent and never acknowledged, unless told the
 * server is a static one (--static: any 200 counts, nothing is checked).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC  UINT64_C(1000000000)
#define NSEC_PER_MSEC UINT64_C(1000000)
#define ID_MAX	      64
#define TOKEN_MAX     256
#define HOLD_MAX      64
#define CURSOR_MAX    256
#define OUT_MAX	      8192
#define IN_MAX	      16384
/* The outbox of one kiosk in the bench: lokerd uploads at most 100. */
#define OUTBOX_MAX 100
#define KIOSKS_MAX 100000
/* lokerd's limits: 10 s to connect, 30 s for a request. */
#define CONNECT_TIMEOUT_NSEC (10 * NSEC_PER_SEC)
#define REQUEST_TIMEOUT_NSEC (30 * NSEC_PER_SEC)
#define BACKOFF_MAX_NSEC     (300 * NSEC_PER_SEC)

enum conn_state {
	C_CLOSED,
	C_CONNECTING,
	C_HANDSHAKE,
	C_IDLE,
	C_BUSY
};
enum req_kind {
	R_STATUS,
	R_PULL,
	R_EVENTS,
	R_KINDS
};
static const char *const kind_name[R_KINDS] = { "heartbeat", "pull", "events" };

struct kiosk {
	char id[ID_MAX], token[TOKEN_MAX], hold[HOLD_MAX], cursor[CURSOR_MAX];
	int fd;
	SSL *ssl;
	enum conn_state state;
	enum req_kind kind;
	bool reused; /* the request went out on a kept connection */
	bool ever_failed;
	bool loaded;	  /* the hold's state as this kiosk last reported it */
	unsigned attempt; /* failures in a row, for the back-off */
	uint64_t status_due, pull_due, event_due, blocked_until;
	uint64_t req_due, req_start, conn_start;
	uint64_t seq;
	unsigned n_outbox, n_inflight;
	char outbox[OUTBOX_MAX][37];
	size_t out_len, out_off, in_len;
	char *out, *in;
	unsigned heap_pos; /* 0: not in the heap */
	uint64_t heartbeats_ok, heartbeat_late_max;
	uint64_t answered; /* requests answered 200 in the measured time */
};

struct samples {
	uint32_t *v; /* microseconds */
	size_t n, cap;
};

static struct {
	const char *host, *base_path, *ca_file;
	char host_header[128];
	struct sockaddr_in addr;
	double factor, events_per_day, seconds, warmup, ramp;
	bool is_static;
	int pid;
	SSL_CTX *ctx;
	int ep;
	struct kiosk *k;
	unsigned n;
	unsigned *heap; /* 1-based min-heap of kiosk indexes by next_due */
	unsigned heap_n;
	uint64_t t0, measure_from, end;
	struct samples lat[R_KINDS], from_due;
	uint64_t requests, failures, connects, timeouts, refused503,
		closed_idle;
	uint64_t events_made, events_acked;
	uint64_t status_interval, pull_interval;
} g;

static uint64_t now_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static double rand_unit(void)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (uint64_t)now_nsec() * 2654435761u;
	return (double)(r >> 11) / (double)(1ull << 53);
}

/* The next event of a kiosk: a Poisson process of events_per_day. */
static uint64_t next_event_gap(void)
{
	double mean_s = 86400.0 / g.events_per_day / g.factor;

	return (uint64_t)(-log(1.0 - rand_unit()) * mean_s * NSEC_PER_SEC);
}

static void make_uuid(char ret[37])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
		fprintf(stderr, "bench-fleet: no randomness\n");
		exit(1);
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(ret, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void sample_add(struct samples *s, uint64_t nsec)
{
	uint64_t us = nsec / 1000;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 4096;
		uint32_t *v = realloc(s->v, cap * sizeof(*v));

		if (!v) {
			fprintf(stderr, "bench-fleet: out of memory\n");
			exit(1);
		}
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_ms(struct samples *s, double q)
{
	size_t i;

	if (!s->n)
		return 0;
	i = (size_t)ceil(q * (double)s->n);
	if (i < 1)
		i = 1;
	return s->v[i - 1] / 1000.0;
}

/* ---- the schedule: a min-heap of idle kiosks by their next due time ---- */

static uint64_t next_due(const struct kiosk *k)
{
	uint64_t d = k->status_due < k->pull_due ? k->status_due : k->pull_due;

	if (k->n_outbox)
		d = 0; /* an upload is wanted now */
	if (k->event_due && k->event_due < d)
		d = k->event_due;
	return d > k->blocked_until ? d : k->blocked_until;
}

static bool heap_less(unsigned a, unsigned b)
{
	return next_due(&g.k[g.heap[a]]) < next_due(&g.k[g.heap[b]]);
}

static void heap_swap(unsigned a, unsigned b)
{
	unsigned t = g.heap[a];

	g.heap[a] = g.heap[b];
	g.heap[b] = t;
	g.k[g.heap[a]].heap_pos = a;
	g.k[g.heap[b]].heap_pos = b;
}

static void heap_push(unsigned idx)
{
	unsigned i = ++g.heap_n;

	g.heap[i] = idx;
	g.k[idx].heap_pos = i;
	while (i > 1 && heap_less(i, i / 2)) {
		heap_swap(i, i / 2);
		i /= 2;
	}
}

static unsigned heap_pop(void)
{
	unsigned top = g.heap[1], i = 1;

	heap_swap(1, g.heap_n--);
	g.k[top].heap_pos = 0;
	for (;;) {
		unsigned l = 2 * i, r = l + 1, m = i;

		if (l <= g.heap_n && heap_less(l, m))
			m = l;
		if (r <= g.heap_n && heap_less(r, m))
			m = r;
		if (m == i)
			break;
		heap_swap(i, m);
		i = m;
	}
	return top;
}

/* ---- connections ---- */

static void conn_close(struct kiosk *k)
{
	if (k->ssl)
		SSL_free(k->ssl);
	k->ssl = NULL;
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->state = C_CLOSED;
}

static int conn_open(struct kiosk *k)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET };
	int one = 1;

	k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (k->fd < 0)
		return -errno;
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.data.u32 = (uint32_t)(k - g.k);
	if (epoll_ctl(g.ep, EPOLL_CTL_ADD, k->fd, &ev) < 0) {
		int err = -errno;

		conn_close(k);
		return err;
	}
	g.connects++;
	k->conn_start = now_nsec();
	if (connect(k->fd, (struct sockaddr *)&g.addr, sizeof(g.addr)) < 0 &&
	    errno != EINPROGRESS) {
		int err = -errno;

		conn_close(k);
		return err;
	}
	k->ssl = SSL_new(g.ctx);
	if (!k->ssl || !SSL_set_fd(k->ssl, k->fd) ||
	    !SSL_set1_host(k->ssl, g.host)) {
		conn_close(k);
		return -ENOMEM;
	}
	SSL_set_connect_state(k->ssl);
	k->state = C_CONNECTING;
	k->reused = false;
	return 0;
}

/* ---- requests ---- */

static void build_request(struct kiosk *k)
{
	char body[OUT_MAX / 2], path[512];
	size_t blen = 0;
	const char *method = "POST";

	body[0] = '\0';
	if (k->kind == R_PULL) {
		method = "GET";
		if (k->cursor[0])
			snprintf(path, sizeof(path),
				 "%s/kiosks/%s/changes?limit=500&cursor=%s",
				 g.base_path, k->id, k->cursor);
		else
			snprintf(path, sizeof(path),
				 "%s/kiosks/%s/changes?limit=500", g.base_path,
				 k->id);
	} else if (k->kind == R_STATUS) {
		snprintf(path, sizeof(path), "%s/kiosks/%s/status", g.base_path,
			 k->id);
		blen = (size_t)snprintf(
			body, sizeof(body),
			"{\"at\":\"2026-12-06T08:00:00.000Z\",\"kiosk_id\":\"%s\","
			"\"version\":\"0.1.0\",\"uptime_s\":%" PRIu64 ","
			"\"in_service\":true,\"backlog\":%u,\"rejected_events\":0,"
			"\"active_holds\":1,\"reader\":{\"backend\":\"nfc\",\"ok\":true},"
			"\"lockbank\":{\"backend\":\"gpiod\"},\"scanner\":null,"
			"\"lockers\":[",
			k->id, (uint64_t)((now_nsec() - g.t0) / NSEC_PER_SEC),
			k->n_outbox);
		for (int i = 1; i <= 12; i++)
			blen += (size_t)snprintf(
				body + blen, sizeof(body) - blen,
				"%s{\"number\":%d,\"size\":\"small\",\"kind\":\"hold\","
				"\"door\":\"closed\",\"state\":\"closed\",\"purpose\":\"none\","
				"\"disabled\":false,\"fault\":\"none\",\"alarm_left_open\":false,"
				"\"alarm_forced_open\":false,\"returns\":0}",
				i > 1 ? "," : "", i);
		blen += (size_t)snprintf(
			body + blen, sizeof(body) - blen,
			"],\"faults\":[],\"timezone\":\"Asia/Jakarta\","
			"\"utc_offset_s\":25200,\"done_commands\":[]}");
	} else {
		snprintf(path, sizeof(path), "%s/kiosks/%s/events", g.base_path,
			 k->id);
		blen = (size_t)snprintf(body, sizeof(body), "{\"events\":[");
		k->n_inflight = k->n_outbox > 8 ? 8 : k->n_outbox;
		for (unsigned i = 0; i < k->n_inflight; i++) {
			/* Loads and pickups of the kiosk's hold, in turn. */
			bool load = (k->seq + i) % 2 == 0;

			blen += (size_t)snprintf(
				body + blen, sizeof(body) - blen,
				"%s{\"id\":\"%s\",\"seq\":%" PRIu64
				",\"type\":\"%s\","
				"\"at\":\"2026-12-06T08:00:00.000Z\",\"payload\":{"
				"\"hold_id\":\"%s\",\"locker\":1,\"items\":"
				"[{\"barcode\":\"B%s\"}],\"actor\":\"%s\"}}",
				i ? "," : "", k->outbox[i], k->seq + i + 1,
				load ? "hold_loaded" : "hold_picked_up",
				k->hold, k->hold, load ? "staff" : "service");
		}
		blen += (size_t)snprintf(body + blen, sizeof(body) - blen,
					 "]}");
	}
	if (blen)
		k->out_len = (size_t)snprintf(
			k->out, OUT_MAX,
			"%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
			"Accept: application/json\r\nUser-Agent: lokerbuku/bench-fleet\r\n"
			"Lokerbuku-Sync: 1.1\r\nContent-Type: application/json\r\n"
			"Content-Length: %zu\r\n\r\n%s",
			method, path, g.host_header, k->token, blen, body);
	else
		k->out_len = (size_t)snprintf(
			k->out, OUT_MAX,
			"%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
			"Accept: application/json\r\nUser-Agent: lokerbuku/bench-fleet\r\n"
			"Lokerbuku-Sync: 1.1\r\n\r\n",
			method, path, g.host_header, k->token);
	k->out_off = 0;
	k->in_len = 0;
}

static void schedule(struct kiosk *k)
{
	if (!k->heap_pos)
		heap_push((unsigned)(k - g.k));
}

/* A request failed: lokerd backs off min(300 s, 1 s × 2^attempt). */
static void request_failed(struct kiosk *k, const char *why, uint64_t wait)
{
	uint64_t now = now_nsec();

	if (now >= g.measure_from) {
		g.failures++;
		k->ever_failed = true;
	}
	if (g.failures <= 10 && now >= g.measure_from)
		fprintf(stderr, "bench-fleet: kiosk %s: %s: %s\n", k->id,
			kind_name[k->kind], why);
	conn_close(k);
	if (!wait) {
		wait = NSEC_PER_SEC << (k->attempt < 8 ? k->attempt : 8);
		if (wait > BACKOFF_MAX_NSEC)
			wait = BACKOFF_MAX_NSEC;
	}
	k->attempt++;
	k->blocked_until = now + (uint64_t)((double)wait / g.factor);
	schedule(k);
}

static void reply_done(struct kiosk *k, int status, const char *body,
		       const char *headers)
{
	uint64_t now = now_nsec();
	const char *p;

	if (status == 503 || status == 429) {
		uint64_t wait = 1;

		if (now >= g.measure_from)
			g.refused503++;
		p = strcasestr(headers, "\r\nRetry-After:");
		if (p)
			wait = strtoull(p + 14, NULL, 10);
		request_failed(k, "503 or 429", (wait ?: 1) * NSEC_PER_SEC);
		return;
	}
	if (status != 200) {
		char why[64];

		snprintf(why, sizeof(why), "HTTP %d", status);
		request_failed(k, why, 0);
		return;
	}
	k->attempt = 0;
	if (now >= g.measure_from && k->req_due >= g.measure_from) {
		g.requests++;
		k->answered++;
		sample_add(&g.lat[k->kind], now - k->req_start);
	}
	if (k->kind == R_STATUS) {
		if (k->req_due >= g.measure_from) {
			uint64_t late = now - k->req_due;

			sample_add(&g.from_due, late);
			k->heartbeats_ok++;
			if (late > k->heartbeat_late_max)
				k->heartbeat_late_max = late;
		}
		k->status_due = k->req_due + g.status_interval;
		if (k->status_due < now)
			k->status_due = now + g.status_interval;
	} else if (k->kind == R_PULL) {
		p = g.is_static ? NULL : strstr(body, "\"cursor\":\"");
		if (p) {
			size_t n = strcspn(p + 10, "\"");

			if (n < CURSOR_MAX) {
				memcpy(k->cursor, p + 10, n);
				k->cursor[n] = '\0';
			}
		}
		if (!(p && strstr(body, "\"more\":true")))
			k->pull_due = now + g.pull_interval;
	} else {
		unsigned acked = 0, i = 0;

		/* Every event sent must come back accepted or duplicate. */
		while (i < k->n_inflight) {
			const char *r =
				g.is_static ? body : strstr(body, k->outbox[i]);
			const char *end = r ? strchr(r, '}') : NULL;
			bool ok =
				g.is_static ||
				(r && end &&
				 (memmem(r, (size_t)(end - r), "accepted", 8) ||
				  memmem(r, (size_t)(end - r), "duplicate",
					 9)));

			if (!ok) {
				i++;
				continue;
			}
			acked++;
			memmove(k->outbox[i], k->outbox[i + 1],
				(k->n_outbox - i - 1) * sizeof(k->outbox[0]));
			k->n_outbox--;
			k->n_inflight--;
		}
		g.events_acked += acked;
		k->seq += acked;
	}
	k->state = C_IDLE;
	schedule(k);
}

/* Parses what arrived; 1 when the reply is whole. */
static int parse_reply(struct kiosk *k)
{
	char *end, *p;
	long long clen;
	int status;
	size_t hlen;

	k->in[k->in_len] = '\0';
	end = strstr(k->in, "\r\n\r\n");
	if (!end)
		return k->in_len >= IN_MAX ? -EMSGSIZE : 0;
	hlen = (size_t)(end - k->in) + 4;
	if (sscanf(k->in, "HTTP/1.%*d %d", &status) != 1)
		return -EPROTO;
	p = strcasestr(k->in, "\r\nContent-Length:");
	if (!p || p > end)
		return -EPROTO; /* lokerhub and haproxy send one */
	clen = strtoll(p + 17, NULL, 10);
	if (clen < 0 || hlen + (size_t)clen > IN_MAX)
		return -EMSGSIZE;
	if (k->in_len < hlen + (size_t)clen)
		return 0;
	*end = '\0';
	{
		bool close_after =
			strcasestr(k->in, "\r\nConnection: close") != NULL;

		reply_done(k, status, end + 4, k->in);
		if (close_after && k->state == C_IDLE) {
			conn_close(k);
			g.closed_idle++;
		}
	}
	return 1;
}

static void drive(struct kiosk *k);

static void start_request(struct kiosk *k, enum req_kind kind, uint64_t due)
{
	k->kind = kind;
	k->req_due = due;
	k->req_start = now_nsec();
	build_request(k);
	if (k->state == C_CLOSED) {
		int err = conn_open(k);

		if (err < 0) {
			request_failed(k, strerror(-err), 0);
			return;
		}
	} else {
		k->reused = true;
		k->state = C_BUSY;
	}
	drive(k);
}

static void drive(struct kiosk *k)
{
	int n, e;

	if (k->state == C_CONNECTING || k->state == C_HANDSHAKE) {
		n = SSL_do_handshake(k->ssl);
		if (n != 1) {
			e = SSL_get_error(k->ssl, n);
			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE) {
				k->state = C_HANDSHAKE;
				return;
			}
			request_failed(k, "TLS handshake failed", 0);
			ERR_clear_error();
			return;
		}
		k->state = C_BUSY;
	}
	if (k->state == C_IDLE) {
		char b[256];

		/* The server closed a kept connection: it is reopened when
		 * the next request is due, as curl does in lokerd. */
		n = SSL_read(k->ssl, b, sizeof(b));
		if (n <= 0) {
			e = SSL_get_error(k->ssl, n);
			if (e != SSL_ERROR_WANT_READ &&
			    e != SSL_ERROR_WANT_WRITE) {
				conn_close(k);
				g.closed_idle++;
				ERR_clear_error();
			}
		}
		return;
	}
	if (k->state != C_BUSY)
		return;
	while (k->out_off < k->out_len) {
		n = SSL_write(k->ssl, k->out + k->out_off,
			      (int)(k->out_len - k->out_off));
		if (n <= 0) {
			e = SSL_get_error(k->ssl, n);
			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return;
			goto broken;
		}
		k->out_off += (size_t)n;
	}
	for (;;) {
		int r;

		n = SSL_read(k->ssl, k->in + k->in_len,
			     (int)(IN_MAX - k->in_len));
		if (n <= 0) {
			e = SSL_get_error(k->ssl, n);
			if (e == SSL_ERROR_WANT_READ ||
			    e == SSL_ERROR_WANT_WRITE)
				return;
			goto broken;
		}
		k->in_len += (size_t)n;
		r = parse_reply(k);
		if (r < 0) {
			request_failed(k, strerror(-r), 0);
			return;
		}
		if (r > 0)
			return;
	}
broken:
	ERR_clear_error();
	if (k->reused && k->in_len == 0) {
		/* A kept connection the server had closed: once more on a
		 * new one, as curl does. */
		enum req_kind kind = k->kind;
		uint64_t due = k->req_due, start = k->req_start;

		conn_close(k);
		g.closed_idle++;
		start_request(k, kind, due);
		k->req_start = start;
		return;
	}
	request_failed(k, "connection lost", 0);
}

/* The kiosk at the heap's top is due: its next request, or its event. */
static void run_due(struct kiosk *k, uint64_t now)
{
	if (k->event_due && k->event_due <= now) {
		if (k->n_outbox < OUTBOX_MAX) {
			make_uuid(k->outbox[k->n_outbox++]);
			g.events_made++;
		}
		k->event_due = now + next_event_gap();
	}
	if (k->state == C_HANDSHAKE || k->state == C_CONNECTING ||
	    k->state == C_BUSY)
		return; /* it comes back when the request is done */
	if (k->blocked_until > now) {
		schedule(k);
		return;
	}
	if (k->n_outbox) {
		start_request(k, R_EVENTS, now);
	} else if (k->status_due <= now)
		start_request(k, R_STATUS, k->status_due);
	else if (k->pull_due <= now)
		start_request(k, R_PULL, k->pull_due);
	else
		schedule(k);
}

static void check_timeouts(uint64_t now)
{
	for (unsigned i = 0; i < g.n; i++) {
		struct kiosk *k = &g.k[i];

		if ((k->state == C_CONNECTING || k->state == C_HANDSHAKE) &&
		    now - k->conn_start > CONNECT_TIMEOUT_NSEC) {
			if (now >= g.measure_from)
				g.timeouts++;
			request_failed(k, "connect timed out (10 s)", 0);
		} else if (k->state == C_BUSY &&
			   now - k->req_start > REQUEST_TIMEOUT_NSEC) {
			if (now >= g.measure_from)
				g.timeouts++;
			request_failed(k, "request timed out (30 s)", 0);
		}
	}
}

static int load_kiosks(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[512];

	if (!f)
		return -errno;
	g.k = calloc(KIOSKS_MAX, sizeof(*g.k));
	if (!g.k) {
		fclose(f);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f) && g.n < KIOSKS_MAX) {
		struct kiosk *k = &g.k[g.n];

		if (sscanf(line, "%63s %255s %63s", k->id, k->token, k->hold) !=
		    3)
			continue;
		k->fd = -1;
		k->out = malloc(OUT_MAX);
		k->in = malloc(IN_MAX + 1);
		if (!k->out || !k->in) {
			fclose(f);
			return -ENOMEM;
		}
		g.n++;
	}
	fclose(f);
	return g.n ? 0 : -ENOENT;
}

static uint64_t proc_cpu_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2,
		   "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
		   &st) != 2)
		return 0;
	return ut + st;
}

static long proc_status_kib(int pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, strlen(field)) == 0)
			v = strtol(line + strlen(field) + 1, NULL, 10);
	fclose(f);
	return v;
}

static int usage(void)
{
	fputs("Usage: bench-fleet --url https://IP:PORT/BASE --ca CA_FILE --kiosks FILE\n"
	      "  [--seconds S (120)] [--factor F (1)] [--ramp S (status interval)]\n"
	      "  [--warmup S (the ramp)]\n"
	      "  [--events-per-day E (80)] [--pid SERVER_PID] [--static]\n"
	      "FILE: one kiosk a line, \"ID TOKEN HOLD_ID\". The intervals are\n"
	      "lokerd's defaults (60 s) divided by F. Kiosks start at random\n"
	      "through the ramp (as a network's kiosks come up at different\n"
	      "times); figures count from the end of the warm-up.\n",
	      stderr);
	return 2;
}

static int parse_url(const char *url)
{
	static char host[64], base[256];
	unsigned port;
	int n = 0;

	if (sscanf(url, "https://%63[0-9.]:%u%n", host, &port, &n) != 2 ||
	    port > 65535)
		return -EINVAL;
	snprintf(base, sizeof(base), "%s", url + n);
	g.host = host;
	g.base_path = base;
	snprintf(g.host_header, sizeof(g.host_header), "%s:%u", host, port);
	g.addr.sin_family = AF_INET;
	g.addr.sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &g.addr.sin_addr) == 1 ? 0 : -EINVAL;
}

static void print_figures(double run_s)
{
	uint64_t held = 0, seen = 0, least = UINT64_MAX;
	const char *names[R_KINDS] = { "heartbeat", "pull", "upload" };

	for (unsigned i = 0; i < g.n; i++) {
		struct kiosk *k = &g.k[i];

		/* Served in turn: the kiosk served least, against the mean. */
		if (k->answered < least)
			least = k->answered;
		/* Held: every request answered, no heartbeat later than
		 * one interval after it was due. */
		if (k->heartbeats_ok)
			seen++;
		if (k->heartbeats_ok && !k->ever_failed &&
		    k->heartbeat_late_max < g.status_interval)
			held++;
	}
	printf("kiosks\t%u\tkiosks\n", g.n);
	printf("time factor\t%g\tx\n", g.factor);
	printf("kiosks held\t%" PRIu64 "\tkiosks\n", held);
	printf("kiosk-equivalents held\t%.0f\tkiosks\n",
	       (double)held * g.factor);
	printf("kiosks with a heartbeat\t%" PRIu64 "\tkiosks\n", seen);
	printf("requests answered\t%" PRIu64 "\trequests\n", g.requests);
	printf("requests per second\t%.1f\trequests/s\n",
	       (double)g.requests / run_s);
	printf("requests per kiosk, least\t%" PRIu64 "\trequests\n", least);
	printf("requests per kiosk, mean\t%.1f\trequests\n",
	       (double)g.requests / g.n);
	printf("requests failed\t%" PRIu64 "\trequests\n", g.failures);
	printf("time-outs\t%" PRIu64 "\trequests\n", g.timeouts);
	printf("503 or 429 refusals\t%" PRIu64 "\trequests\n", g.refused503);
	printf("connections opened\t%" PRIu64 "\tconnections\n", g.connects);
	printf("connections closed by the server\t%" PRIu64 "\tconnections\n",
	       g.closed_idle);
	for (int i = 0; i < R_KINDS; i++) {
		struct samples *s = &g.lat[i];

		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
		printf("%s p50\t%.3f\tms\n", names[i], pct_ms(s, 0.50));
		printf("%s p99\t%.3f\tms\n", names[i], pct_ms(s, 0.99));
	}
	{
		struct samples all = { 0 };

		for (int i = 0; i < R_KINDS; i++)
			for (size_t j = 0; j < g.lat[i].n; j++)
				sample_add(&all,
					   (uint64_t)g.lat[i].v[j] * 1000);
		qsort(all.v, all.n, sizeof(*all.v), cmp_u32);
		printf("request p50\t%.3f\tms\n", pct_ms(&all, 0.50));
		printf("request p99\t%.3f\tms\n", pct_ms(&all, 0.99));
		printf("request max\t%.3f\tms\n",
		       all.n ? all.v[all.n - 1] / 1000.0 : 0);
		free(all.v);
	}
	qsort(g.from_due.v, g.from_due.n, sizeof(*g.from_due.v), cmp_u32);
	printf("heartbeat from due p50\t%.3f\tms\n", pct_ms(&g.from_due, 0.50));
	printf("heartbeat from due p99\t%.3f\tms\n", pct_ms(&g.from_due, 0.99));
	printf("events sent\t%" PRIu64 "\tevents\n", g.events_made);
	printf("events acknowledged\t%" PRIu64 "\tevents\n", g.events_acked);
	printf("run from the first connection\t%.1f\ts\n",
	       (double)(now_nsec() - g.t0) / NSEC_PER_SEC);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "ca", required_argument, NULL, 'c' },
		{ "kiosks", required_argument, NULL, 'k' },
		{ "seconds", required_argument, NULL, 's' },
		{ "factor", required_argument, NULL, 'f' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "ramp", required_argument, NULL, 'r' },
		{ "events-per-day", required_argument, NULL, 'e' },
		{ "pid", required_argument, NULL, 'p' },
		{ "static", no_argument, NULL, 'S' },
		{ 0 },
	};
	const char *url = NULL, *kiosks = NULL;
	struct epoll_event evs[256];
	uint64_t cpu0 = 0, cpu1 = 0, now, last_check = 0, drain_until;
	struct rlimit rl;
	long hz = sysconf(_SC_CLK_TCK);
	int c, err;

	g.factor = 1;
	g.seconds = 120;
	g.warmup = -1;
	g.ramp = -1;
	g.events_per_day = 80; /* 40 holds a day: a load and a pickup each */
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c == 'u')
			url = optarg;
		else if (c == 'c')
			g.ca_file = optarg;
		else if (c == 'k')
			kiosks = optarg;
		else if (c == 's')
			g.seconds = atof(optarg);
		else if (c == 'f')
			g.factor = atof(optarg);
		else if (c == 'w')
			g.warmup = atof(optarg);
		else if (c == 'r')
			g.ramp = atof(optarg);
		else if (c == 'e')
			g.events_per_day = atof(optarg);
		else if (c == 'p')
			g.pid = atoi(optarg);
		else if (c == 'S')
			g.is_static = true;
		else
			return usage();
	}
	if (!url || !g.ca_file || !kiosks || g.factor <= 0 || g.seconds <= 0 ||
	    g.events_per_day < 0 || parse_url(url) < 0)
		return usage();
	g.status_interval = (uint64_t)(60.0 * NSEC_PER_SEC / g.factor);
	g.pull_interval = g.status_interval;
	if (g.ramp < 0)
		g.ramp = 60.0 / g.factor;
	if (g.warmup < 0)
		g.warmup = g.ramp;
	err = load_kiosks(kiosks);
	if (err < 0) {
		fprintf(stderr, "bench-fleet: %s: %s\n", kiosks,
			strerror(-err));
		return 1;
	}
	/* One descriptor per kiosk, and a few. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < g.n + 64) {
		rl.rlim_cur = rl.rlim_max < g.n + 64 ? rl.rlim_max : g.n + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < g.n + 64) {
			fprintf(stderr,
				"bench-fleet: %u kiosks need %u descriptors; the hard limit is %llu\n",
				g.n, g.n + 64, (unsigned long long)rl.rlim_max);
			return 1;
		}
	}
	g.ctx = SSL_CTX_new(TLS_client_method());
	if (!g.ctx || !SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_load_verify_locations(g.ctx, g.ca_file, NULL)) {
		fprintf(stderr, "bench-fleet: %s: cannot load the CA\n",
			g.ca_file);
		return 1;
	}
	SSL_CTX_set_verify(g.ctx, SSL_VERIFY_PEER, NULL);
	/* lokerd holds one connection; a session cache would only help a
	 * reconnect, which it does not keep either. */
	SSL_CTX_set_session_cache_mode(g.ctx, SSL_SESS_CACHE_OFF);
	/* 10,000 idle connections: no TLS buffers kept between requests. */
	SSL_CTX_set_mode(g.ctx, SSL_MODE_RELEASE_BUFFERS);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	g.heap = calloc(g.n + 1, sizeof(*g.heap));
	if (g.ep < 0 || !g.heap)
		return 1;
	g.t0 = now_nsec();
	g.measure_from = g.t0 + (uint64_t)(g.warmup * NSEC_PER_SEC);
	g.end = g.measure_from + (uint64_t)(g.seconds * NSEC_PER_SEC);
	/* Kiosks start at random through the ramp (one interval unless told):
	 * heartbeat first, as lokerd does, then a pull, then events as they
	 * come. A longer ramp spreads the TLS handshakes of a large network
	 * as its kiosks would, coming up at different times. */
	for (unsigned i = 0; i < g.n; i++) {
		struct kiosk *k = &g.k[i];
		uint64_t start =
			g.t0 + (uint64_t)(rand_unit() * g.ramp * NSEC_PER_SEC);

		k->status_due = start;
		k->pull_due = start + 1;
		k->event_due =
			g.events_per_day > 0 ? start + next_event_gap() : 0;
		heap_push(i);
	}
	fprintf(stderr,
		"bench-fleet: %u kiosks, factor %g, started over %.0f s, %.0f s warm-up, %.0f s measured\n",
		g.n, g.factor, g.ramp, g.warmup, g.seconds);
	drain_until = g.end;
	for (;;) {
		int n, timeout = 100;

		now = now_nsec();
		if (!cpu0 && now >= g.measure_from && g.pid)
			cpu0 = proc_cpu_ticks(g.pid) ?: 1;
		if (now >= g.end && drain_until == g.end) {
			cpu1 = g.pid ? proc_cpu_ticks(g.pid) : 0;
			/* No new events; the outboxes drain, at most 30 s. */
			g.events_per_day = 0;
			for (unsigned i = 0; i < g.n; i++)
				g.k[i].event_due = 0;
			drain_until = now + 30 * NSEC_PER_SEC;
		}
		if (now >= g.end) {
			bool busy = false;

			for (unsigned i = 0; i < g.n && !busy; i++)
				busy = g.k[i].n_outbox > 0;
			if (!busy || now >= drain_until)
				break;
		}
		while (g.heap_n && next_due(&g.k[g.heap[1]]) <= now) {
			unsigned i = heap_pop();

			run_due(&g.k[i], now);
		}
		if (g.heap_n) {
			uint64_t d = next_due(&g.k[g.heap[1]]);

			timeout = d <= now ?
					  0 :
					  (int)((d - now) / NSEC_PER_MSEC + 1);
			if (timeout > 100)
				timeout = 100;
		}
		n = epoll_wait(g.ep, evs, 256, timeout);
		for (int i = 0; i < n; i++)
			drive(&g.k[evs[i].data.u32]);
		if (now - last_check > NSEC_PER_SEC) {
			/* Not the loop's now: requests started since. */
			check_timeouts(now_nsec());
			last_check = now;
		}
	}
	{
		double run_s = g.seconds;

		print_figures(run_s);
		if (g.pid) {
			double cpu_s = (double)(cpu1 - cpu0) / (double)hz;

			printf("server CPU\t%.2f\ts\n", cpu_s);
			printf("server CPU share of one core\t%.1f\t%%\n",
			       100.0 * cpu_s / run_s);
			printf("server CPU per request\t%.1f\tus\n",
			       g.requests ? 1e6 * cpu_s / (double)g.requests :
					    0);
			printf("server RSS\t%.1f\tMiB\n",
			       proc_status_kib(g.pid, "VmRSS:") / 1024.0);
			printf("server peak RSS\t%.1f\tMiB\n",
			       proc_status_kib(g.pid, "VmHWM:") / 1024.0);
		}
	}
	if (!g.is_static && g.events_acked != g.events_made) {
		uint64_t left = 0;

		for (unsigned i = 0; i < g.n; i++)
			left += g.k[i].n_outbox;
		fprintf(stderr,
			"bench-fleet: FAIL: %" PRIu64 " events sent, %" PRIu64
			" acknowledged, %" PRIu64 " still in outboxes\n",
			g.events_made, g.events_acked, left);
		return 1;
	}
	return 0;
}
