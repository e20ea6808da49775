/* store_sqlite.h - what the SQLite backend's files share; not installed.
 * store_sqlite_schema.c holds the schema and its migrations,
 * store_sqlite.c the operations. */
#ifndef CM_STORE_SQLITE_H
#define CM_STORE_SQLITE_H

#include <sqlite3.h>

#include "store.h"

/* The cm_status for an SQLite result code. */
cm_status store_sqlite_status(int rc);
/* PRAGMA user_version, or -1 when it cannot be read. */
int store_sqlite_version(sqlite3 *db);
/* Bring the schema of db (named path in messages) up to version target,
 * each step once, under the write lock, whichever process comes first. */
cm_status store_sqlite_migrate(sqlite3 *db, const char *path, int target, cm_err *err);

#endif
