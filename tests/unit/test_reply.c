/* test_reply.c - reply understanding: our own fixtures of real clients'
 * replies (tests/fixtures/replies, one case each), intent words, and bad
 * input answered in bounded time and memory. */
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "fixture.h"
#include "reply.h"
#include "reply_internal.h"

#define FIXTURES "tests/fixtures/replies"
#define FIXTURE_TOKEN "4P8ZJ0QK7WB2N9XH5GD3VRT6MA"

typedef struct {
	char name[128], kind[16], intent[16], token_from[16], env_from[8];
} fixture_case;

static const char *source_str(cm_token_source s)
{
	return s == CM_FROM_ADDRESS ? "address" : s == CM_FROM_SUBJECT ? "subject" : s == CM_FROM_TEXT ? "text" : "none";
}

static void fixture_understood(void **state)
{
	const fixture_case *fc = *state;
	char *path = g_strdup_printf("%s/%s.eml", FIXTURES, fc->name), *raw = NULL;
	gsize len = 0;
	assert_true(g_file_get_contents(path, &raw, &len, NULL));
	cm_reply_env env = {"validation", "contacts.example.com",
			    strcmp(fc->env_from, "-") == 0 ? NULL : strcmp(fc->env_from, "<>") == 0 ? "" : fc->env_from,
			    NULL};
	cm_reply r;
	reply_understand(raw, len, &env, &r);
	const char *intent = reply_intent_str(r.intent) ? reply_intent_str(r.intent) : "none";
	const char *src = r.has_token ? source_str(r.token_source) : "none";
	if (strcmp(reply_kind_str(r.kind), fc->kind) != 0 || strcmp(intent, fc->intent) != 0 ||
	    strcmp(src, fc->token_from) != 0)
		print_error("%s: got kind %s (%s), intent %s, token from %s; new text:\n%s\n", fc->name,
			    reply_kind_str(r.kind), r.kind_why, intent, src, r.new_text);
	assert_string_equal(reply_kind_str(r.kind), fc->kind);
	assert_string_equal(intent, fc->intent);
	assert_string_equal(src, fc->token_from);
	if (r.has_token) {
		char t[CM_TOKEN_CHARS + 1];
		token_encode(&r.token, t);
		assert_string_equal(t, FIXTURE_TOKEN);
	}
	/* The quoted original holds the token and both words: none of it may
	 * be left in the new text of a reply. */
	if (r.kind == CM_KIND_REPLY && strcmp(fc->token_from, "text") != 0)
		assert_null(strstr(r.new_text, FIXTURE_TOKEN));
	reply_clear(&r);
	g_free(raw);
	g_free(path);
}

static void intent_words_in_french_and_english(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		cm_intent want;
	} cases[] = {
		{"J'accepte", CM_INTENT_ACCEPT},
		{"j’accepte", CM_INTENT_ACCEPT},
		{"ACCEPTÉ", CM_INTENT_ACCEPT},
		{"Je valide", CM_INTENT_ACCEPT},
		{"oui", CM_INTENT_ACCEPT},
		{"ok", CM_INTENT_ACCEPT},
		{"okay", CM_INTENT_ACCEPT},
		{"Yes please", CM_INTENT_ACCEPT},
		{"I confirm", CM_INTENT_ACCEPT},
		{"D'accord", CM_INTENT_ACCEPT},
		{"Je refuse", CM_INTENT_REFUSE},
		{"refus", CM_INTENT_REFUSE},
		{"Non", CM_INTENT_REFUSE},
		{"no", CM_INTENT_REFUSE},
		{"I decline", CM_INTENT_REFUSE},
		{"Reject.", CM_INTENT_REFUSE},
		{"je n'accepte pas", CM_INTENT_REFUSE},
		{"Je ne valide pas ce changement", CM_INTENT_REFUSE},
		{"I do not accept", CM_INTENT_REFUSE},
		{"I don't accept", CM_INTENT_REFUSE},
		{"I never agreed to this", CM_INTENT_REFUSE},
		{"Nonobstant, j'accepte", CM_INTENT_ACCEPT},
		{"nonobstant", CM_INTENT_NONE},
		{"Okapi", CM_INTENT_NONE},
		{"noted", CM_INTENT_NONE},
		{"", CM_INTENT_NONE},
		{"oui ou non", CM_INTENT_BOTH},
		/* the first line decides when it alone is clear */
		{"J'accepte\nNo problem for me.", CM_INTENT_ACCEPT},
		{"Merci.\nJe refuse.", CM_INTENT_REFUSE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char why[128] = "";
		cm_intent got = reply_intent(cases[i].text, why, sizeof why);
		if (got != cases[i].want)
			print_error("'%s': got %d, wanted %d\n", cases[i].text, got, cases[i].want);
		assert_int_equal(got, cases[i].want);
		if (got == CM_INTENT_NONE || got == CM_INTENT_BOTH)
			assert_true(why[0]);
	}
}

/* The opening: greetings passed over, ended by any closing, signature,
 * footer, phone, disclaimer or name, at most two paragraphs of six lines. */
static void opening_is_what_comes_before_the_sign_off(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"Bonjour,\n\nC'est bon pour moi, allez-y.\n\nCordialement\n\nJean Dupont\nTél. 01 23 45 67 89\n\n"
		 "La société refuse toute responsabilité.",
		 "C'est bon pour moi, allez-y."},
		{"Hello Alice,\nI accept.\nBest,\nBob", "I accept."},
		{"Madame, Monsieur,\n\nJe refuse.\n-- \nJ. Dupont", "Je refuse."},
		{"Bonjour, j'accepte.\nBonne journée", "j'accepte."},
		{"Guten Tag Frau Weber,\n\nOK.\n\nMit freundlichen Grüßen\nHans", "OK."},
		{"Merci pour votre message.\n\nJe refuse.\n\nTél. : 01 23 45 67 89", "Je refuse."},
		{"Merci, j'accepte.\nMarie", "Merci, j'accepte."},
		{"Thanks for the mail, I refuse.\nThanks,\nJo", "Thanks for the mail, I refuse."},
		{"Oui\nJean Dupont\nService Non", "Oui"},
		{"one\n\ntwo\nthree\n\nfour", "one\n\ntwo\nthree"},
		{"1\n2\n3\n4\n5\n6\n7\n8", "1\n2\n3\n4\n5\n6"},
		{"Yes.\nSent from Yahoo Mail on Android", "Yes."},
		{"Oui.\nwww.example.com\nJ'accepte", "Oui."},
		{"Oui.\nAVERTISSEMENT : ce message est confidentiel.", "Oui."},
		{"J'accepte le 26/11/2026 à 09:00", "J'accepte le 26/11/2026 à 09:00"},
		{"Cordialement,\nJean\nLa société refuse toute responsabilité.", ""},
		{"Envoyé de mon iPhone", ""},
		{"", ""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = reply_opening(cases[i].text);
		/* paragraphs are joined by single new lines */
		char *want = g_strdup(cases[i].want);
		char *w = want;
		for (const char *p = cases[i].want; *p; p++)
			if (!(*p == '\n' && p[1] == '\n'))
				*w++ = *p;
		*w = '\0';
		if (strcmp(got, want) != 0)
			print_error("case %zu: opening '%s', wanted '%s'\n", i, got, want);
		assert_string_equal(got, want);
		g_free(got);
		g_free(want);
	}
}

/* Replies as customers write them: the answer in the opening, the opposite
 * word below it; phrasings without a keyword; negations still read. */
static void intent_from_the_opening_only(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		cm_intent want;
	} cases[] = {
		{"Bonjour,\n\nC'est bon pour moi, allez-y.\n\nCordialement\n\nJean Dupont\nACME SAS\nTél. 01 23 45 67 89\n\n"
		 "La société ACME refuse toute responsabilité quant au contenu de ce message.",
		 CM_INTENT_ACCEPT},
		{"J'accepte\n\nJean Dupont\nDirecteur\n\nCe message est confidentiel. La société refuse toute "
		 "responsabilité.",
		 CM_INTENT_ACCEPT},
		{"I refuse.\n\nRegards,\nJohn\n\nSent from Yahoo Mail on Android - by replying you accept our terms.",
		 CM_INTENT_REFUSE},
		{"Hello Alice,\n\nfine by me.\n\nBest,\nBob", CM_INTENT_ACCEPT},
		{"Sounds good to me.\n\nThanks,\nJohn\n\nThis email is confidential. If you are not the intended "
		 "recipient, please reject it.",
		 CM_INTENT_ACCEPT},
		{"Hallo,\n\nOK, einverstanden.\n\nMit freundlichen Grüßen\nHans\n\nDiese E-Mail ist vertraulich. No "
		 "liability.",
		 CM_INTENT_ACCEPT},
		{"Hola,\n\nOK.\n\nSaludos,\nMaría\n\nEste mensaje es confidencial. Si no es el destinatario, no lo lea.",
		 CM_INTENT_ACCEPT},
		{"Buongiorno,\n\nOK.\n\nCordiali saluti\nMarco\n\nQuesto messaggio è riservato, non leggetelo.",
		 CM_INTENT_ACCEPT},
		{"Goedemorgen,\n\nJe refuse.\n\nMet vriendelijke groet,\nJan\n\nDit bericht is vertrouwelijk. OK?",
		 CM_INTENT_REFUSE},
		{"Bonjour,\n\nCordialement,\nJean\n\nLa société refuse toute responsabilité", CM_INTENT_NONE},
		{"Bonjour,\n\nMerci pour votre message.\n\nCordialement\nJean Martin\n06 12 34 56 78\nAvertissement : "
		 "la société refuse toute responsabilité.",
		 CM_INTENT_NONE},
		{"Bonjour,\n\nJ'ai bien reçu votre message.\n\nJe refuse.\n\nCordialement", CM_INTENT_REFUSE},
		{"Bonjour,\n\nJe vous remercie.\nAprès réflexion, je refuse ce changement.\n\nCordialement",
		 CM_INTENT_REFUSE},
		{"Bien reçu.\n\nJe regarde.\n\nJe refuse tout autre changement.", CM_INTENT_NONE},
		{"Bonjour, je refuse.", CM_INTENT_REFUSE},
		{"Hi, no.", CM_INTENT_REFUSE},
		{"Thanks for your mail, I accept.", CM_INTENT_ACCEPT},
		{"Oui : 06 12 34 56 78", CM_INTENT_ACCEPT},
		{"Envoyé de mon iPhone", CM_INTENT_NONE},
		{"J'accepte \xff\xfe\xc3", CM_INTENT_ACCEPT},
		{"\xe2\x82\nJean \xf8\x88", CM_INTENT_NONE},
		/* phrasings without a keyword, and their negations */
		{"C'est bon pour moi.", CM_INTENT_ACCEPT},
		{"Allez-y.", CM_INTENT_ACCEPT},
		{"Pas de souci.", CM_INTENT_ACCEPT},
		{"Pas de problème, oui.", CM_INTENT_ACCEPT},
		{"Il n'y a pas de souci.", CM_INTENT_ACCEPT},
		{"Je ne vois pas de problème.", CM_INTENT_ACCEPT},
		{"Vous avez mon accord.", CM_INTENT_ACCEPT},
		{"Bon pour accord.", CM_INTENT_ACCEPT},
		{"Ça me convient.", CM_INTENT_ACCEPT},
		{"Go ahead.", CM_INTENT_ACCEPT},
		{"Fine by me.", CM_INTENT_ACCEPT},
		{"Sounds good.", CM_INTENT_ACCEPT},
		{"No problem.", CM_INTENT_ACCEPT},
		{"No worries, approved.", CM_INTENT_ACCEPT},
		{"Ce n'est pas bon pour moi.", CM_INTENT_NONE},
		{"Je ne dis pas allez-y.", CM_INTENT_NONE},
		{"Don't go ahead.", CM_INTENT_NONE},
		{"Pas d'accord.", CM_INTENT_REFUSE},
		{"Je n'accepte pas.", CM_INTENT_REFUSE},
		{"Hors de question.", CM_INTENT_REFUSE},
		{"No way.", CM_INTENT_REFUSE},
		{"Je m'y oppose.", CM_INTENT_REFUSE},
		{"Oui, pas besoin de me rappeler.", CM_INTENT_ACCEPT},
		{"Pourquoi pas, j'accepte.", CM_INTENT_ACCEPT},
		{"Why not, I accept.", CM_INTENT_ACCEPT},
		{"Je ne peux qu'accepter.", CM_INTENT_ACCEPT},
		{"De plus, j'accepte.", CM_INTENT_ACCEPT},
		{"Je n'ai aucune objection.", CM_INTENT_ACCEPT},
		{"Pas vraiment d'accord.", CM_INTENT_REFUSE},
		{"Je ne suis pas du tout d'accord.", CM_INTENT_REFUSE},
		{"Ce n'est plus ok pour moi.", CM_INTENT_REFUSE},
		{"I do not want to accept this.", CM_INTENT_REFUSE},
		/* a question is not an answer */
		{"C'est bon ?", CM_INTENT_NONE},
		{"OK?", CM_INTENT_NONE},
		{"Is this for the tech role? Yes, I accept.", CM_INTENT_ACCEPT},
		{"No, go ahead.", CM_INTENT_BOTH},
		{"Pas de souci, je refuse.", CM_INTENT_BOTH},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char why[CM_REASON_MAX + 1] = "";
		cm_intent got = reply_intent(cases[i].text, why, sizeof why);
		if (got != cases[i].want)
			print_error("'%s': got %d, wanted %d\n", cases[i].text, got, cases[i].want);
		assert_int_equal(got, cases[i].want);
		/* no decision: the reason says how to answer */
		if (got == CM_INTENT_NONE || got == CM_INTENT_BOTH)
			assert_non_null(strstr(why, "reply with ACCEPT or REFUSE"));
	}
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static long maxrss_mb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

/* Understand raw within max_s seconds and without the process growing by
 * more than max_mb; never a crash; never a decision. */
static void bounded(const char *what, const char *raw, size_t len, double max_s, long max_mb)
{
	cm_reply_env env = {"validation", "contacts.example.com", "someone@example.net", NULL};
	struct timespec t0;
	long before = maxrss_mb();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cm_reply r;
	reply_understand(raw, len, &env, &r);
	double s = seconds_since(&t0);
	long grew = maxrss_mb() - before;
	print_message("%s: %.2f s, peak memory grew by %ld MB\n", what, s, grew);
	assert_true(s < max_s);
	assert_true(grew < max_mb);
	assert_false(r.has_token && (r.intent == CM_INTENT_ACCEPT || r.intent == CM_INTENT_REFUSE));
	reply_clear(&r);
}

static void bad_input_in_bounded_time_and_memory(void **state)
{
	(void)state;
	GString *s = g_string_new(NULL);

	/* 50 MB: a text part of 50 MB of lines. */
	g_string_append(s, "From: a@example.net\r\nSubject: big\r\nContent-Type: text/plain\r\n\r\nJ'accepte\r\n");
	while (s->len < 50u * 1024 * 1024)
		g_string_append(s, "> Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\r\n");
	bounded("a 50 MB message", s->str, s->len, 60, 1500);

	/* 1000-deep multipart nesting. */
	g_string_truncate(s, 0);
	g_string_append(s, "From: a@example.net\r\nMIME-Version: 1.0\r\n");
	for (int i = 0; i < 1000; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
	g_string_append(s, "Content-Type: text/plain\r\n\r\nJe refuse\r\n");
	for (int i = 999; i >= 0; i--)
		g_string_append_printf(s, "--b%d--\r\n", i);
	bounded("1000-deep multipart nesting", s->str, s->len, 10, 300);

	/* Invalid base64 and quoted-printable, an unknown charset. */
	static const char bad_b64[] = "From: a@example.net\r\nContent-Type: text/plain; charset=utf-8\r\n"
				      "Content-Transfer-Encoding: base64\r\n\r\n!!!!****====????\x01\x02 SmUgcmVmdXNl=====\r\n";
	bounded("invalid base64", bad_b64, sizeof bad_b64 - 1, 5, 100);
	static const char bad_qp[] = "From: a@example.net\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n"
				     "Content-Transfer-Encoding: quoted-printable\r\n\r\nJ=E9=ZZ=\r\n=\r\n=4\r\n";
	bounded("invalid quoted-printable and charset", bad_qp, sizeof bad_qp - 1, 5, 100);

	/* Invalid UTF-8 and NUL bytes in headers and body. */
	static const char bad_utf8[] = "From: \xff\xfe <a@example.net>\r\nSubject: \xc3\x28 \xe2\x82\r\n"
				       "Content-Type: text/plain; charset=utf-8\r\n\r\nOui \xed\xa0\x80 \xf8\x88\x80\x80\x80\r\n";
	bounded("invalid UTF-8", bad_utf8, sizeof bad_utf8 - 1, 5, 100);
	static const char nuls[] = "From: a@example.net\r\nSubj\0ect: x\0y\r\n\r\nJ'ac\0cepte\0\0\r\n";
	bounded("NUL bytes", nuls, sizeof nuls - 1, 5, 100);

	/* A header of 100 KB, folded and not. */
	g_string_truncate(s, 0);
	g_string_append(s, "From: a@example.net\r\nSubject: ");
	for (int i = 0; i < 100 * 1024 / 10; i++)
		g_string_append(s, i % 50 ? "aaaaaaaaaa" : "\r\n aaaaaa");
	g_string_append(s, "\r\nX-Long: ");
	for (int i = 0; i < 100 * 1024; i++)
		g_string_append_c(s, 'b');
	g_string_append(s, "\r\n\r\nOui\r\n");
	bounded("a 100 KB header", s->str, s->len, 5, 100);

	/* Nothing at all, and only headers. */
	bounded("empty input", "", 0, 1, 50);
	bounded("headers without a body", "From: a@example.net\r\n", 21, 1, 50);
	g_string_free(s, TRUE);
}

int main(void)
{
	GPtrArray *cases = g_ptr_array_new_with_free_func(g_free);
	char *tsv = NULL;
	if (!g_file_get_contents(FIXTURES "/EXPECTED.tsv", &tsv, NULL, NULL)) {
		fprintf(stderr, "cannot read " FIXTURES "/EXPECTED.tsv\n");
		return 1;
	}
	char **lines = g_strsplit(tsv, "\n", -1);
	for (int i = 0; lines[i]; i++) {
		if (lines[i][0] == '#' || !lines[i][0])
			continue;
		char **f = g_strsplit(lines[i], "\t", -1);
		if (g_strv_length(f) >= 5) {
			fixture_case *fc = g_new0(fixture_case, 1);
			g_strlcpy(fc->name, f[0], sizeof fc->name);
			g_strlcpy(fc->kind, f[1], sizeof fc->kind);
			g_strlcpy(fc->intent, f[2], sizeof fc->intent);
			g_strlcpy(fc->token_from, f[3], sizeof fc->token_from);
			g_strlcpy(fc->env_from, f[4], sizeof fc->env_from);
			g_ptr_array_add(cases, fc);
		}
		g_strfreev(f);
	}
	g_strfreev(lines);
	g_free(tsv);

	size_t n = cases->len + 4;
	struct CMUnitTest *tests = g_new0(struct CMUnitTest, n);
	for (guint i = 0; i < cases->len; i++) {
		fixture_case *fc = cases->pdata[i];
		tests[i].name = fc->name;
		tests[i].test_func = fixture_understood;
		tests[i].initial_state = fc;
	}
	tests[cases->len].name = "intent_words_in_french_and_english";
	tests[cases->len].test_func = intent_words_in_french_and_english;
	tests[cases->len + 1].name = "bad_input_in_bounded_time_and_memory";
	tests[cases->len + 1].test_func = bad_input_in_bounded_time_and_memory;
	tests[cases->len + 2].name = "opening_is_what_comes_before_the_sign_off";
	tests[cases->len + 2].test_func = opening_is_what_comes_before_the_sign_off;
	tests[cases->len + 3].name = "intent_from_the_opening_only";
	tests[cases->len + 3].test_func = intent_from_the_opening_only;
	int rc = _cmocka_run_group_tests("reply", tests, n, NULL, NULL);
	g_free(tests);
	g_ptr_array_free(cases, TRUE);
	return rc;
}
