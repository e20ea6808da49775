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

static void derived_tokens_are_personal_and_change_with_each_resend(void **state)
{
	(void)state;
	unsigned char k1[32], k2[32];
	memset(k1, 1, sizeof k1);
	memset(k2, 2, sizeof k2);
	cm_token a, again, other_side, next, other_req, other_key;
	token_derive(k1, sizeof k1, 7, CM_SIDE_FROM, 1, &a);
	token_derive(k1, sizeof k1, 7, CM_SIDE_FROM, 1, &again);
	token_derive(k1, sizeof k1, 7, CM_SIDE_TO, 1, &other_side);
	token_derive(k1, sizeof k1, 7, CM_SIDE_FROM, 2, &next);
	token_derive(k1, sizeof k1, 8, CM_SIDE_FROM, 1, &other_req);
	token_derive(k2, sizeof k2, 7, CM_SIDE_FROM, 1, &other_key);
	/* A reminder recomputes the same token; everything else differs. */
	assert_memory_equal(a.raw, again.raw, sizeof a.raw);
	assert_memory_not_equal(a.raw, other_side.raw, sizeof a.raw);
	assert_memory_not_equal(a.raw, next.raw, sizeof a.raw);
	assert_memory_not_equal(a.raw, other_req.raw, sizeof a.raw);
	assert_memory_not_equal(a.raw, other_key.raw, sizeof a.raw);
	/* The written form is a token like any other, and never the
	 * placeholder ('U' is no Crockford symbol). */
	char text[CM_TOKEN_CHARS + 1];
	cm_token back;
	token_encode(&a, text);
	assert_true(token_decode(text, strlen(text), &back));
	assert_memory_equal(a.raw, back.raw, sizeof a.raw);
	assert_false(token_decode(CM_TOKEN_PLACEHOLDER, CM_TOKEN_CHARS, &back));
}

static void only_our_signature_makes_a_bounce_address(void **state)
{
	(void)state;
	unsigned char key[32], other[32];
	memset(key, 3, sizeof key);
	memset(other, 4, sizeof other);
	char sig[CM_BOUNCE_SIG_CHARS + 1], lower[CM_BOUNCE_SIG_CHARS + 1];
	token_bounce_sig(key, sizeof key, 42, sig);
	assert_int_equal(strlen(sig), CM_BOUNCE_SIG_CHARS);
	assert_true(token_bounce_sig_ok(key, sizeof key, 42, sig));
	for (int i = 0; i <= CM_BOUNCE_SIG_CHARS; i++)
		lower[i] = (char)g_ascii_tolower(sig[i]);
	assert_true(token_bounce_sig_ok(key, sizeof key, 42, lower)); /* addresses lose their case */
	assert_false(token_bounce_sig_ok(key, sizeof key, 43, sig));  /* another mail's id */
	assert_false(token_bounce_sig_ok(other, sizeof other, 42, sig)); /* another secret */
	assert_false(token_bounce_sig_ok(key, sizeof key, 42, ""));   /* no signature: bounces+42@ */
	char altered[CM_BOUNCE_SIG_CHARS + 1];
	memcpy(altered, sig, sizeof altered);
	altered[3] = altered[3] == 'A' ? 'B' : 'A';
	assert_false(token_bounce_sig_ok(key, sizeof key, 42, altered));
	assert_false(token_bounce_sig_ok(key, 0, 42, sig)); /* no secret: nothing is ours */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_zero_and_all_one_bits_have_known_forms),
		cmocka_unit_test(random_tokens_round_trip_and_differ),
		cmocka_unit_test(reading_ignores_case_spaces_hyphens_and_maps_look_alikes),
		cmocka_unit_test(malformed_tokens_are_refused),
		cmocka_unit_test(the_hash_is_sha256_of_the_raw_bits),
		cmocka_unit_test(derived_tokens_are_personal_and_change_with_each_resend),
		cmocka_unit_test(only_our_signature_makes_a_bounce_address),
	};
	return cmocka_run_group_tests_name("token", tests, NULL, NULL);
}
