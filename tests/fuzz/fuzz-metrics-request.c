/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the metrics listener's requests (firmware/metrics.c).
 * The input is three lines (method, path, Authorization; an empty line is
 * a header not sent), then one byte: odd, the request has a body. Beyond
 * the sanitizers' findings it aborts when the decision breaks its
 * contract: a status not in the list, anything but 401 without the exact
 * bearer token, or 200 for anything but a bodiless GET or HEAD of /metrics.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"

#define TOKEN  "0123456789abcdef0123456789abcdef"
#define FIELDS 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The token the header carries, if it is "Bearer" and blanks and it. */
static bool carries_token(const char *authorization)
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	authorization += 7;
	while (*authorization == ' ')
		authorization++;
	return strcmp(authorization, TOKEN) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *field[FIELDS] = { 0 }, *p;
	bool body = false, ok;
	unsigned status;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	p = text;
	for (int i = 0; i < FIELDS; i++) {
		char *nl = strchr(p, '\n');

		if (!nl) {
			free(text);
			return 0;
		}
		*nl = '\0';
		field[i] = p;
		p = nl + 1;
	}
	body = *p & 1;
	status = metrics_request_decide(field[0], field[1],
					field[2][0] ? field[2] : NULL, body,
					(uint8_t)data[0] & 1 ? NULL : TOKEN);
	ok = strcmp(field[1], "/metrics") == 0 &&
	     (strcmp(field[0], "GET") == 0 || strcmp(field[0], "HEAD") == 0) &&
	     !body;
	if (status != 200 && status != 401 && status != 404 && status != 405 &&
	    status != 413)
		abort();
	if (!((uint8_t)data[0] & 1) && !carries_token(field[2]) &&
	    status != 401)
		abort();
	if ((status == 200) !=
	    (ok && (((uint8_t)data[0] & 1) || carries_token(field[2]))))
		abort();
	/* The comparison itself, on the same bytes. */
	if (metrics_token_matches(field[2], TOKEN) !=
	    (strcmp(field[2], TOKEN) == 0))
		abort();
	free(text);
	return 0;
}
