/*
 * store.h - the persistent store behind one table of operations.
 *
 * Two backends fill the table: SQLite (store_sqlite.c, one file on one
 * host) and PostgreSQL (store_pg.c, one database shared by several MX
 * hosts).  SQL and its dialect stay inside backends; both keep the same
 * numbered schema versions (CM_STORE_VERSION).
 *
 * Conventions: every operation returns a cm_status and fills err on
 * failure; "get" operations return CM_ERR_NOTFOUND when there is no such row;
 * lists append to a caller-owned GArray of the element type named.  Writes
 * happen inside begin/commit; the rules module (request.c) opens one
 * transaction per state change.
 *
 * Concurrency contract (holds on both backends):
 *  - A transaction that decides something locks what it decides on before
 *    it reads it: request_lock() / token_request(lock) on the request
 *    whose state or parties it reads and changes, group_lock() on the group
 *    whose holders or open requests it reads and changes.  Whatever it
 *    reads after the lock is current until commit; no other transaction
 *    can decide on the same rows meanwhile.  Locks are held until commit
 *    or rollback.
 *  - Lock order, to rule out deadlocks: a request before its group.
 *    Creating locks only the group (the new request is its own); deciding,
 *    resending, cancelling, expiring, reminding and a bounce lock the
 *    request, and a completing decision then its group.
 *  - SQLite: begin(immediate=true) takes the database's single write lock,
 *    which serialises every writer; the lock operations are then no-ops.
 *    PostgreSQL (READ COMMITTED): begin() takes no lock; the lock
 *    operations are SELECT ... FOR UPDATE on the rows.
 *  - Operations that need no lock because one statement decides atomically:
 *    party_decide and party_reminded (UPDATE ... WHERE decision IS NULL:
 *    one winner), outbox_claim (SKIP LOCKED: each item to one worker),
 *    reply_record (insert-or-ignore on the Message-ID and token), and
 *    failure_add/failure_count (one shared table, counts may include a
 *    concurrent attempt).
 *  - A backend reports a lost connection, a lock or statement timeout, a
 *    serialization failure or a deadlock as CM_ERR_BUSY, and a database that
 *    cannot be reached as CM_ERR_IO: both are temporary (451, exit 4); the
 *    transaction is rolled back and may be retried whole.  A PostgreSQL
 *    store reconnects by itself at the next begin().
 */
#ifndef CM_STORE_H
#define CM_STORE_H

#include <glib.h>

#include "cm.h"
#include "token.h"

/* The schema version of this build, the same for every backend. */
#define CM_STORE_VERSION 6

typedef struct cm_store cm_store;

typedef struct {
	int64_t request_id;
	cm_side side;
	bool superseded;
} cm_token_ref;

typedef struct {
	const char *name;
	void (*close)(cm_store *st);
	int (*schema_version)(cm_store *st);

	/* immediate: a decision follows (SQLite takes its write lock now). */
	cm_status (*begin)(cm_store *st, bool immediate, cm_err *err);
	cm_status (*commit)(cm_store *st, cm_err *err);
	void (*rollback)(cm_store *st);

	/* Lock, until the end of the transaction, the row a decision is made
	 * on (see the contract above).  A missing row is not an error: the
	 * read that follows reports it. */
	cm_status (*request_lock)(cm_store *st, int64_t id, cm_err *err);
	/* What a token opens, in one read: its reference, its request and
	 * both parties (as token_lookup, request_get and party_pair would give
	 * them).  lock: the request is locked as request_lock() does.
	 * CM_ERR_TOKEN_UNKNOWN when no token has that hash. */
	cm_status (*token_request)(cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], bool lock,
				   cm_token_ref *ref, cm_request *req, cm_party p[2], cm_err *err);
	cm_status (*group_lock)(cm_store *st, const char *name, cm_err *err);

	cm_status (*account_get)(cm_store *st, const char *nic, cm_account *out, cm_err *err);
	/* CM_ERR_RULE if the NIC exists already. */
	cm_status (*account_insert)(cm_store *st, const cm_account *a, int64_t now, cm_err *err);
	cm_status (*account_update)(cm_store *st, const cm_account *a, cm_err *err);

	cm_status (*group_get)(cm_store *st, const char *name, cm_group *out, cm_err *err);
	cm_status (*group_insert)(cm_store *st, const cm_group *g, int64_t now, cm_err *err);
	cm_status (*group_update)(cm_store *st, const cm_group *g, cm_err *err);
	cm_status (*service_insert)(cm_store *st, const cm_service *s, cm_err *err);
	cm_status (*service_list)(cm_store *st, const char *group, GArray *out /* cm_service */, cm_err *err);

	/* Sets req->id. */
	cm_status (*request_insert)(cm_store *st, cm_request *req, cm_err *err);
	cm_status (*request_get)(cm_store *st, int64_t id, cm_request *out, cm_err *err);
	/* Writes state, done_at, reason and reported. */
	cm_status (*request_update)(cm_store *st, const cm_request *req, cm_err *err);
	/* nic: requests where it is a party or the asker (NULL: all); state -1: any. */
	cm_status (*request_list)(cm_store *st, const char *nic, int state, GArray *out /* cm_request */, cm_err *err);
	/* The id of a pending request of the group moving any of roles, or NOTFOUND. */
	cm_status (*request_open_with_roles)(cm_store *st, const char *group, unsigned roles, int64_t *id, cm_err *err);
	/* Ids of pending requests whose expires_at <= now. */
	cm_status (*request_due)(cm_store *st, int64_t now, GArray *ids /* int64_t */, cm_err *err);
	/* Parties of pending requests, not expired, created at or before
	 * created_before, that have not answered nor been reminded: appends
	 * request id and side pairs (int64_t, then int64_t side). */
	cm_status (*reminder_due)(cm_store *st, int64_t now, int64_t created_before, GArray *pairs, cm_err *err);

	cm_status (*party_insert)(cm_store *st, const cm_party *p, cm_err *err);
	/* Both parties, [CM_SIDE_FROM] and [CM_SIDE_TO], with the account's bouncing flag. */
	cm_status (*party_pair)(cm_store *st, int64_t request_id, cm_party out[2], cm_err *err);
	cm_status (*party_decide)(cm_store *st, int64_t request_id, cm_side side, cm_decision d, cm_via via,
				  int64_t now, cm_err *err);
	/* Record that a validation mail was queued for the party now, to email
	 * (a resend goes to the account's current address). */
	cm_status (*party_mailed)(cm_store *st, int64_t request_id, cm_side side, const char *email, int64_t now,
				  cm_err *err);
	/* Record the party's reminder; CM_ERR_NOTFOUND if it was reminded already. */
	cm_status (*party_reminded)(cm_store *st, int64_t request_id, cm_side side, int64_t now, cm_err *err);

	/* Store a token's hash and make serial the party's current token serial. */
	cm_status (*token_insert)(cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], int64_t request_id,
				  cm_side side, int serial, int64_t now, cm_err *err);
	cm_status (*token_lookup)(cm_store *st, const unsigned char hash[CM_TOKEN_HASH_BYTES], cm_token_ref *out,
				  cm_err *err);
	/* Marks every live token of that party superseded. */
	cm_status (*token_supersede)(cm_store *st, int64_t request_id, cm_side side, int64_t now, cm_err *err);

	/* Sets item->id; the message is written afterwards (it names its own id).
	 * A caller that needs no id sets item->id to CM_OUTBOX_NO_ID first: the
	 * backend may then send the insert with the transaction's next
	 * statement (PostgreSQL), and item->id may stay as it was. */
	cm_status (*outbox_insert)(cm_store *st, cm_outbox_item *item, const char *recipe, cm_err *err);
	cm_status (*outbox_set_message)(cm_store *st, int64_t id, const char *sender, const char *msg, size_t len,
					cm_err *err);
	/* msg (optional) receives a g_malloc'd, NUL-terminated copy of the message. */
	cm_status (*outbox_get)(cm_store *st, int64_t id, cm_outbox_item *out, char **msg, cm_err *err);
	/* state -1: any; request_id 0: any. */
	cm_status (*outbox_list)(cm_store *st, int state, int64_t request_id, GArray *out /* cm_outbox_item */,
				 cm_err *err);
	/* Atomically take up to max due items (queued and due, or a lease that
	 * ran out) for lease seconds, counting an attempt for each; appends to
	 * items (cm_outbox_item) and msgs (g_malloc'd messages, owned by the
	 * caller).  An event is due only when no earlier event of its request
	 * is still waiting: events of one request go out in order.  NOTFOUND
	 * when none is due. */
	cm_status (*outbox_claim)(cm_store *st, int64_t now, int64_t lease, int max, GArray *items, GPtrArray *msgs,
				  cm_err *err);
	/* Give back a claimed item that was not attempted after all. */
	cm_status (*outbox_release)(cm_store *st, int64_t id, cm_err *err);
	/* End an attempt: sent, failed, bounced, or queued again for next_at. */
	cm_status (*outbox_finish)(cm_store *st, int64_t id, cm_out_state state, int64_t next_at,
				   const char *error, int64_t now, cm_err *err);
	/* Withdraw the queued validation and reminder mails of a request (side
	 * -1: both parties' ones): they are never sent.  *n (optional) counts. */
	cm_status (*outbox_withdraw)(cm_store *st, int64_t request_id, int side, int *n, cm_err *err);
	/* Earliest next_attempt_at of queued mail, or NOTFOUND. */
	cm_status (*outbox_next_due)(cm_store *st, int64_t *at, cm_err *err);

	cm_status (*audit_append)(cm_store *st, const cm_audit *a, cm_err *err);
	cm_status (*audit_list)(cm_store *st, int64_t request_id, GArray *out /* cm_audit */, cm_err *err);

	/* Replies already recorded, keyed by Message-ID and token hash. */
	cm_status (*reply_seen)(cm_store *st, const char *message_id, const unsigned char hash[CM_TOKEN_HASH_BYTES],
				int64_t *request_id, cm_decision *d, cm_err *err);
	/* Insert-or-ignore; *fresh (optional): whether this call inserted it
	 * (false: the message was recorded already). */
	cm_status (*reply_record)(cm_store *st, const char *message_id, const unsigned char hash[CM_TOKEN_HASH_BYTES],
				  int64_t request_id, cm_decision d, int64_t now, bool *fresh, cm_err *err);
	/* Failed attempts by key ("sender:x@y", "request:12") since a time. */
	cm_status (*failure_add)(cm_store *st, const char *key, int64_t now, cm_err *err);
	cm_status (*failure_count)(cm_store *st, const char *key, int64_t since, int64_t *count, cm_err *err);
} cm_store_ops;

struct cm_store {
	const cm_store_ops *ops;
	/* Fault injection (store_fault.c): while on, ops is the failing
	 * wrapper and inner the backend's own table. */
	const cm_store_ops *inner;
	int fault_in;
};

/* One writer at a time among the SQLite connections of one process (the
 * milter's and the page's threads): a writer sleeps until the lock is free
 * or its busy timeout runs out, woken by the one before it (no polling,
 * no gap between two writers).  A background writer (the outbox worker,
 * the sweeps) yields: it waits while any reply is waiting, so that mail
 * going out never delays an answer coming in.  It also makes the syncs
 * of the log a group commit: a writer that committed waits until one sync
 * begun after its commit has ended, so one disk flush serves every commit
 * of a moment.  PostgreSQL ignores it. */
typedef struct {
	GMutex m;
	GCond c, bg_c; /* waiting replies; waiting background writers */
	bool held;
	int waiting; /* writers other than background ones, waiting */
	GCond sync_c;
	guint64 committed, synced; /* commits counted, and covered by a sync */
	bool syncing;
} cm_write_lock;
void cm_write_lock_init(cm_write_lock *l);
void cm_write_lock_clear(cm_write_lock *l);
/* False when deadline (g_get_monotonic_time) passed first. */
bool cm_write_lock_take(cm_write_lock *l, bool background, gint64 deadline);
/* seq (optional): the holder committed; *seq gets the commit's number. */
void cm_write_lock_give(cm_write_lock *l, guint64 *seq);
/* Return once commit seq is on disk: sync() (called outside the mutex)
 * is run by one waiter for every commit counted when it starts; the others
 * wait for it.  sync's failure is returned to the waiter that ran it; the
 * others then try again themselves. */
cm_status cm_write_lock_sync(cm_write_lock *l, guint64 seq, cm_status (*sync)(void *ud, cm_err *err), void *ud,
			     cm_err *err);

typedef struct {
	bool create;          /* create the store if missing (contactctl init) */
	int64_t busy_timeout; /* milliseconds to wait for a lock */
	/* Shared by the connections of one process: write transactions take
	 * it, so they queue on it instead of polling SQLite's lock.  NULL:
	 * none (one connection per process). */
	cm_write_lock *write_lock;
	bool background;      /* this connection's writers yield (cm_write_lock) */
	int max_version;      /* migrate up to this schema version (0: latest; tests) */
} cm_store_opts;

/* Open the store named by uri and bring its schema up to date:
 * "postgresql://..." or "postgres://..." (a libpq URI) for PostgreSQL, a
 * file path for SQLite.  *out belongs to the caller: store_close(). */
cm_status store_open(const char *uri, const cm_store_opts *opts, cm_store **out, cm_err *err);
void store_close(cm_store *st);

/* The latest schema version this build knows (CM_STORE_VERSION; each
 * backend checks at compile time that its migrations reach it). */
int store_latest_version(void);

/* Tests: the n-th store operation from now on (begin and commit included)
 * fails as CM_ERR_IO with a message containing "injected fault"; 0 switches
 * injection off.  Works on any backend: it wraps the operations table. */
void store_inject_fault(cm_store *st, int n);

cm_status store_sqlite_open(const char *path, const cm_store_opts *opts, cm_store **out, cm_err *err);
/* uri: a libpq connection URI. */
cm_status store_pg_open(const char *uri, const cm_store_opts *opts, cm_store **out, cm_err *err);

#endif
