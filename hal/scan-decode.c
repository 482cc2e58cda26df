// SPDX-License-Identifier: GPL-2.0-or-later
/* Key events of a barcode scanner back to text, on a US keyboard layout. */
#include <errno.h>
#include <linux/input-event-codes.h>
#include <string.h>

#include "scan-decode.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum {
	MOD_LEFTSHIFT = 1 << 0,
	MOD_RIGHTSHIFT = 1 << 1,
	MOD_LEFTCTRL = 1 << 2,
	MOD_RIGHTCTRL = 1 << 3,
	MOD_LEFTALT = 1 << 4,
	MOD_RIGHTALT = 1 << 5,
};

#define MOD_SHIFT (MOD_LEFTSHIFT | MOD_RIGHTSHIFT)
/* With these held a key is a shortcut, not text. */
#define MOD_CTRL_ALT (MOD_LEFTCTRL | MOD_RIGHTCTRL | MOD_LEFTALT | MOD_RIGHTALT)

/* What each key types: without Shift, with Shift. */
static const char keys[][2] = {
	[KEY_1] = { '1', '!' },
	[KEY_2] = { '2', '@' },
	[KEY_3] = { '3', '#' },
	[KEY_4] = { '4', '$' },
	[KEY_5] = { '5', '%' },
	[KEY_6] = { '6', '^' },
	[KEY_7] = { '7', '&' },
	[KEY_8] = { '8', '*' },
	[KEY_9] = { '9', '(' },
	[KEY_0] = { '0', ')' },
	[KEY_MINUS] = { '-', '_' },
	[KEY_EQUAL] = { '=', '+' },
	[KEY_LEFTBRACE] = { '[', '{' },
	[KEY_RIGHTBRACE] = { ']', '}' },
	[KEY_SEMICOLON] = { ';', ':' },
	[KEY_APOSTROPHE] = { '\'', '"' },
	[KEY_GRAVE] = { '`', '~' },
	[KEY_BACKSLASH] = { '\\', '|' },
	[KEY_COMMA] = { ',', '<' },
	[KEY_DOT] = { '.', '>' },
	[KEY_SLASH] = { '/', '?' },
	[KEY_SPACE] = { ' ', ' ' },
	[KEY_A] = { 'a', 'A' },
	[KEY_B] = { 'b', 'B' },
	[KEY_C] = { 'c', 'C' },
	[KEY_D] = { 'd', 'D' },
	[KEY_E] = { 'e', 'E' },
	[KEY_F] = { 'f', 'F' },
	[KEY_G] = { 'g', 'G' },
	[KEY_H] = { 'h', 'H' },
	[KEY_I] = { 'i', 'I' },
	[KEY_J] = { 'j', 'J' },
	[KEY_K] = { 'k', 'K' },
	[KEY_L] = { 'l', 'L' },
	[KEY_M] = { 'm', 'M' },
	[KEY_N] = { 'n', 'N' },
	[KEY_O] = { 'o', 'O' },
	[KEY_P] = { 'p', 'P' },
	[KEY_Q] = { 'q', 'Q' },
	[KEY_R] = { 'r', 'R' },
	[KEY_S] = { 's', 'S' },
	[KEY_T] = { 't', 'T' },
	[KEY_U] = { 'u', 'U' },
	[KEY_V] = { 'v', 'V' },
	[KEY_W] = { 'w', 'W' },
	[KEY_X] = { 'x', 'X' },
	[KEY_Y] = { 'y', 'Y' },
	[KEY_Z] = { 'z', 'Z' },
	/* Scanners in keypad mode: the same character whatever Num Lock says. */
	[KEY_KP0] = { '0', '0' },
	[KEY_KP1] = { '1', '1' },
	[KEY_KP2] = { '2', '2' },
	[KEY_KP3] = { '3', '3' },
	[KEY_KP4] = { '4', '4' },
	[KEY_KP5] = { '5', '5' },
	[KEY_KP6] = { '6', '6' },
	[KEY_KP7] = { '7', '7' },
	[KEY_KP8] = { '8', '8' },
	[KEY_KP9] = { '9', '9' },
	[KEY_KPMINUS] = { '-', '-' },
	[KEY_KPPLUS] = { '+', '+' },
	[KEY_KPASTERISK] = { '*', '*' },
	[KEY_KPSLASH] = { '/', '/' },
	[KEY_KPDOT] = { '.', '.' },
};

static unsigned modifier_bit(unsigned code)
{
	switch (code) {
	case KEY_LEFTSHIFT:
		return MOD_LEFTSHIFT;
	case KEY_RIGHTSHIFT:
		return MOD_RIGHTSHIFT;
	case KEY_LEFTCTRL:
		return MOD_LEFTCTRL;
	case KEY_RIGHTCTRL:
		return MOD_RIGHTCTRL;
	case KEY_LEFTALT:
		return MOD_LEFTALT;
	case KEY_RIGHTALT:
		return MOD_RIGHTALT;
	default:
		return 0;
	}
}

static bool ends_scan(unsigned code)
{
	/* Scanners end a code with Enter, or with Tab when so configured. */
	return code == KEY_ENTER || code == KEY_KPENTER || code == KEY_TAB;
}

/* The character the key types now, or 0 for a key without one. */
static char key_char(const struct scan_decoder *d, unsigned code)
{
	bool shift = d->mods & MOD_SHIFT;
	char c;

	if (code >= ARRAY_SIZE(keys) || !keys[code][0])
		return 0;
	c = keys[code][0];
	/* Caps Lock acts on letters only, and Shift undoes it. */
	if (c >= 'a' && c <= 'z' && d->caps_lock)
		shift = !shift;
	return keys[code][shift];
}

static void forget_scan(struct scan_decoder *d)
{
	d->len = 0;
	d->discard = 0;
}

static bool scan_under_way(const struct scan_decoder *d)
{
	return d->len > 0 || d->discard;
}

void scan_decoder_init(struct scan_decoder *d)
{
	*d = (struct scan_decoder){ 0 };
}

void scan_decoder_lost(struct scan_decoder *d, uint64_t now_usec)
{
	d->len = 0;
	d->discard = -EIO;
	d->last_usec = now_usec;
	/* Their presses or releases may be among the lost events. */
	d->mods = 0;
}

/* The scan's end: 1 and its text in ret, 0 for none, or why it is dropped. */
static int finish_scan(struct scan_decoder *d, char *ret, size_t n)
{
	int err = d->discard;

	if (!err && d->len > 0 && d->len >= n)
		err = -ENOBUFS;
	if (!err && d->len > 0) {
		memcpy(ret, d->text, d->len);
		ret[d->len] = '\0';
		err = 1;
	}
	forget_scan(d);
	return err;
}

int scan_decoder_key(struct scan_decoder *d, unsigned code, int value,
		     uint64_t now_usec, char *ret, size_t n)
{
	unsigned mod = modifier_bit(code);
	int err = 0;
	char c;

	if (mod) {
		if (value)
			d->mods |= mod;
		else
			d->mods &= ~mod;
		return 0;
	}
	if (!value || (d->mods & MOD_CTRL_ALT))
		return 0;
	if (code == KEY_CAPSLOCK) {
		/* Held down it repeats: only the first press toggles. */
		if (value == 1)
			d->caps_lock = !d->caps_lock;
		return 0;
	}
	c = key_char(d, code);
	if (!c && !ends_scan(code))
		return 0; /* arrows, F-keys...: no part of any scan */

	/*
	 * The time since the scan's last key, in unsigned arithmetic: a
	 * clock that went back counts as a long pause too.
	 */
	if (scan_under_way(d) && now_usec - d->last_usec > SCAN_GAP_USEC) {
		forget_scan(d);
		err = -ETIMEDOUT;
	}
	if (ends_scan(code))
		return err ? err : finish_scan(d, ret, n);
	d->last_usec = now_usec;
	if (d->discard)
		return err;
	if (d->len == SCAN_TEXT_MAX) {
		/* Part of a code is a wrong code: drop it all, up to its end. */
		d->discard = -EMSGSIZE;
		return err;
	}
	d->text[d->len++] = c;
	return err;
}
