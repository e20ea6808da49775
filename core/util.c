/* util.c - status names, enum names, validation of outside strings, time. */
#include "cm.h"

#include <ctype.h>
#include <glib.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

const char *cm_status_str(cm_status st)
{
	static const char *const names[] = {
		"ok", "usage", "rule", "not found", "unknown token", "superseded token",
		"used token", "expired", "closed", "busy", "io", "internal",
	};
	if ((unsigned)st < sizeof(names) / sizeof(names[0]))
		return names[st];
	return "internal";
}

int cm_status_exit(cm_status st)
{
	switch (st) {
	case CM_OK: return 0;
	case CM_ERR_USAGE: return 1;
	case CM_ERR_RULE:
	case CM_ERR_TOKEN_SUPERSEDED:
	case CM_ERR_TOKEN_USED:
	case CM_ERR_EXPIRED:
	case CM_ERR_CLOSED: return 2;
	case CM_ERR_NOTFOUND:
	case CM_ERR_TOKEN_UNKNOWN: return 3;
	case CM_ERR_BUSY:
	case CM_ERR_IO:
	case CM_ERR_INTERNAL: return 4;
	}
	return 4;
}

cm_status cm_err_set(cm_err *err, cm_status st, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
		err->status = st;
	}
	return st;
}

static int name_parse(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

#define NAMES(arr) arr, sizeof(arr) / sizeof(arr[0])
static const char *const state_names[] = {"pending", "done", "refused", "expired", "cancelled", "failed"};
static const char *const kind_names[] = {"validation", "waiting", "done",    "refused", "expired", "cancelled",
					 "failed",     "notice",  "reminder", "bounced", "report",  "event"};
static const char *const out_names[] = {"queued", "sending", "sent", "failed", "bounced", "withdrawn"};

const char *cm_state_str(cm_state s) { return (unsigned)s < 6 ? state_names[s] : "?"; }
int cm_state_parse(const char *s) { return name_parse(NAMES(state_names), s); }
const char *cm_mail_kind_str(cm_mail_kind k) { return (unsigned)k < G_N_ELEMENTS(kind_names) ? kind_names[k] : "?"; }
int cm_mail_kind_parse(const char *s) { return name_parse(NAMES(kind_names), s); }
const char *cm_out_state_str(cm_out_state s) { return (unsigned)s < G_N_ELEMENTS(out_names) ? out_names[s] : "?"; }
int cm_out_state_parse(const char *s) { return name_parse(NAMES(out_names), s); }

const char *cm_decision_str(cm_decision d)
{
	return d == CM_DECISION_ACCEPTED ? "accepted" : d == CM_DECISION_REFUSED ? "refused" : NULL;
}

const char *cm_via_str(cm_via v)
{
	return v == CM_VIA_EMAIL ? "email" : v == CM_VIA_CLI ? "cli" : v == CM_VIA_WEB ? "web" : NULL;
}

const char *cm_side_str(cm_side s) { return s == CM_SIDE_FROM ? "from" : "to"; }

const char *cm_role_str(cm_role r)
{
	return r == CM_ROLE_ADMIN ? "admin" : r == CM_ROLE_TECH ? "tech" : r == CM_ROLE_BILLING ? "billing" : "?";
}

char *cm_roles_format(unsigned roles, char *buf, size_t len)
{
	static const cm_role order[] = {CM_ROLE_ADMIN, CM_ROLE_TECH, CM_ROLE_BILLING};
	size_t used = 0;
	if (len == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < 3; i++) {
		if (!(roles & order[i]))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", cm_role_str(order[i]));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	return buf;
}

bool cm_nic_normalise(char *nic)
{
	size_t n = strlen(nic);
	if (n < 2 || n > CM_NIC_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)nic[i];
		if (c >= 'A' && c <= 'Z')
			nic[i] = (char)(c - 'A' + 'a');
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return nic[0] != '-' && nic[n - 1] != '-';
}

bool cm_email_valid(const char *email)
{
	size_t n = strlen(email);
	const char *at = strchr(email, '@');
	if (n < 3 || n > CM_EMAIL_MAX || !at || at == email || strchr(at + 1, '@'))
		return false;
	for (const unsigned char *p = (const unsigned char *)email; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("<>()[]\\,;:\"", *p))
			return false;
	/* An RFC 2047 encoded word is no address, whatever a decoder makes of it. */
	if (strstr(email, "=?") || at - email > 64)
		return false;
	/* The domain: RFC 5321 labels of letters, digits and inner hyphens,
	 * at least two of them, none longer than 63. */
	const char *dom = at + 1;
	int labels = 0;
	for (const char *l = dom;; labels++) {
		const char *end = strchr(l, '.');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		if (len == 0 || len > 63 || l[0] == '-' || l[len - 1] == '-')
			return false;
		for (size_t i = 0; i < len; i++)
			if (!isalnum((unsigned char)l[i]) && l[i] != '-')
				return false;
		if (!end)
			break;
		l = end + 1;
	}
	return labels >= 1;
}

bool cm_strlcpy(char *dst, const char *src, size_t n)
{
	size_t len = strlen(src);
	if (len >= n) {
		if (n)
			dst[0] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

int64_t cm_now(void)
{
	return (int64_t)time(NULL);
}

char *cm_time_format(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		if (len)
			buf[0] = '\0';
	}
	return buf;
}

bool cm_duration_parse(const char *s, int64_t *out)
{
	int64_t v = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return false;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > INT64_MAX / 10 - 10)
			return false;
		v = v * 10 + (*p - '0');
	}
	int64_t mult = 1;
	switch (*p) {
	case '\0': break;
	case 's': mult = 1; p++; break;
	case 'm': mult = 60; p++; break;
	case 'h': mult = 3600; p++; break;
	case 'd': mult = 86400; p++; break;
	default: return false;
	}
	if (*p != '\0' || v <= 0 || v > INT64_MAX / mult)
		return false;
	*out = v * mult;
	return true;
}

GTimeZone *cm_timezone(const char *id)
{
	/* GLib reads and parses the zone file for every new GTimeZone: that
	 * was three quarters of a decision's time.  Zones are immutable and
	 * reference-counted, so one per identifier serves every thread. */
	static GMutex lock;
	static GHashTable *zones; /* id -> GTimeZone, or NULL for an unknown id */
	GTimeZone *tz = NULL;
	g_mutex_lock(&lock);
	if (!zones)
		zones = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	gpointer found;
	if (g_hash_table_lookup_extended(zones, id, NULL, &found)) {
		tz = found;
	} else {
		tz = g_time_zone_new_identifier(id);
		g_hash_table_insert(zones, g_strdup(id), tz);
	}
	if (tz)
		g_time_zone_ref(tz);
	g_mutex_unlock(&lock);
	return tz;
}
