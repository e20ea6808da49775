/* request_json.c - a request as JSON (request show, list, events). */
#include "request_json.h"

void request_json_fields(json_w *w, const cm_request *r, const cm_party p[2])
{
	static const cm_role order[] = {CM_ROLE_ADMIN, CM_ROLE_TECH, CM_ROLE_BILLING};
	json_key(w, "id");
	json_int(w, r->id);
	json_key(w, "group");
	json_str(w, r->group);
	json_key(w, "roles");
	json_arr(w);
	for (int i = 0; i < 3; i++)
		if (r->roles & order[i])
			json_str(w, cm_role_str(order[i]));
	json_arr_end(w);
	json_key(w, "from");
	json_str(w, r->from_nic);
	json_key(w, "to");
	json_str(w, r->to_nic);
	json_key(w, "asked_by");
	json_str(w, r->asked_by);
	json_key(w, "state");
	json_str(w, cm_state_str(r->state));
	json_key(w, "created_at");
	json_time(w, r->created_at);
	json_key(w, "expires_at");
	json_time(w, r->expires_at);
	json_key(w, "done_at");
	json_time(w, r->done_at);
	json_key(w, "reason");
	json_str(w, r->reason[0] ? r->reason : NULL);
	json_key(w, "reported");
	json_bool(w, r->reported);
	json_key(w, "parties");
	json_arr(w);
	for (int s = 0; s < 2; s++) {
		json_obj(w);
		json_key(w, "nic");
		json_str(w, p[s].nic);
		json_key(w, "side");
		json_str(w, cm_side_str(p[s].side));
		json_key(w, "email");
		json_str(w, p[s].email);
		json_key(w, "decision");
		json_str(w, cm_decision_str(p[s].decision));
		json_key(w, "decided_at");
		json_time(w, p[s].decided_at);
		json_key(w, "via");
		json_str(w, cm_via_str(p[s].via));
		json_key(w, "bouncing");
		json_bool(w, p[s].bouncing);
		json_obj_end(w);
	}
	json_arr_end(w);
}

void request_json_waiting_for(json_w *w, const cm_request *r, const cm_party p[2])
{
	json_key(w, "waiting_for");
	json_arr(w);
	for (int s = 0; r->state == CM_STATE_PENDING && s < 2; s++)
		if (p[s].decision == CM_DECISION_NONE)
			json_str(w, p[s].nic);
	json_arr_end(w);
}

void group_json_write(json_w *w, const cm_group *g, const GArray *services)
{
	json_obj(w);
	json_key(w, "group");
	json_str(w, g->name);
	json_key(w, "admin");
	json_str(w, g->admin);
	json_key(w, "tech");
	json_str(w, g->tech);
	json_key(w, "billing");
	json_str(w, g->billing);
	json_key(w, "services");
	json_arr(w);
	for (guint i = 0; i < services->len; i++) {
		const cm_service *s = &g_array_index(services, cm_service, i);
		json_obj(w);
		json_key(w, "name");
		json_str(w, s->name);
		json_key(w, "kind");
		json_str(w, s->kind);
		json_obj_end(w);
	}
	json_arr_end(w);
	json_obj_end(w);
}
