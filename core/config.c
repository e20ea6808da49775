/* config.c - the declarative key table and the INI reader (GLib key files). */
#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_STRING, K_DURATION, K_COUNT, K_ADDRESS, K_FROM, K_LANG, K_ONPROC, K_URL, K_TLS } key_type;

typedef struct {
	const char *group, *key;
	key_type type;
	const char *def;
	size_t offset;
} key_def;

#define S(f) offsetof(cm_config, f)
static const key_def keys[] = {
	{"milter", "socket", K_STRING, "unix:/run/contact-milter/milter.sock", S(milter_socket)},
	{"milter", "on_processed", K_ONPROC, "discard", S(on_processed)},
	{"milter", "max_message_size", K_COUNT, "10485760", S(milter_max_message)},
	{"store", "path", K_STRING, "/var/lib/contact-milter/contacts.db", S(store_path)},
	{"store", "busy_timeout", K_DURATION, "10s", S(store_busy_timeout)},
	{"smtp", "url", K_URL, "smtp://127.0.0.1:25", S(smtp_url)},
	{"smtp", "from", K_FROM, "Telephony contacts <no-reply@contacts.example.com>", S(smtp_from)},
	{"smtp", "user", K_STRING, "", S(smtp_user)},
	{"smtp", "password", K_STRING, "", S(smtp_password)},
	{"smtp", "starttls", K_TLS, "no", S(smtp_starttls)},
	{"smtp", "timeout", K_DURATION, "30s", S(smtp_timeout)},
	{"smtp", "retry_min", K_DURATION, "60s", S(smtp_retry_min)},
	{"smtp", "give_up_after", K_DURATION, "5d", S(smtp_give_up)},
	{"policy", "validation_address", K_ADDRESS, "validation@contacts.example.com", S(validation_address)},
	{"policy", "request_ttl", K_DURATION, "14d", S(request_ttl)},
	{"policy", "max_failures", K_COUNT, "10", S(max_failures)},
	{"policy", "trusted_authserv_id", K_STRING, "", S(trusted_authserv_id)},
	{"policy", "sweep_interval", K_DURATION, "60s", S(sweep_interval)},
	{"templates", "dir", K_STRING, "/usr/share/contact-milter/templates", S(templates_dir)},
	{"templates", "default_lang", K_LANG, "fr", S(default_lang)},
	{"templates", "validate_url", K_URL, "https://manager.example.com/contacts/{id}?token={token}", S(validate_url)},
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

/* Check and store one value.  Returns NULL or a static description of what
 * was expected. */
static const char *value_set(cm_config *cfg, const key_def *k, const char *v)
{
	char **sp = (char **)((char *)cfg + k->offset);
	int64_t *ip = (int64_t *)((char *)cfg + k->offset);
	if (has_control(v))
		return "a value without control characters";
	switch (k->type) {
	case K_DURATION:
		return cm_duration_parse(v, ip) ? NULL : "a duration such as 30s, 15m, 2h or 14d";
	case K_COUNT: {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 0)
			return "a whole number >= 0";
		*ip = n;
		return NULL;
	}
	case K_ADDRESS:
		if (!cm_email_valid(v) || strchr(v, '+'))
			return "an e-mail address such as validation@contacts.example.com, without '+'";
		break;
	case K_FROM: {
		char *a = from_address(v);
		bool ok = a && cm_email_valid(a);
		g_free(a);
		if (!ok)
			return "an address such as Name <no-reply@example.com>";
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
	case K_TLS:
		if (strcmp(v, "no") != 0 && strcmp(v, "try") != 0 && strcmp(v, "require") != 0)
			return "no, try or require";
		break;
	case K_URL:
		if (!strstr(v, "://"))
			return "a URL such as smtp://127.0.0.1:25";
		break;
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
}

cm_config *config_defaults(void)
{
	cm_config *cfg = g_new0(cm_config, 1);
	for (size_t i = 0; i < NKEYS; i++) {
		const char *bad = value_set(cfg, &keys[i], keys[i].def);
		g_assert(bad == NULL);
	}
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
	cfg = config_defaults();
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
		if (keys[i].type != K_DURATION && keys[i].type != K_COUNT)
			g_free(*(char **)((char *)cfg + keys[i].offset));
	g_free(cfg->path);
	g_free(cfg->from_addr);
	g_free(cfg->validation_local);
	g_free(cfg->validation_domain);
	g_free(cfg);
}
