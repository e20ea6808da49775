/* test_store.c - schema migrations, the outbox claim, the audit trail. */
#include <gmime/gmime.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "outbox.h"

/* SQLite in WAL mode; PostgreSQL with fsync on and the version in its
 * one-row table. */
static void a_new_store_is_at_the_latest_version_in_wal_mode(void **state)
{
	fx *f = *state;
	assert_int_equal(f->st->ops->schema_version(f->st), store_latest_version());
	assert_true(store_latest_version() >= 2);
	char *mode = fx_sql(f, "PRAGMA journal_mode", "SELECT 'wal:' || current_setting('fsync')");
	assert_string_equal(mode, fx_pg_base() ? "wal:on" : "wal");
	g_free(mode);
	char *v = fx_sql(f, "PRAGMA user_version", "SELECT version FROM cm_schema");
	assert_int_equal(atoi(v), store_latest_version());
	g_free(v);
}

static void an_existing_store_migrates_keeping_its_rows(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	char *dbname;
	char *path = fx_new_store(f->dir, "old.db", &dbname);
	cm_store *old = NULL, *now = NULL;
	cm_store_opts o1 = {.create = true, .max_version = 1};
	assert_int_equal(store_open(path, &o1, &old, &err), CM_OK);
	assert_int_equal(old->ops->schema_version(old), 1);
	/* A row as version 1 wrote it. */
	static const char insert[] = "INSERT INTO accounts(nic, email, lang, created_at)"
				     " VALUES('old-ovh', 'old@example.com', 'en', 1)";
	g_free(fx_sql_at(path, insert, insert));
	/* Version 1 has no replies table yet. */
	int64_t seen_id;
	cm_decision d;
	unsigned char h[CM_TOKEN_HASH_BYTES] = {0};
	assert_int_not_equal(old->ops->reply_seen(old, "<x@y>", h, &seen_id, &d, &err), CM_OK);
	store_close(old);

	cm_store_opts o2 = {.create = false};
	assert_int_equal(store_open(path, &o2, &now, &err), CM_OK);
	assert_int_equal(now->ops->schema_version(now), store_latest_version());
	cm_account back;
	assert_int_equal(now->ops->account_get(now, "old-ovh", &back, &err), CM_OK);
	assert_string_equal(back.email, "old@example.com");
	assert_int_equal(now->ops->reply_seen(now, "<x@y>", h, &seen_id, &d, &err), CM_ERR_NOTFOUND);
	store_close(now);
	g_free(path);
	fx_drop_store(dbname);
}

static void a_store_from_a_newer_program_is_refused(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	cm_store *st = NULL;
	g_free(fx_sql(f, "PRAGMA user_version = 99", "UPDATE cm_schema SET version = 99"));
	cm_store_opts o = {0};
	assert_int_equal(store_open(f->cfg->store_path, &o, &st, &err), CM_ERR_USAGE);
	assert_non_null(strstr(err.msg, "schema version 99, newer than this program"));
}

static void a_missing_store_is_not_created_unless_asked(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	cm_store *st = NULL;
	cm_store_opts o = {0};
	if (fx_pg_base()) {
		/* A database is made by its administrator, never by us: a missing
		 * one is a temporary failure (451, exit 4) naming the store. */
		char *uri = fx_pg_uri("cm_no_such_database");
		o.create = true;
		assert_int_equal(store_open(uri, &o, &st, &err), CM_ERR_IO);
		assert_non_null(strstr(err.msg, "cannot connect to the PostgreSQL store postgresql:///cm_no_such_database"));
		assert_null(st);
		g_free(uri);
		return;
	}
	char *path = g_build_filename(f->dir, "none.db", NULL);
	assert_int_equal(store_open(path, &o, &st, &err), CM_ERR_USAGE);
	assert_non_null(strstr(err.msg, "run 'contactctl init' first"));
	assert_int_not_equal(access(path, F_OK), 0);
	g_free(path);
}

static void the_audit_trail_cannot_be_rewritten(void **state)
{
	fx *f = *state;
	fx_cast(f);
	char *count = fx_sql(f, "SELECT COUNT(*) FROM audit", "SELECT COUNT(*) FROM audit");
	assert_int_not_equal(atoi(count), 0);
	static const char *const rewrites[] = {"UPDATE audit SET detail = 'x'", "DELETE FROM audit"};
	for (size_t i = 0; i < G_N_ELEMENTS(rewrites); i++) {
		char *msg = fx_sql_error(f->cfg->store_path, rewrites[i], rewrites[i]);
		assert_non_null(msg);
		assert_non_null(strstr(msg, "append-only"));
		g_free(msg);
	}
	if (fx_pg_base()) {
		char *msg = fx_sql_error(f->cfg->store_path, "", "TRUNCATE audit");
		assert_non_null(msg);
		assert_non_null(strstr(msg, "append-only"));
		g_free(msg);
	}
	char *after = fx_sql(f, "SELECT COUNT(*) FROM audit", "SELECT COUNT(*) FROM audit");
	assert_string_equal(count, after);
	g_free(count);
	g_free(after);
}

static void two_connections_never_claim_the_same_mail(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	cm_store *other = NULL;
	fx_cast(f);
	fx_create(f, "alice-ovh", NULL, "bob-ovh", NULL);
	fx_create(f, "alice-ovh", NULL, NULL, "carol-ovh");
	cm_store_opts o = {.busy_timeout = 5000};
	assert_int_equal(store_open(f->cfg->store_path, &o, &other, &err), CM_OK);
	GHashTable *seen = g_hash_table_new(g_int64_hash, g_int64_equal);
	GArray *items = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	GPtrArray *msgs = g_ptr_array_new_with_free_func(g_free);
	/* Claims of one or two items alternate between the two connections. */
	for (int i = 0; i < 8; i++) {
		cm_store *s = i % 2 ? other : f->st;
		guint before = items->len;
		cm_status st = s->ops->outbox_claim(s, f->now, 300, 1 + i % 2, items, msgs, &err);
		if (st == CM_ERR_NOTFOUND)
			break;
		assert_int_equal(st, CM_OK);
		for (guint k = before; k < items->len; k++) {
			cm_outbox_item *it = &g_array_index(items, cm_outbox_item, k);
			assert_int_equal(it->attempts, 1);
			/* Claimed with what composes it: its recipe, until sent. */
			char *composed = NULL;
			assert_true(it->recipe);
			assert_int_equal(outbox_compose(f->cfg, it, msgs->pdata[k], &composed, &err), CM_OK);
			assert_non_null(strstr(composed, "Auto-Submitted: auto-generated"));
			g_free(composed);
			assert_false(g_hash_table_contains(seen, &it->id));
			g_hash_table_add(seen, &it->id);
		}
	}
	assert_int_equal(items->len, 4);
	/* A lease that ran out makes the mail claimable again; a released one
	 * is queued with its attempt given back. */
	cm_outbox_item first = g_array_index(items, cm_outbox_item, 0);
	assert_int_equal(f->st->ops->outbox_release(f->st, first.id, &err), CM_OK);
	GArray *again = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	GPtrArray *again_msgs = g_ptr_array_new_with_free_func(g_free);
	assert_int_equal(f->st->ops->outbox_claim(f->st, f->now, 300, 10, again, again_msgs, &err), CM_OK);
	assert_int_equal(again->len, 1);
	assert_int_equal(g_array_index(again, cm_outbox_item, 0).id, first.id);
	assert_int_equal(g_array_index(again, cm_outbox_item, 0).attempts, 1);
	g_array_set_size(again, 0);
	assert_int_equal(f->st->ops->outbox_claim(f->st, f->now + 301, 300, 10, again, again_msgs, &err), CM_OK);
	assert_int_equal(again->len, 4);
	assert_int_equal(g_array_index(again, cm_outbox_item, 3).attempts, 2);
	g_array_free(again, TRUE);
	g_ptr_array_free(again_msgs, TRUE);
	g_array_free(items, TRUE);
	g_ptr_array_free(msgs, TRUE);
	g_hash_table_destroy(seen);
	store_close(other);
}

/* Several hosts start at once on a new store: each brings it to the
 * latest version, the migrations run once (SQLite: its write lock;
 * PostgreSQL: an advisory lock), none fails. */
static void processes_starting_at_once_migrate_the_store_once(void **state)
{
	fx *f = *state;
	char *dbname;
	char *path = fx_new_store(f->dir, "fresh.db", &dbname);
	if (!fx_pg_base()) { /* a SQLite store is made by init: once */
		cm_store *st = NULL;
		cm_store_opts o = {.create = true, .max_version = 1};
		assert_int_equal(store_open(path, &o, &st, NULL), CM_OK);
		store_close(st);
	}
	pid_t kids[6];
	for (int i = 0; i < 6; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			cm_store *st = NULL;
			cm_err err = {0};
			cm_store_opts o = {.create = false, .busy_timeout = 10000};
			cm_status rs = store_open(path, &o, &st, &err);
			if (rs)
				fprintf(stderr, "# child %d: %s\n", i, err.msg);
			int v = rs ? -1 : st->ops->schema_version(st);
			store_close(st);
			_exit(v == store_latest_version() ? 0 : 1);
		}
	}
	for (int i = 0; i < 6; i++) {
		int status;
		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	char *n = fx_sql_at(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'accounts'",
			    "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'accounts'");
	assert_string_equal(n, "1");
	g_free(n);
	g_free(path);
	fx_drop_store(dbname);
}

/* Ends every other session on the test's database, the store's among them. */
static const char kill_sql[] = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
			       " WHERE datname = current_database() AND pid <> pg_backend_pid()";

/* PostgreSQL: the server ends the store's session (a restart, a failover,
 * an administrator): the transaction under way fails as temporary (exit 4,
 * 451), never a crash, and the store reconnects by itself. */
static void a_lost_connection_fails_the_transaction_then_reconnects(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	cm_account a;
	fx_cast(f);
	/* Outside a transaction: the next statement reconnects. */
	g_free(fx_sql(f, "", kill_sql));
	assert_int_equal(f->st->ops->account_get(f->st, "bob-ovh", &a, &err), CM_OK);
	/* Inside one: that transaction is lost, with a message saying so. */
	assert_int_equal(f->st->ops->begin(f->st, true, &err), CM_OK);
	assert_int_equal(f->st->ops->account_get(f->st, "bob-ovh", &a, &err), CM_OK);
	g_free(fx_sql(f, "", kill_sql));
	a.bouncing = true;
	cm_status rs = f->st->ops->account_update(f->st, &a, &err);
	assert_true(rs == CM_ERR_IO || rs == CM_ERR_BUSY);
	assert_non_null(strstr(err.msg, "connection lost"));
	f->st->ops->rollback(f->st);
	/* The next transaction goes through, and the lost one left nothing. */
	g_free(fx_sql(f, "", kill_sql));
	assert_int_equal(core_account_set(&f->core, "bob-ovh", "bob@new.example", NULL, NULL, -1, -1, &err), CM_OK);
	assert_int_equal(f->st->ops->account_get(f->st, "bob-ovh", &a, &err), CM_OK);
	assert_string_equal(a.email, "bob@new.example");
	assert_false(a.bouncing);
}

/* On PostgreSQL a write whose caller needs nothing back goes out with the
 * next statement or with COMMIT; whichever step reports it, a failing
 * write fails its whole transaction, with its own reason, on either
 * backend. */
static void a_write_that_fails_inside_a_transaction_fails_it_whole(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", "bob-ovh", NULL, NULL);
	char *audit0 = fx_sql(f, "SELECT COUNT(*) FROM audit", "SELECT COUNT(*) FROM audit");
	cm_audit a = {.at = f->now, .request_id = id, .actor = "alice-ovh", .action = "accepted", .detail = "test"};
	assert_int_equal(f->st->ops->begin(f->st, true, &err), CM_OK);
	assert_int_equal(f->st->ops->party_decide(f->st, id, CM_SIDE_FROM, CM_DECISION_ACCEPTED, CM_VIA_CLI, f->now, &err),
			 CM_OK);
	assert_int_equal(f->st->ops->audit_append(f->st, &a, &err), CM_OK);
	/* The same contact again: no row left to change. */
	cm_status rs = f->st->ops->party_decide(f->st, id, CM_SIDE_FROM, CM_DECISION_REFUSED, CM_VIA_CLI, f->now, &err);
	if (rs == CM_OK)
		rs = f->st->ops->audit_append(f->st, &a, &err);
	if (rs == CM_OK)
		rs = f->st->ops->commit(f->st, &err);
	assert_int_equal(rs, CM_ERR_TOKEN_USED);
	assert_non_null(strstr(err.msg, "already answered"));
	f->st->ops->rollback(f->st);
	/* Nothing of it stayed, and the connection serves the next one. */
	char *decision = fx_sql(f, "SELECT COALESCE(decision, '-') FROM parties WHERE side = 'from'",
				"SELECT COALESCE(decision, '-') FROM parties WHERE side = 'from'");
	assert_string_equal(decision, "-");
	char *audit1 = fx_sql(f, "SELECT COUNT(*) FROM audit", "SELECT COUNT(*) FROM audit");
	assert_string_equal(audit0, audit1);
	cm_token tok;
	token_derive(f->cfg->secret, f->cfg->secret_len, id, CM_SIDE_FROM, 1, &tok);
	cm_decision_result res;
	assert_int_equal(core_decide(&f->core, id, &tok, CM_DECISION_ACCEPTED, CM_VIA_CLI, NULL, f->now, &res, &err), CM_OK);
	g_free(decision);
	decision = fx_sql(f, "SELECT COALESCE(decision, '-') FROM parties WHERE side = 'from'",
			  "SELECT COALESCE(decision, '-') FROM parties WHERE side = 'from'");
	assert_string_equal(decision, "accepted");
	g_free(decision);
	g_free(audit0);
	g_free(audit1);
}

/* PostgreSQL: writes sent and not yet answered when the session dies. */
static void a_lost_connection_with_writes_in_flight_fails_the_commit(void **state)
{
	fx *f = *state;
	cm_err err = {0};
	fx_cast(f);
	int64_t id = fx_create(f, "alice-ovh", "bob-ovh", NULL, NULL);
	char *audit0 = fx_sql(f, "", "SELECT COUNT(*) FROM audit");
	cm_request req;
	cm_audit a = {.at = f->now, .request_id = id, .actor = "alice-ovh", .action = "note", .detail = "test"};
	assert_int_equal(f->st->ops->begin(f->st, true, &err), CM_OK);
	assert_int_equal(f->st->ops->request_get(f->st, id, &req, &err), CM_OK);
	assert_int_equal(f->st->ops->audit_append(f->st, &a, &err), CM_OK);
	g_free(fx_sql(f, "", kill_sql));
	assert_int_equal(f->st->ops->commit(f->st, &err), CM_ERR_IO);
	assert_non_null(strstr(err.msg, "connection lost"));
	f->st->ops->rollback(f->st);
	char *audit1 = fx_sql(f, "", "SELECT COUNT(*) FROM audit");
	assert_string_equal(audit0, audit1);
	/* The next transaction reconnects and goes through. */
	assert_int_equal(core_account_set(&f->core, "bob-ovh", "bob@new.example", NULL, NULL, -1, -1, &err), CM_OK);
	g_free(audit0);
	g_free(audit1);
}

/* The milter's threads share one write lock per process. */
typedef struct {
	cm_write_lock *l;
	bool background;
	GString *order;
	const char *name;
} taker;

static gpointer take_once(gpointer p)
{
	taker *t = p;
	if (cm_write_lock_take(t->l, t->background, g_get_monotonic_time() + 10 * G_USEC_PER_SEC)) {
		g_string_append(t->order, t->name);
		cm_write_lock_give(t->l, NULL);
	}
	return NULL;
}

static void the_outbox_worker_writes_after_a_waiting_reply(void **state)
{
	(void)state;
	cm_write_lock l;
	GString *order = g_string_new(NULL);
	cm_write_lock_init(&l);
	assert_true(cm_write_lock_take(&l, false, g_get_monotonic_time() + G_USEC_PER_SEC));
	taker reply = {&l, false, order, "reply "}, worker = {&l, true, order, "worker "};
	GThread *a = g_thread_new("reply", take_once, &reply);
	for (int i = 0; i < 10000; i++) { /* the reply is waiting */
		g_mutex_lock(&l.m);
		int w = l.waiting;
		g_mutex_unlock(&l.m);
		if (w == 1)
			break;
		g_usleep(1000);
	}
	GThread *b = g_thread_new("worker", take_once, &worker);
	g_usleep(50 * 1000);
	cm_write_lock_give(&l, NULL);
	g_thread_join(a);
	g_thread_join(b);
	assert_string_equal(order->str, "reply worker ");
	/* While a reply waits, a background writer's wait runs out rather than
	 * jump the queue; alone, it takes the lock at once. */
	assert_true(cm_write_lock_take(&l, true, g_get_monotonic_time() + G_USEC_PER_SEC));
	cm_write_lock_give(&l, NULL);
	g_string_free(order, TRUE);
	cm_write_lock_clear(&l);
}

typedef struct {
	const char *path;
	cm_write_lock *l;
	int thread, n, recorded;
} writer;

static gpointer write_accounts(gpointer p)
{
	writer *w = p;
	cm_store_opts o = {.busy_timeout = 30000, .write_lock = w->l};
	cm_store *st = NULL;
	cm_err err = {0};
	if (store_open(w->path, &o, &st, &err) != CM_OK)
		return NULL;
	for (int i = 0; i < w->n; i++) {
		cm_account a = {.lang = "fr"};
		g_snprintf(a.nic, sizeof a.nic, "w%d-%d-ovh", w->thread, i);
		g_snprintf(a.email, sizeof a.email, "w%d-%d@example.com", w->thread, i);
		if (st->ops->begin(st, true, &err) == CM_OK && st->ops->account_insert(st, &a, 1, &err) == CM_OK &&
		    st->ops->commit(st, &err) == CM_OK)
			w->recorded++;
		else
			st->ops->rollback(st);
	}
	store_close(st);
	return NULL;
}

/* Commits from many threads return once on disk, and one sync serves
 * several: every commit counted is covered by a sync, none is left out. */
static void every_commit_of_many_threads_is_synced_before_it_returns(void **state)
{
	fx *f = *state;
	cm_write_lock l;
	writer w[8];
	GThread *t[8];
	cm_write_lock_init(&l);
	for (int i = 0; i < 8; i++) {
		w[i] = (writer){f->cfg->store_path, &l, i, 25, 0};
		t[i] = g_thread_new("writer", write_accounts, &w[i]);
	}
	int recorded = 0;
	for (int i = 0; i < 8; i++) {
		g_thread_join(t[i]);
		recorded += w[i].recorded;
	}
	assert_int_equal(recorded, 200);
	char *n = fx_sql(f, "SELECT COUNT(*) FROM accounts WHERE nic LIKE 'w%'", "SELECT COUNT(*) FROM accounts WHERE nic LIKE 'w%'");
	assert_string_equal(n, "200");
	g_free(n);
	if (!fx_pg_base()) { /* SQLite's commits: counted and synced */
		assert_true(l.committed == 200);
		assert_true(l.synced == l.committed);
	}
	cm_write_lock_clear(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, fx_setup, fx_teardown)
		T(a_new_store_is_at_the_latest_version_in_wal_mode),
		T(an_existing_store_migrates_keeping_its_rows),
		T(a_store_from_a_newer_program_is_refused),
		T(a_missing_store_is_not_created_unless_asked),
		T(the_audit_trail_cannot_be_rewritten),
		T(two_connections_never_claim_the_same_mail),
		T(processes_starting_at_once_migrate_the_store_once),
		T(the_outbox_worker_writes_after_a_waiting_reply),
		T(every_commit_of_many_threads_is_synced_before_it_returns),
		T(a_write_that_fails_inside_a_transaction_fails_it_whole),
	};
	const struct CMUnitTest pg_tests[] = {
		T(a_lost_connection_fails_the_transaction_then_reconnects),
		T(a_lost_connection_with_writes_in_flight_fails_the_commit),
	};
	int failed = cmocka_run_group_tests_name("store", tests, NULL, NULL);
	if (fx_pg_base())
		failed += cmocka_run_group_tests_name("store on PostgreSQL", pg_tests, NULL, NULL);
	return failed;
}
