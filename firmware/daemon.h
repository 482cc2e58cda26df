/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lokerd's wiring: the core fed from the reader, the lock bank, timers and
 * the control socket, its actions carried out on the store and the locks.
 */
#pragma once

#include <systemd/sd-event.h>

#include "config.h"

/*
 * Opens the store, the devices and the control socket and starts the core.
 * Logs what failed and returns NULL with errno set. The caller frees it
 * with daemon_free(), which leaves every lock de-energised.
 */
struct daemon *daemon_new(const struct config *config, sd_event *event);
void daemon_free(struct daemon *d);
/*
 * Runs the loop until sd_event_exit(), as sd_event_loop() does, timing
 * every callback for the control socket's loop-stats. Returns the exit
 * code, or -errno.
 */
int daemon_run(struct daemon *d);
