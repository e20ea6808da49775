/* audit.c - the append-only trail of everything that changed. */
#include "internal.h"

#include <stdarg.h>
#include <string.h>

cm_status core_audit(cm_core *c, int64_t now, int64_t req, const char *actor, const char *action, cm_err *err,
		     const char *fmt, ...)
{
	cm_audit a = {.at = now, .request_id = req};
	va_list ap;
	va_start(ap, fmt);
	char *detail = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (strlen(detail) > CM_REASON_MAX) {
		const char *end = detail + CM_REASON_MAX;
		while (end > detail && (*end & 0xC0) == 0x80)
			end--;
		detail[end - detail] = '\0';
	}
	/* The detail was cut above; the actor is a NIC or a word of ours, the
	 * action one of ours: a copy that does not fit is a broken invariant. */
	bool fits = cm_strlcpy(a.actor, actor, sizeof a.actor) && cm_strlcpy(a.action, action, sizeof a.action) &&
		    cm_strlcpy(a.detail, detail, sizeof a.detail);
	g_free(detail);
	if (!fits)
		return cm_err_set(err, CM_ERR_INTERNAL, "audit entry '%s' by '%s' too long", action, actor);
	return c->st->ops->audit_append(c->st, &a, err);
}
