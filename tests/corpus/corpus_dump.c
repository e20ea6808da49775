/* corpus_dump.c - run reply_understand (the entry point of `contactctl
 * parse` and of the milter) over files named on stdin ("PATH\tFORMAT" lines,
 * FORMAT rfc5322, body or html-body) and print one JSON line per file with
 * what it understood and how long it took.  tests/corpus/corpus.py judges. */
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "json.h"
#include "reply.h"

static char *wrap(const char *format, const char *data, gsize len, gsize *out_len)
{
	const char *ct = strcmp(format, "html-body") == 0 ? "text/html" : "text/plain";
	GString *s = g_string_new(NULL);
	g_string_append_printf(s, "MIME-Version: 1.0\r\nContent-Type: %s; charset=utf-8\r\n\r\n", ct);
	g_string_append_len(s, data, (gssize)len);
	*out_len = s->len;
	return g_string_free(s, FALSE);
}

int main(void)
{
	char line[4096];
	cm_reply_env env = {"validation", "contacts.example.com", NULL, NULL};
	while (fgets(line, sizeof line, stdin)) {
		g_strchomp(line);
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		*tab = '\0';
		const char *path = line, *format = tab + 1;
		char *data = NULL;
		gsize len = 0;
		json_w w;
		json_init(&w);
		json_obj(&w);
		json_key(&w, "path");
		json_str(&w, path);
		if (!g_file_get_contents(path, &data, &len, NULL)) {
			json_key(&w, "error");
			json_str(&w, "unreadable");
		} else {
			char *raw = data;
			gsize rlen = len;
			if (strcmp(format, "rfc5322") != 0)
				raw = wrap(format, data, len, &rlen);
			cm_reply r;
			gint64 t0 = g_get_monotonic_time();
			reply_understand(raw, rlen, &env, &r);
			gint64 us = g_get_monotonic_time() - t0;
			json_key(&w, "kind");
			json_str(&w, reply_kind_str(r.kind));
			json_key(&w, "why");
			json_str(&w, r.kind_why);
			json_key(&w, "token");
			json_bool(&w, r.has_token);
			json_key(&w, "intent");
			json_str(&w, reply_intent_str(r.intent));
			/* What the new text alone would decide, were a token there:
			 * corpus.py counts how often a stranger's reply reads as one. */
			json_key(&w, "text_intent");
			json_str(&w, r.kind == CM_KIND_REPLY ? reply_intent_str(reply_intent(r.new_text, NULL, 0)) : NULL);
			json_key(&w, "new_text");
			json_str(&w, r.new_text);
			json_key(&w, "ms");
			json_int(&w, us / 1000);
			reply_clear(&r);
			if (raw != data)
				g_free(raw);
			g_free(data);
		}
		struct rusage ru;
		getrusage(RUSAGE_SELF, &ru);
		json_key(&w, "maxrss_kb");
		json_int(&w, ru.ru_maxrss);
		json_obj_end(&w);
		char *s = json_finish(&w);
		fputs(s, stdout);
		fflush(stdout);
		g_free(s);
	}
	return 0;
}
