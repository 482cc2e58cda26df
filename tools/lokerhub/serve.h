/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lokerhub serve: the API over HTTPS (libmicrohttpd with GnuTLS). */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <sys/socket.h>

#define SERVE_CONNECTIONS_MAX 64
#define SERVE_IDLE_TIMEOUT_S  60

struct serve_options {
	const char *cert_file, *key_file; /* PEM */
	const char *listen;		  /* ADDR:PORT, [ADDR6]:PORT */
	const char *port_file;		  /* or NULL */
	const char *client_ca_file;	  /* or NULL: no client certificates */
	const char *base_path;
	const char *fleet_listen;    /* the status page: ADDR:PORT, or NULL */
	const char *fleet_port_file; /* or NULL */
	/* Speak v1 only (--api 1.0): no version header, no v1.1 endpoint. */
	bool v1_only;
};

/*
 * Serves until SIGTERM or SIGINT. Takes over db (closes it). Returns an
 * exit status: 0 after a clean stop, 1 when it could not start (said on
 * stderr).
 */
int serve_run(sqlite3 *db, const struct serve_options *o);

/* ADDR:PORT or [ADDR6]:PORT, numeric, into ret. 0 or -EINVAL. */
int serve_parse_listen(const char *text, struct sockaddr_storage *ret,
		       bool *ret_v6);

/* Writes port into path, whole or not at all (tests wait for the file).
 * 0 or -errno. */
int serve_write_port_file(const char *path, unsigned port);
