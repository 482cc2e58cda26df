/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What lokerctl's commands share: the control socket, the doctor. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

/*
 * Sends req to lokerd at socket and waits for its reply, which the caller
 * owns. Returns 0, or lokerctl's exit status after saying why on stderr
 * (unless quiet): 2 for a socket path too long, 3 when lokerd is not
 * running or not answering.
 */
int lokerctl_call(const char *socket, json_t *req, json_t **ret, bool quiet);

/*
 * 0 when lokerd does not answer at socket and no process holds a lock on
 * any of paths; else says who uses them, followed by advice ("stop it
 * first (...)"), on stderr and returns 1.
 */
int lokerctl_refuse_if_in_use(const char *socket, char *const *paths,
			      unsigned n_paths, const char *advice);

struct doctor_options {
	const char *config; /* lokerd's configuration file */
	const char *user;   /* the user lokerd runs as */
	const char *socket; /* NULL: the configuration's */
};

/* Checks the kiosk, a line per check: 1 if any failed, else 0. */
int doctor_run(const struct doctor_options *opt);

struct recover_options {
	const char *config;   /* lokerd's configuration file */
	const char *database; /* NULL: the configuration's */
	const char *socket;   /* NULL: the configuration's */
	bool force;	      /* copy an intact database too */
};

/*
 * Replaces a damaged database, with lokerd stopped, by a copy of what can
 * be read of it, and says what was lost: 0, or 1 after saying why not.
 */
int recover_run(const struct recover_options *opt);

struct wipe_options {
	const char *config; /* lokerd's configuration file */
	const char *socket; /* NULL: the configuration's */
	bool yes;	    /* wipe; else only say what would go */
};

/*
 * With lokerd stopped, overwrites with zeros and removes the database
 * (its -wal, -shm, backups, recovered copies) and the secrets the
 * configuration names: 0, or 1 after saying why not.
 */
int wipe_run(const struct wipe_options *opt);
