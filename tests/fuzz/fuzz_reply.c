/* fuzz_reply.c - libFuzzer target: any bytes through reply_understand (the
 * entry point of the milter and `contactctl parse`), directly and as the
 * milter assembles them from header and body callbacks. */
#include <stdint.h>
#include <string.h>

#include "assemble.h"
#include "reply.h"

static void understand(const char *raw, size_t len)
{
	cm_reply r;
	const char *rcpts[] = {"validation+0123456789ABCDEFGHJKMNPQRS@contacts.example.com", NULL};
	cm_reply_env env = {"validation", "contacts.example.com", "", rcpts};
	reply_understand(raw, len, &env, &r);
	reply_clear(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	understand((const char *)data, size);

	/* The milter's way: "Name: value" lines up to the first empty line go
	 * through the header callback, the rest through body chunks whose sizes
	 * come from the data itself. */
	msg_buf b;
	msgbuf_init(&b, 1 << 20);
	char *copy = g_strndup((const char *)data, size);
	char *p = copy, *end = copy + strlen(copy);
	while (p < end) {
		char *nl = strchr(p, '\n');
		char *line_end = nl ? nl : end;
		if (line_end == p || (line_end == p + 1 && *p == '\r'))
			break;
		char *colon = memchr(p, ':', (size_t)(line_end - p));
		if (!colon)
			break;
		*colon = '\0';
		*line_end = '\0';
		const char *value = colon + 1;
		while (*value == ' ')
			value++;
		msgbuf_header(&b, p, value);
		p = line_end + 1;
	}
	msgbuf_eoh(&b);
	size_t off = (size_t)(p - copy), step = size ? (size_t)data[size - 1] % 97 + 1 : 1;
	while (off < size) {
		size_t n = size - off < step ? size - off : step;
		msgbuf_body(&b, data + off, n);
		off += n;
	}
	understand(b.raw->str, b.raw->len);
	msgbuf_free(&b);
	g_free(copy);
	return 0;
}
