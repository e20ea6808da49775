/*
 * cm.h - status codes, error reports, limits and the domain types shared by
 * every module of the core.
 *
 * Every public function of the core returns a cm_status and, on failure,
 * fills a caller-owned cm_err with one human-readable line naming what was
 * wrong.  Results come back through out-parameters.
 */
#ifndef CM_H
#define CM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	CM_OK = 0,
	CM_ERR_USAGE,            /* malformed input: exit 1 */
	CM_ERR_RULE,             /* refused by a rule of the workflow: exit 2 */
	CM_ERR_NOTFOUND,         /* no such account, group, request: exit 3 */
	CM_ERR_TOKEN_UNKNOWN,    /* no token with that value: exit 3 */
	CM_ERR_TOKEN_SUPERSEDED, /* a newer e-mail replaced this token: exit 2 */
	CM_ERR_TOKEN_USED,       /* that contact already answered: exit 2 */
	CM_ERR_EXPIRED,          /* the request has expired: exit 2 */
	CM_ERR_CLOSED,           /* the request is no longer pending: exit 2 */
	CM_ERR_BUSY,             /* store locked for too long: exit 4 */
	CM_ERR_IO,               /* disk full, read-only, SMTP down: exit 4 */
	CM_ERR_INTERNAL          /* broken invariant or library failure: exit 4 */
} cm_status;

#define CM_ERR_MAX 512
typedef struct {
	cm_status status;
	char msg[CM_ERR_MAX];
} cm_err;

/* Name of a status ("ok", "rule", ...), never NULL. */
const char *cm_status_str(cm_status st);
/* The contactctl exit code for a status (SPEC section 4). */
int cm_status_exit(cm_status st);
/* Fill err (if not NULL) with st and a formatted message; returns st. */
cm_status cm_err_set(cm_err *err, cm_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Bounds on everything that comes from outside. */
#define CM_NIC_MAX 64     /* account handles and group names */
#define CM_EMAIL_MAX 254  /* RFC 5321 path limit */
#define CM_REASON_MAX 256
#define CM_SERVICE_MAX 128
#define CM_NAME_MAX 128   /* a person's or company's name, UTF-8 bytes */

typedef enum { CM_ROLE_ADMIN = 1, CM_ROLE_TECH = 2, CM_ROLE_BILLING = 4 } cm_role;
#define CM_ROLE_ALL (CM_ROLE_ADMIN | CM_ROLE_TECH | CM_ROLE_BILLING)

typedef enum {
	CM_STATE_PENDING = 0,
	CM_STATE_DONE,
	CM_STATE_REFUSED,
	CM_STATE_EXPIRED,
	CM_STATE_CANCELLED,
	CM_STATE_FAILED
} cm_state;

typedef enum { CM_DECISION_NONE = 0, CM_DECISION_ACCEPTED, CM_DECISION_REFUSED } cm_decision;
typedef enum { CM_SIDE_FROM = 0, CM_SIDE_TO = 1 } cm_side;
typedef enum { CM_VIA_NONE = 0, CM_VIA_EMAIL, CM_VIA_CLI, CM_VIA_WEB } cm_via;

typedef struct {
	char nic[CM_NIC_MAX + 1];
	char email[CM_EMAIL_MAX + 1];
	char name[CM_NAME_MAX + 1]; /* "" = unknown: mails greet the NIC */
	char lang[3];
	bool voip_validated;
	bool payments_ok;
	bool bouncing;
} cm_account;

typedef struct {
	char name[CM_NIC_MAX + 1];
	char admin[CM_NIC_MAX + 1];
	char tech[CM_NIC_MAX + 1];
	char billing[CM_NIC_MAX + 1];
} cm_group;

typedef struct {
	char group[CM_NIC_MAX + 1];
	char name[CM_SERVICE_MAX + 1];
	char kind[8];
} cm_service;

typedef struct {
	int64_t id;
	char group[CM_NIC_MAX + 1];
	unsigned roles;
	char from_nic[CM_NIC_MAX + 1];
	char to_nic[CM_NIC_MAX + 1];
	char asked_by[CM_NIC_MAX + 1];
	cm_state state;
	int64_t created_at, expires_at, done_at; /* unix seconds; done_at 0 = not yet */
	char reason[CM_REASON_MAX + 1];
	bool reported;     /* a contact said "this wasn't me" (rule 11) */
} cm_request;

typedef struct {
	int64_t request_id;
	cm_side side;
	char nic[CM_NIC_MAX + 1];
	char email[CM_EMAIL_MAX + 1];
	cm_decision decision;
	int64_t decided_at;
	cm_via via;
	bool bouncing;
	int token_serial;  /* serial of the party's current token (token_derive) */
	int64_t last_sent_at; /* when its latest validation mail was queued (resend_interval) */
	int64_t reminded_at;  /* 0: no reminder yet */
	/* The account's, read with the party (""  when it has none): what its
	 * mails are worded in and greet it by. */
	char name[CM_NAME_MAX + 1];
	char lang[3];
} cm_party;

typedef enum {
	CM_MAIL_VALIDATION = 0,
	CM_MAIL_WAITING,
	CM_MAIL_DONE,
	CM_MAIL_REFUSED,
	CM_MAIL_EXPIRED,
	CM_MAIL_CANCELLED,
	CM_MAIL_FAILED,
	CM_MAIL_NOTICE,  /* a reason mailed back to the contact (milter) */
	CM_MAIL_REMINDER, /* the validation mail again, same token (rule 9) */
	CM_MAIL_BOUNCED, /* to the asker: a contact's address bounced (rule 12) */
	CM_MAIL_REPORT,  /* to policy.security_address: "this wasn't me" (rule 11) */
	CM_MAIL_EVENT    /* not a mail: an event POSTed to events.url (SPEC section 7) */
} cm_mail_kind;
#define CM_MAIL_LAST_MAIL CM_MAIL_REPORT /* the last kind that is a mail, with templates */

typedef enum {
	CM_OUT_QUEUED = 0,
	CM_OUT_SENDING,
	CM_OUT_SENT,
	CM_OUT_FAILED,
	CM_OUT_BOUNCED,
	CM_OUT_WITHDRAWN /* never sent: its token was superseded or its request closed */
} cm_out_state;

typedef struct {
	int64_t id;
	int64_t request_id; /* 0: none */
	cm_mail_kind kind;
	char nic[CM_NIC_MAX + 1];
	char rcpt[CM_EMAIL_MAX + 1];
	char sender[CM_EMAIL_MAX + 1];
	cm_out_state state;
	int attempts;
	int64_t next_attempt_at, created_at, sent_at;
	char last_error[CM_REASON_MAX + 1];
	int token_side;    /* whose token replaces the placeholder: CM_SIDE_*, or -1 for none */
	int token_serial;
	bool recipe;       /* not composed yet: its stored text is the mail's recipe (mail.h) */
} cm_outbox_item;

/* cm_outbox_item.id given to outbox_insert by a caller that needs no id
 * back (store.h). */
#define CM_OUTBOX_NO_ID (-1)

typedef struct {
	int64_t id;
	int64_t at;
	int64_t request_id;
	char actor[CM_NIC_MAX + 1];
	char action[32];
	char detail[CM_REASON_MAX + 1];
} cm_audit;

/* Names used in the store, the CLI and JSON; parse functions return -1 if unknown. */
const char *cm_state_str(cm_state s);
int cm_state_parse(const char *s);
const char *cm_decision_str(cm_decision d); /* NULL for none */
const char *cm_via_str(cm_via v);           /* NULL for none */
const char *cm_side_str(cm_side s);
const char *cm_mail_kind_str(cm_mail_kind k);
int cm_mail_kind_parse(const char *s);
const char *cm_out_state_str(cm_out_state s);
int cm_out_state_parse(const char *s);
const char *cm_role_str(cm_role r);
/* Roles as "admin,tech" into buf (bounded); returns buf. */
char *cm_roles_format(unsigned roles, char *buf, size_t len);

/* Validation of outside strings.  NIC and group names are lowercased in place
 * by the normalisers and must be 2..64 characters of [a-z0-9-], starting with
 * a letter or digit and not ending with '-'. */
bool cm_nic_normalise(char *nic);
/* A plain addr-spec: one '@', non-empty local part, dotted domain, no space,
 * control characters, quotes or angle brackets; at most 254 bytes. */
bool cm_email_valid(const char *email);
/* Copy src into dst of size n; false (and dst emptied) when it does not fit. */
bool cm_strlcpy(char *dst, const char *src, size_t n);

/* Time. */
int64_t cm_now(void);
/* RFC 3339 UTC ("2026-11-26T03:31:00Z") into buf of at least 21 bytes. */
char *cm_time_format(int64_t t, char *buf, size_t len);
/* The time zone named id ("Europe/Paris"), read once per process; NULL
 * when GLib does not know it.  g_time_zone_unref() the result. */
typedef struct _GTimeZone GTimeZone;
GTimeZone *cm_timezone(const char *id);

/* "14d", "2h", "30m", "45s" or plain seconds; false if malformed or <= 0. */
bool cm_duration_parse(const char *s, int64_t *out);

#endif
