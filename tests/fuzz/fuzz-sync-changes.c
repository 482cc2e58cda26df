/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for protocol_parse_changes(), the kiosk's reading of
 * the server's "changes" reply. Beyond the sanitizers' findings it aborts
 * when an accepted reply breaks what the rest of the kiosk relies on:
 * counts within the limits, and every string terminated within its field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t size)
{
	if (!memchr(s, '\0', size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct protocol_changes c;
	char error[PROTOCOL_ERROR_MAX];

	if (protocol_parse_changes((const char *)data, size, &c, error) < 0) {
		/* A refusal says why, and leaves nothing behind. */
		if (!error[0] || c.holds || c.n_holds)
			abort();
		return 0;
	}
	if (c.n_holds > PROTOCOL_HOLDS_MAX || c.n_staff > PROTOCOL_STAFF_MAX ||
	    c.n_removed_holds > PROTOCOL_REMOVED_MAX ||
	    c.n_removed_staff > PROTOCOL_REMOVED_MAX || !c.cursor[0])
		abort();
	for (unsigned i = 0; i < c.n_holds; i++) {
		const struct store_hold *h = &c.holds[i];

		if (!h->hold.id[0] || h->n_items < 1 ||
		    h->n_items > STORE_ITEMS_MAX || h->hold.n_credentials < 1 ||
		    h->hold.n_credentials > KIOSK_HOLD_CREDENTIALS_MAX ||
		    h->hold.state != KIOSK_HOLD_STATE_PENDING)
			abort();
		check_string(h->hold.patron_name, sizeof(h->hold.patron_name));
		check_string(h->hold.pin_hash, sizeof(h->hold.pin_hash));
		for (unsigned k = 0; k < h->n_items; k++)
			check_string(h->items[k].title,
				     sizeof(h->items[k].title));
	}
	protocol_changes_clear(&c);
	return 0;
}
