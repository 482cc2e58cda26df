/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every lock bank backend provides to the generic lock bank code. */
#pragma once

#include "lockbank.h"

struct lockbank_ops {
	const char *name;
	int (*read_event)(struct lockbank *lb, struct lockbank_event *ret);
	int (*set_lock)(struct lockbank *lb, unsigned locker, bool energised);
	int (*get_door)(struct lockbank *lb, unsigned locker, bool *ret_open);
	/* NULL: no backend item sensors */
	int (*get_item)(struct lockbank *lb, unsigned locker,
			bool *ret_present);
	int (*sim_set_door)(struct lockbank *lb, unsigned locker, bool open);
	int (*sim_get_lock)(const struct lockbank *lb, unsigned locker,
			    bool *ret_energised, unsigned *ret_pulses);
	void (*free)(struct lockbank *lb);
};

/* Backends embed this first in their own struct. */
struct lockbank {
	const struct lockbank_ops *ops;
	int fd;
	unsigned n;
};
