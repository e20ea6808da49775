/* bench_tool.c - the parts of make bench that talk to the core directly.
 *
 *   bench_tool setup CONF N TOKENS [queued]   N groups with one request
 *                                    each, made through the core (validation
 *                                    mails marked sent, or left queued for
 *                                    the outbox section); TOKENS gets one
 *                                    line per request: id, from email, from
 *                                    token, to email, to token (read from
 *                                    the mails)
 *   bench_tool filler CONF N         N old, closed requests (with parties and
 *                                    token hashes) added in one transaction
 *   bench_tool decide CONF TOKENS    reply_handle() (what the milter calls at
 *                                    end of message) on one plain reply per
 *                                    request of TOKENS; prints the rate
 *   bench_tool decide_par CONF TOKENS K   the same split between K processes
 *                                    with a connection each, started at once;
 *                                    prints "n recorded seconds cpu" (wall
 *                                    time; the K processes' CPU, user and
 *                                    system, in seconds)
 *   bench_tool compose CONF          composes every queued mail not composed
 *                                    yet (from its recipe, token put in), as
 *                                    the outbox worker does before sending;
 *                                    prints "n seconds" (composing only)
 * The store is the config's: a SQLite file or a postgresql:// URI.
 */
#include <libpq-fe.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "mail.h"
#include "outbox.h"
#include "reply_handle.h"
#include "request.h"
#include "store.h"
#include "token.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const cm_err *err)
{
	fprintf(stderr, "bench_tool: %s: %s\n", what, err ? err->msg : "");
	exit(1);
}

static cm_store *open_store(const cm_config *cfg, bool create)
{
	cm_store *st = NULL;
	cm_err err = {0};
	cm_store_opts o = {.create = create, .busy_timeout = 60000};
	if (store_open(cfg->store_path, &o, &st, &err) != CM_OK)
		die("store", &err);
	return st;
}

static void account(cm_core *c, const char *nic, const char *email)
{
	cm_account a = {0};
	cm_err err = {0};
	cm_strlcpy(a.nic, nic, sizeof a.nic);
	cm_strlcpy(a.email, email, sizeof a.email);
	cm_strlcpy(a.lang, "fr", sizeof a.lang);
	a.voip_validated = a.payments_ok = true;
	cm_status st = core_account_add(c, &a, cm_now(), &err);
	if (st && st != CM_ERR_RULE)
		die("account", &err);
}

/* The token in the Reply-To of the last validation mail to rcpt, as sent
 * (the stored message holds a placeholder: rule 6).  The mail is then
 * marked sent, as the outbox worker does: a reply answers a mail that was
 * sent, so its decision finds nothing queued to withdraw. */
static void token_of(const cm_config *cfg, cm_store *st, int64_t req, const char *rcpt, bool queued,
		     char out[CM_TOKEN_CHARS + 1])
{
	GArray *l = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	st->ops->outbox_list(st, -1, req, l, NULL);
	out[0] = '\0';
	for (guint i = 0; i < l->len; i++) {
		cm_outbox_item *it = &g_array_index(l, cm_outbox_item, i);
		char *stored = NULL, *msg = NULL;
		if (it->kind != CM_MAIL_VALIDATION || strcmp(it->rcpt, rcpt) != 0 ||
		    st->ops->outbox_get(st, it->id, it, &stored, NULL) != CM_OK)
			continue;
		bool rendered = outbox_render(cfg, it, stored, &msg, NULL) == CM_OK;
		g_free(stored);
		if (!rendered)
			continue;
		const char *p = strstr(msg, "Reply-To: validation+");
		if (p)
			g_strlcpy(out, p + strlen("Reply-To: validation+"), CM_TOKEN_CHARS + 1);
		g_free(msg);
		cm_err err = {0};
		if (!queued && st->ops->outbox_finish(st, it->id, CM_OUT_SENT, 0, NULL, cm_now(), &err) != CM_OK)
			die("outbox finish", &err);
	}
	g_array_free(l, TRUE);
}

static int cmd_setup(cm_config *cfg, int n, const char *out_path, bool queued)
{
	cm_store *st = open_store(cfg, true);
	cm_core c = {st, cfg};
	cm_err err = {0};
	FILE *out = fopen(out_path, "w");
	if (!out)
		die("cannot write tokens file", NULL);
	account(&c, "benchadmin-ovh", "admin@bench.example.com");
	account(&c, "benchnew-ovh", "new@bench.example.net");
	char group[64];
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		cm_group g = {0};
		snprintf(group, sizeof group, "bench%d-%ld-ovh", i, (long)getpid());
		cm_strlcpy(g.name, group, sizeof g.name);
		cm_strlcpy(g.admin, "benchadmin-ovh", sizeof g.admin);
		cm_strlcpy(g.tech, "benchadmin-ovh", sizeof g.tech);
		cm_strlcpy(g.billing, "benchadmin-ovh", sizeof g.billing);
		if (core_group_add(&c, &g, cm_now(), &err) != CM_OK)
			die("group", &err);
		g_array_set_size(ids, 0);
		if (core_request_create(&c, group, "benchadmin-ovh", NULL, "benchnew-ovh", NULL, cm_now(), ids, &err))
			die("request", &err);
		int64_t id = g_array_index(ids, int64_t, 0);
		char ta[CM_TOKEN_CHARS + 1], tb[CM_TOKEN_CHARS + 1];
		token_of(cfg, st, id, "admin@bench.example.com", queued, ta);
		token_of(cfg, st, id, "new@bench.example.net", queued, tb);
		fprintf(out, "%lld\tadmin@bench.example.com\t%s\tnew@bench.example.net\t%s\n", (long long)id, ta, tb);
	}
	fclose(out);
	fprintf(stderr, "setup: %d requests in %.1f s\n", n, now_s() - t0);
	g_array_free(ids, TRUE);
	store_close(st);
	return 0;
}

/* PostgreSQL: the same rows made by the server (generate_series), in one
 * transaction; token hashes are digests of the row's id and side. */
static int filler_pg(cm_config *cfg, long n)
{
	double t0 = now_s();
	PGconn *c = PQconnectdb(cfg->store_path);
	if (PQstatus(c) != CONNECTION_OK)
		die(PQerrorMessage(c), NULL);
	char when[32], count[32];
	snprintf(when, sizeof when, "%lld", (long long)(cm_now() - 86400 * 30));
	snprintf(count, sizeof count, "%ld", n);
	const char *params[] = {when, count};
	static const char *const sql[] = {
		"BEGIN",
		"CREATE TEMP TABLE filler_ids ON COMMIT DROP AS WITH r AS (INSERT INTO requests(grp, roles, from_nic, to_nic,"
		" asked_by, state, created_at, expires_at, done_at) SELECT 'filler-ovh', 2, 'fillera-ovh', 'fillerb-ovh',"
		" 'fillera-ovh', 'done', $1::bigint, $1::bigint, $1::bigint FROM generate_series(1, $2::bigint)"
		" RETURNING id) SELECT id FROM r",
		"INSERT INTO parties(request_id, side, nic, email, decision, decided_at, via) SELECT id, s.side,"
		" s.nic, s.email, 'accepted', $1::bigint, 'email' FROM filler_ids, (VALUES ('from', 'fillera-ovh',"
		" 'a@filler.example.com'), ('to', 'fillerb-ovh', 'b@filler.example.com')) s(side, nic, email)"
		" WHERE $2::bigint > 0",
		"INSERT INTO tokens(hash, request_id, side, created_at) SELECT sha256(convert_to(id || s.side || random(),"
		" 'UTF8')), id, s.side, $1::bigint FROM filler_ids, (VALUES ('from'), ('to')) s(side)"
		" WHERE $2::bigint > 0",
		"COMMIT",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(sql); i++) {
		bool p = i > 0 && i + 1 < G_N_ELEMENTS(sql);
		PGresult *r = PQexecParams(c, sql[i], p ? (i == 1 ? 2 : 2) : 0, NULL, p ? params : NULL, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
			die(PQresultErrorMessage(r), NULL);
		PQclear(r);
	}
	PQclear(PQexec(c, "ANALYZE"));
	PQfinish(c);
	fprintf(stderr, "filler: %ld requests in %.1f s\n", n, now_s() - t0);
	return 0;
}

static int cmd_filler(cm_config *cfg, long n)
{
	cm_store *st = open_store(cfg, true);
	cm_core c = {st, cfg};
	account(&c, "fillera-ovh", "a@filler.example.com");
	account(&c, "fillerb-ovh", "b@filler.example.com");
	cm_group g = {.name = "filler-ovh", .admin = "fillera-ovh", .tech = "fillera-ovh", .billing = "fillera-ovh"};
	cm_err err = {0};
	cm_status gs = core_group_add(&c, &g, cm_now(), &err);
	if (gs && gs != CM_ERR_RULE)
		die("group", &err);
	store_close(st);
	if (strncmp(cfg->store_path, "postgresql://", 13) == 0)
		return filler_pg(cfg, n);

	sqlite3 *db;
	sqlite3_stmt *rq, *pq, *tq;
	if (sqlite3_open(cfg->store_path, &db) != SQLITE_OK)
		die("sqlite", NULL);
	sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN", NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO requests(grp, roles, from_nic, to_nic, asked_by, state, created_at,"
			       " expires_at, done_at) VALUES('filler-ovh', 2, 'fillera-ovh', 'fillerb-ovh', 'fillera-ovh',"
			       " 'done', ?1, ?1, ?1)", -1, &rq, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO parties(request_id, side, nic, email, decision, decided_at, via)"
			       " VALUES(?1, ?2, ?3, ?4, 'accepted', ?5, 'email')", -1, &pq, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO tokens(hash, request_id, side, created_at) VALUES(?1, ?2, ?3, ?4)", -1, &tq,
			   NULL);
	double t0 = now_s();
	int64_t when = cm_now() - 86400 * 30;
	for (long i = 0; i < n; i++) {
		sqlite3_bind_int64(rq, 1, when);
		sqlite3_step(rq);
		sqlite3_reset(rq);
		int64_t id = sqlite3_last_insert_rowid(db);
		for (int side = 0; side < 2; side++) {
			sqlite3_bind_int64(pq, 1, id);
			sqlite3_bind_text(pq, 2, side ? "to" : "from", -1, SQLITE_STATIC);
			sqlite3_bind_text(pq, 3, side ? "fillerb-ovh" : "fillera-ovh", -1, SQLITE_STATIC);
			sqlite3_bind_text(pq, 4, side ? "b@filler.example.com" : "a@filler.example.com", -1, SQLITE_STATIC);
			sqlite3_bind_int64(pq, 5, when);
			sqlite3_step(pq);
			sqlite3_reset(pq);
			cm_token t;
			unsigned char h[CM_TOKEN_HASH_BYTES];
			token_generate(&t, NULL);
			token_hash(&t, h);
			sqlite3_bind_blob(tq, 1, h, sizeof h, SQLITE_TRANSIENT);
			sqlite3_bind_int64(tq, 2, id);
			sqlite3_bind_text(tq, 3, side ? "to" : "from", -1, SQLITE_STATIC);
			sqlite3_bind_int64(tq, 4, when);
			sqlite3_step(tq);
			sqlite3_reset(tq);
		}
	}
	sqlite3_finalize(rq);
	sqlite3_finalize(pq);
	sqlite3_finalize(tq);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		die(sqlite3_errmsg(db), NULL);
	sqlite3_close(db);
	fprintf(stderr, "filler: %ld requests in %.1f s\n", n, now_s() - t0);
	return 0;
}

/* One plain reply for the first contact of a TOKENS line; true if recorded. */
static bool decide_line(cm_core *c, const char *line, int n_printed)
{
	char **f = g_strsplit(line, "\t", -1);
	char *msg = g_strdup_printf("From: Admin <%s>\r\nTo: validation+%s@%s\r\nSubject: Re: changement\r\n"
				    "Message-ID: <bench-%s@bench.example.com>\r\nMIME-Version: 1.0\r\n"
				    "Content-Type: text/plain; charset=utf-8\r\n\r\nJ'accepte\r\n\r\nLe jeu. 26 nov. "
				    "2026, Telephony contacts a \xc3\xa9" "crit :\r\n> J'accepte ou Je refuse\r\n",
				    f[1], f[2], c->cfg->validation_domain, f[2]);
	char rcpt[128];
	snprintf(rcpt, sizeof rcpt, "validation+%s@%s", f[2], c->cfg->validation_domain);
	const char *rcpts[] = {rcpt, NULL};
	cm_envelope env = {.env_from = f[1], .rcpts = rcpts};
	cm_handled h;
	cm_err err = {0};
	reply_handle(c, msg, strlen(msg), &env, cm_now(), &h, &err);
	bool recorded = h.outcome == CM_OUTCOME_RECORDED;
	if (!recorded && n_printed < 3)
		fprintf(stderr, "not recorded: %s %s\n", h.reason, err.msg);
	reply_handle_clear(&h);
	g_free(msg);
	g_strfreev(f);
	return recorded;
}

/* K processes, each with its own store connection, take every K-th line;
 * all start together once connected. */
static int cmd_decide_par(cm_config *cfg, const char *tokens_path, int k)
{
	char *text = NULL;
	if (k < 1 || k > 64 || !g_file_get_contents(tokens_path, &text, NULL, NULL))
		die("decide_par: bad arguments", NULL);
	char **lines = g_strsplit(text, "\n", -1);
	int go[2], done[2], n = 0;
	while (lines[n] && lines[n][0])
		n++;
	if (pipe(go) != 0 || pipe(done) != 0)
		die("pipe", NULL);
	for (int w = 0; w < k; w++) {
		pid_t pid = fork();
		if (pid < 0)
			die("fork", NULL);
		if (pid == 0) {
			close(go[1]);
			cm_store *st = open_store(cfg, false);
			cm_core c = {st, cfg};
			char b;
			if (write(done[1], "r", 1) != 1 || read(go[0], &b, 1) < 0)
				_exit(1);
			int rec = 0;
			for (int i = w; i < n; i += k)
				rec += decide_line(&c, lines[i], rec == 0 ? 0 : 3);
			store_close(st);
			char buf[16];
			int len = snprintf(buf, sizeof buf, "%8d", rec);
			_exit(write(done[1], buf, (size_t)len) == len ? 0 : 1);
		}
	}
	close(go[0]);
	close(done[1]);
	char b;
	for (int w = 0; w < k; w++) /* every worker connected */
		if (read(done[0], &b, 1) != 1)
			die("a worker did not start", NULL);
	double t0 = now_s();
	close(go[1]);
	int recorded = 0;
	for (int w = 0; w < k; w++) {
		int status;
		if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			die("a worker failed", NULL);
	}
	double s = now_s() - t0;
	struct rusage ru;
	double cpu = getrusage(RUSAGE_CHILDREN, &ru) == 0
			     ? (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
				       (double)ru.ru_stime.tv_usec / 1e6
			     : 0;
	char buf[16];
	for (int w = 0; w < k; w++) {
		ssize_t got = read(done[0], buf, 8);
		if (got == 8) {
			buf[8] = '\0';
			recorded += atoi(buf);
		}
	}
	printf("%d %d %.6f %.3f\n", n, recorded, s, cpu);
	fprintf(stderr, "decide_par: %d clients, %d replies, %d recorded, %.3f s, %.0f/s, clients' CPU %.3f s\n", k, n,
		recorded, s, recorded / s, cpu);
	g_strfreev(lines);
	g_free(text);
	return 0;
}

static int cmd_decide(cm_config *cfg, const char *tokens_path)
{
	char *text = NULL;
	if (!g_file_get_contents(tokens_path, &text, NULL, NULL))
		die("cannot read tokens", NULL);
	char **lines = g_strsplit(text, "\n", -1);
	cm_store *st = open_store(cfg, false);
	cm_core c = {st, cfg};
	int n = 0, recorded = 0;
	double t0 = now_s();
	for (int i = 0; lines[i] && lines[i][0]; i++) {
		recorded += decide_line(&c, lines[i], n);
		n++;
	}
	double s = now_s() - t0;
	printf("%d %d %.6f\n", n, recorded, s);
	fprintf(stderr, "decide: %d replies, %d recorded, %.3f s, %.0f/s\n", n, recorded, s, n / s);
	store_close(st);
	g_strfreev(lines);
	g_free(text);
	return 0;
}

static int cmd_compose(cm_config *cfg)
{
	cm_store *st = open_store(cfg, false);
	GArray *l = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	cm_err err = {0};
	double spent = 0;
	int n = 0;
	if (st->ops->outbox_list(st, CM_OUT_QUEUED, 0, l, &err) != CM_OK)
		die("outbox list", &err);
	for (guint i = 0; i < l->len; i++) {
		cm_outbox_item *it = &g_array_index(l, cm_outbox_item, i);
		char *stored = NULL, *msg = NULL;
		if (!it->recipe || st->ops->outbox_get(st, it->id, it, &stored, &err) != CM_OK)
			continue;
		double t0 = now_s();
		if (outbox_render(cfg, it, stored, &msg, &err) != CM_OK)
			die("compose", &err);
		spent += now_s() - t0;
		n++;
		g_free(stored);
		g_free(msg);
	}
	printf("%d %.6f\n", n, spent);
	fprintf(stderr, "compose: %d mails, %.3f s, %.0f/s\n", n, spent, spent > 0 ? n / spent : 0);
	g_array_free(l, TRUE);
	store_close(st);
	return 0;
}

int main(int argc, char **argv)
{
	cm_config *cfg = NULL;
	cm_err err = {0};
	if (argc < 3 || (argc < 4 && strcmp(argv[1], "compose") != 0)) {
		fprintf(stderr, "usage: bench_tool setup|filler|decide|decide_par|compose CONF ...\n");
		return 1;
	}
	if (config_load(argv[2], &cfg, &err) != CM_OK)
		die("config", &err);
	mail_init();
	int rc = 1;
	if (strcmp(argv[1], "setup") == 0 && (argc == 5 || (argc == 6 && strcmp(argv[5], "queued") == 0)))
		rc = cmd_setup(cfg, atoi(argv[3]), argv[4], argc == 6);
	else if (strcmp(argv[1], "filler") == 0)
		rc = cmd_filler(cfg, atol(argv[3]));
	else if (strcmp(argv[1], "decide") == 0)
		rc = cmd_decide(cfg, argv[3]);
	else if (strcmp(argv[1], "decide_par") == 0 && argc == 5)
		rc = cmd_decide_par(cfg, argv[3], atoi(argv[4]));
	else if (strcmp(argv[1], "compose") == 0 && argc == 3)
		rc = cmd_compose(cfg);
	config_free(cfg);
	return rc;
}
