/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIN checks off the event loop: one thread that runs the core's
 * kiosk_pin_check_verify() (PBKDF2, slow on purpose) and hands each answer
 * to the loop through an eventfd. One check runs at a time and at most one
 * waits: a newer check takes the waiting one's place (its session moved on,
 * so the core would ignore its answer anyway).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "kiosk.h"

struct pincheck;

/* Returns NULL with errno set. The caller frees it with pincheck_free(). */
struct pincheck *pincheck_new(void);
/* Waits for the check under way (at most one PBKDF2 run), then stops. */
void pincheck_free(struct pincheck *p);
/* Readable while an answer waits to be taken. Owned by p. */
int pincheck_get_fd(const struct pincheck *p);
/* Copies c for the thread: 0, -EINVAL. */
int pincheck_submit(struct pincheck *p, const struct kiosk_pin_check *c);
/*
 * The oldest answer: 0 and its check's id and the hashes matched (as
 * kiosk_pin_check_verify()), -EAGAIN for none.
 */
int pincheck_take(struct pincheck *p, uint64_t *ret_id, unsigned *ret_matched);
