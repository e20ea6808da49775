/* web.h - what the files of contact-web share: the page behind the
 * validation mail's link (SPEC section 6), over the same core. */
#ifndef CM_WEB_H
#define CM_WEB_H

#include <glib.h>
#include <stdbool.h>
#include <syslog.h>

#include "config.h"
#include "request.h"
#include "store.h"

/* A pool of store connections: a request takes one for the time it runs. */
typedef struct web_pool web_pool;
web_pool *wpool_new(const cm_config *cfg, int max, cm_write_lock *write_lock);
/* A connection, or NULL (err set) when none can be had within the store's
 * busy timeout. */
cm_store *wpool_get(web_pool *p, cm_err *err);
/* Give it back; broken (after an I/O error): close it instead of keeping it. */
void wpool_put(web_pool *p, cm_store *st, bool broken);
void wpool_free(web_pool *p);

/* Template variables: strings, flags (a non-empty string) and lists of
 * child variable sets.  Lookups fall back to the parent. */
typedef struct web_vars web_vars;
web_vars *wvars_new(void);
void wvars_set(web_vars *v, const char *name, const char *val);
void wvars_take(web_vars *v, const char *name, char *val);
void wvars_flag(web_vars *v, const char *name, bool on);
/* A new item appended to list name; owned by v. */
web_vars *wvars_item(web_vars *v, const char *list);
void wvars_free(web_vars *v);

/* Render a template: {name} is the value, HTML-escaped; {#name}...{/name}
 * is kept when name is a non-empty value (once) or a list (once per item);
 * {^name}...{/name} when it is neither.  An unknown {name} in a kept part is
 * an error naming the template.  Returns a g_malloc'd string or NULL. */
char *wrender(const char *tpl, const web_vars *v, const char *tname, cm_err *err);

/* The page templates of one language, read once at start. */
typedef enum { WEB_PAGE_VIEW = 0, WEB_PAGE_ERROR, WEB_PAGE_N } web_page;
typedef struct {
	char *text[2][WEB_PAGE_N]; /* [0] fr, [1] en */
	char *path[2][WEB_PAGE_N];
} web_templates;
/* Read templates.dir/{fr,en}/page.html and page_error.html, and render each
 * with every section on, so a typo is found at start. */
cm_status wtemplates_load(const cm_config *cfg, web_templates *t, cm_err *err);
void wtemplates_free(web_templates *t);
/* 0 for fr, 1 for en (anything else: the default language). */
int wlang_index(const cm_config *cfg, const char *lang);

/* What a token's page shows, read from the store. */
typedef struct {
	cm_request req;
	cm_party party[2];     /* [CM_SIDE_FROM], [CM_SIDE_TO] */
	cm_side side;          /* the token's holder */
	bool superseded;
	cm_account asker, acc[2]; /* nic "" when missing */
	GArray *services;      /* cm_service */
} web_view;
/* Read everything the page of tok shows, in one read transaction.
 * CM_ERR_TOKEN_UNKNOWN for an unknown token. */
cm_status wview_read(cm_core *c, const cm_token *tok, web_view *v, cm_err *err);
void wview_clear(web_view *v);
/* The page's variables in lang (0 fr, 1 en); *status gets the HTTP status
 * (200 live or used, 410 superseded, expired or closed). */
web_vars *wview_vars(const cm_config *cfg, const web_view *v, int lang, int64_t now, const char *nonce,
		     unsigned *status);
/* Variables of a sample page with every section on (template checks). */
web_vars *wview_sample(void);

/* The daemon's shared state, set up by main() and read-only afterwards. */
typedef struct {
	const cm_config *cfg;
	web_pool *pool;
	web_templates tpl;     /* under tpl_lock: SIGHUP reads them again */
	GRWLock tpl_lock;
	unsigned char key[64]; /* the nonce key: cfg->secret, or random bytes */
	size_t key_len;
	char *origin;          /* scheme://host[:port] of web.base_url */
	volatile int stopping; /* SIGTERM received: answers close their connection */
} web_app;

struct MHD_Daemon;
/* Render page kind in lang (0 fr, 1 en) under the templates' read lock. */
char *web_render_page(web_app *app, int lang, web_page kind, const web_vars *v, cm_err *err);
/* Start the daemon on the bound socket fd with threads threads. */
struct MHD_Daemon *web_start(web_app *app, int fd, unsigned threads);
/* The static style sheet, served at /static/page.css. */
extern const char web_css[];

/* Log to stderr (foreground) or syslog. */
void wlog_init(bool foreground, const char *facility);
void wlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
