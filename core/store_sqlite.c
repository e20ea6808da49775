/* store_sqlite.c - the SQLite backend of store.h: WAL, foreign keys,
 * prepared statements cached per connection, bind parameters only.  The
 * schema and its migrations are in store_sqlite_schema.c.
 *
 * Durability: a commit returns only once the write-ahead log is on disk,
 * as with synchronous=FULL, but the log is synced after the write lock is
 * given up (synchronous=NORMAL, then the log's own xSync): the next writer
 * writes while this one waits for the disk, and the connections of one
 * process share their syncs (cm_write_lock_sync: one flush for all the
 * commits of a moment, a group commit).  The log is written in order, so
 * a sync covers every transaction before it: nothing that another
 * transaction built on can be lost while that one is kept. */
#include "store_rows.h"
#include "store_sqlite.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	cm_store base;
	sqlite3 *db;
	GHashTable *stmts; /* SQL text (static string) -> sqlite3_stmt* */
	char *path;
	gint64 busy_timeout_us, busy_since;
	gint64 wait_start; /* when this transaction began waiting for the write mutex; 0: not waiting */
	cm_write_lock *write_lock; /* see cm_store_opts */
	bool background;
	bool holds_lock;
	bool dirty; /* this transaction wrote: sync the log at commit */
} sq_store;

int store_latest_version(void)
{
	return CM_STORE_VERSION;
}

static sq_store *SQ(cm_store *st)
{
	return (sq_store *)st;
}

static cm_status sq_fail(sq_store *s, int rc, const char *what, cm_err *err)
{
	return cm_err_set(err, store_sqlite_status(rc), "store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* Put the write-ahead log on disk (everything written to it so far).  The
 * caller has just written through this connection, so its log is open. */
static cm_status sq_sync(sq_store *s, cm_err *err)
{
	sqlite3_file *f = NULL;
	int rc = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f);
	if (rc == SQLITE_OK && f && f->pMethods)
		rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
	if (rc != SQLITE_OK)
		return cm_err_set(err, CM_ERR_IO, "store %s: syncing the log: %s", s->path, sqlite3_errstr(rc));
	return CM_OK;
}

static cm_status sq_sync_cb(void *ud, cm_err *err)
{
	return sq_sync(ud, err);
}

/* After a statement ran: a write outside a transaction is synced now, one
 * inside it at commit. */
static cm_status sq_wrote(sq_store *s, sqlite3_stmt *q, cm_err *err)
{
	if (sqlite3_stmt_readonly(q))
		return CM_OK;
	if (!sqlite3_get_autocommit(s->db)) {
		s->dirty = true;
		return CM_OK;
	}
	return sq_sync(s, err);
}

/* Get a cached, reset statement for a static SQL string. */
static cm_status sq_prep(sq_store *s, const char *sql, sqlite3_stmt **out, cm_err *err)
{
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

/* Prepare sql and bind ?1, ?2, ... in order from the arguments, as fmt
 * says: 'i' int, 'I' int64_t, 'n' int64_t bound NULL when 0, 't' text
 * (NULL binds NULL), 'o' an optional int64_t (bool present, then the value),
 * 'h' a token hash, 'm' a blob (const char *, size_t). */
static cm_status sq_bindv(sq_store *s, const char *sql, sqlite3_stmt **out, cm_err *err, const char *fmt, va_list ap)
{
	sqlite3_stmt *q = NULL;
	cm_status rs = sq_prep(s, sql, &q, err);
	if (rs)
		return rs;
	for (int i = 1; *fmt; fmt++, i++) {
		switch (*fmt) {
		case 'i': sqlite3_bind_int(q, i, va_arg(ap, int)); break;
		case 'I': sqlite3_bind_int64(q, i, va_arg(ap, int64_t)); break;
		case 'n': {
			int64_t v = va_arg(ap, int64_t);
			if (v)
				sqlite3_bind_int64(q, i, v);
			break;
		}
		case 'o': {
			bool present = va_arg(ap, int);
			int64_t v = va_arg(ap, int64_t);
			if (present)
				sqlite3_bind_int64(q, i, v);
			break;
		}
		case 't': {
			const char *v = va_arg(ap, const char *);
			if (v)
				sqlite3_bind_text(q, i, v, -1, SQLITE_TRANSIENT);
			break;
		}
		case 'h': sqlite3_bind_blob(q, i, va_arg(ap, const unsigned char *), CM_TOKEN_HASH_BYTES, SQLITE_TRANSIENT); break;
		case 'm': {
			const char *m = va_arg(ap, const char *);
			sqlite3_bind_blob64(q, i, m, va_arg(ap, size_t), SQLITE_TRANSIENT);
			break;
		}
		default: return cm_err_set(err, CM_ERR_INTERNAL, "store: bad parameter format '%c'", *fmt);
		}
	}
	*out = q;
	return CM_OK;
}

/* A statement's current row as store_rows.h's columns. */
static const char *sq_text(const store_cols *c, int col)
{
	const unsigned char *t = sqlite3_column_text((sqlite3_stmt *)c->q, c->base + col);
	return t ? (const char *)t : "";
}

static int64_t sq_i64(const store_cols *c, int col)
{
	return sqlite3_column_int64((sqlite3_stmt *)c->q, c->base + col);
}

static bool sq_null(const store_cols *c, int col)
{
	return sqlite3_column_type((sqlite3_stmt *)c->q, c->base + col) == SQLITE_NULL;
}

static char *sq_blob(const store_cols *c, int col)
{
	sqlite3_stmt *q = (sqlite3_stmt *)c->q;
	int n = sqlite3_column_bytes(q, c->base + col);
	const void *b = sqlite3_column_blob(q, c->base + col);
	char *m = g_malloc((gsize)n + 1);
	if (n > 0)
		memcpy(m, b, (size_t)n);
	m[n] = '\0';
	return m;
}

#define SQ_COLS(stmt) {.q = (stmt), .text = sq_text, .i64 = sq_i64, .null = sq_null, .blob = sq_blob}

/* Run a statement that returns no row; *changes (optional) gets the count. */
static cm_status sq_do(sq_store *s, const char *what, int *changes, cm_err *err, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *q = NULL;
	va_list ap;
	va_start(ap, fmt);
	cm_status rs = sq_bindv(s, sql, &q, err, fmt, ap);
	va_end(ap);
	if (rs)
		return rs;
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(s, rc, what, err);
	if (changes)
		*changes = sqlite3_changes(s->db);
	return sq_wrote(s, q, err);
}

/* Read the first row of a query into out with row(); CM_ERR_NOTFOUND
 * (err untouched) when there is none. */
static cm_status sq_get(sq_store *s, const char *what, store_row_fn *row, void *out, cm_err *err, const char *sql,
			const char *fmt, ...)
{
	sqlite3_stmt *q = NULL;
	va_list ap;
	va_start(ap, fmt);
	cm_status rs = sq_bindv(s, sql, &q, err, fmt, ap);
	va_end(ap);
	if (rs)
		return rs;
	int rc = sqlite3_step(q);
	store_cols cols = SQ_COLS(q);
	if (rc == SQLITE_ROW)
		row(&cols, out);
	sqlite3_reset(q);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(s, rc, what, err);
	if ((rs = sq_wrote(s, q, err)))
		return rs;
	return rc == SQLITE_DONE ? CM_ERR_NOTFOUND : CM_OK;
}

/* Append every row of a query to the GArray out, each read by row(). */
static cm_status sq_list(sq_store *s, const char *what, store_row_fn *row, GArray *out, cm_err *err, const char *sql,
			 const char *fmt, ...)
{
	sqlite3_stmt *q = NULL;
	va_list ap;
	va_start(ap, fmt);
	cm_status rs = sq_bindv(s, sql, &q, err, fmt, ap);
	va_end(ap);
	if (rs)
		return rs;
	guint before = out->len;
	void *el = g_malloc0(g_array_get_element_size(out));
	int rc;
	store_cols cols = SQ_COLS(q);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		row(&cols, el);
		g_array_append_vals(out, el, 1);
	}
	sqlite3_reset(q);
	g_free(el);
	if (rc != SQLITE_DONE) {
		g_array_set_size(out, before);
		return sq_fail(s, rc, what, err);
	}
	return sq_wrote(s, q, err);
}

static cm_status sq_exec(sq_store *s, const char *sql, cm_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		cm_status st = cm_err_set(err, store_sqlite_status(rc), "store %s: %s", s->path,
					  msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return st;
	}
	return CM_OK;
}

/* ---- transactions ---- */

/* Take the process's write mutex, waiting no longer than the busy timeout:
 * the wait for the mutex and then for SQLite's own lock share that one
 * bound (sq_busy counts from wait_start), so a session answers 451 in time
 * even while another thread of the process waits on a lock held outside.
 * False: still held when the time ran out. */
static bool write_lock(sq_store *s)
{
	if (!s->write_lock || s->holds_lock)
		return true;
	gint64 start = g_get_monotonic_time();
	if (!cm_write_lock_take(s->write_lock, s->background, start + s->busy_timeout_us))
		return false;
	s->holds_lock = true;
	s->wait_start = start;
	return true;
}

static void write_unlock(sq_store *s)
{
	if (s->holds_lock) {
		s->holds_lock = false;
		cm_write_lock_give(s->write_lock, NULL);
	}
}

static cm_status sq_begin(cm_store *st, bool immediate, cm_err *err)
{
	if (immediate && !write_lock(SQ(st)))
		return cm_err_set(err, CM_ERR_BUSY, "store %s busy: its write lock is held for too long", SQ(st)->path);
	cm_status rs = sq_do(SQ(st), "begin", NULL, err, immediate ? "BEGIN IMMEDIATE" : "BEGIN", "");
	SQ(st)->wait_start = 0;
	if (rs)
		write_unlock(SQ(st));
	return rs;
}

/* Returns once the transaction is on disk.  Should the sync fail (the
 * disk), the transaction is committed but perhaps not durable: CM_ERR_IO,
 * a temporary failure; whoever retries finds it done (a reply again is
 * recognised by its Message-ID, a code is then used). */
static cm_status sq_commit(cm_store *st, cm_err *err)
{
	sq_store *s = SQ(st);
	cm_status rs = sq_do(s, "commit", NULL, err, "COMMIT", "");
	if (rs != CM_OK)
		return rs; /* a failed commit is rolled back, then unlocked */
	bool dirty = s->dirty;
	s->dirty = false;
	if (!s->holds_lock) /* no lock shared with other connections */
		return dirty ? sq_sync(s, err) : CM_OK;
	/* Outside the lock: the next writer goes on while this one syncs, and
	 * one sync serves the commits of a moment. */
	guint64 seq = 0;
	s->holds_lock = false;
	cm_write_lock_give(s->write_lock, dirty ? &seq : NULL);
	return dirty ? cm_write_lock_sync(s->write_lock, seq, sq_sync_cb, s, err) : CM_OK;
}

static void sq_rollback(cm_store *st)
{
	if (!sqlite3_get_autocommit(SQ(st)->db))
		sqlite3_exec(SQ(st)->db, "ROLLBACK", NULL, NULL, NULL);
	SQ(st)->dirty = false;
	write_unlock(SQ(st));
}

/* BEGIN IMMEDIATE holds the only write lock until commit: every row a
 * transaction reads stays as read, so there is nothing more to lock. */
static cm_status sq_request_lock(cm_store *st, int64_t id, cm_err *err)
{
	(void)st, (void)id, (void)err;
	return CM_OK;
}


static cm_status sq_group_lock(cm_store *st, const char *name, cm_err *err)
{
	(void)st, (void)name, (void)err;
	return CM_OK;
}

/* ---- accounts ---- */

static cm_status sq_account_get(cm_store *st, const char *nic, cm_account *out, cm_err *err)
{
	cm_status rs = sq_get(SQ(st), "account lookup", store_row_account, out, err,
			      "SELECT nic, email, lang, voip_validated, payments_ok, bouncing, name FROM accounts"
			      " WHERE nic = ?1", "t", nic);
	return rs == CM_ERR_NOTFOUND ? cm_err_set(err, rs, "account %s does not exist", nic) : rs;
}

static cm_status sq_account_insert(cm_store *st, const cm_account *a, int64_t now, cm_err *err)
{
	cm_status rs = sq_do(SQ(st), "account insert", NULL, err,
			     "INSERT INTO accounts(nic, email, lang, voip_validated, payments_ok, bouncing, created_at, name)"
			     " VALUES(?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)", "tttiiIt", a->nic, a->email, a->lang,
			     (int)a->voip_validated, (int)a->payments_ok, now, a->name);
	return rs == CM_ERR_RULE ? cm_err_set(err, rs, "account %s exists already", a->nic) : rs;
}

static cm_status sq_account_update(cm_store *st, const cm_account *a, cm_err *err)
{
	int n = 0;
	cm_status rs = sq_do(SQ(st), "account update", &n, err,
			     "UPDATE accounts SET email = ?2, lang = ?3, voip_validated = ?4, payments_ok = ?5,"
			     " bouncing = ?6, name = ?7 WHERE nic = ?1", "tttiiit", a->nic, a->email, a->lang,
			     (int)a->voip_validated, (int)a->payments_ok, (int)a->bouncing, a->name);
	if (rs == CM_OK && n == 0)
		return cm_err_set(err, CM_ERR_NOTFOUND, "account %s does not exist", a->nic);
	return rs;
}

/* ---- groups and services ---- */

static cm_status sq_group_get(cm_store *st, const char *name, cm_group *out, cm_err *err)
{
	cm_status rs = sq_get(SQ(st), "group lookup", store_row_group, out, err,
			      "SELECT name, admin, tech, billing FROM groups WHERE name = ?1", "t", name);
	return rs == CM_ERR_NOTFOUND ? cm_err_set(err, rs, "group %s does not exist", name) : rs;
}

static cm_status sq_group_insert(cm_store *st, const cm_group *g, int64_t now, cm_err *err)
{
	cm_status rs = sq_do(SQ(st), "group insert", NULL, err,
			     "INSERT INTO groups(name, admin, tech, billing, created_at) VALUES(?1, ?2, ?3, ?4, ?5)", "ttttI",
			     g->name, g->admin, g->tech, g->billing, now);
	return rs == CM_ERR_RULE ? cm_err_set(err, rs, "group %s exists already", g->name) : rs;
}

static cm_status sq_group_update(cm_store *st, const cm_group *g, cm_err *err)
{
	return sq_do(SQ(st), "group update", NULL, err,
		     "UPDATE groups SET admin = ?2, tech = ?3, billing = ?4 WHERE name = ?1", "tttt", g->name, g->admin,
		     g->tech, g->billing);
}

static cm_status sq_service_insert(cm_store *st, const cm_service *sv, cm_err *err)
{
	cm_status rs = sq_do(SQ(st), "service insert", NULL, err, "INSERT INTO services(grp, name, kind) VALUES(?1, ?2, ?3)",
			     "ttt", sv->group, sv->name, sv->kind);
	if (rs == CM_ERR_RULE)
		return cm_err_set(err, rs, "service %s exists already in group %s", sv->name, sv->group);
	return rs;
}

static cm_status sq_service_list(cm_store *st, const char *group, GArray *out, cm_err *err)
{
	return sq_list(SQ(st), "service list", store_row_service, out, err,
		       "SELECT grp, name, kind FROM services WHERE grp = ?1 ORDER BY name", "t", group);
}

/* ---- requests ---- */

static cm_status sq_request_insert(cm_store *st, cm_request *r, cm_err *err)
{
	cm_status rs = sq_do(SQ(st), "request insert", NULL, err,
			     "INSERT INTO requests(grp, roles, from_nic, to_nic, asked_by, state, created_at, expires_at)"
			     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", "tittttII", r->group, (int)r->roles, r->from_nic,
			     r->to_nic, r->asked_by, cm_state_str(r->state), r->created_at, r->expires_at);
	if (rs == CM_OK)
		r->id = sqlite3_last_insert_rowid(SQ(st)->db);
	return rs;
}

static cm_status sq_request_get(cm_store *st, int64_t id, cm_request *out, cm_err *err)
{
	cm_status rs = sq_get(SQ(st), "request lookup", store_row_request, out, err,
			      "SELECT " STORE_REQUEST_COLS " FROM requests WHERE id = ?1", "I", id);
	return rs == CM_ERR_NOTFOUND ? cm_err_set(err, rs, "request %lld does not exist", (long long)id) : rs;
}

static cm_status sq_request_update(cm_store *st, const cm_request *r, cm_err *err)
{
	return sq_do(SQ(st), "request update", NULL, err,
		     "UPDATE requests SET state = ?2, done_at = ?3, reason = ?4, reported = ?5 WHERE id = ?1", "Itnti",
		     r->id, cm_state_str(r->state), r->done_at, r->reason[0] ? r->reason : NULL, (int)r->reported);
}

static cm_status sq_request_list(cm_store *st, const char *nic, int state, GArray *out, cm_err *err)
{
	return sq_list(SQ(st), "request list", store_row_request, out, err,
		       "SELECT " STORE_REQUEST_COLS " FROM requests WHERE (?1 IS NULL OR from_nic = ?1 OR to_nic = ?1"
		       " OR asked_by = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY id", "tt", nic,
		       state >= 0 ? cm_state_str((cm_state)state) : NULL);
}

static cm_status sq_request_open_with_roles(cm_store *st, const char *group, unsigned roles, int64_t *id,
					    cm_err *err)
{
	return sq_get(SQ(st), "open request lookup", store_row_id, id, err,
		      "SELECT id FROM requests WHERE grp = ?1 AND state = 'pending' AND (roles & ?2) != 0"
		      " ORDER BY id LIMIT 1", "ti", group, (int)roles);
}

static cm_status sq_request_due(cm_store *st, int64_t now, GArray *ids, cm_err *err)
{
	return sq_list(SQ(st), "expiry scan", store_row_id, ids, err,
		       "SELECT id FROM requests WHERE state = 'pending' AND expires_at <= ?1 ORDER BY id", "I", now);
}

static cm_status sq_reminder_due(cm_store *st, int64_t now, int64_t created_before, GArray *pairs, cm_err *err)
{
	/* pairs holds int64_t: read each row as two elements. */
	GArray *rows = g_array_new(FALSE, FALSE, 2 * sizeof(int64_t));
	cm_status rs = sq_list(SQ(st), "reminder scan", store_row_id_side, rows, err,
			       "SELECT p.request_id, p.side FROM requests r JOIN parties p ON p.request_id = r.id"
			       " WHERE r.state = 'pending' AND r.expires_at > ?1 AND r.created_at <= ?2"
			       " AND p.decision IS NULL AND p.reminded_at IS NULL ORDER BY p.request_id, p.side",
			       "II", now, created_before);
	if (rs == CM_OK)
		g_array_append_vals(pairs, rows->data, 2 * rows->len);
	g_array_free(rows, TRUE);
	return rs;
}

/* ---- parties and tokens ---- */

static cm_status sq_party_insert(cm_store *st, const cm_party *p, cm_err *err)
{
	return sq_do(SQ(st), "party insert", NULL, err,
		     "INSERT INTO parties(request_id, side, nic, email) VALUES(?1, ?2, ?3, ?4)", "Ittt", p->request_id,
		     cm_side_str(p->side), p->nic, p->email);
}

static cm_status sq_party_pair(cm_store *st, int64_t request_id, cm_party out[2], cm_err *err)
{
	GArray *l = g_array_new(FALSE, FALSE, sizeof(cm_party));
	cm_status rs = sq_list(SQ(st), "party lookup", store_row_party, l, err,
			       "SELECT " STORE_PARTY_COLS
			       " FROM parties p LEFT JOIN accounts a ON a.nic = p.nic WHERE p.request_id = ?1"
			       " ORDER BY p.side", "I", request_id);
	if (rs == CM_OK && l->len != 2)
		rs = cm_err_set(err, CM_ERR_NOTFOUND, "request %lld does not exist", (long long)request_id);
	if (rs == CM_OK)
		memcpy(out, l->data, 2 * sizeof *out);
	g_array_free(l, TRUE);
	return rs;
}

static cm_status sq_party_decide(cm_store *st, int64_t request_id, cm_side side, cm_decision d, cm_via via,
				 int64_t now, cm_err *err)
{
	int n = 0;
	cm_status rs = sq_do(SQ(st), "decision", &n, err,
			     "UPDATE parties SET decision = ?3, via = ?4, decided_at = ?5"
			     " WHERE request_id = ?1 AND side = ?2 AND decision IS NULL", "ItttI", request_id,
			     cm_side_str(side), cm_decision_str(d), cm_via_str(via), now);
	if (rs == CM_OK && n != 1)
		return cm_err_set(err, CM_ERR_TOKEN_USED, "this contact has already answered request %lld",
				  (long long)request_id);
	return rs;
}

static cm_status sq_party_mailed(cm_store *st, int64_t request_id, cm_side side, const char *email, int64_t now,
				 cm_err *err)
{
	return sq_do(SQ(st), "party mailed", NULL, err,
		     "UPDATE parties SET email = ?3, last_sent_at = ?4 WHERE request_id = ?1 AND side = ?2", "IttI",
		     request_id, cm_side_str(side), email, now);
}

static cm_status sq_party_reminded(cm_store *st, int64_t request_id, cm_side side, int64_t now, cm_err *err)
{
	int n = 0;
	cm_status rs = sq_do(SQ(st), "party reminded", &n, err,
			     "UPDATE parties SET reminded_at = ?3 WHERE request_id = ?1 AND side = ?2"
			     " AND reminded_at IS NULL AND decision IS NULL", "ItI", request_id, cm_side_str(side), now);
	if (rs == CM_OK && n == 0)
		return cm_err_set(err, CM_ERR_NOTFOUND, "already reminded or answered");
	return rs;
}

static cm_status sq_token_insert(cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], int64_t request_id,
				 cm_side side, int serial, int64_t now, cm_err *err)
{
	cm_status rs = sq_do(SQ(st), "token insert", NULL, err,
			     "INSERT INTO tokens(hash, request_id, side, created_at) VALUES(?1, ?2, ?3, ?4)", "hItI", hash,
			     request_id, cm_side_str(side), now);
	return rs ? rs
		  : sq_do(SQ(st), "token serial", NULL, err,
			  "UPDATE parties SET token_serial = ?3 WHERE request_id = ?1 AND side = ?2", "Iti", request_id,
			  cm_side_str(side), serial);
}

/* BEGIN IMMEDIATE holds the only write lock: lock needs nothing more. */
static cm_status sq_token_request(cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], bool lock,
				  cm_token_ref *ref, cm_request *req, cm_party p[2], cm_err *err)
{
	(void)lock;
	GArray *l = g_array_new(FALSE, FALSE, sizeof(store_token_request));
	cm_status rs = sq_list(SQ(st), "token lookup", store_row_token_request, l, err,
			       "SELECT t.request_id, t.side, t.superseded_at IS NOT NULL, " STORE_REQUEST_COLS_R ", "
			       STORE_PARTY_COLS " FROM tokens t JOIN requests r ON r.id = t.request_id"
			       " JOIN parties p ON p.request_id = r.id LEFT JOIN accounts a ON a.nic = p.nic"
			       " WHERE t.hash = ?1 ORDER BY p.side", "h", hash);
	if (rs == CM_OK)
		rs = store_token_request_rows(l, ref, req, p, err);
	g_array_free(l, TRUE);
	return rs;
}

static cm_status sq_token_lookup(cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], cm_token_ref *out,
				 cm_err *err)
{
	cm_status rs = sq_get(SQ(st), "token lookup", store_row_token, out, err,
			      "SELECT request_id, side, superseded_at IS NOT NULL FROM tokens WHERE hash = ?1", "h", hash);
	return rs == CM_ERR_NOTFOUND ? cm_err_set(err, CM_ERR_TOKEN_UNKNOWN, "unknown token") : rs;
}

static cm_status sq_token_supersede(cm_store *st, int64_t request_id, cm_side side, int64_t now, cm_err *err)
{
	return sq_do(SQ(st), "token supersede", NULL, err,
		     "UPDATE tokens SET superseded_at = ?3 WHERE request_id = ?1 AND side = ?2 AND superseded_at IS NULL",
		     "ItI", request_id, cm_side_str(side), now);
}

/* ---- outbox ---- */

static cm_status sq_outbox_insert(cm_store *st, cm_outbox_item *it, const char *recipe, cm_err *err)
{
	bool tok = it->token_side == CM_SIDE_FROM || it->token_side == CM_SIDE_TO;
	cm_status rs = sq_do(SQ(st), "outbox insert", NULL, err,
			     "INSERT INTO outbox(request_id, kind, nic, rcpt, state, next_attempt_at, created_at, token_side,"
			     " token_serial, recipe) VALUES(?1, ?2, ?3, ?4, 'queued', ?5, ?6, ?7, ?8, ?9)", "ntttIItom",
			     it->request_id, cm_mail_kind_str(it->kind), it->nic, it->rcpt, it->next_attempt_at,
			     it->created_at, tok ? cm_side_str((cm_side)it->token_side) : NULL, tok,
			     (int64_t)it->token_serial, recipe, recipe ? strlen(recipe) : (size_t)0);
	if (rs == CM_OK)
		it->id = sqlite3_last_insert_rowid(SQ(st)->db);
	return rs;
}

static cm_status sq_outbox_set_message(cm_store *st, int64_t id, const char *sender, const char *msg, size_t len,
				       cm_err *err)
{
	return sq_do(SQ(st), "outbox message", NULL, err, "UPDATE outbox SET sender = ?2, message = ?3, recipe = NULL WHERE id = ?1",
		     "Itm", id, sender, msg, len);
}

static cm_status sq_outbox_get(cm_store *st, int64_t id, cm_outbox_item *out, char **msg, cm_err *err)
{
	store_item_msg im = {0};
	cm_status rs = sq_get(SQ(st), "outbox lookup", store_row_outbox_msg, &im, err,
			      "SELECT " STORE_OUTBOX_COLS ", " STORE_OUTBOX_TEXT " FROM outbox WHERE id = ?1", "I", id);
	if (rs == CM_ERR_NOTFOUND)
		return cm_err_set(err, rs, "outbox item %lld does not exist", (long long)id);
	if (rs == CM_OK) {
		*out = im.it;
		if (msg)
			*msg = im.msg;
		else
			g_free(im.msg);
	}
	return rs;
}

static cm_status sq_outbox_list(cm_store *st, int state, int64_t request_id, GArray *out, cm_err *err)
{
	const char *sv = state >= 0 ? cm_out_state_str((cm_out_state)state) : NULL;
	/* Two statements, so that a request's mail is found through its index
	 * rather than by scanning the whole outbox. */
	if (request_id)
		return sq_list(SQ(st), "outbox list", store_row_outbox, out, err,
			       "SELECT " STORE_OUTBOX_COLS " FROM outbox WHERE request_id = ?2 AND (?1 IS NULL OR state = ?1)"
			       " ORDER BY id", "tI", sv, request_id);
	return sq_list(SQ(st), "outbox list", store_row_outbox, out, err,
		       "SELECT " STORE_OUTBOX_COLS " FROM outbox WHERE (?1 IS NULL OR state = ?1) ORDER BY id", "t", sv);
}

static cm_status sq_outbox_claim(cm_store *st, int64_t now, int64_t lease, int max, GArray *items, GPtrArray *msgs,
				 cm_err *err)
{
	sq_store *s = SQ(st);
	GArray *l = g_array_new(FALSE, FALSE, sizeof(store_item_msg));
	bool own = !s->holds_lock;
	if (own && !write_lock(s)) {
		g_array_free(l, TRUE);
		return cm_err_set(err, CM_ERR_BUSY, "store %s busy: its write lock is held for too long", s->path);
	}
	cm_status rs = sq_list(s, "outbox claim", store_row_outbox_msg, l, err,
			       "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_until = ?2"
			       " WHERE id IN (SELECT id FROM outbox o WHERE ((state = 'queued' AND next_attempt_at <= ?1)"
			       " OR (state = 'sending' AND claimed_until < ?1)) AND (kind != 'event' OR NOT EXISTS"
			       " (SELECT 1 FROM outbox e WHERE e.kind = 'event' AND e.request_id = o.request_id"
			       " AND e.id < o.id AND e.state IN ('queued', 'sending')))"
			       " ORDER BY next_attempt_at, id LIMIT ?3)"
			       " RETURNING " STORE_OUTBOX_COLS ", " STORE_OUTBOX_TEXT, "IIi", now, now + lease, max);
	s->wait_start = 0;
	if (own)
		write_unlock(s);
	for (guint i = 0; i < l->len; i++) {
		store_item_msg *im = &g_array_index(l, store_item_msg, i);
		if (rs == CM_OK) {
			g_array_append_val(items, im->it);
			g_ptr_array_add(msgs, im->msg);
		} else {
			g_free(im->msg);
		}
	}
	bool any = rs == CM_OK && l->len > 0;
	g_array_free(l, TRUE);
	return rs ? rs : any ? CM_OK : CM_ERR_NOTFOUND;
}

static cm_status sq_outbox_release(cm_store *st, int64_t id, cm_err *err)
{
	return sq_do(SQ(st), "outbox release", NULL, err,
		     "UPDATE outbox SET state = 'queued', attempts = MAX(attempts - 1, 0), claimed_until = NULL"
		     " WHERE id = ?1 AND state = 'sending'", "I", id);
}

static cm_status sq_outbox_finish(cm_store *st, int64_t id, cm_out_state state, int64_t next_at, const char *error,
				  int64_t now, cm_err *err)
{
	int n = 0;
	cm_status rs = sq_do(SQ(st), "outbox update", &n, err,
			     "UPDATE outbox SET state = ?2, next_attempt_at = CASE WHEN ?3 > 0 THEN ?3"
			     " ELSE next_attempt_at END, last_error = COALESCE(?4, last_error),"
			     " claimed_until = NULL, sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END"
			     " WHERE id = ?1", "ItItI", id, cm_out_state_str(state), next_at, error, now);
	if (rs == CM_OK && n == 0)
		return cm_err_set(err, CM_ERR_NOTFOUND, "outbox item %lld does not exist", (long long)id);
	return rs;
}

static cm_status sq_outbox_withdraw(cm_store *st, int64_t request_id, int side, int *n, cm_err *err)
{
	int k = 0;
	cm_status rs = sq_do(SQ(st), "outbox withdraw", &k, err,
			     "UPDATE outbox SET state = 'withdrawn', claimed_until = NULL"
			     " WHERE request_id = ?1 AND state = 'queued' AND kind IN ('validation', 'reminder')"
			     " AND (?2 IS NULL OR token_side = ?2)", "It", request_id,
			     side == CM_SIDE_FROM || side == CM_SIDE_TO ? cm_side_str((cm_side)side) : NULL);
	if (n)
		*n = k;
	return rs;
}

static cm_status sq_outbox_next_due(cm_store *st, int64_t *at, cm_err *err)
{
	int64_t v = -1;
	cm_status rs = sq_get(SQ(st), "outbox scan", store_row_maybe, &v, err,
			      "SELECT MIN(CASE state WHEN 'queued' THEN next_attempt_at ELSE claimed_until END)"
			      " FROM outbox WHERE state IN ('queued', 'sending')", "");
	if (rs == CM_OK && v < 0)
		return CM_ERR_NOTFOUND;
	if (rs == CM_OK)
		*at = v;
	return rs;
}

/* ---- audit ---- */

static cm_status sq_audit_append(cm_store *st, const cm_audit *a, cm_err *err)
{
	return sq_do(SQ(st), "audit", NULL, err,
		     "INSERT INTO audit(at, request_id, actor, action, detail) VALUES(?1, ?2, ?3, ?4, ?5)", "Inttt", a->at,
		     a->request_id, a->actor, a->action, a->detail);
}

static cm_status sq_audit_list(cm_store *st, int64_t request_id, GArray *out, cm_err *err)
{
	return sq_list(SQ(st), "audit list", store_row_audit, out, err,
		       "SELECT id, at, request_id, actor, action, detail FROM audit WHERE request_id = ?1 ORDER BY id", "I",
		       request_id);
}

/* ---- replies and failures ---- */

static cm_status sq_reply_seen(cm_store *st, const char *message_id, const unsigned char hash[CM_TOKEN_HASH_BYTES],
			       int64_t *request_id, cm_decision *d, cm_err *err)
{
	store_seen_reply r;
	cm_status rs = sq_get(SQ(st), "reply lookup", store_row_seen, &r, err,
			      "SELECT request_id, decision FROM replies WHERE message_id = ?1 AND token_hash = ?2", "th",
			      message_id, hash);
	if (rs == CM_OK) {
		*request_id = r.request_id;
		*d = r.d;
	}
	return rs;
}

static cm_status sq_reply_record(cm_store *st, const char *message_id, const unsigned char hash[CM_TOKEN_HASH_BYTES],
				 int64_t request_id, cm_decision d, int64_t now, bool *fresh, cm_err *err)
{
	int n = 0;
	cm_status rs = sq_do(SQ(st), "reply record", &n, err,
			     "INSERT OR IGNORE INTO replies(message_id, token_hash, request_id, decision, at)"
			     " VALUES(?1, ?2, ?3, ?4, ?5)", "thItI", message_id, hash, request_id, cm_decision_str(d), now);
	if (fresh)
		*fresh = n > 0;
	return rs;
}

static cm_status sq_failure_add(cm_store *st, const char *key, int64_t now, cm_err *err)
{
	cm_status rs = sq_do(SQ(st), "failure record", NULL, err, "INSERT INTO failures(key, at) VALUES(?1, ?2)", "tI",
			     key, now);
	/* Keep the table small: what is older than a day counts for nothing. */
	return rs ? rs
		  : sq_do(SQ(st), "failure cleanup", NULL, err, "DELETE FROM failures WHERE at < ?1", "I", now - 86400);
}

static cm_status sq_failure_count(cm_store *st, const char *key, int64_t since, int64_t *count, cm_err *err)
{
	return sq_get(SQ(st), "failure count", store_row_id, count, err,
		      "SELECT COUNT(*) FROM failures WHERE key = ?1 AND at >= ?2", "tI", key, since);
}

/* ---- open, close ---- */

static int sq_schema_version(cm_store *st)
{
	return store_sqlite_version(SQ(st)->db);
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
	.request_lock = sq_request_lock,
	.group_lock = sq_group_lock,
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
	.token_request = sq_token_request,
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
		s->busy_since = s->wait_start ? s->wait_start : now;
	if (now - s->busy_since >= s->busy_timeout_us)
		return 0;
	g_usleep(count < 50 ? 100 : count < 200 ? 500 : 2000);
	return 1;
}

static void stmt_finalize(gpointer p)
{
	sqlite3_finalize(p);
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
	s->background = opts->background;
	sqlite3_busy_handler(s->db, sq_busy, s);
	if ((st = sq_exec(s, "PRAGMA journal_mode = WAL", err)) ||
	    /* NORMAL: commits write the log without syncing it; sq_commit
	     * syncs it itself, after the write lock (see the top). */
	    (st = sq_exec(s, "PRAGMA synchronous = NORMAL", err)) ||
	    (st = sq_exec(s, "PRAGMA foreign_keys = ON", err)) ||
	    /* No memory mapping: in the milter's threads each connection's
	     * mapping faulted pages in and was remapped as the file grew, and
	     * every unmapping stopped the process's other threads (measured:
	     * a reply's decision 4.9 ms with it, 4.1 without, under load). */
	    (st = sq_exec(s, "PRAGMA mmap_size = 0", err)))
		goto out;
	if ((st = store_sqlite_migrate(s->db, s->path, opts->max_version > 0 ? opts->max_version : CM_STORE_VERSION, err)))
		goto out;
	*out = &s->base;
	s = NULL;
out:
	sq_close(s ? &s->base : NULL);
	return st;
}
