// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lokerhub-check-reply: runs the kiosk's own parsers (firmware/protocol.c)
 * over a reply lokerhub gave, so tests prove the kiosk would take it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

#define CHECK_READ_MAX (PROTOCOL_REPLY_MAX + 1)

static char *read_all(const char *path, size_t *ret_len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *buf;
	size_t n;

	if (!f) {
		fprintf(stderr, "lokerhub-check-reply: %s: %s\n", path,
			strerror(errno));
		return NULL;
	}
	buf = malloc(CHECK_READ_MAX + 1);
	n = buf ? fread(buf, 1, CHECK_READ_MAX, f) : 0;
	if (f != stdin)
		fclose(f);
	if (buf)
		buf[n] = '\0';
	*ret_len = n;
	return buf;
}

int main(int argc, char **argv)
{
	char error[PROTOCOL_ERROR_MAX] = "", code[PROTOCOL_ERROR_CODE_MAX + 1],
	     message[PROTOCOL_REASON_MAX + 1];
	struct protocol_changes c;
	struct protocol_event_result *results = NULL;
	struct protocol_status_reply *status;
	struct store_hold hold;
	unsigned n = 0;
	size_t len = 0;
	char *body;
	int err;

	if (argc != 3) {
		fputs("Usage: lokerhub-check-reply changes|events|status|item|error FILE\n"
		      "Parses FILE (- for stdin) as the kiosk does; prints a summary\n"
		      "as JSON, or why the kiosk would refuse it (exit 1).\n",
		      stderr);
		return 2;
	}
	body = read_all(argv[2], &len);
	if (!body)
		return 1;
	if (strcmp(argv[1], "changes") == 0) {
		err = protocol_parse_changes(body, len, &c, error);
		if (err == 0) {
			printf("{\"cursor\":\"%s\",\"full\":%s,\"more\":%s,"
			       "\"holds\":%u,\"removed_holds\":%u,\"staff\":%u,"
			       "\"removed_staff\":%u,\"pin_required\":%s}\n",
			       c.cursor, c.full ? "true" : "false",
			       c.more ? "true" : "false", c.n_holds,
			       c.n_removed_holds, c.n_staff, c.n_removed_staff,
			       !c.has_pin_required ? "null" :
			       c.pin_required	   ? "true" :
						     "false");
			protocol_changes_clear(&c);
		}
	} else if (strcmp(argv[1], "events") == 0) {
		err = protocol_parse_event_results(body, len, &results, &n,
						   error);
		if (err == 0)
			printf("{\"results\":%u}\n", n);
		free(results);
	} else if (strcmp(argv[1], "status") == 0) {
		status = calloc(1, sizeof(*status));
		err = status ? protocol_parse_status_reply(body, len, status,
							   error) :
			       -ENOMEM;
		if (err == 0)
			printf("{\"next_status_s\":%u,\"commands\":%u}\n",
			       status->next_status_s, status->n_commands);
		free(status);
	} else if (strcmp(argv[1], "item") == 0) {
		err = protocol_parse_item_reply(body, len, &hold, error);
		if (err == 0)
			printf("{\"id\":\"%s\",\"items\":%u,\"credentials\":%u}\n",
			       hold.hold.id, hold.n_items,
			       hold.hold.n_credentials);
	} else if (strcmp(argv[1], "error") == 0) {
		err = protocol_parse_error(body, len, code, message);
		if (err == 0)
			printf("{\"code\":\"%s\"}\n", code);
		else
			snprintf(error, sizeof(error), "not an error body");
	} else {
		fprintf(stderr, "lokerhub-check-reply: %s: not a kind\n",
			argv[1]);
		free(body);
		return 2;
	}
	free(body);
	if (err < 0) {
		fprintf(stderr,
			"lokerhub-check-reply: the kiosk refuses it: %s\n",
			error);
		return 1;
	}
	return 0;
}
