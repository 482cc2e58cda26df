/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Event retention: events older than a period leave the hot events table
 * for a compressed archive in the same database, their ids kept for the
 * de-duplication (docs/lokerhub.md, "Event retention").
 */
#pragma once

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

#define RETENTION_DAYS_DEFAULT 180
#define RETENTION_DAYS_MAX     36500
/* Events moved per step: one step is one short transaction. */
#define RETENTION_STEP_EVENTS 256

/*
 * One bounded step: the oldest events (at most RETENTION_STEP_EVENTS)
 * received before before_usec go, in one transaction, into one row of
 * event_archive (zlib-compressed JSON lines) and their ids into
 * event_ids. Returns how many moved (0: none is that old), or -errno.
 */
int retention_step(sqlite3 *db, int64_t before_usec);

/* Every archived event as one JSON object a line, oldest first. 0 or
 * -errno (said on stderr). */
int retention_export(sqlite3 *db, FILE *out);
