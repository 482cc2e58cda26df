/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a request to the web UI asks for, and whether it may be answered
 * (docs/webui.md). Pure: no I/O, so every rule is a unit test and the whole
 * of it a fuzz target.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define WEBUI_REQUEST_BODY_MAX 4096
#define WEBUI_REQUEST_PATH_MAX 128 /* bytes of a file's path in ui_dir */
#define WEBUI_REQUEST_SCAN_MAX 64

enum webui_request_route {
	WEBUI_REQUEST_ROUTE_FILE,    /* .path, .content_type */
	WEBUI_REQUEST_ROUTE_STATE,   /* GET /api/state */
	WEBUI_REQUEST_ROUTE_EVENTS,  /* GET /api/events */
	WEBUI_REQUEST_ROUTE_COMMAND, /* .command for the control handler */
};

/* Who may ask: what the Host header must say, and what the kiosk has. */
struct webui_request_policy {
	const char *host;     /* "127.0.0.1:8080" */
	const char *alt_host; /* "localhost:8080" on loopback, else NULL */
	bool sim;	      /* the sim panel and POST /api/sim exist */
};

/* A request as it came; NULL for a header that was not sent. */
struct webui_request {
	const char *method;
	const char *path; /* decoded, without the query */
	const char *host;
	const char *origin;
	const char *sec_fetch_site;
	const char *content_type;
	const char *body; /* POST only; need not end in NUL */
	size_t body_len;
	/*
	 * It came from the kiosk's screen: its connection's other end is held
	 * by the screen's user on this machine (docs/security.md). Only the
	 * screen may act; anyone else may only look.
	 */
	bool screen;
};

struct webui_request_answer {
	enum webui_request_route route;
	char path[WEBUI_REQUEST_PATH_MAX + 1]; /* FILE: relative to ui_dir */
	const char *content_type;	       /* FILE: a static string */
	json_t *command; /* COMMAND: new reference, for the caller to unref */
};

/*
 * Decides what r asks for. Returns 0 with ret filled in, or the HTTP status
 * that refuses it (400, 403, 404, 405, 413 or 415) with a static message in
 * ret_error; ret is then untouched. Screen actions become control-socket
 * requests (docs/control-socket.md); staff actions carry "session": true,
 * so the screen can only act as the staff member logged in on it.
 */
int webui_request_decide(const struct webui_request *r,
			 const struct webui_request_policy *p,
			 struct webui_request_answer *ret,
			 const char **ret_error);
