/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every reader backend provides to the generic reader code. */
#pragma once

#include "reader.h"

struct reader_ops {
	const char *name;
	int (*read_event)(struct reader *r, struct reader_event *ret);
	bool (*is_ok)(const struct reader *r);
	int (*sim_present)(struct reader *r, const char *credential);
	int (*sim_remove)(struct reader *r);
	void (*free)(struct reader *r);
};

/* Backends embed this first in their own struct. */
struct reader {
	const struct reader_ops *ops;
	int fd;
};
