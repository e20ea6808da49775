/* milter.h - what the daemon's files share. */
#ifndef CM_MILTER_H
#define CM_MILTER_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>
#include <syslog.h>

#include "config.h"
#include "store.h"

/* Which file a path names (device and inode), to notice a store that was
 * removed or replaced under an open connection. */
typedef struct {
	dev_t dev;
	ino_t ino;
} store_file_id;
/* false (id zeroed) when the path does not exist. */
bool store_file_identify(const char *path, store_file_id *id);

/* A pool of store connections, one per message being decided at a time.
 * The path and timeout are copied: a configuration reload does not move
 * the store (it takes a restart). */
typedef struct milter_pool milter_pool;
milter_pool *pool_new(const char *store_path, int64_t busy_timeout_s, int max, cm_write_lock *write_lock);
/* A connection, or NULL (err set) when none can be had within the store's
 * busy timeout.  An idle connection whose file was removed or replaced is
 * closed and a new one opened, so the pool survives the store going away. */
cm_store *pool_get(milter_pool *p, cm_err *err);
void pool_put(milter_pool *p, cm_store *st);
/* Close every connection; none may be out (pool_get without pool_put). */
void pool_free(milter_pool *p);

/* The configuration in force, reference-counted (main.c): SIGHUP swaps in
 * a new one, and what started with the old one keeps it until it ends. */
typedef struct milter_cfgs milter_cfgs;

/* What the callbacks read; set up by main() before smfi_main. */
typedef struct {
	milter_cfgs *cfgs;
	milter_pool *pool;
} milter_app;

/* A milter session (one MTA connection) begins: registered, so that SIGTERM
 * waits for it, and given a held reference to the current configuration.
 * session is the callbacks' per-connection state (kept reachable until it
 * ends: libmilter may drop a connection at shutdown without its close
 * callback). */
const cm_config *app_session_begin(const milter_app *app, void *session);
/* Its end: drops the reference (cfg as returned by begin or refresh). */
void app_session_end(const milter_app *app, void *session, const cm_config *cfg);
/* A new message on the session: drops cfg and returns the current one. */
const cm_config *app_cfg_refresh(const milter_app *app, const cm_config *cfg);
/* Around the work of end-of-message (the only callback that uses the
 * pool): false once shutdown has begun, the message is then answered 451
 * and leave must not be called. */
bool app_eom_enter(const milter_app *app);
void app_eom_leave(const milter_app *app);
/* A held reference to the current configuration, for the workers. */
const cm_config *app_cfg_acquire(const milter_app *app);
void app_cfg_release(const milter_app *app, const cm_config *cfg);

/* The callbacks' table, bound to app. */
struct smfiDesc;
struct smfiDesc *milter_callbacks(const milter_app *app);

/* Log to stderr (foreground) or syslog with facility ("mail", "daemon",
 * "local0"...); false for an unknown facility.  mlog_facility changes the
 * facility of a running daemon (SIGHUP). */
bool mlog_init(bool foreground, const char *facility);
bool mlog_facility(const char *facility);
void mlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
