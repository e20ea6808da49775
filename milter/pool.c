/* pool.c - store connections shared by the milter's threads: SQLite
 * connections are not shared between threads at once, so each message takes
 * one for the time of its decision. */
#include <sys/stat.h>

#include "milter.h"

struct milter_pool {
	char *path;
	int64_t busy_timeout; /* seconds */
	GAsyncQueue *idle;
	GMutex lock;
	GHashTable *files; /* cm_store * -> store_file_id * of the file it opened */
	cm_write_lock *write_lock;
	int open, max;
};

bool store_file_identify(const char *path, store_file_id *id)
{
	struct stat sb;
	if (stat(path, &sb) != 0) {
		id->dev = 0;
		id->ino = 0;
		return false;
	}
	id->dev = sb.st_dev;
	id->ino = sb.st_ino;
	return true;
}

milter_pool *pool_new(const char *store_path, int64_t busy_timeout_s, int max, cm_write_lock *write_lock)
{
	milter_pool *p = g_new0(milter_pool, 1);
	p->path = g_strdup(store_path);
	p->busy_timeout = busy_timeout_s;
	p->write_lock = write_lock;
	p->idle = g_async_queue_new();
	p->files = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	p->max = max > 0 ? max : 1;
	g_mutex_init(&p->lock);
	return p;
}

/* Close a connection that is out of the pool and free its slot. */
static void drop(milter_pool *p, cm_store *st)
{
	g_mutex_lock(&p->lock);
	g_hash_table_remove(p->files, st);
	p->open--;
	g_mutex_unlock(&p->lock);
	store_close(st);
}

/* Whether an idle connection still reads the file at the store's path,
 * and still can read it at all. */
static bool still_there(milter_pool *p, cm_store *st)
{
	store_file_id now;
	g_mutex_lock(&p->lock);
	const store_file_id *then = g_hash_table_lookup(p->files, st);
	bool same = then && store_file_identify(p->path, &now) && now.dev == then->dev && now.ino == then->ino;
	g_mutex_unlock(&p->lock);
	return same && st->ops->schema_version(st) >= 0;
}

static cm_store *open_one(milter_pool *p, cm_err *err)
{
	cm_store *st = NULL;
	cm_store_opts o = {.busy_timeout = p->busy_timeout * 1000, .write_lock = p->write_lock};
	store_file_id *id = g_new0(store_file_id, 1);
	if (store_open(p->path, &o, &st, err) != CM_OK) {
		g_free(id);
		g_mutex_lock(&p->lock);
		p->open--;
		g_mutex_unlock(&p->lock);
		return NULL;
	}
	store_file_identify(p->path, id);
	g_mutex_lock(&p->lock);
	g_hash_table_insert(p->files, st, id);
	g_mutex_unlock(&p->lock);
	return st;
}

cm_store *pool_get(milter_pool *p, cm_err *err)
{
	cm_store *st;
	while ((st = g_async_queue_try_pop(p->idle))) {
		if (still_there(p, st))
			return st;
		mlog(LOG_WARNING, "store %s was removed, replaced or cannot be read: reopening it", p->path);
		drop(p, st);
	}
	g_mutex_lock(&p->lock);
	bool may_open = p->open < p->max;
	if (may_open)
		p->open++;
	g_mutex_unlock(&p->lock);
	if (may_open)
		return open_one(p, err);
	st = g_async_queue_timeout_pop(p->idle, (guint64)p->busy_timeout * G_USEC_PER_SEC);
	if (st && !still_there(p, st)) {
		drop(p, st);
		g_mutex_lock(&p->lock);
		p->open++;
		g_mutex_unlock(&p->lock);
		return open_one(p, err);
	}
	if (!st)
		cm_err_set(err, CM_ERR_BUSY, "no store connection free within %llds", (long long)p->busy_timeout);
	return st;
}

void pool_put(milter_pool *p, cm_store *st)
{
	if (st)
		g_async_queue_push(p->idle, st);
}

void pool_free(milter_pool *p)
{
	cm_store *st;
	if (!p)
		return;
	while ((st = g_async_queue_try_pop(p->idle)))
		store_close(st);
	g_async_queue_unref(p->idle);
	g_hash_table_destroy(p->files);
	g_mutex_clear(&p->lock);
	g_free(p->path);
	g_free(p);
}
