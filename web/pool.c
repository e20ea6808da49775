/* pool.c - store connections shared by the daemon's threads: a SQLite
 * connection is used by one thread at a time, so each request takes one for
 * the time it runs and gives it back. */
#include "web.h"

struct web_pool {
	const cm_config *cfg;
	GAsyncQueue *idle;
	GMutex lock;
	cm_write_lock *write_lock;
	int open, max;
};

web_pool *wpool_new(const cm_config *cfg, int max, cm_write_lock *write_lock)
{
	web_pool *p = g_new0(web_pool, 1);
	p->cfg = cfg;
	p->write_lock = write_lock;
	p->idle = g_async_queue_new();
	p->max = max > 0 ? max : 1;
	g_mutex_init(&p->lock);
	return p;
}

cm_store *wpool_get(web_pool *p, cm_err *err)
{
	cm_store *st = g_async_queue_try_pop(p->idle);
	if (st)
		return st;
	g_mutex_lock(&p->lock);
	bool may_open = p->open < p->max;
	if (may_open)
		p->open++;
	g_mutex_unlock(&p->lock);
	if (may_open) {
		cm_store_opts o = {.busy_timeout = p->cfg->store_busy_timeout * 1000, .write_lock = p->write_lock};
		if (store_open(p->cfg->store_path, &o, &st, err) == CM_OK)
			return st;
		g_mutex_lock(&p->lock);
		p->open--;
		g_mutex_unlock(&p->lock);
		return NULL;
	}
	st = g_async_queue_timeout_pop(p->idle, (guint64)p->cfg->store_busy_timeout * G_USEC_PER_SEC);
	if (!st)
		cm_err_set(err, CM_ERR_BUSY, "no store connection free within %llds",
			   (long long)p->cfg->store_busy_timeout);
	return st;
}

void wpool_put(web_pool *p, cm_store *st, bool broken)
{
	if (!st)
		return;
	if (!broken) {
		g_async_queue_push(p->idle, st);
		return;
	}
	store_close(st);
	g_mutex_lock(&p->lock);
	p->open--;
	g_mutex_unlock(&p->lock);
}

void wpool_free(web_pool *p)
{
	cm_store *st;
	if (!p)
		return;
	while ((st = g_async_queue_try_pop(p->idle)))
		store_close(st);
	g_async_queue_unref(p->idle);
	g_mutex_clear(&p->lock);
	g_free(p);
}
