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

void store_close(cm_store *st)
{
	if (st)
		st->ops->close(st);
}
