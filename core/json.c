/* json.c - JSON text with proper escaping (control characters, quotes,
 * invalid UTF-8 replaced by U+FFFD). */
#include "json.h"

#include "cm.h"

void json_init(json_w *w)
{
	w->out = g_string_new(NULL);
	w->depth = 0;
	w->need_comma[0] = false;
	w->after_key = false;
}

char *json_finish(json_w *w)
{
	g_string_append_c(w->out, '\n');
	char *s = g_string_free(w->out, FALSE);
	w->out = NULL;
	return s;
}

static void value_start(json_w *w)
{
	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->need_comma[w->depth])
		g_string_append_c(w->out, ',');
	w->need_comma[w->depth] = true;
}

static void open(json_w *w, char c)
{
	value_start(w);
	g_string_append_c(w->out, c);
	if (w->depth < 63)
		w->depth++;
	w->need_comma[w->depth] = false;
}

static void close_(json_w *w, char c)
{
	g_string_append_c(w->out, c);
	if (w->depth > 0)
		w->depth--;
}

void json_obj(json_w *w) { open(w, '{'); }
void json_obj_end(json_w *w) { close_(w, '}'); }
void json_arr(json_w *w) { open(w, '['); }
void json_arr_end(json_w *w) { close_(w, ']'); }

static void quoted(GString *o, const char *s)
{
	char *valid = g_utf8_make_valid(s, -1);
	g_string_append_c(o, '"');
	for (const unsigned char *p = (const unsigned char *)valid; *p; p++) {
		switch (*p) {
		case '"': g_string_append(o, "\\\""); break;
		case '\\': g_string_append(o, "\\\\"); break;
		case '\n': g_string_append(o, "\\n"); break;
		case '\r': g_string_append(o, "\\r"); break;
		case '\t': g_string_append(o, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				g_string_append_printf(o, "\\u%04x", *p);
			else
				g_string_append_c(o, (char)*p);
		}
	}
	g_string_append_c(o, '"');
	g_free(valid);
}

void json_key(json_w *w, const char *k)
{
	value_start(w);
	quoted(w->out, k);
	g_string_append_c(w->out, ':');
	w->after_key = true;
}

void json_str(json_w *w, const char *v)
{
	value_start(w);
	if (v)
		quoted(w->out, v);
	else
		g_string_append(w->out, "null");
}

void json_int(json_w *w, int64_t v)
{
	value_start(w);
	g_string_append_printf(w->out, "%lld", (long long)v);
}

void json_bool(json_w *w, bool v)
{
	value_start(w);
	g_string_append(w->out, v ? "true" : "false");
}

void json_null(json_w *w)
{
	value_start(w);
	g_string_append(w->out, "null");
}

void json_time(json_w *w, int64_t t)
{
	char buf[32];
	if (t)
		json_str(w, cm_time_format(t, buf, sizeof buf));
	else
		json_null(w);
}
