/* store_fault.c - fault injection for any backend: store_inject_fault()
 * puts a wrapper operations table in front of the backend's own, which
 * fails the n-th operation from then on (begin and commit included) as an
 * I/O error, before it reaches the backend.  Tests use it to prove that a
 * failure at any step of a transaction leaves the store as it was. */
#include "store.h"

/* Count one operation; CM_ERR_IO when it is the one to fail. */
static cm_status fault_hit(cm_store *st, const char *op, cm_err *err)
{
	if (st->fault_in > 0 && --st->fault_in == 0)
		return cm_err_set(err, CM_ERR_IO, "store (%s): %s: injected fault", st->inner->name, op);
	return CM_OK;
}

/* A wrapper that counts, then calls the backend's operation. */
#define FAULT_OP(op, params, args)                                        \
	static cm_status fault_##op params                                \
	{                                                                 \
		cm_status rs = fault_hit(st, #op, err);                   \
		return rs ? rs : st->inner->op args;                      \
	}

static void fault_close(cm_store *st)
{
	st->inner->close(st);
}

static int fault_schema_version(cm_store *st)
{
	return st->inner->schema_version(st);
}

static void fault_rollback(cm_store *st)
{
	st->inner->rollback(st);
}

FAULT_OP(begin, (cm_store *st, bool immediate, cm_err *err), (st, immediate, err))
FAULT_OP(commit, (cm_store *st, cm_err *err), (st, err))
FAULT_OP(request_lock, (cm_store *st, int64_t id, cm_err *err), (st, id, err))
FAULT_OP(group_lock, (cm_store *st, const char *name, cm_err *err), (st, name, err))
FAULT_OP(account_get, (cm_store *st, const char *nic, cm_account *out, cm_err *err), (st, nic, out, err))
FAULT_OP(account_insert, (cm_store *st, const cm_account *a, int64_t now, cm_err *err), (st, a, now, err))
FAULT_OP(account_update, (cm_store *st, const cm_account *a, cm_err *err), (st, a, err))
FAULT_OP(group_get, (cm_store *st, const char *name, cm_group *out, cm_err *err), (st, name, out, err))
FAULT_OP(group_insert, (cm_store *st, const cm_group *g, int64_t now, cm_err *err), (st, g, now, err))
FAULT_OP(group_update, (cm_store *st, const cm_group *g, cm_err *err), (st, g, err))
FAULT_OP(service_insert, (cm_store *st, const cm_service *s, cm_err *err), (st, s, err))
FAULT_OP(service_list, (cm_store *st, const char *group, GArray *out , cm_err *err), (st, group, out, err))
FAULT_OP(request_insert, (cm_store *st, cm_request *req, cm_err *err), (st, req, err))
FAULT_OP(request_get, (cm_store *st, int64_t id, cm_request *out, cm_err *err), (st, id, out, err))
FAULT_OP(request_update, (cm_store *st, const cm_request *req, cm_err *err), (st, req, err))
FAULT_OP(request_list, (cm_store *st, const char *nic, int state, GArray *out , cm_err *err), (st, nic, state, out, err))
FAULT_OP(request_open_with_roles, (cm_store *st, const char *group, unsigned roles, int64_t *id, cm_err *err), (st, group, roles, id, err))
FAULT_OP(request_due, (cm_store *st, int64_t now, GArray *ids , cm_err *err), (st, now, ids, err))
FAULT_OP(reminder_due, (cm_store *st, int64_t now, int64_t created_before, GArray *pairs, cm_err *err), (st, now, created_before, pairs, err))
FAULT_OP(party_insert, (cm_store *st, const cm_party *p, cm_err *err), (st, p, err))
FAULT_OP(party_pair, (cm_store *st, int64_t request_id, cm_party out[2], cm_err *err), (st, request_id, out, err))
FAULT_OP(party_decide, (cm_store *st, int64_t request_id, cm_side side, cm_decision d, cm_via via, int64_t now, cm_err *err), (st, request_id, side, d, via, now, err))
FAULT_OP(party_mailed, (cm_store *st, int64_t request_id, cm_side side, const char *email, int64_t now, cm_err *err), (st, request_id, side, email, now, err))
FAULT_OP(party_reminded, (cm_store *st, int64_t request_id, cm_side side, int64_t now, cm_err *err), (st, request_id, side, now, err))
FAULT_OP(token_insert, (cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], int64_t request_id, cm_side side, int serial, int64_t now, cm_err *err), (st, hash, request_id, side, serial, now, err))
FAULT_OP(token_request, (cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], bool lock, cm_token_ref *ref, cm_request *req, cm_party p[2], cm_err *err), (st, hash, lock, ref, req, p, err))
FAULT_OP(token_lookup, (cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], cm_token_ref *out, cm_err *err), (st, hash, out, err))
FAULT_OP(token_supersede, (cm_store *st, int64_t request_id, cm_side side, int64_t now, cm_err *err), (st, request_id, side, now, err))
FAULT_OP(outbox_insert, (cm_store *st, cm_outbox_item *item, const char *recipe, cm_err *err), (st, item, recipe, err))
FAULT_OP(outbox_set_message, (cm_store *st, int64_t id, const char *sender, const char *msg, size_t len, cm_err *err), (st, id, sender, msg, len, err))
FAULT_OP(outbox_get, (cm_store *st, int64_t id, cm_outbox_item *out, char **msg, cm_err *err), (st, id, out, msg, err))
FAULT_OP(outbox_list, (cm_store *st, int state, int64_t request_id, GArray *out , cm_err *err), (st, state, request_id, out, err))
FAULT_OP(outbox_claim, (cm_store *st, int64_t now, int64_t lease, int max, GArray *items, GPtrArray *msgs, cm_err *err), (st, now, lease, max, items, msgs, err))
FAULT_OP(outbox_release, (cm_store *st, int64_t id, cm_err *err), (st, id, err))
FAULT_OP(outbox_finish, (cm_store *st, int64_t id, cm_out_state state, int64_t next_at, const char *error, int64_t now, cm_err *err), (st, id, state, next_at, error, now, err))
FAULT_OP(outbox_withdraw, (cm_store *st, int64_t request_id, int side, int *n, cm_err *err), (st, request_id, side, n, err))
FAULT_OP(outbox_next_due, (cm_store *st, int64_t *at, cm_err *err), (st, at, err))
FAULT_OP(audit_append, (cm_store *st, const cm_audit *a, cm_err *err), (st, a, err))
FAULT_OP(audit_list, (cm_store *st, int64_t request_id, GArray *out , cm_err *err), (st, request_id, out, err))
FAULT_OP(reply_seen, (cm_store *st, const char *message_id, const unsigned char hash[CM_TOKEN_HASH_BYTES], int64_t *request_id, cm_decision *d, cm_err *err), (st, message_id, hash, request_id, d, err))
FAULT_OP(reply_record, (cm_store *st, const char *message_id, const unsigned char hash[CM_TOKEN_HASH_BYTES], int64_t request_id, cm_decision d, int64_t now, bool *fresh, cm_err *err), (st, message_id, hash, request_id, d, now, fresh, err))
FAULT_OP(failure_add, (cm_store *st, const char *key, int64_t now, cm_err *err), (st, key, now, err))
FAULT_OP(failure_count, (cm_store *st, const char *key, int64_t since, int64_t *count, cm_err *err), (st, key, since, count, err))

static const cm_store_ops fault_ops = {
	.name = "fault",
	.close = fault_close,
	.schema_version = fault_schema_version,
	.begin = fault_begin,
	.commit = fault_commit,
	.rollback = fault_rollback,
	.request_lock = fault_request_lock,
	.group_lock = fault_group_lock,
	.account_get = fault_account_get,
	.account_insert = fault_account_insert,
	.account_update = fault_account_update,
	.group_get = fault_group_get,
	.group_insert = fault_group_insert,
	.group_update = fault_group_update,
	.service_insert = fault_service_insert,
	.service_list = fault_service_list,
	.request_insert = fault_request_insert,
	.request_get = fault_request_get,
	.request_update = fault_request_update,
	.request_list = fault_request_list,
	.request_open_with_roles = fault_request_open_with_roles,
	.request_due = fault_request_due,
	.reminder_due = fault_reminder_due,
	.party_insert = fault_party_insert,
	.party_pair = fault_party_pair,
	.party_decide = fault_party_decide,
	.party_mailed = fault_party_mailed,
	.party_reminded = fault_party_reminded,
	.token_insert = fault_token_insert,
	.token_request = fault_token_request,
	.token_lookup = fault_token_lookup,
	.token_supersede = fault_token_supersede,
	.outbox_insert = fault_outbox_insert,
	.outbox_set_message = fault_outbox_set_message,
	.outbox_get = fault_outbox_get,
	.outbox_list = fault_outbox_list,
	.outbox_claim = fault_outbox_claim,
	.outbox_release = fault_outbox_release,
	.outbox_finish = fault_outbox_finish,
	.outbox_withdraw = fault_outbox_withdraw,
	.outbox_next_due = fault_outbox_next_due,
	.audit_append = fault_audit_append,
	.audit_list = fault_audit_list,
	.reply_seen = fault_reply_seen,
	.reply_record = fault_reply_record,
	.failure_add = fault_failure_add,
	.failure_count = fault_failure_count,
};

void store_inject_fault(cm_store *st, int n)
{
	if (n > 0 && st->ops != &fault_ops) {
		st->inner = st->ops;
		st->ops = &fault_ops;
	} else if (n <= 0 && st->ops == &fault_ops) {
		st->ops = st->inner;
		st->inner = NULL;
	}
	st->fault_in = n > 0 ? n : 0;
}
