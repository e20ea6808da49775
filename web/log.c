/* log.c - one line per event, to stderr with -f, else to syslog. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "web.h"

static bool to_stderr; /* set once by main() before any thread starts */

static int facility_of(const char *name)
{
	static const struct { const char *n; int f; } t[] = {
		{"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER}, {"local0", LOG_LOCAL0},
		{"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4},
		{"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
	};
	for (size_t i = 0; name && i < G_N_ELEMENTS(t); i++)
		if (strcmp(name, t[i].n) == 0)
			return t[i].f;
	return LOG_MAIL;
}

void wlog_init(bool foreground, const char *facility)
{
	to_stderr = foreground;
	if (!foreground)
		openlog("contact-web", LOG_PID | LOG_NDELAY, facility_of(facility));
}

void wlog(int prio, const char *fmt, ...)
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
		fprintf(stderr, "%s contact-web[%s]: %s\n", ts, names[prio & 7], line);
	} else {
		vsyslog(prio, fmt, ap);
	}
	va_end(ap);
}
