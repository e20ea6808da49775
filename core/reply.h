/*
 * reply.h - understanding one incoming message (SPEC section 3, "Understanding
 * a reply"): what kind it is, its new text with quotes and signatures
 * removed, the token, the intent and the sender.  The milter and
 * `contactctl parse` both call reply_understand(); nothing here touches the
 * store.
 */
#ifndef CM_REPLY_H
#define CM_REPLY_H

#include <glib.h>

#include "cm.h"
#include "token.h"

typedef enum { CM_KIND_REPLY = 0, CM_KIND_AUTO_REPLY, CM_KIND_BOUNCE } cm_reply_kind;
/* REPORT: "this wasn't me" (validation+report-TOKEN@), a refusal that also
 * reports the request (rule 11); only ever read from the address. */
typedef enum { CM_INTENT_NONE = 0, CM_INTENT_ACCEPT, CM_INTENT_REFUSE, CM_INTENT_BOTH, CM_INTENT_REPORT } cm_intent;
typedef enum { CM_FROM_NONE = 0, CM_FROM_ADDRESS, CM_FROM_SUBJECT, CM_FROM_TEXT } cm_token_source;

#define CM_REPLY_TEXT_MAX (256 * 1024) /* bytes of text kept from one message */

typedef struct {
	cm_reply_kind kind;
	char kind_why[128];          /* what made it an auto-reply or bounce */
	bool has_token;
	cm_token token;
	cm_token_source token_source;
	cm_intent intent;
	cm_token_source intent_source; /* ADDRESS or TEXT */
	char from[CM_EMAIL_MAX + 1];   /* addr-spec of From, lowercased; "" if none */
	char *subject;                 /* decoded, UTF-8 (g_free) */
	char *message_id;              /* without angle brackets (g_free) */
	char *new_text;                /* UTF-8 (g_free) */
	char reason[CM_REASON_MAX + 1]; /* why no decision can be read, "" if one can */
	int64_t bounce_of;             /* outbox id from a bounces+ID-SIG recipient, 0 if none */
	char bounce_sig[CM_BOUNCE_SIG_CHARS + 1]; /* its SIG as written ("" if none); checked by the caller */
	int from_count;                /* mailboxes in From: a decision needs exactly one */
	/* Authentication-Results values above the first Received: header, in
	 * order: only those can be our own server's (RFC 8601 section 5). */
	GPtrArray *auth_results;
	/* A delivery status notification (multipart/report, delivery-status):
	 * the recipients its failed actions name, lowercased (g_free each). */
	bool dsn;
	GPtrArray *dsn_failed;
} cm_reply;

/* What the envelope said, when known (milter); NULLs for `contactctl parse`,
 * which then reads To/Cc/Delivered-To for the validation address. */
typedef struct {
	const char *validation_local;  /* "validation" */
	const char *validation_domain; /* "contacts.example.com" */
	const char *env_from;          /* MAIL FROM without brackets; "" = null sender; NULL unknown */
	const char *const *rcpts;      /* RCPT TO addresses, NULL-terminated; NULL unknown */
} cm_reply_env;

/* Understand raw (len bytes, any line ends).  Never fails on bad input:
 * what cannot be read is reported in out->reason.  Free with reply_clear. */
void reply_understand(const char *raw, size_t len, const cm_reply_env *env, cm_reply *out);
void reply_clear(cm_reply *r);

/* Read the local part detail of one of our addresses: "TOKEN",
 * "accept-TOKEN", "refuse-TOKEN", or the bounce form "bounces+ID-SIG"
 * (the signature is read by reply_understand into bounce_sig).
 * Returns true if addr is at the validation address (with or without a
 * detail); *bounce_id > 0 for a bounce address. */
bool reply_address_parse(const char *addr, const char *local, const char *domain, bool *has_token, cm_token *tok,
			 cm_intent *intent, int64_t *bounce_id);

/* The new text of a plain-text body: quoted lines, reply headers, forwarded
 * messages and signatures removed.  Returns a g_malloc'd string. */
char *reply_strip_quotes(const char *text);

/* Text of an HTML body without its quoted parts (blockquote, gmail_quote,
 * Outlook dividers).  Returns a g_malloc'd string. */
char *reply_html_to_text(const char *html, size_t len);

/* Intent of a new text, read from its opening only (greetings passed over,
 * up to the first closing, signature, footer or disclaimer: reply_intent.c):
 * its first line first, then the whole opening.  why gets a reason saying
 * how to answer when the result is NONE or BOTH. */
cm_intent reply_intent(const char *new_text, char *why, size_t whylen);

/* A token written anywhere in text (26 symbols, hyphens allowed). */
bool reply_find_token(const char *text, cm_token *out);

const char *reply_kind_str(cm_reply_kind k);
const char *reply_intent_str(cm_intent i); /* NULL for none/both */

#endif
