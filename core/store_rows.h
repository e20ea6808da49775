/* store_rows.h - reading the store's rows into the core's types, once for
 * every backend: a backend hands a row over as column accessors.  Internal
 * to the store's backends; not installed. */
#ifndef CM_STORE_ROWS_H
#define CM_STORE_ROWS_H

#include "store.h"

typedef struct store_cols store_cols;
struct store_cols {
	const void *q; /* the backend's statement or result */
	int row;       /* the row in it, where a result holds several */
	int base;      /* column 0 of the reader is this column of the row */
	/* Text of a column, "" for NULL; valid until the next row. */
	const char *(*text)(const store_cols *c, int col);
	/* An integer column, 0 for NULL. */
	int64_t (*i64)(const store_cols *c, int col);
	bool (*null)(const store_cols *c, int col);
	/* A blob column as a g_malloc'd, NUL-terminated copy. */
	char *(*blob)(const store_cols *c, int col);
};

/* Read one row into the out of an operation. */
typedef void store_row_fn(const store_cols *c, void *out);

/* The columns each reader expects, in order, are the _COLS of its name. */
#define STORE_ACCOUNT_COLS "nic, email, lang, voip_validated, payments_ok, bouncing, name"
#define STORE_REQUEST_COLS \
	"id, grp, roles, from_nic, to_nic, asked_by, state, created_at, expires_at, done_at, reason, reported"
#define STORE_OUTBOX_COLS "id, request_id, kind, nic, rcpt, sender, state, attempts, next_attempt_at, created_at," \
			  " sent_at, last_error, token_side, token_serial," \
			  " CASE WHEN message IS NULL AND recipe IS NOT NULL THEN 1 ELSE 0 END"
/* The stored text of an outbox row: its message, or its recipe until the
 * message is composed (cm_outbox_item.recipe). */
#define STORE_OUTBOX_TEXT "COALESCE(message, recipe)"
/* A party with its account's bouncing flag, name and language. */
#define STORE_PARTY_COLS "p.side, p.nic, p.email, p.decision, p.decided_at, p.via, COALESCE(a.bouncing, 0)," \
			 " p.token_serial, p.last_sent_at, p.reminded_at, p.request_id, COALESCE(a.name, '')," \
			 " COALESCE(a.lang, '')"
#define STORE_PARTY_COUNT 13
/* STORE_REQUEST_COLS of requests r, for joins. */
#define STORE_REQUEST_COLS_R \
	"r.id, r.grp, r.roles, r.from_nic, r.to_nic, r.asked_by, r.state, r.created_at, r.expires_at, r.done_at," \
	" r.reason, r.reported"
#define STORE_REQUEST_COUNT 12
store_row_fn store_row_account, store_row_group, store_row_service, store_row_request, store_row_id,
	store_row_id_side, store_row_party, store_row_token, store_row_outbox, store_row_outbox_msg, store_row_maybe,
	store_row_audit, store_row_seen, store_row_token_request;

/* store_row_token_request: one row of a token's request, read whole (the
 * token's three columns, the request's, a party's), one row per party. */
typedef struct {
	cm_token_ref ref;
	cm_request req;
	cm_party party;
} store_token_request;
/* The rows of a token's request (store_token_request, one per party,
 * "from" first) into token_request's out-parameters. */
cm_status store_token_request_rows(GArray *l, cm_token_ref *ref, cm_request *req, cm_party p[2], cm_err *err);

/* store_row_outbox_msg: an outbox row and its stored text (STORE_OUTBOX_TEXT, one more column). */
typedef struct {
	cm_outbox_item it;
	char *msg;
} store_item_msg;

/* store_row_seen: a reply recorded already. */
typedef struct {
	int64_t request_id;
	cm_decision d;
} store_seen_reply;

#endif
