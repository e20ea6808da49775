/* reply_internal.h - what the reply modules share; not for front ends. */
#ifndef CM_REPLY_INTERNAL_H
#define CM_REPLY_INTERNAL_H

#include <gmime/gmime.h>

#include "reply.h"

/* Set r->kind and r->kind_why from the message's structure and headers. */
void reply_classify(GMimeMessage *m, const char *env_from, const char *from, const char *subject, cm_reply *r);

/* Once the new text is known, for a message still of kind reply: an
 * out-of-office notice sent without any header saying so, told by the
 * opening of its new text ("Je suis absente du bureau jusqu'au...",
 * "I am out of the office", "Ich bin nicht im Büro"), becomes an
 * auto-reply.  Only the opening is read, never the quoted original. */
void reply_classify_text(const char *new_text, cm_reply *r);

/* The opening of a new text, the only part an answer is read from:
 * greetings passed over, up to the first closing, signature, footer,
 * phone line or disclaimer, at most two paragraphs (defined in full in
 * reply_intent.c).  Returns a g_malloc'd string, "" when there is none. */
char *reply_opening(const char *text);

#endif
