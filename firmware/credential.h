/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Credentials: normalisation, keyed hashing with the site key, PIN hashes. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Longest normalised credential, with its prefix, not counting the NUL. */
#define CREDENTIAL_MAX 80
/* HMAC-SHA256 as lower-case hex, not counting the NUL. */
#define CREDENTIAL_HMAC_HEX_LEN 64
/* Longest PIN hash string, not counting the NUL. */
#define PIN_HASH_MAX   160
#define PIN_DIGITS_MIN 4
#define PIN_DIGITS_MAX 8
/* Pickup codes: the one rule of docs/sync-api.md, for every way in. */
#define CREDENTIAL_CODE_DIGITS_MIN 6
#define CREDENTIAL_CODE_DIGITS_MAX 12

/*
 * Turns what a reader, scanner or keypad produced into the one canonical
 * form the kiosk and the server hash:
 *   uid:<hex>     NFC UID, 4, 7 or 10 bytes; separators (':' '-' ' ') are
 *                 dropped, hex is upper-cased: "uid:04a1:b2" -> "uid:04A1B2"
 *   card:<id>     member number; surrounding blanks trimmed, 1-64 printable
 *                 ASCII characters without blanks, case kept
 *   code:<digits> pickup code; blanks and '-' dropped, 6-12 digits
 * The prefix itself is case-insensitive. Returns 0 and fills ret (size n),
 * -EINVAL for anything else, -ENOBUFS when n is too small. ret is untouched
 * on failure.
 */
int credential_normalise(const char *raw, char *ret, size_t n);

/*
 * HMAC-SHA256(key, normalised credential) as 64 lower-case hex digits plus
 * NUL in ret_hex. Returns 0, or -EINVAL for an empty key.
 */
int credential_hmac(const uint8_t *key, size_t key_len, const char *normalised,
		    char ret_hex[CREDENTIAL_HMAC_HEX_LEN + 1]);

/* True when s is exactly 64 lower-case hex digits. */
int credential_is_hmac(const char *s);

/* The value of a hex digit of either case, or -1. */
int credential_hex_digit(char c);

/*
 * A PIN is 4-8 ASCII digits. Hash formats (docs/sync-api.md, "PIN hashes"):
 *   pbkdf2-sha256$<iterations>$<salt hex>$<key hex>
 *       key = PBKDF2-HMAC-SHA256(pin, salt, iterations, 32 bytes)
 *   pbkdf2-sha256-2$<iterations>$<more>$<salt hex>$<key hex>
 *       key = PBKDF2-HMAC-SHA256(PBKDF2-HMAC-SHA256(pin, salt,
 *             iterations), salt, more): a hash of the first form made
 *             costlier without its PIN (credential_pin_hash_upgrade())
 * with 1 to 2,000,000 iterations in all (a check runs on lokerd's PIN
 * thread while the person at the screen waits: a costlier hash is
 * refused). Salts of 8 to 64 bytes. This makes the first form with a
 * fresh 16-byte salt; iterations 0 means the default (600,000: about
 * 0.15 s here, docs/security.md). Returns 0, -EINVAL for a malformed PIN
 * or too many iterations, -EIO when no randomness.
 */
int credential_pin_hash(const char *pin, unsigned iterations,
			char ret[PIN_HASH_MAX + 1]);

/*
 * Returns 1 when pin matches hash (either form), 0 when it does not,
 * -EINVAL when the hash string is malformed or asks for more than
 * 2,000,000 iterations. Comparison is constant-time.
 */
int credential_pin_verify(const char *hash, const char *pin);

/* The PBKDF2 iterations a guess against hash costs, or -EINVAL. */
int credential_pin_hash_cost(const char *hash);

/*
 * A first-form hash costing fewer than iterations (0: the default) made
 * into a second-form hash of the same PIN costing iterations in all,
 * without knowing the PIN: 0, -EALREADY when it costs that much already,
 * -EOPNOTSUPP for a second-form hash (it does not chain), -EINVAL for a
 * malformed hash or iterations past the bound, -ENOBUFS when the result
 * would be longer than PIN_HASH_MAX (a salt of more than 32 bytes).
 */
int credential_pin_hash_upgrade(const char *hash, unsigned iterations,
				char ret[PIN_HASH_MAX + 1]);
