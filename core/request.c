/* request.c - creating, deciding, resending, cancelling and expiring
 * contact-change requests (SPEC section 2). */
#include "events.h"
#include "internal.h"
#include "outbox.h"

#include <stdio.h>
#include <string.h>

/* What a mail needs of an account: the language of its mails (lang may be
 * NULL) and the name it is greeted by ("" when unknown: the NIC then).  A
 * party read from the store carries them (party_pair, token_request);
 * otherwise one read.  No account: the default language, no name.  A store
 * failure fails the step. */
static cm_status account_words(cm_core *c, const char *nic, const cm_party *party, const char **lang,
			       char name[CM_NAME_MAX + 1], cm_err *err)
{
	static const char *const langs[] = {"fr", "en"};
	cm_account a;
	cm_status st = CM_ERR_NOTFOUND;
	name[0] = '\0';
	if (lang)
		*lang = c->cfg->default_lang;
	if (party && party->lang[0] && nic && strcmp(party->nic, nic) == 0) {
		memcpy(a.name, party->name, sizeof a.name);
		memcpy(a.lang, party->lang, sizeof a.lang);
		st = CM_OK;
	} else if (nic && *nic) {
		st = c->st->ops->account_get(c->st, nic, &a, err);
	}
	if (st == CM_OK) {
		memcpy(name, a.name, CM_NAME_MAX + 1);
		if (lang)
			*lang = strcmp(a.lang, "en") == 0 ? langs[1] : langs[0];
	}
	return st == CM_ERR_NOTFOUND ? CM_OK : st;
}

/* Queue a mail of kind to one party of req.  services: the group's, when
 * the caller has read them; read here otherwise (every request mail lists
 * them).  with_token: the mail carries the party's current token
 * (validation, reminder). */
static cm_status notify(cm_core *c, cm_mail_kind kind, const cm_request *req, const cm_party *to,
			const cm_party *other, bool with_token, const char *reason, const GArray *services,
			int64_t now, cm_err *err)
{
	char name[CM_NAME_MAX + 1], other_name[CM_NAME_MAX + 1], asker_name[CM_NAME_MAX + 1];
	GArray *own = NULL;
	const char *lang;
	cm_status st;
	/* One read per account: the asker is most often one of the two. */
	const char *asker = req ? req->asked_by : NULL;
	if ((st = account_words(c, to->nic, to, &lang, name, err)) ||
	    (st = account_words(c, other ? other->nic : NULL, other, NULL, other_name, err)))
		return st;
	if (asker && strcmp(asker, to->nic) == 0)
		memcpy(asker_name, name, sizeof asker_name);
	else if (asker && other && strcmp(asker, other->nic) == 0)
		memcpy(asker_name, other_name, sizeof asker_name);
	else if ((st = account_words(c, asker, NULL, NULL, asker_name, err)))
		return st;
	if (!services && req) {
		own = g_array_new(FALSE, FALSE, sizeof(cm_service));
		if ((st = c->st->ops->service_list(c->st, req->group, own, err))) {
			g_array_free(own, TRUE);
			return st;
		}
	}
	cm_mail_ctx ctx = {
		.kind = kind, .lang = lang, .rcpt = to->email, .req = req, .party = to,
		.other = other, .token = with_token ? CM_TOKEN_PLACEHOLDER : NULL, .services = own ? own : services,
		.reason = reason, .name = name, .other_name = other_name, .asker_name = asker_name,
	};
	st = outbox_enqueue(c->st, c->cfg, &ctx, to->nic, with_token ? (int)to->side : -1, to->token_serial, now,
			    NULL, err);
	if (own)
		g_array_free(own, TRUE);
	return st;
}

/* Tell both contacts; the group's services, which every mail lists, are
 * read once for the two. */
static cm_status notify_both(cm_core *c, cm_mail_kind kind, const cm_request *req, const cm_party p[2],
			     const char *reason, int64_t now, cm_err *err)
{
	GArray *services = g_array_new(FALSE, FALSE, sizeof(cm_service));
	cm_status st = c->st->ops->service_list(c->st, req->group, services, err);
	if (st == CM_OK)
		st = notify(c, kind, req, &p[CM_SIDE_FROM], &p[CM_SIDE_TO], false, reason, services, now, err);
	if (st == CM_OK)
		st = notify(c, kind, req, &p[CM_SIDE_TO], &p[CM_SIDE_FROM], false, reason, services, now, err);
	g_array_free(services, TRUE);
	return st;
}

/* A fresh token for one party (the next serial), derived from the secret:
 * the store keeps its hash, the queued mail a placeholder (rule 6). */
static cm_status send_validation(cm_core *c, const cm_request *req, cm_party p[2], cm_side side, int64_t now,
				 cm_err *err)
{
	cm_token tok;
	unsigned char hash[CM_TOKEN_HASH_BYTES];
	cm_status st;
	if (!c->cfg->secret_len)
		return cm_err_set(err, CM_ERR_USAGE, "no secret to derive tokens: %s is missing (run contactctl init)",
				  c->cfg->secret_file);
	int serial = p[side].token_serial + 1;
	token_derive(c->cfg->secret, c->cfg->secret_len, req->id, side, serial, &tok);
	token_hash(&tok, hash);
	if ((st = c->st->ops->token_insert(c->st, hash, req->id, side, serial, now, err)) ||
	    (st = c->st->ops->party_mailed(c->st, req->id, side, p[side].email, now, err)))
		return st;
	p[side].token_serial = serial;
	p[side].last_sent_at = now;
	return notify(c, CM_MAIL_VALIDATION, req, &p[side], &p[1 - side], true, NULL, NULL, now, err);
}

/* ---- create ---- */

typedef struct {
	const char *nic; /* incoming NIC for this role, or NULL */
	cm_role role;
} role_move;

static bool billing_ok(const cm_account *a)
{
	return a->voip_validated && a->payments_ok;
}

static cm_status billing_check(const cm_account *from, const cm_account *to, cm_err *err)
{
	const cm_account *bad = !billing_ok(from) ? from : !billing_ok(to) ? to : NULL;
	if (!bad)
		return CM_OK;
	return cm_err_set(err, CM_ERR_RULE,
			  "the billing role can only move between accounts that passed the VoIP validation and are up"
			  " to date with payments: %s %s",
			  bad->nic,
			  !bad->voip_validated && !bad->payments_ok ? "has neither"
			  : !bad->voip_validated			  ? "has not passed the VoIP validation"
								  : "is not up to date with payments");
}

static const char *holder(const cm_group *g, cm_role r)
{
	return r == CM_ROLE_ADMIN ? g->admin : r == CM_ROLE_TECH ? g->tech : g->billing;
}

static cm_status create_tx(cm_core *c, const char *group, const char *by, role_move moves[3], int64_t now,
			   GArray *ids, cm_err *err)
{
	cm_group g;
	cm_account by_acc;
	cm_status st;
	int64_t open_id;
	char roles_buf[32];

	if ((st = c->st->ops->group_lock(c->st, group, err)))
		return st;
	if ((st = c->st->ops->group_get(c->st, group, &g, err)))
		return st;
	if ((st = c->st->ops->account_get(c->st, by, &by_acc, err)))
		return st;
	if (strcmp(g.admin, by) != 0)
		return cm_err_set(err, CM_ERR_RULE,
				  "only the admin of group %s (%s) may ask for a contact change; %s is not its admin",
				  group, g.admin, by);
	for (int i = 0; i < 3; i++) {
		if (!moves[i].nic)
			continue;
		cm_account to;
		st = c->st->ops->account_get(c->st, moves[i].nic, &to, err);
		if (st == CM_ERR_NOTFOUND)
			return cm_err_set(err, st, "the new %s contact %s does not exist", cm_role_str(moves[i].role),
					  moves[i].nic);
		if (st)
			return st;
		if (strcmp(holder(&g, moves[i].role), moves[i].nic) == 0)
			return cm_err_set(err, CM_ERR_RULE, "%s is already the %s contact of group %s", moves[i].nic,
					  cm_role_str(moves[i].role), group);
		st = c->st->ops->request_open_with_roles(c->st, group, moves[i].role, &open_id, err);
		if (st == CM_OK)
			return cm_err_set(err, CM_ERR_RULE,
					  "the %s role of group %s is already in open request %lld; cancel it first",
					  cm_role_str(moves[i].role), group, (long long)open_id);
		if (st != CM_ERR_NOTFOUND)
			return st;
	}
	/* One request per distinct (outgoing, incoming) pair. */
	for (int i = 0; i < 3; i++) {
		if (!moves[i].nic)
			continue;
		cm_request req = {0};
		/* Every NIC here was normalised and bounded, or read from the store. */
		if (!cm_strlcpy(req.group, group, sizeof req.group) ||
		    !cm_strlcpy(req.from_nic, holder(&g, moves[i].role), sizeof req.from_nic) ||
		    !cm_strlcpy(req.to_nic, moves[i].nic, sizeof req.to_nic) ||
		    !cm_strlcpy(req.asked_by, by, sizeof req.asked_by))
			return cm_err_set(err, CM_ERR_INTERNAL, "a NIC longer than %d characters", CM_NIC_MAX);
		for (int j = i; j < 3; j++) {
			if (moves[j].nic && strcmp(moves[j].nic, req.to_nic) == 0 &&
			    strcmp(holder(&g, moves[j].role), req.from_nic) == 0) {
				req.roles |= moves[j].role;
				if (j != i)
					moves[j].nic = NULL;
			}
		}
		cm_account from_acc, to_acc;
		if ((st = c->st->ops->account_get(c->st, req.from_nic, &from_acc, err)) ||
		    (st = c->st->ops->account_get(c->st, req.to_nic, &to_acc, err)))
			return st;
		if ((req.roles & CM_ROLE_BILLING) && (st = billing_check(&from_acc, &to_acc, err)))
			return st;
		req.state = CM_STATE_PENDING;
		req.created_at = now;
		req.expires_at = now + c->cfg->request_ttl;
		if ((st = c->st->ops->request_insert(c->st, &req, err)))
			return st;
		cm_party p[2] = {
			{.request_id = req.id, .side = CM_SIDE_FROM},
			{.request_id = req.id, .side = CM_SIDE_TO},
		};
		memcpy(p[0].nic, from_acc.nic, sizeof p[0].nic);
		memcpy(p[0].email, from_acc.email, sizeof p[0].email);
		memcpy(p[1].nic, to_acc.nic, sizeof p[1].nic);
		memcpy(p[1].email, to_acc.email, sizeof p[1].email);
		if ((st = c->st->ops->party_insert(c->st, &p[0], err)) ||
		    (st = c->st->ops->party_insert(c->st, &p[1], err)) ||
		    (st = send_validation(c, &req, p, CM_SIDE_FROM, now, err)) ||
		    (st = send_validation(c, &req, p, CM_SIDE_TO, now, err)))
			return st;
		if ((st = core_audit(c, now, req.id, by, "created", err, "roles %s from %s to %s in group %s",
				     cm_roles_format(req.roles, roles_buf, sizeof roles_buf), req.from_nic, req.to_nic,
				     group)) ||
		    (st = events_queue(c, "request.created", &req, now, err)))
			return st;
		g_array_append_val(ids, req.id);
	}
	return CM_OK;
}

cm_status core_request_create(cm_core *c, const char *group_in, const char *by_in, const char *new_admin,
			      const char *new_tech, const char *new_billing, int64_t now, GArray *ids, cm_err *err)
{
	char group[CM_NIC_MAX + 1], by[CM_NIC_MAX + 1], nics[3][CM_NIC_MAX + 1];
	const char *in[3] = {new_admin, new_tech, new_billing};
	role_move moves[3] = {{NULL, CM_ROLE_ADMIN}, {NULL, CM_ROLE_TECH}, {NULL, CM_ROLE_BILLING}};

	if (!cm_strlcpy(group, group_in, sizeof group) || !cm_nic_normalise(group))
		return cm_err_set(err, CM_ERR_USAGE, "malformed group name '%s'", group_in);
	if (!cm_strlcpy(by, by_in, sizeof by) || !cm_nic_normalise(by))
		return cm_err_set(err, CM_ERR_USAGE, "malformed NIC '%s' (--by)", by_in);
	int n = 0;
	for (int i = 0; i < 3; i++) {
		if (!in[i])
			continue;
		if (!cm_strlcpy(nics[i], in[i], sizeof nics[i]) || !cm_nic_normalise(nics[i]))
			return cm_err_set(err, CM_ERR_USAGE, "malformed NIC '%s' (--%s)", in[i],
					  cm_role_str(moves[i].role));
		moves[i].nic = nics[i];
		n++;
	}
	if (n == 0)
		return cm_err_set(err, CM_ERR_USAGE, "nothing to change: give --admin, --tech or --billing");
	guint before = ids->len;
	cm_status st = c->st->ops->begin(c->st, true, err);
	if (st == CM_OK)
		st = create_tx(c, group, by, moves, now, ids, err);
	if (st == CM_OK)
		st = c->st->ops->commit(c->st, err);
	if (st != CM_OK) {
		c->st->ops->rollback(c->st);
		g_array_set_size(ids, before);
	}
	return st;
}

/* ---- decide ---- */

/* Both accepted: check again, then apply every role in this transaction. */
static cm_status complete(cm_core *c, cm_request *req, cm_party p[2], int64_t now, cm_err *err)
{
	cm_group g;
	cm_account from, to;
	cm_err why = {0};
	cm_status st;
	if ((st = c->st->ops->group_lock(c->st, req->group, err)) ||
	    (st = c->st->ops->group_get(c->st, req->group, &g, err)) ||
	    (st = c->st->ops->account_get(c->st, req->from_nic, &from, err)) ||
	    (st = c->st->ops->account_get(c->st, req->to_nic, &to, err)))
		return st;
	/* The reason is stored as a code (see request.h); the mails word it
	 * per language, and the audit keeps the operator's detail. */
	static const cm_role order[] = {CM_ROLE_ADMIN, CM_ROLE_TECH, CM_ROLE_BILLING};
	for (int i = 0; i < 3 && !why.msg[0]; i++)
		if ((req->roles & order[i]) && strcmp(holder(&g, order[i]), req->from_nic) != 0) {
			cm_err_set(&why, CM_ERR_RULE, "%s is no longer the %s contact of group %s", req->from_nic,
				   cm_role_str(order[i]), req->group);
			snprintf(req->reason, sizeof req->reason, "not_holder:%s", cm_role_str(order[i]));
		}
	if (!why.msg[0] && (req->roles & CM_ROLE_BILLING) && billing_check(&from, &to, &why) != CM_OK)
		snprintf(req->reason, sizeof req->reason, "billing_no_longer_met");
	req->done_at = now;
	if (why.msg[0]) {
		req->state = CM_STATE_FAILED;
		if ((st = c->st->ops->request_update(c->st, req, err)) ||
		    (st = c->st->ops->outbox_withdraw(c->st, req->id, -1, NULL, err)) ||
		    (st = notify_both(c, CM_MAIL_FAILED, req, p, req->reason, now, err)) ||
		    (st = events_queue(c, "request.failed", req, now, err)))
			return st;
		return core_audit(c, now, req->id, "system", "failed", err, "%s", why.msg);
	}
	/* The NICs were read from the store, within its bounds. */
	if (req->roles & CM_ROLE_ADMIN)
		memcpy(g.admin, req->to_nic, sizeof g.admin);
	if (req->roles & CM_ROLE_TECH)
		memcpy(g.tech, req->to_nic, sizeof g.tech);
	if (req->roles & CM_ROLE_BILLING)
		memcpy(g.billing, req->to_nic, sizeof g.billing);
	req->state = CM_STATE_DONE;
	char roles_buf[32];
	if ((st = c->st->ops->group_update(c->st, &g, err)) || (st = c->st->ops->request_update(c->st, req, err)) ||
	    (st = c->st->ops->outbox_withdraw(c->st, req->id, -1, NULL, err)) ||
	    (st = notify_both(c, CM_MAIL_DONE, req, p, NULL, now, err)) ||
	    (st = events_queue(c, "request.done", req, now, err)))
		return st;
	return core_audit(c, now, req->id, "system", "done", err, "group %s: %s now %s", g.name,
			  cm_roles_format(req->roles, roles_buf, sizeof roles_buf), req->to_nic);
}

/* "This wasn't me" (rule 11): the operator hears of it at
 * policy.security_address, when set. */
static cm_status report_tx(cm_core *c, const cm_request *req, const cm_party *me, const cm_party *other, cm_via via,
			   int64_t now, cm_err *err)
{
	cm_status st = core_audit(c, now, req->id, me->nic, "reported", err,
				  "%s contact %s said the request was not theirs to expect (by %s)", cm_side_str(me->side),
				  me->nic, cm_via_str(via));
	if (st || (st = events_queue(c, "request.reported", req, now, err)) || !c->cfg->security_address[0])
		return st;
	cm_mail_ctx ctx = {.kind = CM_MAIL_REPORT, .lang = c->cfg->default_lang, .rcpt = c->cfg->security_address,
			   .req = req, .party = me, .other = other, .reason = req->reason};
	return outbox_enqueue(c->st, c->cfg, &ctx, NULL, -1, 0, now, NULL, err);
}

static cm_status decide_tx(cm_core *c, int64_t id, const cm_token *tok, cm_decision d, bool report, cm_via via,
			   const char *message_id, int64_t now, cm_decision_result *res, cm_err *err)
{
	unsigned char hash[CM_TOKEN_HASH_BYTES];
	cm_token_ref ref;
	cm_request req;
	cm_party p[2];
	cm_status st;
	char when[32];

	token_hash(tok, hash);
	/* The token's request, locked, and its parties: one read. */
	st = c->st->ops->token_request(c->st, hash, true, &ref, &req, p, err);
	if (st == CM_ERR_TOKEN_UNKNOWN)
		return cm_err_set(err, st, "unknown token: check that it was copied whole from the latest e-mail");
	if (st)
		return st;
	/* The same message again gives the same answer.  Recorded first (one
	 * statement on the usual path, a new message): should the decision
	 * fail below, the transaction is rolled back and the record with it. */
	bool fresh = true;
	if (message_id && *message_id &&
	    (st = c->st->ops->reply_record(c->st, message_id, hash, ref.request_id, d, now, &fresh, err)))
		return st;
	if (!fresh) {
		int64_t rid;
		cm_decision prev;
		st = c->st->ops->reply_seen(c->st, message_id, hash, &rid, &prev, err);
		if (st == CM_OK) {
			res->duplicate = true;
			res->request_id = rid;
			res->decision = prev;
			res->side = ref.side;
			res->state = req.state;
			memcpy(res->nic, p[ref.side].nic, sizeof res->nic);
			return CM_OK;
		}
		if (st != CM_ERR_NOTFOUND)
			return st;
	}
	if (id && ref.request_id != id)
		return cm_err_set(err, CM_ERR_TOKEN_UNKNOWN, "this token does not belong to request %lld", (long long)id);
	cm_party *me = &p[ref.side];
	if (me->decision != CM_DECISION_NONE)
		return cm_err_set(err, CM_ERR_TOKEN_USED, "this token was already used: %s %s request %lld on %s",
				  me->nic, cm_decision_str(me->decision), (long long)req.id,
				  cm_time_format(me->decided_at, when, sizeof when));
	if (ref.superseded)
		return cm_err_set(err, CM_ERR_TOKEN_SUPERSEDED,
				  "this token was superseded by a newer e-mail for request %lld: use the latest one",
				  (long long)req.id);
	if (req.state == CM_STATE_EXPIRED || (req.state == CM_STATE_PENDING && now >= req.expires_at))
		return cm_err_set(err, CM_ERR_EXPIRED, "request %lld expired on %s", (long long)req.id,
				  cm_time_format(req.expires_at, when, sizeof when));
	if (req.state != CM_STATE_PENDING)
		return cm_err_set(err, CM_ERR_CLOSED, "request %lld is already %s", (long long)req.id,
				  cm_state_str(req.state));

	if ((st = c->st->ops->party_decide(c->st, req.id, ref.side, d, via, now, err)))
		return st;
	me->decision = d;
	me->decided_at = now;
	me->via = via;
	if ((st = core_audit(c, now, req.id, me->nic, cm_decision_str(d), err, "%s contact %s by %s",
			     cm_side_str(ref.side), cm_decision_str(d), cm_via_str(via))))
		return st;
	const cm_party *other = &p[1 - ref.side];
	if (d == CM_DECISION_REFUSED) {
		req.state = CM_STATE_REFUSED;
		req.done_at = now;
		snprintf(req.reason, sizeof req.reason, "refused_by:%s", me->nic);
		req.reported = report;
		if ((st = c->st->ops->request_update(c->st, &req, err)) ||
		    (st = c->st->ops->outbox_withdraw(c->st, req.id, -1, NULL, err)) ||
		    (st = notify_both(c, CM_MAIL_REFUSED, &req, p, req.reason, now, err)) ||
		    (st = events_queue(c, "request.refused", &req, now, err)) ||
		    (report && (st = report_tx(c, &req, me, other, via, now, err))))
			return st;
	} else if (other->decision == CM_DECISION_ACCEPTED) {
		if ((st = complete(c, &req, p, now, err)))
			return st;
	} else if ((st = c->st->ops->outbox_withdraw(c->st, req.id, ref.side, NULL, err)) ||
		   (st = notify(c, CM_MAIL_WAITING, &req, me, other, false, NULL, NULL, now, err)) ||
		   (st = events_queue(c, "request.decided", &req, now, err))) {
		return st;
	}
	res->request_id = req.id;
	res->side = ref.side;
	res->decision = d;
	res->state = req.state;
	memcpy(res->nic, me->nic, sizeof res->nic);
	return CM_OK;
}

cm_status core_decide(cm_core *c, int64_t id, const cm_token *tok, cm_decision d, cm_via via,
		      const char *message_id, int64_t now, cm_decision_result *res, cm_err *err)
{
	memset(res, 0, sizeof *res);
	if (d != CM_DECISION_ACCEPTED && d != CM_DECISION_REFUSED)
		return cm_err_set(err, CM_ERR_USAGE, "no decision given");
	CORE_TX(c, true, decide_tx(c, id, tok, d, false, via, message_id, now, res, err));
}

cm_status core_report(cm_core *c, int64_t id, const cm_token *tok, cm_via via, const char *message_id, int64_t now,
		      cm_decision_result *res, cm_err *err)
{
	memset(res, 0, sizeof *res);
	CORE_TX(c, true, decide_tx(c, id, tok, CM_DECISION_REFUSED, true, via, message_id, now, res, err));
}

/* ---- resend, cancel, expire ---- */

static cm_status resend_tx(cm_core *c, int64_t id, const char *by, const char *nic, int64_t now, int *sent,
			   cm_err *err)
{
	cm_request req;
	cm_group g;
	cm_party p[2];
	cm_status st;
	char when[32];
	if ((st = c->st->ops->request_lock(c->st, id, err)) ||
	    (st = c->st->ops->request_get(c->st, id, &req, err)) || (st = c->st->ops->party_pair(c->st, id, p, err)) ||
	    (st = c->st->ops->group_get(c->st, req.group, &g, err)))
		return st;
	if (req.state != CM_STATE_PENDING)
		return cm_err_set(err, CM_ERR_CLOSED, "request %lld is already %s; nothing to resend", (long long)id,
				  cm_state_str(req.state));
	if (nic && strcmp(nic, p[0].nic) != 0 && strcmp(nic, p[1].nic) != 0)
		return cm_err_set(err, CM_ERR_NOTFOUND, "%s is not a contact of request %lld", nic, (long long)id);
	/* The admin may resend to anyone; a contact only to themself. */
	if (by && strcmp(by, g.admin) != 0) {
		bool contact = strcmp(by, p[0].nic) == 0 || strcmp(by, p[1].nic) == 0;
		if (!contact || (nic && strcmp(nic, by) != 0))
			return cm_err_set(err, CM_ERR_RULE,
					  "only the admin of group %s (%s) or the contact concerned may resend request %lld",
					  g.name, g.admin, (long long)id);
		nic = by;
	}
	*sent = 0;
	/* Check every party first: a refusal leaves nothing half done. */
	for (int s = 0; s < 2; s++) {
		if ((nic && strcmp(nic, p[s].nic) != 0) || p[s].decision != CM_DECISION_NONE)
			continue;
		if (p[s].last_sent_at && now < p[s].last_sent_at + c->cfg->resend_interval)
			return cm_err_set(err, CM_ERR_RULE,
					  "a validation e-mail went to %s less than %lld minutes ago; a new one can be sent"
					  " from %s (policy.resend_interval)",
					  p[s].nic, (long long)(c->cfg->resend_interval + 59) / 60,
					  cm_time_format(p[s].last_sent_at + c->cfg->resend_interval, when, sizeof when));
	}
	for (int s = 0; s < 2; s++) {
		if (nic && strcmp(nic, p[s].nic) != 0)
			continue;
		if (p[s].decision != CM_DECISION_NONE) {
			if (nic)
				return cm_err_set(err, CM_ERR_RULE, "%s has already answered request %lld", nic,
						  (long long)id);
			continue;
		}
		/* To the account's current address: the guide's recovery is to
		 * correct the address, then resend. */
		cm_account a;
		if ((st = c->st->ops->account_get(c->st, p[s].nic, &a, err)))
			return st;
		if (g_ascii_strcasecmp(a.email, p[s].email) != 0) {
			if ((st = core_audit(c, now, id, by ? by : "operator", "address", err,
					     "validation mail to %s now goes to %s (was %s)", p[s].nic, a.email, p[s].email)))
				return st;
			memcpy(p[s].email, a.email, sizeof p[s].email);
		}
		if ((st = c->st->ops->token_supersede(c->st, id, (cm_side)s, now, err)) ||
		    (st = c->st->ops->outbox_withdraw(c->st, id, s, NULL, err)) ||
		    (st = send_validation(c, &req, p, (cm_side)s, now, err)) ||
		    (st = core_audit(c, now, id, by ? by : "operator", "resent", err, "new token mailed to %s at %s",
				     p[s].nic, p[s].email)))
			return st;
		(*sent)++;
	}
	if (*sent == 0)
		return cm_err_set(err, CM_ERR_RULE, "both contacts of request %lld have answered", (long long)id);
	return CM_OK;
}

cm_status core_request_resend(cm_core *c, int64_t id, const char *by_in, const char *nic_in, int64_t now, int *sent,
			      cm_err *err)
{
	char nic[CM_NIC_MAX + 1], by[CM_NIC_MAX + 1];
	if (nic_in && (!cm_strlcpy(nic, nic_in, sizeof nic) || !cm_nic_normalise(nic)))
		return cm_err_set(err, CM_ERR_USAGE, "malformed NIC '%s'", nic_in);
	if (by_in && (!cm_strlcpy(by, by_in, sizeof by) || !cm_nic_normalise(by)))
		return cm_err_set(err, CM_ERR_USAGE, "malformed NIC '%s' (--by)", by_in);
	CORE_TX(c, true, resend_tx(c, id, by_in ? by : NULL, nic_in ? nic : NULL, now, sent, err));
}

/* End a pending request without a change, telling both contacts. */
static cm_status close_request(cm_core *c, cm_request *req, cm_state state, cm_mail_kind kind, const char *actor,
			       const char *reason, int64_t now, cm_err *err)
{
	cm_party p[2];
	cm_status st;
	if ((st = c->st->ops->party_pair(c->st, req->id, p, err)))
		return st;
	req->state = state;
	req->done_at = now;
	if (!cm_strlcpy(req->reason, reason, sizeof req->reason))
		return cm_err_set(err, CM_ERR_INTERNAL, "reason too long");
	if ((st = c->st->ops->request_update(c->st, req, err)) ||
	    (st = c->st->ops->outbox_withdraw(c->st, req->id, -1, NULL, err)) ||
	    (st = notify_both(c, kind, req, p, reason, now, err)) ||
	    (st = events_queue(c, state == CM_STATE_EXPIRED ? "request.expired" : "request.cancelled", req, now, err)))
		return st;
	return core_audit(c, now, req->id, actor, cm_state_str(state), err, "%s", reason);
}

static cm_status cancel_tx(cm_core *c, int64_t id, const char *by, int64_t now, cm_err *err)
{
	cm_request req;
	cm_group g;
	cm_status st;
	char reason[CM_REASON_MAX];
	if ((st = c->st->ops->request_lock(c->st, id, err)) ||
	    (st = c->st->ops->request_get(c->st, id, &req, err)) ||
	    (st = c->st->ops->group_get(c->st, req.group, &g, err)))
		return st;
	if (strcmp(by, g.admin) != 0 && strcmp(by, req.asked_by) != 0)
		return cm_err_set(err, CM_ERR_RULE,
				  "only the admin of group %s (%s) or the requester (%s) may cancel request %lld", g.name,
				  g.admin, req.asked_by, (long long)id);
	if (req.state != CM_STATE_PENDING)
		return cm_err_set(err, CM_ERR_CLOSED, "request %lld is already %s", (long long)id,
				  cm_state_str(req.state));
	snprintf(reason, sizeof reason, "cancelled_by:%s", by);
	return close_request(c, &req, CM_STATE_CANCELLED, CM_MAIL_CANCELLED, by, reason, now, err);
}

cm_status core_request_cancel(cm_core *c, int64_t id, const char *by_in, int64_t now, cm_err *err)
{
	char by[CM_NIC_MAX + 1];
	if (!cm_strlcpy(by, by_in, sizeof by) || !cm_nic_normalise(by))
		return cm_err_set(err, CM_ERR_USAGE, "malformed NIC '%s' (--by)", by_in);
	CORE_TX(c, true, cancel_tx(c, id, by, now, err));
}

static cm_status expire_one_tx(cm_core *c, int64_t id, int64_t now, bool *done, cm_err *err)
{
	cm_request req;
	cm_status st = c->st->ops->request_lock(c->st, id, err);
	if (st == CM_OK)
		st = c->st->ops->request_get(c->st, id, &req, err);
	*done = false;
	if (st || req.state != CM_STATE_PENDING || req.expires_at > now)
		return st; /* answered or cancelled meanwhile */
	*done = true;
	return close_request(c, &req, CM_STATE_EXPIRED, CM_MAIL_EXPIRED, "system", "expired", now, err);
}

static cm_status expire_one(cm_core *c, int64_t id, int64_t now, bool *done, cm_err *err)
{
	CORE_TX(c, true, expire_one_tx(c, id, now, done, err));
}

cm_status core_expire_due(cm_core *c, int64_t now, int *expired, cm_err *err)
{
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_status st = c->st->ops->request_due(c->st, now, ids, err);
	*expired = 0;
	for (guint i = 0; st == CM_OK && i < ids->len; i++) {
		bool done;
		st = expire_one(c, g_array_index(ids, int64_t, i), now, &done, err);
		*expired += st == CM_OK && done;
	}
	g_array_free(ids, TRUE);
	return st;
}

/* ---- reminders (rule 9) ---- */

static cm_status remind_one_tx(cm_core *c, int64_t id, cm_side side, int64_t now, bool *done, cm_err *err)
{
	cm_request req;
	cm_party p[2];
	cm_status st;
	*done = false;
	if ((st = c->st->ops->request_lock(c->st, id, err)) ||
	    (st = c->st->ops->request_get(c->st, id, &req, err)) || (st = c->st->ops->party_pair(c->st, id, p, err)))
		return st;
	if (req.state != CM_STATE_PENDING || now >= req.expires_at || p[side].decision != CM_DECISION_NONE ||
	    p[side].reminded_at)
		return CM_OK; /* answered, closed or reminded meanwhile */
	st = c->st->ops->party_reminded(c->st, id, side, now, err);
	if (st == CM_ERR_NOTFOUND)
		return CM_OK;
	/* The same token as the party's latest validation mail: both work. */
	if (st || (st = notify(c, CM_MAIL_REMINDER, &req, &p[side], &p[1 - side], true, NULL, NULL, now, err)))
		return st;
	*done = true;
	return core_audit(c, now, id, "system", "reminded", err, "reminder mailed to %s at %s", p[side].nic,
			  p[side].email);
}

static cm_status remind_one(cm_core *c, int64_t id, cm_side side, int64_t now, bool *done, cm_err *err)
{
	CORE_TX(c, true, remind_one_tx(c, id, side, now, done, err));
}

cm_status core_remind_due(cm_core *c, int64_t now, int *reminded, cm_err *err)
{
	*reminded = 0;
	if (c->cfg->remind_after_s <= 0)
		return CM_OK;
	GArray *pairs = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_status st = c->st->ops->reminder_due(c->st, now, now - c->cfg->remind_after_s, pairs, err);
	for (guint i = 0; st == CM_OK && i + 1 < pairs->len; i += 2) {
		bool done;
		st = remind_one(c, g_array_index(pairs, int64_t, i), (cm_side)g_array_index(pairs, int64_t, i + 1), now,
				&done, err);
		*reminded += st == CM_OK && done;
	}
	g_array_free(pairs, TRUE);
	return st;
}

cm_status core_sweep(cm_core *c, int64_t now, int *expired, int *reminded, cm_err *err)
{
	cm_status st = core_expire_due(c, now, expired, err);
	return st ? st : core_remind_due(c, now, reminded, err);
}

/* ---- what the milter needs besides decisions ---- */

cm_status core_token_owner(cm_core *c, const cm_token *tok, cm_request *req, cm_party *party, cm_err *err)
{
	unsigned char hash[CM_TOKEN_HASH_BYTES];
	cm_token_ref ref;
	cm_party p[2];
	cm_status st;
	token_hash(tok, hash);
	st = c->st->ops->token_request(c->st, hash, false, &ref, req, p, err);
	if (st == CM_ERR_TOKEN_UNKNOWN)
		return cm_err_set(err, st, "unknown token: answer from the latest validation e-mail");
	if (st)
		return st;
	*party = p[ref.side];
	return CM_OK;
}

static cm_status bounced_tx(cm_core *c, int64_t outbox_id, const char *detail, int64_t now, cm_err *err)
{
	cm_outbox_item it;
	cm_account a;
	cm_status st = c->st->ops->outbox_get(c->st, outbox_id, &it, NULL, err);
	if (st)
		return st;
	/* Lock its request, then read the item again: it is current now. */
	if (it.request_id && ((st = c->st->ops->request_lock(c->st, it.request_id, err)) ||
			      (st = c->st->ops->outbox_get(c->st, outbox_id, &it, NULL, err))))
		return st;
	if ((st = c->st->ops->outbox_finish(c->st, outbox_id, CM_OUT_BOUNCED, 0, detail, now, err)))
		return st;
	bool newly = false;
	if (it.nic[0]) {
		/* A store failure here must fail the whole step, never pass for
		 * "no such account". */
		st = c->st->ops->account_get(c->st, it.nic, &a, err);
		if (st && st != CM_ERR_NOTFOUND)
			return st;
		if (st == CM_OK && g_ascii_strcasecmp(a.email, it.rcpt) == 0 && !a.bouncing) {
			a.bouncing = true;
			newly = true;
			if ((st = c->st->ops->account_update(c->st, &a, err)))
				return st;
		}
	}
	if ((st = core_audit(c, now, it.request_id, "system", "bounced", err, "%s mail to %s bounced: %s",
			     cm_mail_kind_str(it.kind), it.rcpt, detail)))
		return st;
	if (!it.request_id || (it.kind != CM_MAIL_VALIDATION && it.kind != CM_MAIL_REMINDER))
		return CM_OK;
	/* Rule 12: the admin who asked learns which contact's address bounced,
	 * and that correcting it and resending is the way on. */
	cm_request req;
	cm_party p[2];
	cm_account asker;
	if ((st = c->st->ops->request_get(c->st, it.request_id, &req, err)) ||
	    (st = c->st->ops->party_pair(c->st, it.request_id, p, err)))
		return st;
	if (newly && (st = events_queue(c, "contact.bouncing", &req, now, err)))
		return st;
	if (req.state != CM_STATE_PENDING)
		return CM_OK; /* closed already */
	st = c->st->ops->account_get(c->st, req.asked_by, &asker, err);
	if (st == CM_ERR_NOTFOUND || (st == CM_OK && g_ascii_strcasecmp(asker.email, it.rcpt) == 0))
		return CM_OK; /* no such account any more, or the asker's own address bounced */
	if (st)
		return st;
	const cm_party *bouncing = strcmp(p[CM_SIDE_TO].nic, it.nic) == 0 ? &p[CM_SIDE_TO] : &p[CM_SIDE_FROM];
	cm_party to = {.request_id = req.id, .side = bouncing->side == CM_SIDE_TO ? CM_SIDE_FROM : CM_SIDE_TO};
	memcpy(to.nic, asker.nic, sizeof to.nic);
	memcpy(to.email, asker.email, sizeof to.email);
	/* The asker's account was just read: its language and name. */
	cm_mail_ctx ctx = {.kind = CM_MAIL_BOUNCED, .lang = strcmp(asker.lang, "en") == 0 ? "en" : "fr",
			   .rcpt = asker.email, .req = &req, .party = &to, .other = bouncing, .reason = detail,
			   .name = asker.name};
	return outbox_enqueue(c->st, c->cfg, &ctx, asker.nic, -1, 0, now, NULL, err);
}

cm_status core_mark_bounced(cm_core *c, int64_t outbox_id, const char *detail, int64_t now, cm_err *err)
{
	CORE_TX(c, true, bounced_tx(c, outbox_id, detail, now, err));
}
