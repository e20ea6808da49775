/* test_mail_words.c - every mail as a customer reads it (SPEC section 9):
 * each kind in both languages, for one role and for several, parsed back
 * with GMime as a mail client would.  The whole set is written to
 * $CM_MAILS_DIR (default build/mails) so that a person can look at it;
 * tests/mails/screenshots.py takes pictures of the HTML parts. */
#include <gmime/gmime.h>

#include "fixture.h"

#define CREATED 1796112300 /* 1 December 2026, 09:05 in Paris */
#define EXPIRES (CREATED + 14 * 86400)
#define DONE 1796964360 /* 11 December 2026, 05:46 in Paris */

/* Words that betray the other language; URLs and addresses are removed
 * first (a page link may well hold "token"). */
static const char *const english_words[] = {" the ", "request", "refused", "token", "by ", "(UTC)", " and ",
					    " your ", "please", " is ", "role", "Hello", "approval"};
static const char *const french_words[] = {" le ", " la ", " les ", "demande", "refusé", "jeton", " du ",
					   " vous", " et ", " de ", "Bonjour", "é", "rôle"};

typedef struct {
	const char *label;     /* "one" or "several" */
	cm_request req;
	cm_party p[2];
	const char *names[2];  /* account names of p[0], p[1] */
	int reader;            /* index in p of the recipient */
	const char *asker_name;
} scene;

static void scene_init(scene *s, bool several)
{
	memset(s, 0, sizeof *s);
	s->label = several ? "several" : "one";
	s->req.id = several ? 42 : 41;
	s->req.roles = several ? CM_ROLE_TECH | CM_ROLE_BILLING : CM_ROLE_TECH;
	cm_strlcpy(s->req.group, "ab12345-ovh-1", sizeof s->req.group);
	/* One role: alice, the admin, hands her own role to bob and reads the
	 * mail herself ("you").  Several: alice asks that carol's roles go to
	 * bob; bob reads, alice is spoken of. */
	cm_strlcpy(s->req.from_nic, several ? "carol-ovh" : "alice-ovh", sizeof s->req.from_nic);
	cm_strlcpy(s->req.to_nic, "bob-ovh", sizeof s->req.to_nic);
	cm_strlcpy(s->req.asked_by, "alice-ovh", sizeof s->req.asked_by);
	s->req.created_at = CREATED;
	s->req.expires_at = EXPIRES;
	s->req.done_at = DONE;
	s->p[0].request_id = s->p[1].request_id = s->req.id;
	s->p[0].side = CM_SIDE_FROM;
	s->p[1].side = CM_SIDE_TO;
	cm_strlcpy(s->p[0].nic, s->req.from_nic, sizeof s->p[0].nic);
	cm_strlcpy(s->p[0].email, several ? "carol@example.org" : "alice@example.com", sizeof s->p[0].email);
	cm_strlcpy(s->p[1].nic, "bob-ovh", sizeof s->p[1].nic);
	cm_strlcpy(s->p[1].email, "bob@example.net", sizeof s->p[1].email);
	s->names[0] = several ? "Carol Durand" : "Alice Martin";
	s->names[1] = "Bob Smith";
	s->reader = several ? 1 : 0;
	s->asker_name = "Alice Martin";
}

static const char *reason_for(cm_mail_kind k, const scene *s)
{
	static char buf[96];
	switch (k) {
	case CM_MAIL_REFUSED:
		snprintf(buf, sizeof buf, "refused_by:%s", s->p[1 - s->reader].nic);
		return buf;
	case CM_MAIL_CANCELLED: return "cancelled_by:alice-ovh";
	case CM_MAIL_EXPIRED: return "expired";
	case CM_MAIL_FAILED: return strcmp(s->label, "one") ? "billing_no_longer_met" : "not_holder:tech";
	case CM_MAIL_NOTICE: return "no_intent";
	default: return NULL;
	}
}

static GArray *sample_services(void)
{
	GArray *a = g_array_new(FALSE, FALSE, sizeof(cm_service));
	static const char *const sv[][2] = {{"0033972101010", "number"}, {"line-1", "line"}, {"standard", "alias"},
					    {"0033972101099", "fax"}};
	for (size_t i = 0; i < G_N_ELEMENTS(sv); i++) {
		cm_service x = {0};
		cm_strlcpy(x.group, "ab12345-ovh-1", sizeof x.group);
		cm_strlcpy(x.name, sv[i][0], sizeof x.name);
		cm_strlcpy(x.kind, sv[i][1], sizeof x.kind);
		g_array_append_val(a, x);
	}
	return a;
}

typedef struct {
	char *raw, *subject, *text, *html;
} rendered;

static char *part(GMimeMessage *m, const char *subtype)
{
	GMimeMultipart *mp = GMIME_MULTIPART(g_mime_message_get_mime_part(m));
	for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
		GMimeObject *o = g_mime_multipart_get_part(mp, i);
		if (g_mime_content_type_is_type(g_mime_object_get_content_type(o), "text", subtype)) {
			assert_string_equal(g_mime_object_get_header(o, "Content-Transfer-Encoding"), "8bit");
			return g_mime_text_part_get_text(GMIME_TEXT_PART(o));
		}
	}
	fail_msg("no text/%s part", subtype);
	return NULL;
}

static rendered render(fx *f, cm_mail_kind k, const char *lang, const scene *s, const GArray *services)
{
	const cm_party *me = &s->p[s->reader], *other = &s->p[1 - s->reader];
	cm_mail_ctx ctx = {
		.kind = k, .lang = lang, .rcpt = me->email, .req = k == CM_MAIL_NOTICE ? NULL : &s->req,
		.party = me, .other = other,
		.token = k == CM_MAIL_VALIDATION || k == CM_MAIL_REMINDER ? CM_TOKEN_PLACEHOLDER : NULL,
		.services = services, .reason = reason_for(k, s), .name = s->names[s->reader],
		.other_name = s->names[1 - s->reader], .asker_name = s->asker_name,
		.in_reply_to = k == CM_MAIL_NOTICE ? "r1@mail.example.com" : NULL,
	};
	cm_err err = {0};
	char sender[CM_EMAIL_MAX + 1];
	size_t len;
	rendered r = {0};
	cm_status st = mail_compose(f->cfg, &ctx, 7, DONE, &r.raw, &len, sender, &err);
	if (st)
		fail_msg("%s/%s: %s", lang, cm_mail_kind_str((cm_mail_kind)k), err.msg);
	GMimeStream *ms = g_mime_stream_mem_new_with_buffer(r.raw, len);
	GMimeParser *p = g_mime_parser_new_with_stream(ms);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	assert_non_null(m);
	r.subject = g_strdup(g_mime_message_get_subject(m));
	r.text = part(m, "plain");
	r.html = part(m, "html");
	g_object_unref(m);
	g_object_unref(p);
	g_object_unref(ms);
	return r;
}

static void rendered_free(rendered *r)
{
	g_free(r->raw);
	g_free(r->subject);
	g_free(r->text);
	g_free(r->html);
}

/* What a reader sees as words: no tags, no links, no addresses, one space
 * between words (the text part is wrapped). */
static char *words_of(const char *subject, const char *body, bool html)
{
	char *s = g_strdup_printf("%s\n%s", subject, body);
	static const char *const patterns[] = {"<!--.*?-->", "<[^>]*>", "https?://\\S+", "[^\\s<>\"]+@[^\\s<>\"]+",
					       "&nbsp;", "\\s+"};
	static const char *const with[] = {" ", " ", " ", " ", " ", " "};
	for (size_t i = html ? 0 : 2; i < G_N_ELEMENTS(patterns); i++) {
		GRegex *re = g_regex_new(patterns[i], G_REGEX_DOTALL, 0, NULL);
		char *t = g_regex_replace_literal(re, s, -1, 0, with[i], 0, NULL);
		g_regex_unref(re);
		g_free(s);
		s = t;
	}
	/* A no-break space reads as a space. */
	char **bits = g_strsplit(s, "\xc2\xa0", -1);
	g_free(s);
	s = g_strjoinv(" ", bits);
	g_strfreev(bits);
	return s;
}

static void expect_words(const char *what, const char *words, const char *want)
{
	if (!strstr(words, want))
		fail_msg("%s: \"%s\" missing in: %s", what, want, words);
}

static void refuse_words(const char *what, const char *words, const char *bad)
{
	const char *at = strstr(words, bad);
	if (at)
		fail_msg("%s: \"%s\" found near: ...%.60s...", what, bad, at > words + 30 ? at - 30 : words);
}

static void save(const char *dir, const char *name, const char *ext, const char *data)
{
	char *path = g_strdup_printf("%s/%s.%s", dir, name, ext);
	GError *e = NULL;
	if (!g_file_set_contents(path, data, -1, &e))
		fail_msg("cannot write %s: %s", path, e->message);
	g_free(path);
}

static const char *mails_dir(void)
{
	const char *d = g_getenv("CM_MAILS_DIR");
	return d && *d ? d : "build/mails";
}

/* The whole set, checked mail by mail. */
static void every_mail_reads_in_its_own_language(void **state)
{
	fx *f = *state;
	const char *dir = mails_dir();
	assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
	GArray *services = sample_services();
	GString *index = g_string_new("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>contact-milter mails"
				      "</title></head><body style=\"font-family:sans-serif\"><h1>Every mail</h1><ul>\n");
	int n = 0;
	for (int several = 0; several < 2; several++) {
		scene s;
		scene_init(&s, several);
		for (int k = CM_MAIL_VALIDATION; k <= CM_MAIL_LAST_MAIL; k++) {
			for (int l = 0; l < 2; l++) {
				bool fr = l == 0;
				const char *lang = fr ? "fr" : "en";
				char *name = g_strdup_printf("%s-%s-%s", cm_mail_kind_str((cm_mail_kind)k), s.label, lang);
				rendered r = render(f, (cm_mail_kind)k, lang, &s, services);
				char *tw = words_of(r.subject, r.text, false), *hw = words_of(r.subject, r.html, true);
				const char *const *bad = fr ? english_words : french_words;
				size_t nbad = fr ? G_N_ELEMENTS(english_words) : G_N_ELEMENTS(french_words);
				for (int h = 0; h < 2; h++) {
					const char *w = h ? hw : tw;
					char *what = g_strdup_printf("%s (%s)", name, h ? "html" : "text");
					for (size_t b = 0; b < nbad; b++)
						refuse_words(what, w, bad[b]);
					static const char *const plural_marks[] = {"(s)", "(es)", "(nt)", "(x)", "(e)"};
					for (size_t b = 0; b < G_N_ELEMENTS(plural_marks); b++)
						refuse_words(what, w, plural_marks[b]);
					/* The greeting names the reader's account (the operator's
					 * report greets nobody by name). */
					char *hello = k == CM_MAIL_REPORT ? g_strdup(fr ? "Bonjour," : "Hello,")
									  : g_strdup_printf("%s %s,", fr ? "Bonjour" : "Hello",
											    s.names[s.reader]);
					expect_words(what, w, hello);
					g_free(hello);
					if (k != CM_MAIL_NOTICE) {
						/* A date in words, in the configured zone. */
						bool ends = k == CM_MAIL_VALIDATION || k == CM_MAIL_WAITING || k == CM_MAIL_EXPIRED ||
							    k == CM_MAIL_REMINDER || k == CM_MAIL_BOUNCED;
						bool created = k == CM_MAIL_REPORT;
						expect_words(what, w, created ? (fr ? "1er décembre 2026 à 09:05 (heure de Paris)"
										    : "1 December 2026, 09:05 (Paris time)")
								      : ends ? (fr ? "15 décembre 2026 à 09:05 (heure de Paris)"
										   : "15 December 2026, 09:05 (Paris time)")
									     : (fr ? "11 décembre 2026 à 05:46 (heure de Paris)"
										   : "11 December 2026, 05:46 (Paris time)"));
						/* Singular or plural as the count says. */
						expect_words(what, w, several ? (fr ? "rôles technique et facturation"
										    : "technical and billing roles")
									      : (fr ? "rôle technique" : "technical role"));
					}
					if (k == CM_MAIL_VALIDATION || k == CM_MAIL_REMINDER)
						expect_words(what, w, fr ? "1er décembre 2026 à 09:05" : "1 December 2026, 09:05");
					if (k == CM_MAIL_VALIDATION || k == CM_MAIL_WAITING || k == CM_MAIL_DONE ||
					    k == CM_MAIL_REMINDER) {
						expect_words(what, w, fr ? "0033972101010 (numéro)" : "0033972101010 (number)");
						expect_words(what, w, fr ? "line-1 (ligne)" : "line-1 (line)");
						expect_words(what, w, "0033972101099 (fax)");
						expect_words(what, w, "standard (alias)");
					}
					g_free(what);
				}
				g_free(tw);
				g_free(hw);
				save(dir, name, "txt", r.text);
				save(dir, name, "html", r.html);
				save(dir, name, "eml", r.raw);
				g_string_append_printf(index, "<li><a href=\"%s.html\">%s</a> (<a href=\"%s.txt\">text</a>): %s</li>\n",
						       name, name, name, r.subject);
				rendered_free(&r);
				g_free(name);
				n++;
			}
		}
	}
	g_string_append(index, "</ul></body></html>\n");
	save(dir, "index", "html", index->str);
	g_string_free(index, TRUE);
	g_array_free(services, TRUE);
	assert_int_equal(n, 2 * (CM_MAIL_LAST_MAIL + 1) * 2);
}

static rendered render_one(fx *f, cm_mail_kind k, const char *lang, bool several)
{
	scene s;
	GArray *services = sample_services();
	scene_init(&s, several);
	rendered r = render(f, k, lang, &s, services);
	g_array_free(services, TRUE);
	return r;
}

static void the_asker_who_is_a_contact_is_spoken_to_as_you(void **state)
{
	fx *f = *state;
	rendered r = render_one(f, CM_MAIL_VALIDATION, "fr", false);
	char *w = words_of(r.subject, r.text, false);
	expect_words("fr", w, "Vous avez demandé que le rôle technique du groupe téléphonie ab12345-ovh-1 passe de "
			      "votre compte alice-ovh au compte bob-ovh (Bob Smith).");
	refuse_words("fr", w, "a demandé");
	expect_words("fr", w, "L'autre contact, Bob Smith (bob-ovh), reçoit son propre e-mail");
	g_free(w);
	rendered_free(&r);
	r = render_one(f, CM_MAIL_VALIDATION, "en", false);
	w = words_of(r.subject, r.text, false);
	expect_words("en", w, "You asked for the technical role of telephony group ab12345-ovh-1 to move from your "
			      "account alice-ovh to account bob-ovh (Bob Smith).");
	g_free(w);
	rendered_free(&r);
	/* Read by bob, the asker is someone else: the third person, and bob
	 * is "you" on his side of the change. */
	r = render_one(f, CM_MAIL_VALIDATION, "fr", true);
	w = words_of(r.subject, r.text, false);
	expect_words("fr", w, "Alice Martin (alice-ovh), administrateur du groupe, a demandé que les rôles technique "
			      "et facturation du groupe téléphonie ab12345-ovh-1 passent du compte carol-ovh (Carol "
			      "Durand) à votre compte bob-ovh.");
	g_free(w);
	rendered_free(&r);
}

static void the_validation_mail_gives_the_code_and_three_ways_to_answer(void **state)
{
	fx *f = *state;
	for (int l = 0; l < 2; l++) {
		bool fr = l == 0;
		rendered r = render_one(f, CM_MAIL_VALIDATION, fr ? "fr" : "en", false);
		char *w = words_of(r.subject, r.text, false);
		/* The code is personal, single-use, and says when it expires. */
		expect_words("text", r.text, "\n    " CM_TOKEN_PLACEHOLDER "\r\n");
		expect_words("text", w, fr ? "Ce code est personnel et ne sert qu'une fois. Il expire avec la demande, le "
					     "15 décembre 2026 à 09:05 (heure de Paris)."
					   : "This code is personal and works only once. It expires with the request, on "
					     "15 December 2026, 09:05 (Paris time).");
		expect_words("text", r.text, "https://manager.example.com/contacts/41?token=" CM_TOKEN_PLACEHOLDER);
		expect_words("text", w, fr ? "« J'accepte » ou « Je refuse » seul sur la première ligne"
					   : "\"I accept\" or \"I refuse\" alone on the first line");
		expect_words("text", r.text, "validation+accept-" CM_TOKEN_PLACEHOLDER "@contacts.example.com");
		expect_words("text", r.text, "validation+refuse-" CM_TOKEN_PLACEHOLDER "@contacts.example.com");
		expect_words("text", r.text, "validation+report-" CM_TOKEN_PLACEHOLDER "@contacts.example.com");
		/* The answers are buttons: links a mail client opens. */
		expect_words("html", r.html, "href=\"https://manager.example.com/contacts/41?token=" CM_TOKEN_PLACEHOLDER "\"");
		expect_words("html", r.html, "href=\"mailto:validation+accept-" CM_TOKEN_PLACEHOLDER "@contacts.example.com\"");
		expect_words("html", r.html, "href=\"mailto:validation+refuse-" CM_TOKEN_PLACEHOLDER "@contacts.example.com\"");
		expect_words("html", r.html, "href=\"mailto:validation+report-" CM_TOKEN_PLACEHOLDER "@contacts.example.com\"");
		expect_words("html", r.html, fr ? ">Ce n'est pas moi</a>" : ">This wasn't me</a>");
		/* The code is never in the subject. */
		assert_null(strstr(r.subject, CM_TOKEN_PLACEHOLDER));
		/* 8bit: the placeholder is one literal string in the stored message,
		 * in both parts, for the outbox to replace. */
		int seen = 0;
		for (const char *p = r.raw; (p = strstr(p, CM_TOKEN_PLACEHOLDER)); p++)
			seen++;
		assert_true(seen >= 10);
		assert_null(strstr(r.raw, "quoted-printable"));
		g_free(w);
		rendered_free(&r);
	}
}

static void text_lines_fit_72_columns_and_raw_lines_998_bytes(void **state)
{
	fx *f = *state;
	for (int k = CM_MAIL_VALIDATION; k <= CM_MAIL_NOTICE; k++) {
		for (int l = 0; l < 2; l++) {
			rendered r = render_one(f, (cm_mail_kind)k, l ? "en" : "fr", true);
			char **lines = g_strsplit(r.text, "\r\n", -1);
			for (char **p = lines; *p; p++) {
				const char *word = *p + strspn(*p, " ");
				/* Only one unbreakable word (a link, an address) may be longer. */
				if (g_utf8_strlen(*p, -1) > 72 && strchr(word, ' '))
					fail_msg("%s/%s: a line of %ld columns: %s", cm_mail_kind_str((cm_mail_kind)k), l ? "en" : "fr",
						 g_utf8_strlen(*p, -1), *p);
			}
			g_strfreev(lines);
			for (const char *p = r.raw; *p;) {
				size_t n = strcspn(p, "\r\n");
				assert_true(n <= 998);
				p += n;
				p += strspn(p, "\r\n");
			}
			rendered_free(&r);
		}
	}
}

static void a_line_over_998_bytes_names_the_template(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	char *msg = NULL, sender[CM_EMAIL_MAX + 1];
	size_t len;
	char *dir = g_build_filename(f->dir, "tpl", "en", NULL);
	g_mkdir_with_parents(dir, 0700);
	char *txt = g_build_filename(dir, "notice.txt", NULL), *html = g_build_filename(dir, "notice.html", NULL);
	char *longline = g_strnfill(1200, 'x');
	char *body = g_strdup_printf("<p>%s</p>\n", longline);
	assert_true(g_file_set_contents(txt, "Subject: x\n\nHello\n", -1, NULL));
	assert_true(g_file_set_contents(html, body, -1, NULL));
	g_free(f->cfg->templates_dir);
	f->cfg->templates_dir = g_build_filename(f->dir, "tpl", NULL);
	cm_mail_ctx ctx = {.kind = CM_MAIL_NOTICE, .lang = "en", .rcpt = "x@example.com", .reason = "no_intent"};
	assert_int_equal(mail_compose(f->cfg, &ctx, 1, f->now, &msg, &len, sender, &err), CM_ERR_USAGE);
	assert_non_null(strstr(err.msg, html));
	assert_non_null(strstr(err.msg, "998"));
	assert_null(msg);
	g_free(longline);
	g_free(body);
	g_free(txt);
	g_free(html);
	g_free(dir);
}

static void reasons_are_worded_per_language_never_shown_as_codes(void **state)
{
	(void)state;
	static const char *const codes[] = {"refused_by:bob-ovh", "cancelled_by:alice-ovh", "expired",
					    "billing_no_longer_met", "not_holder:admin", "not_holder:tech",
					    "not_holder:billing", "no_intent", "both_intents", "unknown_token",
					    "used_token", "superseded_token", "expired_token", "closed",
					    "wrong_sender", "not_authenticated", "rate_limited", "too_large",
					    "cancelled_by:operator", "cancelled_by:system"};
	char *generic_fr = mail_reason_text("no_such_code", "fr"), *generic_en = mail_reason_text("no_such_code", "en");
	for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
		for (int l = 0; l < 2; l++) {
			bool fr = l == 0;
			char *t = mail_reason_text(codes[i], fr ? "fr" : "en");
			char *w = g_strdup_printf(" %s ", t);
			if (strcmp(t, fr ? generic_fr : generic_en) == 0)
				fail_msg("%s (%s) got the generic sentence", codes[i], fr ? "fr" : "en");
			refuse_words(codes[i], t, "_");
			const char *const *bad = fr ? english_words : french_words;
			size_t nbad = fr ? G_N_ELEMENTS(english_words) : G_N_ELEMENTS(french_words);
			for (size_t b = 0; b < nbad; b++)
				refuse_words(codes[i], w, bad[b]);
			g_free(w);
			g_free(t);
		}
	}
	/* The NIC a code carries is named, in words of the reader's language. */
	char *t = mail_reason_text("refused_by:bob-ovh", "fr");
	assert_string_equal(t, "Elle a été refusée par bob-ovh.");
	g_free(t);
	t = mail_reason_text("cancelled_by:alice-ovh", "en");
	assert_string_equal(t, "It was cancelled by alice-ovh.");
	g_free(t);
	t = mail_reason_text("cancelled_by:operator", "fr");
	assert_string_equal(t, "Elle a été annulée par notre service client.");
	g_free(t);
	/* No private detail of the other contact in a failed billing check. */
	t = mail_reason_text("billing_no_longer_met", "fr");
	assert_null(strstr(t, "retard"));
	g_free(t);
	/* Unknown, empty, legacy English or hostile: the generic sentence. */
	static const char *const odd[] = {"", "refused by bob-ovh", "refused_by:<script>", "no answer from both", NULL};
	for (size_t i = 0; i < G_N_ELEMENTS(odd); i++) {
		char *a = mail_reason_text(odd[i], "fr"), *b = mail_reason_text(odd[i], "en");
		assert_string_equal(a, generic_fr);
		assert_string_equal(b, generic_en);
		g_free(a);
		g_free(b);
	}
	assert_string_equal(generic_fr, "Pour plus de précisions, contactez notre service client.");
	assert_string_equal(generic_en, "For more details, please contact our customer service.");
	g_free(generic_fr);
	g_free(generic_en);
}

static void the_reader_who_refused_is_told_so_as_you(void **state)
{
	fx *f = *state;
	scene s;
	GArray *services = sample_services();
	scene_init(&s, false);
	cm_mail_ctx ctx = {.kind = CM_MAIL_REFUSED, .lang = "fr", .rcpt = s.p[1].email, .req = &s.req,
			   .party = &s.p[1], .other = &s.p[0], .services = services, .reason = "refused_by:bob-ovh",
			   .name = "Bob Smith", .other_name = "Alice Martin"};
	char *msg = NULL, sender[CM_EMAIL_MAX + 1];
	size_t len;
	cm_err err = {0};
	assert_int_equal(mail_compose(f->cfg, &ctx, 3, DONE, &msg, &len, sender, &err), CM_OK);
	/* The text is 8bit UTF-8: read it from the raw message. */
	assert_non_null(strstr(msg, "Vous l'avez refusée."));
	g_free(msg);
	ctx.party = &s.p[0];
	ctx.other = &s.p[1];
	ctx.rcpt = s.p[0].email;
	ctx.name = "Alice Martin";
	ctx.other_name = "Bob Smith";
	assert_int_equal(mail_compose(f->cfg, &ctx, 3, DONE, &msg, &len, sender, &err), CM_OK);
	assert_non_null(strstr(msg, "Elle a été refusée par Bob Smith (bob-ovh)."));
	g_free(msg);
	g_array_free(services, TRUE);
}

static void a_notice_answers_in_the_thread_of_the_reply(void **state)
{
	fx *f = *state;
	cm_mail_ctx ctx = {.kind = CM_MAIL_NOTICE, .lang = "fr", .rcpt = "alice@example.com", .reason = "no_intent",
			   .in_reply_to = "r1@mail.example.com"};
	char *msg = NULL, sender[CM_EMAIL_MAX + 1];
	size_t len;
	cm_err err = {0};
	assert_int_equal(mail_compose(f->cfg, &ctx, 3, DONE, &msg, &len, sender, &err), CM_OK);
	assert_non_null(strstr(msg, "\r\nIn-Reply-To: <r1@mail.example.com>\r\n"));
	assert_non_null(strstr(msg, "\r\nReferences: <r1@mail.example.com>\r\n"));
	/* Without a known account: a greeting all the same. */
	assert_non_null(strstr(msg, "\r\nBonjour,\r\n"));
	assert_non_null(strstr(msg, "«\u00a0J'accepte\u00a0»"));
	g_free(msg);
}

static void an_account_name_is_one_line_of_text(void **state)
{
	fx *f = *state;
	scene s;
	scene_init(&s, false);
	cm_mail_ctx ctx = {.kind = CM_MAIL_WAITING, .lang = "en", .rcpt = s.p[0].email, .req = &s.req,
			   .party = &s.p[0], .other = &s.p[1], .reason = NULL, .name = "Eve\r\nBcc: x@example.com",
			   .other_name = "<script>alert(1)</script>"};
	char *msg = NULL, sender[CM_EMAIL_MAX + 1];
	size_t len;
	cm_err err = {0};
	assert_int_equal(mail_compose(f->cfg, &ctx, 3, DONE, &msg, &len, sender, &err), CM_OK);
	assert_non_null(strstr(msg, "\r\nHello Eve  Bcc: x@example.com,\r\n"));
	assert_null(strstr(msg, "\r\nBcc:"));
	const char *html = strstr(msg, "Content-Type: text/html");
	assert_non_null(html);
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt; (bob-ovh)"));
	g_free(msg);
}

static void every_template_passes_the_start_up_check(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	cm_status st = mail_check_templates(f->cfg, &err);
	if (st)
		fail_msg("%s", err.msg);
}

/* The code is how a contact answers: a validation template that lost it
 * is refused at start (contact-milter -n), not found by a contact. */
static void a_validation_template_without_the_code_fails_the_start_up_check(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	static const char *const langs[] = {"fr", "en"};
	char *root = g_build_filename(f->dir, "tpl", NULL);
	for (size_t l = 0; l < G_N_ELEMENTS(langs); l++) {
		char *src = g_build_filename("config/templates", langs[l], NULL), *dst = g_build_filename(root, langs[l], NULL);
		GDir *d = g_dir_open(src, 0, NULL);
		assert_non_null(d);
		g_mkdir_with_parents(dst, 0700);
		for (const char *n; (n = g_dir_read_name(d));) {
			char *from = g_build_filename(src, n, NULL), *to = g_build_filename(dst, n, NULL), *text = NULL;
			assert_true(g_file_get_contents(from, &text, NULL, NULL));
			if (strcmp(langs[l], "en") == 0 && strcmp(n, "validation.txt") == 0) {
				g_free(text);
				text = g_strdup("Subject: Contact change\n\n{greeting}\n\nPlease answer.\n");
			} else if (strcmp(langs[l], "en") == 0 && strcmp(n, "validation.html") == 0) {
				g_free(text);
				text = g_strdup("<p>{greeting}</p>");
			}
			assert_true(g_file_set_contents(to, text, -1, NULL));
			g_free(text);
			g_free(from);
			g_free(to);
		}
		g_dir_close(d);
		g_free(src);
		g_free(dst);
	}
	g_free(f->cfg->templates_dir);
	f->cfg->templates_dir = root;
	assert_int_equal(mail_check_templates(f->cfg, &err), CM_ERR_USAGE);
	assert_non_null(strstr(err.msg, "validation template (en) shows no validation code"));
}

static void dates_follow_templates_timezone(void **state)
{
	fx *f = *state;
	g_free(f->cfg->timezone);
	f->cfg->timezone = g_strdup("America/New_York");
	rendered r = render_one(f, CM_MAIL_DONE, "en", false);
	char *w = words_of(r.subject, r.text, false);
	expect_words("en", w, "10 December 2026, 23:46 (New York time)");
	g_free(w);
	rendered_free(&r);
	g_free(f->cfg->timezone);
	f->cfg->timezone = g_strdup("UTC");
	r = render_one(f, CM_MAIL_DONE, "fr", false);
	w = words_of(r.subject, r.text, false);
	expect_words("fr", w, "11 décembre 2026 à 04:46 (heure UTC)");
	refuse_words("fr", w, "(UTC)");
	g_free(w);
	rendered_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
		T(every_mail_reads_in_its_own_language),
		T(the_asker_who_is_a_contact_is_spoken_to_as_you),
		T(the_validation_mail_gives_the_code_and_three_ways_to_answer),
		T(text_lines_fit_72_columns_and_raw_lines_998_bytes),
		T(a_line_over_998_bytes_names_the_template),
		T(reasons_are_worded_per_language_never_shown_as_codes),
		T(the_reader_who_refused_is_told_so_as_you),
		T(a_notice_answers_in_the_thread_of_the_reply),
		T(an_account_name_is_one_line_of_text),
		T(every_template_passes_the_start_up_check),
		T(a_validation_template_without_the_code_fails_the_start_up_check),
		T(dates_follow_templates_timezone),
	};
	return cmocka_run_group_tests_name("mail words", tests, NULL, NULL);
}
