/* config.c - the declarative key table and the INI reader (GLib key files). */
#include "config.h"
#include "mail.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
	K_STRING,
	K_DURATION,  /* 30s, 15m, 2h, 14d: at least 1 s, at most max */
	K_OPTDURATION, /* empty, 0, or a duration */
	K_COUNT,     /* 0..max */
	K_ADDRESS,
	K_OPTADDRESS, /* empty or an address */
	K_FROM,
	K_LANG,
	K_ONPROC,
	K_YESNO,     /* yes or no, into a bool */
	K_TLS,
	K_SMTPURL,   /* smtp:// or smtps:// */
	K_HTTPURL,   /* http:// or https:// */
	K_OPTHTTPURL, /* empty or http(s):// */
	K_PAGEURL,   /* http(s):// with {id}, {token}, {base_url} only */
	K_SOCKET,    /* unix:/abs, local:/abs, inet:PORT@HOST, inet6:PORT@HOST */
	K_LISTEN,    /* HOST:PORT */
	K_STORE,     /* an absolute file path or a postgresql:// URI */
	K_PATH,      /* an absolute path */
	K_OPTPATH,   /* empty or an absolute path */
	K_MODE,      /* octal permission bits, never writable by others */
	K_FACILITY,  /* a syslog facility name */
} key_type;

typedef struct {
	const char *group, *key;
	key_type type;
	const char *def;
	size_t offset;
	int64_t max; /* K_DURATION, K_COUNT: the largest value (0: no bound beyond int64) */
} key_def;

#define S(f) offsetof(cm_config, f)
#define DAYS(n) ((int64_t)(n) * 86400)
static const key_def keys[] = {
	{"milter", "socket", K_SOCKET, "unix:/run/contact-milter/milter.sock", S(milter_socket), 0},
	{"milter", "on_processed", K_ONPROC, "discard", S(on_processed), 0},
	{"milter", "outbox_worker", K_YESNO, "yes", S(milter_outbox_worker), 0},
	{"milter", "max_message_size", K_COUNT, "10485760", S(milter_max_message), 1 << 30},
	{"milter", "pid_file", K_OPTPATH, "", S(milter_pid_file), 0},
	{"milter", "socket_group", K_STRING, "postfix", S(milter_socket_group), 0},
	{"milter", "socket_mode", K_MODE, "0660", S(milter_socket_mode), 0},
	{"store", "path", K_STORE, "/var/lib/contact-milter/contacts.db", S(store_path), 0},
	{"store", "busy_timeout", K_DURATION, "10s", S(store_busy_timeout), 3600},
	{"store", "pool_size", K_COUNT, "8", S(store_pool_size), 256},
	{"smtp", "url", K_SMTPURL, "smtp://127.0.0.1:25", S(smtp_url), 0},
	{"smtp", "from", K_FROM, "Contacts téléphonie <no-reply@contacts.example.com>", S(smtp_from), 0},
	{"smtp", "user", K_STRING, "", S(smtp_user), 0},
	{"smtp", "password", K_STRING, "", S(smtp_password), 0},
	{"smtp", "starttls", K_TLS, "no", S(smtp_starttls), 0},
	{"smtp", "timeout", K_DURATION, "30s", S(smtp_timeout), 3600},
	{"smtp", "retry_min", K_DURATION, "60s", S(smtp_retry_min), DAYS(1)},
	{"smtp", "give_up_after", K_DURATION, "5d", S(smtp_give_up), DAYS(365)},
	{"policy", "validation_address", K_ADDRESS, "validation@contacts.example.com", S(validation_address), 0},
	{"policy", "request_ttl", K_DURATION, "14d", S(request_ttl), DAYS(366)},
	{"policy", "max_failures", K_COUNT, "10", S(max_failures), 1000000},
	{"policy", "trusted_authserv_id", K_STRING, "", S(trusted_authserv_id), 0},
	{"policy", "sweep_interval", K_DURATION, "60s", S(sweep_interval), DAYS(1)},
	{"policy", "secret_file", K_PATH, "/etc/contact-milter/secret", S(secret_file), 0},
	{"policy", "remind_after", K_OPTDURATION, "", S(remind_after), 0},
	{"policy", "resend_interval", K_DURATION, "10m", S(resend_interval), DAYS(1)},
	{"policy", "security_address", K_OPTADDRESS, "", S(security_address), 0},
	{"templates", "dir", K_PATH, "/usr/share/contact-milter/templates", S(templates_dir), 0},
	{"templates", "default_lang", K_LANG, "fr", S(default_lang), 0},
	{"templates", "validate_url", K_PAGEURL, "{base_url}/v/{token}", S(validate_url), 0},
	{"templates", "timezone", K_STRING, "Europe/Paris", S(timezone), 0},
	{"web", "listen", K_LISTEN, "127.0.0.1:8025", S(web_listen), 0},
	{"web", "base_url", K_HTTPURL, "https://contacts.example.com", S(web_base_url), 0},
	{"web", "trusted_proxy", K_STRING, "", S(web_trusted_proxy), 0},
	{"events", "url", K_OPTHTTPURL, "", S(events_url), 0},
	{"events", "secret_file", K_PATH, "/etc/contact-milter/events.secret", S(events_secret_file), 0},
	{"log", "facility", K_FACILITY, "mail", S(log_facility), 0},
};
#define NKEYS (sizeof keys / sizeof keys[0])

static const key_def *key_find(const char *group, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].group, group) == 0 && (!key || strcmp(keys[i].key, key) == 0))
			return &keys[i];
	return NULL;
}

/* Extract the addr-spec of "Name <addr>" or "addr". */
static char *from_address(const char *v)
{
	const char *lt = strrchr(v, '<');
	if (!lt)
		return g_strstrip(g_strdup(v));
	const char *gt = strchr(lt, '>');
	if (!gt)
		return NULL;
	return g_strndup(lt + 1, (gsize)(gt - lt - 1));
}

static bool has_control(const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return true;
	return false;
}

/* The types not stored as a string (config_free leaves them alone). */
static bool is_int_type(key_type t)
{
	return t == K_DURATION || t == K_COUNT || t == K_MODE || t == K_YESNO;
}

static const char *const facilities[] = {"mail", "daemon", "user", "local0", "local1", "local2", "local3",
					 "local4", "local5", "local6", "local7", NULL};

/* The placeholders a page URL may hold. */
static bool page_url_ok(const char *v)
{
	if (!g_str_has_prefix(v, "http://") && !g_str_has_prefix(v, "https://") && !g_str_has_prefix(v, "{base_url}"))
		return false;
	for (const char *p = strchr(v, '{'); p; p = strchr(p + 1, '{')) {
		if (!g_str_has_prefix(p, "{id}") && !g_str_has_prefix(p, "{token}") && !g_str_has_prefix(p, "{base_url}"))
			return false;
	}
	return strstr(v, "{token}") != NULL;
}

/* unix:/path, local:/path, inet:PORT@HOST, inet6:PORT@HOST (libmilter's forms). */
static bool socket_ok(const char *v)
{
	if (g_str_has_prefix(v, "unix:") || g_str_has_prefix(v, "local:"))
		return strchr(v, ':')[1] == '/';
	const char *rest = g_str_has_prefix(v, "inet:") ? v + 5 : g_str_has_prefix(v, "inet6:") ? v + 6 : NULL;
	if (!rest)
		return false;
	char *end;
	long port = strtol(rest, &end, 10);
	return end != rest && port > 0 && port < 65536 && (*end == '\0' || (*end == '@' && end[1]));
}

static bool listen_ok(const char *v)
{
	const char *colon = strrchr(v, ':');
	if (!colon || colon == v)
		return false;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	return *end == '\0' && end != colon + 1 && port > 0 && port < 65536;
}

/* Check and store one value.  Returns NULL or a static description of what
 * was expected. */
static const char *value_set(cm_config *cfg, const key_def *k, const char *v)
{
	char **sp = (char **)((char *)cfg + k->offset);
	int64_t *ip = (int64_t *)((char *)cfg + k->offset);
	if (has_control(v))
		return "a value without control characters";
	switch (k->type) {
	case K_DURATION: {
		int64_t d;
		if (!cm_duration_parse(v, &d))
			return "a duration such as 30s, 15m, 2h or 14d";
		if (k->max && d > k->max)
			return k->max >= 86400 * 300 ? "a duration of at most a year" : "a shorter duration";
		*ip = d;
		return NULL;
	}
	case K_OPTDURATION: {
		int64_t d;
		if (*v && strcmp(v, "0") != 0 && (!cm_duration_parse(v, &d) || d > DAYS(366)))
			return "empty, 0, or a duration such as 7d (at most a year)";
		break;
	}
	case K_COUNT: {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 0)
			return "a whole number >= 0";
		if (errno == ERANGE || (k->max && n > k->max))
			return k->max == (1 << 30) ? "a whole number of at most 1073741824 (1 GiB)"
						   : "a smaller whole number";
		*ip = n;
		return NULL;
	}
	case K_MODE: {
		char *end;
		long m = strtol(v, &end, 8);
		if (*v == '\0' || *end != '\0' || m < 0 || m > 0777)
			return "octal permission bits such as 0660";
		if (m & 0002)
			return "permission bits that others cannot write (such as 0660)";
		*ip = m;
		return NULL;
	}
	case K_ADDRESS:
		if (!cm_email_valid(v) || strchr(v, '+'))
			return "an e-mail address such as validation@contacts.example.com, without '+'";
		break;
	case K_OPTADDRESS:
		if (*v && !cm_email_valid(v))
			return "empty or an e-mail address such as security@example.com";
		break;
	case K_FROM: {
		char *a = from_address(v);
		bool ok = a && cm_email_valid(a) && !strchr(v, '"');
		g_free(a);
		if (!ok)
			return "an address such as Name <no-reply@example.com>";
		if (!g_utf8_validate(v, -1, NULL))
			return "UTF-8 text";
		break;
	}
	case K_LANG:
		if (strcmp(v, "fr") != 0 && strcmp(v, "en") != 0)
			return "fr or en";
		break;
	case K_ONPROC:
		if (strcmp(v, "discard") != 0 && strcmp(v, "deliver") != 0)
			return "discard or deliver";
		break;
	case K_YESNO:
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return "yes or no";
		*(bool *)((char *)cfg + k->offset) = strcmp(v, "yes") == 0;
		return NULL;
	case K_TLS:
		if (strcmp(v, "no") != 0 && strcmp(v, "try") != 0 && strcmp(v, "require") != 0)
			return "no, try or require";
		break;
	case K_SMTPURL:
		if ((!g_str_has_prefix(v, "smtp://") && !g_str_has_prefix(v, "smtps://")) || strlen(v) < 9)
			return "an SMTP URL such as smtp://127.0.0.1:25 or smtps://relay.example.com";
		break;
	case K_HTTPURL:
		if ((!g_str_has_prefix(v, "http://") && !g_str_has_prefix(v, "https://")) || strchr(v, '{'))
			return "an http:// or https:// URL";
		break;
	case K_OPTHTTPURL:
		if (*v && !g_str_has_prefix(v, "http://") && !g_str_has_prefix(v, "https://"))
			return "empty or an http:// or https:// URL";
		break;
	case K_PAGEURL:
		if (!page_url_ok(v))
			return "an http(s):// URL (or {base_url}...) holding {token}, and no placeholder but {id}, "
			       "{token} and {base_url}";
		break;
	case K_SOCKET:
		if (!socket_ok(v))
			return "unix:/absolute/path or inet:PORT@HOST";
		break;
	case K_LISTEN:
		if (!listen_ok(v))
			return "HOST:PORT such as 127.0.0.1:8025";
		break;
	case K_STORE:
		if (v[0] != '/' && !g_str_has_prefix(v, "postgresql://") && !g_str_has_prefix(v, "postgres://"))
			return "an absolute file path or a postgresql:// URI";
		break;
	case K_PATH:
		if (v[0] != '/')
			return "an absolute path";
		break;
	case K_OPTPATH:
		if (*v && v[0] != '/')
			return "empty or an absolute path";
		break;
	case K_FACILITY: {
		bool ok = false;
		for (int i = 0; facilities[i]; i++)
			ok |= strcmp(v, facilities[i]) == 0;
		if (!ok)
			return "a syslog facility: mail, daemon, user or local0 to local7";
		break;
	}
	case K_STRING:
		break;
	}
	g_free(*sp);
	*sp = g_strdup(v);
	return NULL;
}

static void derive(cm_config *cfg)
{
	g_free(cfg->from_addr);
	g_free(cfg->validation_local);
	g_free(cfg->validation_domain);
	cfg->from_addr = from_address(cfg->smtp_from);
	const char *at = strchr(cfg->validation_address, '@');
	cfg->validation_local = g_strndup(cfg->validation_address, (gsize)(at - cfg->validation_address));
	cfg->validation_domain = g_strdup(at + 1);
	if (!cfg->remind_after[0])
		cfg->remind_after_s = cfg->request_ttl / 2;
	else if (strcmp(cfg->remind_after, "0") == 0 || !cm_duration_parse(cfg->remind_after, &cfg->remind_after_s))
		cfg->remind_after_s = 0;
	/* {base_url} in the page link is the web daemon's public address. */
	if (strstr(cfg->validate_url, "{base_url}")) {
		char *base = g_strdup(cfg->web_base_url);
		size_t n = strlen(base);
		while (n > 0 && base[n - 1] == '/')
			base[--n] = '\0';
		char **parts = g_strsplit(cfg->validate_url, "{base_url}", -1);
		g_free(cfg->validate_url);
		cfg->validate_url = g_strjoinv(base, parts);
		g_strfreev(parts);
		g_free(base);
	}
}

/* The table's defaults, not yet derived: validate_url still names
 * {base_url}, expanded once the file's web.base_url is known. */
static cm_config *defaults_raw(void)
{
	cm_config *cfg = g_new0(cm_config, 1);
	for (size_t i = 0; i < NKEYS; i++) {
		const char *bad = value_set(cfg, &keys[i], keys[i].def);
		g_assert(bad == NULL);
	}
	return cfg;
}

cm_config *config_defaults(void)
{
	cm_config *cfg = defaults_raw();
	derive(cfg);
	return cfg;
}

const char *config_path(const char *explicit_path)
{
	if (explicit_path && *explicit_path)
		return explicit_path;
	const char *env = getenv("CONTACT_MILTER_CONF");
	return env && *env ? env : CM_CONFIG_DEFAULT_PATH;
}

/* Blank out comments so that GKeyFile sees "key = value" and "[group]" only,
 * one output line per input line; check the shape of each line and record
 * where each key is.  Returns the cleaned text or NULL with err set. */
static char *preprocess(const char *path, const char *text, GHashTable *where, cm_err *err)
{
	GString *out = g_string_sized_new(strlen(text));
	char **lines = g_strsplit(text, "\n", -1);
	char *group = NULL;
	cm_status st = CM_OK;
	for (int i = 0; lines[i]; i++) {
		char *l = lines[i];
		int lineno = i + 1;
		for (char *p = l; *p; p++)
			if ((*p == ';' || *p == '#') && (p == l || *(p - 1) == ' ' || *(p - 1) == '\t')) {
				*p = '\0';
				break;
			}
		g_strstrip(l);
		if (*l == '\0') {
			g_string_append_c(out, '\n');
			continue;
		}
		if (*l == '[') {
			char *end = strchr(l, ']');
			if (!end || end[1] != '\0' || end == l + 1) {
				st = cm_err_set(err, CM_ERR_USAGE, "%s:%d: malformed section header '%s'", path, lineno, l);
				break;
			}
			g_free(group);
			group = g_strndup(l + 1, (gsize)(end - l - 1));
			if (!key_find(group, NULL)) {
				st = cm_err_set(err, CM_ERR_USAGE, "%s:%d: unknown section [%s]", path, lineno, group);
				break;
			}
			g_string_append_printf(out, "%s\n", l);
			continue;
		}
		char *eq = strchr(l, '=');
		if (!eq) {
			st = cm_err_set(err, CM_ERR_USAGE, "%s:%d: expected 'key = value', got '%s'", path, lineno, l);
			break;
		}
		*eq = '\0';
		char *key = g_strstrip(l), *val = g_strstrip(eq + 1);
		if (!group) {
			st = cm_err_set(err, CM_ERR_USAGE, "%s:%d: key '%s' before any [section]", path, lineno, key);
			break;
		}
		if (!key_find(group, key)) {
			st = cm_err_set(err, CM_ERR_USAGE, "%s:%d: unknown key '%s' in [%s]", path, lineno, key, group);
			break;
		}
		char *id = g_strdup_printf("%s.%s", group, key);
		if (g_hash_table_contains(where, id)) {
			st = cm_err_set(err, CM_ERR_USAGE, "%s:%d: key '%s' appears twice in [%s] (first on line %d)",
					path, lineno, key, group, GPOINTER_TO_INT(g_hash_table_lookup(where, id)));
			g_free(id);
			break;
		}
		g_hash_table_insert(where, id, GINT_TO_POINTER(lineno));
		g_string_append_printf(out, "%s=%s\n", key, val);
	}
	g_free(group);
	g_strfreev(lines);
	if (st != CM_OK) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

cm_status config_load(const char *path, cm_config **out, cm_err *err)
{
	char *text = NULL, *clean = NULL;
	GError *gerr = NULL;
	GKeyFile *kf = NULL;
	GHashTable *where = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	cm_config *cfg = NULL;
	cm_status st = CM_OK;

	*out = NULL;
	if (!g_file_get_contents(path, &text, NULL, &gerr)) {
		st = cm_err_set(err, CM_ERR_USAGE, "cannot read config %s: %s", path, gerr->message);
		goto out;
	}
	if (!(clean = preprocess(path, text, where, err))) {
		st = err ? err->status : CM_ERR_USAGE;
		goto out;
	}
	kf = g_key_file_new();
	if (!g_key_file_load_from_data(kf, clean, (gsize)-1, G_KEY_FILE_NONE, &gerr)) {
		st = cm_err_set(err, CM_ERR_USAGE, "%s: %s", path, gerr->message);
		goto out;
	}
	cfg = defaults_raw();
	for (size_t i = 0; i < NKEYS; i++) {
		char *v = g_key_file_get_value(kf, keys[i].group, keys[i].key, NULL);
		if (!v)
			continue;
		const char *expected = value_set(cfg, &keys[i], v);
		if (expected) {
			char id[64];
			snprintf(id, sizeof id, "%s.%s", keys[i].group, keys[i].key);
			st = cm_err_set(err, CM_ERR_USAGE, "%s:%d: bad value for key '%s' in [%s]: '%s' (expected %s)",
					path, GPOINTER_TO_INT(g_hash_table_lookup(where, id)), keys[i].key,
					keys[i].group, v, expected);
			g_free(v);
			goto out;
		}
		g_free(v);
	}
	cfg->path = g_strdup(path);
	derive(cfg);
	st = config_load_secret(cfg, err);
	if (st == CM_ERR_NOTFOUND)
		st = CM_OK; /* contactctl init makes it; whoever needs it says so */
	if (st)
		goto out;
	/* Parsed once here, not at each mail (and again with a reload). */
	if (mail_templates_load(cfg->templates_dir, &cfg->templates, NULL) != CM_OK)
		cfg->templates = NULL;
	*out = cfg;
	cfg = NULL;
out:
	if (gerr)
		g_error_free(gerr);
	if (kf)
		g_key_file_free(kf);
	config_free(cfg);
	g_hash_table_destroy(where);
	g_free(text);
	g_free(clean);
	return st;
}

void config_free(cm_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NKEYS; i++)
		if (!is_int_type(keys[i].type))
			g_free(*(char **)((char *)cfg + keys[i].offset));
	mail_templates_free(cfg->templates);
	g_free(cfg->path);
	g_free(cfg->from_addr);
	g_free(cfg->validation_local);
	g_free(cfg->validation_domain);
	g_free(cfg);
}

#define SECRET_MIN 16

/* Read a key file (path, named key in messages) into buf. */
static cm_status key_read(const char *path, const char *key, unsigned char *buf, size_t cap, size_t *len, cm_err *err)
{
	struct stat sb;
	cm_status st = CM_OK;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	*len = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return cm_err_set(err, CM_ERR_NOTFOUND, "secret file %s (%s) does not exist; 'contactctl init' creates it",
					  path, key);
		return cm_err_set(err, CM_ERR_USAGE, "cannot read secret file %s (%s): %s", path, key, strerror(errno));
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		st = cm_err_set(err, CM_ERR_USAGE, "secret file %s (%s) is not a regular file", path, key);
		goto out;
	}
	if (sb.st_mode & 0007) {
		st = cm_err_set(err, CM_ERR_USAGE, "secret file %s (%s) is readable by others (mode %04o): chmod 600 it",
				path, key, (unsigned)(sb.st_mode & 07777));
		goto out;
	}
	ssize_t n = read(fd, buf, cap);
	if (n < SECRET_MIN) {
		st = cm_err_set(err, CM_ERR_USAGE, "secret file %s (%s) holds %zd bytes; at least %d needed", path, key,
				n < 0 ? (ssize_t)0 : n, SECRET_MIN);
		goto out;
	}
	*len = (size_t)n;
out:
	close(fd);
	return st;
}

cm_status config_load_secret(cm_config *cfg, cm_err *err)
{
	cm_status st = key_read(cfg->secret_file, "policy.secret_file", cfg->secret, sizeof cfg->secret,
				&cfg->secret_len, err);
	if (st || !cfg->events_url[0])
		return st;
	st = key_read(cfg->events_secret_file, "events.secret_file", cfg->events_secret, sizeof cfg->events_secret,
		      &cfg->events_secret_len, err);
	return st == CM_ERR_NOTFOUND ? CM_OK : st; /* contactctl init makes it; events wait for it */
}

/* Make a key file of 32 random bytes, mode 0600, when missing. */
static cm_status key_create(const char *path, bool *created, cm_err *err)
{
	unsigned char key[32];
	*created = false;
	if (access(path, F_OK) == 0)
		return CM_OK;
	if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
		return cm_err_set(err, CM_ERR_INTERNAL, "getrandom failed: %s", strerror(errno));
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return cm_err_set(err, CM_ERR_IO, "cannot create secret file %s: %s", path, strerror(errno));
	bool ok = write(fd, key, sizeof key) == (ssize_t)sizeof key && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok) {
		unlink(path);
		return cm_err_set(err, CM_ERR_IO, "cannot write secret file %s: %s", path, strerror(errno));
	}
	*created = true;
	return CM_OK;
}

cm_status config_create_secret(cm_config *cfg, bool *created, cm_err *err)
{
	cm_status st = key_create(cfg->secret_file, created, err);
	return st ? st : config_load_secret(cfg, err);
}

cm_status config_create_events_secret(cm_config *cfg, bool *created, cm_err *err)
{
	*created = false;
	if (!cfg->events_url[0])
		return CM_OK;
	cm_status st = key_create(cfg->events_secret_file, created, err);
	return st ? st : config_load_secret(cfg, err);
}
