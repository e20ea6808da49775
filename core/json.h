/* json.h - a small streaming JSON writer: contactctl --json output and the
 * bodies of the events (SPEC section 7). */
#ifndef CM_JSON_H
#define CM_JSON_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct {
	GString *out;
	int depth;
	bool need_comma[64];
	bool after_key;
} json_w;

void json_init(json_w *w);
/* Returns the text (with a final newline) and resets w; g_free it. */
char *json_finish(json_w *w);
void json_obj(json_w *w);
void json_obj_end(json_w *w);
void json_arr(json_w *w);
void json_arr_end(json_w *w);
void json_key(json_w *w, const char *k);
void json_str(json_w *w, const char *v); /* NULL: null */
void json_int(json_w *w, int64_t v);
void json_bool(json_w *w, bool v);
void json_null(json_w *w);
/* A unix time as an RFC 3339 string; 0 as null. */
void json_time(json_w *w, int64_t t);

#endif
