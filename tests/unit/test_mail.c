/* test_mail.c - what a contact receives, parsed back with GMime as a mail
 * client would. */
#include <gmime/gmime.h>

#include "fixture.h"
#include "outbox.h"

static GMimeMessage *parse(const char *msg)
{
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(msg, strlen(msg));
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);
	assert_non_null(m);
	return m;
}

static char *part_text(GMimeMessage *m, const char *subtype)
{
	GMimeObject *body = g_mime_message_get_mime_part(m);
	assert_true(GMIME_IS_MULTIPART(body));
	GMimeMultipart *mp = GMIME_MULTIPART(body);
	assert_int_equal(g_mime_multipart_get_count(mp), 2);
	for (int i = 0; i < 2; i++) {
		GMimeObject *o = g_mime_multipart_get_part(mp, i);
		GMimeContentType *ct = g_mime_object_get_content_type(o);
		if (g_mime_content_type_is_type(ct, "text", subtype)) {
			assert_string_equal(g_mime_object_get_content_type_parameter(o, "charset"), "utf-8");
			return g_mime_text_part_get_text(GMIME_TEXT_PART(o));
		}
	}
	fail_msg("no text/%s part", subtype);
	return NULL;
}

/* The words of a part as read, whatever the wrapping: one space between
 * words (no-break spaces too). */
static char *squash(const char *text)
{
	GRegex *re = g_regex_new("(\\s|\xc2\xa0)+", 0, 0, NULL);
	char *s = g_regex_replace_literal(re, text, -1, 0, " ", 0, NULL);
	g_regex_unref(re);
	return s;
}

static char *queued_message(fx *f, int64_t req, const char *rcpt, cm_mail_kind kind, cm_outbox_item *out)
{
	GArray *l = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	char *msg = NULL;
	assert_int_equal(f->st->ops->outbox_list(f->st, -1, req, l, NULL), CM_OK);
	for (guint i = 0; i < l->len && !msg; i++) {
		cm_outbox_item *it = &g_array_index(l, cm_outbox_item, i);
		if (it->kind == kind && strcmp(it->rcpt, rcpt) == 0)
			assert_int_equal(f->st->ops->outbox_get(f->st, it->id, out, &msg, NULL), CM_OK);
	}
	g_array_free(l, TRUE);
	assert_non_null(msg);
	/* As it is sent: the token in place of its placeholder. */
	char *sent = NULL;
	assert_int_equal(outbox_render(f->cfg, out, msg, &sent, NULL), CM_OK);
	g_free(msg);
	return sent;
}

static void the_validation_mail_has_what_the_spec_asks(void **state)
{
	fx *f = *state;
	cm_outbox_item it;
	char tok[CM_TOKEN_CHARS + 1], want[256];
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	char *raw = queued_message(f, id, "bob@example.net", CM_MAIL_VALIDATION, &it);
	cm_token t = fx_token(f, id, "bob@example.net");
	token_encode(&t, tok);
	/* Envelope sender ties a bounce to this item, signed so that only a
	 * bounce of a mail we sent counts. */
	char sig[CM_BOUNCE_SIG_CHARS + 1], sender[CM_EMAIL_MAX + 1];
	token_bounce_sig(f->cfg->secret, f->cfg->secret_len, it.id, sig);
	snprintf(want, sizeof want, "bounces+%lld-%s@contacts.example.com", (long long)it.id, sig);
	assert_int_equal(outbox_bounce_address(f->cfg, it.id, sender, NULL), CM_OK);
	assert_string_equal(sender, want);
	/* CRLF line ends throughout, as sent. */
	for (const char *p = strchr(raw, '\n'); p; p = strchr(p + 1, '\n'))
		assert_int_equal(p[-1], '\r');
	assert_null(strstr(raw, "Precedence:"));
	GMimeMessage *m = parse(raw);
	GMimeObject *o = GMIME_OBJECT(m);
	assert_string_equal(g_mime_object_get_header(o, "Auto-Submitted"), "auto-generated");
	assert_non_null(g_mime_message_get_message_id(m));
	assert_non_null(g_mime_message_get_date(m));
	snprintf(want, sizeof want, "validation+%s@contacts.example.com", tok);
	char *reply_to = internet_address_list_to_string(g_mime_message_get_reply_to(m), NULL, FALSE);
	assert_string_equal(reply_to, want);
	g_free(reply_to);
	/* bob reads English; the subject decodes to UTF-8 text. */
	snprintf(want, sizeof want, "Contact change #%lld for g1-ovh-1: your approval is requested", (long long)id);
	assert_string_equal(g_mime_message_get_subject(m), want);
	char *text = part_text(m, "plain"), *html = part_text(m, "html");
	assert_non_null(strstr(text, tok));
	snprintf(want, sizeof want, "validation+accept-%s@contacts.example.com", tok);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof want, "href=\"mailto:validation+refuse-%s@contacts.example.com\"", tok);
	assert_non_null(strstr(html, want));
	snprintf(want, sizeof want, "https://manager.example.com/contacts/%lld?token=%s", (long long)id, tok);
	assert_non_null(strstr(text, want));
	/* bob is spoken to as "you"; alice, the asker, in the third person. */
	char *words = squash(text);
	assert_non_null(strstr(words, "alice-ovh, administrator of the group, asked for the technical role of telephony "
				      "group g1-ovh-1 to move from account alice-ovh to your account bob-ovh."));
	assert_non_null(strstr(words, "The change will cover every service of the group: - 0033972101010 (number) - "
				      "line-1 (line)"));
	snprintf(want, sizeof want, "write to validation+report-%s@contacts.example.com", tok);
	assert_non_null(strstr(words, want));
	g_free(words);
	g_free(text);
	g_free(html);
	g_object_unref(m);
	g_free(raw);
}

static void french_contacts_read_french_with_accents_intact(void **state)
{
	fx *f = *state;
	cm_outbox_item it;
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	char *raw = queued_message(f, id, "alice@example.com", CM_MAIL_VALIDATION, &it);
	GMimeMessage *m = parse(raw);
	char want[128];
	snprintf(want, sizeof want, "Changement de contact n° %lld pour g1-ovh-1 : votre accord est demandé",
		 (long long)id);
	assert_string_equal(g_mime_message_get_subject(m), want);
	/* The raw subject is RFC 2047 encoded: 8-bit never goes out in a header. */
	for (const unsigned char *p = (const unsigned char *)raw; *p && !(p[0] == '\r' && p[2] == '\r'); p++)
		assert_true(*p < 0x80);
	char *text = part_text(m, "plain");
	/* alice asked, and reads her own mail: "vous". */
	char *words = squash(text);
	assert_non_null(strstr(words, "Vous avez demandé que le rôle technique du groupe téléphonie g1-ovh-1 passe de "
				      "votre compte alice-ovh au compte bob-ovh."));
	assert_non_null(strstr(words, "0033972101010 (numéro)"));
	g_free(words);
	g_free(text);
	g_object_unref(m);
	g_free(raw);
}

static void an_unknown_placeholder_names_the_template(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	char *msg = NULL, sender[CM_EMAIL_MAX + 1];
	size_t len;
	char *dir = g_build_filename(f->dir, "tpl", "en", NULL);
	g_mkdir_with_parents(dir, 0700);
	char *txt = g_build_filename(dir, "notice.txt", NULL), *html = g_build_filename(dir, "notice.html", NULL);
	assert_true(g_file_set_contents(txt, "Subject: x\n\nHello {nmae}\n", -1, NULL));
	assert_true(g_file_set_contents(html, "<p>{reason}</p>", -1, NULL));
	g_free(f->cfg->templates_dir);
	f->cfg->templates_dir = g_build_filename(f->dir, "tpl", NULL);
	cm_mail_ctx ctx = {.kind = CM_MAIL_NOTICE, .lang = "en", .rcpt = "x@example.com", .reason = "r"};
	assert_int_equal(mail_compose(f->cfg, &ctx, 1, f->now, &msg, &len, sender, &err), CM_ERR_USAGE);
	assert_non_null(strstr(err.msg, "unknown or unavailable placeholder {nmae}"));
	assert_non_null(strstr(err.msg, txt));
	assert_null(msg);
	g_free(txt);
	g_free(html);
	g_free(dir);
}

static void values_cannot_inject_headers_or_html(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	char *msg = NULL, sender[CM_EMAIL_MAX + 1];
	size_t len;
	cm_mail_ctx ctx = {.kind = CM_MAIL_NOTICE, .lang = "en", .rcpt = "x@example.com",
			   .reason = "<script>alert(1)</script>\r\nBcc: victim@example.com",
			   .in_reply_to = "x@y>\r\nBcc: victim@example.com"};
	assert_int_equal(mail_compose(f->cfg, &ctx, 7, f->now, &msg, &len, sender, &err), CM_OK);
	GMimeMessage *m = parse(msg);
	assert_null(g_mime_object_get_header(GMIME_OBJECT(m), "Bcc"));
	char *head = g_strndup(msg, (gsize)(strstr(msg, "\r\n\r\n") - msg));
	assert_null(strstr(head, "\r\nBcc:"));
	g_free(head);
	char *html = part_text(m, "html");
	/* A reason is a code, worded by us: an odd one never shows. */
	assert_null(strstr(html, "script"));
	assert_null(strstr(msg, "victim"));
	g_free(html);
	g_object_unref(m);
	g_free(msg);
}

/* The item of kind to rcpt (the latest), with its stored text. */
static char *stored_item(fx *f, int64_t req, const char *rcpt, cm_mail_kind kind, cm_outbox_item *out)
{
	GArray *l = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	char *stored = NULL;
	assert_int_equal(f->st->ops->outbox_list(f->st, -1, req, l, NULL), CM_OK);
	for (guint i = 0; i < l->len; i++) {
		cm_outbox_item *it = &g_array_index(l, cm_outbox_item, i);
		if (it->kind == kind && strcmp(it->rcpt, rcpt) == 0) {
			g_free(stored);
			assert_int_equal(f->st->ops->outbox_get(f->st, it->id, out, &stored, NULL), CM_OK);
		}
	}
	g_array_free(l, TRUE);
	assert_non_null(stored);
	return stored;
}

static void a_mail_is_queued_as_its_recipe_and_sent_as_it_was_shown(void **state)
{
	fx *f = *state;
	cm_outbox_item it;
	cm_err err = {0};
	static const char *const rcpts[2] = {"alice@example.com", "bob@example.net"};
	char *shown[2], *stored, *again = NULL;
	fx_cast(f);
	assert_int_equal(core_service_add(&f->core, "g1-ovh-1", "0033972100001", "number", &err), CM_OK);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	for (int i = 0; i < 2; i++) {
		/* Queued inside the creation's transaction: a recipe, not a message. */
		stored = stored_item(f, id, rcpts[i], CM_MAIL_VALIDATION, &it);
		assert_true(it.recipe);
		assert_null(strstr(stored, "Subject:"));
		assert_null(strstr(stored, "MIME-Version"));
		assert_null(strstr(stored, CM_TOKEN_PLACEHOLDER));
		assert_int_equal(outbox_render(f->cfg, &it, stored, &shown[i], &err), CM_OK);
		g_free(stored);
	}
	/* A snapshot: what changes after the mail was queued does not change it. */
	assert_int_equal(core_service_add(&f->core, "g1-ovh-1", "0033972100002", "number", &err), CM_OK);
	stored = stored_item(f, id, rcpts[1], CM_MAIL_VALIDATION, &it);
	assert_int_equal(outbox_render(f->cfg, &it, stored, &again, &err), CM_OK);
	assert_string_equal(shown[1], again); /* Message-ID and boundary included */
	assert_non_null(strstr(shown[1], "0033972100001"));
	assert_null(strstr(shown[1], "0033972100002"));
	g_free(again);
	g_free(stored);
	/* An attempt composes it; the message is then kept as composed (with
	 * the placeholder, never the token), and every later attempt and
	 * "outbox show" give these very bytes.  The server is unreachable:
	 * the first mail is tried, the other left untouched. */
	g_free(f->cfg->smtp_url);
	f->cfg->smtp_url = g_strdup("smtp://127.0.0.1:9");
	cm_deliver_stats stats;
	const char *due = "UPDATE outbox SET next_attempt_at = 0"; /* the fixture's clock is ahead */
	g_free(fx_sql(f, due, due));
	assert_int_equal(outbox_deliver(f->st, f->cfg, true, NULL, NULL, &stats, &err), CM_ERR_IO);
	int composed = 0;
	for (int i = 0; i < 2; i++) {
		stored = stored_item(f, id, rcpts[i], CM_MAIL_VALIDATION, &it);
		assert_int_equal(it.state, CM_OUT_QUEUED);
		if (!it.recipe) {
			composed++;
			assert_non_null(strstr(stored, "Reply-To: validation+" CM_TOKEN_PLACEHOLDER "@"));
			char sender[CM_EMAIL_MAX + 1];
			assert_int_equal(outbox_bounce_address(f->cfg, it.id, sender, NULL), CM_OK);
			assert_string_equal(it.sender, sender);
		}
		assert_int_equal(outbox_render(f->cfg, &it, stored, &again, &err), CM_OK);
		assert_string_equal(shown[i], again);
		g_free(again);
		g_free(stored);
		g_free(shown[i]);
	}
	assert_int_equal(composed, 1);
}

/* What a decision writes is what the mail is composed from, byte for byte:
 * spaces at either end, backslashes, line breaks, accents; a broken UTF-8
 * name comes back valid. */
static void a_recipe_gives_back_every_value_as_written(void **state)
{
	(void)state;
	cm_err err = {0};
	cm_request req = {.id = 42, .roles = CM_ROLE_TECH | CM_ROLE_BILLING, .created_at = 1764223000,
			  .expires_at = 1765432600, .done_at = 1764300000};
	cm_party party = {.side = CM_SIDE_TO}, other = {.side = CM_SIDE_FROM};
	strcpy(req.group, "ab12345-ovh-1");
	strcpy(req.from_nic, "xx1234-ovh");
	strcpy(req.to_nic, "yy5678-ovh");
	strcpy(req.asked_by, "xx1234-ovh");
	strcpy(party.nic, "yy5678-ovh");
	strcpy(other.nic, "xx1234-ovh");
	GArray *services = g_array_new(FALSE, TRUE, sizeof(cm_service));
	cm_service a = {.name = "line 1 \\ main ", .kind = "line"}, b = {.name = "0033972101010", .kind = "number"};
	g_array_append_val(services, a);
	g_array_append_val(services, b);
	cm_mail_ctx ctx = {.kind = CM_MAIL_REFUSED, .lang = "en", .rcpt = "bob@example.net", .req = &req,
			   .party = &party, .other = &other, .token = CM_TOKEN_PLACEHOLDER, .services = services,
			   .reason = "refused_by:xx1234-ovh", .in_reply_to = "<a b@example.net>",
			   .name = "  Ann \\ O'Neil\n\tX\r  ", .other_name = "Zoë Lefèvre", .asker_name = "Bad \xff name"};
	char *text = mail_recipe_write(&ctx);
	mail_recipe *r = NULL;
	assert_int_equal(mail_recipe_read(text, &r, &err), CM_OK);
	const cm_mail_ctx *c = mail_recipe_ctx(r);
	assert_int_equal(c->kind, CM_MAIL_REFUSED);
	assert_string_equal(c->lang, "en");
	assert_string_equal(c->rcpt, "bob@example.net");
	assert_non_null(c->token);
	assert_string_equal(c->reason, "refused_by:xx1234-ovh");
	assert_string_equal(c->in_reply_to, "<a b@example.net>");
	assert_string_equal(c->name, "  Ann \\ O'Neil\n\tX\r  ");
	assert_string_equal(c->other_name, "Zoë Lefèvre");
	char *valid = g_utf8_make_valid("Bad \xff name", -1);
	assert_string_equal(c->asker_name, valid);
	g_free(valid);
	assert_string_equal(c->party->nic, "yy5678-ovh");
	assert_int_equal(c->party->side, CM_SIDE_TO);
	assert_string_equal(c->other->nic, "xx1234-ovh");
	assert_int_equal(c->req->id, 42);
	assert_int_equal(c->req->roles, CM_ROLE_TECH | CM_ROLE_BILLING);
	assert_string_equal(c->req->group, "ab12345-ovh-1");
	assert_string_equal(c->req->asked_by, "xx1234-ovh");
	assert_true(c->req->created_at == 1764223000 && c->req->expires_at == 1765432600 && c->req->done_at == 1764300000);
	assert_int_equal(c->services->len, 2);
	assert_string_equal(g_array_index(c->services, cm_service, 0).name, "line 1 \\ main ");
	assert_string_equal(g_array_index(c->services, cm_service, 1).kind, "number");
	mail_recipe_free(r);
	g_free(text);
	/* Not a recipe: an error naming it, never a mail from nothing. */
	assert_int_equal(mail_recipe_read("[mail]\nversion=1\nkind=nonsense\n", &r, &err), CM_ERR_INTERNAL);
	assert_non_null(strstr(err.msg, "recipe"));
	g_array_free(services, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
		T(the_validation_mail_has_what_the_spec_asks),
		T(french_contacts_read_french_with_accents_intact),
		T(an_unknown_placeholder_names_the_template),
		T(values_cannot_inject_headers_or_html),
		T(a_mail_is_queued_as_its_recipe_and_sent_as_it_was_shown),
		T(a_recipe_gives_back_every_value_as_written),
	};
	return cmocka_run_group_tests_name("mail", tests, NULL, NULL);
}
