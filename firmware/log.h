/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging to stderr; under systemd, to the journal with structured fields
 * (docs/monitoring.md), or with priority prefixes when it cannot.
 */
#pragma once

#include <syslog.h>

/* Messages above this syslog level (LOG_ERR..LOG_DEBUG) are dropped. */
void log_set_level(int level);
int log_get_level(void);
/* 0 and sets ret, or -EINVAL: "err", "warning", "notice", "info", "debug". */
int log_level_from_string(const char *s, int *ret);
/* The kiosk's id, for LOKERBUKU_KIOSK= in the journal; copied. */
void log_set_kiosk_id(const char *id);

/*
 * What a message concerns, as journal fields: LOKERBUKU_LOCKER= (0: none),
 * LOKERBUKU_EVENT= (an outbox event's UUID), LOKERBUKU_HOLD= (NULL or "":
 * none). Never a credential: no card id, member number or pickup code.
 */
struct log_fields {
	unsigned locker;
	const char *event;
	const char *hold;
};

/* f may be NULL; file, line and func say where the message comes from. */
void log_full(int level, const struct log_fields *f, const char *file, int line,
	      const char *func, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_at(level, fields, ...) \
	log_full(level, fields, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_err(...)	 log_at(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) log_at(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...)	 log_at(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...)	 log_at(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...)	 log_at(LOG_DEBUG, NULL, __VA_ARGS__)
/* A message about one locker: journalctl LOKERBUKU_LOCKER=7 finds it. */
#define log_locker(level, n, ...) \
	log_at(level, (&(struct log_fields){ .locker = (n) }), __VA_ARGS__)
