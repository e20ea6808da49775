/* cmd_request.c - "Mes demandes": create, list, show, accept, refuse,
 * resend, cancel, expire. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "request_json.h"
#include "token.h"

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

/* What "Mes demandes" says of one request for nic (NULL: the operator's
 * view): whom it waits for, in words. */
static void waiting_words(const cm_request *r, const cm_party p[2], const char *nic, char *buf, size_t len)
{
	GString *s = g_string_new(NULL);
	if (r->state != CM_STATE_PENDING) {
		g_string_append(s, "-");
	} else {
		for (int i = 0; i < 2; i++) {
			if (p[i].decision != CM_DECISION_NONE)
				continue;
			g_string_append(s, s->len ? " and " : "waiting for ");
			g_string_append(s, nic && strcmp(nic, p[i].nic) == 0 ? "you" : p[i].nic);
		}
	}
	g_strlcpy(buf, s->str, len);
	g_string_free(s, TRUE);
}

int cmd_request_list(cli *c, int argc, char **argv)
{
	char *nic = NULL, *state_s = NULL;
	GOptionEntry e[] = {
		{"nic", 0, 0, G_OPTION_ARG_STRING, &nic, "\"Mes demandes\": requests where this NIC is a contact or the asker",
		 "NIC"},
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
	if (rc == 0 && !(rc = cli_open(c, false)) && c->st->ops->request_list(c->st, nic, state, list, &err))
		rc = cli_fail(c, &err);
	json_w w;
	if (rc == 0 && c->json) {
		json_init(&w);
		json_arr(&w);
	} else if (rc == 0) {
		printf("%-6s %-18s %-14s %-14s %-14s %-10s %-20s %s\n", "ID", "GROUP", "ROLES", "FROM", "TO", "STATE",
		       "EXPIRES", nic ? "YOURS / WAITING" : "WAITING");
	}
	for (guint i = 0; rc == 0 && i < list->len; i++) {
		cm_request *r = &g_array_index(list, cm_request, i);
		cm_party p[2];
		if (c->st->ops->party_pair(c->st, r->id, p, &err)) {
			rc = cli_fail(c, &err);
			break;
		}
		const char *places[3];
		int np = 0;
		if (nic && strcmp(r->asked_by, nic) == 0)
			places[np++] = "asker";
		if (nic && strcmp(p[CM_SIDE_FROM].nic, nic) == 0)
			places[np++] = "from";
		if (nic && strcmp(p[CM_SIDE_TO].nic, nic) == 0)
			places[np++] = "to";
		if (c->json) {
			json_obj(&w);
			request_json_fields(&w, r, p);
			json_key(&w, "yours");
			json_arr(&w);
			for (int k = 0; k < np; k++)
				json_str(&w, places[k]);
			json_arr_end(&w);
			request_json_waiting_for(&w, r, p);
			json_obj_end(&w);
		} else {
			char roles[32], t[32], waiting[160], yours[32] = "";
			for (int k = 0; k < np; k++)
				g_strlcat(yours, k ? "," : "", sizeof yours), g_strlcat(yours, places[k], sizeof yours);
			waiting_words(r, p, nic, waiting, sizeof waiting);
			printf("%-6lld %-18s %-14s %-14s %-14s %-10s %-20s %s%s%s\n", (long long)r->id, r->group,
			       cm_roles_format(r->roles, roles, sizeof roles), r->from_nic, r->to_nic,
			       cm_state_str(r->state), cm_time_format(r->expires_at, t, sizeof t), yours,
			       np ? " / " : "", waiting);
		}
	}
	if (rc == 0 && c->json) {
		json_arr_end(&w);
		cli_json_print(&w);
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
		request_json_fields(&w, &r, p);
		request_json_waiting_for(&w, &r, p);
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
	if (r.reported)
		printf("reported   yes: a contact said this request was not theirs to expect\n");
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
	gboolean report = FALSE;
	GOptionEntry accept_opts[] = {
		{"token", 0, 0, G_OPTION_ARG_STRING, &token_s, "the token from the contact's e-mail", "TOKEN"},
		G_OPTION_ENTRY_NULL,
	};
	GOptionEntry refuse_opts[] = {
		{"token", 0, 0, G_OPTION_ARG_STRING, &token_s, "the token from the contact's e-mail", "TOKEN"},
		{"report", 0, 0, G_OPTION_ARG_NONE, &report, "\"this wasn't me\": refuse and report the request", NULL},
		G_OPTION_ENTRY_NULL,
	};
	GOptionEntry *e = d == CM_DECISION_REFUSED ? refuse_opts : accept_opts;
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
		cm_status st = report ? core_report(&c->core, id, &tok, CM_VIA_CLI, NULL, cm_now(), &res, &err)
				      : core_decide(&c->core, id, &tok, d, CM_VIA_CLI, NULL, cm_now(), &res, &err);
		if (st) {
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
			json_key(&w, "reported");
			json_bool(&w, report);
			json_obj_end(&w);
			cli_json_print(&w);
		} else {
			printf("request %lld: %s %s%s; request is now %s\n", (long long)res.request_id, res.nic,
			       cm_decision_str(res.decision), report ? " and reported it" : "", cm_state_str(res.state));
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
	char *nic = NULL, *by = NULL;
	GOptionEntry e[] = {
		{"by", 0, 0, G_OPTION_ARG_STRING, &by, "who asks: the group's admin or the contact concerned (default: the operator)",
		 "NIC"},
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
		if (core_request_resend(&c->core, id, by, nic, cm_now(), &sent, &err))
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
	g_free(by);
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
	int n = 0, reminded = 0;
	int rc = cli_parse(c, &argc, &argv, NULL, "", 0, 0);
	if (rc || (rc = cli_open(c, false)))
		return rc;
	/* The milter's sweep, once: expiry, then reminders. */
	if (core_sweep(&c->core, cm_now(), &n, &reminded, &err))
		return cli_fail(c, &err);
	if (c->json) {
		json_w w;
		json_init(&w);
		json_obj(&w);
		json_key(&w, "expired");
		json_int(&w, n);
		json_key(&w, "reminded");
		json_int(&w, reminded);
		json_obj_end(&w);
		cli_json_print(&w);
	} else {
		printf("%d request%s expired, %d reminder%s queued\n", n, n == 1 ? "" : "s", reminded,
		       reminded == 1 ? "" : "s");
	}
	return 0;
}
