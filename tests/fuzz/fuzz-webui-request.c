/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the web UI's requests (firmware/webui-request.c).
 * The input is six lines (method, path, Host, Origin, Sec-Fetch-Site,
 * Content-Type; an empty line is a header not sent) and the body; an odd
 * first byte of the method line turns the simulator on, and its bit 1 says
 * the request came from the kiosk's screen. Beyond the
 * sanitizers' findings it aborts when a decision breaks its contract: a
 * refusal without a reason or with a status not in the list, a file path
 * leaving ui_dir, a command the screen may not send, or any command from
 * anyone but the screen.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "webui-request.h"

#define FIELDS 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The control requests a screen (or, with sim, the sim panel) may make. */
static const char *const commands[] = { "code",	    "pin",     "return",
					"cancel",   "load",    "unload",
					"open",	    "disable", "enable",
					"scan",	    "sim-tap", "sim-door",
					"sim-scan", NULL };

static void check_answer(const struct webui_request_answer *a, bool sim)
{
	const char *cmd;
	const char *const *c = commands;

	switch (a->route) {
	case WEBUI_REQUEST_ROUTE_FILE:
		/* No segment may leave ui_dir or be hidden: "..", ".x". */
		if (a->path[0] == '/' || a->path[0] == '.' ||
		    strstr(a->path, "/.") || strstr(a->path, "//") ||
		    !a->content_type)
			abort();
		break;
	case WEBUI_REQUEST_ROUTE_STATE:
	case WEBUI_REQUEST_ROUTE_EVENTS:
		if (a->command)
			abort();
		break;
	case WEBUI_REQUEST_ROUTE_COMMAND:
		cmd = json_string_value(json_object_get(a->command, "cmd"));
		while (cmd && *c && strcmp(*c, cmd) != 0)
			c++;
		if (!cmd || !*c || (!sim && strncmp(cmd, "sim-", 4) == 0))
			abort();
		/* Staff commands never act as the service. */
		if (json_object_get(a->command, "session") &&
		    !json_is_true(json_object_get(a->command, "session")))
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct webui_request_policy policy = {
		.host = "127.0.0.1:8080",
		.alt_host = "localhost:8080",
		.sim = size > 0 && (data[0] & 1),
	};
	char *copy = malloc(size + 1), *p, *field[FIELDS] = { 0 };
	struct webui_request r = { 0 };
	struct webui_request_answer a = { 0 };
	const char *why = NULL;
	int status;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	p = copy;
	for (unsigned i = 0; i < FIELDS; i++) {
		char *nl = memchr(p, '\n', (size_t)(copy + size - p));

		if (!nl)
			goto out;
		*nl = '\0';
		field[i] = p[0] ? p : NULL;
		p = nl + 1;
	}
	if (!field[0] || !field[1])
		goto out;
	r = (struct webui_request){ .method = field[0],
				    .path = field[1],
				    .host = field[2],
				    .origin = field[3],
				    .sec_fetch_site = field[4],
				    .content_type = field[5],
				    .body = p,
				    .body_len = (size_t)(copy + size - p),
				    .screen = (data[0] & 2) != 0 };
	status = webui_request_decide(&r, &policy, &a, &why);
	if (status == 0 && a.route == WEBUI_REQUEST_ROUTE_COMMAND && !r.screen)
		abort();
	if (status == 0)
		check_answer(&a, policy.sim);
	else if (!why || (status != 400 && status != 403 && status != 404 &&
			  status != 405 && status != 413 && status != 415))
		abort();
	json_decref(a.command);
out:
	free(copy);
	return 0;
}
