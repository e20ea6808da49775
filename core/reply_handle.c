/* reply_handle.c - from an understood message to an outcome: bounces,
 * rate limits, sender and Authentication-Results checks, the decision. */
#include "reply_handle.h"

#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "outbox.h"

/* Remove (comments) from an Authentication-Results value, lowercased. */
static char *ar_clean(const char *v)
{
	GString *s = g_string_new(NULL);
	int depth = 0;
	for (const char *p = v; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (depth == 0)
			g_string_append_c(s, g_ascii_tolower(*p));
	}
	return g_string_free(s, FALSE);
}

static bool domain_of_is(const char *v, const char *domain)
{
	const char *at = strrchr(v, '@');
	return g_ascii_strcasecmp(at ? at + 1 : v, domain) == 0;
}

bool reply_auth_passes(const char *value, const char *authserv_id, const char *domain)
{
	char *v = ar_clean(value);
	char **parts = g_strsplit(v, ";", -1);
	bool pass = false;
	char **id = g_strsplit_set(g_strstrip(parts[0]), " \t", 2);
	bool trusted = id[0] && g_ascii_strcasecmp(id[0], authserv_id) == 0;
	g_strfreev(id);
	for (int i = 1; trusted && parts[i] && !pass; i++) {
		char **w = g_strsplit_set(g_strstrip(parts[i]), " \t\r\n", -1);
		bool dkim = false, spf = false, ok_domain = false;
		for (int k = 0; w[k]; k++) {
			if (strcmp(w[k], "dkim=pass") == 0)
				dkim = true;
			else if (strcmp(w[k], "spf=pass") == 0)
				spf = true;
			else if (g_str_has_prefix(w[k], "header.d=") || g_str_has_prefix(w[k], "header.i="))
				ok_domain |= domain_of_is(strchr(w[k], '=') + 1, domain);
			else if (g_str_has_prefix(w[k], "smtp.mailfrom=") || g_str_has_prefix(w[k], "smtp.from="))
				ok_domain |= domain_of_is(strchr(w[k], '=') + 1, domain);
		}
		pass = (dkim || spf) && ok_domain;
		g_strfreev(w);
	}
	g_strfreev(parts);
	g_free(v);
	return pass;
}

static void set_reason(cm_handled *h, cm_outcome o, const char *why)
{
	h->outcome = o;
	g_strlcpy(h->reason, why, sizeof h->reason);
	/* One line, printable ASCII only: it goes into an SMTP reply. */
	for (char *p = h->reason; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = ' ';
}

/* Count one failure for the sender and the request, and mail the sender
 * the reason when the message went to others too.  One transaction. */
static cm_status failure_tx(cm_core *c, cm_handled *h, bool notify, int64_t now, cm_err *err)
{
	char key[CM_EMAIL_MAX + 16];
	cm_status st;
	if (h->reply.from[0]) {
		snprintf(key, sizeof key, "sender:%s", h->reply.from);
		if ((st = c->st->ops->failure_add(c->st, key, now, err)))
			return st;
	}
	if (h->request_id) {
		snprintf(key, sizeof key, "request:%lld", (long long)h->request_id);
		if ((st = c->st->ops->failure_add(c->st, key, now, err)))
			return st;
	}
	if (notify && h->reply.from[0] && cm_email_valid(h->reply.from)) {
		cm_mail_ctx ctx = {.kind = CM_MAIL_NOTICE, .rcpt = h->reply.from, .reason = h->reason,
				   .subject_extra = h->reply.subject, .in_reply_to = h->reply.message_id};
		if ((st = outbox_enqueue(c->st, c->cfg, &ctx, NULL, now, NULL, err)))
			return st;
		h->notice_queued = true;
	}
	return CM_OK;
}

static cm_status record_failure(cm_core *c, cm_handled *h, bool notify, int64_t now, cm_err *err)
{
	CORE_TX(c, true, failure_tx(c, h, notify, now, err));
}

static cm_status too_many(cm_core *c, const char *kind, const char *what, int64_t now, bool *over, cm_err *err)
{
	char key[CM_EMAIL_MAX + 16];
	int64_t n = 0;
	*over = false;
	if (c->cfg->max_failures <= 0)
		return CM_OK;
	snprintf(key, sizeof key, "%s:%s", kind, what);
	cm_status st = c->st->ops->failure_count(c->st, key, now - 3600, &n, err);
	*over = st == CM_OK && n >= c->cfg->max_failures;
	return st;
}

static bool temporary(cm_status st)
{
	return st == CM_ERR_BUSY || st == CM_ERR_IO || st == CM_ERR_INTERNAL || st == CM_ERR_USAGE;
}

cm_status reply_handle(cm_core *c, const char *raw, size_t len, const cm_envelope *env, int64_t now, cm_handled *h,
		       cm_err *err)
{
	cm_reply_env renv = {c->cfg->validation_local, c->cfg->validation_domain, env->env_from, env->rcpts};
	cm_request req;
	cm_party party;
	cm_status st;
	bool over;
	char why[CM_REASON_MAX + 1];

	memset(h, 0, sizeof *h);
	reply_understand(raw, len, &renv, &h->reply);
	cm_reply *r = &h->reply;

	if (r->kind != CM_KIND_REPLY || r->bounce_of) {
		if (r->bounce_of && r->kind == CM_KIND_BOUNCE) {
			st = core_mark_bounced(c, r->bounce_of, r->kind_why, now, err);
			if (st && st != CM_ERR_NOTFOUND)
				goto tempfail;
		}
		snprintf(why, sizeof why, "%s: %s", reply_kind_str(r->kind), r->kind_why[0] ? r->kind_why : "mail to the bounce address");
		set_reason(h, CM_OUTCOME_QUIET, why);
		return CM_OK;
	}
	if (r->from[0] && (st = too_many(c, "sender", r->from, now, &over, err)))
		goto tempfail;
	if (r->from[0] && over) {
		set_reason(h, CM_OUTCOME_RATE_LIMITED, "too many failed answers from this address; try again in an hour");
		return CM_OK;
	}
	if (!r->has_token) {
		set_reason(h, CM_OUTCOME_REFUSED, r->reason);
		goto refused;
	}
	st = core_token_owner(c, &r->token, &req, &party, err);
	if (st == CM_ERR_TOKEN_UNKNOWN) {
		set_reason(h, CM_OUTCOME_REFUSED, "unknown token: answer from the latest validation e-mail");
		goto refused;
	}
	if (st)
		goto tempfail;
	h->request_id = req.id;
	char rid[24];
	snprintf(rid, sizeof rid, "%lld", (long long)req.id);
	if ((st = too_many(c, "request", rid, now, &over, err)))
		goto tempfail;
	if (over) {
		set_reason(h, CM_OUTCOME_RATE_LIMITED, "too many failed answers for this request; try again in an hour");
		return CM_OK;
	}
	bool env_ok = !env->env_from || !env->env_from[0] || g_ascii_strcasecmp(env->env_from, party.email) == 0;
	if (g_ascii_strcasecmp(r->from, party.email) != 0 || !env_ok) {
		set_reason(h, CM_OUTCOME_REFUSED,
			   "this answer must come from the contact's own address, the one the validation e-mail went to");
		goto refused;
	}
	if (c->cfg->trusted_authserv_id[0]) {
		const char *dom = strrchr(party.email, '@') + 1;
		bool pass = false;
		for (guint i = 0; i < r->auth_results->len && !pass; i++)
			pass = reply_auth_passes(r->auth_results->pdata[i], c->cfg->trusted_authserv_id, dom);
		if (!pass) {
			set_reason(h, CM_OUTCOME_REFUSED,
				   "the sender could not be authenticated (no DKIM or SPF pass); answer from your usual mail server");
			goto refused;
		}
	}
	if (r->intent != CM_INTENT_ACCEPT && r->intent != CM_INTENT_REFUSE) {
		set_reason(h, CM_OUTCOME_REFUSED, r->reason[0] ? r->reason : "reply with ACCEPT or REFUSE as the first line");
		goto refused;
	}
	/* The same message delivered again is keyed by its Message-ID, or by a
	 * hash of its bytes when it has none. */
	char *key = r->message_id ? g_strdup(r->message_id)
				  : g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)raw, len);
	cm_decision_result res;
	st = core_decide(c, req.id, &r->token, r->intent == CM_INTENT_ACCEPT ? CM_DECISION_ACCEPTED : CM_DECISION_REFUSED,
			 CM_VIA_EMAIL, key, now, &res, err);
	g_free(key);
	if (st == CM_OK) {
		h->outcome = CM_OUTCOME_RECORDED;
		h->decision = res.decision;
		h->duplicate = res.duplicate;
		snprintf(h->reason, sizeof h->reason, "request %lld: %s %s%s", (long long)res.request_id, res.nic,
			 cm_decision_str(res.decision), res.duplicate ? " (already recorded)" : "");
		return CM_OK;
	}
	if (temporary(st))
		goto tempfail;
	set_reason(h, CM_OUTCOME_REFUSED, err ? err->msg : cm_status_str(st));
refused:
	if ((st = record_failure(c, h, env->others, now, err)))
		goto tempfail;
	return CM_OK;
tempfail:
	h->outcome = CM_OUTCOME_TEMPFAIL;
	snprintf(h->reason, sizeof h->reason, "temporary failure, please retry later");
	return CM_OK;
}

void reply_handle_clear(cm_handled *h)
{
	reply_clear(&h->reply);
}
