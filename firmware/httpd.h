/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the web UI and the metrics listener share: a libmicrohttpd daemon
 * on a numeric address, run in external-poll mode from lokerd's sd-event
 * loop, with its messages in lokerd's log.
 */
#pragma once

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

struct httpd_options {
	const char *name;    /* for the log: "web UI", "metrics" */
	const char *address; /* numeric IPv4 or IPv6 */
	unsigned port;	     /* 0: a free one */
	unsigned connections_max;
	unsigned timeout_s;   /* for a request to arrive */
	size_t headers_max;   /* MHD's memory for one connection */
	unsigned extra_flags; /* MHD_ALLOW_SUSPEND_RESUME, or 0 */
	MHD_AccessHandlerCallback on_request;
	MHD_RequestCompletedCallback on_completed; /* may be NULL */
	/* Whether to take a connection just accepted; NULL: all. */
	MHD_AcceptPolicyCallback on_accept;
	/* A connection started or closed; may be NULL. */
	MHD_NotifyConnectionCallback on_connection;
	void *userdata; /* for all four */
};

/*
 * Listens as o says and runs the daemon from event. Returns NULL with
 * errno set, the reason logged. The caller frees it with httpd_free(),
 * which stops the daemon and closes every connection.
 */
struct httpd *httpd_new(sd_event *event, const struct httpd_options *o);
void httpd_free(struct httpd *h);

/* Lives as long as h. */
struct MHD_Daemon *httpd_get_mhd(const struct httpd *h);
/* The port bound: the one asked for, or the free one found. */
unsigned httpd_get_port(const struct httpd *h);
bool httpd_is_loopback(const struct httpd *h);
/* The address and port listened on (the port as bound). */
const struct sockaddr *httpd_get_address(const struct httpd *h);

/*
 * MHD's own wake-up for resumed connections does not reach its epoll set
 * in external-poll mode: this lets MHD run at the loop's next turn instead.
 */
void httpd_wake(struct httpd *h);
