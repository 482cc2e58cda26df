// SPDX-License-Identifier: GPL-2.0-or-later
/* A libmicrohttpd daemon on lokerd's sd-event loop, as httpd.h says. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "httpd.h"
#include "log.h"

struct httpd {
	const char *name;
	struct MHD_Daemon *mhd;
	sd_event_source *io, *timer;
	unsigned port;
	bool loopback;
	struct sockaddr_storage address; /* with the port bound */
	bool woken; /* httpd_wake() was called during MHD_run() */
};

__attribute__((format(printf, 2, 0))) static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct httpd *h = cls;
	char msg[256];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_warning("%s: %s", h->name, msg);
}

static unsigned connections(struct httpd *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(
		h->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

/* Lets MHD work, then wakes it again when it says it must. */
static void run(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG timeout_ms;
	unsigned before;

	/*
	 * At its connection bound MHD takes the listening socket out of its
	 * epoll set, and puts it back only at the start of a run: after a run
	 * that closed connections, one more, or clients waiting to connect
	 * would wake nothing, ever.
	 */
	h->woken = false;
	do {
		before = connections(h);
		MHD_run(h->mhd);
	} while (connections(h) < before);
	/* A connection resumed from a handler: its turn is the next run. */
	if (h->woken) {
		sd_event_source_set_time(h->timer, 0);
		sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
	} else if (MHD_get_timeout(h->mhd, &timeout_ms) == MHD_YES) {
		sd_event_source_set_time_relative(h->timer,
						  timeout_ms * 1000ULL);
		sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
	} else {
		sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
	}
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	run(userdata);
	return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	run(userdata);
	return 0;
}

static int listen_address(const char *address, unsigned port,
			  struct sockaddr_storage *ret)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ret;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ret;

	memset(ret, 0, sizeof(*ret));
	if (inet_pton(AF_INET, address, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	return -EINVAL;
}

struct httpd *httpd_new(sd_event *event, const struct httpd_options *o)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage sa;
	struct httpd *h;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->name = o->name;
	h->port = o->port;
	err = listen_address(o->address, o->port, &sa);
	if (err < 0) {
		log_err("%s: %s is not a numeric address", o->name, o->address);
		goto fail;
	}
	h->loopback = config_address_is_loopback(o->address);
	/* The logger first, so that no message goes to stderr on its own. */
	h->mhd = MHD_start_daemon(
		MHD_USE_EPOLL | MHD_USE_ERROR_LOG | o->extra_flags |
			(sa.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		(uint16_t)o->port, o->on_accept, o->userdata, o->on_request,
		o->userdata, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_CONNECTION_LIMIT, o->connections_max,
		MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->headers_max,
		MHD_OPTION_NOTIFY_COMPLETED, o->on_completed, o->userdata,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
		MHD_OPTION_NOTIFY_CONNECTION, o->on_connection, o->userdata,
		MHD_OPTION_END);
	if (!h->mhd) {
		err = -EADDRNOTAVAIL;
		log_err("%s: cannot listen on %s port %u", o->name, o->address,
			o->port);
		goto fail;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (info)
		h->port = info->port;
	h->address = sa;
	if (sa.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&h->address)->sin6_port =
			htons((uint16_t)h->port);
	else
		((struct sockaddr_in *)&h->address)->sin_port =
			htons((uint16_t)h->port);
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	err = info ? 0 : -EIO;
	if (err == 0)
		err = sd_event_add_io(event, &h->io, info->epoll_fd, EPOLLIN,
				      on_io, h);
	if (err >= 0)
		err = sd_event_add_time_relative(
			event, &h->timer, CLOCK_MONOTONIC, 0, 0, on_timer, h);
	if (err >= 0)
		err = sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
	if (err < 0) {
		log_err("%s: event loop: %s", o->name, strerror(-err));
		goto fail;
	}
	return h;
fail:
	httpd_free(h);
	errno = -err;
	return NULL;
}

void httpd_free(struct httpd *h)
{
	if (!h)
		return;
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	sd_event_source_disable_unref(h->io);
	sd_event_source_disable_unref(h->timer);
	free(h);
}

struct MHD_Daemon *httpd_get_mhd(const struct httpd *h)
{
	return h->mhd;
}

unsigned httpd_get_port(const struct httpd *h)
{
	return h->port;
}

bool httpd_is_loopback(const struct httpd *h)
{
	return h->loopback;
}

const struct sockaddr *httpd_get_address(const struct httpd *h)
{
	return (const struct sockaddr *)&h->address;
}

void httpd_wake(struct httpd *h)
{
	h->woken = true;
	sd_event_source_set_time(h->timer, 0);
	sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}
