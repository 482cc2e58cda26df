/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of credential normalisation, HMACs and PIN hashes. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "credential.h"

#define TEST_KEY "lokerbuku-test-site-key"
/* Fast enough for tests; the default is for real PINs. */
#define TEST_ITERATIONS 1000

static void normalises_each_kind_to_its_canonical_form(void **state)
{
	static const struct {
		const char *raw;
		const char *want;
	} table[] = {
		{ "uid:04a1b2c3", "uid:04A1B2C3" },
		{ "UID:04-A1-B2-C3-D4-E5-F6", "uid:04A1B2C3D4E5F6" },
		{ "Uid:04 a1:b2-c3", "uid:04A1B2C3" },
		{ "uid:04a1b2c3d4e5f6071829", "uid:04A1B2C3D4E5F6071829" },
		{ "  uid:04A1B2C3\t", "uid:04A1B2C3" },
		{ "card:M-0042", "card:M-0042" },
		{ "CARD:  abcXYZ  ", "card:abcXYZ" },
		{ "card:x", "card:x" },
		{ "card:"
		  "012345678901234567890123456789012345678901234567890123456789"
		  "0"
		  "123",
		  "card:"
		  "012345678901234567890123456789012345678901234567890123456789"
		  "0"
		  "123" },
		{ "code:123456", "code:123456" },
		{ "Code: 1234-5678 ", "code:12345678" },
		{ "code:123456789012", "code:123456789012" },
	};
	char out[CREDENTIAL_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		memset(out, 0, sizeof(out));
		assert_int_equal(
			credential_normalise(table[i].raw, out, sizeof(out)),
			0);
		assert_string_equal(out, table[i].want);
	}
}

static void
refuses_malformed_credentials_without_touching_the_output(void **state)
{
	static const char *const table[] = {
		"",
		"   ",
		"04A1B2C3",
		"nfc:04A1B2C3",
		"uid",
		"uid:",
		"uid:04A1B2",		      /* 3 bytes */
		"uid:04A1B2C3D4",	      /* 5 bytes */
		"uid:04A1B2C3D",	      /* odd digit count */
		"uid:04A1B2G3",		      /* not hex */
		"uid:04A1B2C3D4E5F60718293A", /* 11 bytes */
		"uid:04_A1_B2_C3",
		"card:",
		"card:   ",
		"card:a b",
		"card:tab\there",
		"card:caf\xc3\xa9",
		"card:"
		"0123456789012345678901234567890123456789012345678901234567890"
		"1234", /* 65 characters */
		"code:",
		"code:123",
		"code:1234",  /* four digits: guessed too easily */
		"code:12345", /* five: the same */
		"code:12-34 5",
		"code:1234567890123",
		"code:12a4",
		"code:12.34",
		"code 1234",
	};
	char out[CREDENTIAL_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		memcpy(out, "untouched", sizeof("untouched"));
		assert_int_equal(
			credential_normalise(table[i], out, sizeof(out)),
			-EINVAL);
		assert_string_equal(out, "untouched");
	}
	assert_int_equal(credential_normalise(NULL, out, sizeof(out)), -EINVAL);
}

static void says_enobufs_when_the_output_is_too_small(void **state)
{
	char out[13] = "untouched";

	assert_int_equal(credential_normalise("uid:04A1B2C3", out, 12),
			 -ENOBUFS);
	assert_string_equal(out, "untouched");
	assert_int_equal(credential_normalise("uid:04A1B2C3", out, 13), 0);
	assert_string_equal(out, "uid:04A1B2C3");
}

static void computes_the_hmac_of_a_known_test_vector(void **state)
{
	/* printf %s 'uid:04A1B2C3D4E5F6' | openssl dgst -sha256 \
	 *	-hmac lokerbuku-test-site-key */
	static const char want[] = "38d15955c7dd7541994fed507640e50d"
				   "aeb7300972de3e686468d33b9e7502f8";
	char hex[CREDENTIAL_HMAC_HEX_LEN + 1];

	assert_int_equal(credential_hmac((const uint8_t *)TEST_KEY,
					 strlen(TEST_KEY), "uid:04A1B2C3D4E5F6",
					 hex),
			 0);
	assert_string_equal(hex, want);
	assert_true(credential_is_hmac(hex));
}

static void refuses_an_hmac_with_an_empty_key(void **state)
{
	char hex[CREDENTIAL_HMAC_HEX_LEN + 1];

	assert_int_equal(
		credential_hmac((const uint8_t *)"", 0, "code:123456", hex),
		-EINVAL);
	assert_int_equal(credential_hmac(NULL, 4, "code:123456", hex), -EINVAL);
}

static void recognises_only_lower_case_64_digit_hex_as_an_hmac(void **state)
{
	static const char good[] = "38d15955c7dd7541994fed507640e50d"
				   "aeb7300972de3e686468d33b9e7502f8";

	assert_true(credential_is_hmac(good));
	assert_false(credential_is_hmac("38D15955C7DD7541994FED507640E50D"
					"AEB7300972DE3E686468D33B9E7502F8"));
	assert_false(credential_is_hmac("38d15955c7dd7541994fed507640e50d"
					"aeb7300972de3e686468d33b9e7502f"));
	assert_false(credential_is_hmac("38d15955c7dd7541994fed507640e50d"
					"aeb7300972de3e686468d33b9e7502f80"));
	assert_false(credential_is_hmac("38d15955c7dd7541994fed507640e50d"
					"aeb7300972de3e686468d33b9e7502fg"));
	assert_false(credential_is_hmac(""));
	assert_false(credential_is_hmac(NULL));
}

static void verifies_a_pin_against_its_own_hash(void **state)
{
	char hash[PIN_HASH_MAX + 1], other[PIN_HASH_MAX + 1];

	assert_int_equal(credential_pin_hash("2468", TEST_ITERATIONS, hash), 0);
	assert_true(strncmp(hash, "pbkdf2-sha256$1000$", 19) == 0);
	assert_int_equal(credential_pin_verify(hash, "2468"), 1);

	/* A fresh salt each time: the same PIN never hashes the same. */
	assert_int_equal(credential_pin_hash("2468", TEST_ITERATIONS, other),
			 0);
	assert_string_not_equal(hash, other);
	assert_int_equal(credential_pin_verify(other, "2468"), 1);
}

static void uses_six_hundred_thousand_iterations_by_default(void **state)
{
	char hash[PIN_HASH_MAX + 1];

	assert_int_equal(credential_pin_hash("12345678", 0, hash), 0);
	assert_true(strncmp(hash, "pbkdf2-sha256$600000$", 21) == 0);
	assert_int_equal(credential_pin_hash_cost(hash), 600000);
	assert_int_equal(credential_pin_verify(hash, "12345678"), 1);
}

/*
 * The second form, as docs/sync-api.md gives it, checked against
 * Python's hashlib.pbkdf2_hmac (OpenSSL): the key of the first form
 * through 2000 more iterations, with the same salt.
 */
static void verifies_the_second_form(void **state)
{
	static const char hash[] =
		"pbkdf2-sha256-2$1000$2000$000102030405060708090a0b0c0d0e0f$"
		"e807771b79a8c4c135b3c2c4d2cd9513529b52b417e6db7a1acba5418e3d73"
		"60";

	assert_int_equal(credential_pin_verify(hash, "2468"), 1);
	assert_int_equal(credential_pin_verify(hash, "2469"), 0);
	assert_int_equal(credential_pin_hash_cost(hash), 3000);
}

/* An old hash made costlier without its PIN: the same PIN still works. */
static void upgrades_a_cheap_hash_without_its_pin(void **state)
{
	static const char old[] =
		"pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$"
		"da0af9c4241f45ec5701b0f2e490f9c794db8f2aacca766c6081a721d04be2"
		"95";
	char hash[PIN_HASH_MAX + 1], again[PIN_HASH_MAX + 1] = "untouched";

	assert_int_equal(credential_pin_hash_upgrade(old, 3000, hash), 0);
	/* The same as the second form's known answer above. */
	assert_string_equal(
		hash,
		"pbkdf2-sha256-2$1000$2000$000102030405060708090a0b0c0d0e0f$"
		"e807771b79a8c4c135b3c2c4d2cd9513529b52b417e6db7a1acba5418e3d73"
		"60");
	assert_int_equal(credential_pin_verify(hash, "2468"), 1);
	assert_int_equal(credential_pin_verify(hash, "2469"), 0);
	assert_int_equal(credential_pin_hash_upgrade(old, 1000, again),
			 -EALREADY);
	assert_int_equal(credential_pin_hash_upgrade(hash, 3000, again),
			 -EALREADY);
	assert_int_equal(credential_pin_hash_upgrade(hash, 5000, again),
			 -EOPNOTSUPP);
	assert_int_equal(credential_pin_hash_upgrade(old, 2000001, again),
			 -EINVAL);
	assert_int_equal(
		credential_pin_hash_upgrade("pbkdf2-sha256$", 3000, again),
		-EINVAL);
	assert_string_equal(again, "untouched");
}

/* The second form's parts are checked as the first form's are. */
static void refuses_malformed_second_forms(void **state)
{
#define SALT2 "000102030405060708090a0b0c0d0e0f"
#define KEY2  "e807771b79a8c4c135b3c2c4d2cd9513529b52b417e6db7a1acba5418e3d7360"
	static const char *const table[] = {
		"pbkdf2-sha256-2$",
		"pbkdf2-sha256-2$1000$" SALT2 "$" KEY2,
		"pbkdf2-sha256-2$1000$0$" SALT2 "$" KEY2,
		"pbkdf2-sha256-2$0$2000$" SALT2 "$" KEY2,
		"pbkdf2-sha256-2$1000$-2000$" SALT2 "$" KEY2,
		"pbkdf2-sha256-2$1000$2000$$" KEY2,
		"pbkdf2-sha256-2$1000$2000$" SALT2,
		"pbkdf2-sha256-2$1000$2000$" SALT2 "$" KEY2 "0",
		/* 2,000,001 in all */
		"pbkdf2-sha256-2$1000000$1000001$" SALT2 "$" KEY2,
		"PBKDF2-SHA256-2$1000$2000$" SALT2 "$" KEY2,
		"pbkdf2-sha256-3$1000$2000$" SALT2 "$" KEY2,
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		assert_int_equal(credential_pin_verify(table[i], "2468"),
				 -EINVAL);
		assert_int_equal(credential_pin_hash_cost(table[i]), -EINVAL);
	}
#undef SALT2
#undef KEY2
}

static void verifies_a_hash_made_elsewhere(void **state)
{
	/* openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt pass:2468 \
	 *	-kdfopt hexsalt:000102030405060708090a0b0c0d0e0f \
	 *	-kdfopt iter:1000 PBKDF2 */
	static const char hash[] =
		"pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$"
		"da0af9c4241f45ec5701b0f2e490f9c794db8f2aacca766c6081a721d04be2"
		"95";

	assert_int_equal(credential_pin_verify(hash, "2468"), 1);
	assert_int_equal(credential_pin_verify(hash, "2469"), 0);
}

static void rejects_a_wrong_or_malformed_pin(void **state)
{
	char hash[PIN_HASH_MAX + 1];

	assert_int_equal(credential_pin_hash("2468", TEST_ITERATIONS, hash), 0);
	assert_int_equal(credential_pin_verify(hash, "8642"), 0);
	assert_int_equal(credential_pin_verify(hash, "24680"), 0);
	assert_int_equal(credential_pin_verify(hash, "246"), 0);
	assert_int_equal(credential_pin_verify(hash, "24a8"), 0);
	assert_int_equal(credential_pin_verify(hash, ""), 0);
	assert_int_equal(credential_pin_verify(hash, NULL), 0);
}

static void refuses_to_hash_a_malformed_pin(void **state)
{
	char hash[PIN_HASH_MAX + 1] = "untouched";

	assert_int_equal(credential_pin_hash("123", TEST_ITERATIONS, hash),
			 -EINVAL);
	assert_int_equal(
		credential_pin_hash("123456789", TEST_ITERATIONS, hash),
		-EINVAL);
	assert_int_equal(credential_pin_hash("12a4", TEST_ITERATIONS, hash),
			 -EINVAL);
	assert_int_equal(credential_pin_hash(" 1234", TEST_ITERATIONS, hash),
			 -EINVAL);
	assert_int_equal(credential_pin_hash("", TEST_ITERATIONS, hash),
			 -EINVAL);
	assert_int_equal(credential_pin_hash(NULL, TEST_ITERATIONS, hash),
			 -EINVAL);
	assert_string_equal(hash, "untouched");
}

static void refuses_malformed_pin_hashes(void **state)
{
#define SALT "000102030405060708090a0b0c0d0e0f"
#define KEY  "da0af9c4241f45ec5701b0f2e490f9c794db8f2aacca766c6081a721d04be295"
	static const char *const table[] = {
		"",
		"pbkdf2-sha256$",
		"pbkdf2-sha1$1000$" SALT "$" KEY,
		"PBKDF2-SHA256$1000$" SALT "$" KEY,
		"pbkdf2-sha256$1000$" SALT,
		"pbkdf2-sha256$1000$" SALT "$",
		"pbkdf2-sha256$1000$$" KEY,
		"pbkdf2-sha256$1000$0001020304050607$" KEY "00",
		"pbkdf2-sha256$1000$" SALT "$" KEY "$",
		"pbkdf2-sha256$1000$" SALT "0$" KEY,	  /* odd salt */
		"pbkdf2-sha256$1000$00010203040506$" KEY, /* 7-byte salt */
		"pbkdf2-sha256$1000$" SALT "$" KEY "0",
		"pbkdf2-sha256$1000$" SALT "$"
		"da0af9c4241f45ec5701b0f2e490f9c794db8f2aacca766c6081a721d04be2"
		"9",
		"pbkdf2-sha256$1000$" SALT "$"
		"da0af9c4241f45ec5701b0f2e490f9c794db8f2aacca766c6081a721d04be2"
		"9x",
		"pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0g$" KEY,
		"pbkdf2-sha256$1000$" SALT "$" KEY " ",
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(credential_pin_verify(table[i], "2468"),
				 -EINVAL);
	assert_int_equal(credential_pin_verify(NULL, "2468"), -EINVAL);
}

static void refuses_hostile_iteration_counts(void **state)
{
	static const char *const table[] = {
		"pbkdf2-sha256$0$" SALT "$" KEY,
		"pbkdf2-sha256$2000001$" SALT "$" KEY,
		"pbkdf2-sha256$10000000$" SALT "$" KEY,
		"pbkdf2-sha256$10000001$" SALT "$" KEY,
		"pbkdf2-sha256$99999999$" SALT "$" KEY,
		"pbkdf2-sha256$4294967297$" SALT "$" KEY, /* 2^32 + 1 */
		"pbkdf2-sha256$18446744073709551617$" SALT "$" KEY,
		"pbkdf2-sha256$-1$" SALT "$" KEY,
		"pbkdf2-sha256$+1000$" SALT "$" KEY,
		"pbkdf2-sha256$ 1000$" SALT "$" KEY,
		"pbkdf2-sha256$1e3$" SALT "$" KEY,
		"pbkdf2-sha256$0x3e8$" SALT "$" KEY,
		"pbkdf2-sha256$$" SALT "$" KEY,
	};
	char hash[PIN_HASH_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_int_equal(credential_pin_verify(table[i], "2468"),
				 -EINVAL);
	assert_int_equal(credential_pin_hash("2468", 2000001, hash), -EINVAL);
	assert_int_equal(credential_pin_hash("2468", 10000001, hash), -EINVAL);
	assert_int_equal(credential_pin_hash("2468", 4000000000U, hash),
			 -EINVAL);
}

static void accepts_up_to_two_million_iterations(void **state)
{
	char hash[PIN_HASH_MAX + 1];

	/* A well-formed hash at the bound is verified, not refused. */
	assert_int_equal(credential_pin_verify(
				 "pbkdf2-sha256$2000000$" SALT "$" KEY, "2468"),
			 0);
	assert_int_equal(credential_pin_hash("2468", 200000, hash), 0);
	assert_int_equal(credential_pin_verify(hash, "2468"), 1);
#undef SALT
#undef KEY
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normalises_each_kind_to_its_canonical_form),
		cmocka_unit_test(
			refuses_malformed_credentials_without_touching_the_output),
		cmocka_unit_test(says_enobufs_when_the_output_is_too_small),
		cmocka_unit_test(computes_the_hmac_of_a_known_test_vector),
		cmocka_unit_test(refuses_an_hmac_with_an_empty_key),
		cmocka_unit_test(
			recognises_only_lower_case_64_digit_hex_as_an_hmac),
		cmocka_unit_test(verifies_a_pin_against_its_own_hash),
		cmocka_unit_test(
			uses_six_hundred_thousand_iterations_by_default),
		cmocka_unit_test(verifies_a_hash_made_elsewhere),
		cmocka_unit_test(verifies_the_second_form),
		cmocka_unit_test(upgrades_a_cheap_hash_without_its_pin),
		cmocka_unit_test(refuses_malformed_second_forms),
		cmocka_unit_test(rejects_a_wrong_or_malformed_pin),
		cmocka_unit_test(refuses_to_hash_a_malformed_pin),
		cmocka_unit_test(refuses_malformed_pin_hashes),
		cmocka_unit_test(refuses_hostile_iteration_counts),
		cmocka_unit_test(accepts_up_to_two_million_iterations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
