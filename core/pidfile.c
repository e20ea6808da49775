/* pidfile.c - a daemon's locked pid file (contact-milter -P, contact-web -P). */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

cm_status pidfile_lock(const char *path, const char *program, int *fd_out, cm_err *err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	*fd_out = -1;
	if (fd < 0)
		return cm_err_set(err, CM_ERR_IO, "cannot open the pid file %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		cm_status st;
		if (errno == EWOULDBLOCK) {
			char buf[32] = "";
			ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			g_strstrip(buf);
			st = cm_err_set(err, CM_ERR_RULE, "another %s (pid %s) holds the pid file %s: not starting", program,
					buf[0] ? buf : "?", path);
		} else {
			st = cm_err_set(err, CM_ERR_IO, "cannot lock the pid file %s: %s", path, strerror(errno));
		}
		close(fd);
		return st;
	}
	*fd_out = fd;
	return CM_OK;
}

cm_status pidfile_write(int fd, const char *path, cm_err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return cm_err_set(err, CM_ERR_IO, "cannot write the pid file %s: %s", path, strerror(errno));
	return CM_OK;
}
