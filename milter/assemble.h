/* assemble.h - rebuilding the raw message from the milter's header and body
 * callbacks, bounded by milter.max_message_size. */
#ifndef CM_ASSEMBLE_H
#define CM_ASSEMBLE_H

#include <glib.h>
#include <stdbool.h>

typedef struct {
	GString *raw;
	size_t max;
	bool too_big; /* the message was cut at max bytes */
} msg_buf;

void msgbuf_init(msg_buf *b, size_t max);
void msgbuf_reset(msg_buf *b);
void msgbuf_free(msg_buf *b);
/* One header as libmilter gives it (value without the leading space). */
void msgbuf_header(msg_buf *b, const char *name, const char *value);
void msgbuf_eoh(msg_buf *b);
void msgbuf_body(msg_buf *b, const unsigned char *chunk, size_t len);

#endif
