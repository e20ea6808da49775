/* store_rows.c - the store's rows read into the core's types, the same for
 * SQLite and PostgreSQL (see store_rows.h). */
#include "store_rows.h"

#include <string.h>

/* Copy a text column; values are bounded on the way in, so a cut here
 * only shortens free text such as an SMTP error. */
static void copy(const store_cols *c, int col, char *dst, size_t n)
{
	g_strlcpy(dst, c->text(c, col), n);
}

static cm_side side_of(const char *s)
{
	return strcmp(s, "to") == 0 ? CM_SIDE_TO : CM_SIDE_FROM;
}

void store_row_account(const store_cols *c, void *o)
{
	cm_account *a = o;
	memset(a, 0, sizeof *a);
	copy(c, 0, a->nic, sizeof a->nic);
	copy(c, 1, a->email, sizeof a->email);
	copy(c, 2, a->lang, sizeof a->lang);
	a->voip_validated = c->i64(c, 3);
	a->payments_ok = c->i64(c, 4);
	a->bouncing = c->i64(c, 5);
	copy(c, 6, a->name, sizeof a->name);
}

void store_row_group(const store_cols *c, void *o)
{
	cm_group *g = o;
	copy(c, 0, g->name, sizeof g->name);
	copy(c, 1, g->admin, sizeof g->admin);
	copy(c, 2, g->tech, sizeof g->tech);
	copy(c, 3, g->billing, sizeof g->billing);
}

void store_row_service(const store_cols *c, void *o)
{
	cm_service *sv = o;
	copy(c, 0, sv->group, sizeof sv->group);
	copy(c, 1, sv->name, sizeof sv->name);
	copy(c, 2, sv->kind, sizeof sv->kind);
}

void store_row_request(const store_cols *c, void *o)
{
	cm_request *r = o;
	memset(r, 0, sizeof *r);
	r->id = c->i64(c, 0);
	copy(c, 1, r->group, sizeof r->group);
	r->roles = (unsigned)c->i64(c, 2);
	copy(c, 3, r->from_nic, sizeof r->from_nic);
	copy(c, 4, r->to_nic, sizeof r->to_nic);
	copy(c, 5, r->asked_by, sizeof r->asked_by);
	int sv = cm_state_parse(c->text(c, 6));
	r->state = sv < 0 ? CM_STATE_FAILED : (cm_state)sv;
	r->created_at = c->i64(c, 7);
	r->expires_at = c->i64(c, 8);
	r->done_at = c->i64(c, 9);
	copy(c, 10, r->reason, sizeof r->reason);
	r->reported = c->i64(c, 11);
}

void store_row_id(const store_cols *c, void *o)
{
	*(int64_t *)o = c->i64(c, 0);
}

/* Two int64_t: a request id and a side. */
void store_row_id_side(const store_cols *c, void *o)
{
	int64_t *pair = o;
	pair[0] = c->i64(c, 0);
	pair[1] = side_of(c->text(c, 1));
}

/* side, nic, email, decision, decided_at, via, bouncing, token_serial,
 * last_sent_at, reminded_at, request_id */
void store_row_party(const store_cols *c, void *o)
{
	cm_party *p = o;
	const char *d = c->text(c, 3), *via = c->text(c, 5);
	memset(p, 0, sizeof *p);
	p->side = side_of(c->text(c, 0));
	copy(c, 1, p->nic, sizeof p->nic);
	copy(c, 2, p->email, sizeof p->email);
	p->decision = strcmp(d, "accepted") == 0 ? CM_DECISION_ACCEPTED
		      : strcmp(d, "refused") == 0 ? CM_DECISION_REFUSED : CM_DECISION_NONE;
	p->decided_at = c->i64(c, 4);
	p->via = strcmp(via, "email") == 0 ? CM_VIA_EMAIL
		 : strcmp(via, "cli") == 0 ? CM_VIA_CLI
		 : strcmp(via, "web") == 0 ? CM_VIA_WEB : CM_VIA_NONE;
	p->bouncing = c->i64(c, 6);
	p->token_serial = (int)c->i64(c, 7);
	p->last_sent_at = c->i64(c, 8);
	p->reminded_at = c->i64(c, 9);
	p->request_id = c->i64(c, 10);
	copy(c, 11, p->name, sizeof p->name);
	copy(c, 12, p->lang, sizeof p->lang);
}

/* request_id, side, superseded (0 or 1) */
void store_row_token(const store_cols *c, void *o)
{
	cm_token_ref *t = o;
	t->request_id = c->i64(c, 0);
	t->side = side_of(c->text(c, 1));
	t->superseded = c->i64(c, 2);
}

void store_row_token_request(const store_cols *c, void *o)
{
	store_token_request *r = o;
	store_cols k = *c;
	store_row_token(&k, &r->ref);
	k.base = c->base + 3;
	store_row_request(&k, &r->req);
	k.base = c->base + 3 + STORE_REQUEST_COUNT;
	store_row_party(&k, &r->party);
}

void store_row_outbox(const store_cols *c, void *o)
{
	cm_outbox_item *it = o;
	memset(it, 0, sizeof *it);
	it->id = c->i64(c, 0);
	it->request_id = c->i64(c, 1);
	int k = cm_mail_kind_parse(c->text(c, 2));
	it->kind = k < 0 ? CM_MAIL_NOTICE : (cm_mail_kind)k;
	copy(c, 3, it->nic, sizeof it->nic);
	copy(c, 4, it->rcpt, sizeof it->rcpt);
	copy(c, 5, it->sender, sizeof it->sender);
	int os = cm_out_state_parse(c->text(c, 6));
	it->state = os < 0 ? CM_OUT_FAILED : (cm_out_state)os;
	it->attempts = (int)c->i64(c, 7);
	it->next_attempt_at = c->i64(c, 8);
	it->created_at = c->i64(c, 9);
	it->sent_at = c->i64(c, 10);
	copy(c, 11, it->last_error, sizeof it->last_error);
	const char *ts = c->text(c, 12);
	it->token_side = strcmp(ts, "from") == 0 ? CM_SIDE_FROM : strcmp(ts, "to") == 0 ? CM_SIDE_TO : -1;
	it->token_serial = (int)c->i64(c, 13);
	it->recipe = c->i64(c, 14) != 0;
}

void store_row_outbox_msg(const store_cols *c, void *o)
{
	store_item_msg *im = o;
	store_row_outbox(c, &im->it);
	im->msg = c->blob(c, 15);
}

/* An int64_t that may be NULL: -1 then (times are never negative). */
void store_row_maybe(const store_cols *c, void *o)
{
	*(int64_t *)o = c->null(c, 0) ? -1 : c->i64(c, 0);
}

void store_row_audit(const store_cols *c, void *o)
{
	cm_audit *a = o;
	a->id = c->i64(c, 0);
	a->at = c->i64(c, 1);
	a->request_id = c->i64(c, 2);
	copy(c, 3, a->actor, sizeof a->actor);
	copy(c, 4, a->action, sizeof a->action);
	copy(c, 5, a->detail, sizeof a->detail);
}

void store_row_seen(const store_cols *c, void *o)
{
	store_seen_reply *r = o;
	r->request_id = c->i64(c, 0);
	r->d = strcmp(c->text(c, 1), "refused") == 0 ? CM_DECISION_REFUSED : CM_DECISION_ACCEPTED;
}

/* The two rows of a token's request (one per party, "from" first: the
 * queries order by side, and "from" sorts before "to", so that the parties'
 * index gives the order without a sort) into the out-parameters of
 * token_request. */
cm_status store_token_request_rows(GArray *l, cm_token_ref *ref, cm_request *req, cm_party p[2], cm_err *err)
{
	if (l->len == 0)
		return cm_err_set(err, CM_ERR_TOKEN_UNKNOWN, "unknown token");
	if (l->len != 2)
		return cm_err_set(err, CM_ERR_INTERNAL, "a request with %u parties", l->len);
	store_token_request *r = (store_token_request *)(void *)l->data;
	*ref = r[0].ref;
	*req = r[0].req;
	p[0] = r[0].party;
	p[1] = r[1].party;
	return CM_OK;
}
