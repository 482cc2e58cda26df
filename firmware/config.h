/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lokerd's configuration file (INI), checked whole before anything starts. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kiosk.h"
#include "lockbank.h"

#define CONFIG_KIOSK_ID_MAX 63
#define CONFIG_SITE_KEY_MAX 64 /* bytes */
#define CONFIG_SITE_KEY_MIN 16
#define CONFIG_ERROR_MAX    512

#define CONFIG_DEFAULT_PATH "/etc/lokerbuku/lokerd.conf"

#define CONFIG_URL_MAX	 1023
#define CONFIG_TOKEN_MIN 32 /* characters: at least 16 random bytes as hex */
#define CONFIG_TOKEN_MAX 1024

enum config_backend {
	CONFIG_BACKEND_SIM,
	CONFIG_BACKEND_NFC,    /* readers only: libnfc */
	CONFIG_BACKEND_GPIOD,  /* lock banks only: libgpiod v2 */
	CONFIG_BACKEND_MODBUS, /* lock banks only: a Modbus RTU board */
};

/*
 * A GPIO line as the config names it: "GPIO17" (a line name) or "5" on
 * [lockbank] chip, or "exp1:5" on the chip [lockbank] chip.exp1 names.
 */
struct config_gpio_line {
	char name[32]; /* the kernel's limit; "" when given by offset */
	unsigned offset;
	char chip_name[32]; /* before the ':', or "" */
	unsigned chip;	    /* 0: [lockbank] chip; k: more_chips[k - 1] */
	int line;	    /* of the config file; 0: not given */
};

/* [lockbank] chip.NAME = a further chip of the bank, by path or label. */
struct config_chip {
	char key[40]; /* "chip.NAME" */
	char spec[256];
	int line;
};

#define CONFIG_TIMEZONE_MAX 63
/* [webui] help texts and phone numbers, bytes. */
#define CONFIG_HELP_TEXT_MAX  160
#define CONFIG_HELP_PHONE_MAX 32

struct config {
	char kiosk_id[CONFIG_KIOSK_ID_MAX + 1];
	char site_key_file[PATH_MAX];
	char database[PATH_MAX];
	char control_socket[PATH_MAX];
	int log_level;
	/*
	 * [kiosk] timezone: an IANA name ("Asia/Makassar") the system has in
	 * /usr/share/zoneinfo, or "" for the system's own.
	 */
	char timezone[CONFIG_TIMEZONE_MAX + 1];

	enum config_backend reader_backend;
	char reader_connstring[1024]; /* libnfc's NFC_BUFSIZE_CONNSTRING */
	unsigned reader_poll_ms;
	enum config_backend lockbank_backend;
	/* backend = gpiod: one chip or more; lock and door lines for every
	 * locker. */
	char lockbank_chip[PATH_MAX];
	struct config_chip lockbank_more_chips[LOCKBANK_GPIOD_CHIPS_MAX - 1];
	unsigned lockbank_n_more_chips;
	/* backend = modbus: one board on a serial line, [locker.N] lock the
	 * coil, door and item the discrete inputs (offset only). */
	struct {
		char device[PATH_MAX];
		unsigned baud, data_bits, stop_bits, slave;
		char parity; /* 'N', 'E' or 'O' */
		unsigned poll_ms, timeout_ms;
	} modbus;
	struct config_gpio_line lock_lines[KIOSK_LOCKERS_MAX];
	struct config_gpio_line door_lines[KIOSK_LOCKERS_MAX];
	struct config_gpio_line item_lines[KIOSK_LOCKERS_MAX]; /* optional */
	bool lock_active_low, door_active_low, item_active_low;
	enum lockbank_gpiod_bias door_bias, item_bias;
	unsigned door_debounce_ms;
	/* A keyboard-wedge barcode scanner's evdev node, or "" for none. */
	char scanner_device[PATH_MAX];
	uint64_t outbox_max_unsent;
	/* Sent events older than this go; so do all but the newest 10,000. */
	unsigned outbox_keep_sent_days;
	unsigned keep_finished_days; /* [policy]: finished holds wiped after */

	/* [sync]: Locker Sync API v1 (docs/sync-api.md); url "" means off. */
	struct {
		char url[CONFIG_URL_MAX + 1]; /* https://..., no trailing '/' */
		char token_file[PATH_MAX];
		char token[CONFIG_TOKEN_MAX + 1]; /* read from token_file */
		char ca_file[PATH_MAX];		  /* "": the system's CAs */
		/* "sha256//<base64>[;sha256//...]" or a PEM/DER file. */
		char pinned_public_key[1024];
		char client_cert[PATH_MAX], client_key[PATH_MAX];
		unsigned batch_size;
		unsigned status_interval_s, pull_interval_s;
		/* Remote open_locker commands carried out per period, at most. */
		unsigned open_commands_max, open_commands_period_s;
	} sync;

	/* [webui]: the touchscreen's web server (docs/webui.md). */
	struct {
		char address[46]; /* numeric; "" when there is no [webui] */
		unsigned port;	  /* 0: a free one */
		char ui_dir[PATH_MAX];
		unsigned idle_timeout_s;
		/* Of the screen's tones and spoken prompts: 0 (silent)..100. */
		unsigned volume;
		/* Whose connections are the screen; "": lokerd's own user. */
		char screen_user[33];
		/* listen beyond loopback was meant (allow_remote = yes). */
		bool allow_remote;
		/* The help screen's: "" when not set (UTF-8, no controls). */
		char library_name[CONFIG_HELP_TEXT_MAX + 1];
		char help_phone[CONFIG_HELP_PHONE_MAX + 1];
		char help_whatsapp[CONFIG_HELP_PHONE_MAX + 1];
		char opening_hours[CONFIG_HELP_TEXT_MAX + 1];
	} webui;

	/*
	 * [metrics]: the Prometheus listener (docs/monitoring.md), off when
	 * address is "". A token is required beyond loopback.
	 */
	struct {
		char address[46]; /* numeric; "" when off */
		unsigned port;	  /* 0: a free one */
		char token_file[PATH_MAX];
		char token[CONFIG_TOKEN_MAX + 1]; /* read from token_file */
	} metrics;

	/* The core's settings; kiosk.lockers and site_key point into here. */
	struct kiosk_config kiosk;
	struct kiosk_locker_config lockers[KIOSK_LOCKERS_MAX];
	uint8_t site_key[CONFIG_SITE_KEY_MAX];
};

/*
 * Reads and checks the file at path, then the site key file it names.
 * Returns 0, or -errno with a message naming the file, line and key in
 * ret_error (e.g. "lokerd.conf:12: [doors] confirm_timeout_ms: must be
 * 500..120000"). Unknown sections and keys are errors: a typo must not
 * silently fall back to a default.
 */
int config_load(const char *path, struct config *ret,
		char ret_error[CONFIG_ERROR_MAX]);

/* The defaults, as config_load() starts from them. */
void config_init(struct config *c);

/*
 * True for a numeric address only this machine can reach: 127.0.0.0/8,
 * ::1 and ::ffff:127.0.0.0/104.
 */
bool config_address_is_loopback(const char *address);
