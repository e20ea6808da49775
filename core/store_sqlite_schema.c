/* store_sqlite_schema.c - the SQLite backend's schema: numbered migrations
 * kept in PRAGMA user_version, each run once under the write lock.
 * store_pg.c holds the same versions in PostgreSQL's dialect. */
#include "store_sqlite.h"

#include <stdio.h>

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
	/* 5: a mail is queued as its recipe and composed when sent (outside
	 * the decision's transaction); the message is stored once composed. */
	"ALTER TABLE outbox ADD COLUMN recipe BLOB;",
	/* 6: one index by request for the outbox instead of two: every mail
	 * queued, claimed or sent updated both (all queries by request also
	 * name it first: a request's mails, withdrawals, events in order). */
	"DROP INDEX outbox_kind_req;"
	"DROP INDEX outbox_req;"
	"CREATE INDEX outbox_req ON outbox(request_id, kind, state);",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))
_Static_assert(NMIGRATIONS == CM_STORE_VERSION, "store.h's CM_STORE_VERSION names the latest migration");

cm_status store_sqlite_status(int rc)
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

int store_sqlite_version(sqlite3 *db)
{
	sqlite3_stmt *q;
	int v = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK) {
		if (sqlite3_step(q) == SQLITE_ROW)
			v = sqlite3_column_int(q, 0);
		sqlite3_finalize(q);
	}
	return v;
}

static cm_status exec(sqlite3 *db, const char *path, const char *sql, cm_err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		cm_status st = cm_err_set(err, store_sqlite_status(rc), "store %s: %s", path,
					  msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return st;
	}
	return CM_OK;
}

cm_status store_sqlite_migrate(sqlite3 *db, const char *path, int target, cm_err *err)
{
	int v = store_sqlite_version(db);
	if (v < 0)
		return cm_err_set(err, CM_ERR_INTERNAL, "store %s: reading schema version: %s", path, sqlite3_errmsg(db));
	if (v > NMIGRATIONS)
		return cm_err_set(err, CM_ERR_USAGE, "store %s has schema version %d, newer than this program (%d)",
				  path, v, NMIGRATIONS);
	while (v < target) {
		char pragma[48];
		cm_status st;
		/* Read the version again under the write lock: another process
		 * may have migrated since, and a step must run exactly once. */
		if ((st = exec(db, path, "BEGIN IMMEDIATE", err)))
			return st;
		v = store_sqlite_version(db);
		if (v < 0 || v >= target) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return v < 0 ? cm_err_set(err, CM_ERR_INTERNAL, "store %s: reading schema version", path) : CM_OK;
		}
		snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
		if ((st = exec(db, path, migrations[v], err)) || (st = exec(db, path, pragma, err)) ||
		    (st = exec(db, path, "COMMIT", err))) {
			sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			return st;
		}
		v++;
	}
	return CM_OK;
}
