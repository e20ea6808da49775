/* milter.h - what the daemon's files share. */
#ifndef CM_MILTER_H
#define CM_MILTER_H

#include <glib.h>
#include <stdbool.h>
#include <syslog.h>

#include "config.h"
#include "store.h"

/* A pool of store connections, one per message being decided at a time. */
typedef struct milter_pool milter_pool;
milter_pool *pool_new(const cm_config *cfg, int max, GMutex *write_lock);
/* A connection, or NULL (err set) when none can be had within the store's
 * busy timeout. */
cm_store *pool_get(milter_pool *p, cm_err *err);
void pool_put(milter_pool *p, cm_store *st);
void pool_free(milter_pool *p);

/* What the callbacks read; set up by main() before smfi_main and not
 * changed afterwards. */
typedef struct {
	const cm_config *cfg;
	milter_pool *pool;
	bool deliver; /* milter.on_processed = deliver */
} milter_app;

/* The callbacks' table, bound to app. */
struct smfiDesc;
struct smfiDesc *milter_callbacks(const milter_app *app);

/* Log to stderr (foreground) or syslog. */
void mlog_init(bool foreground);
void mlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
