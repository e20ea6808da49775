/*
 * request_json.h - a request as JSON, the same for `contactctl request show
 * --json`, `request list --json` and the events' bodies (SPEC sections 4, 7).
 */
#ifndef CM_REQUEST_JSON_H
#define CM_REQUEST_JSON_H

#include "cm.h"
#include "json.h"

/* The keys of one request (inside an object the caller opened): id, group,
 * roles, from, to, asked_by, state, created_at, expires_at, done_at,
 * reason, reported and parties (p: both parties, [CM_SIDE_FROM] first). */
void request_json_fields(json_w *w, const cm_request *r, const cm_party p[2]);

/* A group as `group show --json` prints it (a whole object): group, admin,
 * tech, billing, services ([{name, kind}]). */
void group_json_write(json_w *w, const cm_group *g, const GArray *services /* cm_service */);

/* The NICs who have not answered, while the request is open. */
void request_json_waiting_for(json_w *w, const cm_request *r, const cm_party p[2]);

#endif
