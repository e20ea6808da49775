/* cmd_directory.c - init, accounts, groups and services. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "request_json.h"

int cmd_init(cli *c, int argc, char **argv)
{
	int rc = cli_parse(c, &argc, &argv, NULL, "", 0, 0);
	cm_err err = {0};
	bool created = false;
	if (rc || (rc = cli_open(c, true)))
		return rc;
	/* Tokens and bounce addresses are keyed with a secret kept outside the
	 * store (SPEC rule 6): make it now, readable by its owner only. */
	bool ev_created = false;
	if (config_create_secret(c->cfg, &created, &err) || config_create_events_secret(c->cfg, &ev_created, &err))
		return cli_fail(c, &err);
	if (created && !c->json)
		printf("secret %s created (mode 0600)\n", c->cfg->secret_file);
	if (ev_created && !c->json)
		printf("events secret %s created (mode 0600): give it to the events receiver\n",
		       c->cfg->events_secret_file);
	int v = c->st->ops->schema_version(c->st);
	if (c->json) {
		json_w w;
		json_init(&w);
		json_obj(&w);
		json_key(&w, "store");
		json_str(&w, c->cfg->store_path);
		json_key(&w, "schema_version");
		json_int(&w, v);
		json_key(&w, "secret_created");
		json_bool(&w, created);
		json_obj_end(&w);
		cli_json_print(&w);
	} else {
		printf("store %s ready (schema version %d)\n", c->cfg->store_path, v);
	}
	return 0;
}

static void account_print(cli *c, const cm_account *a)
{
	if (c->json) {
		json_w w;
		json_init(&w);
		json_obj(&w);
		json_key(&w, "nic");
		json_str(&w, a->nic);
		json_key(&w, "email");
		json_str(&w, a->email);
		json_key(&w, "name");
		json_str(&w, a->name);
		json_key(&w, "lang");
		json_str(&w, a->lang);
		json_key(&w, "voip_validated");
		json_bool(&w, a->voip_validated);
		json_key(&w, "payments_ok");
		json_bool(&w, a->payments_ok);
		json_key(&w, "bouncing");
		json_bool(&w, a->bouncing);
		json_obj_end(&w);
		cli_json_print(&w);
		return;
	}
	printf("nic             %s\nname            %s\nemail           %s%s\nlang            %s\nvoip validated  %s\n"
	       "payments ok     %s\n",
	       a->nic, a->name[0] ? a->name : "-", a->email, a->bouncing ? "  (bouncing)" : "", a->lang,
	       a->voip_validated ? "yes" : "no",
	       a->payments_ok ? "yes" : "no");
}

int cmd_account_add(cli *c, int argc, char **argv)
{
	char *email = NULL, *lang = NULL, *name = NULL;
	gboolean voip = FALSE, pay = FALSE;
	GOptionEntry e[] = {
		{"email", 0, 0, G_OPTION_ARG_STRING, &email, "contact e-mail address", "ADDR"},
		{"name", 0, 0, G_OPTION_ARG_STRING, &name, "the account holder's name, used in greetings", "NAME"},
		{"lang", 0, 0, G_OPTION_ARG_STRING, &lang, "language of its mails", "fr|en"},
		{"voip-validated", 0, 0, G_OPTION_ARG_NONE, &voip, "passed the VoIP validation", NULL},
		{"payments-ok", 0, 0, G_OPTION_ARG_NONE, &pay, "up to date with payments", NULL},
		G_OPTION_ENTRY_NULL,
	};
	cm_account a = {0};
	cm_err err = {0};
	int rc = cli_parse(c, &argc, &argv, e, "NIC", 1, 1);
	if (rc == 0 && !email)
		rc = cli_usage(c, "--email is required");
	if (rc == 0 && (!cm_strlcpy(a.nic, argv[1], sizeof a.nic) || !cm_strlcpy(a.email, email, sizeof a.email)))
		rc = cli_usage(c, "NIC or e-mail address too long");
	if (rc == 0 && lang && !cm_strlcpy(a.lang, lang, sizeof a.lang))
		rc = cli_usage(c, "unknown language '%s': expected fr or en", lang);
	if (rc == 0 && name && !cm_strlcpy(a.name, name, sizeof a.name))
		rc = cli_usage(c, "--name is longer than %d bytes", CM_NAME_MAX);
	if (rc == 0 && !(rc = cli_open(c, false))) {
		a.voip_validated = voip;
		a.payments_ok = pay;
		if (core_account_add(&c->core, &a, cm_now(), &err))
			rc = cli_fail(c, &err);
		else if (c->json)
			account_print(c, &a);
		else
			printf("account %s added\n", a.nic);
	}
	g_free(email);
	g_free(lang);
	g_free(name);
	return rc;
}

int cmd_account_set(cli *c, int argc, char **argv)
{
	char *email = NULL, *lang = NULL, *voip_s = NULL, *pay_s = NULL, *name = NULL;
	GOptionEntry e[] = {
		{"email", 0, 0, G_OPTION_ARG_STRING, &email, "new e-mail address", "ADDR"},
		{"name", 0, 0, G_OPTION_ARG_STRING, &name, "the account holder's name", "NAME"},
		{"lang", 0, 0, G_OPTION_ARG_STRING, &lang, "language of its mails", "fr|en"},
		{"voip-validated", 0, 0, G_OPTION_ARG_STRING, &voip_s, "passed the VoIP validation", "yes|no"},
		{"payments-ok", 0, 0, G_OPTION_ARG_STRING, &pay_s, "up to date with payments", "yes|no"},
		G_OPTION_ENTRY_NULL,
	};
	cm_err err = {0};
	int voip = -1, pay = -1;
	int rc = cli_parse(c, &argc, &argv, e, "NIC", 1, 1);
	if (rc == 0 && voip_s && !cli_yesno(voip_s, &voip))
		rc = cli_usage(c, "--voip-validated takes yes or no, not '%s'", voip_s);
	if (rc == 0 && pay_s && !cli_yesno(pay_s, &pay))
		rc = cli_usage(c, "--payments-ok takes yes or no, not '%s'", pay_s);
	if (rc == 0 && !email && !name && !lang && voip < 0 && pay < 0)
		rc = cli_usage(c, "nothing to change: give --email, --name, --lang, --voip-validated or --payments-ok");
	if (rc == 0 && !(rc = cli_open(c, false))) {
		if (core_account_set(&c->core, argv[1], email, name, lang, voip, pay, &err))
			rc = cli_fail(c, &err);
		else if (!c->json)
			printf("account %s updated\n", argv[1]);
		else {
			cm_account a;
			char nic[CM_NIC_MAX + 1];
			cm_strlcpy(nic, argv[1], sizeof nic);
			cm_nic_normalise(nic);
			if (c->st->ops->account_get(c->st, nic, &a, &err))
				rc = cli_fail(c, &err);
			else
				account_print(c, &a);
		}
	}
	g_free(email);
	g_free(lang);
	g_free(voip_s);
	g_free(pay_s);
	g_free(name);
	return rc;
}

int cmd_account_show(cli *c, int argc, char **argv)
{
	cm_account a;
	cm_err err = {0};
	char nic[CM_NIC_MAX + 1];
	int rc = cli_parse(c, &argc, &argv, NULL, "NIC", 1, 1);
	if (rc)
		return rc;
	if (!cm_strlcpy(nic, argv[1], sizeof nic) || !cm_nic_normalise(nic))
		return cli_usage(c, "malformed NIC '%s'", argv[1]);
	if ((rc = cli_open(c, false)))
		return rc;
	if (c->st->ops->account_get(c->st, nic, &a, &err))
		return cli_fail(c, &err);
	account_print(c, &a);
	return 0;
}

int cmd_group_add(cli *c, int argc, char **argv)
{
	char *admin = NULL, *tech = NULL, *billing = NULL;
	GOptionEntry e[] = {
		{"admin", 0, 0, G_OPTION_ARG_STRING, &admin, "admin contact", "NIC"},
		{"tech", 0, 0, G_OPTION_ARG_STRING, &tech, "technical contact", "NIC"},
		{"billing", 0, 0, G_OPTION_ARG_STRING, &billing, "billing contact", "NIC"},
		G_OPTION_ENTRY_NULL,
	};
	cm_group g = {0};
	cm_err err = {0};
	int rc = cli_parse(c, &argc, &argv, e, "GROUP", 1, 1);
	if (rc == 0 && (!admin || !tech || !billing))
		rc = cli_usage(c, "--admin, --tech and --billing are all required");
	if (rc == 0 && (!cm_strlcpy(g.name, argv[1], sizeof g.name) || !cm_strlcpy(g.admin, admin, sizeof g.admin) ||
			!cm_strlcpy(g.tech, tech, sizeof g.tech) || !cm_strlcpy(g.billing, billing, sizeof g.billing)))
		rc = cli_usage(c, "group name or NIC longer than %d characters", CM_NIC_MAX);
	if (rc == 0 && !(rc = cli_open(c, false))) {
		if (core_group_add(&c->core, &g, cm_now(), &err))
			rc = cli_fail(c, &err);
		else if (!c->json)
			printf("group %s added\n", g.name);
		else {
			char *args[] = {argv[0], g.name, NULL};
			rc = cmd_group_show(c, 2, args);
		}
	}
	g_free(admin);
	g_free(tech);
	g_free(billing);
	return rc;
}

int cmd_group_show(cli *c, int argc, char **argv)
{
	cm_group g;
	cm_err err = {0};
	char name[CM_NIC_MAX + 1];
	int rc = cli_parse(c, &argc, &argv, NULL, "GROUP", 1, 1);
	if (rc)
		return rc;
	if (!cm_strlcpy(name, argv[1], sizeof name) || !cm_nic_normalise(name))
		return cli_usage(c, "malformed group name '%s'", argv[1]);
	if (!c->st && (rc = cli_open(c, false)))
		return rc;
	GArray *sv = g_array_new(FALSE, FALSE, sizeof(cm_service));
	if (c->st->ops->group_get(c->st, name, &g, &err) || c->st->ops->service_list(c->st, name, sv, &err)) {
		g_array_free(sv, TRUE);
		return cli_fail(c, &err);
	}
	if (c->json) {
		json_w w;
		json_init(&w);
		group_json_write(&w, &g, sv);
		cli_json_print(&w);
	} else {
		printf("group    %s\nadmin    %s\ntech     %s\nbilling  %s\nservices %u\n", g.name, g.admin, g.tech,
		       g.billing, sv->len);
		for (guint i = 0; i < sv->len; i++) {
			cm_service *s = &g_array_index(sv, cm_service, i);
			printf("  %-30s %s\n", s->name, s->kind);
		}
	}
	g_array_free(sv, TRUE);
	return 0;
}

int cmd_service_add(cli *c, int argc, char **argv)
{
	char *kind = NULL;
	GOptionEntry e[] = {
		{"kind", 0, 0, G_OPTION_ARG_STRING, &kind, "kind of service (default line)", "line|number|alias|fax"},
		G_OPTION_ENTRY_NULL,
	};
	cm_err err = {0};
	int rc = cli_parse(c, &argc, &argv, e, "GROUP SERVICE", 2, 2);
	if (rc == 0 && !(rc = cli_open(c, false))) {
		if (core_service_add(&c->core, argv[1], argv[2], kind ? kind : "line", &err))
			rc = cli_fail(c, &err);
		else if (c->json) {
			json_w w;
			json_init(&w);
			json_obj(&w);
			json_key(&w, "group");
			json_str(&w, argv[1]);
			json_key(&w, "service");
			json_str(&w, argv[2]);
			json_key(&w, "kind");
			json_str(&w, kind ? kind : "line");
			json_obj_end(&w);
			cli_json_print(&w);
		} else
			printf("service %s added to group %s\n", argv[2], argv[1]);
	}
	g_free(kind);
	return rc;
}
