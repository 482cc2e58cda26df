// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerctl: the service command line of a lokerbuku kiosk. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credential.h"
#include "lokerctl.h"

#define DEFAULT_SOCKET	 "/run/lokerbuku/control.sock"
#define REPLY_MAX	 (4 * 1024 * 1024)
#define REPLY_TIMEOUT_MS 15000
/* backup and check answer when lokerd's thread is done: a slow SD card. */
#define JOB_REPLY_TIMEOUT_MS (10 * 60 * 1000)

enum exit_code {
	EXIT_OK = 0,
	EXIT_REFUSED = 1, /* lokerd answered no */
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3, /* lokerd is not running or not answering */
};

struct options {
	const char *socket;
	bool json;
	long limit;
	json_t *credentials;
	json_t *items;
	const char *code, *pin, *name, *size, *role;
	long expires_in_s;
	long locker;
	bool session; /* staff commands within the screen's staff session */
	const char *config, *user; /* doctor, recover */
	bool force;		   /* recover */
	bool yes;		   /* wipe */
};

static void usage(FILE *f)
{
	fputs("Usage: lokerctl [--socket PATH] [--json] COMMAND [ARGS]\n"
	      "\n"
	      "Looks after a lokerbuku kiosk through lokerd's control socket.\n"
	      "\n"
	      "Commands:\n"
	      "  status                      every locker, backlog, faults\n"
	      "  events [--limit N]          recent events of the outbox\n"
	      "  holds [--limit N]           holds known to this kiosk\n"
	      "  holds add ID --credential CRED [--credential CRED...]\n"
	      "            [--code DIGITS] [--pin PIN] [--name FIRSTNAME]\n"
	      "            [--size small|medium|large] [--expires-in SECONDS]\n"
	      "            [--item BARCODE[=TITLE]...]\n"
	      "                              add a hold (tests, demo)\n"
	      "  staff add CREDENTIAL --pin PIN [--role staff|admin]\n"
	      "                              add a staff card (tests, demo)\n"
	      "  load HOLD [--locker N]      open a free locker to load a hold\n"
	      "  unload HOLD                 open a hold's locker to take it out\n"
	      "  open N                      maintenance opening of locker N\n"
	      "  disable N | enable N        take locker N out of or into use\n"
	      "    --session: load...enable as the staff member logged in on the\n"
	      "    screen (refused without one), not as the kiosk's service\n"
	      "  backup [FILE]               a consistent copy of the database,\n"
	      "                              made by lokerd (beside it by default)\n"
	      "  check                       database integrity check\n"
	      "  sync                        talk to the server now: upload,\n"
	      "                              pull changes, heartbeat\n"
	      "  doctor [--config PATH] [--user USER]\n"
	      "                              check the kiosk as lokerd's user\n"
	      "                              (lokerbuku) and say what to fix\n"
	      "  recover [--config PATH] [--force] [DATABASE]\n"
	      "                              with lokerd stopped: replace a\n"
	      "                              damaged database by what can be\n"
	      "                              read of it, keeping unsent events\n"
	      "  wipe [--config PATH] [--yes]\n"
	      "                              with lokerd stopped: overwrite and\n"
	      "                              remove the database, its backups\n"
	      "                              and the kiosk's secrets, before it\n"
	      "                              leaves service (without --yes: list)\n"
	      "  sim tap CREDENTIAL          tap a card on the simulated reader\n"
	      "  sim door N open|close       move a door of the simulated bank\n"
	      "  sim scan TEXT               a barcode from a scanner (a book\n"
	      "                              in a staff session, else a card)\n"
	      "  sim pin DIGITS              type a PIN on the screen keypad\n"
	      "  sim return | sim cancel     press 'return books' / 'cancel'\n"
	      "  sim pickup [HOLD=BARCODE[,BARCODE...]]...\n"
	      "                              choose the books to take: those\n"
	      "                              named stay in the locker (none:\n"
	      "                              take every book)\n"
	      "\n"
	      "Credentials: uid:<hex>, card:<member number>, code:<digits>.\n"
	      "The socket is $LOKERBUKU_SOCKET or " DEFAULT_SOCKET ".\n"
	      "Exit status: 0 done, 1 refused, 2 usage, 3 lokerd unreachable.\n",
	      f);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "lokerctl: %s\nTry 'lokerctl --help'.\n", msg);
	return EXIT_USAGE;
}

/* Says why a call failed, unless asked to be quiet. */
#define call_error(...)                               \
	do {                                          \
		if (!quiet)                           \
			fprintf(stderr, __VA_ARGS__); \
	} while (0)

/* Sends one request line, reads one reply line. */
int lokerctl_call(const char *path, json_t *req, json_t **ret, bool quiet)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	int timeout_ms =
		cmd && (!strcmp(cmd, "backup") || !strcmp(cmd, "check")) ?
			JOB_REPLY_TIMEOUT_MS :
			REPLY_TIMEOUT_MS;
	size_t len = 0, cap = 4096;
	char *text, *buf;
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		call_error("lokerctl: socket path too long: %s\n", path);
		return EXIT_USAGE;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;

		call_error("lokerctl: cannot reach lokerd at %s: %s\n"
			   "Is lokerd running? (systemctl status lokerd)\n",
			   path, strerror(e));
		if (fd >= 0)
			close(fd);
		return EXIT_UNREACHABLE;
	}
	text = json_dumps(req, JSON_COMPACT);
	buf = malloc(cap);
	if (!text || !buf) {
		call_error("lokerctl: out of memory\n");
		goto unreachable;
	}
	len = strlen(text);
	text[len] = '\n'; /* replaces the NUL; json_dumps leaves no slack */
	if (send(fd, text, len + 1, MSG_NOSIGNAL) != (ssize_t)(len + 1)) {
		call_error("lokerctl: cannot send to lokerd: %s\n",
			   strerror(errno));
		goto unreachable;
	}
	len = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) == 0) {
			call_error("lokerctl: lokerd did not answer in %d s\n",
				   timeout_ms / 1000);
			goto unreachable;
		}
		if (len + 1 >= cap) {
			char *bigger;

			if (cap >= REPLY_MAX) {
				call_error("lokerctl: reply too long\n");
				goto unreachable;
			}
			bigger = realloc(buf, cap * 2);
			if (!bigger)
				goto unreachable;
			buf = bigger;
			cap *= 2;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n <= 0) {
			call_error("lokerctl: lokerd closed the connection\n");
			goto unreachable;
		}
		len += (size_t)n;
		if (memchr(buf + len - n, '\n', (size_t)n))
			break;
	}
	buf[len] = '\0';
	*ret = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	free(text);
	free(buf);
	close(fd);
	if (!*ret) {
		call_error("lokerctl: lokerd sent a reply that is not JSON\n");
		return EXIT_UNREACHABLE;
	}
	return EXIT_OK;
unreachable:
	free(text);
	free(buf);
	close(fd);
	return EXIT_UNREACHABLE;
}

/*
 * Whether a process holds a lock on path, as SQLite's connections do on a
 * database (or its -wal and -shm) they have open: its pid, else 0. A
 * symbolic link is followed only to a regular file (a database kept on
 * another partition); a FIFO or device planted among the files waited on
 * is never opened.
 */
static pid_t lock_holder(const char *path)
{
	const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd = open(path, flags | O_NOFOLLOW);
	struct stat st;
	pid_t pid = 0;

	if (fd < 0 && errno == ELOOP && stat(path, &st) == 0 &&
	    S_ISREG(st.st_mode))
		fd = open(path, flags);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
		pid = fl.l_pid > 0 ? fl.l_pid : 1;
	close(fd);
	return pid;
}

int lokerctl_refuse_if_in_use(const char *socket, char *const *paths,
			      unsigned n_paths, const char *advice)
{
	json_t *req = json_pack("{s:s}", "cmd", "status"), *reply = NULL;

	if (req && lokerctl_call(socket, req, &reply, true) == 0) {
		json_decref(req);
		json_decref(reply);
		fprintf(stderr,
			"lokerctl: lokerd is running (it answers at %s): %s\n",
			socket, advice);
		return 1;
	}
	json_decref(req);
	for (unsigned i = 0; i < n_paths; i++) {
		pid_t pid = lock_holder(paths[i]);

		if (pid > 0) {
			fprintf(stderr,
				"lokerctl: process %ld has %s open: %s\n",
				(long)pid, paths[i], advice);
			return 1;
		}
	}
	return 0;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static long num(json_t *o, const char *key)
{
	return (long)json_integer_value(json_object_get(o, key));
}

static void print_screen(json_t *screen)
{
	json_t *lockers = json_object_get(screen, "lockers"), *v;
	size_t i;

	printf("screen: %s", str(screen, "name"));
	json_array_foreach(lockers, i, v)
		printf(" %ld", (long)json_integer_value(v));
	if (num(screen, "attempts_left") > 0)
		printf(" (%ld attempts left)", num(screen, "attempts_left"));
	putchar('\n');
}

static void print_input_reply(json_t *r)
{
	json_t *unlocked = json_object_get(r, "unlocked"), *v;
	size_t i;

	print_screen(json_object_get(r, "screen"));
	if (json_array_size(unlocked) == 0)
		return;
	printf("unlocked:");
	json_array_foreach(unlocked, i, v)
		printf(" %ld", (long)json_integer_value(v));
	putchar('\n');
}

static void print_status(json_t *r)
{
	json_t *lockers = json_object_get(r, "lockers");
	json_t *faults = json_object_get(r, "faults"), *l;
	size_t i;

	printf("kiosk %s (lokerbuku %s), %s, up %ld s\n", str(r, "kiosk_id"),
	       str(r, "version"),
	       json_is_true(json_object_get(r, "in_service")) ?
		       "in service" :
		       "OUT OF SERVICE",
	       num(r, "uptime_s"));
	print_screen(json_object_get(r, "screen"));
	printf("backlog: %ld events unsent; active holds: %ld\n",
	       num(r, "backlog"), num(r, "active_holds"));
	printf("reader: %s%s; lock bank: %s\n",
	       str(json_object_get(r, "reader"), "backend"),
	       json_is_true(
		       json_object_get(json_object_get(r, "reader"), "ok")) ?
		       "" :
		       " (not answering)",
	       str(json_object_get(r, "lockbank"), "backend"));
	printf("%6s  %-6s  %-6s  %-6s  %-9s  %-11s  %-20s  %s\n", "locker",
	       "size", "kind", "door", "state", "purpose", "hold", "notes");
	json_array_foreach(lockers, i, l)
	{
		char notes[128] = "";
		size_t off = 0;

#define NOTE(...)                                                              \
	off += (size_t)snprintf(notes + off,                                   \
				off < sizeof(notes) ? sizeof(notes) - off : 0, \
				__VA_ARGS__)
		if (json_is_true(json_object_get(l, "disabled")))
			NOTE("disabled ");
		if (strcmp(str(l, "fault"), "none") != 0)
			NOTE("FAULT:%s ", str(l, "fault"));
		if (json_is_true(json_object_get(l, "alarm_forced_open")))
			NOTE("ALARM:forced-open ");
		if (json_is_true(json_object_get(l, "alarm_left_open")))
			NOTE("ALARM:left-open ");
		if (num(l, "returns") > 0)
			NOTE("returns:%ld ", num(l, "returns"));
		if (json_is_true(json_object_get(l, "lock_energised")))
			NOTE("lock-energised ");
#undef NOTE
		printf("%6ld  %-6s  %-6s  %-6s  %-9s  %-11s  %-20s  %s\n",
		       num(l, "number"), str(l, "size"), str(l, "kind"),
		       str(l, "door"), str(l, "state"), str(l, "purpose"),
		       json_is_string(json_object_get(l, "hold")) ?
			       str(l, "hold") :
			       "-",
		       notes);
	}
	if (json_array_size(faults) == 0) {
		printf("faults: none\n");
	} else {
		printf("faults:\n");
		json_array_foreach(faults, i, l)
			printf("  %s\n", json_string_value(l));
	}
}

static void format_time(long long usec, char *buf, size_t n)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;

	if (usec <= 0) {
		snprintf(buf, n, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void print_events(json_t *r)
{
	json_t *events = json_object_get(r, "events"), *e;
	size_t i;

	if (json_array_size(events) == 0)
		printf("no events\n");
	json_array_foreach(events, i, e)
	{
		char when[32], *payload;

		format_time(json_integer_value(json_object_get(e, "at_usec")),
			    when, sizeof(when));
		payload = json_dumps(json_object_get(e, "payload"),
				     JSON_COMPACT | JSON_SORT_KEYS);
		printf("%6ld  %s  %-18s %s%s\n", num(e, "seq"), when,
		       str(e, "type"), payload ? payload : "{}",
		       json_is_true(json_object_get(e, "sent")) ? "" :
								  "  (unsent)");
		free(payload);
	}
}

static void print_holds(json_t *r)
{
	json_t *holds = json_object_get(r, "holds"), *h;
	size_t i;

	if (json_array_size(holds) == 0)
		printf("no holds\n");
	else
		printf("%-20s  %-9s  %6s  %-6s  %-12s  %s\n", "hold", "state",
		       "locker", "size", "patron", "items");
	json_array_foreach(holds, i, h)
	{
		json_t *items = json_object_get(h, "items"), *it;
		char locker[16] = "-";
		size_t j;

		if (num(h, "locker") > 0)
			snprintf(locker, sizeof(locker), "%ld",
				 num(h, "locker"));
		printf("%-20s  %-9s  %6s  %-6s  %-12s ", str(h, "id"),
		       str(h, "state"), locker, str(h, "size"),
		       str(h, "patron_name")[0] ? str(h, "patron_name") : "-");
		json_array_foreach(items, j, it)
			printf(" %s", str(it, "barcode"));
		putchar('\n');
	}
}

static int parse_locker(const char *s, long *ret)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n < 1 || n > 1000)
		return -EINVAL;
	*ret = n;
	return 0;
}

/*
 * The absolute name of a file that does not exist yet: its folder
 * resolved, its own name kept. False when the folder cannot be resolved.
 */
static bool resolve_new_file(const char *name, char ret[PATH_MAX])
{
	char folder[PATH_MAX], *copy = strdup(name), *slash;
	const char *base = name;
	bool ok;

	if (!copy)
		return false;
	slash = strrchr(copy, '/');
	if (slash) {
		base = name + (slash - copy) + 1;
		*slash = '\0';
	}
	ok = realpath(slash ? (copy[0] ? copy : "/") : ".", folder) &&
	     base[0] &&
	     snprintf(ret, PATH_MAX, "%s/%s", strcmp(folder, "/") ? folder : "",
		      base) < PATH_MAX;
	free(copy);
	return ok;
}

/*
 * "sim pickup [HOLD=BARCODE[,BARCODE...]]...": the patron's answer on the
 * choose_books screen, each argument a hold and its books left in the
 * locker; none: every book is taken.
 */
static json_t *pickup_request(int argc, char **argv, const char **ret_error)
{
	json_t *leave = json_array();

	*ret_error = "sim pickup [HOLD=BARCODE[,BARCODE...]]...";
	for (int i = 0; leave && i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		json_t *items = json_array();

		if (!eq || eq == argv[i] || !eq[1] || !items) {
			json_decref(items);
			json_decref(leave);
			return NULL;
		}
		for (char *b = eq + 1; *b;) {
			size_t n = strcspn(b, ",");

			json_array_append_new(items, json_stringn(b, n));
			b += n + (b[n] == ',');
		}
		json_array_append_new(leave,
				      json_pack("{s:s%, s:o}", "hold", argv[i],
						(size_t)(eq - argv[i]), "items",
						items));
	}
	return json_pack("{s:s, s:o}", "cmd", "pickup", "leave", leave);
}

/* Builds the request for the command words in argv; NULL on misuse. */
static json_t *build_request(int argc, char **argv, struct options *o,
			     const char **ret_error)
{
	const char *cmd = argc > 0 ? argv[0] : NULL;
	long n;

	*ret_error = "missing command";
	if (!cmd)
		return NULL;
	*ret_error = "wrong arguments";
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "check") == 0 ||
	    strcmp(cmd, "sync") == 0)
		return argc == 1 ? json_pack("{s:s}", "cmd", cmd) : NULL;
	if (strcmp(cmd, "backup") == 0 && argc <= 2) {
		char path[PATH_MAX];

		if (argc == 1)
			return json_pack("{s:s}", "cmd", "backup");
		/* lokerd writes it: a name relative to here means nothing there. */
		*ret_error = "backup: cannot resolve the folder of that file";
		if (!realpath(argv[1], path) &&
		    !resolve_new_file(argv[1], path))
			return NULL;
		return json_pack("{s:s, s:s}", "cmd", "backup", "path", path);
	}
	if (strcmp(cmd, "events") == 0 && argc == 1)
		return json_pack("{s:s, s:i}", "cmd", "events", "limit",
				 (int)o->limit);
	if (strcmp(cmd, "holds") == 0 && argc == 1)
		return json_pack("{s:s, s:i}", "cmd", "holds", "limit",
				 (int)o->limit);
	if (strcmp(cmd, "holds") == 0 && argc == 3 &&
	    strcmp(argv[1], "add") == 0) {
		json_t *req =
			json_pack("{s:s, s:s, s:O, s:O}", "cmd", "hold-add",
				  "id", argv[2], "credentials", o->credentials,
				  "items", o->items);

		if (o->code)
			json_object_set_new(req, "code", json_string(o->code));
		if (o->pin) {
			char hash[PIN_HASH_MAX + 1];

			/* Hashed here: lokerd's loop does not wait for it. */
			*ret_error = "--pin: 4 to 8 digits";
			if (credential_pin_hash(o->pin, 0, hash) < 0) {
				json_decref(req);
				return NULL;
			}
			json_object_set_new(req, "pin_hash", json_string(hash));
		}
		if (o->name)
			json_object_set_new(req, "name", json_string(o->name));
		if (o->size)
			json_object_set_new(req, "size", json_string(o->size));
		if (o->expires_in_s > 0)
			json_object_set_new(req, "expires_in_s",
					    json_integer(o->expires_in_s));
		return req;
	}
	if (strcmp(cmd, "staff") == 0 && argc == 3 &&
	    strcmp(argv[1], "add") == 0) {
		char hash[PIN_HASH_MAX + 1];

		*ret_error = "staff add needs --pin of 4 to 8 digits";
		/* Hashed here: lokerd's loop does not wait for it. */
		if (!o->pin || credential_pin_hash(o->pin, 0, hash) < 0)
			return NULL;
		return json_pack("{s:s, s:s, s:s, s:s}", "cmd", "staff-add",
				 "credential", argv[2], "pin_hash", hash,
				 "role", o->role ? o->role : "staff");
	}
	if (strcmp(cmd, "load") == 0 && argc == 2)
		return json_pack("{s:s, s:s, s:i, s:b}", "cmd", "load", "hold",
				 argv[1], "locker", (int)o->locker, "session",
				 o->session);
	if (strcmp(cmd, "unload") == 0 && argc == 2)
		return json_pack("{s:s, s:s, s:b}", "cmd", "unload", "hold",
				 argv[1], "session", o->session);
	if ((strcmp(cmd, "open") == 0 || strcmp(cmd, "disable") == 0 ||
	     strcmp(cmd, "enable") == 0) &&
	    argc == 2) {
		*ret_error = "the locker is a number from 1";
		if (parse_locker(argv[1], &n) < 0)
			return NULL;
		return json_pack("{s:s, s:i, s:b}", "cmd", cmd, "locker",
				 (int)n, "session", o->session);
	}
	if (strcmp(cmd, "sim") != 0 || argc < 2)
		return NULL;
	if (strcmp(argv[1], "tap") == 0 && argc == 3)
		return json_pack("{s:s, s:s}", "cmd", "sim-tap", "credential",
				 argv[2]);
	if (strcmp(argv[1], "door") == 0 && argc == 4) {
		bool open = strcmp(argv[3], "open") == 0;

		*ret_error = "sim door N open|close";
		if (parse_locker(argv[2], &n) < 0 ||
		    (!open && strcmp(argv[3], "close") != 0))
			return NULL;
		return json_pack("{s:s, s:i, s:b}", "cmd", "sim-door", "locker",
				 (int)n, "open", open);
	}
	if (strcmp(argv[1], "scan") == 0 && argc == 3)
		return json_pack("{s:s, s:s}", "cmd", "sim-scan", "text",
				 argv[2]);
	if (strcmp(argv[1], "pin") == 0 && argc == 3)
		return json_pack("{s:s, s:s}", "cmd", "pin", "pin", argv[2]);
	if ((strcmp(argv[1], "return") == 0 ||
	     strcmp(argv[1], "cancel") == 0) &&
	    argc == 2)
		return json_pack("{s:s}", "cmd", argv[1]);
	if (strcmp(argv[1], "pickup") == 0)
		return pickup_request(argc - 2, argv + 2, ret_error);
	return NULL;
}

static int add_item(json_t *items, const char *arg)
{
	const char *eq = strchr(arg, '=');
	json_t *item;

	if (eq)
		item = json_pack("{s:s%, s:s}", "barcode", arg,
				 (size_t)(eq - arg), "title", eq + 1);
	else
		item = json_pack("{s:s, s:s}", "barcode", arg, "title", "");
	return json_array_append_new(items, item);
}

int main(int argc, char **argv)
{
	enum {
		OPT_JSON = 0x100,
		OPT_SOCKET,
		OPT_LIMIT,
		OPT_CREDENTIAL,
		OPT_CODE,
		OPT_PIN,
		OPT_NAME,
		OPT_SIZE,
		OPT_EXPIRES_IN,
		OPT_ITEM,
		OPT_LOCKER,
		OPT_ROLE,
		OPT_SESSION,
		OPT_CONFIG,
		OPT_USER,
		OPT_FORCE,
		OPT_YES,
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "credential", required_argument, NULL, OPT_CREDENTIAL },
		{ "code", required_argument, NULL, OPT_CODE },
		{ "pin", required_argument, NULL, OPT_PIN },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "expires-in", required_argument, NULL, OPT_EXPIRES_IN },
		{ "item", required_argument, NULL, OPT_ITEM },
		{ "locker", required_argument, NULL, OPT_LOCKER },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "session", no_argument, NULL, OPT_SESSION },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "user", required_argument, NULL, OPT_USER },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "yes", no_argument, NULL, OPT_YES },
		{}
	};
	struct options o = {
		.socket = getenv("LOKERBUKU_SOCKET"),
		.limit = 20,
		.credentials = json_array(),
		.items = json_array(),
	};
	const char *error, *cmd;
	json_t *req, *reply = NULL;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case OPT_JSON:
			o.json = true;
			break;
		case OPT_SOCKET:
			o.socket = optarg;
			break;
		case OPT_LIMIT:
			o.limit = strtol(optarg, NULL, 10);
			if (o.limit < 1 || o.limit > 1000)
				return usage_error("--limit: 1 to 1000");
			break;
		case OPT_CREDENTIAL:
			json_array_append_new(o.credentials,
					      json_string(optarg));
			break;
		case OPT_CODE:
			o.code = optarg;
			break;
		case OPT_PIN:
			o.pin = optarg;
			break;
		case OPT_SESSION:
			o.session = true;
			break;
		case OPT_NAME:
			o.name = optarg;
			break;
		case OPT_SIZE:
			o.size = optarg;
			break;
		case OPT_EXPIRES_IN:
			o.expires_in_s = strtol(optarg, NULL, 10);
			if (o.expires_in_s < 1)
				return usage_error(
					"--expires-in: seconds, at least 1");
			break;
		case OPT_ITEM:
			add_item(o.items, optarg);
			break;
		case OPT_LOCKER:
			if (parse_locker(optarg, &o.locker) < 0)
				return usage_error("--locker: a number from 1");
			break;
		case OPT_ROLE:
			o.role = optarg;
			break;
		case OPT_CONFIG:
			o.config = optarg;
			break;
		case OPT_USER:
			o.user = optarg;
			break;
		case OPT_FORCE:
			o.force = true;
			break;
		case OPT_YES:
			o.yes = true;
			break;
		default:
			return usage_error("unknown option");
		}
	}
	if (optind < argc && strcmp(argv[optind], "doctor") == 0) {
		struct doctor_options d = {
			.config = o.config,
			.user = o.user ? o.user : "lokerbuku",
			.socket = o.socket && o.socket[0] ? o.socket : NULL,
		};

		json_decref(o.credentials);
		json_decref(o.items);
		if (optind + 1 != argc)
			return usage_error("doctor: no arguments");
		return doctor_run(&d);
	}
	if (optind < argc && strcmp(argv[optind], "recover") == 0) {
		struct recover_options r = {
			.config = o.config,
			.database = optind + 1 < argc ? argv[optind + 1] : NULL,
			.socket = o.socket && o.socket[0] ? o.socket : NULL,
			.force = o.force,
		};

		json_decref(o.credentials);
		json_decref(o.items);
		if (optind + 2 < argc)
			return usage_error("recover: at most one database");
		return recover_run(&r);
	}
	if (optind < argc && strcmp(argv[optind], "wipe") == 0) {
		struct wipe_options w = {
			.config = o.config,
			.socket = o.socket && o.socket[0] ? o.socket : NULL,
			.yes = o.yes,
		};

		json_decref(o.credentials);
		json_decref(o.items);
		if (optind + 1 != argc)
			return usage_error("wipe: no arguments");
		return wipe_run(&w);
	}
	if (!o.socket || !o.socket[0])
		o.socket = DEFAULT_SOCKET;

	req = build_request(argc - optind, argv + optind, &o, &error);
	json_decref(o.credentials);
	json_decref(o.items);
	if (!req)
		return usage_error(error);
	cmd = json_string_value(json_object_get(req, "cmd"));

	rc = lokerctl_call(o.socket, req, &reply, false);
	if (rc != EXIT_OK) {
		json_decref(req);
		return rc;
	}
	if (o.json) {
		json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		fprintf(stderr, "lokerctl: %s (%s)\n", str(reply, "error"),
			str(reply, "errno"));
		rc = EXIT_REFUSED;
	} else if (!o.json) {
		if (strcmp(cmd, "status") == 0)
			print_status(reply);
		else if (strcmp(cmd, "events") == 0)
			print_events(reply);
		else if (strcmp(cmd, "holds") == 0)
			print_holds(reply);
		else if (strcmp(cmd, "check") == 0)
			printf("database integrity: %s\n",
			       str(reply, "integrity"));
		else if (strcmp(cmd, "sync") == 0 &&
			 json_integer_value(
				 json_object_get(reply, "retry_after_s")) > 0)
			printf("the server asked the kiosk to wait (Retry-After): syncing in %lld s\n",
			       (long long)json_integer_value(json_object_get(
				       reply, "retry_after_s")));
		else if (strcmp(cmd, "sync") == 0)
			printf("syncing with the server now\n");
		else if (strcmp(cmd, "backup") == 0)
			printf("database copied to %s (%lld bytes)\n",
			       str(reply, "path"),
			       (long long)json_integer_value(
				       json_object_get(reply, "bytes")));
		else
			print_input_reply(reply);
	}
	json_decref(req);
	json_decref(reply);
	return rc;
}
