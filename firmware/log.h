/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging to stderr, with journald priority prefixes under systemd. */
#pragma once

#include <syslog.h>

/* Messages above this syslog level (LOG_ERR..LOG_DEBUG) are dropped. */
void log_set_level(int level);
int log_get_level(void);
/* 0 and sets ret, or -EINVAL: "err", "warning", "notice", "info", "debug". */
int log_level_from_string(const char *s, int *ret);

void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	 log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	 log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	 log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	 log_msg(LOG_DEBUG, __VA_ARGS__)
