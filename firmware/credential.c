/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Credentials: normalisation, keyed hashing with the site key, PIN hashes. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "credential.h"

#define UID_BYTES_SHORT	 4
#define UID_BYTES_DOUBLE 7
#define UID_BYTES_TRIPLE 10
#define CARD_ID_MAX	 64
/* Fewer digits are guessed too easily. */

#define PIN_HASH_PREFIX	       "pbkdf2-sha256$"
#define PIN_HASH_PREFIX_2      "pbkdf2-sha256-2$"
#define PIN_ITERATIONS_DEFAULT 600000
/*
 * Verifying costs time in proportion (on lokerd's PIN thread, while the
 * person at the screen waits): a hostile or mistaken hash must not make
 * one check take more than a second or so here (several on a Pi).
 */
#define PIN_ITERATIONS_MAX	  2000000
#define PIN_ITERATIONS_DIGITS_MAX 8
#define PIN_SALT_BYTES		  16
/* Salts made elsewhere (the server) are accepted within these bounds. */
#define PIN_SALT_BYTES_MIN 8
#define PIN_SALT_BYTES_MAX 64
#define PIN_KEY_BYTES	   32

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int credential_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void hex_encode(const uint8_t *data, size_t len, char *ret)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		ret[2 * i] = digits[data[i] >> 4];
		ret[2 * i + 1] = digits[data[i] & 0xf];
	}
	ret[2 * len] = '\0';
}

/* Decodes exactly 2 * len hex digits of s into ret. */
static int hex_decode(const char *s, size_t len, uint8_t *ret)
{
	size_t i;

	for (i = 0; i < len; i++) {
		int hi = credential_hex_digit(s[2 * i]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = credential_hex_digit(s[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		ret[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* NFC UID: hex digits between separators, upper-cased. */
static int normalise_uid(const char *s, const char *end, char *ret)
{
	size_t n = 0;

	for (; s < end; s++) {
		if (*s == ':' || *s == '-' || *s == ' ')
			continue;
		if (credential_hex_digit(*s) < 0 || n == 2 * UID_BYTES_TRIPLE)
			return -EINVAL;
		ret[n++] =
			(*s >= 'a' && *s <= 'f') ? (char)(*s - 'a' + 'A') : *s;
	}
	if (n != 2 * UID_BYTES_SHORT && n != 2 * UID_BYTES_DOUBLE &&
	    n != 2 * UID_BYTES_TRIPLE)
		return -EINVAL;
	ret[n] = '\0';
	return 0;
}

/* Member number: kept as typed, but no blanks or control characters. */
static int normalise_card(const char *s, const char *end, char *ret)
{
	size_t i, n;

	while (s < end && is_blank(*s))
		s++;
	n = (size_t)(end - s);
	if (n == 0 || n > CARD_ID_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (s[i] < '!' || s[i] > '~')
			return -EINVAL;
	memcpy(ret, s, n);
	ret[n] = '\0';
	return 0;
}

/* Pickup code: digits, however the patron grouped them. */
static int normalise_code(const char *s, const char *end, char *ret)
{
	size_t n = 0;

	for (; s < end; s++) {
		if (is_blank(*s) || *s == '-')
			continue;
		if (*s < '0' || *s > '9' || n == CREDENTIAL_CODE_DIGITS_MAX)
			return -EINVAL;
		ret[n++] = *s;
	}
	if (n < CREDENTIAL_CODE_DIGITS_MIN)
		return -EINVAL;
	ret[n] = '\0';
	return 0;
}

int credential_normalise(const char *raw, char *ret, size_t n)
{
	static const struct {
		const char *prefix;
		int (*normalise)(const char *s, const char *end, char *ret);
	} kinds[] = {
		{ "uid:", normalise_uid },
		{ "card:", normalise_card },
		{ "code:", normalise_code },
	};
	char out[CREDENTIAL_MAX + 1];
	const char *end;
	size_t i, len;

	if (!raw)
		return -EINVAL;
	while (is_blank(*raw))
		raw++;
	end = raw + strlen(raw);
	while (end > raw && is_blank(end[-1]))
		end--;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t prefix_len = strlen(kinds[i].prefix);
		int r;

		if (strncasecmp(raw, kinds[i].prefix, prefix_len) != 0)
			continue;
		memcpy(out, kinds[i].prefix, prefix_len);
		r = kinds[i].normalise(raw + prefix_len, end, out + prefix_len);
		if (r < 0)
			return r;
		len = strlen(out);
		if (len >= n)
			return -ENOBUFS;
		memcpy(ret, out, len + 1);
		return 0;
	}
	return -EINVAL;
}

int credential_hmac(const uint8_t *key, size_t key_len, const char *normalised,
		    char ret_hex[CREDENTIAL_HMAC_HEX_LEN + 1])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;

	if (!key || key_len == 0 || key_len > INT_MAX || !normalised)
		return -EINVAL;
	if (!HMAC(EVP_sha256(), key, (int)key_len,
		  (const unsigned char *)normalised, strlen(normalised), md,
		  &md_len) ||
	    md_len * 2 != CREDENTIAL_HMAC_HEX_LEN)
		return -EIO;
	hex_encode(md, md_len, ret_hex);
	return 0;
}

int credential_is_hmac(const char *s)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 0; i < CREDENTIAL_HMAC_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[CREDENTIAL_HMAC_HEX_LEN] == '\0';
}

static bool pin_is_valid(const char *pin)
{
	size_t n;

	if (!pin)
		return false;
	n = strlen(pin);
	if (n < PIN_DIGITS_MIN || n > PIN_DIGITS_MAX)
		return false;
	return strspn(pin, "0123456789") == n;
}

static int pin_derive(const char *pin, const uint8_t *salt, size_t salt_len,
		      unsigned iterations, uint8_t ret[PIN_KEY_BYTES])
{
	if (!PKCS5_PBKDF2_HMAC(pin, (int)strlen(pin), salt, (int)salt_len,
			       (int)iterations, EVP_sha256(), PIN_KEY_BYTES,
			       ret))
		return -EIO;
	return 0;
}

int credential_pin_hash(const char *pin, unsigned iterations,
			char ret[PIN_HASH_MAX + 1])
{
	uint8_t salt[PIN_SALT_BYTES], key[PIN_KEY_BYTES];
	char salt_hex[2 * PIN_SALT_BYTES + 1], key_hex[2 * PIN_KEY_BYTES + 1];
	int r;

	if (!pin_is_valid(pin) || iterations > PIN_ITERATIONS_MAX)
		return -EINVAL;
	if (iterations == 0)
		iterations = PIN_ITERATIONS_DEFAULT;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -EIO;
	r = pin_derive(pin, salt, sizeof(salt), iterations, key);
	if (r < 0)
		return r;
	hex_encode(salt, sizeof(salt), salt_hex);
	hex_encode(key, sizeof(key), key_hex);
	OPENSSL_cleanse(key, sizeof(key));
	snprintf(ret, PIN_HASH_MAX + 1, PIN_HASH_PREFIX "%u$%s$%s", iterations,
		 salt_hex, key_hex);
	return 0;
}

struct pin_hash_parts {
	unsigned iterations;
	/* Version 2: the key of version 1 through this many more, or 0. */
	unsigned iterations_2;
	uint8_t salt[PIN_SALT_BYTES_MAX];
	size_t salt_len;
	uint8_t key[PIN_KEY_BYTES];
};

/* Decimal digits up to '$': no sign, no blanks, no way to overflow. */
static const char *parse_iterations(const char *s, unsigned *ret)
{
	size_t i, len = strspn(s, "0123456789");

	if (len == 0 || len > PIN_ITERATIONS_DIGITS_MAX || s[len] != '$')
		return NULL;
	*ret = 0;
	for (i = 0; i < len; i++)
		*ret = *ret * 10 + (unsigned)(s[i] - '0');
	if (*ret == 0 || *ret > PIN_ITERATIONS_MAX)
		return NULL;
	return s + len + 1;
}

static int pin_hash_parse(const char *hash, struct pin_hash_parts *ret)
{
	const char *salt, *key;
	size_t len;

	if (!hash || strnlen(hash, PIN_HASH_MAX + 1) > PIN_HASH_MAX)
		return -EINVAL;
	ret->iterations_2 = 0;
	if (strncmp(hash, PIN_HASH_PREFIX, strlen(PIN_HASH_PREFIX)) == 0) {
		salt = parse_iterations(hash + strlen(PIN_HASH_PREFIX),
					&ret->iterations);
	} else if (strncmp(hash, PIN_HASH_PREFIX_2,
			   strlen(PIN_HASH_PREFIX_2)) == 0) {
		salt = parse_iterations(hash + strlen(PIN_HASH_PREFIX_2),
					&ret->iterations);
		salt = salt ? parse_iterations(salt, &ret->iterations_2) : NULL;
		/* Both together are what a guess costs: bound as one. */
		if (salt &&
		    ret->iterations_2 > PIN_ITERATIONS_MAX - ret->iterations)
			salt = NULL;
	} else {
		salt = NULL;
	}
	if (!salt)
		return -EINVAL;

	key = strchr(salt, '$');
	if (!key)
		return -EINVAL;
	len = (size_t)(key - salt);
	if (len % 2 || len < 2 * PIN_SALT_BYTES_MIN ||
	    len > 2 * PIN_SALT_BYTES_MAX)
		return -EINVAL;
	ret->salt_len = len / 2;
	if (hex_decode(salt, ret->salt_len, ret->salt) < 0)
		return -EINVAL;

	key++;
	if (strlen(key) != 2 * PIN_KEY_BYTES)
		return -EINVAL;
	return hex_decode(key, PIN_KEY_BYTES, ret->key);
}

/* Version 2's outer run: the key of version 1 taken as the password. */
static int pin_derive_2(uint8_t key[PIN_KEY_BYTES], const uint8_t *salt,
			size_t salt_len, unsigned iterations)
{
	uint8_t out[PIN_KEY_BYTES];

	if (!PKCS5_PBKDF2_HMAC((const char *)key, PIN_KEY_BYTES, salt,
			       (int)salt_len, (int)iterations, EVP_sha256(),
			       PIN_KEY_BYTES, out))
		return -EIO;
	memcpy(key, out, PIN_KEY_BYTES);
	OPENSSL_cleanse(out, sizeof(out));
	return 0;
}

int credential_pin_verify(const char *hash, const char *pin)
{
	struct pin_hash_parts parts;
	uint8_t key[PIN_KEY_BYTES];
	int r;

	r = pin_hash_parse(hash, &parts);
	if (r < 0)
		return r;
	/* No valid hash was ever made from a malformed PIN. */
	if (!pin_is_valid(pin))
		return 0;
	r = pin_derive(pin, parts.salt, parts.salt_len, parts.iterations, key);
	if (r == 0 && parts.iterations_2)
		r = pin_derive_2(key, parts.salt, parts.salt_len,
				 parts.iterations_2);
	if (r < 0) {
		OPENSSL_cleanse(key, sizeof(key));
		return r;
	}
	r = CRYPTO_memcmp(key, parts.key, sizeof(key)) == 0;
	OPENSSL_cleanse(key, sizeof(key));
	return r;
}

int credential_pin_hash_cost(const char *hash)
{
	struct pin_hash_parts parts;
	int r = pin_hash_parse(hash, &parts);

	return r < 0 ? r : (int)(parts.iterations + parts.iterations_2);
}

int credential_pin_hash_upgrade(const char *hash, unsigned iterations,
				char ret[PIN_HASH_MAX + 1])
{
	struct pin_hash_parts parts;
	char salt_hex[2 * PIN_SALT_BYTES_MAX + 1],
		key_hex[2 * PIN_KEY_BYTES + 1];
	char out[sizeof(PIN_HASH_PREFIX_2) + 2 * PIN_ITERATIONS_DIGITS_MAX + 4 +
		 sizeof(salt_hex) + sizeof(key_hex)];
	unsigned more;
	int r;

	if (iterations == 0)
		iterations = PIN_ITERATIONS_DEFAULT;
	if (iterations > PIN_ITERATIONS_MAX)
		return -EINVAL;
	r = pin_hash_parse(hash, &parts);
	if (r < 0)
		return r;
	if (parts.iterations + parts.iterations_2 >= iterations)
		return -EALREADY;
	/* PBKDF2 of PBKDF2 does not chain: only version 1 goes to 2. */
	if (parts.iterations_2)
		return -EOPNOTSUPP;
	more = iterations - parts.iterations;
	r = pin_derive_2(parts.key, parts.salt, parts.salt_len, more);
	if (r < 0)
		return r;
	hex_encode(parts.salt, parts.salt_len, salt_hex);
	hex_encode(parts.key, sizeof(parts.key), key_hex);
	OPENSSL_cleanse(&parts.key, sizeof(parts.key));
	r = snprintf(out, sizeof(out), PIN_HASH_PREFIX_2 "%u$%u$%s$%s",
		     parts.iterations, more, salt_hex, key_hex);
	OPENSSL_cleanse(key_hex, sizeof(key_hex));
	if (r < 0 || r > PIN_HASH_MAX)
		return -ENOBUFS;
	memcpy(ret, out, (size_t)r + 1);
	return 0;
}
