/*
 * outbox.h - mail waiting to be sent.  A mail is queued, as its recipe
 * (mail.h), in the same transaction as the state change that caused it;
 * it is composed from the recipe when it is first sent or shown, outside
 * any store lock, and the composed message is stored when its send is
 * recorded.  Delivery claims a batch atomically, so two workers never send
 * the same mail.
 *
 * A validation mail's token is never stored (SPEC rule 6): the recipe
 * says only that the mail shows one, the composed message holds
 * CM_TOKEN_PLACEHOLDER, and the row says whose token goes there (side and
 * serial); outbox_render() recomputes it from the secret when the mail is
 * sent or shown.
 */
#ifndef CM_OUTBOX_H
#define CM_OUTBOX_H

#include "config.h"
#include "mail.h"
#include "store.h"

/* How the core reports what an operator should see in the logs (syslog
 * priorities); NULL: silent. */
typedef void (*cm_log_fn)(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Queue one mail (inside the caller's transaction).  token_side is the
 * party (CM_SIDE_*) whose token, of serial token_serial, replaces the
 * placeholder in the message, or -1 when the mail carries no token.
 * *id (optional) gets the outbox id. */
cm_status outbox_enqueue(cm_store *st, const cm_config *cfg, const cm_mail_ctx *ctx, const char *nic, int token_side,
			 int token_serial, int64_t now, int64_t *id, cm_err *err);

/* The envelope sender of outbox item id: bounces+ID-SIG@validation domain,
 * SIG a keyed MAC of the id, so that only a bounce of a mail we sent
 * counts.  CM_ERR_USAGE when there is no secret or the domain is too long. */
cm_status outbox_bounce_address(const cm_config *cfg, int64_t id, char out[CM_EMAIL_MAX + 1], cm_err *err);

/* The message of item as stored, before its token is put in: composed
 * from stored when item->recipe (the templates of cfg), a copy of stored
 * otherwise.  CM_ERR_USAGE when a template fails (or a validation template
 * shows no {token}), CM_ERR_INTERNAL when the recipe is unreadable.  *msg
 * is g_malloc'd. */
cm_status outbox_compose(const cm_config *cfg, const cm_outbox_item *item, const char *stored, char **msg,
			 cm_err *err);

/* The message of item as it is sent: composed (outbox_compose), then the
 * placeholder replaced by the party's token.  *out is g_malloc'd. */
cm_status outbox_render(const cm_config *cfg, const cm_outbox_item *item, const char *stored, char **out, cm_err *err);

typedef struct {
	int sent, retried, failed; /* this run */
} cm_deliver_stats;

/* Send due mail over SMTP (smtp.url), reusing one connection.  once: stop
 * when nothing is due; otherwise also stop when *stop becomes non-zero
 * (checked between mails and while waiting).  A refusal of one mail (4xx:
 * retried later with smtp.retry_min doubled per attempt, until
 * smtp.give_up_after; 5xx: failed at once) never holds up the others; only
 * an unreachable server pauses delivery.  Returns CM_ERR_IO when the last
 * attempt of a --once run could not reach the server.  log (optional) gets
 * one line per send, retry and failure. */
cm_status outbox_deliver(cm_store *st, const cm_config *cfg, bool once, gint *stop, cm_log_fn log,
			 cm_deliver_stats *stats, cm_err *err);

/* Seconds a claimed batch is leased for: bounded (a few minutes), so a
 * killed worker's mails move on quickly; a worker stops sending from a
 * batch before its lease could run out. */
int64_t outbox_lease(const cm_config *cfg);

/* Process-wide libcurl setup; call once from main() before threads. */
void outbox_global_init(void);

#endif
