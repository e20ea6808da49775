/* assemble.c - see assemble.h. */
#include "assemble.h"

#include <string.h>

void msgbuf_init(msg_buf *b, size_t max)
{
	b->raw = g_string_new(NULL);
	b->max = max;
	b->too_big = false;
}

void msgbuf_reset(msg_buf *b)
{
	g_string_truncate(b->raw, 0);
	b->too_big = false;
}

void msgbuf_free(msg_buf *b)
{
	if (b->raw)
		g_string_free(b->raw, TRUE);
	b->raw = NULL;
}

static void append(msg_buf *b, const char *data, size_t len)
{
	if (b->too_big)
		return;
	if (b->raw->len + len > b->max) {
		b->too_big = true;
		len = b->max - b->raw->len;
	}
	g_string_append_len(b->raw, data, (gssize)len);
}

void msgbuf_header(msg_buf *b, const char *name, const char *value)
{
	append(b, name, strlen(name));
	append(b, ": ", 2);
	append(b, value, strlen(value));
	append(b, "\r\n", 2);
}

void msgbuf_eoh(msg_buf *b)
{
	append(b, "\r\n", 2);
}

void msgbuf_body(msg_buf *b, const unsigned char *chunk, size_t len)
{
	append(b, (const char *)chunk, len);
}
