/*
 * mail.h - composing the e-mails of the workflow from the templates in
 * templates.dir/LANG/KIND.txt (first line "Subject: ...", a blank line, the
 * text body) and KIND.html (the HTML body).  Placeholders are {name}; an
 * unknown one is an error naming the template, so an operator's typo never
 * reaches a contact.  The values are worded in the mail's language: roles
 * with singular or plural forms, dates in words in templates.timezone,
 * service kinds and reasons translated, the recipient spoken to as "you".
 * The text part is wrapped at 72 columns; both parts go out 8bit with no
 * line over 998 bytes, so the token placeholder stays literal.
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
	const GArray *services;     /* cm_service: every service of the group (all request mails) */
	const char *reason;         /* a reason code (mail_reason_text): refused, cancelled, expired, failed, notice */
	const char *in_reply_to;    /* notice: Message-ID of the mail answered */
	/* Account names (cm_account.name) for greetings; NULL or "" = unknown,
	 * the NIC is used instead. */
	const char *name;           /* the recipient's (party's) account */
	const char *other_name;     /* the other contact's account */
	const char *asker_name;     /* req->asked_by's account */
} cm_mail_ctx;

/* Build the whole RFC 5322 message (CRLF line ends) for outbox item id,
 * queued at now (its Date).  The same ctx, id and now give the same bytes
 * (Message-ID and MIME boundary are keyed hashes of id and now), so a mail
 * shown before it is sent is the mail sent.  *msg is g_malloc'd; *sender gets the envelope sender bounces+ID@domain.
 * CM_ERR_USAGE when a template is missing or broken. */
cm_status mail_compose(const cm_config *cfg, const cm_mail_ctx *ctx, int64_t id, int64_t now, char **msg,
		       size_t *len, char sender[CM_EMAIL_MAX + 1], cm_err *err);

/* Compose every kind of mail in every language with sample values, so that a
 * missing template, a malformed one or an unknown placeholder is found at
 * start (contact-milter -n) rather than by a contact.  err names the first
 * template at fault. */
cm_status mail_check_templates(const cm_config *cfg, cm_err *err);

/* Whether a composed message's text (not only its Reply-To) shows the
 * validation code's placeholder. */
bool mail_shows_code(const char *msg);

/* The words of a reason code stored on a request or given to a notice
 * ("refused_by:NIC", "cancelled_by:NIC", "expired", "billing_no_longer_met",
 * "not_holder:ROLE", "no_intent", "unknown_token", ...) as one or two
 * sentences in lang ("fr" or "en"; anything else reads as "fr").  An
 * unknown or empty code gives a generic sentence in that language, never
 * the code itself.  g_malloc'd, never NULL. */
char *mail_reason_text(const char *code, const char *lang);

/* Read every template of dir (each kind, each language, text and HTML)
 * once, for cm_config.templates: composing then reads no file.  err names
 * the first template missing or unreadable. */
cm_status mail_templates_load(const char *dir, cm_templates **out, cm_err *err);
void mail_templates_free(cm_templates *t);

/* A queued mail's recipe (mail_recipe.c): everything mail_compose() needs
 * of ctx, as text (a GKeyFile), written in the transaction that queues the
 * mail; the mail is composed from it when it is sent or shown, outside any
 * store lock.  The token is never in it: only whether the mail shows one.
 * mail_recipe_write's result is g_malloc'd. */
typedef struct mail_recipe mail_recipe;
char *mail_recipe_write(const cm_mail_ctx *ctx);
/* CM_ERR_INTERNAL naming what is wrong when text is not a recipe. */
cm_status mail_recipe_read(const char *text, mail_recipe **out, cm_err *err);
/* The context to compose from; valid until mail_recipe_free. */
const cm_mail_ctx *mail_recipe_ctx(const mail_recipe *r);
void mail_recipe_free(mail_recipe *r);

/* Initialise GMime once per process (thread-safe). */
void mail_init(void);

#endif
