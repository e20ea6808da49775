/* mail_compose.c - templates to MIME messages with GMime. */
#include "mail.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>

#include "token.h"

void mail_init(void)
{
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		g_mime_init();
		g_once_init_leave(&once, 1);
	}
}

static const char *role_label(const char *lang, cm_role r)
{
	bool fr = strcmp(lang, "fr") == 0;
	switch (r) {
	case CM_ROLE_ADMIN: return fr ? "administrateur" : "administrator";
	case CM_ROLE_TECH: return fr ? "technique" : "technical";
	case CM_ROLE_BILLING: return fr ? "facturation" : "billing";
	}
	return "?";
}

static char *roles_label(const char *lang, unsigned roles)
{
	GString *s = g_string_new(NULL);
	static const cm_role order[] = {CM_ROLE_ADMIN, CM_ROLE_TECH, CM_ROLE_BILLING};
	for (size_t i = 0; i < 3; i++)
		if (roles & order[i])
			g_string_append_printf(s, "%s%s", s->len ? ", " : "", role_label(lang, order[i]));
	return g_string_free(s, FALSE);
}

static void var(GHashTable *v, const char *k, const char *val)
{
	g_hash_table_insert(v, g_strdup(k), g_strdup(val ? val : ""));
}

static void var_take(GHashTable *v, const char *k, char *val)
{
	g_hash_table_insert(v, g_strdup(k), val);
}

/* The variables of a mail, in plain text. */
static GHashTable *vars_build(const cm_config *cfg, const cm_mail_ctx *c, const char *lang)
{
	GHashTable *v = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	bool fr = strcmp(lang, "fr") == 0;
	char buf[64];
	var(v, "reason", c->reason);
	char *subj = g_strdup(c->subject_extra ? c->subject_extra : "");
	for (char *q = subj; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	var_take(v, "subject", subj);
	var(v, "validation_address", cfg->validation_address);
	if (c->req) {
		const cm_request *r = c->req;
		var_take(v, "id", g_strdup_printf("%lld", (long long)r->id));
		var(v, "group", r->group);
		var_take(v, "roles", roles_label(lang, r->roles));
		var(v, "from_nic", r->from_nic);
		var(v, "to_nic", r->to_nic);
		var(v, "asked_by", r->asked_by);
		var(v, "expires_at", cm_time_format(r->expires_at, buf, sizeof buf));
		var(v, "created_at", cm_time_format(r->created_at, buf, sizeof buf));
	}
	if (c->party) {
		var(v, "nic", c->party->nic);
		var(v, "your_side", c->party->side == CM_SIDE_FROM
					 ? (fr ? "le contact sortant" : "the outgoing contact")
					 : (fr ? "le contact entrant" : "the incoming contact"));
	}
	if (c->other)
		var(v, "other_nic", c->other->nic);
	if (c->token) {
		const char *dom = cfg->validation_domain, *loc = cfg->validation_local;
		var(v, "token", c->token);
		var_take(v, "reply_address", g_strdup_printf("%s+%s@%s", loc, c->token, dom));
		var_take(v, "accept_address", g_strdup_printf("%s+accept-%s@%s", loc, c->token, dom));
		var_take(v, "refuse_address", g_strdup_printf("%s+refuse-%s@%s", loc, c->token, dom));
		var_take(v, "report_address", g_strdup_printf("%s+report-%s@%s", loc, c->token, dom));
		char *url = g_strdup(cfg->validate_url);
		char *id = g_strdup_printf("%lld", c->req ? (long long)c->req->id : 0LL);
		char **parts = g_strsplit(url, "{id}", -1);
		g_free(url);
		url = g_strjoinv(id, parts);
		g_strfreev(parts);
		parts = g_strsplit(url, "{token}", -1);
		g_free(url);
		url = g_strjoinv(c->token, parts);
		g_strfreev(parts);
		g_free(id);
		var_take(v, "url", url);
	}
	if (c->services) {
		GString *s = g_string_new(NULL);
		for (guint i = 0; i < c->services->len; i++) {
			const cm_service *sv = &g_array_index(c->services, cm_service, i);
			g_string_append_printf(s, "%s- %s (%s)", i ? "\n" : "", sv->name, sv->kind);
		}
		if (c->services->len == 0)
			g_string_append(s, fr ? "(aucun service)" : "(no service)");
		var_take(v, "services", g_string_free(s, FALSE));
	}
	return v;
}

/* Replace {name} from vars; html escapes values and turns newlines of
 * multi-line values into <br>.  NULL with err set on an unknown name. */
static char *expand(const char *tpl, GHashTable *vars, bool html, const char *tname, cm_err *err)
{
	GString *out = g_string_sized_new(strlen(tpl) + 512);
	const char *p = tpl;
	while (*p) {
		const char *open = strchr(p, '{');
		if (!open) {
			g_string_append(out, p);
			break;
		}
		const char *close = strchr(open, '}');
		size_t nlen = close ? (size_t)(close - open - 1) : 0;
		bool name_ok = close && nlen > 0 && nlen < 32;
		for (size_t i = 1; name_ok && i <= nlen; i++)
			name_ok = g_ascii_isalnum(open[i]) || open[i] == '_';
		g_string_append_len(out, p, open - p);
		if (!name_ok) {
			g_string_append_c(out, '{');
			p = open + 1;
			continue;
		}
		char *name = g_strndup(open + 1, nlen);
		const char *val = g_hash_table_lookup(vars, name);
		if (!val) {
			cm_err_set(err, CM_ERR_USAGE, "template %s: unknown or unavailable placeholder {%s}", tname, name);
			g_free(name);
			g_string_free(out, TRUE);
			return NULL;
		}
		g_free(name);
		if (html) {
			char *esc = g_markup_escape_text(val, -1);
			char **lines = g_strsplit(esc, "\n", -1);
			char *joined = g_strjoinv("<br>\n", lines);
			g_string_append(out, joined);
			g_free(joined);
			g_strfreev(lines);
			g_free(esc);
		} else {
			g_string_append(out, val);
		}
		p = close + 1;
	}
	return g_string_free(out, FALSE);
}

static char *template_read(const cm_config *cfg, const char *lang, cm_mail_kind kind, const char *ext,
			   char **path_out, cm_err *err)
{
	char *name = g_strdup_printf("%s.%s", cm_mail_kind_str(kind), ext);
	char *path = g_build_filename(cfg->templates_dir, lang, name, NULL);
	char *text = NULL;
	GError *gerr = NULL;
	g_free(name);
	if (!g_file_get_contents(path, &text, NULL, &gerr)) {
		cm_err_set(err, CM_ERR_USAGE, "cannot read template %s: %s", path, gerr->message);
		g_error_free(gerr);
	} else if (!g_utf8_validate(text, -1, NULL)) {
		cm_err_set(err, CM_ERR_USAGE, "template %s is not valid UTF-8", path);
		g_free(text);
		text = NULL;
	}
	*path_out = path;
	return text;
}

/* A text part whose content is the UTF-8 text as given (GMime's
 * g_mime_text_part_set_text would re-encode it to the "best" charset). */
static GMimeTextPart *text_part(const char *subtype, const char *body)
{
	GMimeTextPart *p = g_mime_text_part_new_with_subtype(subtype);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(body, strlen(body));
	GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(GMIME_PART(p), content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_text_part_set_charset(p, "utf-8");
	/* 8bit, not quoted-printable: the token's placeholder must stand
	 * literally in the stored message, never cut by a soft line break
	 * (outbox_render puts the token there when the mail is sent). */
	g_mime_part_set_content_encoding(GMIME_PART(p), GMIME_CONTENT_ENCODING_8BIT);
	return p;
}

static void add_mailbox(InternetAddressList *list, const char *addr)
{
	InternetAddress *a = internet_address_mailbox_new(NULL, addr);
	internet_address_list_add(list, a);
	g_object_unref(a);
}

cm_status mail_compose(const cm_config *cfg, const cm_mail_ctx *c, int64_t id, int64_t now, char **msg,
		       size_t *len, char sender[CM_EMAIL_MAX + 1], cm_err *err)
{
	const char *lang = c->lang && (strcmp(c->lang, "fr") == 0 || strcmp(c->lang, "en") == 0) ? c->lang
											       : cfg->default_lang;
	char *txt_path = NULL, *html_path = NULL, *txt_tpl = NULL, *html_tpl = NULL;
	char *txt = NULL, *html = NULL, *subject = NULL;
	GHashTable *vars = vars_build(cfg, c, lang);
	GMimeMessage *m = NULL;
	cm_status st = CM_OK;

	*msg = NULL;
	mail_init();
	if (!(txt_tpl = template_read(cfg, lang, c->kind, "txt", &txt_path, err)) ||
	    !(html_tpl = template_read(cfg, lang, c->kind, "html", &html_path, err))) {
		st = CM_ERR_USAGE;
		goto out;
	}
	if (strncmp(txt_tpl, "Subject:", 8) != 0 || !strstr(txt_tpl, "\n\n")) {
		st = cm_err_set(err, CM_ERR_USAGE, "template %s must start with 'Subject: ...' and a blank line",
				txt_path);
		goto out;
	}
	char *body_start = strstr(txt_tpl, "\n\n");
	*body_start = '\0';
	if (!(subject = expand(g_strstrip(txt_tpl + 8), vars, false, txt_path, err)) ||
	    !(txt = expand(body_start + 2, vars, false, txt_path, err)) ||
	    !(html = expand(html_tpl, vars, true, html_path, err))) {
		st = CM_ERR_USAGE;
		goto out;
	}
	/* A subject is one line, whatever the values held. */
	for (char *p = subject; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';

	m = g_mime_message_new(TRUE);
	InternetAddressList *from = internet_address_list_parse(NULL, cfg->smtp_from);
	if (from) {
		internet_address_list_append(g_mime_message_get_from(m), from);
		g_object_unref(from);
	}
	add_mailbox(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO), c->rcpt);
	if (c->token) {
		char *reply = g_strdup_printf("%s+%s@%s", cfg->validation_local, c->token, cfg->validation_domain);
		add_mailbox(g_mime_message_get_reply_to(m), reply);
		g_free(reply);
	}
	g_mime_message_set_subject(m, subject, "utf-8");
	GDateTime *date = g_date_time_new_from_unix_utc(now);
	g_mime_message_set_date(m, date);
	g_date_time_unref(date);
	char *mid = g_strdup_printf("cm.%lld.%08x%08x@%s", (long long)id, g_random_int(), g_random_int(),
				    cfg->validation_domain);
	g_mime_message_set_message_id(m, mid);
	g_free(mid);
	if (c->in_reply_to && *c->in_reply_to) {
		g_mime_object_set_header(GMIME_OBJECT(m), "In-Reply-To", c->in_reply_to, NULL);
		g_mime_object_set_header(GMIME_OBJECT(m), "References", c->in_reply_to, NULL);
	}
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
	if (c->req) {
		char ref[64];
		snprintf(ref, sizeof ref, "%lld", (long long)c->req->id);
		g_mime_object_set_header(GMIME_OBJECT(m), "X-Contact-Change-Request", ref, NULL);
	}

	GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
	GMimeTextPart *tp = text_part("plain", txt), *hp = text_part("html", html);
	g_mime_multipart_add(alt, GMIME_OBJECT(tp));
	g_mime_multipart_add(alt, GMIME_OBJECT(hp));
	g_object_unref(tp);
	g_object_unref(hp);
	g_mime_message_set_mime_part(m, GMIME_OBJECT(alt));
	g_object_unref(alt);

	GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	*msg = g_mime_object_to_string(GMIME_OBJECT(m), fo);
	g_mime_format_options_free(fo);
	*len = strlen(*msg);
	if (snprintf(sender, CM_EMAIL_MAX + 1, "bounces+%lld@%s", (long long)id, cfg->validation_domain) >
	    CM_EMAIL_MAX)
		st = cm_err_set(err, CM_ERR_USAGE, "validation domain too long for a bounce address");
out:
	if (m)
		g_object_unref(m);
	g_hash_table_destroy(vars);
	g_free(txt_path);
	g_free(html_path);
	g_free(txt_tpl);
	g_free(html_tpl);
	g_free(txt);
	g_free(html);
	g_free(subject);
	if (st != CM_OK) {
		g_free(*msg);
		*msg = NULL;
	}
	return st;
}

cm_status mail_check_templates(const cm_config *cfg, cm_err *err)
{
	static const char *const langs[] = {"fr", "en"};
	cm_request req = {.id = 1, .roles = CM_ROLE_TECH | CM_ROLE_BILLING, .state = CM_STATE_PENDING};
	cm_party p[2] = {{.request_id = 1, .side = CM_SIDE_FROM}, {.request_id = 1, .side = CM_SIDE_TO}};
	cm_service sv = {.name = "0033972101010", .kind = "number"};
	GArray *services = g_array_new(FALSE, FALSE, sizeof(cm_service));
	cm_status st = CM_OK;
	g_array_append_val(services, sv);
	cm_strlcpy(req.group, "ab12345-ovh-1", sizeof req.group);
	cm_strlcpy(req.from_nic, "xx1234-ovh", sizeof req.from_nic);
	cm_strlcpy(req.to_nic, "yy5678-ovh", sizeof req.to_nic);
	cm_strlcpy(req.asked_by, "xx1234-ovh", sizeof req.asked_by);
	req.created_at = 1764223000;
	req.expires_at = req.created_at + 14 * 86400;
	cm_strlcpy(p[0].nic, req.from_nic, sizeof p[0].nic);
	cm_strlcpy(p[0].email, "alice@example.com", sizeof p[0].email);
	cm_strlcpy(p[1].nic, req.to_nic, sizeof p[1].nic);
	cm_strlcpy(p[1].email, "bob@example.net", sizeof p[1].email);
	for (int k = CM_MAIL_VALIDATION; st == CM_OK && k <= CM_MAIL_LAST_MAIL; k++) {
		for (size_t l = 0; st == CM_OK && l < G_N_ELEMENTS(langs); l++) {
			cm_mail_ctx ctx = {
				.kind = (cm_mail_kind)k, .lang = langs[l], .rcpt = p[0].email,
				.req = k == CM_MAIL_NOTICE ? NULL : &req, .party = &p[0], .other = &p[1],
				.token = k == CM_MAIL_VALIDATION || k == CM_MAIL_REMINDER ? CM_TOKEN_PLACEHOLDER : NULL,
				.services = services, .reason = "sample reason",
			};
			char *msg = NULL, sender[CM_EMAIL_MAX + 1];
			size_t len;
			st = mail_compose(cfg, &ctx, 1, req.created_at, &msg, &len, sender, err);
			g_free(msg);
		}
	}
	g_array_free(services, TRUE);
	return st;
}
