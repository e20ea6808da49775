/*
 * request.h - the rules and the state machine of SPEC section 2, over a
 * store and a config.  Every state change is one transaction that also
 * queues the mails it causes and appends to the audit trail; a failure
 * leaves the store as it was.
 */
#ifndef CM_REQUEST_H
#define CM_REQUEST_H

#include "config.h"
#include "store.h"

typedef struct {
	cm_store *st;
	const cm_config *cfg;
} cm_core;

/* Accounts, groups, services (the directory).  Strings are validated here:
 * NICs and group names are normalised, e-mails checked. */
cm_status core_account_add(cm_core *c, cm_account *a, int64_t now, cm_err *err);
/* NULL / -1 leave a field as it is; a new e-mail clears the bouncing mark. */
cm_status core_account_set(cm_core *c, const char *nic, const char *email, const char *name, const char *lang,
			   int voip, int payments,
			   cm_err *err);
cm_status core_group_add(cm_core *c, cm_group *g, int64_t now, cm_err *err);
cm_status core_service_add(cm_core *c, const char *group, const char *service, const char *kind, cm_err *err);

/* Create the requests for one call of "request create": new_* are NULL
 * when that role does not move.  ids gets one int64_t per request, in
 * the order admin, tech, billing of their first role. */
cm_status core_request_create(cm_core *c, const char *group, const char *by, const char *new_admin,
			      const char *new_tech, const char *new_billing, int64_t now, GArray *ids, cm_err *err);

typedef struct {
	int64_t request_id;
	cm_side side;
	char nic[CM_NIC_MAX + 1];
	cm_decision decision;
	cm_state state;  /* the request's state after the decision */
	bool duplicate;  /* the same message was recorded before; nothing changed */
} cm_decision_result;

/* Record a contact's answer given with its token.  id: the request the
 * caller expects (0: whichever the token names).  message_id (optional)
 * makes the call idempotent for that message.  Distinct statuses tell an
 * unknown, superseded or used token and an expired or closed request. */
cm_status core_decide(cm_core *c, int64_t id, const cm_token *tok, cm_decision d, cm_via via,
		      const char *message_id, int64_t now, cm_decision_result *res, cm_err *err);

/* "This wasn't me" (rule 11): refuse with the token and flag the request
 * reported; the operator is mailed at policy.security_address (when set)
 * and sent the event request.reported. */
cm_status core_report(cm_core *c, int64_t id, const cm_token *tok, cm_via via, const char *message_id, int64_t now,
		      cm_decision_result *res, cm_err *err);

/* The request and the contact a token was mailed to, without using it.
 * The token statuses of core_decide are returned for an unknown token. */
cm_status core_token_owner(cm_core *c, const cm_token *tok, cm_request *req, cm_party *party, cm_err *err);

/* A delivery failure report for outbox item id: mark it bounced and, when
 * it went to the account's current address, the account as bouncing; for
 * a validation or reminder mail of a pending request, tell the admin who
 * asked (rule 12). */
cm_status core_mark_bounced(cm_core *c, int64_t outbox_id, const char *detail, int64_t now, cm_err *err);

/* Send the validation mail again (rule 8), with a fresh token, to the
 * contacts that have not answered (nic: only that one), each at the
 * account's current address; their older tokens answer "superseded" and
 * their mails still queued are withdrawn.  by: the group's admin or the
 * contact concerned (NULL: the operator), recorded in the audit.  At most
 * once per policy.resend_interval per contact: sooner is CM_ERR_RULE
 * naming the time it becomes possible.  *sent gets how many. */
cm_status core_request_resend(cm_core *c, int64_t id, const char *by, const char *nic, int64_t now, int *sent,
			      cm_err *err);

/* Cancel an open request; by must be the group's admin or the requester. */
cm_status core_request_cancel(cm_core *c, int64_t id, const char *by, int64_t now, cm_err *err);

/* Expire every pending request past its time, one transaction each. */
cm_status core_expire_due(cm_core *c, int64_t now, int *expired, cm_err *err);

/* Remind, once, each contact who has not answered a pending request
 * created policy.remind_after ago (rule 9), with the token of their latest
 * validation mail.  One transaction each; safe to run from several
 * processes at once. */
cm_status core_remind_due(cm_core *c, int64_t now, int *reminded, cm_err *err);

/* Both sweeps: expiry, then reminders. */
cm_status core_sweep(cm_core *c, int64_t now, int *expired, int *reminded, cm_err *err);

#endif
