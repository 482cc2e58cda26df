// SPDX-License-Identifier: GPL-2.0-or-later
/* The configuration file: defaults, layouts, and errors that name the key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char dir[] = "/tmp/test-config-XXXXXX";
static char conf_path[256], key_path[256];

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
}

/* Writes a config of the [kiosk] basics plus extra; returns config_load(). */
static int load(const char *extra, struct config *c, char *error)
{
	char text[8192];

	snprintf(text, sizeof(text),
		 "[kiosk]\nid = lib-01\nsite_key_file = %s\n%s", key_path,
		 extra);
	write_file(conf_path, text, 0644);
	return config_load(conf_path, c, error);
}

static void write_good_key(void)
{
	write_file(
		key_path,
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		0600);
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	snprintf(conf_path, sizeof(conf_path), "%s/lokerd.conf", dir);
	snprintf(key_path, sizeof(key_path), "%s/site.key", dir);
	write_good_key();
	return 0;
}

static int teardown(void **state)
{
	unlink(conf_path);
	unlink(key_path);
	rmdir(dir);
	return 0;
}

static void a_minimal_file_gets_the_documented_defaults(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	assert_int_equal(load("[lockers]\ncount = 4\n", c, error), 0);
	assert_string_equal(c->kiosk_id, "lib-01");
	assert_string_equal(c->database, "/var/lib/lokerbuku/lokerd.db");
	assert_int_equal(c->kiosk.n_lockers, 4);
	assert_int_equal(c->kiosk.site_key_len, 32);
	assert_int_equal(c->site_key[0], 0x00);
	assert_int_equal(c->site_key[31], 0xff);
	assert_ptr_equal(c->kiosk.site_key, c->site_key);
	assert_ptr_equal(c->kiosk.lockers, c->lockers);
	assert_true(c->kiosk.pin_required);
	assert_int_equal(c->kiosk.pin_max_attempts, 3);
	assert_int_equal(c->kiosk.pin_lockout_usec, 86400000000ULL);
	assert_int_equal(c->kiosk.door_confirm_timeout_usec, 10000000);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(c->lockers[i].size, KIOSK_SIZE_SMALL);
		assert_int_equal(c->lockers[i].kind, KIOSK_LOCKER_KIND_HOLD);
		assert_int_equal(c->lockers[i].pulse_ms, 500);
	}
	free(c);
}

static void a_webui_section_turns_the_screen_server_on(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	assert_int_equal(load("[lockers]\ncount = 4\n", c, error), 0);
	assert_string_equal(c->webui.address, "");
	assert_int_equal(c->webui.idle_timeout_s, 60);
	assert_int_equal(c->webui.volume, 80);
	assert_string_equal(c->webui.ui_dir, LOKERBUKU_UI_DIR);
	assert_int_equal(c->outbox_keep_sent_days, 90);

	assert_int_equal(load("[lockers]\ncount = 4\n[webui]\n"
			      "listen = 127.0.0.1:8080\nui_dir = /srv/ui\n"
			      "idle_timeout_s = 30\nvolume = 0\n",
			      c, error),
			 0);
	assert_int_equal(c->webui.volume, 0);
	assert_string_equal(c->webui.address, "127.0.0.1");
	assert_int_equal(c->webui.port, 8080);
	assert_string_equal(c->webui.ui_dir, "/srv/ui");
	assert_int_equal(c->webui.idle_timeout_s, 30);

	assert_int_equal(load("[lockers]\ncount = 4\n[webui]\n"
			      "listen = [::1]:0\n",
			      c, error),
			 0);
	assert_string_equal(c->webui.address, "::1");
	assert_int_equal(c->webui.port, 0);
	assert_string_equal(c->webui.screen_user, "");
	assert_false(c->webui.allow_remote);

	assert_int_equal(load("[lockers]\ncount = 4\n[webui]\n"
			      "listen = 127.0.0.1:8080\n"
			      "screen_user = lokerbuku-ui\n",
			      c, error),
			 0);
	assert_string_equal(c->webui.screen_user, "lokerbuku-ui");
	assert_string_equal(c->webui.library_name, "");
	assert_string_equal(c->webui.help_phone, "");

	/* The help screen's texts, UTF-8 as written. */
	assert_int_equal(load("[lockers]\ncount = 4\n[webui]\n"
			      "library_name = Perpustakaan Kota\n"
			      "help_phone = (021) 555-0100\n"
			      "help_whatsapp = +62 812 0000 0000\n"
			      "opening_hours = Senin\xe2\x80\x93Jumat 08.00\n",
			      c, error),
			 0);
	assert_string_equal(c->webui.library_name, "Perpustakaan Kota");
	assert_string_equal(c->webui.help_phone, "(021) 555-0100");
	assert_string_equal(c->webui.help_whatsapp, "+62 812 0000 0000");
	assert_string_equal(c->webui.opening_hours,
			    "Senin\xe2\x80\x93Jumat 08.00");
	free(c);
}

/* Beyond loopback only when meant: the same rule as for [metrics]. */
static void a_webui_beyond_loopback_must_be_meant(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	assert_int_equal(load("[lockers]\ncount = 2\n[webui]\n"
			      "listen = 0.0.0.0:8080\n",
			      c, error),
			 -EINVAL);
	assert_non_null(strstr(error, "[webui] listen = 0.0.0.0 is beyond "
				      "loopback: set allow_remote = yes"));
	assert_int_equal(load("[lockers]\ncount = 2\n[webui]\n"
			      "listen = [::]:8080\nallow_remote = no\n",
			      c, error),
			 -EINVAL);
	assert_non_null(strstr(error, "[webui] listen = :: is beyond"));
	assert_int_equal(
		load("[lockers]\ncount = 2\n[webui]\n"
		     "listen = 192.168.1.20:8080\nallow_remote = yes\n",
		     c, error),
		0);
	assert_true(c->webui.allow_remote);
	assert_int_equal(load("[lockers]\ncount = 2\n[webui]\n"
			      "listen = [::1]:8080\n",
			      c, error),
			 0);
	free(c);
}

static void ranges_and_locker_sections_set_the_layout(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	assert_int_equal(load("[lockers]\ncount = 12\npulse_ms = 300\n"
			      "medium = 5-8\nlarge = 9, 10\nreturn = 11-12\n"
			      "low = 1-2, 5\n"
			      "[locker.3]\npulse_ms = 1200\nlow = yes\n"
			      "[policy]\npin_required = yes\n"
			      "[doors]\nconfirm_timeout_ms = 2500\n",
			      c, error),
			 0);
	assert_int_equal(c->lockers[0].size, KIOSK_SIZE_SMALL);
	assert_int_equal(c->lockers[4].size, KIOSK_SIZE_MEDIUM);
	assert_int_equal(c->lockers[8].size, KIOSK_SIZE_LARGE);
	assert_int_equal(c->lockers[9].size, KIOSK_SIZE_LARGE);
	assert_int_equal(c->lockers[10].kind, KIOSK_LOCKER_KIND_RETURN);
	assert_int_equal(c->lockers[9].kind, KIOSK_LOCKER_KIND_HOLD);
	assert_int_equal(c->lockers[0].pulse_ms, 300);
	assert_int_equal(c->lockers[2].pulse_ms, 1200);
	assert_true(c->lockers[0].low && c->lockers[1].low);
	assert_true(c->lockers[2].low && c->lockers[4].low);
	assert_false(c->lockers[3].low || c->lockers[5].low);
	assert_true(c->kiosk.pin_required);
	assert_int_equal(c->kiosk.door_confirm_timeout_usec, 2500000);
	free(c);
}

struct bad_case {
	const char *text;
	const char *expect; /* substring of the error */
};

static void bad_files_are_refused_naming_the_key(void **state)
{
	static const struct bad_case cases[] = {
		{ "[lockers]\ncount = 4\ncolor = red\n",
		  "[lockers] color: unknown key" },
		{ "[lockers]\ncount = 4\n[lokers]\nx = 1\n",
		  "[lokers] x: unknown section" },
		{ "[lockers]\ncount = 0\n",
		  "[lockers] count: must be a number 1..128" },
		{ "[lockers]\ncount = 4\nmedium = 1-2\nlarge = 2-3\n",
		  "[lockers] large: locker 2 already has its size from 'medium'" },
		{ "[lockers]\ncount = 4\nmedium = 3-1\n",
		  "[lockers] medium: must be locker numbers" },
		{ "[lockers]\ncount = 4\n[locker.9]\nsize = large\n",
		  "locker 9: beyond [lockers] count = 4" },
		{ "[lockers]\ncount = 2\nreturn = 1-2\n",
		  "none is left for holds" },
		{ "[lockers]\ncount = 4\n[doors]\nconfirm_timeout_ms = 10\n",
		  "[doors] confirm_timeout_ms: must be a number 500..120000" },
		{ "[lockers]\ncount = 4\n[policy]\npin_required = maybe\n",
		  "[policy] pin_required: must be yes or no" },
		{ "[lockers]\ncount = 4\n[reader]\nbackend = pn999\n",
		  "[reader] backend: must be sim or nfc" },
		{ "[lockers]\ncount = 4\n[reader]\nbackend = nfc\n",
		  "[reader] connstring: missing" },
		{ "[lockers]\ncount = 4\n[reader]\npoll_ms = 5\n",
		  "[reader] poll_ms: must be a number 10..1000" },
		{ "", "[lockers] count: missing" },
		{ "[lockers]\ncount = 4\n[kiosk]\ndatabase = relative.db\n",
		  "[kiosk] database: must be an absolute path" },
		/* A pulse must end before the door is due to be seen open. */
		{ "[lockers]\ncount = 4\n[locker.3]\npulse_ms = 10000\n",
		  "lokerd.conf:7: [locker.3] pulse_ms: 10000 is not shorter than [doors] confirm_timeout_ms (10000)" },
		{ "[locker.2]\npulse_ms = 600\n[lockers]\ncount = 4\n"
		  "[doors]\nconfirm_timeout_ms = 550\n",
		  "lokerd.conf:5: [locker.2] pulse_ms: 600 is not shorter than [doors] confirm_timeout_ms (550)" },
		{ "[doors]\nconfirm_timeout_ms = 800\n[lockers]\ncount = 4\n"
		  "pulse_ms = 800\n",
		  "lokerd.conf:8: [lockers] pulse_ms: 800 is not shorter than [doors] confirm_timeout_ms (800)" },
		{ "[lockers]\ncount = 4\n[doors]\nconfirm_timeout_ms = 500\n",
		  "lokerd.conf:7: [lockers] pulse_ms: 500 (the default) is not shorter than [doors] confirm_timeout_ms (500)" },
		/* A locker's kind comes from one place. */
		{ "[lockers]\ncount = 4\nreturn = 3-4\n[locker.3]\nkind = hold\n",
		  "lokerd.conf:8: [locker.3] kind: locker 3 already has its kind from [lockers] return (line 6)" },
		{ "[locker.4]\nkind = hold\n[lockers]\ncount = 4\nreturn = 3-4\n",
		  "lokerd.conf:8: [lockers] return: locker 4 already has its kind from [locker.4] kind (line 5)" },
		/* The last value silently winning hides a mistake. */
		{ "[lockers]\ncount = 4\ncount = 8\n",
		  "lokerd.conf:6: [lockers] count: given twice or continued on an indented line (first on line 5)" },
		{ "[locker.3]\npulse_ms = 300\n[lockers]\ncount = 4\n"
		  "[locker.03]\npulse_ms = 400\n",
		  "lokerd.conf:9: [locker.03] pulse_ms: given twice or continued on an indented line (first on line 5)" },
		{ "[lockers]\ncount = 4\n[kiosk]\nid = lib-02\n",
		  "lokerd.conf:7: [kiosk] id: given twice" },
		{ "[lockers]\ncount = 4\npulse_ms = 300\n  medium = 1-2\n",
		  "lokerd.conf:7: [lockers] pulse_ms: given twice or continued on an indented line (first on line 6)" }, /* GPIO lines: every one needed, none ignored. */
		{ "[lockers]\ncount = 4\n[lockbank]\nbackend = nfc\n",
		  "[lockbank] backend: must be sim, gpiod or modbus" },
		{ "[lockers]\ncount = 4\n[reader]\nbackend = gpiod\n",
		  "[reader] backend: must be sim or nfc" },
		{ "[lockers]\ncount = 1\n[lockbank]\nbackend = gpiod\n",
		  "[lockbank] chip: missing" },
		{ "[lockers]\ncount = 2\n[lockbank]\nbackend = gpiod\n"
		  "chip = /dev/gpiochip0\n[locker.1]\nlock = 1\ndoor = 2\n"
		  "[locker.2]\nlock = 3\n",
		  "[locker.2] door: missing (backend = gpiod needs the door line of every locker)" },
		{ "[lockers]\ncount = 1\n[locker.1]\nlock = 1\n",
		  "lokerd.conf:7: [locker.1] lock: a lock, door or item line needs [lockbank] backend = gpiod or modbus" },
		{ "[lockers]\ncount = 1\n[locker.1]\ndoor = 5x\n",
		  "[locker.1] door: must be a GPIO line" },
		{ "[lockers]\ncount = 1\n[locker.1]\ndoor = 70000\n",
		  "[locker.1] door: must be a GPIO line" },
		{ "[lockers]\ncount = 1\n[locker.1]\n"
		  "door = a-line-name-longer-than-the-kernel-allows\n",
		  "[locker.1] door: must be a GPIO line" },
		{ "[lockers]\ncount = 1\n[lockbank]\ndoor_bias = up\n",
		  "[lockbank] door_bias: must be pull-up, pull-down, disabled or as-is" },
		{ "[lockers]\ncount = 1\n[lockbank]\nlock_active_low = low\n",
		  "[lockbank] lock_active_low: must be yes or no" },
		{ "[lockers]\ncount = 1\n[lockbank]\ndoor_debounce_ms = 0\n",
		  "[lockbank] door_debounce_ms: must be a number 1..1000" },
		{ "[lockers]\ncount = 1\n[lockbank]\nchip = gpio\tchip0\n",
		  "[lockbank] chip: must be a path like /dev/gpiochip0, or a chip's label" },
		{ "[lockers]\ncount = 1\n[lockbank]\nchip.a b = mcp23017\n",
		  "[lockbank] chip.a b: NAME takes letters, digits, - and _" },
		{ "[lockers]\ncount = 1\n[scanner]\ndevice = event3\n",
		  "[scanner] device: must be a path" },
		{ "[lockers]\ncount = 1\n[lockbank]\ndoor_bias = pull-down\n",
		  "lokerd.conf:7: [lockbank] door_bias: only used with backend = gpiod" },
		{ "[lockers]\ncount = 2\n[lockbank]\nbackend = gpiod\n"
		  "chip = /dev/gpiochip0\n[locker.1]\nlock = 1\ndoor = 2\n"
		  "[locker.2]\nlock = 3\ndoor = 1\n",
		  "lokerd.conf:14: [locker.2] door: the same line as locker 1's lock (on line 10 of this file)" },
		{ "[lockers]\ncount = 1\n[lockbank]\nbackend = gpiod\n"
		  "chip = /dev/gpiochip0\n[locker.1]\nlock = GPIO4\n"
		  "door = GPIO4\n",
		  "[locker.1] door: the same line as locker 1's lock" },
		{ "[lockers]\ncount = 1\n[webui]\nlisten = localhost:8080\n",
		  "[webui] listen: must be a numeric address and a port" },
		{ "[lockers]\ncount = 1\n[webui]\nlisten = 127.0.0.1\n",
		  "[webui] listen: must be a numeric address and a port" },
		{ "[lockers]\ncount = 1\n[webui]\nlisten = 127.0.0.1:65536\n",
		  "[webui] listen: must be a numeric address and a port" },
		{ "[lockers]\ncount = 1\n[webui]\nlisten = ::1:8080\n",
		  "[webui] listen: must be a numeric address and a port" },
		{ "[lockers]\ncount = 1\n[outbox]\nkeep_sent_days = 0\n",
		  "[outbox] keep_sent_days: must be a number 1..3650" },
		{ "[lockers]\ncount = 1\n[webui]\nidle_timeout_s = 5\n",
		  "[webui] idle_timeout_s: must be a number 10..3600" },
		{ "[lockers]\ncount = 1\n[webui]\nvolume = 101\n",
		  "[webui] volume: must be a number 0..100" },
		{ "[lockers]\ncount = 1\n[webui]\nui_dir = ui\n",
		  "[webui] ui_dir: must be an absolute path" },
		{ "[lockers]\ncount = 1\n[webui]\nscreen_user = a b\n",
		  "[webui] screen_user: must be a user's name or number" },
		{ "[lockers]\ncount = 1\n[webui]\nscreen_user = -x\n",
		  "[webui] screen_user: must be a user's name or number" },
		{ "[lockers]\ncount = 1\n[webui]\nallow_remote = maybe\n",
		  "[webui] allow_remote: must be yes or no" },
		{ "[lockers]\ncount = 1\n[webui]\nlibrary_name = a\xff\n",
		  "[webui] library_name: must be 1 to 160 bytes of UTF-8" },
		{ "[lockers]\ncount = 1\n[webui]\nopening_hours = a\tb\n",
		  "[webui] opening_hours: must be 1 to 160 bytes of UTF-8" },
		{ "[lockers]\ncount = 1\n[webui]\nopening_hours = "
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
		  "[webui] opening_hours: must be 1 to 160 bytes of UTF-8" },
		{ "[lockers]\ncount = 1\n[webui]\nhelp_phone = call us\n",
		  "[webui] help_phone: must be a phone number" },
		{ "[lockers]\ncount = 1\n[webui]\nhelp_whatsapp = ++--\n",
		  "[webui] help_whatsapp: must be a phone number" },
	};
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load(cases[i].text, c, error), -EINVAL);
		if (!strstr(error, cases[i].expect))
			fail_msg("case %zu: error '%s' lacks '%s'", i, error,
				 cases[i].expect);
	}
	free(c);
}

static void errors_carry_the_line_number(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	/* Lines 1-3 are the [kiosk] basics. */
	assert_int_equal(load("[lockers]\ncount = 4\npulse_ms = 5\n", c, error),
			 -EINVAL);
	assert_non_null(strstr(error, "lokerd.conf:6: [lockers] pulse_ms"));
	free(c);
}

static void a_line_too_long_for_inih_is_named(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX], text[1024];

	/* 199 characters is inih's limit, and counting goes on after it. */
	snprintf(text, sizeof(text),
		 "[lockers]\ncount = 4\n; %0197d\n"
		 "[doors]\nconfirm_timeout_ms = 10\n",
		 0);
	assert_int_equal(load(text, c, error), -EINVAL);
	if (!strstr(error, "lokerd.conf:8: [doors] confirm_timeout_ms"))
		fail_msg("error '%s'", error);

	/* Also as the last line, without its newline. */
	snprintf(text, sizeof(text), "[lockers]\ncount = 4\n; %0197d", 0);
	assert_int_equal(load(text, c, error), 0);

	snprintf(text, sizeof(text),
		 "[lockers]\ncount = 4\n; %0198d\n[lockers]\ncount = 4\n", 0);
	assert_int_equal(load(text, c, error), -EINVAL);
	assert_string_equal(strstr(error, "lokerd.conf"),
			    "lokerd.conf:6: longer than 199 characters");

	/* An error before the long line is the one reported. */
	snprintf(text, sizeof(text),
		 "[lockers]\ncount = 4\ncolor = red\n; %0500d\n", 0);
	assert_int_equal(load(text, c, error), -EINVAL);
	assert_non_null(strstr(error, "lokerd.conf:6: [lockers] color"));
	free(c);
}

static void pulses_and_kinds_that_agree_are_taken(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	assert_int_equal(load("[locker.2]\nkind = return\npulse_ms = 499\n"
			      "[lockers]\ncount = 4\npulse_ms = 50\n"
			      "return = 4\n"
			      "[doors]\nconfirm_timeout_ms = 500\n",
			      c, error),
			 0);
	assert_int_equal(c->lockers[0].kind, KIOSK_LOCKER_KIND_HOLD);
	assert_int_equal(c->lockers[1].kind, KIOSK_LOCKER_KIND_RETURN);
	assert_int_equal(c->lockers[3].kind, KIOSK_LOCKER_KIND_RETURN);
	assert_int_equal(c->lockers[0].pulse_ms, 50);
	assert_int_equal(c->lockers[1].pulse_ms, 499);
	free(c);
}

static void a_gpio_bank_names_every_line(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	assert_int_equal(load("[lockers]\ncount = 2\n"
			      "[lockbank]\nbackend = gpiod\n"
			      "chip = /dev/gpiochip2\nlock_active_low = yes\n"
			      "door_bias = pull-down\ndoor_debounce_ms = 30\n"
			      "[locker.1]\nlock = GPIO5\ndoor = 17\n"
			      "[locker.2]\nlock = 6\ndoor = GPIO27\nitem = 22\n"
			      "[scanner]\ndevice = /dev/input/by-id/kbd\n",
			      c, error),
			 0);
	assert_int_equal(c->lockbank_backend, CONFIG_BACKEND_GPIOD);
	assert_string_equal(c->lockbank_chip, "/dev/gpiochip2");
	assert_true(c->lock_active_low);
	assert_false(c->door_active_low);
	assert_int_equal(c->door_bias, LOCKBANK_GPIOD_BIAS_PULL_DOWN);
	assert_int_equal(c->item_bias, LOCKBANK_GPIOD_BIAS_PULL_UP);
	assert_int_equal(c->door_debounce_ms, 30);
	assert_string_equal(c->lock_lines[0].name, "GPIO5");
	assert_string_equal(c->door_lines[0].name, "");
	assert_int_equal(c->door_lines[0].offset, 17);
	assert_int_equal(c->item_lines[0].line, 0);
	assert_int_equal(c->lock_lines[1].offset, 6);
	assert_string_equal(c->door_lines[1].name, "GPIO27");
	assert_int_equal(c->item_lines[1].offset, 22);
	assert_int_not_equal(c->item_lines[1].line, 0);
	assert_string_equal(c->scanner_device, "/dev/input/by-id/kbd");
	free(c);
}

static void a_modbus_bank_takes_a_board_and_its_addresses(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	assert_int_equal(load("[lockers]\ncount = 2\n"
			      "[lockbank]\nbackend = modbus\n"
			      "device = /dev/serial/by-id/usb-FTDI-if00\n"
			      "baud = 19200\nparity = even\nstop_bits = 1\n"
			      "data_bits = 8\nslave = 17\npoll_ms = 200\n"
			      "timeout_ms = 80\ndoor_active_low = yes\n"
			      "[locker.1]\nlock = 0\ndoor = 0\n"
			      "[locker.2]\nlock = 1\ndoor = 1\nitem = 9\n",
			      c, error),
			 0);
	assert_int_equal(c->lockbank_backend, CONFIG_BACKEND_MODBUS);
	assert_string_equal(c->modbus.device,
			    "/dev/serial/by-id/usb-FTDI-if00");
	assert_int_equal(c->modbus.baud, 19200);
	assert_int_equal(c->modbus.parity, 'E');
	assert_int_equal(c->modbus.data_bits, 8);
	assert_int_equal(c->modbus.stop_bits, 1);
	assert_int_equal(c->modbus.slave, 17);
	assert_int_equal(c->modbus.poll_ms, 200);
	assert_int_equal(c->modbus.timeout_ms, 80);
	assert_true(c->door_active_low);
	/* A coil and an input of one number are different things. */
	assert_int_equal(c->lock_lines[1].offset, 1);
	assert_int_equal(c->door_lines[1].offset, 1);
	assert_int_equal(c->item_lines[1].offset, 9);

	/* The defaults: what most boards ship with. */
	assert_int_equal(load("[lockers]\ncount = 1\n"
			      "[lockbank]\nbackend = modbus\n"
			      "device = /dev/ttyUSB0\n"
			      "[locker.1]\nlock = 3\ndoor = 3\n",
			      c, error),
			 0);
	assert_int_equal(c->modbus.baud, 9600);
	assert_int_equal(c->modbus.parity, 'N');
	assert_int_equal(c->modbus.stop_bits, 1);
	assert_int_equal(c->modbus.slave, 1);
	assert_int_equal(c->modbus.poll_ms, LOCKBANK_MODBUS_POLL_MS_DEFAULT);
	assert_int_equal(c->modbus.timeout_ms,
			 LOCKBANK_MODBUS_TIMEOUT_MS_DEFAULT);
	free(c);
}

static void bad_modbus_settings_are_refused(void **state)
{
#define MB     "[lockers]\ncount = 2\n[lockbank]\nbackend = modbus\n"
#define MB_DEV "device = /dev/ttyUSB0\n"
#define MB_LOCKERS \
	"[locker.1]\nlock = 0\ndoor = 0\n[locker.2]\nlock = 1\ndoor = 1\n"
	static const struct bad_case cases[] = {
		{ MB MB_LOCKERS,
		  "lokerd.conf: [lockbank] device: missing (backend = modbus needs the board's serial port, like /dev/ttyUSB0)" },
		{ MB "device = ttyUSB0\n" MB_LOCKERS,
		  "lokerd.conf:8: [lockbank] device: must be a serial port's path" },
		{ MB MB_DEV "baud = 9601\n" MB_LOCKERS,
		  "lokerd.conf:9: [lockbank] baud: must be 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200" },
		{ MB MB_DEV "parity = mark\n" MB_LOCKERS,
		  "lokerd.conf:9: [lockbank] parity: must be none, even or odd" },
		{ MB MB_DEV "data_bits = 7\n" MB_LOCKERS,
		  "lokerd.conf:9: [lockbank] data_bits: must be 8: Modbus RTU frames are 8 data bits" },
		{ MB MB_DEV "stop_bits = 0\n" MB_LOCKERS,
		  "[lockbank] stop_bits: must be 1 or 2" },
		{ MB MB_DEV "slave = 248\n" MB_LOCKERS,
		  "[lockbank] slave: must be the board's address, a number 1..247" },
		{ MB MB_DEV "slave = 0\n" MB_LOCKERS,
		  "[lockbank] slave: must be the board's address" },
		{ MB MB_DEV "poll_ms = 10\n" MB_LOCKERS,
		  "[lockbank] poll_ms: must be a number 50..1000" },
		{ MB MB_DEV "timeout_ms = 1000\n" MB_LOCKERS,
		  "[lockbank] timeout_ms: must be a number 10..200" },
		{ MB MB_DEV "baud = 1200\n" MB_LOCKERS,
		  "lokerd.conf: [lockbank] baud: at 1200 baud one read of the inputs takes about 117 ms, more than half of poll_ms (100): raise baud or poll_ms" },
		{ MB MB_DEV
		  "[locker.1]\nlock = 0\ndoor = 0\n[locker.2]\nlock = 1\n",
		  "[locker.2] door: missing (backend = modbus needs the door input of every locker)" },
		{ MB MB_DEV
		  "[locker.1]\nlock = 0\ndoor = 0\n[locker.2]\nlock = 0\ndoor = 1\n",
		  "lokerd.conf:13: [locker.2] lock: the same coil as locker 1's lock (on line 10 of this file)" },
		{ MB MB_DEV
		  "[locker.1]\nlock = 0\ndoor = 0\n[locker.2]\nlock = 1\ndoor = 1\nitem = 0\n",
		  "lokerd.conf:15: [locker.2] item: the same input as locker 1's door (on line 11 of this file)" },
		{ MB MB_DEV
		  "[locker.1]\nlock = 0\ndoor = GPIO4\n[locker.2]\nlock = 1\ndoor = 1\n",
		  "lokerd.conf:11: [locker.1] door: must be the board's discrete input address, a number 0..65535" },
		{ MB MB_DEV
		  "[locker.1]\nlock = 0\ndoor = 0\n[locker.2]\nlock = 1\ndoor = 2000\n",
		  "[lockbank] backend: modbus reads the door and item inputs in one request, 2000 at most; these span 0..2000" },
		{ MB MB_DEV "chip = /dev/gpiochip0\n" MB_LOCKERS,
		  "lokerd.conf:9: [lockbank] chip: only used with backend = gpiod" },
		{ "[lockers]\ncount = 1\n[lockbank]\nbackend = gpiod\n"
		  "chip = /dev/gpiochip0\nslave = 2\n[locker.1]\nlock = 1\ndoor = 2\n",
		  "lokerd.conf:9: [lockbank] slave: only used with backend = modbus" },
		{ "[lockers]\ncount = 1\n[lockbank]\ndoor_active_low = yes\n",
		  "lokerd.conf:7: [lockbank] door_active_low: only used with backend = gpiod or modbus" },
		{ "[lockers]\ncount = 1\n[reader]\nbackend = modbus\n",
		  "[reader] backend: must be sim or nfc" },
	};
#undef MB
#undef MB_DEV
#undef MB_LOCKERS
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load(cases[i].text, c, error), -EINVAL);
		if (!strstr(error, cases[i].expect))
			fail_msg("case %zu: error '%s' lacks '%s'", i, error,
				 cases[i].expect);
	}
	free(c);
}

/* A bank of n lockers, the first n_items with an item sensor. */
static int load_bank(unsigned n, unsigned n_items, struct config *c,
		     char *error)
{
	char text[4000];
	int off;

	off = snprintf(text, sizeof(text),
		       "[lockers]\ncount = %u\n[lockbank]\nbackend = gpiod\n"
		       "chip = /dev/gpiochip0\n",
		       n);
	for (unsigned i = 1; i <= n; i++) {
		off += snprintf(text + off, sizeof(text) - (size_t)off,
				"[locker.%u]\nlock=L%u\ndoor=D%u\n", i, i, i);
		if (i <= n_items)
			off += snprintf(text + off, sizeof(text) - (size_t)off,
					"item=I%u\n", i);
	}
	assert_true(off < (int)sizeof(text));
	return load(text, c, error);
}

/* One kernel line request per kind of line: 64 lines each at most. */
static void a_gpio_bank_past_the_kernel_limit_is_refused(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	assert_int_equal(load_bank(40, 24, c, error), 0);
	assert_int_equal(load_bank(64, 0, c, error), 0);
	assert_int_equal(load_bank(40, 25, c, error), -EINVAL);
	assert_non_null(strstr(
		error,
		"[lockbank] chip: gpiod takes at most 64 lock lines and 64 door and item lines together from one chip; these lockers need 40 and 65 of it"));
	assert_int_equal(load_bank(65, 0, c, error), -EINVAL);
	assert_non_null(strstr(error, "these lockers need 65 and 65"));
	free(c);
}

/* A bank of 48 doors on the SoC's chip and two expanders (issue 23). */
static void a_bank_takes_lines_from_several_chips(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX], text[8192];
	int off;

	off = snprintf(text, sizeof(text),
		       "[kiosk]\nid = k\nsite_key_file = %s\n"
		       "[lockers]\ncount = 48\n[lockbank]\nbackend = gpiod\n"
		       "chip = /dev/gpiochip0\nchip.exp1 = mcp23017-0x20\n"
		       "chip.exp2 = /dev/gpiochip3\n",
		       key_path);
	/* 1-24: locks on the SoC, doors on exp1; 25-48: all on exp2. */
	for (unsigned i = 1; i <= 48; i++)
		off += snprintf(
			text + off, sizeof(text) - (size_t)off,
			i <= 24 ? "[locker.%u]\nlock=%u\ndoor=exp1:%u\n" :
				  "[locker.%u]\nlock=exp2:%u\ndoor=exp2:%u\n",
			i, i <= 24 ? i : i - 25, i <= 24 ? i - 1 : i - 1);
	assert_true(off < (int)sizeof(text));
	write_file(conf_path, text, 0644);
	if (config_load(conf_path, c, error) != 0)
		fail_msg("%s", error);
	assert_int_equal(c->lockbank_n_more_chips, 2);
	assert_string_equal(c->lockbank_more_chips[0].spec, "mcp23017-0x20");
	assert_int_equal(c->lock_lines[0].chip, 0);
	assert_int_equal(c->lock_lines[0].offset, 1);
	assert_int_equal(c->door_lines[0].chip, 1);
	assert_int_equal(c->door_lines[0].offset, 0);
	assert_int_equal(c->lock_lines[24].chip, 2);
	assert_int_equal(c->lock_lines[24].offset, 0);
	assert_int_equal(c->door_lines[47].chip, 2);
	assert_int_equal(c->door_lines[47].offset, 47);

	/* One offset on two chips is two lines; on one chip, one. */
	off = snprintf(text, sizeof(text),
		       "[kiosk]\nid = k\nsite_key_file = %s\n"
		       "[lockers]\ncount = 2\n[lockbank]\nbackend = gpiod\n"
		       "chip = /dev/gpiochip0\nchip.x = /dev/gpiochip1\n"
		       "[locker.1]\nlock = 5\ndoor = x:5\n"
		       "[locker.2]\nlock = x:6\ndoor = x:5\n",
		       key_path);
	write_file(conf_path, text, 0644);
	assert_int_equal(config_load(conf_path, c, error), -EINVAL);
	assert_non_null(strstr(
		error, "[locker.2] door: the same line as locker 1's door"));

	/* A chip no [lockbank] chip.NAME names. */
	snprintf(text, sizeof(text),
		 "[kiosk]\nid = k\nsite_key_file = %s\n"
		 "[lockers]\ncount = 1\n[lockbank]\nbackend = gpiod\n"
		 "chip = /dev/gpiochip0\n[locker.1]\nlock = 5\ndoor = exp9:5\n",
		 key_path);
	write_file(conf_path, text, 0644);
	assert_int_equal(config_load(conf_path, c, error), -EINVAL);
	assert_non_null(strstr(
		error,
		"[locker.1] door: no chip \"exp9\": name it with [lockbank] chip.exp9 = its path or label"));
	free(c);
}

static void a_missing_id_is_refused(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX], text[512];

	snprintf(text, sizeof(text),
		 "[kiosk]\nsite_key_file = %s\n[lockers]\ncount = 2\n",
		 key_path);
	write_file(conf_path, text, 0644);
	assert_int_equal(config_load(conf_path, c, error), -EINVAL);
	assert_non_null(strstr(error, "[kiosk] id: missing"));
	free(c);
}

static void a_site_key_readable_by_others_is_refused(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	chmod(key_path, 0644);
	assert_int_equal(load("[lockers]\ncount = 2\n", c, error), -EPERM);
	assert_non_null(strstr(error, "readable by others"));
	chmod(key_path, 0600);
	free(c);
}

static void a_short_or_non_hex_site_key_is_refused(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	write_file(key_path, "0011\n", 0600);
	assert_int_equal(load("[lockers]\ncount = 2\n", c, error), -EINVAL);
	assert_non_null(strstr(error, "hex digits"));
	write_file(
		key_path,
		"zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
		0600);
	assert_int_equal(load("[lockers]\ncount = 2\n", c, error), -EINVAL);
	assert_non_null(strstr(error, "not hex"));
	write_good_key();
	free(c);
}

static void a_sync_section_is_read_with_its_token(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX], extra[1024], token_path[300];

	snprintf(token_path, sizeof(token_path), "%s/sync.token", dir);
	write_file(token_path,
		   "6f1d2e3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978\n", 0600);
	snprintf(
		extra, sizeof(extra),
		"[lockers]\ncount = 2\n[sync]\n"
		"url = https://perpus.example.go.id/locker-sync/v1/\n"
		"token_file = %s\nca_file = %s\nbatch_size = 250\n"
		"status_interval_s = 30\n"
		"open_commands_max = 0\nopen_commands_period_s = 3600\n"
		"pinned_public_key = sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=\n",
		token_path, key_path);
	assert_int_equal(load(extra, c, error), 0);
	/* The trailing '/' goes: paths are appended to the URL. */
	assert_string_equal(c->sync.url,
			    "https://perpus.example.go.id/locker-sync/v1");
	assert_string_equal(c->sync.token,
			    "6f1d2e3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978");
	assert_string_equal(c->sync.ca_file, key_path);
	assert_int_equal(c->sync.batch_size, 250);
	assert_int_equal(c->sync.status_interval_s, 30);
	assert_int_equal(c->sync.pull_interval_s, 60);
	assert_int_equal(c->sync.open_commands_max, 0);
	assert_int_equal(c->sync.open_commands_period_s, 3600);

	/* Without a [sync] section there is no server, and no token. */
	assert_int_equal(load("[lockers]\ncount = 2\n", c, error), 0);
	assert_string_equal(c->sync.url, "");
	assert_int_equal(c->sync.batch_size, 100);
	assert_int_equal(c->sync.open_commands_max, 3);
	assert_int_equal(c->sync.open_commands_period_s, 600);
	unlink(token_path);
	free(c);
}

static void a_metrics_listener_beyond_loopback_needs_a_token(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX], extra[1024], token_path[300];

	snprintf(token_path, sizeof(token_path), "%s/metrics.token", dir);
	write_file(token_path, "0123456789abcdef0123456789abcdef\n", 0600);

	/* Off by default, and off when listen is empty. */
	assert_int_equal(load("[lockers]\ncount = 2\n", c, error), 0);
	assert_string_equal(c->metrics.address, "");
	assert_int_equal(
		load("[lockers]\ncount = 2\n[metrics]\nlisten =\n", c, error),
		0);
	assert_string_equal(c->metrics.address, "");

	/* Loopback: a token is not needed. */
	assert_int_equal(load("[lockers]\ncount = 2\n[metrics]\n"
			      "listen = 127.0.0.1:9464\n",
			      c, error),
			 0);
	assert_string_equal(c->metrics.address, "127.0.0.1");
	assert_int_equal(c->metrics.port, 9464);
	assert_string_equal(c->metrics.token, "");

	/* Beyond loopback: refused without one, naming the key. */
	assert_int_equal(load("[lockers]\ncount = 2\n[metrics]\n"
			      "listen = 0.0.0.0:9464\n",
			      c, error),
			 -EINVAL);
	assert_non_null(strstr(error, "[metrics] token_file: missing"));
	assert_int_equal(load("[lockers]\ncount = 2\n[metrics]\n"
			      "listen = [::]:9464\n",
			      c, error),
			 -EINVAL);
	assert_non_null(strstr(error, "[metrics] token_file: missing"));

	snprintf(extra, sizeof(extra),
		 "[lockers]\ncount = 2\n[metrics]\n"
		 "listen = [::]:9464\ntoken_file = %s\n",
		 token_path);
	assert_int_equal(load(extra, c, error), 0);
	assert_string_equal(c->metrics.address, "::");
	assert_string_equal(c->metrics.token,
			    "0123456789abcdef0123456789abcdef");

	/* A token file needs the listener, and a private file. */
	snprintf(extra, sizeof(extra),
		 "[lockers]\ncount = 2\n[metrics]\ntoken_file = %s\n",
		 token_path);
	assert_int_equal(load(extra, c, error), -EINVAL);
	assert_non_null(strstr(error, "[metrics] listen: missing"));
	chmod(token_path, 0644);
	snprintf(extra, sizeof(extra),
		 "[lockers]\ncount = 2\n[metrics]\n"
		 "listen = 10.0.0.5:9464\ntoken_file = %s\n",
		 token_path);
	assert_int_equal(load(extra, c, error), -EPERM);
	assert_non_null(strstr(error, "metrics token"));
	assert_non_null(strstr(error, "readable by others"));
	assert_int_equal(load("[lockers]\ncount = 2\n[metrics]\n"
			      "listen = localhost:9464\n",
			      c, error),
			 -EINVAL);
	assert_non_null(strstr(error, "[metrics] listen: must be empty or"));
	unlink(token_path);
	free(c);
}

static void loopback_addresses_are_told_from_the_others(void **state)
{
	assert_true(config_address_is_loopback("127.0.0.1"));
	assert_true(config_address_is_loopback("127.1.2.3"));
	assert_true(config_address_is_loopback("::1"));
	assert_true(config_address_is_loopback("::ffff:127.0.0.1"));
	assert_false(config_address_is_loopback("0.0.0.0"));
	assert_false(config_address_is_loopback("::"));
	assert_false(config_address_is_loopback("128.0.0.1"));
	assert_false(config_address_is_loopback("::ffff:10.0.0.1"));
	assert_false(config_address_is_loopback("localhost"));
}

/* Copies text with @TOKEN@ and @FILE@ replaced by token and file. */
static void expand(char *ret, size_t n, const char *text, const char *token,
		   const char *file)
{
	size_t len = 0;

	while (*text && len + 1 < n) {
		const char *with = NULL;

		if (strncmp(text, "@TOKEN@", 7) == 0)
			with = token;
		else if (strncmp(text, "@FILE@", 6) == 0)
			with = file;
		if (with) {
			len += (size_t)snprintf(ret + len, n - len, "%s", with);
			text += text[1] == 'T' ? 7 : 6;
		} else {
			ret[len++] = *text++;
		}
	}
	ret[len < n ? len : n - 1] = '\0';
}

static void sync_urls_with_ports_are_taken(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX], extra[1024], token_path[300];
	static const char *const urls[] = {
		"https://127.0.0.1:8443/v1",
		"https://[::1]:8443/v1",
		"https://hub.example:1/v1",
		"https://hub.example:65535",
		"https://slims.example/index.php?p=api/locker/v1",
	};

	(void)state;
	snprintf(token_path, sizeof(token_path), "%s/sync.token", dir);
	write_file(token_path, "0123456789abcdef0123456789abcdef\n", 0600);
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		snprintf(
			extra, sizeof(extra),
			"[lockers]\ncount = 2\n[sync]\nurl = %s\ntoken_file = %s\n",
			urls[i], token_path);
		if (load(extra, c, error) != 0)
			fail_msg("%s: %s", urls[i], error);
		assert_string_equal(c->sync.url, urls[i]);
	}
	free(c);
}

/* [kiosk] timezone: a zone the system has, or refused (issue 20). */
static void timezones_are_checked(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];
	static const char *const bad[] = {
		"Asia/Nowhere",	     "../../etc/passwd", "/etc/localtime",
		"Asia//Makassar/..", "Asia/Makassar;x",	 "",
	};

	(void)state;
	if (access("/usr/share/zoneinfo/Asia/Makassar", R_OK) != 0) {
		free(c);
		skip(); /* no tzdata here */
	}
	assert_int_equal(load("[lockers]\ncount = 2\n[kiosk]\n"
			      "timezone = Asia/Makassar\n",
			      c, error),
			 0);
	assert_string_equal(c->timezone, "Asia/Makassar");
	assert_int_equal(load("[lockers]\ncount = 2\n", c, error), 0);
	assert_string_equal(c->timezone, "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char extra[256];

		snprintf(extra, sizeof(extra),
			 "[lockers]\ncount = 2\n[kiosk]\ntimezone = %s\n",
			 bad[i]);
		if (load(extra, c, error) == 0)
			fail_msg("timezone \"%s\" taken", bad[i]);
	}
	free(c);
}

static void bad_sync_settings_are_refused(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX], extra[1024], token_path[300];
	const struct {
		const char *sync, *token;
		mode_t mode;
		const char *expect;
	} cases[] = {
		{ "url = http://perpus.example/v1\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		{ "url = https://a b/v1\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		/* An empty or impossible port, or no host (issue 20, point 8). */
		{ "url = https://perpus.example:/v1\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		{ "url = https://perpus.example:\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		{ "url = https://[::1]:/v1\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		{ "url = https://perpus.example:0/v1\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		{ "url = https://perpus.example:65536/v1\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		{ "url = https://perpus.example:84x3/v1\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		{ "url = https://:8443/v1\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		{ "url = https://user@perpus.example/v1\n", NULL, 0,
		  "[sync] url: must be an https:// URL" },
		{ "url = https://perpus.example/v1\n", NULL, 0,
		  "[sync] token_file: missing" },
		{ "token_file = /etc/x\n", NULL, 0, "[sync] url: missing" },
		{ "batch_size = 501\n", NULL, 0,
		  "[sync] batch_size: must be a number 1..500" },
		{ "pull_interval_s = 5\n", NULL, 0,
		  "[sync] pull_interval_s: must be a number 10..3600" },
		{ "ca_file = /nonexistent/ca.pem\n", NULL, 0,
		  "[sync] ca_file: /nonexistent/ca.pem: No such file" },
		{ "pinned_public_key = md5//abc\n", NULL, 0,
		  "[sync] pinned_public_key: must be sha256//" },
		{ "verify = no\n", NULL, 0, "[sync] verify: unknown key" },
		{ "url = https://perpus.example/v1\ntoken_file = @TOKEN@\n",
		  "0123456789abcdef0123456789abcdef\n", 0644,
		  "readable by others" },
		{ "url = https://perpus.example/v1\ntoken_file = @TOKEN@\n",
		  "short\n", 0600, "must be 32 to 1024 characters" },
		{ "url = https://perpus.example/v1\ntoken_file = @TOKEN@\n",
		  "0123456789abcdef 0123456789abcdef\n", 0600,
		  "character 17 is not printable ASCII" },
		{ "url = https://perpus.example/v1\ntoken_file = @TOKEN@\n"
		  "client_cert = @FILE@\n",
		  "0123456789abcdef0123456789abcdef\n", 0600,
		  "[sync] client_key: missing" },
	};

	snprintf(token_path, sizeof(token_path), "%s/sync.token", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char sync[512];

		if (cases[i].token)
			write_file(token_path, cases[i].token, cases[i].mode);
		expand(sync, sizeof(sync), cases[i].sync, token_path, key_path);
		snprintf(extra, sizeof(extra),
			 "[lockers]\ncount = 2\n[sync]\n%s", sync);
		if (load(extra, c, error) == 0)
			fail_msg("case %zu taken", i);
		if (!strstr(error, cases[i].expect))
			fail_msg("case %zu: '%s' lacks '%s'", i, error,
				 cases[i].expect);
	}
	unlink(token_path);
	free(c);
}

static void a_missing_file_is_reported_with_its_path(void **state)
{
	struct config *c = malloc(sizeof(*c));
	char error[CONFIG_ERROR_MAX];

	assert_int_equal(config_load("/nonexistent/lokerd.conf", c, error),
			 -ENOENT);
	assert_non_null(strstr(error, "/nonexistent/lokerd.conf"));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_minimal_file_gets_the_documented_defaults),
		cmocka_unit_test(a_webui_section_turns_the_screen_server_on),
		cmocka_unit_test(a_webui_beyond_loopback_must_be_meant),
		cmocka_unit_test(ranges_and_locker_sections_set_the_layout),
		cmocka_unit_test(bad_files_are_refused_naming_the_key),
		cmocka_unit_test(errors_carry_the_line_number),
		cmocka_unit_test(a_line_too_long_for_inih_is_named),
		cmocka_unit_test(pulses_and_kinds_that_agree_are_taken),
		cmocka_unit_test(a_gpio_bank_names_every_line),
		cmocka_unit_test(a_gpio_bank_past_the_kernel_limit_is_refused),
		cmocka_unit_test(a_bank_takes_lines_from_several_chips),
		cmocka_unit_test(a_modbus_bank_takes_a_board_and_its_addresses),
		cmocka_unit_test(bad_modbus_settings_are_refused),
		cmocka_unit_test(a_missing_id_is_refused),
		cmocka_unit_test(a_site_key_readable_by_others_is_refused),
		cmocka_unit_test(a_short_or_non_hex_site_key_is_refused),
		cmocka_unit_test(a_missing_file_is_reported_with_its_path),
		cmocka_unit_test(a_sync_section_is_read_with_its_token),
		cmocka_unit_test(bad_sync_settings_are_refused),
		cmocka_unit_test(sync_urls_with_ports_are_taken),
		cmocka_unit_test(timezones_are_checked),
		cmocka_unit_test(
			a_metrics_listener_beyond_loopback_needs_a_token),
		cmocka_unit_test(loopback_addresses_are_told_from_the_others),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
