/* internal.h - helpers shared by the core's rule modules; not installed. */
#ifndef CM_INTERNAL_H
#define CM_INTERNAL_H

#include "request.h"

/* Run body (a cm_status expression) inside one transaction of c's store and
 * return its status: committed when it and the commit succeed, rolled back
 * otherwise.  Needs a cm_err *err in scope. */
#define CORE_TX(c, immediate, body)                                              \
	do {                                                                     \
		cm_status tx_st_ = (c)->st->ops->begin((c)->st, (immediate), err); \
		if (tx_st_)                                                      \
			return tx_st_;                                           \
		tx_st_ = (body);                                                 \
		if (tx_st_ == CM_OK)                                             \
			tx_st_ = (c)->st->ops->commit((c)->st, err);             \
		if (tx_st_ != CM_OK)                                             \
			(c)->st->ops->rollback((c)->st);                         \
		return tx_st_;                                                   \
	} while (0)

/* Append to the audit trail (inside the caller's transaction); the detail
 * is formatted and cut to CM_REASON_MAX bytes on a character boundary. */
cm_status core_audit(cm_core *c, int64_t now, int64_t req, const char *actor, const char *action, cm_err *err,
		     const char *fmt, ...) __attribute__((format(printf, 7, 8)));

#endif
