// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerd's configuration file (INI via inih), checked whole before start. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "credential.h"
#include "log.h"

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC  1000000ULL

/*
 * Every key we know can be given once: 57 in the fixed sections, six per
 * [locker.N]. Only accepted keys are remembered, so this is never reached.
 */
#define KEYS_SEEN_MAX (60 + 6 * KIOSK_LOCKERS_MAX)

struct key_seen {
	char section[32]; /* [locker.03] and [locker.3] are one: "locker.3" */
	char key[32];
	int line;
};

struct parse_state {
	FILE *file;
	int line; /* of the line inih is handling; inih is built without */
	/* A line too long for inih's buffer, and that buffer's limit. */
	int long_line;
	int line_max;
	struct config *c;
	const char *path;
	char *error;
	/* Which lockers a size or kind was given for, to catch contradictions. */
	const char *size_key[KIOSK_LOCKERS_MAX];
	int kind_line[KIOSK_LOCKERS_MAX];
	bool kind_by_return[KIOSK_LOCKERS_MAX];
	/*
	 * The lines pulse lengths and the confirm timeout were given on (or
	 * 0), to compare them once the whole file is read.
	 */
	int pulse_line[KIOSK_LOCKERS_MAX];
	int default_pulse_line;
	int confirm_line;
	unsigned count;
	uint32_t default_pulse_ms;
	struct key_seen keys_seen[KEYS_SEEN_MAX];
	unsigned n_keys_seen;
	/* [locker.N] sections may come before [lockers] count: check later. */
	unsigned max_locker_named;
	int max_locker_line;
	bool have_id, have_key_file;
	/* The first [lockbank] key that only backend = gpiod uses. */
	int gpiod_key_line;
	const char *gpiod_key;
	/* The same for backend = modbus, and for either of the two. */
	int modbus_key_line;
	const char *modbus_key;
	int wired_key_line;
	const char *wired_key;
};

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->database, sizeof(c->database), "%s",
		 "/var/lib/lokerbuku/lokerd.db");
	snprintf(c->control_socket, sizeof(c->control_socket), "%s",
		 "/run/lokerbuku/control.sock");
	c->log_level = LOG_INFO;
	c->reader_backend = CONFIG_BACKEND_SIM;
	c->lockbank_backend = CONFIG_BACKEND_SIM;
	/* Reed switches to ground, closed by the door's magnet. */
	c->door_bias = LOCKBANK_GPIOD_BIAS_PULL_UP;
	c->item_bias = LOCKBANK_GPIOD_BIAS_PULL_UP;
	c->door_debounce_ms = LOCKBANK_GPIOD_DEBOUNCE_US_DEFAULT / 1000;
	c->reader_poll_ms = 50;
	/* What most Modbus relay boards ship with: 9600 baud 8N1, slave 1. */
	c->modbus.baud = 9600;
	c->modbus.parity = 'N';
	c->modbus.data_bits = 8;
	c->modbus.stop_bits = 1;
	c->modbus.slave = 1;
	c->modbus.poll_ms = LOCKBANK_MODBUS_POLL_MS_DEFAULT;
	c->modbus.timeout_ms = LOCKBANK_MODBUS_TIMEOUT_MS_DEFAULT;
	c->outbox_max_unsent = 1000000;
	c->outbox_keep_sent_days = 90;
	c->keep_finished_days = 30;
	c->sync.batch_size = 100;
	c->sync.status_interval_s = 60;
	c->sync.open_commands_max = 3;
	c->sync.open_commands_period_s = 600;
	c->sync.pull_interval_s = 60;
	snprintf(c->webui.ui_dir, sizeof(c->webui.ui_dir), "%s",
		 LOKERBUKU_UI_DIR);
	c->webui.idle_timeout_s = 60;
	c->webui.volume = 80;
	/* A copied member number or card UID alone opens no locker. */
	c->kiosk.pin_required = true;
	c->kiosk.pin_max_attempts = 3;
	/* A day: 3 wrong PINs a day per hold (docs/security.md, Guessing). */
	c->kiosk.pin_lockout_usec = 86400 * USEC_PER_SEC;
	c->kiosk.session_timeout_usec = 60 * USEC_PER_SEC;
	c->kiosk.staff_session_timeout_usec = 300 * USEC_PER_SEC;
	c->kiosk.door_confirm_timeout_usec = 10000 * USEC_PER_MSEC;
	c->kiosk.door_left_open_usec = 120 * USEC_PER_SEC;
	c->kiosk.max_holds = 4096;
	for (unsigned i = 0; i < KIOSK_LOCKERS_MAX; i++)
		c->lockers[i] = (struct kiosk_locker_config){
			.size = KIOSK_SIZE_SMALL,
			.kind = KIOSK_LOCKER_KIND_HOLD,
			.pulse_ms = 500,
		};
}

static int fail(struct parse_state *st, int line, const char *section,
		const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Keeps the first error only: inih goes on parsing after one. */
static int fail(struct parse_state *st, int line, const char *section,
		const char *key, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (st->error[0])
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(st->error, CONFIG_ERROR_MAX, "%s:%d: [%s] %s: %s", st->path,
		 line, section, key, msg);
	return 0;
}

static int parse_uint(const char *v, unsigned long long min,
		      unsigned long long max, unsigned long long *ret)
{
	unsigned long long x;
	char *end;

	if (!isdigit((unsigned char)v[0]))
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end || x < min || x > max)
		return -ERANGE;
	*ret = x;
	return 0;
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_path(const char *v, char *ret, size_t n)
{
	if (v[0] != '/' || strlen(v) >= n)
		return -EINVAL;
	memcpy(ret, v, strlen(v) + 1);
	return 0;
}

static int parse_backend(const char *v, enum config_backend *ret)
{
	if (strcmp(v, "sim") == 0) {
		*ret = CONFIG_BACKEND_SIM;
		return 0;
	}
	if (strcmp(v, "nfc") == 0) {
		*ret = CONFIG_BACKEND_NFC;
		return 0;
	}
	if (strcmp(v, "gpiod") == 0) {
		*ret = CONFIG_BACKEND_GPIOD;
		return 0;
	}
	if (strcmp(v, "modbus") == 0) {
		*ret = CONFIG_BACKEND_MODBUS;
		return 0;
	}
	return -EINVAL;
}

static int parse_bias(const char *v, enum lockbank_gpiod_bias *ret)
{
	static const char *const names[] = {
		[LOCKBANK_GPIOD_BIAS_AS_IS] = "as-is",
		[LOCKBANK_GPIOD_BIAS_PULL_UP] = "pull-up",
		[LOCKBANK_GPIOD_BIAS_PULL_DOWN] = "pull-down",
		[LOCKBANK_GPIOD_BIAS_DISABLED] = "disabled",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(v, names[i]) == 0) {
			*ret = (enum lockbank_gpiod_bias)i;
			return 0;
		}
	return -EINVAL;
}

/* An offset ("17") or a line name ("GPIO17", "door-3"). */
static int parse_gpio_line(const char *v, int line,
			   struct config_gpio_line *ret)
{
	unsigned long long x;
	size_t len = strlen(v);

	const char *colon = strchr(v, ':');

	memset(ret, 0, sizeof(*ret));
	/* "exp1:5": on the chip [lockbank] chip.exp1 names. */
	if (colon) {
		size_t n = (size_t)(colon - v);

		if (n == 0 || n >= sizeof(ret->chip_name))
			return -EINVAL;
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)v[i]) && v[i] != '_' &&
			    v[i] != '-')
				return -EINVAL;
		memcpy(ret->chip_name, v, n);
		v = colon + 1;
		len = strlen(v);
	}
	if (len == 0 || len >= sizeof(ret->name))
		return -EINVAL;
	if (isdigit((unsigned char)v[0])) {
		if (parse_uint(v, 0, 65535, &x))
			return -EINVAL;
		ret->offset = (unsigned)x;
	} else {
		for (size_t i = 0; i < len; i++)
			if (!isgraph((unsigned char)v[i]))
				return -EINVAL;
		memcpy(ret->name, v, len + 1);
	}
	ret->line = line;
	return 0;
}

/* A number in seconds or milliseconds, in range, stored as microseconds. */
static int set_usec(struct parse_state *st, int line, const char *section,
		    const char *key, const char *v, unsigned long long min,
		    unsigned long long max, unsigned long long unit_usec,
		    uint64_t *ret)
{
	unsigned long long x;

	if (parse_uint(v, min, max, &x) < 0)
		return fail(st, line, section, key,
			    "must be a number %llu..%llu", min, max);
	*ret = x * unit_usec;
	return 1;
}

/*
 * Walks "1-4, 7, 9-10" and calls fn for each locker number. Returns 0 or
 * -EINVAL for malformed text or numbers outside 1..KIOSK_LOCKERS_MAX.
 */
static int for_each_in_range_list(const char *v,
				  int (*fn)(struct parse_state *st,
					    unsigned locker, void *arg),
				  struct parse_state *st, void *arg)
{
	const char *p = v;

	while (*p) {
		unsigned long a, b;
		char *end;

		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		a = strtoul(p, &end, 10);
		b = a;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			b = strtoul(p, &end, 10);
			p = end;
		}
		if (*p && *p != ',' && *p != ' ')
			return -EINVAL;
		if (a < 1 || b < a || b > KIOSK_LOCKERS_MAX)
			return -EINVAL;
		for (unsigned long i = a; i <= b; i++) {
			int err = fn(st, (unsigned)i, arg);

			if (err < 0)
				return err;
		}
	}
	return 0;
}

struct size_arg {
	enum kiosk_size size;
	const char *key;
	int line;
};

static int note_locker(struct parse_state *st, unsigned locker, int line)
{
	if (locker > st->max_locker_named) {
		st->max_locker_named = locker;
		st->max_locker_line = line;
	}
	return 0;
}

static int set_size(struct parse_state *st, unsigned locker, void *arg)
{
	struct size_arg *a = arg;

	if (st->size_key[locker - 1]) {
		fail(st, a->line, "lockers", a->key,
		     "locker %u already has its size from '%s'", locker,
		     st->size_key[locker - 1]);
		return -EINVAL;
	}
	st->size_key[locker - 1] = a->key;
	st->c->lockers[locker - 1].size = a->size;
	return note_locker(st, locker, a->line);
}

static int set_return(struct parse_state *st, unsigned locker, void *arg)
{
	int line = *(int *)arg;

	if (st->kind_line[locker - 1]) {
		if (st->kind_by_return[locker - 1])
			fail(st, line, "lockers", "return",
			     "locker %u already has its kind from [lockers] return (line %d)",
			     locker, st->kind_line[locker - 1]);
		else
			fail(st, line, "lockers", "return",
			     "locker %u already has its kind from [locker.%u] kind (line %d)",
			     locker, locker, st->kind_line[locker - 1]);
		return -EINVAL;
	}
	st->kind_line[locker - 1] = line;
	st->kind_by_return[locker - 1] = true;
	st->c->lockers[locker - 1].kind = KIOSK_LOCKER_KIND_RETURN;
	return note_locker(st, locker, line);
}

static int set_low(struct parse_state *st, unsigned locker, void *arg)
{
	st->c->lockers[locker - 1].low = true;
	return note_locker(st, locker, *(int *)arg);
}

/*
 * An IANA zone name the system has: letters, digits, '/', '_', '+', '-',
 * no "..", and a file under TZDIR (default /usr/share/zoneinfo).
 */
static int parse_timezone(const char *v, char ret[CONFIG_TIMEZONE_MAX + 1])
{
	const char *dir = getenv("TZDIR");
	char path[PATH_MAX];
	struct stat sb;
	size_t n = strlen(v);

	if (n == 0 || n > CONFIG_TIMEZONE_MAX || v[0] == '/' || v[0] == '-' ||
	    strstr(v, "..") ||
	    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789/_+-") != n)
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s",
			     dir && dir[0] ? dir : "/usr/share/zoneinfo",
			     v) >= sizeof(path) ||
	    stat(path, &sb) < 0 || !S_ISREG(sb.st_mode))
		return -ENOENT;
	memcpy(ret, v, n + 1);
	return 0;
}

static int handle_kiosk(struct parse_state *st, int line, const char *name,
			const char *v)
{
	struct config *c = st->c;

	if (strcmp(name, "id") == 0) {
		size_t n = strlen(v);

		if (n == 0 || n > CONFIG_KIOSK_ID_MAX ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n)
			return fail(
				st, line, "kiosk", name,
				"must be 1-%d letters, digits, '.', '_' or '-'",
				CONFIG_KIOSK_ID_MAX);
		memcpy(c->kiosk_id, v, n + 1);
		st->have_id = true;
		return 1;
	}
	if (strcmp(name, "site_key_file") == 0) {
		if (parse_path(v, c->site_key_file, sizeof(c->site_key_file)))
			return fail(st, line, "kiosk", name,
				    "must be an absolute path");
		st->have_key_file = true;
		return 1;
	}
	if (strcmp(name, "database") == 0) {
		if (parse_path(v, c->database, sizeof(c->database)))
			return fail(st, line, "kiosk", name,
				    "must be an absolute path");
		return 1;
	}
	if (strcmp(name, "control_socket") == 0) {
		/* sun_path holds 108 bytes with the NUL. */
		if (parse_path(v, c->control_socket, 108))
			return fail(st, line, "kiosk", name,
				    "must be an absolute path under 108 bytes");
		return 1;
	}
	if (strcmp(name, "timezone") == 0) {
		if (parse_timezone(v, c->timezone))
			return fail(
				st, line, "kiosk", name,
				"must be a time zone of /usr/share/zoneinfo, as Asia/Jakarta, Asia/Makassar or Asia/Jayapura");
		return 1;
	}
	if (strcmp(name, "log_level") == 0) {
		if (log_level_from_string(v, &c->log_level) < 0)
			return fail(
				st, line, "kiosk", name,
				"must be err, warning, notice, info or debug");
		return 1;
	}
	return fail(st, line, "kiosk", name, "unknown key");
}

static int handle_policy(struct parse_state *st, int line, const char *name,
			 const char *v)
{
	struct kiosk_config *k = &st->c->kiosk;
	unsigned long long x;

	if (strcmp(name, "pin_required") == 0) {
		if (parse_bool(v, &k->pin_required))
			return fail(st, line, "policy", name,
				    "must be yes or no");
		return 1;
	}
	if (strcmp(name, "pin_max_attempts") == 0) {
		if (parse_uint(v, 1, 10, &x))
			return fail(st, line, "policy", name,
				    "must be a number 1..10");
		k->pin_max_attempts = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "pin_lockout_s") == 0)
		return set_usec(st, line, "policy", name, v, 1, 86400,
				USEC_PER_SEC, &k->pin_lockout_usec);
	if (strcmp(name, "session_timeout_s") == 0)
		return set_usec(st, line, "policy", name, v, 5, 3600,
				USEC_PER_SEC, &k->session_timeout_usec);
	if (strcmp(name, "staff_session_timeout_s") == 0)
		return set_usec(st, line, "policy", name, v, 10, 86400,
				USEC_PER_SEC, &k->staff_session_timeout_usec);
	if (strcmp(name, "keep_finished_days") == 0) {
		if (parse_uint(v, 1, 3650, &x))
			return fail(st, line, "policy", name,
				    "must be a number 1..3650");
		st->c->keep_finished_days = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "max_holds") == 0) {
		if (parse_uint(v, 1, 100000, &x))
			return fail(st, line, "policy", name,
				    "must be a number 1..100000");
		k->max_holds = (unsigned)x;
		return 1;
	}
	return fail(st, line, "policy", name, "unknown key");
}

static int handle_doors(struct parse_state *st, int line, const char *name,
			const char *v)
{
	struct kiosk_config *k = &st->c->kiosk;

	if (strcmp(name, "confirm_timeout_ms") == 0) {
		st->confirm_line = line;
		return set_usec(st, line, "doors", name, v, 500, 120000,
				USEC_PER_MSEC, &k->door_confirm_timeout_usec);
	}
	if (strcmp(name, "left_open_s") == 0)
		return set_usec(st, line, "doors", name, v, 5, 86400,
				USEC_PER_SEC, &k->door_left_open_usec);
	return fail(st, line, "doors", name, "unknown key");
}

static int handle_lockers(struct parse_state *st, int line, const char *name,
			  const char *v)
{
	unsigned long long x;

	if (strcmp(name, "count") == 0) {
		if (parse_uint(v, 1, KIOSK_LOCKERS_MAX, &x))
			return fail(st, line, "lockers", name,
				    "must be a number 1..%d",
				    KIOSK_LOCKERS_MAX);
		st->count = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "pulse_ms") == 0) {
		if (parse_uint(v, 50, 10000, &x))
			return fail(st, line, "lockers", name,
				    "must be a number 50..10000");
		st->default_pulse_ms = (uint32_t)x;
		st->default_pulse_line = line;
		return 1;
	}
	if (strcmp(name, "small") == 0 || strcmp(name, "medium") == 0 ||
	    strcmp(name, "large") == 0) {
		/* inih's name buffer is reused: keep a static key name. */
		static const char *const keys[] = { "small", "medium",
						    "large" };
		struct size_arg a = { .line = line };

		kiosk_size_from_string(name, &a.size);
		a.key = keys[a.size];
		if (for_each_in_range_list(v, set_size, st, &a) < 0)
			return fail(st, line, "lockers", name,
				    "must be locker numbers like '1-4, 9'");
		return 1;
	}
	if (strcmp(name, "return") == 0) {
		if (for_each_in_range_list(v, set_return, st, &line) < 0)
			return fail(st, line, "lockers", name,
				    "must be locker numbers like '11-12'");
		return 1;
	}
	if (strcmp(name, "low") == 0) {
		if (for_each_in_range_list(v, set_low, st, &line) < 0)
			return fail(st, line, "lockers", name,
				    "must be locker numbers like '1-4, 7'");
		return 1;
	}
	return fail(st, line, "lockers", name, "unknown key");
}

static int handle_locker(struct parse_state *st, int line, const char *section,
			 const char *name, const char *v)
{
	unsigned long long n, x;
	struct kiosk_locker_config *l;

	if (parse_uint(section + strlen("locker."), 1, KIOSK_LOCKERS_MAX, &n))
		return fail(st, line, section, name,
			    "section must be [locker.N] with N 1..%d",
			    KIOSK_LOCKERS_MAX);
	l = &st->c->lockers[n - 1];
	note_locker(st, (unsigned)n, line);
	if (strcmp(name, "size") == 0) {
		enum kiosk_size size;

		if (kiosk_size_from_string(v, &size) < 0)
			return fail(st, line, section, name,
				    "must be small, medium or large");
		if (st->size_key[n - 1])
			return fail(
				st, line, section, name,
				"locker %llu already has its size from [lockers] %s",
				n, st->size_key[n - 1]);
		st->size_key[n - 1] = "size";
		l->size = size;
		return 1;
	}
	if (strcmp(name, "kind") == 0) {
		enum kiosk_locker_kind kind;

		if (strcmp(v, "hold") == 0)
			kind = KIOSK_LOCKER_KIND_HOLD;
		else if (strcmp(v, "return") == 0)
			kind = KIOSK_LOCKER_KIND_RETURN;
		else
			return fail(st, line, section, name,
				    "must be hold or return");
		/* A repeated [locker.N] kind is caught as a key given twice. */
		if (st->kind_by_return[n - 1])
			return fail(
				st, line, section, name,
				"locker %llu already has its kind from [lockers] return (line %d)",
				n, st->kind_line[n - 1]);
		st->kind_line[n - 1] = line;
		l->kind = kind;
		return 1;
	}
	if (strcmp(name, "low") == 0) {
		if (parse_bool(v, &l->low))
			return fail(st, line, section, name,
				    "must be yes or no");
		return 1;
	}
	if (strcmp(name, "pulse_ms") == 0) {
		if (parse_uint(v, 50, 10000, &x))
			return fail(st, line, section, name,
				    "must be a number 50..10000");
		l->pulse_ms = (uint32_t)x;
		st->pulse_line[n - 1] = line;
		return 1;
	}
	if (strcmp(name, "lock") == 0 || strcmp(name, "door") == 0 ||
	    strcmp(name, "item") == 0) {
		struct config_gpio_line *g =
			name[0] == 'l' ? &st->c->lock_lines[n - 1] :
			name[0] == 'd' ? &st->c->door_lines[n - 1] :
					 &st->c->item_lines[n - 1];

		if (parse_gpio_line(v, line, g) < 0)
			return fail(
				st, line, section, name,
				"must be a GPIO line: its offset on [lockbank] chip, or its name; or CHIP:LINE on the chip [lockbank] chip.CHIP names");
		return 1;
	}
	return fail(st, line, section, name, "unknown key");
}

static int handle_reader(struct parse_state *st, int line, const char *name,
			 const char *v)
{
	struct config *c = st->c;
	unsigned long long x;

	if (strcmp(name, "backend") == 0) {
		if (parse_backend(v, &c->reader_backend) < 0 ||
		    c->reader_backend == CONFIG_BACKEND_GPIOD ||
		    c->reader_backend == CONFIG_BACKEND_MODBUS)
			return fail(st, line, "reader", name,
				    "must be sim or nfc");
		return 1;
	}
	if (strcmp(name, "connstring") == 0) {
		if (!v[0] || strlen(v) >= sizeof(c->reader_connstring))
			return fail(
				st, line, "reader", name,
				"must be a libnfc connstring like pn532_uart:/dev/ttyS0");
		memcpy(c->reader_connstring, v, strlen(v) + 1);
		return 1;
	}
	if (strcmp(name, "poll_ms") == 0) {
		/* The PN532 is not to be polled faster than every 10 ms. */
		if (parse_uint(v, 10, 1000, &x))
			return fail(st, line, "reader", name,
				    "must be a number 10..1000");
		c->reader_poll_ms = (unsigned)x;
		return 1;
	}
	return fail(st, line, "reader", name, "unknown key");
}

/* A gpiochip's label or name: printable, no spaces. */
static int parse_chip_label(const char *v, char *ret, size_t size)
{
	size_t len = strlen(v);

	if (len == 0 || len >= size)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)v[i]))
			return -EINVAL;
	memcpy(ret, v, len + 1);
	return 0;
}

/* [lockbank] chip.NAME = /dev/gpiochip2 or a label: another chip. */
static int handle_more_chip(struct parse_state *st, int line, const char *name,
			    const char *v)
{
	struct config *c = st->c;
	const char *id = name + 5;
	struct config_chip *ch;
	size_t n = strlen(id);

	if (n == 0 || n >= sizeof(((struct config_gpio_line *)0)->chip_name))
		return fail(st, line, "lockbank", name,
			    "must be chip.NAME, NAME up to 31 characters");
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '_' &&
		    id[i] != '-')
			return fail(st, line, "lockbank", name,
				    "NAME takes letters, digits, - and _");
	if (c->lockbank_n_more_chips == LOCKBANK_GPIOD_CHIPS_MAX - 1)
		return fail(st, line, "lockbank", name,
			    "a bank takes at most %d chips: chip and %d more",
			    LOCKBANK_GPIOD_CHIPS_MAX,
			    LOCKBANK_GPIOD_CHIPS_MAX - 1);
	ch = &c->lockbank_more_chips[c->lockbank_n_more_chips];
	if (parse_chip_label(v, ch->spec, sizeof(ch->spec)))
		return fail(
			st, line, "lockbank", name,
			"must be a path like /dev/gpiochip2, or a chip's label as gpiodetect shows it");
	snprintf(ch->key, sizeof(ch->key), "%s", name);
	ch->line = line;
	c->lockbank_n_more_chips++;
	if (!st->gpiod_key_line) {
		st->gpiod_key_line = line;
		st->gpiod_key = ch->key;
	}
	return 1;
}

/* Keys only one backend takes, or only a wired one (gpiod or modbus). */
static const char *const gpiod_keys[] = {
	"chip",	     "door_debounce_ms", "lock_active_low",
	"door_bias", "item_bias",	 NULL,
};
static const char *const modbus_keys[] = {
	"device", "baud",    "parity",	   "data_bits", "stop_bits",
	"slave",  "poll_ms", "timeout_ms", NULL,
};
static const char *const wired_keys[] = { "door_active_low", "item_active_low",
					  NULL };

/* Whether name is among keys; the first one found is remembered. */
static bool note_key(const char *name, int line, const char *const *keys,
		     int *ret_line, const char **ret_key)
{
	for (size_t i = 0; keys[i]; i++) {
		if (strcmp(name, keys[i]) != 0)
			continue;
		if (!*ret_line) {
			*ret_line = line;
			*ret_key = keys[i];
		}
		return true;
	}
	return false;
}

/* [lockbank] keys of backend = modbus: the serial line and the board. */
static int handle_modbus(struct parse_state *st, int line, const char *name,
			 const char *v)
{
	static const unsigned bauds[] = { 1200,	 2400,	4800,  9600,
					  19200, 38400, 57600, 115200 };
	struct config *c = st->c;
	unsigned long long x;

	if (strcmp(name, "device") == 0) {
		if (parse_path(v, c->modbus.device, sizeof(c->modbus.device)))
			return fail(
				st, line, "lockbank", name,
				"must be a serial port's path, like /dev/ttyUSB0 or /dev/serial/by-id/...");
		return 1;
	}
	if (strcmp(name, "baud") == 0) {
		for (size_t i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
			if (parse_uint(v, bauds[i], bauds[i], &x) == 0) {
				c->modbus.baud = bauds[i];
				return 1;
			}
		return fail(
			st, line, "lockbank", name,
			"must be 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200, as the board is set");
	}
	if (strcmp(name, "parity") == 0) {
		if (strcmp(v, "none") == 0)
			c->modbus.parity = 'N';
		else if (strcmp(v, "even") == 0)
			c->modbus.parity = 'E';
		else if (strcmp(v, "odd") == 0)
			c->modbus.parity = 'O';
		else
			return fail(st, line, "lockbank", name,
				    "must be none, even or odd");
		return 1;
	}
	if (strcmp(name, "data_bits") == 0) {
		if (parse_uint(v, 8, 8, &x))
			return fail(
				st, line, "lockbank", name,
				"must be 8: Modbus RTU frames are 8 data bits");
		c->modbus.data_bits = 8;
		return 1;
	}
	if (strcmp(name, "stop_bits") == 0) {
		if (parse_uint(v, 1, 2, &x))
			return fail(st, line, "lockbank", name,
				    "must be 1 or 2");
		c->modbus.stop_bits = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "slave") == 0) {
		if (parse_uint(v, 1, 247, &x))
			return fail(
				st, line, "lockbank", name,
				"must be the board's address, a number 1..247");
		c->modbus.slave = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "poll_ms") == 0) {
		/* At 9600 baud one read of the inputs takes some 25 ms. */
		if (parse_uint(v, 50, 1000, &x))
			return fail(st, line, "lockbank", name,
				    "must be a number 50..1000");
		c->modbus.poll_ms = (unsigned)x;
		return 1;
	}
	/* timeout_ms: the loop waits this long at most for a reply. */
	if (parse_uint(v, 10, 200, &x))
		return fail(st, line, "lockbank", name,
			    "must be a number 10..200");
	c->modbus.timeout_ms = (unsigned)x;
	return 1;
}

static int handle_lockbank(struct parse_state *st, int line, const char *name,
			   const char *v)
{
	struct config *c = st->c;
	unsigned long long x;
	bool *flag = NULL;
	enum lockbank_gpiod_bias *bias = NULL;

	if (strcmp(name, "backend") == 0) {
		if (parse_backend(v, &c->lockbank_backend) < 0 ||
		    c->lockbank_backend == CONFIG_BACKEND_NFC)
			return fail(st, line, "lockbank", name,
				    "must be sim, gpiod or modbus");
		return 1;
	}
	/* inih's name buffer is reused: keep static key names. */
	note_key(name, line, gpiod_keys, &st->gpiod_key_line, &st->gpiod_key);
	note_key(name, line, wired_keys, &st->wired_key_line, &st->wired_key);
	if (note_key(name, line, modbus_keys, &st->modbus_key_line,
		     &st->modbus_key))
		return handle_modbus(st, line, name, v);
	if (strcmp(name, "chip") == 0) {
		if (parse_path(v, c->lockbank_chip, sizeof(c->lockbank_chip)) &&
		    parse_chip_label(v, c->lockbank_chip,
				     sizeof(c->lockbank_chip)))
			return fail(
				st, line, "lockbank", name,
				"must be a path like /dev/gpiochip0, or a chip's label as gpiodetect shows it");
		return 1;
	}
	if (strncmp(name, "chip.", 5) == 0)
		return handle_more_chip(st, line, name, v);
	if (strcmp(name, "door_debounce_ms") == 0) {
		if (parse_uint(v, 1, 1000, &x))
			return fail(st, line, "lockbank", name,
				    "must be a number 1..1000");
		c->door_debounce_ms = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "lock_active_low") == 0)
		flag = &c->lock_active_low;
	else if (strcmp(name, "door_active_low") == 0)
		flag = &c->door_active_low;
	else if (strcmp(name, "item_active_low") == 0)
		flag = &c->item_active_low;
	else if (strcmp(name, "door_bias") == 0)
		bias = &c->door_bias;
	else if (strcmp(name, "item_bias") == 0)
		bias = &c->item_bias;
	else
		return fail(st, line, "lockbank", name, "unknown key");
	if (flag && parse_bool(v, flag) < 0)
		return fail(st, line, "lockbank", name, "must be yes or no");
	if (bias && parse_bias(v, bias) < 0)
		return fail(st, line, "lockbank", name,
			    "must be pull-up, pull-down, disabled or as-is");
	return 1;
}

static const char *const line_keys[] = { "lock", "door", "item" };

static struct config_gpio_line *line_of(struct config *c, unsigned locker,
					unsigned key)
{
	return key == 0 ? &c->lock_lines[locker] :
	       key == 1 ? &c->door_lines[locker] :
			  &c->item_lines[locker];
}

static bool same_line(const struct config_gpio_line *a,
		      const struct config_gpio_line *b)
{
	if (a->chip != b->chip)
		return false;
	if (a->name[0] || b->name[0])
		return strcmp(a->name, b->name) == 0;
	return a->offset == b->offset;
}

/*
 * With backend = gpiod every locker needs its lock and door line and the
 * chip, no line twice, and no more lines than one kernel line request takes
 * (locks are one, doors and items another); without it no GPIO setting may
 * be given, as it would be silently ignored. A name and an offset naming one
 * line are only caught at start, when the chip is there to ask.
 */
/* The chip a line's "NAME:" names: 0 for none, k for more_chips[k - 1]. */
static int chip_of(const struct config *c, const struct config_gpio_line *l)
{
	if (!l->chip_name[0])
		return 0;
	for (unsigned k = 0; k < c->lockbank_n_more_chips; k++)
		if (strcmp(c->lockbank_more_chips[k].key + 5, l->chip_name) ==
		    0)
			return (int)k + 1;
	return -ENOENT;
}

/*
 * With backend = modbus every locker needs its lock coil and door input,
 * by address (a number, no chip), no coil twice and no input twice; the
 * inputs are read in one request, so they span at most 2000.
 */
static int check_modbus_lines(struct parse_state *st)
{
	struct config *c = st->c;
	unsigned lo = UINT_MAX, hi = 0;

	if (!c->modbus.device[0]) {
		snprintf(
			st->error, CONFIG_ERROR_MAX,
			"%s: [lockbank] device: missing (backend = modbus needs the board's serial port, like /dev/ttyUSB0)",
			st->path);
		return -EINVAL;
	}
	for (unsigned i = 0; i < st->count; i++) {
		char section[32];

		snprintf(section, sizeof(section), "locker.%u", i + 1);
		for (unsigned k = 0; k < 3; k++) {
			struct config_gpio_line *l = line_of(c, i, k);

			if (k < 2 && !l->line) {
				snprintf(
					st->error, CONFIG_ERROR_MAX,
					"%s: [%s] %s: missing (backend = modbus needs the %s of every locker)",
					st->path, section, line_keys[k],
					k ? "door input" : "lock coil");
				return -EINVAL;
			}
			if (!l->line)
				continue;
			if (l->name[0] || l->chip_name[0]) {
				fail(st, l->line, section, line_keys[k],
				     "must be the board's %s address, a number 0..65535",
				     k ? "discrete input" : "coil");
				return -EINVAL;
			}
			if (k) {
				lo = l->offset < lo ? l->offset : lo;
				hi = l->offset > hi ? l->offset : hi;
			}
			/* Coils and inputs are apart: compare like with like. */
			for (unsigned j = 0; j <= i; j++)
				for (unsigned m = 0; m < (j < i ? 3 : k); m++) {
					const struct config_gpio_line *o =
						line_of(c, j, m);

					if (!o->line || (m == 0) != (k == 0) ||
					    o->offset != l->offset)
						continue;
					fail(st, l->line, section, line_keys[k],
					     "the same %s as locker %u's %s (on line %d of this file)",
					     k ? "input" : "coil", j + 1,
					     line_keys[m], o->line);
					return -EINVAL;
				}
		}
	}
	if (st->count && hi - lo >= LOCKBANK_MODBUS_INPUTS_MAX) {
		snprintf(
			st->error, CONFIG_ERROR_MAX,
			"%s: [lockbank] backend: modbus reads the door and item inputs in one request, %d at most; these span %u..%u",
			st->path, LOCKBANK_MODBUS_INPUTS_MAX, lo, hi);
		return -EINVAL;
	}
	/*
	 * Each read blocks the loop for its time on the wire (a request of
	 * 8 bytes, a reply of 5 and a byte per 8 inputs): at most half of
	 * every poll_ms, or doors, taps and pulses wait on the serial line.
	 */
	if (st->count) {
		unsigned bits = 1 + c->modbus.data_bits +
				(c->modbus.parity != 'N') + c->modbus.stop_bits;
		unsigned chars = 8 + 5 + (hi - lo + 8) / 8;
		unsigned read_ms = (chars * bits * 1000 + c->modbus.baud - 1) /
				   c->modbus.baud;

		if (2 * read_ms > c->modbus.poll_ms) {
			snprintf(
				st->error, CONFIG_ERROR_MAX,
				"%s: [lockbank] baud: at %u baud one read of the inputs takes about %u ms, more than half of poll_ms (%u): raise baud or poll_ms",
				st->path, c->modbus.baud, read_ms,
				c->modbus.poll_ms);
			return -EINVAL;
		}
	}
	return 0;
}

static int check_lines(struct parse_state *st)
{
	struct config *c = st->c;
	bool gpiod = c->lockbank_backend == CONFIG_BACKEND_GPIOD;
	bool modbus = c->lockbank_backend == CONFIG_BACKEND_MODBUS;
	unsigned n_locks[LOCKBANK_GPIOD_CHIPS_MAX] = { 0 };
	unsigned n_inputs[LOCKBANK_GPIOD_CHIPS_MAX] = { 0 };

	if (!gpiod && st->gpiod_key_line) {
		fail(st, st->gpiod_key_line, "lockbank", st->gpiod_key,
		     "only used with backend = gpiod");
		return -EINVAL;
	}
	if (!modbus && st->modbus_key_line) {
		fail(st, st->modbus_key_line, "lockbank", st->modbus_key,
		     "only used with backend = modbus");
		return -EINVAL;
	}
	if (!gpiod && !modbus && st->wired_key_line) {
		fail(st, st->wired_key_line, "lockbank", st->wired_key,
		     "only used with backend = gpiod or modbus");
		return -EINVAL;
	}
	if (modbus)
		return check_modbus_lines(st);
	if (gpiod && !c->lockbank_chip[0]) {
		snprintf(
			st->error, CONFIG_ERROR_MAX,
			"%s: [lockbank] chip: missing (backend = gpiod needs one, like /dev/gpiochip0)",
			st->path);
		return -EINVAL;
	}
	for (unsigned i = 0; i < st->count; i++) {
		char section[32];

		snprintf(section, sizeof(section), "locker.%u", i + 1);
		for (unsigned k = 0; k < 3; k++) {
			struct config_gpio_line *l = line_of(c, i, k);

			if (!gpiod && l->line) {
				fail(st, l->line, section, line_keys[k],
				     "a lock, door or item line needs [lockbank] backend = gpiod or modbus");
				return -EINVAL;
			}
			if (gpiod && k < 2 && !l->line) {
				snprintf(
					st->error, CONFIG_ERROR_MAX,
					"%s: [%s] %s: missing (backend = gpiod needs the %s line of every locker)",
					st->path, section, line_keys[k],
					line_keys[k]);
				return -EINVAL;
			}
			if (l->line) {
				int chip = chip_of(c, l);

				if (chip < 0) {
					fail(st, l->line, section, line_keys[k],
					     "no chip \"%s\": name it with [lockbank] chip.%s = its path or label",
					     l->chip_name, l->chip_name);
					return -EINVAL;
				}
				l->chip = (unsigned)chip;
				if (k == 0)
					n_locks[chip]++;
				else
					n_inputs[chip]++;
			}
			/* Against every line given before it. */
			for (unsigned j = 0; l->line && j <= i; j++)
				for (unsigned m = 0; m < (j < i ? 3 : k); m++) {
					const struct config_gpio_line *o =
						line_of(c, j, m);

					if (!o->line || !same_line(l, o))
						continue;
					fail(st, l->line, section, line_keys[k],
					     "the same line as locker %u's %s (on line %d of this file)",
					     j + 1, line_keys[m], o->line);
					return -EINVAL;
				}
		}
	}
	for (unsigned k = 0; gpiod && k <= c->lockbank_n_more_chips; k++) {
		if (n_locks[k] <= LOCKBANK_GPIOD_LINES_MAX &&
		    n_inputs[k] <= LOCKBANK_GPIOD_LINES_MAX)
			continue;
		snprintf(
			st->error, CONFIG_ERROR_MAX,
			"%s: [lockbank] %s: gpiod takes at most %d lock lines and %d door and item lines together from one chip; these lockers need %u and %u of it",
			st->path,
			k ? c->lockbank_more_chips[k - 1].key : "chip",
			LOCKBANK_GPIOD_LINES_MAX, LOCKBANK_GPIOD_LINES_MAX,
			n_locks[k], n_inputs[k]);
		return -EINVAL;
	}
	return 0;
}

static int handle_scanner(struct parse_state *st, int line, const char *name,
			  const char *v)
{
	struct config *c = st->c;

	if (strcmp(name, "device") != 0)
		return fail(st, line, "scanner", name, "unknown key");
	if (parse_path(v, c->scanner_device, sizeof(c->scanner_device)))
		return fail(
			st, line, "scanner", name,
			"must be a path like /dev/input/by-id/usb-...-event-kbd");
	return 1;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/*
 * The host and port of an https:// URL: a host, and a port, when there is
 * a ':' after the host, of 1 to 65535. "https://hub:/v1" is refused (curl
 * would take it as 443, which is not what was written).
 */
static bool url_authority_ok(const char *v)
{
	const char *a = v + strlen("https://"), *end, *port;
	unsigned long long x;
	char digits[8];
	size_t n;

	n = strcspn(a, "/?#");
	end = a + n;
	if (n == 0 || memchr(a, '@', n))
		return false;
	if (a[0] == '[') {
		const char *close = memchr(a, ']', n);

		if (!close || close == a + 1)
			return false;
		port = close + 1;
		if (port < end && *port != ':')
			return false;
	} else {
		port = memchr(a, ':', n);
		if (port == a)
			return false;
		if (!port)
			port = end;
	}
	if (port >= end)
		return true;
	port++;
	n = (size_t)(end - port);
	if (n == 0 || n >= sizeof(digits))
		return false;
	memcpy(digits, port, n);
	digits[n] = '\0';
	return parse_uint(digits, 1, 65535, &x) == 0;
}

static int handle_sync(struct parse_state *st, int line, const char *name,
		       const char *v)
{
	struct config *c = st->c;
	unsigned long long x;
	size_t n = strlen(v);

	if (strcmp(name, "url") == 0) {
		/* Verification is always on, so plain http is never right. */
		if (strncmp(v, "https://", 8) != 0 || n <= 8 ||
		    n > CONFIG_URL_MAX || strpbrk(v, " \"#<>\\^`{|}") ||
		    has_control(v) || !url_authority_ok(v))
			return fail(
				st, line, "sync", name,
				"must be an https:// URL of at most %d characters, with a host and, if a port, one of 1 to 65535",
				CONFIG_URL_MAX);
		while (n > 8 && v[n - 1] == '/')
			n--;
		memcpy(c->sync.url, v, n);
		c->sync.url[n] = '\0';
		return 1;
	}
	if (strcmp(name, "token_file") == 0) {
		if (parse_path(v, c->sync.token_file,
			       sizeof(c->sync.token_file)))
			return fail(st, line, "sync", name,
				    "must be an absolute path");
		return 1;
	}
	if (strcmp(name, "ca_file") == 0 || strcmp(name, "client_cert") == 0 ||
	    strcmp(name, "client_key") == 0) {
		char *dst = c->sync.ca_file;
		struct stat key_st;

		if (strcmp(name, "client_cert") == 0)
			dst = c->sync.client_cert;
		else if (strcmp(name, "client_key") == 0)
			dst = c->sync.client_key;

		if (parse_path(v, dst, PATH_MAX))
			return fail(st, line, "sync", name,
				    "must be an absolute path");
		if (access(v, R_OK) < 0)
			return fail(st, line, "sync", name, "%s: %s", v,
				    strerror(errno));
		/* A private key others can read is no longer private. */
		if (dst == c->sync.client_key && stat(v, &key_st) == 0 &&
		    (key_st.st_mode & S_IRWXO))
			return fail(
				st, line, "sync", name,
				"%s: readable by others (mode %04o); run chmod 0600 on it",
				v, (unsigned)(key_st.st_mode & 07777));
		return 1;
	}
	if (strcmp(name, "pinned_public_key") == 0) {
		if (n == 0 || n >= sizeof(c->sync.pinned_public_key) ||
		    (strncmp(v, "sha256//", 8) != 0 && v[0] != '/'))
			return fail(
				st, line, "sync", name,
				"must be sha256//<base64>[;sha256//...] or an absolute path");
		memcpy(c->sync.pinned_public_key, v, n + 1);
		return 1;
	}
	if (strcmp(name, "batch_size") == 0) {
		if (parse_uint(v, 1, 500, &x))
			return fail(st, line, "sync", name,
				    "must be a number 1..500");
		c->sync.batch_size = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "status_interval_s") == 0 ||
	    strcmp(name, "pull_interval_s") == 0) {
		if (parse_uint(v, 10, 3600, &x))
			return fail(st, line, "sync", name,
				    "must be a number 10..3600");
		*(name[0] == 's' ? &c->sync.status_interval_s :
				   &c->sync.pull_interval_s) = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "open_commands_max") == 0) {
		if (parse_uint(v, 0, 100, &x))
			return fail(st, line, "sync", name,
				    "must be a number 0..100");
		c->sync.open_commands_max = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "open_commands_period_s") == 0) {
		if (parse_uint(v, 60, 86400, &x))
			return fail(st, line, "sync", name,
				    "must be a number 60..86400");
		c->sync.open_commands_period_s = (unsigned)x;
		return 1;
	}
	return fail(st, line, "sync", name, "unknown key");
}

/* "127.0.0.1:8080" or "[::1]:8080": a numeric address and a port. */
static int parse_listen(const char *v, char *ret_address, unsigned *ret_port)
{
	const char *colon = strrchr(v, ':');
	unsigned char buf[sizeof(struct in6_addr)];
	char address[46];
	unsigned long long port;
	size_t n;
	int family = AF_INET;

	if (!colon || parse_uint(colon + 1, 0, 65535, &port))
		return -EINVAL;
	n = (size_t)(colon - v);
	if (v[0] == '[') {
		if (n < 3 || v[n - 1] != ']')
			return -EINVAL;
		v++;
		n -= 2;
		family = AF_INET6;
	}
	if (n == 0 || n >= sizeof(address))
		return -EINVAL;
	memcpy(address, v, n);
	address[n] = '\0';
	if (inet_pton(family, address, buf) != 1)
		return -EINVAL;
	memcpy(ret_address, address, n + 1);
	*ret_port = (unsigned)port;
	return 0;
}

bool config_address_is_loopback(const char *address)
{
	struct in6_addr in6;
	struct in_addr in;

	if (inet_pton(AF_INET, address, &in) == 1)
		return (ntohl(in.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, address, &in6) != 1)
		return false;
	return IN6_IS_ADDR_LOOPBACK(&in6) ||
	       (IN6_IS_ADDR_V4MAPPED(&in6) && in6.s6_addr[12] == 127);
}

static int handle_metrics(struct parse_state *st, int line, const char *name,
			  const char *v)
{
	struct config *c = st->c;

	if (strcmp(name, "listen") == 0) {
		/* Empty is the default, said out loud: off. */
		if (!v[0])
			return 1;
		if (parse_listen(v, c->metrics.address, &c->metrics.port))
			return fail(
				st, line, "metrics", name,
				"must be empty or a numeric address and a port, as 127.0.0.1:9464 or [::1]:9464");
		return 1;
	}
	if (strcmp(name, "token_file") == 0) {
		if (parse_path(v, c->metrics.token_file,
			       sizeof(c->metrics.token_file)))
			return fail(st, line, "metrics", name,
				    "must be an absolute path");
		return 1;
	}
	return fail(st, line, "metrics", name, "unknown key");
}

/* Text for the screen: 1 to n - 1 bytes of UTF-8 without controls. */
static int parse_text(const char *v, char *ret, size_t n)
{
	size_t len = strlen(v);
	json_t *j;

	if (len == 0 || len >= n)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return -EINVAL;
	/* jansson refuses what is not well-formed UTF-8. */
	j = json_string(v);
	if (!j)
		return -EINVAL;
	json_decref(j);
	memcpy(ret, v, len + 1);
	return 0;
}

/* A phone number as a patron dials it: digits, + - ( ) and blanks. */
static int parse_phone(const char *v, char *ret, size_t n)
{
	size_t len = strlen(v);

	if (len == 0 || len >= n || strspn(v, "0123456789+-() ") != len ||
	    !strpbrk(v, "0123456789"))
		return -EINVAL;
	memcpy(ret, v, len + 1);
	return 0;
}

static int handle_webui(struct parse_state *st, int line, const char *name,
			const char *v)
{
	struct config *c = st->c;
	unsigned long long x;

	if (strcmp(name, "listen") == 0) {
		if (parse_listen(v, c->webui.address, &c->webui.port))
			return fail(
				st, line, "webui", name,
				"must be a numeric address and a port, as 127.0.0.1:8080 or [::1]:8080");
		return 1;
	}
	if (strcmp(name, "ui_dir") == 0) {
		if (parse_path(v, c->webui.ui_dir, sizeof(c->webui.ui_dir)))
			return fail(st, line, "webui", name,
				    "must be an absolute path");
		return 1;
	}
	if (strcmp(name, "idle_timeout_s") == 0) {
		if (parse_uint(v, 10, 3600, &x))
			return fail(st, line, "webui", name,
				    "must be a number 10..3600");
		c->webui.idle_timeout_s = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "volume") == 0) {
		if (parse_uint(v, 0, 100, &x))
			return fail(st, line, "webui", name,
				    "must be a number 0..100");
		c->webui.volume = (unsigned)x;
		return 1;
	}
	if (strcmp(name, "screen_user") == 0) {
		size_t n = strlen(v);

		if (n == 0 || n >= sizeof(c->webui.screen_user) ||
		    v[0] == '-' ||
		    strspn(v,
			   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
			    n)
			return fail(
				st, line, "webui", name,
				"must be a user's name or number, as lokerbuku-ui");
		memcpy(c->webui.screen_user, v, n + 1);
		return 1;
	}
	if (strcmp(name, "allow_remote") == 0) {
		if (parse_bool(v, &c->webui.allow_remote))
			return fail(st, line, "webui", name,
				    "must be yes or no");
		return 1;
	}
	if (strcmp(name, "library_name") == 0 ||
	    strcmp(name, "opening_hours") == 0) {
		char *to = name[0] == 'l' ? c->webui.library_name :
					    c->webui.opening_hours;

		if (parse_text(v, to, CONFIG_HELP_TEXT_MAX + 1))
			return fail(
				st, line, "webui", name,
				"must be 1 to 160 bytes of UTF-8 text on one line");
		return 1;
	}
	if (strcmp(name, "help_phone") == 0 ||
	    strcmp(name, "help_whatsapp") == 0) {
		char *to = strcmp(name, "help_phone") == 0 ?
				   c->webui.help_phone :
				   c->webui.help_whatsapp;

		if (parse_phone(v, to, CONFIG_HELP_PHONE_MAX + 1))
			return fail(
				st, line, "webui", name,
				"must be a phone number of up to 32 digits, + - ( ) and blanks");
		return 1;
	}
	return fail(st, line, "webui", name, "unknown key");
}

/*
 * inih reads through this, so the handler knows the line it is on. inih
 * would take the rest of a line longer than its buffer for a line of its
 * own: stop there instead, and say why.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	size_t n;
	int next;

	if (!fgets(str, num, st->file))
		return NULL;
	st->line++;
	n = strlen(str);
	if (num < 2 || n < (size_t)num - 1 || str[n - 1] == '\n')
		return str;
	/* The buffer is full: fine if the line ends right here. */
	next = getc(st->file);
	if (next == '\n' || next == EOF)
		return str;
	st->long_line = st->line;
	st->line_max = num - 1;
	return NULL;
}

/* Where a key of section was first given, or NULL. */
static struct key_seen *key_seen_find(struct parse_state *st,
				      const char *section, const char *name)
{
	for (unsigned i = 0; i < st->n_keys_seen; i++)
		if (strcmp(st->keys_seen[i].section, section) == 0 &&
		    strcmp(st->keys_seen[i].key, name) == 0)
			return &st->keys_seen[i];
	return NULL;
}

static int dispatch(struct parse_state *st, int line, const char *section,
		    const char *name, const char *value)
{
	unsigned long long x;

	if (strcmp(section, "kiosk") == 0)
		return handle_kiosk(st, line, name, value);
	if (strcmp(section, "policy") == 0)
		return handle_policy(st, line, name, value);
	if (strcmp(section, "doors") == 0)
		return handle_doors(st, line, name, value);
	if (strcmp(section, "lockers") == 0)
		return handle_lockers(st, line, name, value);
	if (strncmp(section, "locker.", 7) == 0)
		return handle_locker(st, line, section, name, value);
	if (strcmp(section, "reader") == 0)
		return handle_reader(st, line, name, value);
	if (strcmp(section, "lockbank") == 0)
		return handle_lockbank(st, line, name, value);
	if (strcmp(section, "scanner") == 0)
		return handle_scanner(st, line, name, value);
	if (strcmp(section, "sync") == 0)
		return handle_sync(st, line, name, value);
	if (strcmp(section, "webui") == 0)
		return handle_webui(st, line, name, value);
	if (strcmp(section, "metrics") == 0)
		return handle_metrics(st, line, name, value);
	if (strcmp(section, "outbox") == 0) {
		if (strcmp(name, "keep_sent_days") == 0) {
			if (parse_uint(value, 1, 3650, &x))
				return fail(st, line, section, name,
					    "must be a number 1..3650");
			st->c->outbox_keep_sent_days = (unsigned)x;
			return 1;
		}
		if (strcmp(name, "max_unsent") != 0)
			return fail(st, line, section, name, "unknown key");
		if (parse_uint(value, 1000, 100000000, &x))
			return fail(st, line, section, name,
				    "must be a number 1000..100000000");
		st->c->outbox_max_unsent = x;
		return 1;
	}
	return fail(st, line, section, name, "unknown section");
}

static int handle(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parse_state *st = user;
	int line = st->line;
	struct key_seen *seen;
	char canonical[sizeof(seen->section)];
	unsigned long long x;

	if (!name) /* a section header alone */
		return 1;
	if (st->error[0]) /* only the first error is reported */
		return 0;
	if (strncmp(section, "locker.", 7) == 0 &&
	    parse_uint(section + 7, 1, KIOSK_LOCKERS_MAX, &x) == 0)
		snprintf(canonical, sizeof(canonical), "locker.%llu", x);
	else
		snprintf(canonical, sizeof(canonical), "%s", section);
	/*
	 * The last value would silently win. inih also hands an indented
	 * line on as a second value of the key before it.
	 */
	seen = key_seen_find(st, canonical, name);
	if (seen)
		return fail(
			st, line, section, name,
			"given twice or continued on an indented line (first on line %d)",
			seen->line);
	if (!dispatch(st, line, section, name, value))
		return 0;
	if (st->n_keys_seen == KEYS_SEEN_MAX)
		return fail(st, line, section, name, "too many keys");
	seen = &st->keys_seen[st->n_keys_seen++];
	snprintf(seen->section, sizeof(seen->section), "%s", canonical);
	snprintf(seen->key, sizeof(seen->key), "%s", name);
	seen->line = line;
	return 1;
}

/*
 * Reads a secret (the site key, the sync token) from a regular file that
 * others cannot read, trailing blanks dropped. Returns its length, or
 * -errno with the reason in error.
 */
static ssize_t read_secret(const char *path, const char *what, char *text,
			   size_t size, char *error)
{
	struct stat st;
	size_t n = 0;
	ssize_t r = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;

		snprintf(error, CONFIG_ERROR_MAX, "%s %.300s: %s", what, path,
			 strerror(e));
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(error, CONFIG_ERROR_MAX,
			 "%s %.300s: not a regular file", what, path);
		return -EINVAL;
	}
	if (st.st_mode & S_IRWXO) {
		close(fd);
		snprintf(error, CONFIG_ERROR_MAX,
			 "%s %.300s: readable by others (mode %04o); "
			 "run chmod 0600 on it",
			 what, path, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	while (n < size - 1 && (r = read(fd, text + n, size - 1 - n)) > 0)
		n += (size_t)r;
	if (r < 0) {
		int e = errno;

		close(fd);
		explicit_bzero(text, size);
		snprintf(error, CONFIG_ERROR_MAX, "%s %.300s: %s", what, path,
			 strerror(e));
		return -e;
	}
	close(fd);
	text[n] = '\0';
	while (n > 0 && isspace((unsigned char)text[n - 1]))
		text[--n] = '\0';
	return (ssize_t)n;
}

/* The site key file holds the key as hex: 32 to 128 digits. */
static int load_site_key(struct config *c, char *error)
{
	char text[2 * CONFIG_SITE_KEY_MAX + 16];
	ssize_t r;
	size_t n;

	r = read_secret(c->site_key_file, "site key", text, sizeof(text),
			error);
	if (r < 0)
		return (int)r;
	n = (size_t)r;
	if (n % 2 || n < 2 * CONFIG_SITE_KEY_MIN ||
	    n > 2 * CONFIG_SITE_KEY_MAX) {
		snprintf(error, CONFIG_ERROR_MAX,
			 "site key %.300s: must hold %d to %d hex digits",
			 c->site_key_file, 2 * CONFIG_SITE_KEY_MIN,
			 2 * CONFIG_SITE_KEY_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i += 2) {
		int hi = credential_hex_digit(text[i]),
		    lo = credential_hex_digit(text[i + 1]);

		if (hi < 0 || lo < 0) {
			snprintf(error, CONFIG_ERROR_MAX,
				 "site key %.300s: not hex at offset %zu",
				 c->site_key_file, i);
			return -EINVAL;
		}
		c->site_key[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	c->kiosk.site_key_len = n / 2;
	return 0;
}

/*
 * A bearer token (what: "sync token", "metrics token"): printable ASCII
 * without blanks, one line, into ret (CONFIG_TOKEN_MAX + 1 bytes).
 */
static int load_token(const char *path, const char *what, char *ret,
		      char *error)
{
	char text[CONFIG_TOKEN_MAX + 2];
	ssize_t r;
	size_t n;

	r = read_secret(path, what, text, sizeof(text), error);
	if (r < 0)
		return (int)r;
	n = (size_t)r;
	if (n < CONFIG_TOKEN_MIN || n > CONFIG_TOKEN_MAX) {
		explicit_bzero(text, sizeof(text));
		snprintf(error, CONFIG_ERROR_MAX,
			 "%s %.300s: must be %d to %d characters", what, path,
			 CONFIG_TOKEN_MIN, CONFIG_TOKEN_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (text[i] < '!' || text[i] > '~') {
			explicit_bzero(text, sizeof(text));
			snprintf(error, CONFIG_ERROR_MAX,
				 "%s %.300s: character %zu is not "
				 "printable ASCII",
				 what, path, i + 1);
			return -EINVAL;
		}
	memcpy(ret, text, n + 1);
	explicit_bzero(text, sizeof(text));
	return 0;
}

/*
 * Gives lockers without their own pulse_ms the default, then checks every
 * pulse ends before the door must be seen open: once the whole file is read,
 * as [doors] may come after [lockers].
 */
static int check_pulses(struct parse_state *st)
{
	struct config *c = st->c;
	unsigned long long confirm_ms =
		c->kiosk.door_confirm_timeout_usec / USEC_PER_MSEC;

	for (unsigned i = 0; i < st->count; i++) {
		char section[32];
		int line;

		if (!st->pulse_line[i])
			c->lockers[i].pulse_ms = st->default_pulse_ms;
		if (c->lockers[i].pulse_ms < confirm_ms)
			continue;
		if (st->pulse_line[i]) {
			snprintf(section, sizeof(section), "locker.%u", i + 1);
			line = st->pulse_line[i];
		} else {
			snprintf(section, sizeof(section), "lockers");
			/* An unset pulse_ms is the default: blame the other. */
			line = st->default_pulse_line ?: st->confirm_line;
		}
		fail(st, line, section, "pulse_ms",
		     "%u%s is not shorter than [doors] confirm_timeout_ms (%llu)",
		     c->lockers[i].pulse_ms,
		     st->pulse_line[i] || st->default_pulse_line ?
			     "" :
			     " (the default)",
		     confirm_ms);
		return -EINVAL;
	}
	return 0;
}

int config_load(const char *path, struct config *ret,
		char ret_error[CONFIG_ERROR_MAX])
{
	struct parse_state *st;
	struct config *c;
	const char *base;
	int r, err = 0;
	FILE *f;

	ret_error[0] = '\0';
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		snprintf(ret_error, CONFIG_ERROR_MAX, "%s: %s", path,
			 strerror(-err));
		return err;
	}
	c = malloc(sizeof(*c));
	st = calloc(1, sizeof(*st));
	if (!c || !st) {
		fclose(f);
		free(c);
		free(st);
		snprintf(ret_error, CONFIG_ERROR_MAX, "%s: out of memory",
			 path);
		return -ENOMEM;
	}
	config_init(c);
	base = strrchr(path, '/');
	st->c = c;
	st->path = base ? base + 1 : path;
	st->error = ret_error;
	st->default_pulse_ms = 500;

	st->file = f;
	r = ini_parse_stream(read_line, st, handle, st);
	fclose(f);
	/* Reading stopped at a long line: any other error came before it. */
	if (ret_error[0]) {
		err = -EINVAL;
	} else if (r != 0) {
		snprintf(ret_error, CONFIG_ERROR_MAX, "%s:%d: not valid INI",
			 st->path, r);
		err = -EINVAL;
	} else if (st->long_line) {
		snprintf(ret_error, CONFIG_ERROR_MAX,
			 "%s:%d: longer than %d characters", st->path,
			 st->long_line, st->line_max);
		err = -EINVAL;
	} else if (!st->have_id) {
		snprintf(
			ret_error, CONFIG_ERROR_MAX,
			"%s: [kiosk] id: missing (each kiosk needs its own id)",
			st->path);
		err = -EINVAL;
	} else if (!st->have_key_file) {
		snprintf(ret_error, CONFIG_ERROR_MAX,
			 "%s: [kiosk] site_key_file: missing", st->path);
		err = -EINVAL;
	} else if (st->count == 0) {
		snprintf(ret_error, CONFIG_ERROR_MAX,
			 "%s: [lockers] count: missing", st->path);
		err = -EINVAL;
	} else if (c->reader_backend == CONFIG_BACKEND_NFC &&
		   !c->reader_connstring[0]) {
		snprintf(
			ret_error, CONFIG_ERROR_MAX,
			"%s: [reader] connstring: missing (backend = nfc needs one, like pn532_uart:/dev/ttyS0)",
			st->path);
		err = -EINVAL;
	} else if (st->max_locker_named > st->count) {
		snprintf(ret_error, CONFIG_ERROR_MAX,
			 "%s:%d: locker %u: beyond [lockers] count = %u",
			 st->path, st->max_locker_line, st->max_locker_named,
			 st->count);
		err = -EINVAL;
	}
	if (err == 0)
		err = check_pulses(st);
	if (err == 0)
		err = check_lines(st);
	if (err == 0) {
		unsigned n_hold = 0;

		for (unsigned i = 0; i < st->count; i++)
			if (c->lockers[i].kind == KIOSK_LOCKER_KIND_HOLD)
				n_hold++;
		if (n_hold == 0) {
			snprintf(
				ret_error, CONFIG_ERROR_MAX,
				"%s: [lockers] return: every locker is a return compartment; none is left for holds",
				st->path);
			err = -EINVAL;
		}
	}
	if (err == 0 && (c->sync.url[0] || c->sync.token_file[0])) {
		if (!c->sync.url[0] || !c->sync.token_file[0]) {
			snprintf(
				ret_error, CONFIG_ERROR_MAX,
				"%s: [sync] %s: missing (sync needs both url and token_file)",
				st->path,
				c->sync.url[0] ? "token_file" : "url");
			err = -EINVAL;
		} else if (!c->sync.client_cert[0] != !c->sync.client_key[0]) {
			snprintf(
				ret_error, CONFIG_ERROR_MAX,
				"%s: [sync] %s: missing (a client certificate needs its key and the key its certificate)",
				st->path,
				c->sync.client_cert[0] ? "client_key" :
							 "client_cert");
			err = -EINVAL;
		}
	}
	if (err == 0 && c->metrics.token_file[0] && !c->metrics.address[0]) {
		snprintf(
			ret_error, CONFIG_ERROR_MAX,
			"%s: [metrics] listen: missing (token_file is the metrics listener's, which is off without listen)",
			st->path);
		err = -EINVAL;
	} else if (err == 0 && c->metrics.address[0] &&
		   !c->metrics.token_file[0] &&
		   !config_address_is_loopback(c->metrics.address)) {
		/* Door states and faults are nobody else's business. */
		snprintf(
			ret_error, CONFIG_ERROR_MAX,
			"%s: [metrics] token_file: missing (listen = %s is beyond loopback, so scrapers must give a bearer token)",
			st->path, c->metrics.address);
		err = -EINVAL;
	}
	if (err == 0 && c->webui.address[0] && !c->webui.allow_remote &&
	    !config_address_is_loopback(c->webui.address)) {
		/* The kiosk's screen is on this machine: no one else's business. */
		snprintf(
			ret_error, CONFIG_ERROR_MAX,
			"%s: [webui] listen = %s is beyond loopback: set allow_remote = yes if other machines are meant to see the kiosk's state (they may only look; only the screen on this machine may act)",
			st->path, c->webui.address);
		err = -EINVAL;
	}
	if (err == 0)
		err = load_site_key(c, ret_error);
	if (err == 0 && c->sync.token_file[0])
		err = load_token(c->sync.token_file, "sync token",
				 c->sync.token, ret_error);
	if (err == 0 && c->metrics.token_file[0])
		err = load_token(c->metrics.token_file, "metrics token",
				 c->metrics.token, ret_error);
	if (err == 0) {
		c->kiosk.n_lockers = st->count;
		*ret = *c;
		ret->kiosk.lockers = ret->lockers;
		ret->kiosk.site_key = ret->site_key;
	}
	explicit_bzero(c->site_key, sizeof(c->site_key));
	explicit_bzero(c->sync.token, sizeof(c->sync.token));
	explicit_bzero(c->metrics.token, sizeof(c->metrics.token));
	free(c);
	free(st);
	return err;
}
