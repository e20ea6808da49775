/* store_sqlite.c - the SQLite backend of store.h: WAL, synchronous=FULL,
 * foreign keys, numbered migrations kept in PRAGMA user_version, prepared
 * statements cached per connection, bind parameters only. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	cm_store base;
	sqlite3 *db;
	GHashTable *stmts; /* SQL text (static string) -> sqlite3_stmt* */
	int fault_in;      /* > 0: statements left before an injected failure */
	char *path;
	gint64 busy_timeout_us, busy_since;
	GMutex *write_lock; /* see cm_store_opts */
	bool holds_lock;
} sq_store;

static const char *const migrations[] = {
	/* 1: the workflow */
	"CREATE TABLE accounts(nic TEXT PRIMARY KEY, email TEXT NOT NULL, lang TEXT NOT NULL,"
	" voip_validated INTEGER NOT NULL DEFAULT 0, payments_ok INTEGER NOT NULL DEFAULT 0,"
	" bouncing INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
	"CREATE TABLE groups(name TEXT PRIMARY KEY, admin TEXT NOT NULL REFERENCES accounts(nic),"
	" tech TEXT NOT NULL REFERENCES accounts(nic), billing TEXT NOT NULL REFERENCES accounts(nic),"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE services(grp TEXT NOT NULL REFERENCES groups(name), name TEXT NOT NULL,"
	" kind TEXT NOT NULL, PRIMARY KEY(grp, name));"
	"CREATE TABLE requests(id INTEGER PRIMARY KEY, grp TEXT NOT NULL REFERENCES groups(name),"
	" roles INTEGER NOT NULL, from_nic TEXT NOT NULL REFERENCES accounts(nic),"
	" to_nic TEXT NOT NULL REFERENCES accounts(nic), asked_by TEXT NOT NULL, state TEXT NOT NULL,"
	" created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, done_at INTEGER, reason TEXT);"
	"CREATE INDEX requests_state ON requests(state, expires_at);"
	"CREATE INDEX requests_grp ON requests(grp, state);"
	"CREATE TABLE parties(request_id INTEGER NOT NULL REFERENCES requests(id),"
	" side TEXT NOT NULL CHECK(side IN ('from','to')), nic TEXT NOT NULL, email TEXT NOT NULL,"
	" decision TEXT CHECK(decision IN ('accepted','refused')), decided_at INTEGER, via TEXT,"
	" PRIMARY KEY(request_id, side));"
	"CREATE INDEX parties_nic ON parties(nic);"
	"CREATE TABLE tokens(hash BLOB PRIMARY KEY, request_id INTEGER NOT NULL, side TEXT NOT NULL,"
	" created_at INTEGER NOT NULL, superseded_at INTEGER,"
	" FOREIGN KEY(request_id, side) REFERENCES parties(request_id, side)) WITHOUT ROWID;"
	"CREATE INDEX tokens_party ON tokens(request_id, side);"
	"CREATE TABLE outbox(id INTEGER PRIMARY KEY, request_id INTEGER REFERENCES requests(id),"
	" kind TEXT NOT NULL, nic TEXT NOT NULL DEFAULT '', rcpt TEXT NOT NULL, sender TEXT NOT NULL DEFAULT '',"
	" message BLOB, state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,"
	" next_attempt_at INTEGER NOT NULL, claimed_until INTEGER, last_error TEXT,"
	" created_at INTEGER NOT NULL, sent_at INTEGER);"
	"CREATE INDEX outbox_due ON outbox(state, next_attempt_at);"
	"CREATE INDEX outbox_req ON outbox(request_id);"
	"CREATE TABLE audit(id INTEGER PRIMARY KEY, at INTEGER NOT NULL, request_id INTEGER,"
	" actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX audit_req ON audit(request_id);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;",
	/* 2: what the milter remembers of replies: seen messages, failed attempts */
	"CREATE TABLE replies(message_id TEXT NOT NULL, token_hash BLOB NOT NULL, request_id INTEGER NOT NULL,"
	" decision TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(message_id, token_hash)) WITHOUT ROWID;"
	"CREATE TABLE failures(key TEXT NOT NULL, at INTEGER NOT NULL);"
	"CREATE INDEX failures_key ON failures(key, at);",
	/* 3: account names for greetings; tokens derived from a secret outside
	 * the store (rule 6): each party's current token serial, and which
	 * party's token an outbox message carries as a placeholder. */
	"ALTER TABLE accounts ADD COLUMN name TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE parties ADD COLUMN token_serial INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE outbox ADD COLUMN token_side TEXT;"
	"ALTER TABLE outbox ADD COLUMN token_serial INTEGER;",
	/* 4: the life of a request: resend interval, reminders, "this wasn't me" */
	"ALTER TABLE parties ADD COLUMN last_sent_at INTEGER;"
	"ALTER TABLE parties ADD COLUMN reminded_at INTEGER;"
	"ALTER TABLE requests ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;"
	"UPDATE parties SET last_sent_at = (SELECT created_at FROM requests r WHERE r.id = parties.request_id);"
	"CREATE INDEX outbox_kind_req ON outbox(kind, request_id, state);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int store_latest_version(void)
{
	return NMIGRATIONS;
}

static sq_store *SQ(cm_store *st)
{
	return (sq_store *)st;
}

static cm_status sq_status(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW: return CM_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED: return CM_ERR_BUSY;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM: return CM_ERR_IO;
	case SQLITE_CONSTRAINT: return CM_ERR_RULE;
	default: return CM_ERR_INTERNAL;
	}
}

static cm_status sq_fail(sq_store *s, int rc, const char *what, cm_err *err)
{
	return cm_err_set(err, sq_status(rc), "store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* Get a cached, reset statement for a static SQL string. */
static cm_status sq_prep(sq_store *s, const char *sql, sqlite3_stmt **out, cm_err *err)
{
	if (s->fault_in > 0 && --s->fault_in == 0)
		return cm_err_set(err, CM_ERR_IO, "store %s: injected fault", s->path);
	sqlite3_stmt *stmt = g_hash_table_lookup(s->stmts, sql);
	if (!stmt) {
		int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
		if (rc != SQLITE_OK)
			return sq_fail(s, rc, "prepare", err);
		g_hash_table_insert(s->stmts, (gpointer)sql, stmt);
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	*out = stmt;
	return CM_OK;
}

/* Copy a text column; values are bounded on the way in, so a cut here
 * only shortens free text such as an SMTP error. */
static void col_copy(sqlite3_stmt *q, int i, char *dst, size_t n)
{
	const unsigned char *t = sqlite3_column_text(q, i);
	g_strlcpy(dst, t ? (const char *)t : "", n);
}

static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, i);
}

/* Run a statement that returns no row.  *changes (optional) gets the count. */
static cm_status sq_exec_stmt(sq_store *s, sqlite3_stmt *q, const char *what, int *changes, cm_err *err)
{
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(s, rc, what, err);
	if (changes)
		*changes = sqlite3_changes(s->db);
	return CM_OK;
}

static cm_status sq_exec(sq_store *s, const char *sql, cm_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		cm_status st = cm_err_set(err, sq_status(rc), "store %s: %s", s->path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return st;
	}
	return CM_OK;
}

/* ---- transactions ---- */

static void write_lock(sq_store *s)
{
	if (s->write_lock && !s->holds_lock) {
		g_mutex_lock(s->write_lock);
		s->holds_lock = true;
	}
}

static void write_unlock(sq_store *s)
{
	if (s->holds_lock) {
		s->holds_lock = false;
		g_mutex_unlock(s->write_lock);
	}
}

static cm_status sq_begin(cm_store *st, bool immediate, cm_err *err)
{
	sqlite3_stmt *q;
	if (immediate)
		write_lock(SQ(st));
	cm_status rs = sq_prep(SQ(st), immediate ? "BEGIN IMMEDIATE" : "BEGIN", &q, err);
	if (rs == CM_OK)
		rs = sq_exec_stmt(SQ(st), q, "begin", NULL, err);
	if (rs)
		write_unlock(SQ(st));
	return rs;
}

static cm_status sq_commit(cm_store *st, cm_err *err)
{
	sqlite3_stmt *q;
	cm_status rs = sq_prep(SQ(st), "COMMIT", &q, err);
	if (rs == CM_OK)
		rs = sq_exec_stmt(SQ(st), q, "commit", NULL, err);
	if (rs == CM_OK)
		write_unlock(SQ(st)); /* a failed commit is rolled back, then unlocked */
	return rs;
}

static void sq_rollback(cm_store *st)
{
	if (!sqlite3_get_autocommit(SQ(st)->db))
		sqlite3_exec(SQ(st)->db, "ROLLBACK", NULL, NULL, NULL);
	write_unlock(SQ(st));
}

/* ---- accounts ---- */

static cm_status sq_account_get(cm_store *st, const char *nic, cm_account *out, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT nic, email, lang, voip_validated, payments_ok, bouncing, name"
				  " FROM accounts WHERE nic = ?1", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, nic);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof *out);
		col_copy(q, 0, out->nic, sizeof out->nic);
		col_copy(q, 1, out->email, sizeof out->email);
		col_copy(q, 2, out->lang, sizeof out->lang);
		out->voip_validated = sqlite3_column_int(q, 3);
		out->payments_ok = sqlite3_column_int(q, 4);
		out->bouncing = sqlite3_column_int(q, 5);
		col_copy(q, 6, out->name, sizeof out->name);
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return cm_err_set(err, CM_ERR_NOTFOUND, "account %s does not exist", nic);
	return rc == SQLITE_ROW ? CM_OK : sq_fail(s, rc, "account lookup", err);
}

static cm_status sq_account_insert(cm_store *st, const cm_account *a, int64_t now, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT INTO accounts(nic, email, lang, voip_validated, payments_ok, bouncing,"
				  " created_at, name) VALUES(?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, a->nic);
	bind_text(q, 2, a->email);
	bind_text(q, 3, a->lang);
	sqlite3_bind_int(q, 4, a->voip_validated);
	sqlite3_bind_int(q, 5, a->payments_ok);
	sqlite3_bind_int64(q, 6, now);
	bind_text(q, 7, a->name);
	rs = sq_exec_stmt(s, q, "account insert", NULL, err);
	if (rs == CM_ERR_RULE)
		return cm_err_set(err, CM_ERR_RULE, "account %s exists already", a->nic);
	return rs;
}

static cm_status sq_account_update(cm_store *st, const cm_account *a, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE accounts SET email = ?2, lang = ?3, voip_validated = ?4,"
				  " payments_ok = ?5, bouncing = ?6, name = ?7 WHERE nic = ?1", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, a->nic);
	bind_text(q, 2, a->email);
	bind_text(q, 3, a->lang);
	sqlite3_bind_int(q, 4, a->voip_validated);
	sqlite3_bind_int(q, 5, a->payments_ok);
	sqlite3_bind_int(q, 6, a->bouncing);
	bind_text(q, 7, a->name);
	int n = 0;
	rs = sq_exec_stmt(s, q, "account update", &n, err);
	if (rs == CM_OK && n == 0)
		return cm_err_set(err, CM_ERR_NOTFOUND, "account %s does not exist", a->nic);
	return rs;
}

/* ---- groups and services ---- */

static cm_status sq_group_get(cm_store *st, const char *name, cm_group *out, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT name, admin, tech, billing FROM groups WHERE name = ?1", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, name);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		col_copy(q, 0, out->name, sizeof out->name);
		col_copy(q, 1, out->admin, sizeof out->admin);
		col_copy(q, 2, out->tech, sizeof out->tech);
		col_copy(q, 3, out->billing, sizeof out->billing);
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return cm_err_set(err, CM_ERR_NOTFOUND, "group %s does not exist", name);
	return rc == SQLITE_ROW ? CM_OK : sq_fail(s, rc, "group lookup", err);
}

static cm_status sq_group_insert(cm_store *st, const cm_group *g, int64_t now, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT INTO groups(name, admin, tech, billing, created_at)"
				  " VALUES(?1, ?2, ?3, ?4, ?5)", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, g->name);
	bind_text(q, 2, g->admin);
	bind_text(q, 3, g->tech);
	bind_text(q, 4, g->billing);
	sqlite3_bind_int64(q, 5, now);
	rs = sq_exec_stmt(s, q, "group insert", NULL, err);
	if (rs == CM_ERR_RULE)
		return cm_err_set(err, CM_ERR_RULE, "group %s exists already", g->name);
	return rs;
}

static cm_status sq_group_update(cm_store *st, const cm_group *g, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE groups SET admin = ?2, tech = ?3, billing = ?4 WHERE name = ?1", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, g->name);
	bind_text(q, 2, g->admin);
	bind_text(q, 3, g->tech);
	bind_text(q, 4, g->billing);
	return sq_exec_stmt(s, q, "group update", NULL, err);
}

static cm_status sq_service_insert(cm_store *st, const cm_service *sv, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT INTO services(grp, name, kind) VALUES(?1, ?2, ?3)", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, sv->group);
	bind_text(q, 2, sv->name);
	bind_text(q, 3, sv->kind);
	rs = sq_exec_stmt(s, q, "service insert", NULL, err);
	if (rs == CM_ERR_RULE)
		return cm_err_set(err, CM_ERR_RULE, "service %s exists already in group %s", sv->name, sv->group);
	return rs;
}

static cm_status sq_service_list(cm_store *st, const char *group, GArray *out, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT grp, name, kind FROM services WHERE grp = ?1 ORDER BY name", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, group);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		cm_service sv;
		col_copy(q, 0, sv.group, sizeof sv.group);
		col_copy(q, 1, sv.name, sizeof sv.name);
		col_copy(q, 2, sv.kind, sizeof sv.kind);
		g_array_append_val(out, sv);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? CM_OK : sq_fail(s, rc, "service list", err);
}

/* ---- requests ---- */

#define REQ_COLS "id, grp, roles, from_nic, to_nic, asked_by, state, created_at, expires_at, done_at, reason, reported"

static void request_row(sqlite3_stmt *q, cm_request *r)
{
	char state[16];
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(q, 0);
	col_copy(q, 1, r->group, sizeof r->group);
	r->roles = (unsigned)sqlite3_column_int(q, 2);
	col_copy(q, 3, r->from_nic, sizeof r->from_nic);
	col_copy(q, 4, r->to_nic, sizeof r->to_nic);
	col_copy(q, 5, r->asked_by, sizeof r->asked_by);
	col_copy(q, 6, state, sizeof state);
	int sv = cm_state_parse(state);
	r->state = sv < 0 ? CM_STATE_FAILED : (cm_state)sv;
	r->created_at = sqlite3_column_int64(q, 7);
	r->expires_at = sqlite3_column_int64(q, 8);
	r->done_at = sqlite3_column_int64(q, 9);
	col_copy(q, 10, r->reason, sizeof r->reason);
	r->reported = sqlite3_column_int(q, 11);
}

static cm_status sq_request_insert(cm_store *st, cm_request *r, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT INTO requests(grp, roles, from_nic, to_nic, asked_by, state, created_at,"
				  " expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, r->group);
	sqlite3_bind_int(q, 2, (int)r->roles);
	bind_text(q, 3, r->from_nic);
	bind_text(q, 4, r->to_nic);
	bind_text(q, 5, r->asked_by);
	bind_text(q, 6, cm_state_str(r->state));
	sqlite3_bind_int64(q, 7, r->created_at);
	sqlite3_bind_int64(q, 8, r->expires_at);
	rs = sq_exec_stmt(s, q, "request insert", NULL, err);
	if (rs == CM_OK)
		r->id = sqlite3_last_insert_rowid(s->db);
	return rs;
}

static cm_status sq_request_get(cm_store *st, int64_t id, cm_request *out, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT " REQ_COLS " FROM requests WHERE id = ?1", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		request_row(q, out);
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return cm_err_set(err, CM_ERR_NOTFOUND, "request %lld does not exist", (long long)id);
	return rc == SQLITE_ROW ? CM_OK : sq_fail(s, rc, "request lookup", err);
}

static cm_status sq_request_update(cm_store *st, const cm_request *r, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE requests SET state = ?2, done_at = ?3, reason = ?4, reported = ?5 WHERE id = ?1",
			       &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, r->id);
	bind_text(q, 2, cm_state_str(r->state));
	if (r->done_at)
		sqlite3_bind_int64(q, 3, r->done_at);
	bind_text(q, 4, r->reason[0] ? r->reason : NULL);
	sqlite3_bind_int(q, 5, r->reported);
	return sq_exec_stmt(s, q, "request update", NULL, err);
}

static cm_status sq_request_list(cm_store *st, const char *nic, int state, GArray *out, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT " REQ_COLS " FROM requests"
				  " WHERE (?1 IS NULL OR from_nic = ?1 OR to_nic = ?1 OR asked_by = ?1)"
				  " AND (?2 IS NULL OR state = ?2) ORDER BY id", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, nic);
	bind_text(q, 2, state >= 0 ? cm_state_str((cm_state)state) : NULL);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		cm_request r;
		request_row(q, &r);
		g_array_append_val(out, r);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? CM_OK : sq_fail(s, rc, "request list", err);
}

static cm_status sq_request_open_with_roles(cm_store *st, const char *group, unsigned roles, int64_t *id,
					    cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT id FROM requests WHERE grp = ?1 AND state = 'pending'"
				  " AND (roles & ?2) != 0 ORDER BY id LIMIT 1", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, group);
	sqlite3_bind_int(q, 2, (int)roles);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return CM_ERR_NOTFOUND;
	return rc == SQLITE_ROW ? CM_OK : sq_fail(s, rc, "open request lookup", err);
}

static cm_status sq_request_due(cm_store *st, int64_t now, GArray *ids, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT id FROM requests WHERE state = 'pending' AND expires_at <= ?1 ORDER BY id",
			       &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, now);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		g_array_append_val(ids, id);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? CM_OK : sq_fail(s, rc, "expiry scan", err);
}

static cm_status sq_reminder_due(cm_store *st, int64_t now, int64_t created_before, GArray *pairs, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT p.request_id, p.side FROM requests r JOIN parties p ON p.request_id = r.id"
				  " WHERE r.state = 'pending' AND r.expires_at > ?1 AND r.created_at <= ?2"
				  " AND p.decision IS NULL AND p.reminded_at IS NULL ORDER BY p.request_id, p.side",
			       &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, created_before);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(q, 0);
		const char *side = (const char *)sqlite3_column_text(q, 1);
		int64_t sd = side && strcmp(side, "to") == 0 ? CM_SIDE_TO : CM_SIDE_FROM;
		g_array_append_val(pairs, id);
		g_array_append_val(pairs, sd);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? CM_OK : sq_fail(s, rc, "reminder scan", err);
}

/* ---- parties and tokens ---- */

static cm_status sq_party_insert(cm_store *st, const cm_party *p, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT INTO parties(request_id, side, nic, email) VALUES(?1, ?2, ?3, ?4)", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, p->request_id);
	bind_text(q, 2, cm_side_str(p->side));
	bind_text(q, 3, p->nic);
	bind_text(q, 4, p->email);
	return sq_exec_stmt(s, q, "party insert", NULL, err);
}

static cm_status sq_party_pair(cm_store *st, int64_t request_id, cm_party out[2], cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT p.side, p.nic, p.email, p.decision, p.decided_at, p.via,"
				  " COALESCE(a.bouncing, 0), p.token_serial, p.last_sent_at, p.reminded_at"
				  " FROM parties p LEFT JOIN accounts a ON a.nic = p.nic"
				  " WHERE p.request_id = ?1", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, request_id);
	int rc, seen = 0;
	memset(out, 0, 2 * sizeof *out);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		char buf[16];
		col_copy(q, 0, buf, sizeof buf);
		cm_party *p = &out[strcmp(buf, "to") == 0 ? CM_SIDE_TO : CM_SIDE_FROM];
		p->request_id = request_id;
		p->side = strcmp(buf, "to") == 0 ? CM_SIDE_TO : CM_SIDE_FROM;
		col_copy(q, 1, p->nic, sizeof p->nic);
		col_copy(q, 2, p->email, sizeof p->email);
		col_copy(q, 3, buf, sizeof buf);
		p->decision = strcmp(buf, "accepted") == 0 ? CM_DECISION_ACCEPTED
			      : strcmp(buf, "refused") == 0 ? CM_DECISION_REFUSED : CM_DECISION_NONE;
		p->decided_at = sqlite3_column_int64(q, 4);
		col_copy(q, 5, buf, sizeof buf);
		p->via = strcmp(buf, "email") == 0 ? CM_VIA_EMAIL
			 : strcmp(buf, "cli") == 0 ? CM_VIA_CLI
			 : strcmp(buf, "web") == 0 ? CM_VIA_WEB
						   : CM_VIA_NONE;
		p->bouncing = sqlite3_column_int(q, 6);
		p->token_serial = sqlite3_column_int(q, 7);
		p->last_sent_at = sqlite3_column_int64(q, 8);
		p->reminded_at = sqlite3_column_int64(q, 9);
		seen++;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "party lookup", err);
	if (seen != 2)
		return cm_err_set(err, CM_ERR_NOTFOUND, "request %lld does not exist", (long long)request_id);
	return CM_OK;
}

static cm_status sq_party_decide(cm_store *st, int64_t request_id, cm_side side, cm_decision d, cm_via via,
				 int64_t now, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE parties SET decision = ?3, via = ?4, decided_at = ?5"
				  " WHERE request_id = ?1 AND side = ?2 AND decision IS NULL", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, request_id);
	bind_text(q, 2, cm_side_str(side));
	bind_text(q, 3, cm_decision_str(d));
	bind_text(q, 4, cm_via_str(via));
	sqlite3_bind_int64(q, 5, now);
	int n = 0;
	rs = sq_exec_stmt(s, q, "decision", &n, err);
	if (rs == CM_OK && n != 1)
		return cm_err_set(err, CM_ERR_TOKEN_USED, "this contact has already answered request %lld",
				  (long long)request_id);
	return rs;
}

static cm_status sq_party_mailed(cm_store *st, int64_t request_id, cm_side side, const char *email, int64_t now,
				 cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE parties SET email = ?3, last_sent_at = ?4 WHERE request_id = ?1 AND side = ?2",
			       &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, request_id);
	bind_text(q, 2, cm_side_str(side));
	bind_text(q, 3, email);
	sqlite3_bind_int64(q, 4, now);
	return sq_exec_stmt(s, q, "party mailed", NULL, err);
}

static cm_status sq_party_reminded(cm_store *st, int64_t request_id, cm_side side, int64_t now, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE parties SET reminded_at = ?3 WHERE request_id = ?1 AND side = ?2"
				  " AND reminded_at IS NULL AND decision IS NULL", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, request_id);
	bind_text(q, 2, cm_side_str(side));
	sqlite3_bind_int64(q, 3, now);
	int n = 0;
	rs = sq_exec_stmt(s, q, "party reminded", &n, err);
	if (rs == CM_OK && n == 0)
		return cm_err_set(err, CM_ERR_NOTFOUND, "already reminded or answered");
	return rs;
}

static cm_status sq_token_insert(cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], int64_t request_id,
				 cm_side side, int serial, int64_t now, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT INTO tokens(hash, request_id, side, created_at) VALUES(?1, ?2, ?3, ?4)",
			       &q, err);
	if (rs)
		return rs;
	sqlite3_bind_blob(q, 1, hash, CM_TOKEN_HASH_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 2, request_id);
	bind_text(q, 3, cm_side_str(side));
	sqlite3_bind_int64(q, 4, now);
	if ((rs = sq_exec_stmt(s, q, "token insert", NULL, err)))
		return rs;
	if ((rs = sq_prep(s, "UPDATE parties SET token_serial = ?3 WHERE request_id = ?1 AND side = ?2", &q, err)))
		return rs;
	sqlite3_bind_int64(q, 1, request_id);
	bind_text(q, 2, cm_side_str(side));
	sqlite3_bind_int(q, 3, serial);
	return sq_exec_stmt(s, q, "token serial", NULL, err);
}

static cm_status sq_token_lookup(cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], cm_token_ref *out,
				 cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT request_id, side, superseded_at IS NOT NULL FROM tokens WHERE hash = ?1",
			       &q, err);
	if (rs)
		return rs;
	sqlite3_bind_blob(q, 1, hash, CM_TOKEN_HASH_BYTES, SQLITE_TRANSIENT);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		out->request_id = sqlite3_column_int64(q, 0);
		const char *side = (const char *)sqlite3_column_text(q, 1);
		out->side = side && strcmp(side, "to") == 0 ? CM_SIDE_TO : CM_SIDE_FROM;
		out->superseded = sqlite3_column_int(q, 2);
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return cm_err_set(err, CM_ERR_TOKEN_UNKNOWN, "unknown token");
	return rc == SQLITE_ROW ? CM_OK : sq_fail(s, rc, "token lookup", err);
}

static cm_status sq_token_supersede(cm_store *st, int64_t request_id, cm_side side, int64_t now, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE tokens SET superseded_at = ?3 WHERE request_id = ?1 AND side = ?2"
				  " AND superseded_at IS NULL", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, request_id);
	bind_text(q, 2, cm_side_str(side));
	sqlite3_bind_int64(q, 3, now);
	return sq_exec_stmt(s, q, "token supersede", NULL, err);
}

/* ---- outbox ---- */

#define OUT_COLS "id, request_id, kind, nic, rcpt, sender, state, attempts, next_attempt_at, created_at," \
		 " sent_at, last_error, token_side, token_serial"

static void outbox_row(sqlite3_stmt *q, cm_outbox_item *it)
{
	char buf[16];
	memset(it, 0, sizeof *it);
	it->id = sqlite3_column_int64(q, 0);
	it->request_id = sqlite3_column_int64(q, 1);
	col_copy(q, 2, buf, sizeof buf);
	int k = cm_mail_kind_parse(buf);
	it->kind = k < 0 ? CM_MAIL_NOTICE : (cm_mail_kind)k;
	col_copy(q, 3, it->nic, sizeof it->nic);
	col_copy(q, 4, it->rcpt, sizeof it->rcpt);
	col_copy(q, 5, it->sender, sizeof it->sender);
	col_copy(q, 6, buf, sizeof buf);
	int o = cm_out_state_parse(buf);
	it->state = o < 0 ? CM_OUT_FAILED : (cm_out_state)o;
	it->attempts = sqlite3_column_int(q, 7);
	it->next_attempt_at = sqlite3_column_int64(q, 8);
	it->created_at = sqlite3_column_int64(q, 9);
	it->sent_at = sqlite3_column_int64(q, 10);
	col_copy(q, 11, it->last_error, sizeof it->last_error);
	col_copy(q, 12, buf, sizeof buf);
	it->token_side = strcmp(buf, "from") == 0 ? CM_SIDE_FROM : strcmp(buf, "to") == 0 ? CM_SIDE_TO : -1;
	it->token_serial = sqlite3_column_int(q, 13);
}

static char *blob_dup(sqlite3_stmt *q, int col)
{
	int n = sqlite3_column_bytes(q, col);
	const void *b = sqlite3_column_blob(q, col);
	char *m = g_malloc((gsize)n + 1);
	if (n > 0)
		memcpy(m, b, (size_t)n);
	m[n] = '\0';
	return m;
}

static cm_status sq_outbox_insert(cm_store *st, cm_outbox_item *it, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT INTO outbox(request_id, kind, nic, rcpt, state, next_attempt_at,"
				  " created_at, token_side, token_serial) VALUES(?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8)",
			       &q, err);
	if (rs)
		return rs;
	if (it->request_id)
		sqlite3_bind_int64(q, 1, it->request_id);
	bind_text(q, 2, cm_mail_kind_str(it->kind));
	bind_text(q, 3, it->nic);
	bind_text(q, 4, it->rcpt);
	sqlite3_bind_int64(q, 5, it->next_attempt_at);
	sqlite3_bind_int64(q, 6, it->created_at);
	if (it->token_side == CM_SIDE_FROM || it->token_side == CM_SIDE_TO) {
		bind_text(q, 7, cm_side_str((cm_side)it->token_side));
		sqlite3_bind_int(q, 8, it->token_serial);
	}
	rs = sq_exec_stmt(s, q, "outbox insert", NULL, err);
	if (rs == CM_OK)
		it->id = sqlite3_last_insert_rowid(s->db);
	return rs;
}

static cm_status sq_outbox_set_message(cm_store *st, int64_t id, const char *sender, const char *msg, size_t len,
				       cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE outbox SET sender = ?2, message = ?3 WHERE id = ?1", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, id);
	bind_text(q, 2, sender);
	sqlite3_bind_blob64(q, 3, msg, len, SQLITE_TRANSIENT);
	return sq_exec_stmt(s, q, "outbox message", NULL, err);
}

static cm_status sq_outbox_get(cm_store *st, int64_t id, cm_outbox_item *out, char **msg, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT " OUT_COLS ", message FROM outbox WHERE id = ?1", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		outbox_row(q, out);
		if (msg)
			*msg = blob_dup(q, 14);
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return cm_err_set(err, CM_ERR_NOTFOUND, "outbox item %lld does not exist", (long long)id);
	return rc == SQLITE_ROW ? CM_OK : sq_fail(s, rc, "outbox lookup", err);
}

static cm_status sq_outbox_list(cm_store *st, int state, int64_t request_id, GArray *out, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	/* Two statements, so that a request's mail is found through its index
	 * rather than by scanning the whole outbox. */
	cm_status rs = request_id
			       ? sq_prep(s, "SELECT " OUT_COLS " FROM outbox WHERE request_id = ?2"
					    " AND (?1 IS NULL OR state = ?1) ORDER BY id", &q, err)
			       : sq_prep(s, "SELECT " OUT_COLS " FROM outbox WHERE (?1 IS NULL OR state = ?1) ORDER BY id",
					 &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, state >= 0 ? cm_out_state_str((cm_out_state)state) : NULL);
	if (request_id)
		sqlite3_bind_int64(q, 2, request_id);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		cm_outbox_item it;
		outbox_row(q, &it);
		g_array_append_val(out, it);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? CM_OK : sq_fail(s, rc, "outbox list", err);
}

static cm_status sq_outbox_claim(cm_store *st, int64_t now, int64_t lease, int max, GArray *items, GPtrArray *msgs,
				 cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_until = ?2"
				  " WHERE id IN (SELECT id FROM outbox o WHERE ((state = 'queued' AND next_attempt_at <= ?1)"
				  " OR (state = 'sending' AND claimed_until < ?1)) AND (kind != 'event' OR NOT EXISTS"
				  " (SELECT 1 FROM outbox e WHERE e.kind = 'event' AND e.request_id = o.request_id"
				  " AND e.id < o.id AND e.state IN ('queued', 'sending')))"
				  " ORDER BY next_attempt_at, id LIMIT ?3)"
				  " RETURNING " OUT_COLS ", message", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, now);
	sqlite3_bind_int64(q, 2, now + lease);
	sqlite3_bind_int(q, 3, max);
	guint before = items->len;
	int rc;
	bool own = !s->holds_lock;
	if (own)
		write_lock(s);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		cm_outbox_item it;
		outbox_row(q, &it);
		g_array_append_val(items, it);
		g_ptr_array_add(msgs, blob_dup(q, 14));
	}
	sqlite3_reset(q);
	if (own)
		write_unlock(s);
	if (rc != SQLITE_DONE) {
		g_array_set_size(items, before);
		g_ptr_array_set_size(msgs, before);
		return sq_fail(s, rc, "outbox claim", err);
	}
	return items->len > before ? CM_OK : CM_ERR_NOTFOUND;
}

static cm_status sq_outbox_release(cm_store *st, int64_t id, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE outbox SET state = 'queued', attempts = MAX(attempts - 1, 0),"
				  " claimed_until = NULL WHERE id = ?1 AND state = 'sending'", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, id);
	return sq_exec_stmt(s, q, "outbox release", NULL, err);
}

static cm_status sq_outbox_finish(cm_store *st, int64_t id, cm_out_state state, int64_t next_at, const char *error,
				  int64_t now, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE outbox SET state = ?2, next_attempt_at = CASE WHEN ?3 > 0 THEN ?3"
				  " ELSE next_attempt_at END, last_error = COALESCE(?4, last_error),"
				  " claimed_until = NULL, sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END"
				  " WHERE id = ?1", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, id);
	bind_text(q, 2, cm_out_state_str(state));
	sqlite3_bind_int64(q, 3, next_at);
	bind_text(q, 4, error);
	sqlite3_bind_int64(q, 5, now);
	int n = 0;
	rs = sq_exec_stmt(s, q, "outbox update", &n, err);
	if (rs == CM_OK && n == 0)
		return cm_err_set(err, CM_ERR_NOTFOUND, "outbox item %lld does not exist", (long long)id);
	return rs;
}

static cm_status sq_outbox_withdraw(cm_store *st, int64_t request_id, int side, int *n, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "UPDATE outbox SET state = 'withdrawn', claimed_until = NULL"
				  " WHERE request_id = ?1 AND state = 'queued' AND kind IN ('validation', 'reminder')"
				  " AND (?2 IS NULL OR token_side = ?2)", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, request_id);
	bind_text(q, 2, side == CM_SIDE_FROM || side == CM_SIDE_TO ? cm_side_str((cm_side)side) : NULL);
	int k = 0;
	rs = sq_exec_stmt(s, q, "outbox withdraw", &k, err);
	if (n)
		*n = k;
	return rs;
}

static cm_status sq_outbox_next_due(cm_store *st, int64_t *at, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT MIN(CASE state WHEN 'queued' THEN next_attempt_at ELSE claimed_until END)"
				  " FROM outbox WHERE state IN ('queued', 'sending')", &q, err);
	if (rs)
		return rs;
	int rc = sqlite3_step(q);
	bool none = rc == SQLITE_ROW && sqlite3_column_type(q, 0) == SQLITE_NULL;
	if (rc == SQLITE_ROW && !none)
		*at = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (rc != SQLITE_ROW)
		return sq_fail(s, rc, "outbox scan", err);
	return none ? CM_ERR_NOTFOUND : CM_OK;
}

/* ---- audit ---- */

static cm_status sq_audit_append(cm_store *st, const cm_audit *a, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT INTO audit(at, request_id, actor, action, detail)"
				  " VALUES(?1, ?2, ?3, ?4, ?5)", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, a->at);
	if (a->request_id)
		sqlite3_bind_int64(q, 2, a->request_id);
	bind_text(q, 3, a->actor);
	bind_text(q, 4, a->action);
	bind_text(q, 5, a->detail);
	return sq_exec_stmt(s, q, "audit", NULL, err);
}

static cm_status sq_audit_list(cm_store *st, int64_t request_id, GArray *out, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT id, at, request_id, actor, action, detail FROM audit"
				  " WHERE request_id = ?1 ORDER BY id", &q, err);
	if (rs)
		return rs;
	sqlite3_bind_int64(q, 1, request_id);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		cm_audit a;
		a.id = sqlite3_column_int64(q, 0);
		a.at = sqlite3_column_int64(q, 1);
		a.request_id = sqlite3_column_int64(q, 2);
		col_copy(q, 3, a.actor, sizeof a.actor);
		col_copy(q, 4, a.action, sizeof a.action);
		col_copy(q, 5, a.detail, sizeof a.detail);
		g_array_append_val(out, a);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? CM_OK : sq_fail(s, rc, "audit list", err);
}

/* ---- replies and failures ---- */

static cm_status sq_reply_seen(cm_store *st, const char *message_id, const unsigned char hash[CM_TOKEN_HASH_BYTES],
			       int64_t *request_id, cm_decision *d, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT request_id, decision FROM replies WHERE message_id = ?1 AND token_hash = ?2",
			       &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, message_id);
	sqlite3_bind_blob(q, 2, hash, CM_TOKEN_HASH_BYTES, SQLITE_TRANSIENT);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*request_id = sqlite3_column_int64(q, 0);
		const char *dec = (const char *)sqlite3_column_text(q, 1);
		*d = dec && strcmp(dec, "refused") == 0 ? CM_DECISION_REFUSED : CM_DECISION_ACCEPTED;
	}
	sqlite3_reset(q);
	if (rc == SQLITE_DONE)
		return CM_ERR_NOTFOUND;
	return rc == SQLITE_ROW ? CM_OK : sq_fail(s, rc, "reply lookup", err);
}

static cm_status sq_reply_record(cm_store *st, const char *message_id, const unsigned char hash[CM_TOKEN_HASH_BYTES],
				 int64_t request_id, cm_decision d, int64_t now, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT OR IGNORE INTO replies(message_id, token_hash, request_id, decision, at)"
				  " VALUES(?1, ?2, ?3, ?4, ?5)", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, message_id);
	sqlite3_bind_blob(q, 2, hash, CM_TOKEN_HASH_BYTES, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 3, request_id);
	bind_text(q, 4, cm_decision_str(d));
	sqlite3_bind_int64(q, 5, now);
	return sq_exec_stmt(s, q, "reply record", NULL, err);
}

static cm_status sq_failure_add(cm_store *st, const char *key, int64_t now, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "INSERT INTO failures(key, at) VALUES(?1, ?2)", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, key);
	sqlite3_bind_int64(q, 2, now);
	rs = sq_exec_stmt(s, q, "failure record", NULL, err);
	if (rs)
		return rs;
	/* Keep the table small: what is older than a day counts for nothing. */
	if ((rs = sq_prep(s, "DELETE FROM failures WHERE at < ?1", &q, err)))
		return rs;
	sqlite3_bind_int64(q, 1, now - 86400);
	return sq_exec_stmt(s, q, "failure cleanup", NULL, err);
}

static cm_status sq_failure_count(cm_store *st, const char *key, int64_t since, int64_t *count, cm_err *err)
{
	sq_store *s = SQ(st);
	sqlite3_stmt *q;
	cm_status rs = sq_prep(s, "SELECT COUNT(*) FROM failures WHERE key = ?1 AND at >= ?2", &q, err);
	if (rs)
		return rs;
	bind_text(q, 1, key);
	sqlite3_bind_int64(q, 2, since);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		*count = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? CM_OK : sq_fail(s, rc, "failure count", err);
}

/* ---- open, migrate, close ---- */

static int sq_schema_version(cm_store *st)
{
	sqlite3_stmt *q;
	int v = -1;
	if (sqlite3_prepare_v2(SQ(st)->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
	}
	return v;
}

static void sq_close(cm_store *st)
{
	sq_store *s = SQ(st);
	if (!s)
		return;
	write_unlock(s);
	if (s->stmts)
		g_hash_table_destroy(s->stmts);
	if (s->db)
		sqlite3_close_v2(s->db);
	g_free(s->path);
	g_free(s);
}

static const cm_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.schema_version = sq_schema_version,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.account_get = sq_account_get,
	.account_insert = sq_account_insert,
	.account_update = sq_account_update,
	.group_get = sq_group_get,
	.group_insert = sq_group_insert,
	.group_update = sq_group_update,
	.service_insert = sq_service_insert,
	.service_list = sq_service_list,
	.request_insert = sq_request_insert,
	.request_get = sq_request_get,
	.request_update = sq_request_update,
	.request_list = sq_request_list,
	.request_open_with_roles = sq_request_open_with_roles,
	.request_due = sq_request_due,
	.reminder_due = sq_reminder_due,
	.party_mailed = sq_party_mailed,
	.party_reminded = sq_party_reminded,
	.outbox_withdraw = sq_outbox_withdraw,
	.party_insert = sq_party_insert,
	.party_pair = sq_party_pair,
	.party_decide = sq_party_decide,
	.token_insert = sq_token_insert,
	.token_lookup = sq_token_lookup,
	.token_supersede = sq_token_supersede,
	.outbox_insert = sq_outbox_insert,
	.outbox_set_message = sq_outbox_set_message,
	.outbox_get = sq_outbox_get,
	.outbox_list = sq_outbox_list,
	.outbox_claim = sq_outbox_claim,
	.outbox_release = sq_outbox_release,
	.outbox_finish = sq_outbox_finish,
	.outbox_next_due = sq_outbox_next_due,
	.audit_append = sq_audit_append,
	.audit_list = sq_audit_list,
	.reply_seen = sq_reply_seen,
	.reply_record = sq_reply_record,
	.failure_add = sq_failure_add,
	.failure_count = sq_failure_count,
};

/* Waiting for another connection's write lock: retry every 100 us at
 * first, then every 2 ms, until the busy timeout.  (sqlite3_busy_timeout
 * sleeps up to 100 ms between tries, which starves the milter's threads.) */
static int sq_busy(void *ud, int count)
{
	sq_store *s = ud;
	gint64 now = g_get_monotonic_time();
	if (count == 0)
		s->busy_since = now;
	if (now - s->busy_since >= s->busy_timeout_us)
		return 0;
	g_usleep(count < 50 ? 100 : count < 200 ? 500 : 2000);
	return 1;
}

static void stmt_finalize(gpointer p)
{
	sqlite3_finalize(p);
}

static cm_status migrate(sq_store *s, int target, cm_err *err)
{
	int v = sq_schema_version(&s->base);
	if (v < 0)
		return sq_fail(s, SQLITE_ERROR, "reading schema version", err);
	if (v > NMIGRATIONS)
		return cm_err_set(err, CM_ERR_USAGE, "store %s has schema version %d, newer than this program (%d)",
				  s->path, v, NMIGRATIONS);
	while (v < target) {
		char pragma[48];
		cm_status st;
		/* Read the version again under the write lock: another process
		 * may have migrated since, and a step must run exactly once. */
		if ((st = sq_exec(s, "BEGIN IMMEDIATE", err)))
			return st;
		v = sq_schema_version(&s->base);
		if (v < 0 || v >= target) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return v < 0 ? sq_fail(s, SQLITE_ERROR, "reading schema version", err) : CM_OK;
		}
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if ((st = sq_exec(s, migrations[v], err)) || (st = sq_exec(s, pragma, err)) ||
		    (st = sq_exec(s, "COMMIT", err))) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return st;
		}
		v++;
	}
	return CM_OK;
}

cm_status store_sqlite_open(const char *path, const cm_store_opts *opts, cm_store **out, cm_err *err)
{
	sq_store *s = g_new0(sq_store, 1);
	cm_status st = CM_OK;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (opts->create ? SQLITE_OPEN_CREATE : 0);

	s->base.ops = &sqlite_ops;
	s->path = g_strdup(path);
	s->stmts = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, stmt_finalize);
	*out = NULL;
	if (!opts->create && access(path, F_OK) != 0) {
		st = cm_err_set(err, CM_ERR_USAGE, "store %s does not exist; run 'contactctl init' first", path);
		goto out;
	}
	if (opts->create) {
		/* Made by us, readable by its owner only (0600): SQLite gives its
		 * -wal and -shm files the database file's mode. */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0)
			close(fd);
		else if (errno != EEXIST) {
			st = cm_err_set(err, CM_ERR_IO, "cannot create store %s: %s", path, strerror(errno));
			goto out;
		}
	}
	int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		st = cm_err_set(err, CM_ERR_IO, "cannot open store %s: %s", path,
				s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto out;
	}
	sqlite3_extended_result_codes(s->db, 1);
	s->busy_timeout_us = (opts->busy_timeout > 0 ? opts->busy_timeout : 10000) * 1000;
	s->write_lock = opts->write_lock;
	sqlite3_busy_handler(s->db, sq_busy, s);
	if ((st = sq_exec(s, "PRAGMA journal_mode = WAL", err)) ||
	    (st = sq_exec(s, "PRAGMA synchronous = FULL", err)) ||
	    (st = sq_exec(s, "PRAGMA foreign_keys = ON", err)) ||
	    /* Read pages through a mapping: the milter's connections re-read
	     * what another one wrote, and pread copies cost more than the work. */
	    (st = sq_exec(s, "PRAGMA mmap_size = 268435456", err)))
		goto out;
	if ((st = migrate(s, opts->max_version > 0 ? opts->max_version : NMIGRATIONS, err)))
		goto out;
	*out = &s->base;
	s = NULL;
out:
	sq_close(s ? &s->base : NULL);
	return st;
}

void store_inject_fault(cm_store *st, int n)
{
	if (st->ops == &sqlite_ops)
		SQ(st)->fault_in = n;
}
