/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the kiosk's reading of the server's replies
 * (firmware/protocol.c): the first byte picks the parser (changes, events
 * results, status reply, item lookup, error body), the rest is the body. Beyond the sanitizers'
 * findings it aborts when a parser breaks its contract: a refusal without
 * a reason or with something left behind; an accepted reply with counts
 * past the limits or a string not terminated within its field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"

/* The Lokerbuku-Sync reply header, as curl hands it over: a C string. */
static void version_header(const char *body, size_t size)
{
	char v[256];
	unsigned minor;

	if (size >= sizeof(v))
		size = sizeof(v) - 1;
	memcpy(v, body, size);
	v[size] = '\0';
	minor = protocol_minor_version(v);
	if (minor > 1000 || (minor > 0 && !strstr(v, "1.")))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t size)
{
	if (!memchr(s, '\0', size))
		abort();
}

static void changes(const char *body, size_t size)
{
	struct protocol_changes c;
	char error[PROTOCOL_ERROR_MAX] = "";

	if (protocol_parse_changes(body, size, &c, error) < 0) {
		if (!error[0] || c.holds || c.n_holds)
			abort();
		return;
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
}

static void event_results(const char *body, size_t size)
{
	struct protocol_event_result *r;
	char error[PROTOCOL_ERROR_MAX] = "";
	unsigned n;

	if (protocol_parse_event_results(body, size, &r, &n, error) < 0) {
		if (!error[0] || r || n)
			abort();
		return;
	}
	if (n > PROTOCOL_RESULTS_MAX)
		abort();
	for (unsigned i = 0; i < n; i++) {
		if (strlen(r[i].id) != STORE_UUID_LEN ||
		    r[i].status > PROTOCOL_EVENT_REJECTED)
			abort();
		check_string(r[i].reason, sizeof(r[i].reason));
	}
	free(r);
}

static void status_reply(const char *body, size_t size)
{
	struct protocol_status_reply r;
	char error[PROTOCOL_ERROR_MAX] = "";

	if (protocol_parse_status_reply(body, size, &r, error) < 0) {
		if (!error[0] || r.n_commands)
			abort();
		return;
	}
	if (r.n_commands > PROTOCOL_COMMANDS_MAX ||
	    (r.next_status_s &&
	     (r.next_status_s < 10 || r.next_status_s > 3600)))
		abort();
	for (unsigned i = 0; i < r.n_commands; i++) {
		const struct protocol_command *c = &r.commands[i];

		if (!c->id[0] || c->locker > KIOSK_LOCKERS_MAX ||
		    (c->type == PROTOCOL_COMMAND_OPEN_LOCKER && !c->locker) ||
		    (c->type == PROTOCOL_COMMAND_UNLOAD_HOLD && !c->hold_id[0]))
			abort();
		check_string(c->reason, sizeof(c->reason));
	}
}

static void item_reply(const char *body, size_t size)
{
	struct store_hold h;
	char error[PROTOCOL_ERROR_MAX] = "";

	memset(&h, 0, sizeof(h));
	if (protocol_parse_item_reply(body, size, &h, error) < 0) {
		if (!error[0] || h.hold.id[0])
			abort();
		return;
	}
	if (!h.hold.id[0] || h.n_items < 1 || h.n_items > STORE_ITEMS_MAX ||
	    h.hold.n_credentials < 1 ||
	    h.hold.n_credentials > KIOSK_HOLD_CREDENTIALS_MAX)
		abort();
}

static void error_body(const char *body, size_t size)
{
	char code[PROTOCOL_ERROR_CODE_MAX + 1] = "",
					    message[PROTOCOL_REASON_MAX + 1] =
						    "";

	if (protocol_parse_error(body, size, code, message) < 0) {
		if (code[0] || message[0])
			abort();
		return;
	}
	if (!code[0])
		abort();
	/* What goes into a log line: no control codes. */
	for (const char *p = message; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data + 1;

	if (size < 1)
		return 0;
	switch (data[0] % 6) {
	case 0:
		changes(body, size - 1);
		break;
	case 1:
		event_results(body, size - 1);
		break;
	case 2:
		status_reply(body, size - 1);
		break;
	case 3:
		item_reply(body, size - 1);
		break;
	case 4:
		version_header(body, size - 1);
		break;
	default:
		error_body(body, size - 1);
		break;
	}
	return 0;
}
