// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A fault for tests, loaded with LD_PRELOAD: fsync() and fdatasync() of
 * the file HOLD_SYNC_FILE are held until the test lets them go. The first
 * such call creates HOLD_SYNC_DIR/held and waits (at most 120 s) until
 * HOLD_SYNC_DIR/go exists; then it, and every later one, syncs at once.
 * With HOLD_SYNC_ARMED set, syncs pass until HOLD_SYNC_DIR/armed exists
 * (SQLite syncs a new WAL's header once, whatever the synchronous level).
 * No clock is involved: the test orders what happens by these files.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int held(int fd)
{
	const char *file = getenv("HOLD_SYNC_FILE");
	const char *dir = getenv("HOLD_SYNC_DIR");
	char marker[PATH_MAX], go[PATH_MAX];
	struct stat a, b;
	int m;

	if (!file || !dir || fstat(fd, &a) < 0 || stat(file, &b) < 0 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return 0;
	snprintf(go, sizeof(go), "%s/go", dir);
	if (access(go, F_OK) == 0)
		return 0;
	snprintf(marker, sizeof(marker), "%s/armed", dir);
	if (getenv("HOLD_SYNC_ARMED") && access(marker, F_OK) != 0)
		return 0;
	snprintf(marker, sizeof(marker), "%s/held", dir);
	m = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (m >= 0)
		close(m);
	for (int i = 0; i < 12000 && access(go, F_OK) != 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	return 0;
}

int fsync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");

	held(fd);
	return real(fd);
}

int fdatasync(int fd)
{
	int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");

	held(fd);
	return real(fd);
}
