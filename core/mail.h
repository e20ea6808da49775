/*
 * mail.h - composing the e-mails of the workflow from the templates in
 * templates.dir/LANG/KIND.txt (first line "Subject: ...", a blank line, the
 * text body) and KIND.html (the HTML body).  Placeholders are {name}; an
 * unknown one is an error naming the template, so an operator's typo never
 * reaches a contact.
 */
#ifndef CM_MAIL_H
#define CM_MAIL_H

#include <glib.h>

#include "cm.h"
#include "config.h"

/* Everything a template may speak of.  Pointers are borrowed. */
typedef struct {
	cm_mail_kind kind;
	const char *lang;           /* "fr" or "en"; NULL: templates.default_lang */
	const char *rcpt;           /* the contact's address */
	const cm_request *req;      /* NULL for a notice */
	const cm_party *party;      /* the recipient's side of the request */
	const cm_party *other;      /* the other contact */
	const char *token;          /* validation only: 26 characters */
	const GArray *services;     /* cm_service, for done mails */
	const char *reason;         /* refused, failed, notice */
	const char *in_reply_to;    /* notice: Message-ID of the mail answered */
	const char *subject_extra;  /* notice: the subject answered */
} cm_mail_ctx;

/* Build the whole RFC 5322 message (CRLF line ends) for outbox item id.
 * *msg is g_malloc'd; *sender gets the envelope sender bounces+ID@domain.
 * CM_ERR_USAGE when a template is missing or broken. */
cm_status mail_compose(const cm_config *cfg, const cm_mail_ctx *ctx, int64_t id, int64_t now, char **msg,
		       size_t *len, char sender[CM_EMAIL_MAX + 1], cm_err *err);

/* Compose every kind of mail in every language with sample values, so that a
 * missing template, a malformed one or an unknown placeholder is found at
 * start (contact-milter -n) rather than by a contact.  err names the first
 * template at fault. */
cm_status mail_check_templates(const cm_config *cfg, cm_err *err);

/* Initialise GMime once per process (thread-safe). */
void mail_init(void);

#endif
