/* mail_recipe.c - a queued mail's recipe: what mail_compose() needs of the
 * moment the mail was queued, written inside the transaction that queues
 * it (a GKeyFile of a few hundred bytes: no template, no GMime), composed
 * when the mail is sent or shown.  The recipe is a snapshot, so the mail
 * says what was true when it was queued, whatever changed since. */
#include "mail.h"

#include <stdio.h>
#include <string.h>

#include "token.h"

#define RECIPE_VERSION 1
#define RECIPE_SERVICES_MAX 10000

struct mail_recipe {
	cm_mail_ctx ctx;
	char lang[3];
	char rcpt[CM_EMAIL_MAX + 1];
	char reason[CM_REASON_MAX + 1];
	char in_reply_to[512];
	char name[CM_NAME_MAX + 1], other_name[CM_NAME_MAX + 1], asker_name[CM_NAME_MAX + 1];
	cm_request req;
	cm_party party, other;
	GArray *services; /* cm_service */
};

/* The recipe is written as a key file by hand and read back with
 * GKeyFile: GKeyFile's writer was nearly a third of the work a decision
 * does inside its transaction (callgrind: a hash and a list per key), and
 * writing "key=value" lines takes a few.  Values are escaped as GKeyFile
 * reads them: backslash-s for every space (leading and trailing ones
 * survive), backslash-n, -t, -r, and a doubled backslash; a value is made
 * valid UTF-8 first. */
static void put(GString *k, const char *key, const char *v)
{
	if (!v || !*v)
		return;
	char *valid = g_utf8_validate(v, -1, NULL) ? NULL : g_utf8_make_valid(v, -1);
	g_string_append(k, key);
	g_string_append_c(k, '=');
	for (const char *p = valid ? valid : v; *p; p++) {
		switch (*p) {
		case ' ': g_string_append(k, "\\s"); break;
		case '\n': g_string_append(k, "\\n"); break;
		case '\t': g_string_append(k, "\\t"); break;
		case '\r': g_string_append(k, "\\r"); break;
		case '\\': g_string_append(k, "\\\\"); break;
		default: g_string_append_c(k, *p);
		}
	}
	g_string_append_c(k, '\n');
	g_free(valid);
}

static void put_int(GString *k, const char *key, int64_t v)
{
	g_string_append_printf(k, "%s=%lld\n", key, (long long)v);
}

char *mail_recipe_write(const cm_mail_ctx *c)
{
	GString *k = g_string_sized_new(1024);
	char key[48];
	g_string_append(k, "[mail]\n");
	put_int(k, "version", RECIPE_VERSION);
	put(k, "kind", cm_mail_kind_str(c->kind));
	put(k, "lang", c->lang);
	put(k, "rcpt", c->rcpt);
	put_int(k, "token", c->token != NULL);
	put(k, "reason", c->reason);
	put(k, "in_reply_to", c->in_reply_to);
	put(k, "name", c->name);
	put(k, "other_name", c->other_name);
	put(k, "asker_name", c->asker_name);
	if (c->party) {
		put(k, "party", c->party->nic);
		put(k, "party_side", cm_side_str(c->party->side));
	}
	if (c->other)
		put(k, "other", c->other->nic);
	if (c->req) {
		const cm_request *r = c->req;
		put_int(k, "request", r->id);
		put(k, "group", r->group);
		put_int(k, "roles", r->roles);
		put(k, "from_nic", r->from_nic);
		put(k, "to_nic", r->to_nic);
		put(k, "asked_by", r->asked_by);
		put_int(k, "created_at", r->created_at);
		put_int(k, "expires_at", r->expires_at);
		put_int(k, "done_at", r->done_at);
	}
	if (c->services) {
		put_int(k, "services", c->services->len);
		for (guint i = 0; i < c->services->len; i++) {
			const cm_service *sv = &g_array_index(c->services, cm_service, i);
			snprintf(key, sizeof key, "service_%u", i);
			put(k, key, sv->name);
			snprintf(key, sizeof key, "service_%u_kind", i);
			put(k, key, sv->kind);
		}
	}
	return g_string_free(k, FALSE);
}

/* A string key into dst (bounded); a missing key is "". */
static bool get(GKeyFile *k, const char *key, char *dst, size_t n)
{
	char *v = g_key_file_get_string(k, "mail", key, NULL);
	bool ok = cm_strlcpy(dst, v ? v : "", n);
	g_free(v);
	return ok;
}

static int64_t get_int(GKeyFile *k, const char *key)
{
	return g_key_file_get_int64(k, "mail", key, NULL);
}

cm_status mail_recipe_read(const char *text, mail_recipe **out, cm_err *err)
{
	GKeyFile *k = g_key_file_new();
	mail_recipe *r = g_new0(mail_recipe, 1);
	GError *ge = NULL;
	char kind[16], side[8], key[48];
	cm_status st = CM_OK;
	int kn;

	*out = NULL;
	if (!g_key_file_load_from_data(k, text, (gsize)-1, G_KEY_FILE_NONE, &ge)) {
		st = cm_err_set(err, CM_ERR_INTERNAL, "a queued mail's recipe is unreadable: %s", ge->message);
		g_error_free(ge);
		goto out;
	}
	if (get_int(k, "version") != RECIPE_VERSION || !get(k, "kind", kind, sizeof kind) ||
	    (kn = cm_mail_kind_parse(kind)) < 0) {
		st = cm_err_set(err, CM_ERR_INTERNAL, "a queued mail's recipe is of an unknown version or kind");
		goto out;
	}
	r->ctx.kind = (cm_mail_kind)kn;
	if (!get(k, "lang", r->lang, sizeof r->lang) || !get(k, "rcpt", r->rcpt, sizeof r->rcpt) ||
	    !get(k, "reason", r->reason, sizeof r->reason) ||
	    !get(k, "in_reply_to", r->in_reply_to, sizeof r->in_reply_to) ||
	    !get(k, "name", r->name, sizeof r->name) || !get(k, "other_name", r->other_name, sizeof r->other_name) ||
	    !get(k, "asker_name", r->asker_name, sizeof r->asker_name) ||
	    !get(k, "party", r->party.nic, sizeof r->party.nic) || !get(k, "party_side", side, sizeof side) ||
	    !get(k, "other", r->other.nic, sizeof r->other.nic)) {
		st = cm_err_set(err, CM_ERR_INTERNAL, "a queued mail's recipe holds a value too long");
		goto out;
	}
	r->ctx.lang = r->lang[0] ? r->lang : NULL;
	r->ctx.rcpt = r->rcpt;
	r->ctx.token = get_int(k, "token") ? CM_TOKEN_PLACEHOLDER : NULL;
	r->ctx.reason = r->reason[0] ? r->reason : NULL;
	r->ctx.in_reply_to = r->in_reply_to[0] ? r->in_reply_to : NULL;
	r->ctx.name = r->name;
	r->ctx.other_name = r->other_name;
	r->ctx.asker_name = r->asker_name;
	if (r->party.nic[0]) {
		r->party.side = strcmp(side, "to") == 0 ? CM_SIDE_TO : CM_SIDE_FROM;
		r->ctx.party = &r->party;
	}
	if (r->other.nic[0])
		r->ctx.other = &r->other;
	if (g_key_file_has_key(k, "mail", "request", NULL)) {
		cm_request *q = &r->req;
		q->id = get_int(k, "request");
		q->roles = (unsigned)get_int(k, "roles") & CM_ROLE_ALL;
		q->created_at = get_int(k, "created_at");
		q->expires_at = get_int(k, "expires_at");
		q->done_at = get_int(k, "done_at");
		if (!get(k, "group", q->group, sizeof q->group) || !get(k, "from_nic", q->from_nic, sizeof q->from_nic) ||
		    !get(k, "to_nic", q->to_nic, sizeof q->to_nic) ||
		    !get(k, "asked_by", q->asked_by, sizeof q->asked_by)) {
			st = cm_err_set(err, CM_ERR_INTERNAL, "a queued mail's recipe holds a value too long");
			goto out;
		}
		r->ctx.req = q;
	}
	if (g_key_file_has_key(k, "mail", "services", NULL)) {
		int64_t n = get_int(k, "services");
		if (n < 0 || n > RECIPE_SERVICES_MAX) {
			st = cm_err_set(err, CM_ERR_INTERNAL, "a queued mail's recipe lists %lld services", (long long)n);
			goto out;
		}
		r->services = g_array_sized_new(FALSE, TRUE, sizeof(cm_service), (guint)n);
		for (int64_t i = 0; i < n; i++) {
			cm_service sv = {0};
			snprintf(key, sizeof key, "service_%lld", (long long)i);
			bool ok = get(k, key, sv.name, sizeof sv.name);
			snprintf(key, sizeof key, "service_%lld_kind", (long long)i);
			if (!ok || !get(k, key, sv.kind, sizeof sv.kind)) {
				st = cm_err_set(err, CM_ERR_INTERNAL, "a queued mail's recipe holds a value too long");
				goto out;
			}
			g_array_append_val(r->services, sv);
		}
		r->ctx.services = r->services;
	}
	*out = r;
	r = NULL;
out:
	g_key_file_free(k);
	mail_recipe_free(r);
	return st;
}

const cm_mail_ctx *mail_recipe_ctx(const mail_recipe *r)
{
	return &r->ctx;
}

void mail_recipe_free(mail_recipe *r)
{
	if (!r)
		return;
	if (r->services)
		g_array_free(r->services, TRUE);
	g_free(r);
}
