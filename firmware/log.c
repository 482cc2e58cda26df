// SPDX-License-Identifier: GPL-2.0-or-later
/* Logging to stderr, or to the journal with structured fields. */
/* Our own CODE_FILE= and the like: the caller's, not this file's. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static int max_level = LOG_INFO;
static int to_journal = -1; /* unknown until the first message */
static char kiosk_id[64];

static const char *const level_names[] = {
	[LOG_EMERG] = "emerg",	   [LOG_ALERT] = "alert",
	[LOG_CRIT] = "crit",	   [LOG_ERR] = "err",
	[LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",	   [LOG_DEBUG] = "debug",
};

void log_set_level(int level)
{
	max_level = level;
}

int log_get_level(void)
{
	return max_level;
}

void log_set_kiosk_id(const char *id)
{
	snprintf(kiosk_id, sizeof(kiosk_id), "%s", id);
}

int log_level_from_string(const char *s, int *ret)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*ret = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* systemd sets JOURNAL_STREAM to the device:inode of the journal stream. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

/* One field of a native journal message, formatted into buf. */
#define FIELD(iov, n, buf, ...)                                    \
	do {                                                       \
		snprintf(buf, sizeof(buf), __VA_ARGS__);           \
		(iov)[(n)++] = (struct iovec){ buf, strlen(buf) }; \
	} while (0)

/*
 * The message and its fields, over journald's native protocol: 0, or
 * -errno when the journal cannot take it (the caller says it on stderr).
 */
static int send_to_journal(int level, const struct log_fields *f,
			   const char *file, int line, const char *func,
			   const char *msg)
{
	char message[1100], priority[16], code_file[256], code_line[32],
		code_func[128], kiosk[96], locker[32], event[64], hold[128];
	struct iovec iov[10];
	int n = 0;

	FIELD(iov, n, message, "MESSAGE=%s", msg);
	FIELD(iov, n, priority, "PRIORITY=%d", level);
	iov[n++] = (struct iovec){ "SYSLOG_IDENTIFIER=lokerd", 24 };
	if (file) {
		FIELD(iov, n, code_file, "CODE_FILE=%s", file);
		FIELD(iov, n, code_line, "CODE_LINE=%d", line);
		FIELD(iov, n, code_func, "CODE_FUNC=%s", func);
	}
	if (kiosk_id[0])
		FIELD(iov, n, kiosk, "LOKERBUKU_KIOSK=%s", kiosk_id);
	if (f && f->locker)
		FIELD(iov, n, locker, "LOKERBUKU_LOCKER=%u", f->locker);
	if (f && f->event && f->event[0])
		FIELD(iov, n, event, "LOKERBUKU_EVENT=%s", f->event);
	if (f && f->hold && f->hold[0])
		FIELD(iov, n, hold, "LOKERBUKU_HOLD=%s", f->hold);
	return sd_journal_sendv(iov, n);
}

__attribute__((format(printf, 6, 0))) static void
log_va(int level, const struct log_fields *f, const char *file, int line,
       const char *func, const char *fmt, va_list ap)
{
	int saved_errno = errno;
	char buf[1024];

	if (level > max_level)
		return;
	if (to_journal < 0)
		to_journal = stderr_is_journal();

	vsnprintf(buf, sizeof(buf), fmt, ap);

	if (to_journal) {
		/* A journal that cannot take it still gets the stream. */
		if (send_to_journal(level, f, file, line, func, buf) < 0)
			fprintf(stderr, "<%d>%s\n", level, buf);
	} else {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s: %s\n", tm.tm_hour,
			tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
			level_names[level], buf);
	}
	errno = saved_errno;
}

void log_full(int level, const struct log_fields *f, const char *file, int line,
	      const char *func, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(level, f, file, line, func, fmt, ap);
	va_end(ap);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_va(level, NULL, NULL, 0, NULL, fmt, ap);
	va_end(ap);
}
