/* store.c - choosing a backend by the store's URI. */
#include "store.h"

#include <string.h>

cm_status store_open(const char *uri, const cm_store_opts *opts, cm_store **out, cm_err *err)
{
	*out = NULL;
	if (!uri || !*uri)
		return cm_err_set(err, CM_ERR_USAGE, "no store path configured ([store] path)");
	if (strncmp(uri, "postgresql://", 13) == 0 || strncmp(uri, "postgres://", 11) == 0)
		return store_pg_open(uri, opts, out, err);
	return store_sqlite_open(uri, opts, out, err);
}

void cm_write_lock_init(cm_write_lock *l)
{
	g_mutex_init(&l->m);
	g_cond_init(&l->c);
	g_cond_init(&l->bg_c);
	g_cond_init(&l->sync_c);
	l->held = false;
	l->waiting = 0;
	l->committed = l->synced = 0;
	l->syncing = false;
}

void cm_write_lock_clear(cm_write_lock *l)
{
	g_cond_clear(&l->c);
	g_cond_clear(&l->bg_c);
	g_cond_clear(&l->sync_c);
	g_mutex_clear(&l->m);
}

bool cm_write_lock_take(cm_write_lock *l, bool background, gint64 deadline)
{
	bool ok = true;
	g_mutex_lock(&l->m);
	if (!background)
		l->waiting++;
	/* Woken one at a time (no herd at each hand-over); a waiter whose time
	 * runs out as the lock comes free takes it, so no wake-up is lost. */
	while (l->held || (background && l->waiting > 0))
		if (!g_cond_wait_until(background ? &l->bg_c : &l->c, &l->m, deadline)) {
			ok = !l->held && !(background && l->waiting > 0);
			break;
		}
	if (!background)
		l->waiting--;
	if (ok)
		l->held = true;
	g_mutex_unlock(&l->m);
	return ok;
}

void cm_write_lock_give(cm_write_lock *l, guint64 *seq)
{
	g_mutex_lock(&l->m);
	if (seq)
		*seq = ++l->committed;
	l->held = false;
	/* The next reply first; background writers only when none waits. */
	if (l->waiting > 0)
		g_cond_signal(&l->c);
	else
		g_cond_broadcast(&l->bg_c);
	g_mutex_unlock(&l->m);
}

cm_status cm_write_lock_sync(cm_write_lock *l, guint64 seq, cm_status (*sync)(void *ud, cm_err *err), void *ud,
			     cm_err *err)
{
	cm_status rs = CM_OK;
	g_mutex_lock(&l->m);
	while (l->synced < seq && rs == CM_OK) {
		if (l->syncing) {
			g_cond_wait(&l->sync_c, &l->m);
			continue;
		}
		/* Lead: one sync for every commit counted so far. */
		guint64 target = l->committed;
		l->syncing = true;
		g_mutex_unlock(&l->m);
		rs = sync(ud, err);
		g_mutex_lock(&l->m);
		l->syncing = false;
		if (rs == CM_OK && target > l->synced)
			l->synced = target;
		g_cond_broadcast(&l->sync_c);
	}
	g_mutex_unlock(&l->m);
	return rs;
}

void store_close(cm_store *st)
{
	if (st)
		st->ops->close(st);
}
