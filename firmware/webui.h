/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The touchscreen's web server (docs/webui.md): the app in ui_dir, the
 * state, the screen's actions, and the state pushed as Server-Sent Events
 * at every change. GNU libmicrohttpd runs on lokerd's sd-event loop: no
 * thread of its own.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#define WEBUI_CONNECTIONS_MAX 64
#define WEBUI_STREAMS_MAX     8
/*
 * Of those, what clients other than the kiosk's screen may hold: the rest
 * are the screen's, so that it always gets its state and its stream.
 */
#define WEBUI_PUBLIC_CONNECTIONS_MAX 48
#define WEBUI_PUBLIC_STREAMS_MAX     4
#define WEBUI_TIMEOUT_S		     30 /* for a request to arrive */
#define WEBUI_KEEPALIVE_USEC	     (15ULL * 1000000ULL)
#define WEBUI_FILE_MAX		     (4 * 1024 * 1024) /* bytes of one app file */
#define WEBUI_URL_MAX		     80

struct webui_config {
	const char *address; /* numeric IPv4 or IPv6 */
	unsigned port;	     /* 0: a free one */
	const char *ui_dir;
	bool sim; /* serve /sim and POST /api/sim */
	/*
	 * The local user whose TCP connections are the kiosk's screen, a name
	 * or a number; NULL or "": lokerd's own. Everyone else may only look.
	 */
	const char *screen_user;
};

struct webui_ops {
	/* The state (docs/webui.md): a new reference, NULL when out of memory. */
	json_t *(*state)(void *userdata);
	/* Answers a control-socket request made of a screen action. */
	json_t *(*command)(json_t *request, void *userdata);
	/*
	 * A number that changes whenever the state would: the state is built
	 * (and read from the database) only then. NULL: after every turn.
	 */
	uint64_t (*generation)(void *userdata);
};

/*
 * Listens as c says, serving through ops. Returns NULL with errno set (and
 * the reason logged). The caller frees it with webui_free(), which closes
 * every connection.
 */
struct webui *webui_new(sd_event *event, const struct webui_config *c,
			const struct webui_ops *ops, void *userdata);
void webui_free(struct webui *w);

/* "http://127.0.0.1:8080/"; lives as long as w. */
const char *webui_get_url(const struct webui *w);
