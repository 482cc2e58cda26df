/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Locker Sync API v1 (docs/sync-api.md): the JSON the server sends, checked
 * whole before anything of it is used. Pure code: bytes in, structs or an
 * error naming the offending field out.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credential.h"
#include "kiosk.h"
#include "store.h"

#define PROTOCOL_REPLY_MAX   (4u << 20) /* bytes */
#define PROTOCOL_CURSOR_MAX  255
#define PROTOCOL_HOLDS_MAX   1000 /* per changes reply */
#define PROTOCOL_REMOVED_MAX 10000
#define PROTOCOL_STAFF_MAX   1000
#define PROTOCOL_ERROR_MAX   256

struct protocol_changes {
	char cursor[PROTOCOL_CURSOR_MAX + 1];
	bool more, full;
	struct store_hold *holds; /* state PENDING, as the server routes them */
	unsigned n_holds;
	char (*removed_holds)[KIOSK_HOLD_ID_MAX + 1];
	unsigned n_removed_holds;
	struct kiosk_staff *staff;
	unsigned n_staff;
	char (*removed_staff)[CREDENTIAL_HMAC_HEX_LEN + 1];
	unsigned n_removed_staff;
	/* settings, when the reply has them */
	bool has_pin_required, pin_required;
};

/*
 * Parses a reply to GET .../changes. Returns 0, or -EINVAL with ret_error
 * saying what and where ("holds[3].items[0].barcode: not 1-63 printable
 * ASCII characters"), -EMSGSIZE for a body over PROTOCOL_REPLY_MAX or
 * arrays over their limits, -ENOMEM. On failure ret holds nothing to free.
 * Unknown fields are ignored, as the API asks.
 */
int protocol_parse_changes(const char *body, size_t len,
			   struct protocol_changes *ret,
			   char ret_error[PROTOCOL_ERROR_MAX]);
void protocol_changes_clear(struct protocol_changes *c);

/*
 * "2026-11-22T08:15:00Z" (fractions of a second allowed, ignored) as
 * microseconds since the epoch. 0, or -EINVAL for anything else, including
 * offsets other than Z and impossible dates.
 */
int protocol_parse_time(const char *s, int64_t *ret_usec);
