/* callbacks.c - the libmilter callbacks: gather a message that reached one
 * of our addresses, hand it to the core at end of message, and turn the
 * outcome into an SMTP answer.  Never exit here: log once, clean up,
 * tempfail.  Per-message state lives in smfi_setpriv. */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <string.h>

#include "assemble.h"
#include "milter.h"
#include "reply_handle.h"

static const milter_app *app; /* set once by milter_callbacks() before smfi_main */

typedef struct {
	char *env_from;     /* MAIL FROM without brackets; "" for the null sender */
	char *client_addr;  /* the SMTP client's address ({client_addr}); NULL unknown */
	GPtrArray *rcpts;   /* every RCPT TO, without brackets */
	GPtrArray *ours;    /* our RCPT TO arguments as given (for smfi_delrcpt) */
	int others;         /* recipients that are not ours */
	msg_buf msg;        /* headers and body of a message for us */
	unsigned long steps; /* protocol steps agreed with the MTA (SMFIP_*) */
} msg_ctx;

static void msg_reset(msg_ctx *m)
{
	g_free(m->env_from);
	m->env_from = NULL;
	g_free(m->client_addr);
	m->client_addr = NULL;
	g_ptr_array_set_size(m->rcpts, 0);
	g_ptr_array_set_size(m->ours, 0);
	m->others = 0;
	msgbuf_reset(&m->msg);
}

static msg_ctx *ctx_get(SMFICTX *ctx)
{
	msg_ctx *m = smfi_getpriv(ctx);
	if (!m) {
		m = g_new0(msg_ctx, 1);
		m->rcpts = g_ptr_array_new_with_free_func(g_free);
		m->ours = g_ptr_array_new_with_free_func(g_free);
		msgbuf_init(&m->msg, (size_t)app->cfg->milter_max_message);
		smfi_setpriv(ctx, m);
	}
	return m;
}

static char *unbracket(const char *a)
{
	char *s = g_strstrip(g_strdup(a ? a : ""));
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
	return s;
}

static const char *qid(SMFICTX *ctx)
{
	const char *i = smfi_getsymval(ctx, "i");
	return i ? i : "-";
}

/* The reply for a step: none at all where the MTA agreed not to wait for
 * one, so ordinary mail costs no round trip before DATA. */
static sfsistat go_on(const msg_ctx *m, unsigned long no_reply_flag)
{
	return m->steps & no_reply_flag ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* Protocol v6: skip the connection, HELO and unknown commands (never
 * used), and send no reply to MAIL, RCPT, headers, end of headers and body
 * chunks, where our answer is always "go on" (the decision comes at DATA
 * and at end of message).  Only what the MTA offers is asked for. */
static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
			     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	msg_ctx *m = ctx_get(ctx);
	unsigned long want = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NR_CONN | SMFIP_NR_MAIL |
			     SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH | SMFIP_NR_BODY;
	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_DELRCPT | SMFIF_SETSYMLIST);
	*pf1 = f1 & want;
	*pf2 = 0;
	*pf3 = 0;
	m->steps = *pf1;
	/* The connection event is skipped, so ask for the client's address
	 * with MAIL FROM: failures are counted against it (SPEC section 8). */
	if ((*pf0 & SMFIF_SETSYMLIST) && smfi_setsymlist(ctx, SMFIM_ENVFROM, "{client_addr}") != MI_SUCCESS)
		mlog(LOG_WARNING, "cannot ask the MTA for {client_addr}");
	return SMFIS_CONTINUE;
}

static sfsistat cb_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)host;
	(void)addr;
	return go_on(ctx_get(ctx), SMFIP_NR_CONN);
}

static sfsistat cb_helo(SMFICTX *ctx, char *helo)
{
	(void)helo;
	return go_on(ctx_get(ctx), SMFIP_NR_HELO);
}

static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	msg_ctx *m = ctx_get(ctx);
	msg_reset(m);
	m->env_from = unbracket(argv[0]);
	const char *ca = smfi_getsymval(ctx, "{client_addr}");
	m->client_addr = ca && *ca && strlen(ca) < 64 ? g_strdup(ca) : NULL;
	return go_on(m, SMFIP_NR_MAIL);
}

static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	msg_ctx *m = ctx_get(ctx);
	char *addr = unbracket(argv[0]);
	bool has;
	cm_token t;
	cm_intent in;
	int64_t bounce;
	if (reply_address_parse(addr, app->cfg->validation_local, app->cfg->validation_domain, &has, &t, &in, &bounce))
		g_ptr_array_add(m->ours, g_strdup(argv[0]));
	else
		m->others++;
	g_ptr_array_add(m->rcpts, addr);
	return go_on(m, SMFIP_NR_RCPT);
}

/* Every recipient is known here: mail with none of ours is accepted
 * without its headers or body being read. */
static sfsistat cb_data(SMFICTX *ctx)
{
	msg_ctx *m = ctx_get(ctx);
	return m->ours->len == 0 ? SMFIS_ACCEPT : SMFIS_CONTINUE;
}

static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	msg_ctx *m = ctx_get(ctx);
	if (m->ours->len == 0 && !(m->steps & SMFIP_NR_HDR)) /* an MTA without the DATA step */
		return SMFIS_ACCEPT;
	msgbuf_header(&m->msg, name, value);
	return go_on(m, SMFIP_NR_HDR);
}

static sfsistat cb_eoh(SMFICTX *ctx)
{
	msg_ctx *m = ctx_get(ctx);
	msgbuf_eoh(&m->msg);
	return go_on(m, SMFIP_NR_EOH);
}

static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	msg_ctx *m = ctx_get(ctx);
	msgbuf_body(&m->msg, chunk, len);
	return go_on(m, SMFIP_NR_BODY);
}

/* Remove only our recipients so the others still get the message. */
static bool drop_ours(SMFICTX *ctx, msg_ctx *m)
{
	for (guint i = 0; i < m->ours->len; i++)
		if (smfi_delrcpt(ctx, m->ours->pdata[i]) != MI_SUCCESS)
			return false;
	return true;
}

static void reply_line(char *dst, size_t n, const char *reason)
{
	g_strlcpy(dst, reason, n);
	for (char *p = dst; *p; p++)
		if (*p == '%' || (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = ' ';
}

static sfsistat cb_eom(SMFICTX *ctx)
{
	msg_ctx *m = ctx_get(ctx);
	cm_err err = {0};
	cm_handled h;
	char line[CM_REASON_MAX + 1];
	sfsistat rc = SMFIS_TEMPFAIL;
	cm_store *st = pool_get(app->pool, &err);
	if (!st) {
		mlog(LOG_ERR, "%s: cannot use the store: %s", qid(ctx), err.msg);
		smfi_setreply(ctx, "451", "4.3.0", "temporary failure, please retry later");
		goto out;
	}
	g_ptr_array_add(m->rcpts, NULL);
	cm_core core = {st, app->cfg};
	cm_envelope env = {m->env_from, (const char *const *)m->rcpts->pdata, m->others > 0, m->client_addr,
			   m->msg.too_big};
	if (m->msg.too_big)
		mlog(LOG_WARNING, "%s: message cut at %zu bytes (milter.max_message_size): not decided", qid(ctx),
		     m->msg.max);
	reply_handle(&core, m->msg.raw->str, m->msg.raw->len, &env, cm_now(), &h, &err);
	g_ptr_array_remove_index(m->rcpts, m->rcpts->len - 1);
	pool_put(app->pool, st);
	reply_line(line, sizeof line, h.reason);
	/* Peer strings are logged printable only, and never a token. */
	char from[CM_EMAIL_MAX + 1], req[32] = "-";
	reply_line(from, sizeof from, h.reply.from[0] ? h.reply.from : "-");
	if (h.request_id)
		snprintf(req, sizeof req, "%lld", (long long)h.request_id);

	switch (h.outcome) {
	case CM_OUTCOME_RECORDED: {
		char hdr[96];
		snprintf(hdr, sizeof hdr, "request=%lld decision=%s", (long long)h.request_id,
			 cm_decision_str(h.decision));
		mlog(LOG_INFO, "%s: request=%s from=<%s> recorded: %s", qid(ctx), req, from, line);
		if (smfi_addheader(ctx, "X-Contact-Change", hdr) != MI_SUCCESS) {
			mlog(LOG_WARNING, "%s: could not add X-Contact-Change", qid(ctx));
		}
		if (app->deliver)
			rc = SMFIS_ACCEPT;
		else if (m->others)
			rc = drop_ours(ctx, m) ? SMFIS_ACCEPT : SMFIS_TEMPFAIL;
		else
			rc = SMFIS_DISCARD;
		break;
	}
	case CM_OUTCOME_QUIET:
		mlog(LOG_INFO, "%s: request=%s from=<%s> not an answer, discarded: %s", qid(ctx), req, from, line);
		rc = m->others ? (drop_ours(ctx, m) ? SMFIS_ACCEPT : SMFIS_TEMPFAIL) : SMFIS_DISCARD;
		break;
	case CM_OUTCOME_REFUSED:
	case CM_OUTCOME_RATE_LIMITED:
		mlog(LOG_NOTICE, "%s: request=%s from=<%s> refused%s: %s", qid(ctx), req, from,
		     h.outcome == CM_OUTCOME_RATE_LIMITED ? " (rate-limited)" : "", line);
		if (m->others) {
			/* The others still get it; the contact (never a stranger)
			 * was mailed the reason. */
			rc = drop_ours(ctx, m) ? SMFIS_ACCEPT : SMFIS_TEMPFAIL;
		} else {
			smfi_setreply(ctx, "550", "5.7.1", line);
			rc = SMFIS_REJECT;
		}
		break;
	case CM_OUTCOME_TEMPFAIL:
		mlog(LOG_ERR, "%s: request=%s from=<%s> temporary failure: %s", qid(ctx), req, from, err.msg);
		smfi_setreply(ctx, "451", "4.3.0", line);
		rc = SMFIS_TEMPFAIL;
		break;
	}
	if (rc == SMFIS_TEMPFAIL && h.outcome != CM_OUTCOME_TEMPFAIL) {
		mlog(LOG_ERR, "%s: could not remove our recipient", qid(ctx));
		smfi_setreply(ctx, "451", "4.3.0", "temporary failure, please retry later");
	}
	reply_handle_clear(&h);
out:
	msg_reset(m);
	return rc;
}

static sfsistat cb_abort(SMFICTX *ctx)
{
	msg_ctx *m = smfi_getpriv(ctx);
	if (m)
		msg_reset(m);
	return SMFIS_CONTINUE;
}

static sfsistat cb_close(SMFICTX *ctx)
{
	msg_ctx *m = smfi_getpriv(ctx);
	if (!m)
		return SMFIS_CONTINUE;
	msg_reset(m);
	g_ptr_array_free(m->rcpts, TRUE);
	g_ptr_array_free(m->ours, TRUE);
	msgbuf_free(&m->msg);
	g_free(m);
	smfi_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

static struct smfiDesc desc = {
	.xxfi_name = "contact-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_ADDHDRS | SMFIF_DELRCPT | SMFIF_SETSYMLIST,
	.xxfi_connect = cb_connect,
	.xxfi_helo = cb_helo,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_data = cb_data,
	.xxfi_negotiate = cb_negotiate,
};

struct smfiDesc *milter_callbacks(const milter_app *a)
{
	app = a;
	return &desc;
}
