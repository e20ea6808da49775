/* test_token.c - Crockford base32 text form of the 128-bit tokens. */
#include "fixture.h"

static void all_zero_and_all_one_bits_have_known_forms(void **state)
{
	(void)state;
	cm_token t;
	char s[CM_TOKEN_CHARS + 1];
	memset(t.raw, 0, sizeof t.raw);
	token_encode(&t, s);
	assert_string_equal(s, "00000000000000000000000000");
	memset(t.raw, 0xff, sizeof t.raw);
	token_encode(&t, s);
	assert_string_equal(s, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
	/* 0x01 at the end is the last symbol's value 1. */
	memset(t.raw, 0, sizeof t.raw);
	t.raw[15] = 1;
	token_encode(&t, s);
	assert_string_equal(s, "00000000000000000000000001");
}

static void random_tokens_round_trip_and_differ(void **state)
{
	(void)state;
	char prev[CM_TOKEN_CHARS + 1] = "";
	for (int i = 0; i < 2000; i++) {
		cm_token t, back;
		char s[CM_TOKEN_CHARS + 1];
		assert_int_equal(token_generate(&t, NULL), CM_OK);
		token_encode(&t, s);
		assert_int_equal(strlen(s), CM_TOKEN_CHARS);
		assert_null(strpbrk(s, "ILOU"));
		assert_true(token_decode(s, strlen(s), &back));
		assert_memory_equal(t.raw, back.raw, sizeof t.raw);
		assert_string_not_equal(s, prev);
		memcpy(prev, s, sizeof s);
	}
}

static void reading_ignores_case_spaces_hyphens_and_maps_look_alikes(void **state)
{
	(void)state;
	cm_token a, b;
	assert_true(token_decode("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26, &a));
	assert_true(token_decode("7zzzz-zzzzz zzzzz-zzzzz zzzzz-z", 31, &b));
	assert_memory_equal(a.raw, b.raw, sizeof a.raw);
	assert_true(token_decode("0000000000000000000000000I", 26, &a));
	assert_true(token_decode("o000000000000000000000000l", 26, &b));
	assert_int_equal(a.raw[15], 1);
	assert_int_equal(b.raw[15], 1);
}

static void malformed_tokens_are_refused(void **state)
{
	(void)state;
	cm_token t;
	static const char *const bad[] = {
		"",
		"0000000000000000000000000",   /* 25 */
		"000000000000000000000000000", /* 27 */
		"0000000000000000000000000U",  /* U is not a symbol */
		"8000000000000000000000000Z",  /* more than 128 bits */
		"00000000000000000000000.00",
		"0000000000000000000000000\xc3\xa9",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(token_decode(bad[i], strlen(bad[i]), &t));
	/* The length bound is honoured: a valid token cut short is refused. */
	assert_false(token_decode("00000000000000000000000000", 20, &t));
}

static void the_hash_is_sha256_of_the_raw_bits(void **state)
{
	(void)state;
	cm_token t;
	unsigned char h[CM_TOKEN_HASH_BYTES];
	memset(t.raw, 0, sizeof t.raw);
	token_hash(&t, h);
	/* sha256 of 16 zero bytes */
	static const unsigned char want[4] = {0x37, 0x47, 0x08, 0xff};
	assert_memory_equal(h, want, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_zero_and_all_one_bits_have_known_forms),
		cmocka_unit_test(random_tokens_round_trip_and_differ),
		cmocka_unit_test(reading_ignores_case_spaces_hyphens_and_maps_look_alikes),
		cmocka_unit_test(malformed_tokens_are_refused),
		cmocka_unit_test(the_hash_is_sha256_of_the_raw_bits),
	};
	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
