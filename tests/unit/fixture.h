/* fixture.h - a fresh store and config for each unit test, and helpers to
 * read back what a user would see: rows, outbox items, mails. */
#ifndef TEST_FIXTURE_H
#define TEST_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mail.h"
#include "outbox.h"
#include "request.h"
#include "store.h"
#include "token.h"

/* The store under test: SQLite in the test's temporary directory, or, when
 * CM_TEST_PG holds the URI of a PostgreSQL maintenance database
 * ("postgresql:///postgres?host=...&port=...&user=postgres", tests/lib/pg.sh),
 * a fresh database made for each test and dropped at its teardown. */
static inline const char *fx_pg_base(void)
{
	const char *b = getenv("CM_TEST_PG");
	return b && *b ? b : NULL;
}

/* The URI of database name on the CM_TEST_PG server. */
static inline char *fx_pg_uri(const char *name)
{
	const char *q = strchr(fx_pg_base(), '?');
	return g_strdup_printf("postgresql:///%s%s", name, q ? q : "");
}

/* Run one statement on the maintenance database; false on failure. */
static inline bool fx_pg_admin(const char *sql)
{
	PGconn *c = PQconnectdb(fx_pg_base());
	bool ok = PQstatus(c) == CONNECTION_OK;
	if (ok) {
		PGresult *r = PQexec(c, sql);
		ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			print_error("%s: %s", sql, PQresultErrorMessage(r));
		PQclear(r);
	} else {
		print_error("CM_TEST_PG: %s", PQerrorMessage(c));
	}
	PQfinish(c);
	return ok;
}

/* A fresh, empty store location: a file under dir, or a new database
 * (its name in *dbname, to drop). */
static inline char *fx_new_store(const char *dir, const char *file, char **dbname)
{
	static int serial;
	if (!fx_pg_base()) {
		*dbname = NULL;
		return g_build_filename(dir, file, NULL);
	}
	*dbname = g_strdup_printf("cmt_%d_%d", (int)getpid(), ++serial);
	char *sql = g_strdup_printf("CREATE DATABASE %s", *dbname);
	bool ok = fx_pg_admin(sql);
	g_free(sql);
	return ok ? fx_pg_uri(*dbname) : g_strdup("postgresql:///cannot-create");
}

static inline void fx_drop_store(char *dbname)
{
	if (!dbname)
		return;
	char *sql = g_strdup_printf("DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
	fx_pg_admin(sql);
	g_free(sql);
	g_free(dbname);
}

/* One connection kept to the PostgreSQL store last read (the fault test
 * reads it thousands of times); fx_teardown closes it. */
static char *fx_pg_conn_uri;
static PGconn *fx_pg_conn;

static inline void fx_pg_conn_close(void)
{
	if (fx_pg_conn)
		PQfinish(fx_pg_conn);
	fx_pg_conn = NULL;
	g_free(fx_pg_conn_uri);
	fx_pg_conn_uri = NULL;
}

static inline PGconn *fx_pg_conn_to(const char *uri)
{
	if (!fx_pg_conn || strcmp(fx_pg_conn_uri, uri) != 0 || PQstatus(fx_pg_conn) != CONNECTION_OK) {
		fx_pg_conn_close();
		fx_pg_conn = PQconnectdb(uri);
		fx_pg_conn_uri = g_strdup(uri);
	}
	return fx_pg_conn;
}

/* The first column of the first row of a query on the store at uri, in the
 * dialect of its backend: g_malloc'd, "" for NULL or no row. */
static inline char *fx_sql_at(const char *uri, const char *sqlite_sql, const char *pg_sql)
{
	char *v = NULL;
	if (strncmp(uri, "postgresql://", 13) == 0) {
		PGconn *c = fx_pg_conn_to(uri);
		PGresult *r = PQexec(c, pg_sql);
		ExecStatusType rs = PQresultStatus(r);
		if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
			print_error("%s: %s", pg_sql, PQresultErrorMessage(r));
		assert_true(rs == PGRES_TUPLES_OK || rs == PGRES_COMMAND_OK);
		if (rs == PGRES_TUPLES_OK && PQntuples(r) > 0)
			v = g_strdup(PQgetvalue(r, 0, 0));
		PQclear(r);
	} else {
		sqlite3 *db;
		sqlite3_stmt *q;
		assert_int_equal(sqlite3_open(uri, &db), SQLITE_OK);
		int rc = sqlite3_prepare_v2(db, sqlite_sql, -1, &q, NULL);
		if (rc != SQLITE_OK)
			print_error("%s: %s", sqlite_sql, sqlite3_errmsg(db));
		assert_int_equal(rc, SQLITE_OK);
		rc = sqlite3_step(q);
		assert_true(rc == SQLITE_ROW || rc == SQLITE_DONE);
		if (rc == SQLITE_ROW && sqlite3_column_text(q, 0))
			v = g_strdup((const char *)sqlite3_column_text(q, 0));
		sqlite3_finalize(q);
		sqlite3_close(db);
	}
	return v ? v : g_strdup("");
}

typedef struct {
	char *dir;
	char *dbname; /* PostgreSQL: the test's own database */
	cm_config *cfg;
	cm_store *st;
	cm_core core;
	int64_t now;
} fx;

static inline int fx_setup(void **state)
{
	fx *f = g_new0(fx, 1);
	GError *e = NULL;
	mail_init();
	f->dir = g_dir_make_tmp("cm-unit-XXXXXX", &e);
	f->cfg = config_defaults();
	g_free(f->cfg->templates_dir);
	f->cfg->templates_dir = g_strdup("config/templates");
	g_free(f->cfg->validate_url);
	f->cfg->validate_url = g_strdup("https://manager.example.com/contacts/{id}?token={token}");
	/* The secret policy.secret_file would hold: fixed, so tests can
	 * recompute tokens. */
	memset(f->cfg->secret, 0x5a, 32);
	f->cfg->secret_len = 32;
	g_free(f->cfg->store_path);
	f->cfg->store_path = fx_new_store(f->dir, "store.db", &f->dbname);
	cm_store_opts o = {.create = true, .busy_timeout = 5000};
	cm_err err = {0};
	if (store_open(f->cfg->store_path, &o, &f->st, &err) != CM_OK) {
		print_error("store_open: %s\n", err.msg);
		return -1;
	}
	f->core.st = f->st;
	f->core.cfg = f->cfg;
	f->now = 1800000000; /* 2027-01-15 */
	*state = f;
	return 0;
}

static inline int fx_teardown(void **state)
{
	fx *f = *state;
	store_close(f->st);
	fx_pg_conn_close();
	fx_drop_store(f->dbname);
	char *cmd = g_strdup_printf("rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		print_error("cleanup of %s failed\n", f->dir);
	g_free(cmd);
	config_free(f->cfg);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* Add an account; billing-ready when ok. */
static inline void fx_account(fx *f, const char *nic, const char *email, const char *lang, bool ok)
{
	cm_account a = {0};
	cm_err err = {0};
	cm_strlcpy(a.nic, nic, sizeof a.nic);
	cm_strlcpy(a.email, email, sizeof a.email);
	cm_strlcpy(a.lang, lang, sizeof a.lang);
	a.voip_validated = ok;
	a.payments_ok = ok;
	cm_status st = core_account_add(&f->core, &a, f->now, &err);
	if (st)
		print_error("account %s: %s\n", nic, err.msg);
	assert_int_equal(st, CM_OK);
}

static inline void fx_group(fx *f, const char *name, const char *admin, const char *tech, const char *billing)
{
	cm_group g = {0};
	cm_err err = {0};
	cm_strlcpy(g.name, name, sizeof g.name);
	cm_strlcpy(g.admin, admin, sizeof g.admin);
	cm_strlcpy(g.tech, tech, sizeof g.tech);
	cm_strlcpy(g.billing, billing, sizeof g.billing);
	assert_int_equal(core_group_add(&f->core, &g, f->now, &err), CM_OK);
}

/* The usual cast: group g1 run by alice (all three roles), bob and carol
 * billing-ready, dave not. */
static inline void fx_cast(fx *f)
{
	fx_account(f, "alice-ovh", "alice@example.com", "fr", true);
	fx_account(f, "bob-ovh", "bob@example.net", "en", true);
	fx_account(f, "carol-ovh", "carol@example.org", "fr", true);
	fx_account(f, "dave-ovh", "dave@example.org", "en", false);
	fx_group(f, "g1-ovh-1", "alice-ovh", "alice-ovh", "alice-ovh");
	cm_err err = {0};
	assert_int_equal(core_service_add(&f->core, "g1-ovh-1", "0033972101010", "number", &err), CM_OK);
	assert_int_equal(core_service_add(&f->core, "g1-ovh-1", "line-1", "line", &err), CM_OK);
}

/* Create and return the only request of one call; fails the test otherwise. */
static inline int64_t fx_create(fx *f, const char *by, const char *admin, const char *tech, const char *billing)
{
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	cm_err err = {0};
	cm_status st = core_request_create(&f->core, "g1-ovh-1", by, admin, tech, billing, f->now, ids, &err);
	if (st)
		print_error("create: %s\n", err.msg);
	assert_int_equal(st, CM_OK);
	assert_int_equal(ids->len, 1);
	int64_t id = g_array_index(ids, int64_t, 0);
	g_array_free(ids, TRUE);
	return id;
}

/* Outbox items of a request, of one kind, to one address (NULL: any). */
static inline int fx_mails(fx *f, int64_t req, cm_mail_kind kind, const char *rcpt)
{
	GArray *l = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	assert_int_equal(f->st->ops->outbox_list(f->st, -1, req, l, NULL), CM_OK);
	int n = 0;
	for (guint i = 0; i < l->len; i++) {
		cm_outbox_item *it = &g_array_index(l, cm_outbox_item, i);
		n += it->kind == kind && (!rcpt || strcmp(it->rcpt, rcpt) == 0);
	}
	g_array_free(l, TRUE);
	return n;
}

/* The token mailed last to rcpt for req, read from the Reply-To header of
 * the validation mail as it is sent, as a contact would.  The stored
 * message never holds it (rule 6): only its placeholder. */
static inline cm_token fx_token(fx *f, int64_t req, const char *rcpt)
{
	GArray *l = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	cm_token t = {{0}};
	bool found = false;
	assert_int_equal(f->st->ops->outbox_list(f->st, -1, req, l, NULL), CM_OK);
	for (guint i = 0; i < l->len; i++) {
		cm_outbox_item *it = &g_array_index(l, cm_outbox_item, i);
		if (it->kind != CM_MAIL_VALIDATION || strcmp(it->rcpt, rcpt) != 0)
			continue;
		char *stored = NULL, *msg = NULL;
		char *composed = NULL;
		assert_int_equal(f->st->ops->outbox_get(f->st, it->id, it, &stored, NULL), CM_OK);
		assert_int_equal(outbox_compose(f->cfg, it, stored, &composed, NULL), CM_OK);
		assert_non_null(strstr(composed, "Reply-To: validation+" CM_TOKEN_PLACEHOLDER "@"));
		g_free(composed);
		assert_int_equal(outbox_render(f->cfg, it, stored, &msg, NULL), CM_OK);
		const char *p = strstr(msg, "Reply-To: validation+");
		assert_non_null(p);
		p += strlen("Reply-To: validation+");
		assert_true(token_decode(p, CM_TOKEN_CHARS, &t));
		/* What the store keeps (a recipe, or the message composed with a
		 * placeholder) never holds the token itself. */
		char text[CM_TOKEN_CHARS + 1];
		token_encode(&t, text);
		assert_null(strstr(stored, text));
		g_free(stored);
		found = true;
		g_free(msg);
	}
	g_array_free(l, TRUE);
	assert_true(found);
	return t;
}

/* Run one statement that should fail on the store at uri: its error
 * message (g_malloc'd), or NULL when it succeeded. */
static inline char *fx_sql_error(const char *uri, const char *sqlite_sql, const char *pg_sql)
{
	char *msg = NULL;
	if (strncmp(uri, "postgresql://", 13) == 0) {
		PGconn *c = PQconnectdb(uri);
		PGresult *r = PQexec(c, pg_sql);
		ExecStatusType rs = PQresultStatus(r);
		if (rs != PGRES_TUPLES_OK && rs != PGRES_COMMAND_OK)
			msg = g_strdup(PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db;
		char *m = NULL;
		assert_int_equal(sqlite3_open(uri, &db), SQLITE_OK);
		if (sqlite3_exec(db, sqlite_sql, NULL, NULL, &m) != SQLITE_OK)
			msg = g_strdup(m ? m : "error");
		sqlite3_free(m);
		sqlite3_close(db);
	}
	return msg;
}

/* fx_sql_at on the test's store. */
static inline char *fx_sql(fx *f, const char *sqlite_sql, const char *pg_sql)
{
	return fx_sql_at(f->cfg->store_path, sqlite_sql, pg_sql);
}

static inline cm_request fx_request(fx *f, int64_t id)
{
	cm_request r;
	assert_int_equal(f->st->ops->request_get(f->st, id, &r, NULL), CM_OK);
	return r;
}

static inline cm_group fx_get_group(fx *f)
{
	cm_group g;
	assert_int_equal(f->st->ops->group_get(f->st, "g1-ovh-1", &g, NULL), CM_OK);
	return g;
}

#endif
