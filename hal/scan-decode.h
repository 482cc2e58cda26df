/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Turns the key presses of a keyboard-wedge barcode scanner back into the
 * text it typed. No I/O: the caller feeds key events and the time.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest scan kept; longer ones are dropped whole. */
#define SCAN_TEXT_MAX 64
/*
 * A scanner types a whole code in tens of milliseconds. A longer pause
 * between two keys of one scan means a person at a keyboard, not a scan.
 */
#define SCAN_GAP_USEC 300000

struct scan_decoder {
	char text[SCAN_TEXT_MAX + 1];
	size_t len;
	/* 0, or the -errno the scan under way ends with: it is dropped. */
	int discard;
	uint64_t last_usec; /* the scan's last key press */
	unsigned mods;	    /* modifier keys held, a bit each */
	bool caps_lock;
};

/* No scan under way, no key held, Caps Lock off. */
void scan_decoder_init(struct scan_decoder *d);

/*
 * Feeds one EV_KEY event: code KEY_*, value 1 press, 2 autorepeat (a
 * press again), 0 release, at now_usec on a monotonic clock. Returns 1
 * with the scan's text in ret (size n, NUL-terminated; SCAN_TEXT_MAX + 1
 * holds any scan), 0 when no scan ended, or -errno for a scan dropped:
 * -EMSGSIZE longer than SCAN_TEXT_MAX, -ETIMEDOUT abandoned after a pause
 * (the key then starts a new scan), -EIO events were lost, -ENOBUFS n too
 * small. ret is left alone unless 1 is returned.
 */
int scan_decoder_key(struct scan_decoder *d, unsigned code, int value,
		     uint64_t now_usec, char *ret, size_t n);

/*
 * Key events were lost (the kernel's SYN_DROPPED) at now_usec: the scan
 * under way, or starting within SCAN_GAP_USEC, misses characters and is
 * dropped up to its end. Held modifiers are forgotten.
 */
void scan_decoder_lost(struct scan_decoder *d, uint64_t now_usec);
