// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-online-check: what a door costs when the kiosk asks the server for
 * every tap, as SIP2 lockers do: one POST of a hold_picked_up to lokerhub
 * per tap (the server's checkout), timed to its durable reply.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000u
#define TOKEN_MAX    256
#define BODY_MAX     1024
#define REPLY_MAX    4096
#define HEADER_MAX   (TOKEN_MAX + 32)
/* A stuck request fails the run rather than hanging it. */
#define REQUEST_TIMEOUT_MS 10000L

struct reply {
	size_t size;
	char text[REPLY_MAX + 1];
};

static uint64_t now_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static size_t on_write(char *data, size_t size, size_t n, void *userdata)
{
	struct reply *r = userdata;
	size_t len = size * n, room = REPLY_MAX - r->size;

	memcpy(r->text + r->size, data, len < room ? len : room);
	r->size += len < room ? len : room;
	r->text[r->size] = '\0';
	return len;
}

/* A random version 4 UUID, lower-case, as the kiosk makes them. */
static int make_uuid(char ret[37])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		return -errno;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(ret, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

static int read_token(const char *path, char ret[TOKEN_MAX + 1])
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(ret, 1, TOKEN_MAX, f);
	fclose(f);
	ret[n] = '\0';
	ret[strcspn(ret, "\r\n")] = '\0';
	return ret[0] ? 0 : -EINVAL;
}

/*
 * A fresh handle per request opens a new connection with a full TLS
 * handshake (no session cache survives it); a kept handle reuses one.
 */
static CURL *new_handle(const char *url, const char *ca_file,
			struct curl_slist *headers, struct reply *reply)
{
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAINFO, ca_file) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION,
			     (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, REQUEST_TIMEOUT_MS) !=
		    CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply) != CURLE_OK) {
		curl_easy_cleanup(c);
		return NULL;
	}
	return c;
}

static int usage(void)
{
	fputs("Usage: bench-online-check EVENTS_URL CA_FILE TOKEN_FILE HOLD_ID "
	      "COUNT fresh|keepalive OUT\n"
	      "POSTs COUNT hold_picked_up events of HOLD_ID, one a request,\n"
	      "each on a new connection (fresh) or all on one (keepalive);\n"
	      "writes each request's time in ns to OUT, one a line, and\n"
	      "prints the connections opened. Fails unless every event is\n"
	      "accepted.\n",
	      stderr);
	return 2;
}

int main(int argc, char **argv)
{
	char token[TOKEN_MAX + 1], auth[HEADER_MAX], body[BODY_MAX];
	struct curl_slist *headers = NULL;
	struct reply reply;
	long connects = 0, n, i;
	bool fresh;
	CURL *c = NULL;
	FILE *out;
	int err;

	if (argc != 8)
		return usage();
	n = strtol(argv[5], NULL, 10);
	fresh = strcmp(argv[6], "fresh") == 0;
	if (n < 1 || (!fresh && strcmp(argv[6], "keepalive") != 0))
		return usage();
	err = read_token(argv[3], token);
	if (err < 0) {
		fprintf(stderr, "bench-online-check: %s: %s\n", argv[3],
			strerror(-err));
		return 1;
	}
	out = fopen(argv[7], "w");
	if (!out || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "bench-online-check: cannot start\n");
		return 1;
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	headers = curl_slist_append(headers, auth);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	for (i = 0; i < n; i++) {
		char uuid[37];
		uint64_t start;
		long status = 0, opened = 0;
		CURLcode rc;

		if (make_uuid(uuid) < 0) {
			fprintf(stderr, "bench-online-check: no randomness\n");
			return 1;
		}
		snprintf(body, sizeof(body),
			 "{\"events\":[{\"id\":\"%s\",\"seq\":%ld,"
			 "\"type\":\"hold_picked_up\","
			 "\"at\":\"2026-11-23T03:00:00.000Z\","
			 "\"payload\":{\"hold_id\":\"%s\",\"locker\":1,"
			 "\"items\":[{\"barcode\":\"BK0000001\"}],"
			 "\"actor\":\"service\"}}]}",
			 uuid, i + 1, argv[4]);
		if (!c || fresh) {
			curl_easy_cleanup(c);
			c = new_handle(argv[1], argv[2], headers, &reply);
			if (!c) {
				fprintf(stderr,
					"bench-online-check: curl set-up failed\n");
				return 1;
			}
		}
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		reply.size = 0;
		reply.text[0] = '\0';
		start = now_nsec();
		rc = curl_easy_perform(c);
		fprintf(out, "%" PRIu64 "\n", now_nsec() - start);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &opened);
		connects += opened;
		if (rc != CURLE_OK || status != 200 ||
		    !strstr(reply.text, "\"accepted\"")) {
			fprintf(stderr,
				"bench-online-check: request %ld: %s, HTTP %ld: %s\n",
				i + 1, curl_easy_strerror(rc), status,
				reply.text);
			return 1;
		}
	}
	curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	curl_global_cleanup();
	if (fclose(out) != 0) {
		fprintf(stderr, "bench-online-check: %s: %s\n", argv[7],
			strerror(errno));
		return 1;
	}
	printf("%ld\n", connects);
	return 0;
}
