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

/* One resinfo of an Authentication-Results value ("dkim=pass header.d=x"):
 * does it show a pass of method for domain, by the property that method
 * vouches for?  Each method stands alone: a dkim pass needs the DKIM
 * signing domain (header.d, or header.i's domain), an spf pass the
 * envelope's domain (smtp.mailfrom). */
static bool resinfo_passes(char *resinfo, const char *domain)
{
	char **w = g_strsplit_set(g_strstrip(resinfo), " \t\r\n", -1);
	bool pass = false, ok_domain = false;
	enum { OTHER, DKIM, SPF } method = OTHER;
	if (w[0] && strcmp(w[0], "dkim=pass") == 0)
		method = DKIM;
	else if (w[0] && strcmp(w[0], "spf=pass") == 0)
		method = SPF;
	for (int k = 1; method != OTHER && w[k]; k++) {
		const char *v = strchr(w[k], '=');
		if (!v)
			continue;
		v++;
		if (method == DKIM && (g_str_has_prefix(w[k], "header.d=") || g_str_has_prefix(w[k], "header.i=")))
			ok_domain |= domain_of_is(v, domain);
		else if (method == SPF && g_str_has_prefix(w[k], "smtp.mailfrom="))
			ok_domain |= domain_of_is(v, domain);
	}
	pass = method != OTHER && ok_domain;
	g_strfreev(w);
	return pass;
}

bool reply_auth_passes(const char *value, const char *authserv_id, const char *domain)
{
	char *v = ar_clean(value);
	char **parts = g_strsplit(v, ";", -1);
	bool pass = false;
	char **id = g_strsplit_set(g_strstrip(parts[0]), " \t", 2);
	bool trusted = id[0] && g_ascii_strcasecmp(id[0], authserv_id) == 0;
	g_strfreev(id);
	for (int i = 1; trusted && parts[i] && !pass; i++)
		pass = resinfo_passes(parts[i], domain);
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

/* Failures are counted against what a stranger cannot forge cheaply: the
 * client's address as the MTA saw it (else the envelope sender). */
static void client_key(const cm_envelope *env, char *key, size_t len)
{
	if (env->client_addr && env->client_addr[0])
		snprintf(key, len, "client:%s", env->client_addr);
	else
		snprintf(key, len, "envelope:%s", env->env_from ? env->env_from : "");
}

/* Count one failure for the client, and mail the reason to the contact's
 * own registered address when the message went to others too (never to a
 * stranger, never with text the sender chose).  One transaction. */
static cm_status failure_tx(cm_core *c, cm_handled *h, const cm_envelope *env, const char *notify_to,
			    const char *notify_lang, const char *code, int64_t now, cm_err *err)
{
	char key[CM_EMAIL_MAX + 80];
	cm_status st;
	client_key(env, key, sizeof key);
	if ((st = c->st->ops->failure_add(c->st, key, now, err)))
		return st;
	if (notify_to) {
		cm_mail_ctx ctx = {.kind = CM_MAIL_NOTICE, .lang = notify_lang, .rcpt = notify_to, .reason = code,
				   .in_reply_to = h->reply.message_id};
		if ((st = outbox_enqueue(c->st, c->cfg, &ctx, NULL, -1, 0, now, NULL, err)))
			return st;
		h->notice_queued = true;
	}
	return CM_OK;
}

static cm_status record_failure(cm_core *c, cm_handled *h, const cm_envelope *env, const char *notify_to,
				const char *notify_lang, const char *code, int64_t now, cm_err *err)
{
	CORE_TX(c, true, failure_tx(c, h, env, notify_to, notify_lang, code, now, err));
}

static cm_status over_limit(cm_core *c, const cm_envelope *env, int64_t now, bool *over, cm_err *err)
{
	char key[CM_EMAIL_MAX + 80];
	int64_t n = 0;
	*over = false;
	if (c->cfg->max_failures <= 0)
		return CM_OK;
	client_key(env, key, sizeof key);
	cm_status st = c->st->ops->failure_count(c->st, key, now - 3600, &n, err);
	*over = st == CM_OK && n >= c->cfg->max_failures;
	return st;
}

static bool temporary(cm_status st)
{
	return st == CM_ERR_BUSY || st == CM_ERR_IO || st == CM_ERR_INTERNAL || st == CM_ERR_USAGE;
}

/* A message to bounces+ID-SIG@: it marks outbox item ID bounced only when
 * it is a real delivery failure report for a mail we sent: a signature we
 * made, a null envelope sender, a multipart/report naming the recipient
 * of that item as failed, and the item sent.  Anything else changes
 * nothing; either way it is discarded quietly. */
static cm_status handle_bounce(cm_core *c, cm_handled *h, const cm_envelope *env, int64_t now, cm_err *err)
{
	cm_reply *r = &h->reply;
	cm_outbox_item it;
	const char *why = NULL;
	if (!token_bounce_sig_ok(c->cfg->secret, c->cfg->secret_len, r->bounce_of, r->bounce_sig))
		why = "not a bounce address we signed";
	else if (!env->env_from || env->env_from[0])
		why = "a bounce needs the null envelope sender";
	else if (!r->dsn)
		why = "not a delivery status report";
	if (!why) {
		cm_status st = c->st->ops->outbox_get(c->st, r->bounce_of, &it, NULL, err);
		if (st == CM_ERR_NOTFOUND)
			why = "no such mail";
		else if (st)
			return st;
		else if (it.state != CM_OUT_SENT)
			why = "that mail was not sent";
	}
	if (!why) {
		bool named = false;
		for (guint i = 0; i < r->dsn_failed->len && !named; i++)
			named = g_ascii_strcasecmp(r->dsn_failed->pdata[i], it.rcpt) == 0;
		if (!named)
			why = "the report does not name that mail's recipient as failed";
	}
	if (why) {
		char msg[CM_REASON_MAX + 1];
		snprintf(msg, sizeof msg, "bounce address: %s; nothing marked", why);
		set_reason(h, CM_OUTCOME_QUIET, msg);
		return CM_OK;
	}
	cm_status st = core_mark_bounced(c, r->bounce_of, r->kind_why[0] ? r->kind_why : "delivery failed", now, err);
	if (st)
		return st;
	h->request_id = it.request_id;
	set_reason(h, CM_OUTCOME_QUIET, "bounce of one of our mails: marked");
	return CM_OK;
}

cm_status reply_handle(cm_core *c, const char *raw, size_t len, const cm_envelope *env, int64_t now, cm_handled *h,
		       cm_err *err)
{
	cm_reply_env renv = {c->cfg->validation_local, c->cfg->validation_domain, env->env_from, env->rcpts};
	cm_request req;
	cm_party party;
	cm_status st;
	bool over, contact = false;
	const char *code = NULL;
	char why[CM_REASON_MAX + 1];

	memset(h, 0, sizeof *h);
	reply_understand(raw, len, &renv, &h->reply);
	cm_reply *r = &h->reply;

	if (r->bounce_of) {
		if ((st = handle_bounce(c, h, env, now, err)))
			goto tempfail;
		return CM_OK;
	}
	if (r->kind != CM_KIND_REPLY) {
		snprintf(why, sizeof why, "%s: %s", reply_kind_str(r->kind), r->kind_why);
		set_reason(h, CM_OUTCOME_QUIET, why);
		return CM_OK;
	}
	/* Who is writing: the contact a live token was mailed to, from that
	 * contact's own address (From, and the envelope where known)?  Only
	 * then does the answer bypass the failure count: failures others
	 * caused never block the contact's own reply (SPEC section 8). */
	if (r->has_token) {
		st = core_token_owner(c, &r->token, &req, &party, err);
		if (st == CM_OK) {
			h->request_id = req.id;
			bool env_ok = !env->env_from || g_ascii_strcasecmp(env->env_from, party.email) == 0;
			contact = r->from_count == 1 && g_ascii_strcasecmp(r->from, party.email) == 0 && env_ok;
		} else if (st != CM_ERR_TOKEN_UNKNOWN) {
			goto tempfail;
		}
	}
	if (!contact) {
		if ((st = over_limit(c, env, now, &over, err)))
			goto tempfail;
		if (over) {
			set_reason(h, CM_OUTCOME_RATE_LIMITED,
				   "too many failed answers from this address; try again in an hour");
			return CM_OK;
		}
	}
	if (env->truncated) {
		set_reason(h, CM_OUTCOME_REFUSED,
			   "message too large to be read whole: reply with a short message, without attachments");
		code = "too_large";
		goto refused;
	}
	if (!r->has_token) {
		set_reason(h, CM_OUTCOME_REFUSED, r->reason);
		code = "unknown_token";
		goto refused;
	}
	if (!h->request_id) {
		set_reason(h, CM_OUTCOME_REFUSED, "unknown token: answer from the latest validation e-mail");
		code = "unknown_token";
		goto refused;
	}
	if (r->from_count > 1) {
		set_reason(h, CM_OUTCOME_REFUSED, "an answer must have exactly one address in From");
		code = "wrong_sender";
		contact = false;
		goto refused;
	}
	if (!contact) {
		set_reason(h, CM_OUTCOME_REFUSED,
			   "this answer must come from the contact's own address, the one the validation e-mail went to");
		code = "wrong_sender";
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
			code = "not_authenticated";
			contact = false; /* not proven: no notice either */
			goto refused;
		}
	}
	if (r->intent != CM_INTENT_ACCEPT && r->intent != CM_INTENT_REFUSE && r->intent != CM_INTENT_REPORT) {
		set_reason(h, CM_OUTCOME_REFUSED, r->reason[0] ? r->reason : "reply with ACCEPT or REFUSE as the first line");
		code = strstr(r->reason, "both") ? "both_intents" : "no_intent";
		goto refused;
	}
	/* The same message delivered again is keyed by its Message-ID, or by a
	 * hash of its bytes when it has none. */
	char *key = r->message_id ? g_strdup(r->message_id)
				  : g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *)raw, len);
	cm_decision_result res;
	if (r->intent == CM_INTENT_REPORT)
		st = core_report(c, req.id, &r->token, CM_VIA_EMAIL, key, now, &res, err);
	else
		st = core_decide(c, req.id, &r->token,
				 r->intent == CM_INTENT_ACCEPT ? CM_DECISION_ACCEPTED : CM_DECISION_REFUSED, CM_VIA_EMAIL, key,
				 now, &res, err);
	g_free(key);
	if (st == CM_OK) {
		h->outcome = CM_OUTCOME_RECORDED;
		h->decision = res.decision;
		h->duplicate = res.duplicate;
		snprintf(h->reason, sizeof h->reason, "request %lld: %s %s%s%s", (long long)res.request_id, res.nic,
			 cm_decision_str(res.decision), r->intent == CM_INTENT_REPORT ? " and reported it" : "",
			 res.duplicate ? " (already recorded)" : "");
		return CM_OK;
	}
	if (temporary(st))
		goto tempfail;
	/* A From and an envelope can be forged: the SMTP answer names nobody,
	 * no date and no request (the audit trail has the details). */
	set_reason(h, CM_OUTCOME_REFUSED,
		   st == CM_ERR_TOKEN_USED ? "this validation code has already been used: there is nothing more to do"
		   : st == CM_ERR_TOKEN_SUPERSEDED
			   ? "this validation code was replaced by a newer e-mail: answer from the latest one"
		   : st == CM_ERR_EXPIRED ? "this request has expired: nothing was changed"
		   : st == CM_ERR_CLOSED	  ? "this request is already closed: nothing was changed"
					  : "this answer could not be recorded");
	code = st == CM_ERR_TOKEN_USED ? "used_token" : st == CM_ERR_TOKEN_SUPERSEDED ? "superseded_token"
		: st == CM_ERR_EXPIRED ? "expired_token" : "closed";
refused:;
	/* The reason is mailed (reply-all) only to the contact's registered
	 * address, and only when the contact wrote it. */
	const char *to = env->others && contact ? party.email : NULL;
	char lang[3] = "";
	if (to) {
		cm_account a;
		if (c->st->ops->account_get(c->st, party.nic, &a, NULL) == CM_OK)
			g_strlcpy(lang, a.lang, sizeof lang);
	}
	if ((st = record_failure(c, h, env, to, lang[0] ? lang : NULL, code, now, err)))
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
