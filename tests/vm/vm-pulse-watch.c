// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Watches gpio-sim output lines through their sysfs "value" files while
 * something else drives them, for the VM tests: a shell polling with cat
 * forks a process per sample and cannot time a 300 ms pulse.
 *
 *   vm-pulse-watch TIMEOUT_MS FILE...
 *
 * Prints "watching" once the first samples are taken, then polls every
 * file every 200 us until the first one has risen and fallen again, or
 * until TIMEOUT_MS. Then prints a line per file:
 *
 *   FILE rises=N high_ms=T final=V gap_ms=G
 *
 * G is the longest time between two samples (a busy host may not run the
 * watcher for a while): each edge was seen at most that late, so the
 * line was high for T - G to T + G ms.
 *
 * Exit status: 0 when the first file made a whole pulse, 1 when the time
 * ran out, 2 on a usage or I/O error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FILES_MAX   64
#define POLL_NSEC   200000L
#define USEC_PER_MS 1000LL

struct line {
	const char *path;
	int fd;
	int value;
	unsigned rises;
	long long high_since_us, high_us;
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* 0 or 1 from a sysfs value file kept open (sysfs rereads at offset 0). */
static int read_value(struct line *l)
{
	char c;

	if (pread(l->fd, &c, 1, 0) != 1)
		return -1;
	return c == '1';
}

int main(int argc, char **argv)
{
	struct line lines[FILES_MAX];
	long long timeout_ms, start, now, last, gap_us = 0;
	int n = argc - 2;
	bool done = false;

	if (argc < 3 || n > FILES_MAX) {
		fprintf(stderr, "usage: vm-pulse-watch TIMEOUT_MS FILE...\n");
		return 2;
	}
	timeout_ms = strtoll(argv[1], NULL, 10);
	for (int i = 0; i < n; i++) {
		struct line *l = &lines[i];

		*l = (struct line){ .path = argv[i + 2] };
		l->fd = open(l->path, O_RDONLY | O_CLOEXEC);
		if (l->fd < 0 || (l->value = read_value(l)) < 0) {
			fprintf(stderr, "vm-pulse-watch: %s: %s\n", l->path,
				strerror(errno));
			return 2;
		}
		if (l->value)
			l->high_since_us = now_us();
	}
	printf("watching\n");
	fflush(stdout);

	start = last = now_us();
	do {
		const struct timespec pause = { .tv_nsec = POLL_NSEC };

		nanosleep(&pause, NULL);
		now = now_us();
		if (now - last > gap_us)
			gap_us = now - last;
		last = now;
		for (int i = 0; i < n; i++) {
			struct line *l = &lines[i];
			int v = read_value(l);

			if (v < 0) {
				fprintf(stderr, "vm-pulse-watch: %s: %s\n",
					l->path, strerror(errno));
				return 2;
			}
			if (v && !l->value) {
				l->rises++;
				l->high_since_us = now;
			} else if (!v && l->value) {
				l->high_us += now - l->high_since_us;
				if (i == 0 && l->rises > 0)
					done = true;
			}
			l->value = v;
		}
	} while (!done && now - start < timeout_ms * USEC_PER_MS);

	for (int i = 0; i < n; i++) {
		struct line *l = &lines[i];

		if (l->value)
			l->high_us += now - l->high_since_us;
		printf("%s rises=%u high_ms=%lld final=%d gap_ms=%lld\n",
		       l->path, l->rises, l->high_us / USEC_PER_MS, l->value,
		       (gap_us + USEC_PER_MS - 1) / USEC_PER_MS);
	}
	return done ? 0 : 1;
}
