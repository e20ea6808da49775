/* log.c - one line per event, to stderr with -f, else to syslog. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "milter.h"

static bool to_stderr; /* set once by main() before any thread starts */

void mlog_init(bool foreground)
{
	to_stderr = foreground;
	if (!foreground)
		openlog("contact-milter", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void mlog(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (to_stderr) {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		static const char *const names[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
		char line[2048];
		vsnprintf(line, sizeof line, fmt, ap);
		fprintf(stderr, "%s contact-milter[%s]: %s\n", ts, names[prio & 7], line);
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}
