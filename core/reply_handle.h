/*
 * reply_handle.h - what to do with one message that reached the validation
 * or bounce address: the whole of SPEC section 3's outcome table, in the
 * core, so the milter only maps the outcome to SMTP.
 */
#ifndef CM_REPLY_HANDLE_H
#define CM_REPLY_HANDLE_H

#include "reply.h"
#include "request.h"

typedef enum {
	CM_OUTCOME_RECORDED = 0, /* decision on disk (or the same message seen before) */
	CM_OUTCOME_QUIET,        /* bounce or auto-reply: discard, mail nobody */
	CM_OUTCOME_REFUSED,      /* 550 5.7.1 with reason */
	CM_OUTCOME_RATE_LIMITED, /* 550 5.7.1, too many failures */
	CM_OUTCOME_TEMPFAIL      /* 451 4.3.0: store busy or broken; nothing changed */
} cm_outcome;

typedef struct {
	cm_outcome outcome;
	int64_t request_id;
	cm_decision decision;
	bool duplicate;
	bool notice_queued;               /* the sender was mailed the reason */
	char reason[CM_REASON_MAX + 1];   /* one line, for the SMTP reply and the log */
	cm_reply reply;                   /* what was understood (reply_clear'd by reply_handle_clear) */
} cm_handled;

typedef struct {
	const char *env_from;       /* MAIL FROM without brackets, "" for the null sender */
	const char *const *rcpts;   /* RCPT TO addresses, NULL-terminated */
	bool others;                /* other recipients too: mail the contact instead of a 550 */
	const char *client_addr;    /* the SMTP client's address as the MTA saw it; NULL unknown */
	bool truncated;             /* cut at milter.max_message_size: never decided */
} cm_envelope;

/* Decide on one message.  Returns CM_OK with out->outcome set; failures of
 * the store come back as CM_OUTCOME_TEMPFAIL (err says why) and leave the
 * store as it was. */
cm_status reply_handle(cm_core *c, const char *raw, size_t len, const cm_envelope *env, int64_t now, cm_handled *out,
		       cm_err *err);
void reply_handle_clear(cm_handled *h);

/* Does one Authentication-Results value, from authserv_id, show a dkim=pass
 * whose signing domain (header.d) is domain, or an spf=pass whose envelope
 * domain (smtp.mailfrom) is domain?  Each method is judged on its own;
 * values from other servers never count.  The caller passes only the
 * instances above the first Received: (cm_reply.auth_results). */
bool reply_auth_passes(const char *value, const char *authserv_id, const char *domain);

#endif
