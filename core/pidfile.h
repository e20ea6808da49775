/*
 * pidfile.h - a daemon's pid file, locked so that a second instance stops
 * before it touches anything the first one uses (its socket above all).
 */
#ifndef CM_PIDFILE_H
#define CM_PIDFILE_H

#include "cm.h"

/* Open and lock path (flock: the lock follows the descriptor into a
 * daemon() child).  *fd gets the descriptor.  CM_ERR_RULE when another
 * program holds it (the message names its pid), CM_ERR_IO otherwise. */
cm_status pidfile_lock(const char *path, const char *program, int *fd, cm_err *err);

/* Write this process's pid into the locked file (after daemon()). */
cm_status pidfile_write(int fd, const char *path, cm_err *err);

#endif
