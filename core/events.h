/*
 * events.h - what the provider's own systems learn of every change (SPEC
 * section 7).  Each state change queues its event in the outbox, in the
 * same transaction; the outbox worker POSTs it to events.url, signed with
 * HMAC-SHA-256 under events.secret_file, with retries and backoff, the
 * events of one request in order.  The event id is its outbox id: ids never
 * repeat, so a receiver drops duplicates.
 */
#ifndef CM_EVENTS_H
#define CM_EVENTS_H

#include <curl/curl.h>

#include "request.h"

/* Types: request.created, request.decided, request.done, request.refused,
 * request.reported, request.expired, request.cancelled, request.failed,
 * contact.bouncing.  Queues nothing when events.url is empty.  Reads the
 * request's parties (and, for request.done, the group and its services)
 * inside the caller's transaction. */
cm_status events_queue(cm_core *c, const char *type, const cm_request *req, int64_t now, cm_err *err);

/* The signature header's value for body sent at timestamp:
 * "sha256=" HEX(HMAC-SHA-256(secret, timestamp "." body)).  g_free it. */
char *events_signature(const unsigned char *secret, size_t secret_len, int64_t timestamp, const char *body);

/* POST one event (outbox item id, JSON body) with curl; true on a 2xx.
 * why gets the failure. */
bool events_post(CURL *curl, const cm_config *cfg, int64_t id, const char *body, char *why, size_t whylen);

#endif
