/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the barcode scanner's decoder (hal/scan-decode.c):
 * what any USB keyboard plugged into the kiosk types reaches it.
 *
 * Each 4 bytes of the input are one event: a key code (0..255, where
 * every key of a scanner lives), the value (0 release, 1 press, 2
 * autorepeat; 3 stands for events lost), and the time since the last
 * event in units of 100 us (up to 6.5 s, beyond SCAN_GAP_USEC). Each
 * event goes to two decoders, one with room for any scan and one with a
 * small buffer. Beyond the sanitizers' findings it aborts when the
 * decoder breaks its contract: a result other than those documented, a
 * scan that is empty, longer than SCAN_TEXT_MAX or not printable ASCII,
 * a buffer changed without a scan, or the two decoders disagreeing other
 * than by -ENOBUFS.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scan-decode.h"

#define SMALL 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_scan(int r, const char *text, size_t n)
{
	size_t len;

	if (r != 1) {
		if (r != 0 && r != -EMSGSIZE && r != -ETIMEDOUT && r != -EIO &&
		    r != -ENOBUFS)
			abort();
		if (text[0] != 'x') /* left alone */
			abort();
		return;
	}
	len = strnlen(text, n);
	if (len == 0 || len == n || len > SCAN_TEXT_MAX)
		abort();
	for (size_t i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scan_decoder big, small;
	char big_text[SCAN_TEXT_MAX + 1], small_text[SMALL];
	uint64_t now = 1000000;

	scan_decoder_init(&big);
	scan_decoder_init(&small);
	for (size_t i = 0; i + 4 <= size; i += 4) {
		unsigned code = data[i], value = data[i + 1] & 3;
		int r_big, r_small;

		now += (uint64_t)(data[i + 2] | data[i + 3] << 8) * 100;
		if (value == 3) {
			scan_decoder_lost(&big, now);
			scan_decoder_lost(&small, now);
			continue;
		}
		big_text[0] = small_text[0] = 'x';
		r_big = scan_decoder_key(&big, code, (int)value, now, big_text,
					 sizeof(big_text));
		r_small = scan_decoder_key(&small, code, (int)value, now,
					   small_text, sizeof(small_text));
		check_scan(r_big, big_text, sizeof(big_text));
		check_scan(r_small, small_text, sizeof(small_text));
		/* Only the room to hand the scan over differs. */
		if (r_small == -ENOBUFS ?
			    r_big != 1 || strlen(big_text) < SMALL :
			    r_small != r_big)
			abort();
		if (r_big == 1 && r_small == 1 &&
		    strcmp(big_text, small_text) != 0)
			abort();
	}
	return 0;
}
