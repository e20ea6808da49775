/* cmd_request.c - "Mes demandes": create, list, show, accept, refuse,
 * resend, cancel, expire. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "token.h"

static void request_json_fields(json_w *w, const cm_request *r)
{
	json_key(w, "id");
	json_int(w, r->id);
	json_key(w, "group");
	json_str(w, r->group);
	json_key(w, "roles");
	json_arr(w);
	static const cm_role order[] = {CM_ROLE_ADMIN, CM_ROLE_TECH, CM_ROLE_BILLING};
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
}

int cmd_request_create(cli *c, int argc, char **argv)
{
	char *by = NULL, *admin = NULL, *tech = NULL, *billing = NULL;
	GOptionEntry e[] = {
		{"by", 0, 0, G_OPTION_ARG_STRING, &by, "the NIC asking (the group's admin)", "NIC"},
		{"admin", 0, 0, G_OPTION_ARG_STRING, &admin, "new admin contact", "NIC"},
		{"tech", 0, 0, G_OPTION_ARG_STRING, &tech, "new technical contact", "NIC"},
		{"billing", 0, 0, G_OPTION_ARG_STRING, &billing, "new billing contact", "NIC"},
		G_OPTION_ENTRY_NULL,
	};
	cm_err err = {0};
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	int rc = cli_parse(c, &argc, &argv, e, "GROUP", 1, 1);
	if (rc == 0 && !by)
		rc = cli_usage(c, "--by is required: the NIC of the group's admin");
	if (rc == 0 && !admin && !tech && !billing)
		rc = cli_usage(c, "nothing to change: give --admin, --tech or --billing");
	if (rc == 0 && !(rc = cli_open(c, false))) {
		if (core_request_create(&c->core, argv[1], by, admin, tech, billing, cm_now(), ids, &err)) {
			rc = cli_fail(c, &err);
		} else if (c->json) {
			json_w w;
			json_init(&w);
			json_obj(&w);
			json_key(&w, "ids");
			json_arr(&w);
			for (guint i = 0; i < ids->len; i++)
				json_int(&w, g_array_index(ids, int64_t, i));
			json_arr_end(&w);
			json_obj_end(&w);
			cli_json_print(&w);
		} else {
			for (guint i = 0; i < ids->len; i++)
				printf("request %lld created\n", (long long)g_array_index(ids, int64_t, i));
		}
	}
	g_array_free(ids, TRUE);
	g_free(by);
	g_free(admin);
	g_free(tech);
	g_free(billing);
	return rc;
}

int cmd_request_list(cli *c, int argc, char **argv)
{
	char *nic = NULL, *state_s = NULL;
	GOptionEntry e[] = {
		{"nic", 0, 0, G_OPTION_ARG_STRING, &nic, "requests where this NIC is a contact or the asker", "NIC"},
		{"state", 0, 0, G_OPTION_ARG_STRING, &state_s, "only requests in this state", "STATE"},
		G_OPTION_ENTRY_NULL,
	};
	cm_err err = {0};
	int state = -1;
	GArray *list = g_array_new(FALSE, FALSE, sizeof(cm_request));
	int rc = cli_parse(c, &argc, &argv, e, "", 0, 0);
	if (rc == 0 && state_s && (state = cm_state_parse(state_s)) < 0)
		rc = cli_usage(c, "unknown state '%s': expected pending, done, refused, expired, cancelled or failed",
			       state_s);
	if (rc == 0 && nic && !cm_nic_normalise(nic))
		rc = cli_usage(c, "malformed NIC '%s'", nic);
	if (rc == 0 && !(rc = cli_open(c, false))) {
		if (c->st->ops->request_list(c->st, nic, state, list, &err)) {
			rc = cli_fail(c, &err);
		} else if (c->json) {
			json_w w;
			json_init(&w);
			json_arr(&w);
			for (guint i = 0; i < list->len; i++) {
				json_obj(&w);
				request_json_fields(&w, &g_array_index(list, cm_request, i));
				json_obj_end(&w);
			}
			json_arr_end(&w);
			cli_json_print(&w);
		} else {
			printf("%-6s %-20s %-20s %-16s %-16s %-10s %s\n", "ID", "GROUP", "ROLES", "FROM", "TO", "STATE",
			       "EXPIRES");
			for (guint i = 0; i < list->len; i++) {
				cm_request *r = &g_array_index(list, cm_request, i);
				char roles[32], t[32];
				printf("%-6lld %-20s %-20s %-16s %-16s %-10s %s\n", (long long)r->id, r->group,
				       cm_roles_format(r->roles, roles, sizeof roles), r->from_nic, r->to_nic,
				       cm_state_str(r->state), cm_time_format(r->expires_at, t, sizeof t));
			}
		}
	}
	g_array_free(list, TRUE);
	g_free(nic);
	g_free(state_s);
	return rc;
}

int cmd_request_show(cli *c, int argc, char **argv)
{
	cm_request r;
	cm_party p[2];
	cm_err err = {0};
	int rc = cli_parse(c, &argc, &argv, NULL, "ID", 1, 1);
	int64_t id = rc ? 0 : cli_id(c, argv[1]);
	if (rc || !id)
		return rc ? rc : 1;
	if ((rc = cli_open(c, false)))
		return rc;
	if (c->st->ops->request_get(c->st, id, &r, &err) || c->st->ops->party_pair(c->st, id, p, &err))
		return cli_fail(c, &err);
	if (c->json) {
		json_w w;
		json_init(&w);
		json_obj(&w);
		request_json_fields(&w, &r);
		json_key(&w, "parties");
		json_arr(&w);
		for (int s = 0; s < 2; s++) {
			json_obj(&w);
			json_key(&w, "nic");
			json_str(&w, p[s].nic);
			json_key(&w, "side");
			json_str(&w, cm_side_str(p[s].side));
			json_key(&w, "email");
			json_str(&w, p[s].email);
			json_key(&w, "decision");
			json_str(&w, cm_decision_str(p[s].decision));
			json_key(&w, "decided_at");
			json_time(&w, p[s].decided_at);
			json_key(&w, "via");
			json_str(&w, cm_via_str(p[s].via));
			json_key(&w, "bouncing");
			json_bool(&w, p[s].bouncing);
			json_obj_end(&w);
		}
		json_arr_end(&w);
		json_obj_end(&w);
		cli_json_print(&w);
		return 0;
	}
	char roles[32], t1[32], t2[32], t3[32];
	printf("request    %lld\ngroup      %s\nroles      %s\nfrom       %s\nto         %s\nasked by   %s\n"
	       "state      %s\ncreated    %s\nexpires    %s\ndone       %s\n",
	       (long long)r.id, r.group, cm_roles_format(r.roles, roles, sizeof roles), r.from_nic, r.to_nic,
	       r.asked_by, cm_state_str(r.state), cm_time_format(r.created_at, t1, sizeof t1),
	       cm_time_format(r.expires_at, t2, sizeof t2), r.done_at ? cm_time_format(r.done_at, t3, sizeof t3) : "-");
	if (r.reason[0])
		printf("reason     %s\n", r.reason);
	printf("\n%-5s %-16s %-32s %-9s %-21s %-5s %s\n", "SIDE", "NIC", "EMAIL", "DECISION", "DECIDED", "VIA", "BOUNCING");
	for (int s = 0; s < 2; s++)
		printf("%-5s %-16s %-32s %-9s %-21s %-5s %s\n", cm_side_str(p[s].side), p[s].nic, p[s].email,
		       p[s].decision ? cm_decision_str(p[s].decision) : "-",
		       p[s].decided_at ? cm_time_format(p[s].decided_at, t1, sizeof t1) : "-",
		       p[s].via ? cm_via_str(p[s].via) : "-", p[s].bouncing ? "yes" : "no");
	return 0;
}

static int decide(cli *c, int argc, char **argv, cm_decision d)
{
	char *token_s = NULL;
	GOptionEntry e[] = {
		{"token", 0, 0, G_OPTION_ARG_STRING, &token_s, "the token from the contact's e-mail", "TOKEN"},
		G_OPTION_ENTRY_NULL,
	};
	cm_err err = {0};
	cm_token tok;
	cm_decision_result res;
	int64_t id = 0;
	int rc = cli_parse(c, &argc, &argv, e, "ID", 1, 1);
	if (rc == 0 && !(id = cli_id(c, argv[1])))
		rc = 1;
	if (rc == 0 && !token_s)
		rc = cli_usage(c, "--token is required");
	if (rc == 0 && !token_decode(token_s, strlen(token_s), &tok))
		rc = cli_usage(c, "malformed token '%s': expected 26 characters of 0-9 and A-Z (no U)", token_s);
	if (rc == 0 && !(rc = cli_open(c, false))) {
		if (core_decide(&c->core, id, &tok, d, CM_VIA_CLI, NULL, cm_now(), &res, &err)) {
			rc = cli_fail(c, &err);
		} else if (c->json) {
			json_w w;
			json_init(&w);
			json_obj(&w);
			json_key(&w, "id");
			json_int(&w, res.request_id);
			json_key(&w, "nic");
			json_str(&w, res.nic);
			json_key(&w, "decision");
			json_str(&w, cm_decision_str(res.decision));
			json_key(&w, "state");
			json_str(&w, cm_state_str(res.state));
			json_obj_end(&w);
			cli_json_print(&w);
		} else {
			printf("request %lld: %s %s; request is now %s\n", (long long)res.request_id, res.nic,
			       cm_decision_str(res.decision), cm_state_str(res.state));
		}
	}
	g_free(token_s);
	return rc;
}

int cmd_request_accept(cli *c, int argc, char **argv)
{
	return decide(c, argc, argv, CM_DECISION_ACCEPTED);
}

int cmd_request_refuse(cli *c, int argc, char **argv)
{
	return decide(c, argc, argv, CM_DECISION_REFUSED);
}

int cmd_request_resend(cli *c, int argc, char **argv)
{
	char *nic = NULL;
	GOptionEntry e[] = {
		{"nic", 0, 0, G_OPTION_ARG_STRING, &nic, "only to this contact", "NIC"},
		G_OPTION_ENTRY_NULL,
	};
	cm_err err = {0};
	int sent = 0;
	int64_t id = 0;
	int rc = cli_parse(c, &argc, &argv, e, "ID", 1, 1);
	if (rc == 0 && !(id = cli_id(c, argv[1])))
		rc = 1;
	if (rc == 0 && !(rc = cli_open(c, false))) {
		if (core_request_resend(&c->core, id, nic, cm_now(), &sent, &err))
			rc = cli_fail(c, &err);
		else if (c->json) {
			json_w w;
			json_init(&w);
			json_obj(&w);
			json_key(&w, "id");
			json_int(&w, id);
			json_key(&w, "resent");
			json_int(&w, sent);
			json_obj_end(&w);
			cli_json_print(&w);
		} else
			printf("request %lld: validation mail sent again to %d contact%s\n", (long long)id, sent,
			       sent == 1 ? "" : "s");
	}
	g_free(nic);
	return rc;
}

int cmd_request_cancel(cli *c, int argc, char **argv)
{
	char *by = NULL;
	GOptionEntry e[] = {
		{"by", 0, 0, G_OPTION_ARG_STRING, &by, "the NIC cancelling (the group's admin)", "NIC"},
		G_OPTION_ENTRY_NULL,
	};
	cm_err err = {0};
	int64_t id = 0;
	int rc = cli_parse(c, &argc, &argv, e, "ID", 1, 1);
	if (rc == 0 && !(id = cli_id(c, argv[1])))
		rc = 1;
	if (rc == 0 && !by)
		rc = cli_usage(c, "--by is required");
	if (rc == 0 && !(rc = cli_open(c, false))) {
		if (core_request_cancel(&c->core, id, by, cm_now(), &err))
			rc = cli_fail(c, &err);
		else if (c->json) {
			json_w w;
			json_init(&w);
			json_obj(&w);
			json_key(&w, "id");
			json_int(&w, id);
			json_key(&w, "state");
			json_str(&w, "cancelled");
			json_obj_end(&w);
			cli_json_print(&w);
		} else
			printf("request %lld cancelled\n", (long long)id);
	}
	g_free(by);
	return rc;
}

int cmd_expire(cli *c, int argc, char **argv)
{
	cm_err err = {0};
	int n = 0;
	int rc = cli_parse(c, &argc, &argv, NULL, "", 0, 0);
	if (rc || (rc = cli_open(c, false)))
		return rc;
	if (core_expire_due(&c->core, cm_now(), &n, &err))
		return cli_fail(c, &err);
	if (c->json) {
		json_w w;
		json_init(&w);
		json_obj(&w);
		json_key(&w, "expired");
		json_int(&w, n);
		json_obj_end(&w);
		cli_json_print(&w);
	} else {
		printf("%d request%s expired\n", n, n == 1 ? "" : "s");
	}
	return 0;
}
