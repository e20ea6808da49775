/* outbox.c - queueing composed mail and delivering it with libcurl SMTP. */
#include "outbox.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "events.h"
#include "token.h"

cm_status outbox_bounce_address(const cm_config *cfg, int64_t id, char out[CM_EMAIL_MAX + 1], cm_err *err)
{
	char sig[CM_BOUNCE_SIG_CHARS + 1];
	if (!cfg->secret_len)
		return cm_err_set(err, CM_ERR_USAGE, "no secret to sign bounce addresses: %s is missing (run contactctl init)",
				  cfg->secret_file);
	token_bounce_sig(cfg->secret, cfg->secret_len, id, sig);
	if (snprintf(out, CM_EMAIL_MAX + 1, "bounces+%lld-%s@%s", (long long)id, sig, cfg->validation_domain) >
	    CM_EMAIL_MAX)
		return cm_err_set(err, CM_ERR_USAGE, "validation domain too long for a bounce address");
	return CM_OK;
}

cm_status outbox_enqueue(cm_store *st, const cm_config *cfg, const cm_mail_ctx *ctx, const char *nic, int token_side,
			 int token_serial, int64_t now, int64_t *id, cm_err *err)
{
	cm_outbox_item it = {.id = id ? 0 : CM_OUTBOX_NO_ID, .request_id = ctx->req ? ctx->req->id : 0,
			     .kind = ctx->kind, .next_attempt_at = now, .created_at = now, .token_side = token_side,
			     .token_serial = token_serial};
	cm_status rs;

	if (!cm_strlcpy(it.rcpt, ctx->rcpt, sizeof it.rcpt) || !cm_email_valid(it.rcpt))
		return cm_err_set(err, CM_ERR_USAGE, "cannot mail '%s': not a valid address", ctx->rcpt);
	if (!cm_strlcpy(it.nic, nic ? nic : "", sizeof it.nic))
		return cm_err_set(err, CM_ERR_USAGE, "NIC too long");
	if (!cfg->secret_len)
		return cm_err_set(err, CM_ERR_USAGE, "no secret to derive tokens and sign bounce addresses: %s is missing"
				  " (run contactctl init)", cfg->secret_file);
	/* Only the recipe is written here, inside the caller's transaction:
	 * composing (templates, GMime) waits until the mail is sent. */
	char *recipe = mail_recipe_write(ctx);
	rs = st->ops->outbox_insert(st, &it, recipe, err);
	g_free(recipe);
	if (rs == CM_OK && id)
		*id = it.id;
	return rs;
}

cm_status outbox_compose(const cm_config *cfg, const cm_outbox_item *item, const char *stored, char **msg,
			 cm_err *err)
{
	mail_recipe *r = NULL;
	char sender[CM_EMAIL_MAX + 1];
	size_t len;
	cm_status rs;

	*msg = NULL;
	if (!item->recipe) {
		*msg = g_strdup(stored);
		return CM_OK;
	}
	cm_err e = {0};
	if ((rs = mail_recipe_read(stored, &r, &e)))
		return cm_err_set(err, rs, "outbox %lld: %s", (long long)item->id, e.msg);
	rs = mail_compose(cfg, mail_recipe_ctx(r), item->id, item->created_at, msg, &len, sender, err);
	mail_recipe_free(r);
	if (rs == CM_OK && (item->token_side == CM_SIDE_FROM || item->token_side == CM_SIDE_TO) &&
	    !mail_shows_code(*msg)) {
		rs = cm_err_set(err, CM_ERR_USAGE, "the %s template shows no validation code: it needs {token}",
				cm_mail_kind_str(item->kind));
		g_free(*msg);
		*msg = NULL;
	}
	return rs;
}

/* The placeholder of a composed message replaced by the party's token. */
static cm_status put_token(const cm_config *cfg, const cm_outbox_item *item, const char *msg, char **out, cm_err *err)
{
	*out = NULL;
	if (item->token_side != CM_SIDE_FROM && item->token_side != CM_SIDE_TO) {
		*out = g_strdup(msg);
		return CM_OK;
	}
	if (!cfg->secret_len)
		return cm_err_set(err, CM_ERR_USAGE, "no secret to derive tokens: %s is missing", cfg->secret_file);
	cm_token tok;
	char text[CM_TOKEN_CHARS + 1];
	token_derive(cfg->secret, cfg->secret_len, item->request_id, item->token_side, item->token_serial, &tok);
	token_encode(&tok, text);
	char **parts = g_strsplit(msg, CM_TOKEN_PLACEHOLDER, -1);
	*out = g_strjoinv(text, parts);
	g_strfreev(parts);
	return CM_OK;
}

cm_status outbox_render(const cm_config *cfg, const cm_outbox_item *item, const char *stored, char **out, cm_err *err)
{
	char *msg = NULL;
	cm_status rs = outbox_compose(cfg, item, stored, &msg, err);
	*out = NULL;
	if (rs == CM_OK)
		rs = put_token(cfg, item, msg, out, err);
	g_free(msg);
	return rs;
}

void outbox_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct {
	const char *data;
	size_t len, pos;
} upload;

static size_t upload_read(char *buf, size_t size, size_t n, void *ud)
{
	upload *u = ud;
	size_t room = size * n, left = u->len - u->pos;
	size_t k = left < room ? left : room;
	memcpy(buf, u->data + u->pos, k);
	u->pos += k;
	return k;
}

typedef enum { SEND_OK, SEND_RETRY, SEND_PERMANENT, SEND_UNREACHABLE } send_result;

static send_result send_one(CURL *curl, const cm_config *cfg, const cm_outbox_item *it, const char *msg,
			    char *why, size_t whylen)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	char from[CM_EMAIL_MAX + 3];
	struct curl_slist *rcpt = NULL;
	upload u = {msg, strlen(msg), 0};
	long code = 0;

	snprintf(from, sizeof from, "<%s>", it->sender);
	rcpt = curl_slist_append(NULL, it->rcpt);
	curl_easy_setopt(curl, CURLOPT_URL, cfg->smtp_url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &u);
	curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u.len);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)cfg->smtp_timeout);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)cfg->smtp_timeout * 4);
	curl_easy_setopt(curl, CURLOPT_USE_SSL, strcmp(cfg->smtp_starttls, "require") == 0 ? (long)CURLUSESSL_ALL
						 : strcmp(cfg->smtp_starttls, "try") == 0    ? (long)CURLUSESSL_TRY
											     : (long)CURLUSESSL_NONE);
	if (cfg->smtp_user[0]) {
		curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->smtp_user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg->smtp_password);
	}
	CURLcode rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	/* The handle is reused: leave it nothing that points into this frame. */
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, NULL);
	curl_easy_setopt(curl, CURLOPT_READDATA, NULL);
	curl_slist_free_all(rcpt);
	if (rc == CURLE_OK)
		return SEND_OK;
	/* Truncation is fine here: the reason is for the operator to read. */
	g_snprintf(why, (gulong)whylen, "%s%s%s (SMTP %ld)", curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf, code);
	for (char *p = why; *p; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	/* The server answered this mail (a refused RCPT or DATA comes back as
	 * a send or receive error with the server's code): its fate is this
	 * mail's alone.  No answer at all means the server is unreachable. */
	if (code >= 500 && code < 600)
		return SEND_PERMANENT;
	if (code >= 400 && code < 500)
		return SEND_RETRY;
	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_OPERATION_TIMEDOUT ||
	    rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING)
		return SEND_UNREACHABLE;
	return SEND_RETRY;
}

static bool stopped(gint *stop)
{
	return stop && g_atomic_int_get(stop);
}

static void nap(gint *stop, int64_t seconds)
{
	for (int64_t i = 0; i < seconds * 5 && !stopped(stop); i++) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static int64_t backoff(const cm_config *cfg, int attempts)
{
	int64_t d = cfg->smtp_retry_min;
	for (int i = 1; i < attempts && d < 6 * 3600; i++)
		d *= 2;
	return d < 6 * 3600 ? d : 6 * 3600;
}

/* Mails claimed and finished per transaction.  A worker that dies between
 * the SMTP server's acceptance and the commit sends them again once their
 * lease runs out: at most this many duplicates, never a lost mail. */
#define OUTBOX_BATCH 16

int64_t outbox_lease(const cm_config *cfg)
{
	/* Room for two of the slowest sends (curl's whole-transfer timeout,
	 * four smtp.timeout) and a margin: 4.5 minutes at the default 30 s.
	 * A worker never starts a send its lease could not cover. */
	return 2 * cfg->smtp_timeout * 4 + 30;
}

typedef struct {
	send_result r;
	bool tried;
	char why[CM_REASON_MAX];
	char *composed; /* composed from the item's recipe for this send: stored with its result */
} attempt;

/* A mail refused for good is its kind's failure: for a mail to a contact's
 * current address, the address is marked bouncing, as a bounce would. */
static cm_status permanent_failure(cm_store *st, const cm_outbox_item *it, cm_err *err)
{
	cm_account a;
	if (!it->nic[0])
		return CM_OK;
	cm_status rs = st->ops->account_get(st, it->nic, &a, err);
	if (rs)
		return rs == CM_ERR_NOTFOUND ? CM_OK : rs;
	if (a.bouncing || g_ascii_strcasecmp(a.email, it->rcpt) != 0)
		return CM_OK;
	a.bouncing = true;
	return st->ops->account_update(st, &a, err);
}

static void log_result(cm_log_fn log, const cm_outbox_item *it, const attempt *a, int64_t next_at, int64_t now)
{
	if (!log)
		return;
	char reqbuf[32] = "-";
	if (it->request_id)
		snprintf(reqbuf, sizeof reqbuf, "%lld", (long long)it->request_id);
	if (!a->tried)
		return;
	if (a->r == SEND_OK)
		log(6 /* LOG_INFO */, "outbox %lld: %s mail for request %s sent to <%s>", (long long)it->id,
		    cm_mail_kind_str(it->kind), reqbuf, it->rcpt);
	else if (next_at)
		log(4 /* LOG_WARNING */, "outbox %lld: %s mail for request %s to <%s> not sent, retry in %llds: %s",
		    (long long)it->id, cm_mail_kind_str(it->kind), reqbuf, it->rcpt, (long long)(next_at - now), a->why);
	else
		log(3 /* LOG_ERR */, "outbox %lld: %s mail for request %s to <%s> failed for good: %s", (long long)it->id,
		    cm_mail_kind_str(it->kind), reqbuf, it->rcpt, a->why);
}

/* Record a batch's results in one transaction. */
static cm_status finish_batch(cm_store *st, const cm_config *cfg, GArray *items, attempt *res, cm_log_fn log,
			      cm_deliver_stats *stats, cm_err *err)
{
	int64_t now = cm_now();
	cm_status rs = st->ops->begin(st, true, err);
	for (guint i = 0; rs == CM_OK && i < items->len; i++) {
		cm_outbox_item *it = &g_array_index(items, cm_outbox_item, i);
		int64_t next_at = 0;
		if (!res[i].tried) {
			rs = st->ops->outbox_release(st, it->id, err);
			continue;
		}
		/* The message as composed for this send is the one kept (and
		 * shown); later attempts send these very bytes. */
		if (res[i].composed &&
		    (rs = st->ops->outbox_set_message(st, it->id, it->sender, res[i].composed, strlen(res[i].composed), err)))
			break;
		if (res[i].r == SEND_OK) {
			rs = st->ops->outbox_finish(st, it->id, CM_OUT_SENT, 0, NULL, now, err);
			stats->sent++;
		} else if (res[i].r == SEND_PERMANENT || now - it->created_at >= cfg->smtp_give_up) {
			rs = st->ops->outbox_finish(st, it->id, CM_OUT_FAILED, 0, res[i].why, now, err);
			if (rs == CM_OK)
				rs = permanent_failure(st, it, err);
			stats->failed++;
		} else {
			next_at = now + backoff(cfg, it->attempts);
			rs = st->ops->outbox_finish(st, it->id, CM_OUT_QUEUED, next_at, res[i].why, now, err);
			stats->retried++;
		}
		if (rs == CM_OK)
			log_result(log, it, &res[i], next_at, now);
	}
	if (rs == CM_OK)
		rs = st->ops->commit(st, err);
	if (rs != CM_OK)
		st->ops->rollback(st);
	return rs;
}

cm_status outbox_deliver(cm_store *st, const cm_config *cfg, bool once, gint *stop, cm_log_fn log,
			 cm_deliver_stats *stats, cm_err *err)
{
	CURL *curl = curl_easy_init(), *http = curl_easy_init();
	cm_status rs = CM_OK;
	memset(stats, 0, sizeof *stats);
	if (!curl || !http) {
		curl_easy_cleanup(curl);
		curl_easy_cleanup(http);
		return cm_err_set(err, CM_ERR_INTERNAL, "cannot start libcurl");
	}
	GArray *items = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	GPtrArray *msgs = g_ptr_array_new_with_free_func(g_free);
	attempt res[OUTBOX_BATCH];
	int64_t lease = outbox_lease(cfg), one_send = cfg->smtp_timeout * 4 + 10;
	while (!stopped(stop)) {
		int64_t now = cm_now();
		g_array_set_size(items, 0);
		g_ptr_array_set_size(msgs, 0);
		rs = st->ops->outbox_claim(st, now, lease, OUTBOX_BATCH, items, msgs, err);
		if (rs == CM_ERR_NOTFOUND) {
			rs = CM_OK;
			if (once)
				break;
			int64_t due = now + cfg->smtp_retry_min;
			if (st->ops->outbox_next_due(st, &due, NULL) != CM_OK || due > now + 1)
				due = now + 1;
			nap(stop, due - now);
			continue;
		}
		if (rs)
			break;
		const char *unreachable = NULL;
		for (guint i = 0; i < items->len; i++) {
			cm_outbox_item *it = &g_array_index(items, cm_outbox_item, i);
			res[i].composed = NULL;
			/* Never send past the lease: another worker may claim it then. */
			res[i].tried = !unreachable && !stopped(stop) && cm_now() + one_send < now + lease;
			if (!res[i].tried)
				continue;
			if (it->kind == CM_MAIL_EVENT) {
				/* The receiver's trouble is this event's alone: retried
				 * with backoff, the others (and the mails) go on. */
				res[i].r = events_post(http, cfg, it->id, msgs->pdata[i], res[i].why, sizeof res[i].why)
						   ? SEND_OK
						   : SEND_RETRY;
				continue;
			}
			char *full = NULL;
			cm_err rerr = {0};
			/* A mail queued as its recipe is composed here, outside any
			 * store lock, and gets its envelope sender now; one composed
			 * before goes out as stored. */
			if ((it->recipe && ((!it->sender[0] && outbox_bounce_address(cfg, it->id, it->sender, &rerr)) ||
					    outbox_compose(cfg, it, msgs->pdata[i], &res[i].composed, &rerr))) ||
			    put_token(cfg, it, it->recipe ? res[i].composed : msgs->pdata[i], &full, &rerr)) {
				res[i].r = SEND_PERMANENT;
				g_strlcpy(res[i].why, rerr.msg, sizeof res[i].why);
				g_free(res[i].composed);
				res[i].composed = NULL;
				continue;
			}
			res[i].r = send_one(curl, cfg, it, full, res[i].why, sizeof res[i].why);
			g_free(full);
			if (res[i].r == SEND_UNREACHABLE)
				unreachable = res[i].why; /* the server is down: leave the rest untouched */
		}
		/* The mails went out: should the store be away for a moment (a
		 * database restarting), keep their results and write them when it
		 * is back, within the lease, rather than send them again after. */
		cm_deliver_stats before = *stats;
		while ((rs = finish_batch(st, cfg, items, res, log, stats, err)) &&
		       (rs == CM_ERR_IO || rs == CM_ERR_BUSY) && cm_now() + one_send < now + lease && !stopped(stop)) {
			*stats = before;
			nap(stop, 1);
		}
		for (guint i = 0; i < items->len; i++)
			g_free(res[i].composed);
		if (rs)
			break;
		if (unreachable) {
			if (log)
				log(4, "outbox: SMTP server %s unreachable, pausing %llds: %s", cfg->smtp_url,
				    (long long)cfg->smtp_retry_min, unreachable);
			if (once) {
				rs = cm_err_set(err, CM_ERR_IO, "SMTP server %s unreachable: %s", cfg->smtp_url, unreachable);
				break;
			}
			nap(stop, cfg->smtp_retry_min);
		} else if (!once && items->len < OUTBOX_BATCH) {
			/* A partial batch: let mail gather for a second rather than
			 * take the store's write lock behind every decision. */
			nap(stop, 1);
		}
	}
	g_array_free(items, TRUE);
	g_ptr_array_free(msgs, TRUE);
	curl_easy_cleanup(curl);
	curl_easy_cleanup(http);
	return rs;
}
