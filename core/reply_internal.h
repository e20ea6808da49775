/* reply_internal.h - what the reply modules share; not for front ends. */
#ifndef CM_REPLY_INTERNAL_H
#define CM_REPLY_INTERNAL_H

#include <gmime/gmime.h>

#include "reply.h"

/* Set r->kind and r->kind_why from the message's structure and headers. */
void reply_classify(GMimeMessage *m, const char *env_from, const char *from, const char *subject, cm_reply *r);

#endif
