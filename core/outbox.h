/*
 * outbox.h - mail waiting to be sent.  Mail is composed and queued in the
 * same transaction as the state change that caused it; delivery claims one
 * item at a time atomically, so two workers never send the same mail.
 */
#ifndef CM_OUTBOX_H
#define CM_OUTBOX_H

#include "config.h"
#include "mail.h"
#include "store.h"

/* Queue one mail (inside the caller's transaction). *id (optional) gets the
 * outbox id. */
cm_status outbox_enqueue(cm_store *st, const cm_config *cfg, const cm_mail_ctx *ctx, const char *nic,
			 int64_t now, int64_t *id, cm_err *err);

typedef struct {
	int sent, retried, failed; /* this run */
} cm_deliver_stats;

/* Send due mail over SMTP (smtp.url), reusing one connection.  once: stop
 * when nothing is due; otherwise also stop when *stop becomes non-zero
 * (checked between mails and while waiting).  A failed attempt is retried
 * after smtp.retry_min doubled per attempt, until smtp.give_up_after; a
 * permanent (5xx) refusal fails the mail at once.  Returns CM_ERR_IO when
 * the last attempt of a --once run could not reach the server. */
cm_status outbox_deliver(cm_store *st, const cm_config *cfg, bool once, volatile int *stop,
			 cm_deliver_stats *stats, cm_err *err);

/* Process-wide libcurl setup; call once from main() before threads. */
void outbox_global_init(void);

#endif
