/* bench_tool.c - the parts of make bench that talk to the core directly.
 *
 *   bench_tool setup CONF N TOKENS   N groups with one request each, made
 *                                    through the core (validation mails
 *                                    queued); TOKENS gets one line per
 *                                    request: id, from email, from token,
 *                                    to email, to token (read from the mails)
 *   bench_tool filler CONF N         N old, closed requests (with parties and
 *                                    token hashes) added in one transaction
 *   bench_tool decide CONF TOKENS    reply_handle() (what the milter calls at
 *                                    end of message) on one plain reply per
 *                                    request of TOKENS; prints the rate
 */
#include <sqlite3.h>
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
 * (the stored message holds a placeholder). */
static void token_of(const cm_config *cfg, cm_store *st, int64_t req, const char *rcpt, char out[CM_TOKEN_CHARS + 1])
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
		cm_status rs = outbox_render(cfg, it, stored, &msg, NULL);
		g_free(stored);
		if (rs != CM_OK)
			continue;
		const char *p = strstr(msg, "Reply-To: validation+");
		if (p)
			g_strlcpy(out, p + strlen("Reply-To: validation+"), CM_TOKEN_CHARS + 1);
		g_free(msg);
	}
	g_array_free(l, TRUE);
}

static int cmd_setup(cm_config *cfg, int n, const char *out_path)
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
		token_of(cfg, st, id, "admin@bench.example.com", ta);
		token_of(cfg, st, id, "new@bench.example.net", tb);
		fprintf(out, "%lld\tadmin@bench.example.com\t%s\tnew@bench.example.net\t%s\n", (long long)id, ta, tb);
	}
	fclose(out);
	fprintf(stderr, "setup: %d requests in %.1f s\n", n, now_s() - t0);
	g_array_free(ids, TRUE);
	store_close(st);
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
		char **f = g_strsplit(lines[i], "\t", -1);
		char *msg = g_strdup_printf("From: Admin <%s>\r\nTo: validation+%s@%s\r\nSubject: Re: changement\r\n"
					    "Message-ID: <bench-%s@bench.example.com>\r\nMIME-Version: 1.0\r\n"
					    "Content-Type: text/plain; charset=utf-8\r\n\r\nJ'accepte\r\n\r\nLe jeu. 26 nov. "
					    "2026, Telephony contacts a \xc3\xa9" "crit :\r\n> J'accepte ou Je refuse\r\n",
					    f[1], f[2], cfg->validation_domain, f[2]);
		char rcpt[128];
		snprintf(rcpt, sizeof rcpt, "validation+%s@%s", f[2], cfg->validation_domain);
		const char *rcpts[] = {rcpt, NULL};
		cm_envelope env = {.env_from = f[1], .rcpts = rcpts, .client_addr = "127.0.0.1"};
		cm_handled h;
		cm_err err = {0};
		reply_handle(&c, msg, strlen(msg), &env, cm_now(), &h, &err);
		recorded += h.outcome == CM_OUTCOME_RECORDED;
		if (h.outcome != CM_OUTCOME_RECORDED && n < 3)
			fprintf(stderr, "not recorded: %s %s\n", h.reason, err.msg);
		reply_handle_clear(&h);
		g_free(msg);
		g_strfreev(f);
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

int main(int argc, char **argv)
{
	cm_config *cfg = NULL;
	cm_err err = {0};
	if (argc < 4) {
		fprintf(stderr, "usage: bench_tool setup|filler|decide CONF ...\n");
		return 1;
	}
	if (config_load(argv[2], &cfg, &err) != CM_OK)
		die("config", &err);
	mail_init();
	int rc = 1;
	if (strcmp(argv[1], "setup") == 0 && argc == 5)
		rc = cmd_setup(cfg, atoi(argv[3]), argv[4]);
	else if (strcmp(argv[1], "filler") == 0)
		rc = cmd_filler(cfg, atol(argv[3]));
	else if (strcmp(argv[1], "decide") == 0)
		rc = cmd_decide(cfg, argv[3]);
	config_free(cfg);
	return rc;
}
