/* SPDX-License-Identifier: GPL-2.0-or-later */
/* lokerhub's command line: the commands, and what they share. */
#pragma once

#include <getopt.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

enum cli_exit {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAILED = 1, /* said why on stderr */
	CLI_EXIT_USAGE = 2,
};

/* Every command's options include these: -d/--db FILE and -h/--help. */
#define CLI_COMMON_OPTIONS                      \
	{ "db", required_argument, NULL, 'd' }, \
	{                                       \
		"help", no_argument, NULL, 'h'  \
	}
#define CLI_COMMON_SHORT "d:h"

/* A command: argv[0] is its name; db_path as -d gave it before it. */
struct cli_command {
	const char *name;
	const char *usage; /* "ID --token-file FILE ...", for --help */
	const char *summary;
	int (*run)(const char *db_path, int argc, char **argv);
};

extern const struct cli_command cli_admin_commands[];
extern const struct cli_command cli_list_commands[];

/* Prints "lokerhub: msg" and the hint to --help; returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *command, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints the usage of the command named; CLI_EXIT_OK. */
int cli_help(const char *command);

/*
 * Handles the options every command has inside its getopt loop: -d sets
 * *db_path (0: go on, the loop must not take 'd' for its own); -h prints
 * the help and '?' says the usage is wrong: 1, and *ret_exit is the
 * command's exit status.
 */
int cli_common_option(const char *command, int c, const char **db_path,
		      int *ret_exit);

/* Opens the database named by -d, or says that -d is missing. */
int cli_open(const char *command, const char *db_path, sqlite3 **ret);

/* A whole decimal number in [min, max], or -EINVAL. */
int cli_parse_number(const char *s, long long min, long long max,
		     long long *ret);

/* fault list [--json] */
int cli_list_faults(const char *command, const char *db_path, bool json);

/* The site key from the database; 0 or -EIO (said on stderr). */
int cli_site_key(sqlite3 *db, uint8_t key[64], size_t *ret_len);
