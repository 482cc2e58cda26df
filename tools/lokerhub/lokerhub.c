// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerhub: the reference library server of Locker Sync API v1, and its admin. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "cli.h"
#include "db.h"

static const struct cli_command *find(const char *name)
{
	const struct cli_command *tables[] = { cli_admin_commands,
					       cli_list_commands };

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct cli_command *c = tables[t]; c->name; c++)
			if (strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

static void usage(FILE *f)
{
	const struct cli_command *tables[] = { cli_admin_commands,
					       cli_list_commands };

	fputs("Usage: lokerhub -d DB COMMAND [ARGS]\n"
	      "\n"
	      "The reference library server of Locker Sync API v1: serves the\n"
	      "kiosks over HTTPS and keeps holds, patrons, staff, events and\n"
	      "kiosk status in one SQLite file, which these commands manage.\n"
	      "\n"
	      "Commands:\n",
	      f);
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct cli_command *c = tables[t]; c->name; c++)
			fprintf(f, "  %-13s %s\n", c->name, c->summary);
	fputs("\n"
	      "'lokerhub COMMAND --help' tells a command's arguments; the\n"
	      "admin guide is docs/lokerhub.md.\n"
	      "Exit status: 0 done, 1 failed (said why), 2 usage error.\n",
	      f);
}

int cli_usage_error(const char *command, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lokerhub: %s%s", command ? command : "",
		command ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'lokerhub %s%s--help'.\n",
		command ? command : "", command ? " " : "");
	return CLI_EXIT_USAGE;
}

int cli_help(const char *command)
{
	const struct cli_command *c = find(command);

	if (!c) {
		usage(stdout);
		return CLI_EXIT_OK;
	}
	printf("Usage: lokerhub -d DB %s %s\n\n%c%s.\n", c->name, c->usage,
	       c->summary[0] - 'a' + 'A', c->summary + 1);
	printf("More, with examples, in docs/lokerhub.md.\n");
	return CLI_EXIT_OK;
}

int cli_common_option(const char *command, int c, const char **db_path,
		      int *ret_exit)
{
	switch (c) {
	case 'd':
		*db_path = optarg;
		return 0;
	case 'h':
		*ret_exit = cli_help(command);
		return 1;
	case '?':
		*ret_exit = cli_usage_error(command, "bad option");
		return 1;
	}
	return 0;
}

int cli_open(const char *command, const char *db_path, sqlite3 **ret)
{
	if (!db_path) {
		cli_usage_error(command, "-d/--db FILE is required");
		return -EINVAL;
	}
	return db_open(db_path, false, ret);
}

int cli_parse_number(const char *s, long long min, long long max,
		     long long *ret)
{
	long long v;
	char *end;

	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const struct cli_command *cmd;
	const char *db_path = NULL;
	int c;

	/*
	 * The database, its -wal and -shm, and the token files hold the
	 * site key and secrets: nothing lokerhub makes is for others. Nor
	 * does it dump core with them in memory, or let another process of
	 * its user read its memory (ptrace, /proc/PID/mem).
	 */
	umask(0077);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		fprintf(stderr, "lokerhub: cannot make myself undumpable: %s\n",
			strerror(errno));
		return CLI_EXIT_FAILED;
	}

	/*
	 * SQLite keeps no count of its memory: the count takes a global lock
	 * around every allocation, and Debian's SQLite (built without
	 * lookaside memory) allocates for nearly every value it reads.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

	while ((c = getopt_long(argc, argv, "+d:hV", options, NULL)) != -1) {
		switch (c) {
		case 'd':
			db_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_EXIT_OK;
		case 'V':
			printf("lokerhub %s\n", LOKERBUKU_VERSION);
			return CLI_EXIT_OK;
		default:
			usage(stderr);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	cmd = find(argv[optind]);
	if (!cmd)
		return cli_usage_error(NULL, "no command %s", argv[optind]);
	argc -= optind;
	argv += optind;
	optind = 0; /* a fresh getopt for the command's own options */
	return cmd->run(db_path, argc, argv);
}
