// SPDX-License-Identifier: GPL-2.0-or-later
/* lokerhub's commands that change the library's data. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "credential.h"
#include "db.h"
#include "fault.h"
#include "protocol.h"
#include "retention.h"
#include "serve.h"
#include "api.h"

#define SITE_KEY_HEX_MIN 32
#define SITE_KEY_HEX_MAX 128
#define TOKEN_BYTES	 32
#define HOLD_ITEMS_MAX	 16
#define HOLD_TITLE_MAX	 255
#define PATRON_NAME_MAX	 47
#define PATRON_CREDS_MAX 4
/* A patron's holds go to any kiosk: one of sync v1.0 checks no more. */
#define PATRON_PIN_ITERATIONS 200000
#define REFUSE_CODE_MAX	      63
#define COMMAND_REASON_MAX    127
#define COMMAND_BY_MAX	      PROTOCOL_BY_MAX
#define LOCKER_MAX	      128
#define HOLD_WINDOW_DAYS_MAX  365
#define EXPIRES_DAYS_MAX      365
#define KIOSK_ADD_BULK_MAX    100000
#define HOLD_ADD_BULK_MAX     100000
#define HOLD_LINE_MAX	      8192

static int db_failed(sqlite3 *db)
{
	db_rollback(db);
	db_close(db);
	return CLI_EXIT_FAILED;
}

static int done(sqlite3 *db, int err)
{
	if (err == 0)
		err = db_commit(db);
	if (err < 0)
		return db_failed(db);
	db_close(db);
	return CLI_EXIT_OK;
}

/* Fails the command with a message, the transaction undone. */
static int refuse(sqlite3 *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int refuse(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;

	fputs("lokerhub: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return db_failed(db);
}

static bool exists(sqlite3 *db, const char *sql, const char *id)
{
	int64_t n = 0;

	return db_get_int(db, &n, sql, "s", id) == 0 && n > 0;
}

/* ---- init ---- */

static int read_site_key(const char *path, char ret[SITE_KEY_HEX_MAX + 1])
{
	char text[SITE_KEY_HEX_MAX + 64];
	struct stat st;
	size_t n = 0;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "lokerhub: site key %s: %s\n", path,
			strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 0077))
		fprintf(stderr,
			"lokerhub: warning: site key %s: others can read it (mode %04o); "
			"chmod 0600 it, and keep it only where the kiosks' copies come from\n",
			path, (unsigned)(st.st_mode & 07777));
	while (n < sizeof(text) - 1 &&
	       (r = read(fd, text + n, sizeof(text) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	text[n] = '\0';
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' ||
			 text[n - 1] == ' ' || text[n - 1] == '\t'))
		text[--n] = '\0';
	if (n % 2 || n < SITE_KEY_HEX_MIN || n > SITE_KEY_HEX_MAX) {
		fprintf(stderr,
			"lokerhub: site key %s: must hold %d to %d hex digits (an even number)\n",
			path, SITE_KEY_HEX_MIN, SITE_KEY_HEX_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (credential_hex_digit(text[i]) < 0) {
			fprintf(stderr,
				"lokerhub: site key %s: not hex at offset %zu\n",
				path, i);
			return -EINVAL;
		}
		ret[i] = (char)(text[i] >= 'A' && text[i] <= 'F' ?
					text[i] - 'A' + 'a' :
					text[i]);
	}
	ret[n] = '\0';
	explicit_bzero(text, sizeof(text));
	return 0;
}

static int cmd_init(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "site-key-file", required_argument, NULL, 'k' },
		{ 0 },
	};
	char key[SITE_KEY_HEX_MAX + 1], instance[9];
	const char *key_file = NULL;
	uint8_t rnd[4];
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "k:", options,
				NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'k')
			key_file = optarg;
	}
	if (optind != argc)
		return cli_usage_error(argv[0], "unexpected argument: %s",
				       argv[optind]);
	if (!key_file)
		return cli_usage_error(argv[0], "--site-key-file is required");
	if (!db_path)
		return cli_usage_error(argv[0], "-d/--db FILE is required");
	if (read_site_key(key_file, key) < 0)
		return CLI_EXIT_FAILED;
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		fprintf(stderr, "lokerhub: no randomness: %s\n",
			strerror(errno));
		return CLI_EXIT_FAILED;
	}
	snprintf(instance, sizeof(instance), "%02x%02x%02x%02x", rnd[0], rnd[1],
		 rnd[2], rnd[3]);
	if (db_open(db_path, true, &db) < 0)
		return CLI_EXIT_FAILED;
	err = db_begin(db) ?:
			     db_run(db,
				    "INSERT INTO meta (key, value) VALUES"
					   " ('site_key', ?), ('instance', ?),"
					   " ('change_seq', 0)",
				    "ss", key, instance);
	explicit_bzero(key, sizeof(key));
	return done(db, err);
}

int cli_site_key(sqlite3 *db, uint8_t key[64], size_t *ret_len)
{
	sqlite3_stmt *st = db_query(
		db, "SELECT value FROM meta WHERE key = 'site_key'", "");
	const char *hex;
	size_t n;
	int err = -EIO;

	if (!st)
		return -EIO;
	if (sqlite3_step(st) == SQLITE_ROW) {
		hex = (const char *)sqlite3_column_text(st, 0);
		n = hex ? strlen(hex) : 0;
		if (n >= SITE_KEY_HEX_MIN && n <= SITE_KEY_HEX_MAX &&
		    !(n % 2)) {
			for (size_t i = 0; i < n; i += 2)
				key[i / 2] =
					(uint8_t)(credential_hex_digit(hex[i])
							  << 4 |
						  credential_hex_digit(
							  hex[i + 1]));
			*ret_len = n / 2;
			err = 0;
		}
	}
	db_done(st);
	if (err < 0)
		fprintf(stderr, "lokerhub: the database has no site key\n");
	return err;
}

/* HMAC of raw ("card:M1") normalised, or -EINVAL (said). */
static int credential_of(sqlite3 *db, const char *raw,
			 char ret[CREDENTIAL_HMAC_HEX_LEN + 1])
{
	char norm[CREDENTIAL_MAX + 1];
	uint8_t key[64];
	size_t key_len = 0;
	int err;

	if (credential_normalise(raw, norm, sizeof(norm)) < 0) {
		fprintf(stderr, "lokerhub: not a valid credential: %s\n", raw);
		return -EINVAL;
	}
	err = cli_site_key(db, key, &key_len);
	if (err == 0)
		err = credential_hmac(key, key_len, norm, ret);
	explicit_bzero(key, sizeof(key));
	return err;
}

/* ---- kiosks ---- */

/*
 * A fresh token into a temporary file next to path (mode 0600), its
 * SHA-256 into hash. The caller renames tmp to path once the database
 * knows the hash, or unlinks it.
 */
/* A fresh token as 64 hex digits into token, its SHA-256 into hash. */
static int new_token(char token[2 * TOKEN_BYTES + 1],
		     char hash[DB_SHA256_HEX_LEN + 1])
{
	uint8_t rnd[TOKEN_BYTES];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		fprintf(stderr, "lokerhub: no randomness: %s\n",
			strerror(errno));
		return -EIO;
	}
	for (size_t i = 0; i < TOKEN_BYTES; i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof(rnd));
	db_sha256_hex(token, hash);
	return 0;
}

static int make_token(const char *path, char *tmp, size_t tmp_size,
		      char hash[DB_SHA256_HEX_LEN + 1])
{
	char token[2 * TOKEN_BYTES + 2];
	int fd, err = 0;

	if (snprintf(tmp, tmp_size, "%s.XXXXXX", path) >= (int)tmp_size) {
		fprintf(stderr, "lokerhub: %s: name too long\n", path);
		return -ENAMETOOLONG;
	}
	if (new_token(token, hash) < 0)
		return -EIO;
	token[2 * TOKEN_BYTES] = '\n';
	token[2 * TOKEN_BYTES + 1] = '\0';
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		fprintf(stderr, "lokerhub: %s: %s\n", path, strerror(errno));
		explicit_bzero(token, sizeof(token));
		return -errno;
	}
	if (write(fd, token, strlen(token)) != (ssize_t)strlen(token) ||
	    fsync(fd) < 0)
		err = -(errno ?: EIO);
	close(fd);
	explicit_bzero(token, sizeof(token));
	if (err < 0) {
		fprintf(stderr, "lokerhub: %s: %s\n", tmp, strerror(-err));
		unlink(tmp);
	}
	return err;
}

static int place_token(const char *tmp, const char *path)
{
	if (rename(tmp, path) < 0) {
		fprintf(stderr, "lokerhub: %s: %s (the new token is in %s)\n",
			path, strerror(errno), tmp);
		return CLI_EXIT_FAILED;
	}
	return CLI_EXIT_OK;
}

/*
 * The next line of stdin that is not blank, without its line end, and its
 * number: 1, 0 at the end, -EMSGSIZE when it is longer than size - 2
 * bytes.
 */
static int stdin_line(char *line, size_t size, unsigned long *line_no)
{
	size_t len;

	while (fgets(line, (int)size, stdin)) {
		len = strlen(line);
		++*line_no;
		if (len == size - 1 && line[len - 1] != '\n')
			return -EMSGSIZE;
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len > 0)
			return 1;
	}
	return 0;
}

/*
 * kiosk-add --stdin: the kiosk IDs one a line on stdin (blank lines
 * skipped), all added in one transaction or none; "ID TOKEN" lines into
 * tokens_file, mode 0600, written next to it and renamed over it once the
 * database has them.
 */
static int kiosk_add_bulk(const char *command, sqlite3 *db,
			  const char *tokens_file, bool pin, long long window)
{
	char hash[DB_SHA256_HEX_LEN + 1], token[2 * TOKEN_BYTES + 1];
	char tmp[4200], line[DB_ID_MAX + 3];
	unsigned long n = 0, line_no = 0;
	FILE *out = NULL;
	int fd, err = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", tokens_file) >=
	    (int)sizeof(tmp)) {
		db_close(db);
		return cli_usage_error(command, "--tokens-file: name too long");
	}
	fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0 || !(out = fdopen(fd, "w"))) {
		fprintf(stderr, "lokerhub: %s: %s\n", tokens_file,
			strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		db_close(db);
		return CLI_EXIT_FAILED;
	}
	err = db_begin(db);
	while (err == 0 &&
	       (err = stdin_line(line, sizeof(line), &line_no)) > 0) {
		err = 0;
		if (!db_is_id(line)) {
			fprintf(stderr,
				"lokerhub: stdin line %lu: kiosk ID: not 1 to 63 printable ASCII characters without blanks\n",
				line_no);
			err = -EINVAL;
			break;
		}
		if (++n > KIOSK_ADD_BULK_MAX) {
			fprintf(stderr, "lokerhub: at most %d kiosks at once\n",
				KIOSK_ADD_BULK_MAX);
			err = -E2BIG;
			break;
		}
		err = new_token(token, hash) ?:
					       db_run(db,
						      "INSERT INTO kiosks (id, token_sha256, pin_required,"
								       " hold_window_days, created_usec)"
								       " VALUES (?, ?, ?, ?, ?)",
						      "ssiII", line, hash, (int)pin,
						      (int64_t)window, db_now_usec());
		if (err == -EEXIST)
			fprintf(stderr,
				"lokerhub: stdin line %lu: kiosk %s exists already (or is given twice)\n",
				line_no, line);
		else if (err == 0 && fprintf(out, "%s %s\n", line, token) < 0)
			err = -(errno ?: EIO);
	}
	explicit_bzero(token, sizeof(token));
	if (err == -EMSGSIZE)
		fprintf(stderr,
			"lokerhub: stdin line %lu: a kiosk ID is at most %d characters\n",
			line_no, DB_ID_MAX);
	if (err == 0 && ferror(stdin)) {
		fprintf(stderr, "lokerhub: stdin: %s\n", strerror(errno));
		err = -EIO;
	}
	if (err == 0 && (fflush(out) != 0 || fsync(fileno(out)) < 0)) {
		fprintf(stderr, "lokerhub: %s: %s\n", tmp, strerror(errno));
		err = -EIO;
	}
	if (fclose(out) != 0 && err == 0)
		err = -EIO;
	if (err < 0) {
		unlink(tmp);
		fprintf(stderr, "lokerhub: no kiosk added\n");
		return db_failed(db);
	}
	if (done(db, 0) != CLI_EXIT_OK) {
		unlink(tmp);
		return CLI_EXIT_FAILED;
	}
	fprintf(stderr, "lokerhub: %lu kiosks added\n", n);
	return place_token(tmp, tokens_file);
}

static int cmd_kiosk_add(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "token-file", required_argument, NULL, 't' },
		{ "pin-required", no_argument, NULL, 'p' },
		{ "no-pin-required", no_argument, NULL, 'P' },
		{ "hold-window-days", required_argument, NULL, 'w' },
		{ "stdin", no_argument, NULL, 's' },
		{ "tokens-file", required_argument, NULL, 'T' },
		{ 0 },
	};
	const char *token_file = NULL, *tokens_file = NULL, *id;
	bool bulk = false;
	char hash[DB_SHA256_HEX_LEN + 1], tmp[4200];
	long long window = 7;
	/* A copied member card alone opens nothing, unless told otherwise. */
	bool pin = true;
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "t:pPw:sT:",
				options, NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 't')
			token_file = optarg;
		else if (c == 's')
			bulk = true;
		else if (c == 'T')
			tokens_file = optarg;
		else if (c == 'p')
			pin = true;
		else if (c == 'P')
			pin = false;
		else if (c == 'w' &&
			 cli_parse_number(optarg, 1, HOLD_WINDOW_DAYS_MAX,
					  &window) < 0)
			return cli_usage_error(
				argv[0], "--hold-window-days: not 1 to %d",
				HOLD_WINDOW_DAYS_MAX);
	}
	if (bulk || tokens_file) {
		if (!bulk || !tokens_file || token_file || optind != argc)
			return cli_usage_error(
				argv[0],
				"--stdin takes --tokens-file and no kiosk ID or --token-file");
		if (cli_open(argv[0], db_path, &db) < 0)
			return CLI_EXIT_FAILED;
		return kiosk_add_bulk(argv[0], db, tokens_file, pin, window);
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "give one kiosk ID");
	id = argv[optind];
	if (!db_is_id(id))
		return cli_usage_error(
			argv[0],
			"kiosk ID: not 1 to 63 printable ASCII characters without blanks");
	if (!token_file)
		return cli_usage_error(argv[0], "--token-file is required");
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	if (make_token(token_file, tmp, sizeof(tmp), hash) < 0) {
		db_close(db);
		return CLI_EXIT_FAILED;
	}
	err = db_begin(db) ?:
			     db_run(db,
				    "INSERT INTO kiosks (id, token_sha256, pin_required,"
					   " hold_window_days, created_usec)"
					   " VALUES (?, ?, ?, ?, ?)",
				    "ssiII", id, hash, (int)pin, (int64_t)window,
				    db_now_usec());
	if (err == -EEXIST) {
		unlink(tmp);
		return refuse(
			db, "kiosk %s exists already (new token: kiosk-token)",
			id);
	}
	if (done(db, err) != CLI_EXIT_OK) {
		unlink(tmp);
		return CLI_EXIT_FAILED;
	}
	return place_token(tmp, token_file);
}

static int cmd_kiosk_token(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "token-file", required_argument, NULL, 't' },
		{ 0 },
	};
	const char *token_file = NULL, *id;
	char hash[DB_SHA256_HEX_LEN + 1], tmp[4200];
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "t:", options,
				NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 't')
			token_file = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "give one kiosk ID");
	id = argv[optind];
	if (!token_file)
		return cli_usage_error(argv[0], "--token-file is required");
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	if (!exists(db, "SELECT count(*) FROM kiosks WHERE id = ?", id))
		return refuse(db, "no kiosk %s", id);
	if (make_token(token_file, tmp, sizeof(tmp), hash) < 0) {
		db_close(db);
		return CLI_EXIT_FAILED;
	}
	err = db_begin(db) ?:
			     db_run(db,
				    "UPDATE kiosks SET token_sha256 = ? WHERE id = ?",
				    "ss", hash, id);
	if (done(db, err) != CLI_EXIT_OK) {
		unlink(tmp);
		return CLI_EXIT_FAILED;
	}
	return place_token(tmp, token_file);
}

static int cmd_kiosk_set(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "pin-required", no_argument, NULL, 'p' },
		{ "no-pin-required", no_argument, NULL, 'P' },
		{ "hold-window-days", required_argument, NULL, 'w' },
		{ "next-status-s", required_argument, NULL, 'n' },
		{ 0 },
	};
	long long pin = -1, window = -1, next = -1;
	const char *id;
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "pPw:n:", options,
				NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'p' || c == 'P')
			pin = c == 'p';
		else if (c == 'w' &&
			 cli_parse_number(optarg, 1, HOLD_WINDOW_DAYS_MAX,
					  &window) < 0)
			return cli_usage_error(
				argv[0], "--hold-window-days: not 1 to %d",
				HOLD_WINDOW_DAYS_MAX);
		else if (c == 'n' &&
			 cli_parse_number(optarg, 10, 3600, &next) < 0)
			return cli_usage_error(
				argv[0], "--next-status-s: not 10 to 3600");
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "give one kiosk ID");
	id = argv[optind];
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	err = db_begin(db);
	if (err == 0 &&
	    !exists(db, "SELECT count(*) FROM kiosks WHERE id = ?", id))
		return refuse(db, "no kiosk %s", id);
	/* Settings go with every changes reply: nothing else to bump. */
	if (err == 0 && pin >= 0)
		err = db_run(db,
			     "UPDATE kiosks SET pin_required = ? WHERE id = ?",
			     "Is", (int64_t)pin, id);
	if (err == 0 && window >= 0)
		err = db_run(
			db,
			"UPDATE kiosks SET hold_window_days = ? WHERE id = ?",
			"Is", (int64_t)window, id);
	if (err == 0 && next >= 0)
		err = db_run(db,
			     "UPDATE kiosks SET next_status_s = ? WHERE id = ?",
			     "Is", (int64_t)next, id);
	return done(db, err);
}

/* ---- patrons ---- */

/* Gives each active hold of a patron a fresh change number: sent again. */
static int resend_holds(sqlite3 *db, const char *patron_id)
{
	char(*ids)[DB_ID_MAX + 1] = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st;
	int rc, err = 0;

	st = db_query(db,
		      "SELECT id FROM holds WHERE patron_id = ?"
		      " AND state IN ('pending', 'loaded') ORDER BY rowid",
		      "s", patron_id);
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			void *p = reallocarray(ids, cap ? 2 * cap : 16,
					       sizeof(*ids));

			if (!p) {
				err = -ENOMEM;
				break;
			}
			ids = p;
			cap = cap ? 2 * cap : 16;
		}
		snprintf(ids[n++], sizeof(ids[0]), "%s",
			 sqlite3_column_text(st, 0));
	}
	if (err == 0 && rc != SQLITE_DONE)
		err = -EIO;
	db_done(st);
	for (size_t i = 0; err == 0 && i < n; i++) {
		int64_t seq;

		err = db_next_seq(db, &seq) ?:
					      db_run(db,
						     "UPDATE holds SET change_seq = ?,"
								     " updated_usec = ? WHERE id = ?",
						     "IIs", seq, db_now_usec(), ids[i]);
	}
	free(ids);
	return err;
}

static int cmd_patron_add(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "name", required_argument, NULL, 'n' },
		{ "card", required_argument, NULL, 'c' },
		{ "uid", required_argument, NULL, 'u' },
		{ "pin", required_argument, NULL, 'p' },
		{ "refuse", required_argument, NULL, 'r' },
		{ "no-refuse", no_argument, NULL, 'R' },
		{ "reach", required_argument, NULL, 'L' },
		{ 0 },
	};
	char creds[PATRON_CREDS_MAX][CREDENTIAL_HMAC_HEX_LEN + 1];
	const char *reach = NULL;
	char raw[PATRON_CREDS_MAX][CREDENTIAL_MAX + 1];
	const char *name = NULL, *pin = NULL, *id;
	char *refuse_code = NULL, *refuse_text = NULL;
	bool no_refuse = false;
	char pin_hash[PIN_HASH_MAX + 1];
	unsigned n_creds = 0;
	bool is_new;
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "n:c:u:p:r:RL:",
				options, NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'n') {
			name = optarg;
		} else if (c == 'r') {
			/* CODE[=TEXT] */
			refuse_code = optarg;
			refuse_text = strchr(optarg, '=');
			if (refuse_text)
				*refuse_text++ = '\0';
		} else if (c == 'R') {
			no_refuse = true;
		} else if (c == 'L') {
			reach = optarg;
			if (strcmp(reach, "low") != 0 &&
			    strcmp(reach, "any") != 0)
				return cli_usage_error(argv[0],
						       "--reach: low or any");
		} else if (c == 'p') {
			pin = optarg;
		} else if (c != 'c' && c != 'u') {
			continue;
		} else if (n_creds == PATRON_CREDS_MAX) {
			return cli_usage_error(
				argv[0],
				"at most %d credentials (--card, --uid)",
				PATRON_CREDS_MAX);
		} else if (snprintf(raw[n_creds], sizeof(raw[0]), "%s:%s",
				    c == 'c' ? "card" : "uid",
				    optarg) >= (int)sizeof(raw[0]) ||
			   credential_normalise(raw[n_creds], raw[n_creds],
						sizeof(raw[0])) < 0) {
			return cli_usage_error(argv[0], "not a valid %s: %s",
					       c == 'c' ? "member number" :
							  "card UID (hex)",
					       optarg);
		} else {
			n_creds++;
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "give one patron ID");
	id = argv[optind];
	if (!db_is_id(id))
		return cli_usage_error(
			argv[0],
			"patron ID: not 1 to 63 printable ASCII characters without blanks");
	if (name && !protocol_is_text(name, PATRON_NAME_MAX))
		return cli_usage_error(
			argv[0],
			"--name: a first name of at most %d bytes, no control codes",
			PATRON_NAME_MAX);
	if (pin &&
	    credential_pin_hash(pin, PATRON_PIN_ITERATIONS, pin_hash) < 0)
		return cli_usage_error(argv[0], "--pin: not %d to %d digits",
				       PIN_DIGITS_MIN, PIN_DIGITS_MAX);
	if (refuse_code && no_refuse)
		return cli_usage_error(argv[0],
				       "--refuse and --no-refuse together");
	if (refuse_code &&
	    (!refuse_code[0] || strlen(refuse_code) > REFUSE_CODE_MAX ||
	     strspn(refuse_code, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
		     strlen(refuse_code) ||
	     (refuse_text &&
	      !protocol_is_text(refuse_text, PROTOCOL_REASON_MAX))))
		return cli_usage_error(
			argv[0],
			"--refuse: CODE[=TEXT], CODE 1 to %d of a-z 0-9 _, TEXT at most %d bytes",
			REFUSE_CODE_MAX, PROTOCOL_REASON_MAX);
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	for (unsigned i = 0; i < n_creds; i++) {
		if (credential_of(db, raw[i], creds[i]) < 0) {
			db_close(db);
			return CLI_EXIT_FAILED;
		}
	}
	explicit_bzero(raw, sizeof(raw));
	err = db_begin(db);
	if (err < 0)
		return db_failed(db);
	is_new = !exists(db, "SELECT count(*) FROM patrons WHERE id = ?", id);
	if (is_new && n_creds == 0)
		return refuse(db, "a new patron needs --card or --uid");
	if (is_new)
		err = db_run(db,
			     "INSERT INTO patrons (id, name, pin_hash)"
			     " VALUES (?, ?, ?)",
			     "sss", id, name ? name : "",
			     pin ? pin_hash : NULL);
	else if (name)
		err = db_run(db, "UPDATE patrons SET name = ? WHERE id = ?",
			     "ss", name, id);
	if (err == 0 && !is_new && pin)
		err = db_run(db, "UPDATE patrons SET pin_hash = ? WHERE id = ?",
			     "ss", pin_hash, id);
	if (err == 0 && (refuse_code || no_refuse))
		err = db_run(
			db,
			"UPDATE patrons SET refuse_code = ?, refuse_text = ?"
			" WHERE id = ?",
			"sss", refuse_code,
			refuse_code ? (refuse_text ? refuse_text : "") : NULL,
			id);
	if (err == 0 && reach)
		err = db_run(db, "UPDATE patrons SET reach = ? WHERE id = ?",
			     "ss", strcmp(reach, "low") == 0 ? "low" : NULL,
			     id);
	/* Credentials given replace the ones the patron had. */
	if (err == 0 && n_creds)
		err = db_run(
			db,
			"DELETE FROM patron_credentials WHERE patron_id = ?",
			"s", id);
	for (unsigned i = 0; err == 0 && i < n_creds; i++) {
		err = db_run(db,
			     "INSERT INTO patron_credentials (patron_id, hmac)"
			     " VALUES (?, ?)",
			     "ss", id, creds[i]);
		if (err == -EEXIST)
			err = 0; /* the same card given twice */
	}
	if (err == 0 && !is_new)
		err = resend_holds(db, id);
	return done(db, err);
}

/* ---- holds ---- */

static bool is_size(const char *s)
{
	return strcmp(s, "small") == 0 || strcmp(s, "medium") == 0 ||
	       strcmp(s, "large") == 0;
}

struct item_arg {
	char barcode[DB_ID_MAX + 1];
	const char *title;
};

/* BARCODE[=TITLE] */
static bool parse_item(char *arg, struct item_arg *ret)
{
	char *eq = strchr(arg, '=');

	ret->title = "";
	if (eq) {
		*eq = '\0';
		ret->title = eq + 1;
	}
	if (!db_is_id(arg) || !protocol_is_text(ret->title, HOLD_TITLE_MAX))
		return false;
	snprintf(ret->barcode, sizeof(ret->barcode), "%s", arg);
	return true;
}

/* What hold-add adds: the hold itself, and what --stdin shares. */
struct hold_arg {
	const char *id, *kiosk, *patron, *size, *code_hmac, *due;
	int64_t expires_usec;
	struct item_arg items[HOLD_ITEMS_MAX];
	unsigned n_items;
};

/* Adds the hold in the open transaction; 0, or < 0 (said on stderr). */
static int insert_hold(sqlite3 *db, const struct hold_arg *h)
{
	int64_t seq, now = db_now_usec();
	int err;

	if (!exists(db, "SELECT count(*) FROM kiosks WHERE id = ?", h->kiosk)) {
		fprintf(stderr, "lokerhub: no kiosk %s\n", h->kiosk);
		return -EINVAL;
	}
	if (!exists(db, "SELECT count(*) FROM patrons WHERE id = ?",
		    h->patron)) {
		fprintf(stderr,
			"lokerhub: no patron %s (add with patron-add)\n",
			h->patron);
		return -EINVAL;
	}
	if (exists(db, "SELECT count(*) FROM holds WHERE id = ?", h->id)) {
		fprintf(stderr, "lokerhub: hold %s exists already\n", h->id);
		return -EINVAL;
	}
	err = db_next_seq(db, &seq);
	if (err == 0)
		err = db_run(db,
			     "INSERT INTO holds (id, kiosk_id, patron_id, size,"
			     " code_hmac, expires_usec, state, change_seq,"
			     " created_usec, updated_usec)"
			     " VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
			     "sssssIIII", h->id, h->kiosk, h->patron, h->size,
			     h->code_hmac, h->expires_usec, seq, now, now);
	for (unsigned i = 0; err == 0 && i < h->n_items; i++)
		err = db_run(db,
			     "INSERT INTO hold_items (hold_id, pos, barcode,"
			     " title, due) VALUES (?, ?, ?, ?, ?)",
			     "sisss", h->id, (int)i, h->items[i].barcode,
			     h->items[i].title, h->due);
	if (err == -EEXIST)
		fprintf(stderr, "lokerhub: hold %s: an item is given twice\n",
			h->id);
	return err;
}

/*
 * hold-add --stdin: one hold a line, "HOLD_ID KIOSK PATRON BARCODE[=TITLE]
 * ..." separated by tabs, all added in one transaction or none.
 */
static int hold_add_bulk(sqlite3 *db, struct hold_arg *h)
{
	char line[HOLD_LINE_MAX + 2], *f[3 + HOLD_ITEMS_MAX + 1], *save;
	unsigned long n = 0, line_no = 0;
	int err = db_begin(db);

	while (err == 0 &&
	       (err = stdin_line(line, sizeof(line), &line_no)) > 0) {
		unsigned nf = 0;
		char *t;

		err = 0;
		for (t = strtok_r(line, "\t", &save);
		     t && nf < sizeof(f) / sizeof(f[0]);
		     t = strtok_r(NULL, "\t", &save))
			f[nf++] = t;
		h->n_items = 0;
		for (unsigned i = 3; i < nf && i < 3 + HOLD_ITEMS_MAX; i++)
			if (parse_item(f[i], &h->items[h->n_items]))
				h->n_items++;
		if (nf < 4 || t || h->n_items != nf - 3 || !db_is_id(f[0]) ||
		    !db_is_id(f[1]) || !db_is_id(f[2])) {
			fprintf(stderr,
				"lokerhub: stdin line %lu: not HOLD_ID, KIOSK, PATRON and 1 to %d BARCODE[=TITLE], separated by tabs\n",
				line_no, HOLD_ITEMS_MAX);
			err = -EINVAL;
			break;
		}
		if (++n > HOLD_ADD_BULK_MAX) {
			fprintf(stderr, "lokerhub: at most %d holds at once\n",
				HOLD_ADD_BULK_MAX);
			err = -E2BIG;
			break;
		}
		h->id = f[0];
		h->kiosk = f[1];
		h->patron = f[2];
		err = insert_hold(db, h);
		if (err < 0)
			fprintf(stderr, "lokerhub: stdin line %lu: refused\n",
				line_no);
	}
	if (err == -EMSGSIZE)
		fprintf(stderr,
			"lokerhub: stdin line %lu: longer than %d bytes\n",
			line_no, HOLD_LINE_MAX);
	if (err == 0 && ferror(stdin)) {
		fprintf(stderr, "lokerhub: stdin: %s\n", strerror(errno));
		err = -EIO;
	}
	if (err < 0) {
		fprintf(stderr, "lokerhub: no hold added\n");
		return db_failed(db);
	}
	if (done(db, 0) != CLI_EXIT_OK)
		return CLI_EXIT_FAILED;
	fprintf(stderr, "lokerhub: %lu holds added\n", n);
	return CLI_EXIT_OK;
}

static int cmd_hold_add(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "kiosk", required_argument, NULL, 'k' },
		{ "patron", required_argument, NULL, 'p' },
		{ "item", required_argument, NULL, 'i' },
		{ "size", required_argument, NULL, 's' },
		{ "code", required_argument, NULL, 'c' },
		{ "expires", required_argument, NULL, 'e' },
		{ "expires-days", required_argument, NULL, 'E' },
		{ "due", required_argument, NULL, 'D' },
		{ "stdin", no_argument, NULL, 'S' },
		{ 0 },
	};
	const char *kiosk = NULL, *patron = NULL, *size = "small", *code = NULL;
	const char *due = NULL;
	char code_hmac[CREDENTIAL_HMAC_HEX_LEN + 1], text[CREDENTIAL_MAX + 1];
	static struct hold_arg h;
	struct item_arg *items = h.items;
	int64_t expires_usec = 0;
	unsigned n_items = 0;
	bool bulk = false;
	long long days;
	const char *id;
	sqlite3 *db;
	int c, ex;

	while ((c = getopt_long(argc, argv,
				CLI_COMMON_SHORT "k:p:i:s:c:e:E:D:S", options,
				NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		switch (c) {
		case 'k':
			kiosk = optarg;
			break;
		case 'p':
			patron = optarg;
			break;
		case 'i':
			if (n_items == HOLD_ITEMS_MAX)
				return cli_usage_error(argv[0],
						       "at most %d items",
						       HOLD_ITEMS_MAX);
			if (!parse_item(optarg, &items[n_items++]))
				return cli_usage_error(
					argv[0],
					"--item: BARCODE (1 to 63 printable ASCII characters) [=TITLE (at most 255 bytes)]");
			break;
		case 's':
			size = optarg;
			if (!is_size(size))
				return cli_usage_error(
					argv[0],
					"--size: small, medium or large");
			break;
		case 'c':
			code = optarg;
			snprintf(text, sizeof(text), "code:%s", code);
			if (credential_normalise(text, text, sizeof(text)) < 0)
				return cli_usage_error(
					argv[0], "--code: not 6 to 12 digits");
			break;
		case 'e':
			if (protocol_parse_time(optarg, &expires_usec) < 0)
				return cli_usage_error(
					argv[0],
					"--expires: not a time like 2026-11-29T17:00:00Z");
			break;
		case 'E':
			if (cli_parse_number(optarg, 1, EXPIRES_DAYS_MAX,
					     &days) < 0)
				return cli_usage_error(
					argv[0], "--expires-days: not 1 to %d",
					EXPIRES_DAYS_MAX);
			expires_usec =
				db_now_usec() + (int64_t)days * 86400 * 1000000;
			break;
		case 'D':
			due = optarg;
			if (!protocol_is_date(due))
				return cli_usage_error(
					argv[0],
					"--due: not a date like 2026-12-20");
			break;
		case 'S':
			bulk = true;
			break;
		}
	}
	h.size = size;
	h.due = due;
	h.expires_usec = expires_usec;
	h.n_items = n_items;
	if (bulk) {
		if (optind != argc || kiosk || patron || n_items || code)
			return cli_usage_error(
				argv[0],
				"--stdin takes no hold ID, --kiosk, --patron, --item or --code");
		if (cli_open(argv[0], db_path, &db) < 0)
			return CLI_EXIT_FAILED;
		return hold_add_bulk(db, &h);
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "give one hold ID");
	id = argv[optind];
	if (!db_is_id(id))
		return cli_usage_error(
			argv[0],
			"hold ID: not 1 to 63 printable ASCII characters without blanks");
	if (!kiosk || !patron || n_items == 0)
		return cli_usage_error(
			argv[0],
			"--kiosk, --patron and at least one --item are required");
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	if (code && credential_of(db, text, code_hmac) < 0) {
		db_close(db);
		return CLI_EXIT_FAILED;
	}
	h.id = id;
	h.kiosk = kiosk;
	h.patron = patron;
	h.code_hmac = code ? code_hmac : NULL;
	return done(db, db_begin(db) ?: insert_hold(db, &h));
}

struct hold_row {
	char kiosk[DB_ID_MAX + 1];
	char state[16];
};

static int get_hold(sqlite3 *db, const char *id, struct hold_row *ret)
{
	sqlite3_stmt *st = db_query(
		db, "SELECT kiosk_id, state FROM holds WHERE id = ?", "s", id);
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(ret->kiosk, sizeof(ret->kiosk), "%s",
			 sqlite3_column_text(st, 0));
		snprintf(ret->state, sizeof(ret->state), "%s",
			 sqlite3_column_text(st, 1));
	}
	db_done(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* Tells kiosk that a hold it may have is no longer wanted there. */
static int take_away(sqlite3 *db, const char *kiosk, const char *hold_id)
{
	int64_t seq;

	return db_next_seq(db, &seq) ?:
				       db_run(db,
					      "INSERT OR REPLACE INTO hold_removals"
							      " (kiosk_id, hold_id, seq) VALUES (?, ?, ?)",
					      "ssI", kiosk, hold_id, seq);
}

/* expires_in_s 0: never; by: the staff user who asked, or NULL. */
static int queue_command(sqlite3 *db, const char *kiosk, const char *type,
			 int locker, const char *hold_id, const char *reason,
			 int64_t expires_in_s, const char *by, int64_t from_seq,
			 int64_t *ret_n)
{
	int64_t now = db_now_usec();
	int err = db_run(
		db,
		"INSERT INTO commands (kiosk_id, type, locker,"
		" hold_id, reason, created_usec, expires_usec, by_user,"
		" from_seq)"
		" VALUES (?, ?, nullif(?, 0), ?, ?, ?, nullif(?, 0), ?,"
		" nullif(?, 0))",
		"ssissIIsI", kiosk, type, locker, hold_id, reason, now,
		expires_in_s ? now + expires_in_s * 1000000 : 0, by, from_seq);

	if (err == 0)
		*ret_n = sqlite3_last_insert_rowid(db);
	return err;
}

static int cmd_hold_remove(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ 0 },
	};
	struct hold_row h;
	int64_t n = 0;
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT, options, NULL)) !=
	       -1)
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "give one hold ID");
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	err = db_begin(db) ?: get_hold(db, argv[optind], &h);
	if (err == -ENOENT)
		return refuse(db, "no hold %s", argv[optind]);
	if (err == 0 && strcmp(h.state, "pending") != 0 &&
	    strcmp(h.state, "loaded") != 0)
		return refuse(db, "hold %s is %s already", argv[optind],
			      h.state);
	if (err == 0)
		err = db_run(db,
			     "UPDATE holds SET state = 'cancelled',"
			     " updated_usec = ? WHERE id = ?",
			     "Is", db_now_usec(), argv[optind]);
	/* One in a locker stays there until staff take it out. */
	if (err == 0 && strcmp(h.state, "loaded") == 0)
		err = queue_command(db, h.kiosk, "unload_hold", 0, argv[optind],
				    "cancelled", 0, NULL, 0, &n);
	else if (err == 0)
		err = take_away(db, h.kiosk, argv[optind]);
	if (done(db, err) != CLI_EXIT_OK)
		return CLI_EXIT_FAILED;
	if (n)
		printf("c-%lld\n", (long long)n);
	return CLI_EXIT_OK;
}

static int cmd_hold_route(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "kiosk", required_argument, NULL, 'k' },
		{ 0 },
	};
	const char *kiosk = NULL, *id;
	struct hold_row h;
	int64_t seq;
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "k:", options,
				NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'k')
			kiosk = optarg;
	}
	if (optind + 1 != argc)
		return cli_usage_error(argv[0], "give one hold ID");
	if (!kiosk)
		return cli_usage_error(argv[0], "--kiosk is required");
	id = argv[optind];
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	err = db_begin(db) ?: get_hold(db, id, &h);
	if (err == -ENOENT)
		return refuse(db, "no hold %s", id);
	if (err == 0 &&
	    !exists(db, "SELECT count(*) FROM kiosks WHERE id = ?", kiosk))
		return refuse(db, "no kiosk %s", kiosk);
	if (err == 0 && strcmp(h.state, "pending") != 0)
		return refuse(
			db,
			"hold %s is %s: only a pending hold can be routed elsewhere",
			id, h.state);
	if (err == 0 && strcmp(h.kiosk, kiosk) == 0)
		return refuse(db, "hold %s is routed to %s already", id, kiosk);
	if (err == 0)
		err = take_away(db, h.kiosk, id) ?: db_next_seq(db, &seq);
	if (err == 0)
		err = db_run(db,
			     "DELETE FROM hold_removals"
			     " WHERE kiosk_id = ? AND hold_id = ?",
			     "ss", kiosk, id) ?:
			      db_run(db,
				     "UPDATE holds SET kiosk_id = ?, change_seq = ?,"
				     " updated_usec = ? WHERE id = ?",
				     "sIIs", kiosk, seq, db_now_usec(), id);
	return done(db, err);
}

/* ---- staff ---- */

/* Kiosks one staff-add may name. */
#define STAFF_KIOSKS_MAX 64

static int staff_credential(const char *command, const char *card,
			    const char *uid, char ret[CREDENTIAL_MAX + 1])
{
	char text[CREDENTIAL_MAX + 8];

	if (!card == !uid)
		return cli_usage_error(command, "give one of --card or --uid");
	if (snprintf(text, sizeof(text), "%s:%s", card ? "card" : "uid",
		     card ? card : uid) >= (int)sizeof(text) ||
	    credential_normalise(text, ret, CREDENTIAL_MAX + 1) < 0)
		return cli_usage_error(command, "not a valid %s: %s",
				       card ? "member number" : "card UID",
				       card ? card : uid);
	return 0;
}

static int cmd_staff_add(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "card", required_argument, NULL, 'c' },
		{ "uid", required_argument, NULL, 'u' },
		{ "pin", required_argument, NULL, 'p' },
		{ "role", required_argument, NULL, 'r' },
		{ "kiosk", required_argument, NULL, 'k' },
		{ 0 },
	};
	const char *card = NULL, *uid = NULL, *pin = NULL, *role = "staff";
	const char *kiosks[STAFF_KIOSKS_MAX];
	char norm[CREDENTIAL_MAX + 1], hmac[CREDENTIAL_HMAC_HEX_LEN + 1],
		pin_hash[PIN_HASH_MAX + 1];
	unsigned n_kiosks = 0;
	int64_t seq, scoped = 0;
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "c:u:p:r:k:",
				options, NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'c')
			card = optarg;
		else if (c == 'u')
			uid = optarg;
		else if (c == 'p')
			pin = optarg;
		else if (c == 'r')
			role = optarg;
		else if (c == 'k' && n_kiosks == STAFF_KIOSKS_MAX)
			return cli_usage_error(argv[0],
					       "--kiosk: at most %d of them",
					       STAFF_KIOSKS_MAX);
		else if (c == 'k')
			kiosks[n_kiosks++] = optarg;
	}
	if (optind != argc)
		return cli_usage_error(argv[0], "unexpected argument: %s",
				       argv[optind]);
	ex = staff_credential(argv[0], card, uid, norm);
	if (ex)
		return ex;
	if (!pin || credential_pin_hash(pin, 0, pin_hash) < 0)
		return cli_usage_error(argv[0],
				       "--pin of %d to %d digits is required",
				       PIN_DIGITS_MIN, PIN_DIGITS_MAX);
	if (strcmp(role, "staff") != 0 && strcmp(role, "admin") != 0)
		return cli_usage_error(argv[0], "--role: staff or admin");
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	if (credential_of(db, norm, hmac) < 0) {
		db_close(db);
		return CLI_EXIT_FAILED;
	}
	err = db_begin(db) ?: db_next_seq(db, &seq);
	for (unsigned i = 0; err == 0 && i < n_kiosks; i++)
		if (!exists(db, "SELECT count(*) FROM kiosks WHERE id = ?",
			    kiosks[i]))
			return refuse(db, "no kiosk %s", kiosks[i]);
	/* Given kiosks replace the card's; none keep them (or none). */
	if (err == 0 && n_kiosks)
		err = db_run(db,
			     "DELETE FROM staff_kiosks WHERE credential = ?",
			     "s", hmac);
	for (unsigned i = 0; err == 0 && i < n_kiosks; i++)
		err = db_run(db,
			     "INSERT OR IGNORE INTO staff_kiosks"
			     " (credential, kiosk_id) VALUES (?, ?)",
			     "ss", hmac, kiosks[i]);
	if (err == 0)
		err = db_get_int(db, &scoped,
				 "SELECT count(*) FROM staff_kiosks"
				 " WHERE credential = ?",
				 "s", hmac);
	if (err == 0)
		err = db_run(db,
			     "INSERT OR REPLACE INTO staff"
			     " (credential, pin_hash, role, removed, seq)"
			     " VALUES (?, ?, ?, 0, ?)",
			     "sssI", hmac, pin_hash, role, seq);
	if (err == 0 && !scoped)
		fprintf(stderr,
			"lokerhub: warning: %s is sent to every kiosk, with its PIN hash; give --kiosk ID for each kiosk it is used at\n",
			norm);
	return done(db, err);
}

static int cmd_staff_remove(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "card", required_argument, NULL, 'c' },
		{ "uid", required_argument, NULL, 'u' },
		{ 0 },
	};
	const char *card = NULL, *uid = NULL;
	char norm[CREDENTIAL_MAX + 1], hmac[CREDENTIAL_HMAC_HEX_LEN + 1];
	int64_t seq;
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "c:u:", options,
				NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'c')
			card = optarg;
		else if (c == 'u')
			uid = optarg;
	}
	if (optind != argc)
		return cli_usage_error(argv[0], "unexpected argument: %s",
				       argv[optind]);
	ex = staff_credential(argv[0], card, uid, norm);
	if (ex)
		return ex;
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	if (credential_of(db, norm, hmac) < 0) {
		db_close(db);
		return CLI_EXIT_FAILED;
	}
	err = db_begin(db);
	if (err == 0 && !exists(db,
				"SELECT count(*) FROM staff"
				" WHERE credential = ? AND removed = 0",
				hmac))
		return refuse(db, "no staff member has %s", norm);
	if (err == 0)
		err = db_next_seq(db, &seq) ?:
					      db_run(db,
						     "UPDATE staff SET removed = 1, seq = ?"
								     " WHERE credential = ?",
						     "Is", seq, hmac);
	return done(db, err);
}

/*
 * Staff PIN hashes cheaper than iterations made costlier in place, without
 * their PINs (credential_pin_hash_upgrade()), each with a new change
 * number: the kiosks get them at their next pull.
 */
static int cmd_staff_upgrade_pins(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "iterations", required_argument, NULL, 'i' },
		{ 0 },
	};
	unsigned long iterations = 0;
	unsigned upgraded = 0, kept = 0;
	sqlite3_stmt *st;
	sqlite3 *db;
	char *end;
	int c, ex, err, rc = SQLITE_DONE;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "i:", options,
				NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'i') {
			errno = 0;
			iterations = strtoul(optarg, &end, 10);
			if (errno || *end || optarg[0] < '1' ||
			    optarg[0] > '9' || iterations > 2000000)
				return cli_usage_error(
					argv[0], "--iterations: 1 to 2000000");
		}
	}
	if (optind != argc)
		return cli_usage_error(argv[0], "unexpected argument: %s",
				       argv[optind]);
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	err = db_begin(db);
	st = err ? NULL :
		   db_query(db,
			    "SELECT credential, pin_hash FROM staff"
			    " WHERE removed = 0 ORDER BY credential",
			    "");
	if (!st)
		err = -EIO;
	while (err == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cred = (const char *)sqlite3_column_text(st, 0);
		const char *old = (const char *)sqlite3_column_text(st, 1);
		char hash[PIN_HASH_MAX + 1];
		int64_t seq;
		int r;

		r = credential_pin_hash_upgrade(old ? old : "",
						(unsigned)iterations, hash);
		if (r == -EALREADY) {
			kept++;
			continue;
		}
		if (r < 0) {
			fprintf(stderr,
				"lokerhub: staff %s: PIN hash not upgraded: %s\n",
				cred, strerror(-r));
			kept++;
			continue;
		}
		err = db_next_seq(db, &seq) ?:
					      db_run(db,
						     "UPDATE staff SET pin_hash = ?, seq = ?"
								     " WHERE credential = ?",
						     "sIs", hash, seq, cred);
		upgraded += err == 0;
	}
	if (err == 0 && rc != SQLITE_DONE) {
		fprintf(stderr, "lokerhub: reading the staff: %s\n",
			sqlite3_errmsg(db));
		err = -EIO;
	}
	db_done(st);
	if (err == 0)
		printf("%u staff PIN hashes upgraded, %u kept\n", upgraded,
		       kept);
	return done(db, err);
}

/* ---- remote commands ---- */

/* Commands: how long an open_locker stays good, and the longest asked. */
#define COMMAND_OPEN_EXPIRES_S 300
#define COMMAND_EXPIRES_MAX_S  86400

static int cmd_command(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "locker", required_argument, NULL, 'l' },
		{ "hold", required_argument, NULL, 'H' },
		{ "reason", required_argument, NULL, 'r' },
		{ "expires-in", required_argument, NULL, 'e' },
		{ "by", required_argument, NULL, 'b' },
		{ "from-seq", required_argument, NULL, 'f' },
		{ 0 },
	};
	const char *hold = NULL, *reason = NULL, *by = NULL, *kiosk, *type;
	long long locker = 0, expires_in = -1, from_seq = 0;
	int64_t next_seq = 0;
	struct hold_row h;
	bool wants_locker;
	int64_t n = 0;
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "l:H:r:e:b:f:",
				options, NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'l' &&
		    cli_parse_number(optarg, 1, LOCKER_MAX, &locker) < 0)
			return cli_usage_error(argv[0], "--locker: not 1 to %d",
					       LOCKER_MAX);
		if (c == 'H')
			hold = optarg;
		if (c == 'r')
			reason = optarg;
		if (c == 'e' &&
		    cli_parse_number(optarg, 0, COMMAND_EXPIRES_MAX_S,
				     &expires_in) < 0)
			return cli_usage_error(argv[0],
					       "--expires-in: not 0 to %d s",
					       COMMAND_EXPIRES_MAX_S);
		if (c == 'b')
			by = optarg;
		if (c == 'f' &&
		    cli_parse_number(optarg, 1, INT64_MAX, &from_seq) < 0)
			return cli_usage_error(
				argv[0], "--from-seq: not a number 1 or more");
	}
	if (optind + 2 != argc)
		return cli_usage_error(argv[0],
				       "give a kiosk ID and a command");
	if (!by)
		by = getenv("SUDO_USER") ?: getenv("USER");
	if (by && !protocol_is_token(by, COMMAND_BY_MAX))
		return cli_usage_error(
			argv[0],
			"--by: 1 to %d printable ASCII characters, no blanks",
			COMMAND_BY_MAX);
	kiosk = argv[optind];
	type = argv[optind + 1];
	wants_locker = strcmp(type, "open_locker") == 0 ||
		       strcmp(type, "disable_locker") == 0 ||
		       strcmp(type, "enable_locker") == 0;
	if (!wants_locker && strcmp(type, "unload_hold") != 0 &&
	    strcmp(type, "sync_now") != 0 && strcmp(type, "resend_events") != 0)
		return cli_usage_error(
			argv[0],
			"%s: not open_locker, disable_locker, enable_locker, unload_hold, sync_now or resend_events",
			type);
	if (from_seq && strcmp(type, "resend_events") != 0)
		return cli_usage_error(argv[0], "%s takes no --from-seq", type);
	if (wants_locker != (locker != 0))
		return cli_usage_error(argv[0],
				       wants_locker ? "%s needs --locker N" :
						      "%s takes no --locker",
				       type);
	if ((strcmp(type, "unload_hold") == 0) != (hold != NULL))
		return cli_usage_error(argv[0],
				       hold ? "%s takes no --hold" :
					      "%s needs --hold H",
				       type);
	/* A door that opens long after staff asked is a risk: minutes. */
	if (expires_in < 0)
		expires_in = strcmp(type, "open_locker") == 0 ?
				     COMMAND_OPEN_EXPIRES_S :
				     0;
	if (reason && !protocol_is_text(reason, COMMAND_REASON_MAX))
		return cli_usage_error(
			argv[0], "--reason: at most %d bytes, no control codes",
			COMMAND_REASON_MAX);
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	err = db_begin(db);
	if (err == 0 &&
	    !exists(db, "SELECT count(*) FROM kiosks WHERE id = ?", kiosk))
		return refuse(db, "no kiosk %s", kiosk);
	if (err == 0 && hold &&
	    (get_hold(db, hold, &h) < 0 || strcmp(h.kiosk, kiosk) != 0))
		return refuse(db, "no hold %s routed to %s", hold, kiosk);
	/*
	 * After a restore from a backup: everything after the newest event
	 * this database took from the kiosk.
	 */
	if (err == 0 && strcmp(type, "resend_events") == 0 && !from_seq) {
		/* Archived ones count too (event retention). */
		err = db_get_int(db, &next_seq,
				 "SELECT coalesce(max(s), 0) + 1 FROM ("
				 " SELECT max(seq) AS s FROM events"
				 " WHERE kiosk_id = ?1 AND status = 'accepted'"
				 " UNION ALL SELECT max(seq) FROM event_ids"
				 " WHERE kiosk_id = ?1 AND NOT rejected)",
				 "s", kiosk);
		from_seq = next_seq;
	}
	if (err == 0)
		err = queue_command(db, kiosk, type, (int)locker, hold, reason,
				    expires_in, by, from_seq, &n);
	if (done(db, err) != CLI_EXIT_OK)
		return CLI_EXIT_FAILED;
	printf("c-%lld\n", (long long)n);
	return CLI_EXIT_OK;
}

/* ---- faults ---- */

static int cmd_fault(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "count", required_argument, NULL, 'n' },
		{ "retry-after", required_argument, NULL, 'r' },
		{ "delay-ms", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 },
	};
	long long count = 1, retry_after = 0, delay_ms = 0;
	enum fault_kind kind = FAULT_KIND_NONE;
	const char *sub;
	bool json = false;
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "n:r:m:j", options,
				NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'n' &&
		    cli_parse_number(optarg, 0, FAULT_COUNT_MAX, &count) < 0)
			return cli_usage_error(
				argv[0],
				"--count: not 0 to %d (0: until cleared)",
				FAULT_COUNT_MAX);
		if (c == 'r' &&
		    cli_parse_number(optarg, 1, FAULT_RETRY_AFTER_MAX,
				     &retry_after) < 0)
			return cli_usage_error(
				argv[0], "--retry-after: not 1 to %d seconds",
				FAULT_RETRY_AFTER_MAX);
		if (c == 'm' && cli_parse_number(optarg, 1, FAULT_DELAY_MS_MAX,
						 &delay_ms) < 0)
			return cli_usage_error(argv[0],
					       "--delay-ms: not 1 to %d",
					       FAULT_DELAY_MS_MAX);
		if (c == 'j')
			json = true;
	}
	if (optind >= argc)
		return cli_usage_error(argv[0], "add, clear or list?");
	sub = argv[optind];
	if (strcmp(sub, "list") == 0 && optind + 1 == argc)
		return cli_list_faults(argv[0], db_path, json);
	if (strcmp(sub, "clear") == 0 && optind + 1 == argc) {
		if (cli_open(argv[0], db_path, &db) < 0)
			return CLI_EXIT_FAILED;
		err = fault_clear(db);
		db_close(db);
		return err < 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
	}
	if (strcmp(sub, "add") != 0 || optind + 3 != argc)
		return cli_usage_error(
			argv[0],
			"fault add ENDPOINT KIND, fault clear or fault list");
	if (!fault_endpoint_is_valid(argv[optind + 1]))
		return cli_usage_error(
			argv[0],
			"%s: not changes, events, status, items or any",
			argv[optind + 1]);
	if (fault_kind_from_name(argv[optind + 2], &kind) < 0)
		return cli_usage_error(
			argv[0],
			"%s: not 400, 500, 503, 429, delay, drop, drop-after, truncate, garbage, huge or trickle",
			argv[optind + 2]);
	if (kind == FAULT_KIND_DELAY && !delay_ms)
		return cli_usage_error(argv[0], "delay needs --delay-ms MS");
	if (kind == FAULT_KIND_TRICKLE && !delay_ms)
		delay_ms = FAULT_TRICKLE_MS;
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	err = fault_add(db, argv[optind + 1], kind, (unsigned)count,
			(unsigned)retry_after, (unsigned)delay_ms);
	db_close(db);
	if (err == -ENOSPC)
		fprintf(stderr, "lokerhub: %d faults wait already\n",
			FAULT_ACTIVE_MAX);
	return err < 0 ? CLI_EXIT_FAILED : CLI_EXIT_OK;
}

/* ---- serve ---- */

static int cmd_serve(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "client-ca", required_argument, NULL, 'C' },
		{ "base-path", required_argument, NULL, 'b' },
		{ "fleet-listen", required_argument, NULL, 'F' },
		{ "fleet-port-file", required_argument, NULL, 'P' },
		{ "api", required_argument, NULL, 'a' },
		{ "max-connections", required_argument, NULL, 'm' },
		{ "threads", required_argument, NULL, 't' },
		{ "event-retention-days", required_argument, NULL, 'r' },
		{ 0 },
	};
	struct serve_options o = {
		.listen = "127.0.0.1:8443",
		.base_path = API_DEFAULT_BASE,
		.max_connections = SERVE_CONNECTIONS_DEFAULT,
		.threads = serve_threads_default(),
		.event_retention_days = RETENTION_DAYS_DEFAULT,
	};
	long long number;
	size_t n;
	sqlite3 *db;
	int c, ex;

	while ((c = getopt_long(argc, argv,
				CLI_COMMON_SHORT "c:k:l:p:C:b:F:P:a:m:t:r:",
				options, NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		switch (c) {
		case 'c':
			o.cert_file = optarg;
			break;
		case 'k':
			o.key_file = optarg;
			break;
		case 'l':
			o.listen = optarg;
			break;
		case 'p':
			o.port_file = optarg;
			break;
		case 'C':
			o.client_ca_file = optarg;
			break;
		case 'b':
			o.base_path = optarg;
			break;
		case 'F':
			o.fleet_listen = optarg;
			break;
		case 'P':
			o.fleet_port_file = optarg;
			break;
		case 'a':
			if (strcmp(optarg, "1.0") != 0 &&
			    strcmp(optarg, API_SYNC_VERSION) != 0)
				return cli_usage_error(argv[0],
						       "--api: 1.0 or %s",
						       API_SYNC_VERSION);
			o.v1_only = strcmp(optarg, "1.0") == 0;
			break;
		case 'm':
			if (cli_parse_number(optarg, 1, SERVE_CONNECTIONS_MAX,
					     &number) < 0)
				return cli_usage_error(
					argv[0],
					"--max-connections: not 1 to %d",
					SERVE_CONNECTIONS_MAX);
			o.max_connections = (unsigned)number;
			break;
		case 't':
			if (cli_parse_number(optarg, 1, SERVE_THREADS_MAX,
					     &number) < 0)
				return cli_usage_error(argv[0],
						       "--threads: not 1 to %d",
						       SERVE_THREADS_MAX);
			o.threads = (unsigned)number;
			break;
		case 'r':
			if (cli_parse_number(optarg, 0, RETENTION_DAYS_MAX,
					     &number) < 0)
				return cli_usage_error(
					argv[0],
					"--event-retention-days: not 0 (never) to %d",
					RETENTION_DAYS_MAX);
			o.event_retention_days = (unsigned)number;
			break;
		}
	}
	if (optind != argc)
		return cli_usage_error(argv[0], "unexpected argument: %s",
				       argv[optind]);
	if (!o.cert_file || !o.key_file)
		return cli_usage_error(argv[0],
				       "--cert and --key are required");
	/* "" (the root) or /a/b, without a trailing slash. */
	n = strlen(o.base_path);
	if ((n > 0 && o.base_path[0] != '/') ||
	    (n > 0 && o.base_path[n - 1] == '/') || n > 200 ||
	    !protocol_is_text(o.base_path, 200) || strchr(o.base_path, ' '))
		return cli_usage_error(
			argv[0],
			"--base-path: like /locker-sync/v1 (no trailing slash), or \"\"");
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	return serve_run(db, &o);
}

/* ---- event retention ---- */

static int cmd_archive_events(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = {
		CLI_COMMON_OPTIONS,
		{ "older-than-days", required_argument, NULL, 'o' },
		{ 0 },
	};
	long long days = RETENTION_DAYS_DEFAULT;
	uint64_t total = 0;
	int64_t before;
	sqlite3 *db;
	int c, ex, moved;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT "o:", options,
				NULL)) != -1) {
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
		if (c == 'o' &&
		    cli_parse_number(optarg, 0, RETENTION_DAYS_MAX, &days) < 0)
			return cli_usage_error(argv[0],
					       "--older-than-days: not 0 to %d",
					       RETENTION_DAYS_MAX);
	}
	if (optind != argc)
		return cli_usage_error(argv[0], "unexpected argument: %s",
				       argv[optind]);
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	before = db_now_usec() - days * 86400 * 1000000;
	/* Step by step: a server using the database waits one step at most. */
	while ((moved = retention_step(db, before)) > 0)
		total += (unsigned)moved;
	db_close(db);
	if (moved < 0)
		return CLI_EXIT_FAILED;
	printf("%llu\n", (unsigned long long)total);
	return CLI_EXIT_OK;
}

static int cmd_archive_export(const char *db_path, int argc, char **argv)
{
	static const struct option options[] = { CLI_COMMON_OPTIONS, { 0 } };
	sqlite3 *db;
	int c, ex, err;

	while ((c = getopt_long(argc, argv, CLI_COMMON_SHORT, options, NULL)) !=
	       -1)
		if (cli_common_option(argv[0], c, &db_path, &ex))
			return ex;
	if (optind != argc)
		return cli_usage_error(argv[0], "unexpected argument: %s",
				       argv[optind]);
	if (cli_open(argv[0], db_path, &db) < 0)
		return CLI_EXIT_FAILED;
	/* One snapshot: a step of the server's retention cannot tear it. */
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	err = retention_export(db, stdout);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	db_close(db);
	if (err == 0 && fflush(stdout) != 0)
		err = -errno;
	if (err < 0) {
		fprintf(stderr, "lokerhub: archive-export: %s\n",
			strerror(-err));
		return CLI_EXIT_FAILED;
	}
	return CLI_EXIT_OK;
}

const struct cli_command cli_admin_commands[] = {
	{ "init", "--site-key-file FILE",
	  "create the database with the library's site key", cmd_init },
	{ "kiosk-add",
	  "(ID --token-file FILE | --stdin --tokens-file FILE) [--pin-required | --no-pin-required] [--hold-window-days N]",
	  "register a kiosk and write its new token to FILE (--stdin: the IDs on stdin, \"ID TOKEN\" lines to FILE)",
	  cmd_kiosk_add },
	{ "kiosk-token", "ID --token-file FILE",
	  "issue a kiosk a new token (the old one stops working)",
	  cmd_kiosk_token },
	{ "kiosk-set",
	  "ID [--pin-required | --no-pin-required] [--hold-window-days N] [--next-status-s S]",
	  "change a kiosk's settings", cmd_kiosk_set },
	{ "patron-add",
	  "ID [--name FIRSTNAME] [--card MEMBER_NO]... [--uid HEX]... [--pin DIGITS]"
	  " [--refuse CODE[=TEXT] | --no-refuse] [--reach low|any]",
	  "add a patron, or change one", cmd_patron_add },
	{ "hold-add",
	  "(HOLD_ID --kiosk K --patron P --item BARCODE[=TITLE]... [--code DIGITS] | --stdin) [--size small|medium|large] [--expires RFC3339 | --expires-days N] [--due DATE]",
	  "route a new hold to a kiosk (--stdin: one a line, HOLD_ID KIOSK PATRON BARCODE[=TITLE]... separated by tabs)",
	  cmd_hold_add },
	{ "hold-remove", "HOLD_ID", "cancel a hold", cmd_hold_remove },
	{ "hold-route", "HOLD_ID --kiosk K",
	  "move a pending hold to another kiosk", cmd_hold_route },
	{ "staff-add",
	  "(--card NO | --uid HEX) --pin DIGITS [--role staff|admin] [--kiosk ID]...",
	  "add a staff card for these kiosks (none: every kiosk), or change its PIN, role or kiosks",
	  cmd_staff_add },
	{ "staff-upgrade-pins", "[--iterations N]",
	  "make staff PIN hashes cheaper than N (600000) costlier, without the PINs",
	  cmd_staff_upgrade_pins },
	{ "staff-remove", "(--card NO | --uid HEX)", "remove a staff card",
	  cmd_staff_remove },
	{ "command",
	  "KIOSK open_locker|disable_locker|enable_locker --locker N | KIOSK unload_hold --hold H | KIOSK sync_now | KIOSK resend_events [--from-seq N]  [--reason TEXT] [--by USER]",
	  "queue a remote command; prints its id", cmd_command },
	{ "fault",
	  "add ENDPOINT KIND [--count N] [--retry-after S] [--delay-ms MS] | clear | list [--json]",
	  "misbehave on purpose, for tests", cmd_fault },
	{ "serve",
	  "--cert PEM --key PEM [--listen ADDR:PORT] [--port-file FILE] [--client-ca PEM] [--base-path PATH] [--fleet-listen ADDR:PORT] [--fleet-port-file FILE] [--api 1.0|1.1] [--max-connections N] [--threads N] [--event-retention-days N]",
	  "serve the Locker Sync API over HTTPS", cmd_serve },
	{ "archive-events", "[--older-than-days N]",
	  "move events older than N days (180) to the compressed archive",
	  cmd_archive_events },
	{ "archive-export", "",
	  "print every archived event as a JSON line, oldest first",
	  cmd_archive_export },
	{ 0 },
};
