/* render.c - the page templates: {name} values, always HTML-escaped, and
 * {#name}...{/name} / {^name}...{/name} sections for flags and lists. */
#include <string.h>

#include "web.h"

struct web_vars {
	const web_vars *parent;
	GHashTable *str;   /* name -> char * */
	GHashTable *lists; /* name -> GPtrArray of web_vars * */
};

static void vars_free_ptr(gpointer p)
{
	wvars_free(p);
}

static void list_free(gpointer p)
{
	g_ptr_array_free(p, TRUE);
}

web_vars *wvars_new(void)
{
	web_vars *v = g_new0(web_vars, 1);
	v->str = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	v->lists = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, list_free);
	return v;
}

void wvars_set(web_vars *v, const char *name, const char *val)
{
	g_hash_table_insert(v->str, g_strdup(name), g_strdup(val ? val : ""));
}

void wvars_take(web_vars *v, const char *name, char *val)
{
	g_hash_table_insert(v->str, g_strdup(name), val ? val : g_strdup(""));
}

void wvars_flag(web_vars *v, const char *name, bool on)
{
	wvars_set(v, name, on ? "1" : "");
}

web_vars *wvars_item(web_vars *v, const char *list)
{
	GPtrArray *a = g_hash_table_lookup(v->lists, list);
	if (!a) {
		a = g_ptr_array_new_with_free_func(vars_free_ptr);
		g_hash_table_insert(v->lists, g_strdup(list), a);
	}
	web_vars *item = wvars_new();
	item->parent = v;
	g_ptr_array_add(a, item);
	return item;
}

void wvars_free(web_vars *v)
{
	if (!v)
		return;
	g_hash_table_destroy(v->str);
	g_hash_table_destroy(v->lists);
	g_free(v);
}

static const char *lookup_str(const web_vars *v, const char *name)
{
	for (; v; v = v->parent) {
		const char *s = g_hash_table_lookup(v->str, name);
		if (s)
			return s;
	}
	return NULL;
}

static GPtrArray *lookup_list(const web_vars *v, const char *name)
{
	for (; v; v = v->parent) {
		GPtrArray *a = g_hash_table_lookup(v->lists, name);
		if (a)
			return a;
	}
	return NULL;
}

static void escape_into(GString *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': g_string_append(out, "&amp;"); break;
		case '<': g_string_append(out, "&lt;"); break;
		case '>': g_string_append(out, "&gt;"); break;
		case '"': g_string_append(out, "&quot;"); break;
		case '\'': g_string_append(out, "&#39;"); break;
		default: g_string_append_c(out, *s);
		}
	}
}

/* Length of a placeholder name at p ([A-Za-z0-9_]{1,31} then '}'), or 0. */
static size_t name_len(const char *p, const char *end)
{
	size_t n = 0;
	while (p + n < end && n < 32 && (g_ascii_isalnum(p[n]) || p[n] == '_'))
		n++;
	return n > 0 && n < 32 && p + n < end && p[n] == '}' ? n : 0;
}

static bool render_range(GString *out, const char *p, const char *end, const web_vars *v, const char *tname,
			 int depth, cm_err *err)
{
	if (depth > 8) {
		cm_err_set(err, CM_ERR_USAGE, "template %s: sections nested too deep", tname);
		return false;
	}
	while (p < end) {
		const char *open = memchr(p, '{', (size_t)(end - p));
		if (!open) {
			g_string_append_len(out, p, end - p);
			break;
		}
		g_string_append_len(out, p, open - p);
		char kind = open + 1 < end ? open[1] : 0;
		bool section = kind == '#' || kind == '^';
		const char *nm = open + 1 + (section ? 1 : 0);
		size_t n = name_len(nm, end);
		if (kind == '/' && name_len(open + 2, end)) {
			cm_err_set(err, CM_ERR_USAGE, "template %s: {/%.*s} closes no section", tname,
				   (int)name_len(open + 2, end), open + 2);
			return false;
		}
		if (!n) {
			g_string_append_c(out, '{');
			p = open + 1;
			continue;
		}
		char *name = g_strndup(nm, n);
		const char *after = nm + n + 1;
		if (!section) {
			const char *val = lookup_str(v, name);
			if (!val) {
				cm_err_set(err, CM_ERR_USAGE, "template %s: unknown placeholder {%s}", tname, name);
				g_free(name);
				return false;
			}
			escape_into(out, val);
			g_free(name);
			p = after;
			continue;
		}
		char *closing = g_strdup_printf("{/%s}", name);
		const char *body_end = g_strstr_len(after, end - after, closing);
		size_t clen = strlen(closing);
		g_free(closing);
		if (!body_end) {
			cm_err_set(err, CM_ERR_USAGE, "template %s: section {%c%s} is not closed", tname, kind, name);
			g_free(name);
			return false;
		}
		GPtrArray *list = lookup_list(v, name);
		const char *s = lookup_str(v, name);
		bool on = (list && list->len > 0) || (s && *s);
		bool ok = true;
		if (kind == '^') {
			if (!on)
				ok = render_range(out, after, body_end, v, tname, depth + 1, err);
		} else if (list) {
			for (guint i = 0; ok && i < list->len; i++)
				ok = render_range(out, after, body_end, list->pdata[i], tname, depth + 1, err);
		} else if (on) {
			ok = render_range(out, after, body_end, v, tname, depth + 1, err);
		}
		g_free(name);
		if (!ok)
			return false;
		p = body_end + clen;
	}
	return true;
}

char *wrender(const char *tpl, const web_vars *v, const char *tname, cm_err *err)
{
	GString *out = g_string_sized_new(strlen(tpl) + 1024);
	if (!render_range(out, tpl, tpl + strlen(tpl), v, tname, 0, err)) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

int wlang_index(const cm_config *cfg, const char *lang)
{
	if (lang && strcmp(lang, "fr") == 0)
		return 0;
	if (lang && strcmp(lang, "en") == 0)
		return 1;
	return cfg->default_lang && strcmp(cfg->default_lang, "en") == 0 ? 1 : 0;
}

/* Every flag the error page knows, on, for the start-up check. */
static web_vars *error_sample(void)
{
	web_vars *v = wvars_new();
	static const char *const flags[] = {"notfound", "limited", "busy", "forbidden", "toolarge", "badrequest",
					    "method"};
	for (size_t i = 0; i < G_N_ELEMENTS(flags); i++)
		wvars_flag(v, flags[i], true);
	return v;
}

cm_status wtemplates_load(const cm_config *cfg, web_templates *t, cm_err *err)
{
	static const char *const langs[] = {"fr", "en"};
	static const char *const names[WEB_PAGE_N] = {"page.html", "page_error.html"};
	memset(t, 0, sizeof *t);
	for (int l = 0; l < 2; l++) {
		for (int k = 0; k < WEB_PAGE_N; k++) {
			char *path = g_build_filename(cfg->templates_dir, langs[l], names[k], NULL);
			GError *gerr = NULL;
			char *text = NULL;
			t->path[l][k] = path;
			if (!g_file_get_contents(path, &text, NULL, &gerr)) {
				cm_err_set(err, CM_ERR_USAGE, "cannot read template %s: %s", path, gerr->message);
				g_error_free(gerr);
				return CM_ERR_USAGE;
			}
			t->text[l][k] = text;
			if (!g_utf8_validate(text, -1, NULL))
				return cm_err_set(err, CM_ERR_USAGE, "template %s is not valid UTF-8", path);
			web_vars *sample = k == WEB_PAGE_VIEW ? wview_sample() : error_sample();
			char *out = wrender(text, sample, path, err);
			wvars_free(sample);
			if (!out)
				return CM_ERR_USAGE;
			g_free(out);
		}
	}
	return CM_OK;
}

void wtemplates_free(web_templates *t)
{
	for (int l = 0; l < 2; l++)
		for (int k = 0; k < WEB_PAGE_N; k++) {
			g_free(t->text[l][k]);
			g_free(t->path[l][k]);
		}
	memset(t, 0, sizeof *t);
}
