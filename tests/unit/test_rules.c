/* test_rules.c - every rule of SPEC section 2, every transition and every
 * refusal, through the core's API, checked on what the store holds and what
 * the outbox would send. */

#include "fixture.h"

static cm_status decide(fx *f, int64_t id, const cm_token *t, cm_decision d, cm_err *err)
{
	cm_decision_result res;
	return core_decide(&f->core, id, t, d, CM_VIA_CLI, NULL, f->now, &res, err);
}

static void create_by_someone_else_than_admin_is_refused(void **state)
{
	fx *f = *state;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_err err = {0};
	fx_cast(f);
	assert_int_equal(core_request_create(&f->core, "g1-ovh-1", "bob-ovh", NULL, "carol-ovh", NULL, f->now, ids, &err),
			 CM_ERR_RULE);
	assert_non_null(strstr(err.msg, "only the admin of group g1-ovh-1 (alice-ovh)"));
	assert_int_equal(ids->len, 0);
	g_array_free(ids, TRUE);
}

static void create_with_unknown_group_or_nic_is_not_found(void **state)
{
	fx *f = *state;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_err err = {0};
	fx_cast(f);
	assert_int_equal(core_request_create(&f->core, "nope-ovh", "alice-ovh", NULL, "bob-ovh", NULL, f->now, ids, &err),
			 CM_ERR_NOTFOUND);
	assert_non_null(strstr(err.msg, "group nope-ovh does not exist"));
	assert_int_equal(core_request_create(&f->core, "g1-ovh-1", "alice-ovh", NULL, "zz9-ovh", NULL, f->now, ids, &err),
			 CM_ERR_NOTFOUND);
	assert_non_null(strstr(err.msg, "the new tech contact zz9-ovh does not exist"));
	assert_int_equal(core_request_create(&f->core, "g1-ovh-1", "alice-ovh", NULL, "bad nic!", NULL, f->now, ids, &err),
			 CM_ERR_USAGE);
	assert_non_null(strstr(err.msg, "malformed NIC 'bad nic!'"));
	g_array_free(ids, TRUE);
}

static void create_to_the_same_nic_is_refused(void **state)
{
	fx *f = *state;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_err err = {0};
	fx_cast(f);
	assert_int_equal(core_request_create(&f->core, "g1-ovh-1", "alice-ovh", NULL, "ALICE-ovh", NULL, f->now, ids, &err),
			 CM_ERR_RULE);
	assert_non_null(strstr(err.msg, "alice-ovh is already the tech contact"));
	g_array_free(ids, TRUE);
}

static void a_role_in_an_open_request_is_refused_naming_it(void **state)
{
	fx *f = *state;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_err err = {0};
	char want[64];
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	assert_int_equal(core_request_create(&f->core, "g1-ovh-1", "alice-ovh", NULL, "carol-ovh", NULL, f->now, ids, &err),
			 CM_ERR_RULE);
	snprintf(want, sizeof want, "already in open request %lld", (long long)id);
	assert_non_null(strstr(err.msg, want));
	/* Another role of the same group is free. */
	fx_create(f, "alice-ovh", NULL, NULL, "carol-ovh");
	g_array_free(ids, TRUE);
}

static void billing_needs_both_accounts_ready_at_creation(void **state)
{
	fx *f = *state;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_err err = {0};
	fx_cast(f);
	assert_int_equal(core_request_create(&f->core, "g1-ovh-1", "alice-ovh", NULL, NULL, "dave-ovh", f->now, ids, &err),
			 CM_ERR_RULE);
	assert_non_null(strstr(err.msg, "dave-ovh has neither"));
	/* The outgoing side is checked too. */
	assert_int_equal(core_account_set(&f->core, "alice-ovh", NULL, NULL, NULL, -1, 0, &err), CM_OK);
	assert_int_equal(core_request_create(&f->core, "g1-ovh-1", "alice-ovh", NULL, NULL, "bob-ovh", f->now, ids, &err),
			 CM_ERR_RULE);
	assert_non_null(strstr(err.msg, "alice-ovh is not up to date with payments"));
	/* Tech moves to a non-validated account freely. */
	fx_create(f, "alice-ovh", NULL, "dave-ovh", NULL);
	assert_int_equal(ids->len, 0);
	g_array_free(ids, TRUE);
}

static void one_request_per_distinct_pair(void **state)
{
	fx *f = *state;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_err err = {0};
	fx_cast(f);
	/* alice holds admin and tech, carol billing: admin+tech to bob is one
	 * pair, billing carol->bob another. */
	cm_group g = fx_get_group(f);
	cm_strlcpy(g.billing, "carol-ovh", sizeof g.billing);
	assert_int_equal(f->st->ops->group_update(f->st, &g, NULL), CM_OK);
	assert_int_equal(core_request_create(&f->core, "g1-ovh-1", "alice-ovh", "bob-ovh", "bob-ovh", "bob-ovh", f->now,
					     ids, &err), CM_OK);
	assert_int_equal(ids->len, 2);
	cm_request a = fx_request(f, g_array_index(ids, int64_t, 0));
	cm_request b = fx_request(f, g_array_index(ids, int64_t, 1));
	assert_int_equal(a.roles, CM_ROLE_ADMIN | CM_ROLE_TECH);
	assert_string_equal(a.from_nic, "alice-ovh");
	assert_int_equal(b.roles, CM_ROLE_BILLING);
	assert_string_equal(b.from_nic, "carol-ovh");
	assert_int_equal(fx_mails(f, a.id, CM_MAIL_VALIDATION, NULL), 2);
	assert_int_equal(fx_mails(f, b.id, CM_MAIL_VALIDATION, NULL), 2);
	g_array_free(ids, TRUE);
}

static void each_contact_gets_its_own_token_stored_as_a_hash_only(void **state)
{
	fx *f = *state;
	char text[2][CM_TOKEN_CHARS + 1];
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	cm_token a = fx_token(f, id, "alice@example.com"), b = fx_token(f, id, "bob@example.net");
	token_encode(&a, text[0]);
	token_encode(&b, text[1]);
	assert_string_not_equal(text[0], text[1]);
	/* Neither the text nor the raw bits are anywhere in the tokens table. */
	char *ha = g_strnfill(2 * sizeof a.raw, '0'), *hb = g_strnfill(2 * sizeof b.raw, '0');
	for (size_t i = 0; i < sizeof a.raw; i++) {
		snprintf(ha + 2 * i, 3, "%02x", a.raw[i]);
		snprintf(hb + 2 * i, 3, "%02x", b.raw[i]);
	}
	char *sq = g_strdup_printf("SELECT COUNT(*) FROM tokens WHERE hash = X'%s' OR hash = X'%s'"
				   " OR CAST(hash AS TEXT) = '%s'", ha, hb, text[0]);
	char *pq = g_strdup_printf("SELECT COUNT(*) FROM tokens WHERE hash = '\\x%s' OR hash = '\\x%s'"
				   " OR encode(hash, 'escape') = '%s'", ha, hb, text[0]);
	char *n = fx_sql(f, sq, pq);
	assert_string_equal(n, "0");
	g_free(n);
	g_free(sq);
	g_free(pq);
	g_free(ha);
	g_free(hb);
	/* Each token names its own contact. */
	cm_decision_result res;
	assert_int_equal(core_decide(&f->core, 0, &b, CM_DECISION_ACCEPTED, CM_VIA_EMAIL, NULL, f->now, &res, NULL), CM_OK);
	assert_string_equal(res.nic, "bob-ovh");
	assert_int_equal(res.side, CM_SIDE_TO);
}

static void one_acceptance_keeps_it_pending_and_says_it_waits(void **state)
{
	fx *f = *state;
	cm_decision_result res;
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	cm_token a = fx_token(f, id, "alice@example.com");
	assert_int_equal(core_decide(&f->core, id, &a, CM_DECISION_ACCEPTED, CM_VIA_EMAIL, NULL, f->now, &res, NULL), CM_OK);
	assert_int_equal(res.state, CM_STATE_PENDING);
	assert_int_equal(fx_request(f, id).state, CM_STATE_PENDING);
	assert_int_equal(fx_mails(f, id, CM_MAIL_WAITING, "alice@example.com"), 1);
	assert_int_equal(fx_mails(f, id, CM_MAIL_WAITING, "bob@example.net"), 0);
	assert_string_equal(fx_get_group(f).tech, "alice-ovh");
	cm_party p[2];
	assert_int_equal(f->st->ops->party_pair(f->st, id, p, NULL), CM_OK);
	assert_int_equal(p[CM_SIDE_FROM].decision, CM_DECISION_ACCEPTED);
	assert_int_equal(p[CM_SIDE_FROM].via, CM_VIA_EMAIL);
	assert_int_equal(p[CM_SIDE_FROM].decided_at, f->now);
	assert_int_equal(p[CM_SIDE_TO].decision, CM_DECISION_NONE);
}

static void both_acceptances_apply_the_change_and_confirm_to_both(void **state)
{
	fx *f = *state;
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	cm_token a = fx_token(f, id, "alice@example.com"), b = fx_token(f, id, "bob@example.net");
	assert_int_equal(decide(f, id, &b, CM_DECISION_ACCEPTED, NULL), CM_OK);
	assert_int_equal(decide(f, id, &a, CM_DECISION_ACCEPTED, NULL), CM_OK);
	cm_request r = fx_request(f, id);
	assert_int_equal(r.state, CM_STATE_DONE);
	assert_int_equal(r.done_at, f->now);
	cm_group g = fx_get_group(f);
	assert_string_equal(g.tech, "bob-ovh");
	assert_string_equal(g.admin, "alice-ovh");
	assert_string_equal(g.billing, "alice-ovh");
	assert_int_equal(fx_mails(f, id, CM_MAIL_DONE, "alice@example.com"), 1);
	assert_int_equal(fx_mails(f, id, CM_MAIL_DONE, "bob@example.net"), 1);
	/* The confirmation lists the services, in the contact's language. */
	GArray *l = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	assert_int_equal(f->st->ops->outbox_list(f->st, -1, id, l, NULL), CM_OK);
	cm_outbox_item *last = &g_array_index(l, cm_outbox_item, l->len - 1);
	char *stored = NULL, *msg = NULL;
	assert_int_equal(f->st->ops->outbox_get(f->st, last->id, last, &stored, NULL), CM_OK);
	assert_int_equal(outbox_render(f->cfg, last, stored, &msg, NULL), CM_OK);
	g_free(stored);
	assert_string_equal(last->rcpt, "bob@example.net");
	assert_non_null(strstr(msg, "Subject: Contact change #"));
	assert_non_null(strstr(msg, "0033972101010 (number)"));
	assert_non_null(strstr(msg, "line-1 (line)"));
	g_free(msg);
	g_array_free(l, TRUE);
}

static void a_refusal_ends_it_and_tells_both(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	cm_token a = fx_token(f, id, "alice@example.com"), b = fx_token(f, id, "bob@example.net");
	assert_int_equal(decide(f, id, &a, CM_DECISION_ACCEPTED, NULL), CM_OK);
	assert_int_equal(decide(f, id, &b, CM_DECISION_REFUSED, NULL), CM_OK);
	cm_request r = fx_request(f, id);
	assert_int_equal(r.state, CM_STATE_REFUSED);
	/* A code the mails word per language. */
	assert_string_equal(r.reason, "refused_by:bob-ovh");
	assert_string_equal(fx_get_group(f).tech, "alice-ovh");
	assert_int_equal(fx_mails(f, id, CM_MAIL_REFUSED, "alice@example.com"), 1);
	assert_int_equal(fx_mails(f, id, CM_MAIL_REFUSED, "bob@example.net"), 1);
	/* The role is free again. */
	fx_create(f, "alice-ovh", NULL, "carol-ovh", NULL);
	(void)err;
}

static void used_superseded_unknown_and_foreign_tokens_are_told_apart(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	int sent = 0;
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	int64_t other = fx_create(f, "alice-ovh", NULL, NULL, "carol-ovh");
	cm_token a = fx_token(f, id, "alice@example.com"), b_old = fx_token(f, id, "bob@example.net");
	assert_int_equal(decide(f, id, &a, CM_DECISION_ACCEPTED, NULL), CM_OK);
	assert_int_equal(decide(f, id, &a, CM_DECISION_ACCEPTED, &err), CM_ERR_TOKEN_USED);
	assert_non_null(strstr(err.msg, "already used"));
	/* Resend goes to bob only, who has not answered. */
	assert_int_equal(core_request_resend(&f->core, id, NULL, NULL, f->now + 600, &sent, &err), CM_OK);
	assert_int_equal(sent, 1);
	assert_int_equal(fx_mails(f, id, CM_MAIL_VALIDATION, "bob@example.net"), 2);
	assert_int_equal(fx_mails(f, id, CM_MAIL_VALIDATION, "alice@example.com"), 1);
	assert_int_equal(decide(f, id, &b_old, CM_DECISION_ACCEPTED, &err), CM_ERR_TOKEN_SUPERSEDED);
	assert_non_null(strstr(err.msg, "superseded by a newer e-mail"));
	cm_token unknown;
	memset(unknown.raw, 0x5a, sizeof unknown.raw);
	assert_int_equal(decide(f, id, &unknown, CM_DECISION_ACCEPTED, &err), CM_ERR_TOKEN_UNKNOWN);
	/* A token of request `other` given for request `id`. */
	cm_token c = fx_token(f, other, "carol@example.org");
	assert_int_equal(decide(f, id, &c, CM_DECISION_ACCEPTED, &err), CM_ERR_TOKEN_UNKNOWN);
	assert_non_null(strstr(err.msg, "does not belong to request"));
	cm_token b_new = fx_token(f, id, "bob@example.net");
	assert_int_equal(decide(f, id, &b_new, CM_DECISION_ACCEPTED, NULL), CM_OK);
	assert_int_equal(fx_request(f, id).state, CM_STATE_DONE);
	/* After the end, the used token still says used. */
	assert_int_equal(decide(f, id, &b_new, CM_DECISION_REFUSED, &err), CM_ERR_TOKEN_USED);
}

static void resend_to_a_contact_that_answered_is_refused(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	int sent = 0;
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	cm_token a = fx_token(f, id, "alice@example.com");
	assert_int_equal(decide(f, id, &a, CM_DECISION_ACCEPTED, NULL), CM_OK);
	assert_int_equal(core_request_resend(&f->core, id, NULL, "alice-ovh", f->now + 600, &sent, &err), CM_ERR_RULE);
	assert_int_equal(core_request_resend(&f->core, id, NULL, "carol-ovh", f->now + 600, &sent, &err), CM_ERR_NOTFOUND);
	assert_int_equal(core_request_resend(&f->core, id, NULL, "bob-ovh", f->now + 600, &sent, &err), CM_OK);
	assert_int_equal(sent, 1);
}

static void expiry_ends_it_tells_both_and_refuses_late_tokens(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	int n = 0;
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	cm_token a = fx_token(f, id, "alice@example.com");
	int64_t end = fx_request(f, id).expires_at;
	assert_int_equal(end, f->now + f->cfg->request_ttl);
	/* Not yet. */
	assert_int_equal(core_expire_due(&f->core, end - 1, &n, &err), CM_OK);
	assert_int_equal(n, 0);
	/* Past its time but not swept: the token says expired. */
	f->now = end;
	assert_int_equal(decide(f, id, &a, CM_DECISION_ACCEPTED, &err), CM_ERR_EXPIRED);
	assert_int_equal(core_expire_due(&f->core, end, &n, &err), CM_OK);
	assert_int_equal(n, 1);
	cm_request r = fx_request(f, id);
	assert_int_equal(r.state, CM_STATE_EXPIRED);
	assert_int_equal(fx_mails(f, id, CM_MAIL_EXPIRED, "alice@example.com"), 1);
	assert_int_equal(fx_mails(f, id, CM_MAIL_EXPIRED, "bob@example.net"), 1);
	assert_int_equal(decide(f, id, &a, CM_DECISION_ACCEPTED, &err), CM_ERR_EXPIRED);
	/* A second sweep finds nothing. */
	assert_int_equal(core_expire_due(&f->core, end + 10, &n, &err), CM_OK);
	assert_int_equal(n, 0);
}

static void cancel_by_admin_only_while_open(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	cm_token b = fx_token(f, id, "bob@example.net");
	assert_int_equal(core_request_cancel(&f->core, id, "bob-ovh", f->now, &err), CM_ERR_RULE);
	assert_non_null(strstr(err.msg, "may cancel"));
	assert_int_equal(core_request_cancel(&f->core, id, "alice-ovh", f->now, &err), CM_OK);
	cm_request r = fx_request(f, id);
	assert_int_equal(r.state, CM_STATE_CANCELLED);
	assert_string_equal(r.reason, "cancelled_by:alice-ovh");
	assert_int_equal(fx_mails(f, id, CM_MAIL_CANCELLED, NULL), 2);
	assert_int_equal(core_request_cancel(&f->core, id, "alice-ovh", f->now, &err), CM_ERR_CLOSED);
	assert_int_equal(decide(f, id, &b, CM_DECISION_ACCEPTED, &err), CM_ERR_CLOSED);
	assert_non_null(strstr(err.msg, "already cancelled"));
}

static void billing_no_longer_ready_at_completion_fails_and_changes_nothing(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, NULL, "bob-ovh");
	cm_token a = fx_token(f, id, "alice@example.com"), b = fx_token(f, id, "bob@example.net");
	assert_int_equal(decide(f, id, &a, CM_DECISION_ACCEPTED, NULL), CM_OK);
	assert_int_equal(core_account_set(&f->core, "bob-ovh", NULL, NULL, NULL, 0, -1, &err), CM_OK);
	assert_int_equal(decide(f, id, &b, CM_DECISION_ACCEPTED, NULL), CM_OK);
	cm_request r = fx_request(f, id);
	assert_int_equal(r.state, CM_STATE_FAILED);
	/* The request says which condition failed, not whose: the operator's
	 * audit trail has the detail. */
	assert_string_equal(r.reason, "billing_no_longer_met");
	GArray *log = g_array_new(FALSE, FALSE, sizeof(cm_audit));
	assert_int_equal(f->st->ops->audit_list(f->st, id, log, NULL), CM_OK);
	bool detailed = false;
	for (guint i = 0; i < log->len; i++)
		detailed |= strstr(g_array_index(log, cm_audit, i).detail, "bob-ovh has not passed the VoIP validation") != NULL;
	g_array_free(log, TRUE);
	assert_true(detailed);
	assert_string_equal(fx_get_group(f).billing, "alice-ovh");
	assert_int_equal(fx_mails(f, id, CM_MAIL_FAILED, "alice@example.com"), 1);
	assert_int_equal(fx_mails(f, id, CM_MAIL_FAILED, "bob@example.net"), 1);
	assert_int_equal(fx_mails(f, id, CM_MAIL_DONE, NULL), 0);
}

static void admin_with_others_applies_all_at_once_and_old_requests_stay_valid(void **state)
{
	fx *f = *state;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_err err = {0};
	fx_cast(f);
	/* alice asks billing -> carol first, then admin+tech -> bob. */
	int64_t billing = fx_create(f, "alice-ovh", NULL, NULL, "carol-ovh");
	int64_t admin = fx_create(f, "alice-ovh", "bob-ovh", "bob-ovh", NULL);
	assert_int_equal(fx_request(f, admin).roles, CM_ROLE_ADMIN | CM_ROLE_TECH);
	cm_token a = fx_token(f, admin, "alice@example.com"), b = fx_token(f, admin, "bob@example.net");
	assert_int_equal(decide(f, admin, &a, CM_DECISION_ACCEPTED, NULL), CM_OK);
	assert_int_equal(decide(f, admin, &b, CM_DECISION_ACCEPTED, NULL), CM_OK);
	cm_group g = fx_get_group(f);
	assert_string_equal(g.admin, "bob-ovh");
	assert_string_equal(g.tech, "bob-ovh");
	/* New requests need the new admin... */
	assert_int_equal(core_request_create(&f->core, "g1-ovh-1", "alice-ovh", NULL, "carol-ovh", NULL, f->now, ids, &err),
			 CM_ERR_RULE);
	/* ...but the former admin's open request still completes. */
	cm_token a2 = fx_token(f, billing, "alice@example.com"), c2 = fx_token(f, billing, "carol@example.org");
	assert_int_equal(decide(f, billing, &a2, CM_DECISION_ACCEPTED, NULL), CM_OK);
	assert_int_equal(decide(f, billing, &c2, CM_DECISION_ACCEPTED, NULL), CM_OK);
	assert_int_equal(fx_request(f, billing).state, CM_STATE_DONE);
	assert_string_equal(fx_get_group(f).billing, "carol-ovh");
	/* And the former admin may still cancel what it asked. */
	int64_t tech = fx_create(f, "bob-ovh", NULL, "alice-ovh", NULL);
	assert_int_equal(core_request_cancel(&f->core, tech, "bob-ovh", f->now, &err), CM_OK);
	g_array_free(ids, TRUE);
}

static void the_same_message_twice_is_recorded_once(void **state)
{
	fx *f = *state;
	cm_decision_result r1, r2;
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	cm_token a = fx_token(f, id, "alice@example.com");
	assert_int_equal(core_decide(&f->core, 0, &a, CM_DECISION_ACCEPTED, CM_VIA_EMAIL, "<m1@x>", f->now, &r1, NULL), CM_OK);
	assert_false(r1.duplicate);
	assert_int_equal(core_decide(&f->core, 0, &a, CM_DECISION_ACCEPTED, CM_VIA_EMAIL, "<m1@x>", f->now, &r2, NULL), CM_OK);
	assert_true(r2.duplicate);
	assert_int_equal(r2.request_id, id);
	assert_int_equal(r2.decision, CM_DECISION_ACCEPTED);
	assert_string_equal(r2.nic, "alice-ovh");
	assert_int_equal(fx_mails(f, id, CM_MAIL_WAITING, NULL), 1);
	GArray *log = g_array_new(FALSE, FALSE, sizeof(cm_audit));
	assert_int_equal(f->st->ops->audit_list(f->st, id, log, NULL), CM_OK);
	assert_int_equal(log->len, 2); /* created, accepted */
	g_array_free(log, TRUE);
}

/* Count every row of every table: "the store as it was". */
static char *store_fingerprint(fx *f)
{
	GString *s = g_string_new(NULL);
	static const char *const tables[] = {"accounts", "groups", "services", "requests", "parties",
					     "tokens", "outbox", "audit", "replies", "failures"};
	for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
		bool keyed = strcmp(tables[i], "tokens") != 0 && strcmp(tables[i], "replies") != 0;
		bool has_id = strcmp(tables[i], "requests") == 0 || strcmp(tables[i], "outbox") == 0 ||
			      strcmp(tables[i], "audit") == 0;
		char *sql = keyed ? g_strdup_printf("SELECT COUNT(*), TOTAL(LENGTH(quote(%s.rowid))) FROM %s", tables[i],
						    tables[i])
				  : g_strdup_printf("SELECT COUNT(*), 0 FROM %s", tables[i]);
		/* PostgreSQL has no rowid: the ids, where a table has them. */
		char *pg = has_id ? g_strdup_printf("SELECT COUNT(*) || ' ' || COALESCE(SUM(LENGTH(id::text)), 0) FROM %s",
						    tables[i])
				  : g_strdup_printf("SELECT COUNT(*) FROM %s", tables[i]);
		char *v = fx_sql(f, sql, pg);
		g_string_append_printf(s, "%s=%s ", tables[i], v);
		g_free(v);
		g_free(pg);
		g_free(sql);
	}
	/* And what changes in place: states, decisions, addresses, serials,
	 * reminders, flags, the outbox's states. */
	static const char *const rows[][2] = {
		{"SELECT group_concat(state || ':' || reported || ':' || COALESCE(decision, '-') || ':' || email || ':'"
		 " || token_serial || ':' || COALESCE(last_sent_at, '-') || ':' || COALESCE(reminded_at, '-'), ',')"
		 " FROM requests JOIN parties ON parties.request_id = requests.id",
		 "SELECT string_agg(state || ':' || reported || ':' || COALESCE(decision, '-') || ':' || email || ':'"
		 " || token_serial || ':' || COALESCE(last_sent_at::text, '-') || ':' || COALESCE(reminded_at::text, '-'),"
		 " ',' ORDER BY requests.id, parties.side) FROM requests JOIN parties ON parties.request_id = requests.id"},
		{"SELECT group_concat(id || ':' || state, ',') FROM outbox",
		 "SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM outbox"},
		{"SELECT group_concat(nic || ':' || email || ':' || bouncing, ',') FROM accounts",
		 "SELECT string_agg(nic || ':' || email || ':' || bouncing, ',' ORDER BY nic) FROM accounts"},
		{"SELECT group_concat(COALESCE(superseded_at, '-'), ',') FROM tokens",
		 "SELECT string_agg(COALESCE(superseded_at::text, '-'), ',' ORDER BY hash) FROM tokens"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(rows); i++) {
		char *v = fx_sql(f, rows[i][0], rows[i][1]);
		g_string_append_printf(s, " | %s", v);
		g_free(v);
	}
	return g_string_free(s, FALSE);
}

/* One operation of the fault test, run with the n-th store step failing. */
typedef struct {
	int64_t done_id, report_id, remind_id, bounce_id, bounce_item;
	cm_token b, carol;
} fault_ctx;

static cm_status fault_op(fx *f, int op, fault_ctx *x, cm_err *err)
{
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_decision_result res;
	int n = 0, n2 = 0;
	cm_status st = CM_ERR_INTERNAL;
	switch (op) {
	case 0: /* a creation, with its two mails, its event and its audit line */
		st = core_request_create(&f->core, "g1-ovh-1", "alice-ovh", NULL, NULL, "carol-ovh", f->now, ids, err);
		if (st == CM_OK)
			x->report_id = g_array_index(ids, int64_t, 0);
		break;
	case 1: /* the completing decision, by mail: the reply's record first */
		st = core_decide(&f->core, x->done_id, &x->b, CM_DECISION_ACCEPTED, CM_VIA_EMAIL, "<fault@example.net>",
				 f->now, &res, err);
		break;
	case 2: /* a resend to a corrected address: supersede, withdraw, mail, audit */
		st = core_request_resend(&f->core, x->report_id, "alice-ovh", "carol-ovh", f->now + 600, &n, err);
		break;
	case 3: /* "this wasn't me": refuse, flag, withdraw, tell both, the operator, events */
		st = core_report(&f->core, x->report_id, &x->carol, CM_VIA_CLI, NULL, f->now + 700, &res, err);
		break;
	case 4: /* the sweep: expiry and a reminder */
		st = core_sweep(&f->core, f->now + 8 * 86400, &n, &n2, err);
		if (st == CM_OK)
			assert_int_equal(n2, 1);
		break;
	case 5: /* a cancellation */
		st = core_request_cancel(&f->core, x->remind_id, "alice-ovh", f->now + 8 * 86400, err);
		break;
	case 6: /* a bounce: mark, tell the asker, the event */
		st = core_mark_bounced(&f->core, x->bounce_item, "550 no such user", f->now + 9 * 86400, err);
		break;
	}
	g_array_free(ids, TRUE);
	return st;
}

static void every_failing_store_step_leaves_the_store_as_it_was(void **state)
{
	fx *f = *state;
	int failures = 0;
	fault_ctx x = {0};
	/* Events and the operator's address on: their rows are part of each
	 * transaction too. */
	g_free(f->cfg->events_url);
	f->cfg->events_url = g_strdup("http://127.0.0.1:9/hook");
	g_free(f->cfg->security_address);
	f->cfg->security_address = g_strdup("security@provider.example");
	fx_cast(f);
	x.done_id = fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	cm_token a = fx_token(f, x.done_id, "alice@example.com");
	x.b = fx_token(f, x.done_id, "bob@example.net");
	assert_int_equal(decide(f, x.done_id, &a, CM_DECISION_ACCEPTED, NULL), CM_OK);
	for (int op = 0; op < 7; op++) {
		cm_err err = {0};
		if (op == 2)
			assert_int_equal(core_account_set(&f->core, "carol-ovh", "carol@new.example", NULL, NULL, -1, -1, &err),
					 CM_OK);
		if (op == 3)
			x.carol = fx_token(f, x.report_id, "carol@new.example");
		if (op == 4) {
			/* One contact left to remind: the sweep's step is then one
			 * transaction (each reminder is its own). */
			x.remind_id = fx_create(f, "alice-ovh", NULL, NULL, "carol-ovh");
			cm_token ra = fx_token(f, x.remind_id, "alice@example.com");
			assert_int_equal(decide(f, x.remind_id, &ra, CM_DECISION_ACCEPTED, NULL), CM_OK);
		}
		if (op == 6) {
			x.bounce_id = fx_create(f, "alice-ovh", NULL, NULL, "carol-ovh");
			GArray *l = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
			assert_int_equal(f->st->ops->outbox_list(f->st, -1, x.bounce_id, l, NULL), CM_OK);
			for (guint i = 0; i < l->len; i++) {
				cm_outbox_item *it = &g_array_index(l, cm_outbox_item, i);
				if (it->kind == CM_MAIL_VALIDATION && strcmp(it->nic, "carol-ovh") == 0)
					x.bounce_item = it->id;
			}
			g_array_free(l, TRUE);
			assert_int_equal(f->st->ops->outbox_finish(f->st, x.bounce_item, CM_OUT_SENT, 0, NULL, f->now, NULL),
					 CM_OK);
		}
		for (int n = 1; n < 400; n++) {
			char *before = store_fingerprint(f);
			store_inject_fault(f->st, n);
			cm_status st = fault_op(f, op, &x, &err);
			store_inject_fault(f->st, 0);
			char *after = store_fingerprint(f);
			if (st == CM_OK) {
				assert_string_not_equal(before, after);
				g_free(before);
				g_free(after);
				break;
			}
			failures++;
			if (st != CM_ERR_IO)
				print_error("op %d fault %d: %s\n", op, n, err.msg);
			assert_int_equal(st, CM_ERR_IO);
			assert_non_null(strstr(err.msg, "injected fault"));
			if (strcmp(before, after) != 0)
				print_error("op %d fault %d changed the store:\n%s\n%s\n", op, n, before, after);
			assert_string_equal(before, after);
			g_free(before);
			g_free(after);
		}
	}
	print_message("# %d injected faults, each left the store as it was\n", failures);
	assert_true(failures > 100);
	assert_int_equal(fx_request(f, x.done_id).state, CM_STATE_DONE);
	cm_request r = fx_request(f, x.report_id);
	assert_int_equal(r.state, CM_STATE_REFUSED);
	assert_true(r.reported);
	assert_int_equal(fx_request(f, x.remind_id).state, CM_STATE_CANCELLED);
	assert_int_equal(fx_mails(f, x.report_id, CM_MAIL_REPORT, "security@provider.example"), 1);
	assert_int_equal(fx_mails(f, x.bounce_id, CM_MAIL_BOUNCED, "alice@example.com"), 1);
	assert_int_equal(fx_mails(f, x.remind_id, CM_MAIL_REMINDER, "carol@new.example"), 1);
	/* Each transaction queued its events: created, refused, reported; and
	 * created, contact.bouncing. */
	assert_int_equal(fx_mails(f, x.report_id, CM_MAIL_EVENT, NULL), 3);
	assert_int_equal(fx_mails(f, x.bounce_id, CM_MAIL_EVENT, NULL), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
		T(create_by_someone_else_than_admin_is_refused),
		T(create_with_unknown_group_or_nic_is_not_found),
		T(create_to_the_same_nic_is_refused),
		T(a_role_in_an_open_request_is_refused_naming_it),
		T(billing_needs_both_accounts_ready_at_creation),
		T(one_request_per_distinct_pair),
		T(each_contact_gets_its_own_token_stored_as_a_hash_only),
		T(one_acceptance_keeps_it_pending_and_says_it_waits),
		T(both_acceptances_apply_the_change_and_confirm_to_both),
		T(a_refusal_ends_it_and_tells_both),
		T(used_superseded_unknown_and_foreign_tokens_are_told_apart),
		T(resend_to_a_contact_that_answered_is_refused),
		T(expiry_ends_it_tells_both_and_refuses_late_tokens),
		T(cancel_by_admin_only_while_open),
		T(billing_no_longer_ready_at_completion_fails_and_changes_nothing),
		T(admin_with_others_applies_all_at_once_and_old_requests_stay_valid),
		T(the_same_message_twice_is_recorded_once),
		T(every_failing_store_step_leaves_the_store_as_it_was),
	};
	return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
