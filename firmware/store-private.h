/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the store's own files share, and nobody else. */
#pragma once

#include <sqlite3.h>
#include <stdint.h>

/*
 * Sets what store_open_error() says, as path and a message, for the
 * functions that open files as store_open() does. Returns -err.
 */
__attribute__((format(printf, 3, 4))) int
store_fail_open(const char *path, int err, const char *fmt, ...);

/* One integer from a statement of fixed SQL: SQLite's result code. */
int store_db_get_int(sqlite3 *db, const char *sql, int64_t *ret);
