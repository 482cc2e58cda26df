// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * lokerctl wipe: before a kiosk leaves service, with lokerd stopped, its
 * database (with its -wal, -shm, backups and recovered copies) and its
 * secrets (site key, sync token, TLS client key and certificate) are
 * overwritten with zeros and removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "lokerctl.h"

#define WIPE_FILES_MAX	 256 /* database family and secrets */
#define WIPE_CHUNK_BYTES (64 * 1024)

/* The fallbacks when the configuration cannot be read (a half-wiped kiosk). */
#define DEFAULT_DATABASE "/var/lib/lokerbuku/lokerd.db"
#define DEFAULT_ETC	 "/etc/lokerbuku"

struct wipe_list {
	char *paths[WIPE_FILES_MAX];
	unsigned n;
};

static int add(struct wipe_list *l, const char *path)
{
	if (!path || !path[0])
		return 0;
	for (unsigned i = 0; i < l->n; i++)
		if (strcmp(l->paths[i], path) == 0)
			return 0;
	if (l->n == WIPE_FILES_MAX)
		return -E2BIG;
	l->paths[l->n] = strdup(path);
	if (!l->paths[l->n])
		return -ENOMEM;
	l->n++;
	return 0;
}

/*
 * The database and every file SQLite, `lokerctl backup` and `lokerctl
 * recover` make beside it: NAME, NAME-wal, NAME-shm, NAME-journal,
 * NAME.backup-*, NAME.corrupt-* and their -wal and -shm.
 */
static int add_database(struct wipe_list *l, const char *db)
{
	char *copy = strdup(db), *copy2 = strdup(db), *dir, *base;
	char path[PATH_MAX];
	struct dirent *de;
	size_t len;
	DIR *d;
	int err = 0;

	if (!copy || !copy2) {
		free(copy);
		free(copy2);
		return -ENOMEM;
	}
	dir = dirname(copy);
	base = basename(copy2);
	len = strlen(base);
	d = opendir(dir);
	if (!d) {
		err = errno == ENOENT ? 0 : -errno;
		if (err < 0)
			fprintf(stderr, "lokerctl: %s: %s\n", dir,
				strerror(errno));
		goto out;
	}
	while (err == 0 && (de = readdir(d))) {
		const char *rest = de->d_name + len;

		if (strncmp(de->d_name, base, len) != 0)
			continue;
		if (*rest && strcmp(rest, "-wal") != 0 &&
		    strcmp(rest, "-shm") != 0 &&
		    strcmp(rest, "-journal") != 0 &&
		    strncmp(rest, ".backup-", 8) != 0 &&
		    strncmp(rest, ".corrupt-", 9) != 0 &&
		    /* recover's copies, whole databases, and their WALs */
		    strncmp(rest, ".recovered", 10) != 0 &&
		    strncmp(rest, ".recover-tmp", 12) != 0)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
				     de->d_name) >= sizeof(path))
			continue;
		err = add(l, path);
	}
	closedir(d);
out:
	free(copy);
	free(copy2);
	return err;
}

/*
 * Overwrites a regular file with zeros to its end, syncs it and removes
 * it; a symbolic link is removed, not followed. The bytes written, or
 * -errno.
 */
static int64_t wipe_file(const char *path)
{
	static const char zeros[WIPE_CHUNK_BYTES];
	int64_t done = 0;
	struct stat st;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0 && errno == ELOOP)
		return unlink(path) < 0 ? -errno : 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	while (done < st.st_size) {
		size_t n = (size_t)(st.st_size - done) < sizeof(zeros) ?
				   (size_t)(st.st_size - done) :
				   sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, done);

		if (w <= 0) {
			int e = w < 0 ? errno : EIO;

			close(fd);
			return -e;
		}
		done += w;
	}
	if (fsync(fd) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	if (unlink(path) < 0)
		return -errno;
	return done;
}

static void sync_dir_of(const char *path)
{
	char *copy = strdup(path);
	int fd;

	if (!copy)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(copy);
}

int wipe_run(const struct wipe_options *opt)
{
	const char *config_path =
		opt->config ? opt->config : CONFIG_DEFAULT_PATH;
	struct config *config = calloc(1, sizeof(*config));
	struct wipe_list l = { 0 };
	char error[CONFIG_ERROR_MAX];
	const char *socket = opt->socket;
	unsigned wiped = 0, failed = 0;
	bool loaded;
	int err, rc = 1;

	if (!config) {
		fprintf(stderr, "lokerctl: out of memory\n");
		return 1;
	}
	/*
	 * The configuration names the files. A kiosk that cannot load it
	 * (half wiped, a secret missing) still has the packaged places.
	 */
	err = config_load(config_path, config, error);
	loaded = err == 0;
	if (loaded) {
		err = add_database(&l, config->database);
		if (err == 0)
			err = add(&l, config->site_key_file);
		if (err == 0)
			err = add(&l, config->sync.token_file);
		if (err == 0)
			err = add(&l, config->sync.client_key);
		if (err == 0)
			err = add(&l, config->sync.client_cert);
		if (!socket)
			socket = config->control_socket;
	} else if (strcmp(config_path, CONFIG_DEFAULT_PATH) != 0) {
		fprintf(stderr,
			"lokerctl: %s\nlokerctl: not guessing what %s names: "
			"nothing wiped\n",
			error, config_path);
		goto out;
	} else {
		fprintf(stderr,
			"lokerctl: %s\nlokerctl: wiping the packaged places "
			"(%s, %s) instead\n",
			error, DEFAULT_DATABASE, DEFAULT_ETC);
		err = add_database(&l, DEFAULT_DATABASE);
		if (err == 0)
			err = add(&l, DEFAULT_ETC "/site.key");
		if (err == 0)
			err = add(&l, DEFAULT_ETC "/sync.token");
		if (err == 0)
			err = add(&l, DEFAULT_ETC "/kiosk.key");
		if (err == 0)
			err = add(&l, DEFAULT_ETC "/kiosk.pem");
		if (err == 0)
			err = add(&l, DEFAULT_ETC "/kiosk.csr");
		if (!socket)
			socket = "/run/lokerbuku/control.sock";
	}
	/* The certificate request lokerbuku-provision leaves beside the key. */
	if (err == 0 && loaded && config->sync.client_key[0]) {
		char csr[PATH_MAX], *copy = strdup(config->sync.client_key);

		if (!copy)
			err = -ENOMEM;
		else if ((size_t)snprintf(csr, sizeof(csr), "%s/kiosk.csr",
					  dirname(copy)) < sizeof(csr))
			err = add(&l, csr);
		free(copy);
	}
	if (err < 0) {
		fprintf(stderr, "lokerctl: cannot list what to wipe: %s\n",
			strerror(-err));
		goto out;
	}
	if (lokerctl_refuse_if_in_use(socket, l.paths, l.n,
				      "stop it first (systemctl disable --now "
				      "lokerd); nothing wiped"))
		goto out;
	if (!opt->yes) {
		printf("lokerctl wipe would overwrite with zeros and remove:\n");
		for (unsigned i = 0; i < l.n; i++)
			if (access(l.paths[i], F_OK) == 0)
				printf("  %s\n", l.paths[i]);
		printf("Events the server has not received are lost with the "
		       "database. Run 'lokerctl wipe --yes' to wipe.\n");
		goto out;
	}
	for (unsigned i = 0; i < l.n; i++) {
		int64_t r;

		if (access(l.paths[i], F_OK) < 0 && errno == ENOENT)
			continue;
		r = wipe_file(l.paths[i]);
		if (r < 0) {
			fprintf(stderr, "lokerctl: %s: not wiped: %s\n",
				l.paths[i], strerror((int)-r));
			failed++;
			continue;
		}
		sync_dir_of(l.paths[i]);
		printf("wiped %s (%lld bytes overwritten)\n", l.paths[i],
		       (long long)r);
		wiped++;
	}
	if (failed) {
		fprintf(stderr, "lokerctl: %u files wiped, %u not\n", wiped,
			failed);
		goto out;
	}
	printf("kiosk wiped: %u files; lokerd will not start until the kiosk "
	       "is provisioned again (lokerbuku-provision)\n",
	       wiped);
	rc = 0;
out:
	for (unsigned i = 0; i < l.n; i++)
		free(l.paths[i]);
	explicit_bzero(config, sizeof(*config));
	free(config);
	return rc;
}
