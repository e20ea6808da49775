/* contactctl.c - the operator's tool: global options, command dispatch and
 * the helpers commands share.  All rules live in the core. */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"
#include "outbox.h"

typedef struct {
	const char *w1, *w2; /* "request", "create"; w2 NULL for one-word commands */
	cli_cmd_fn fn;
	const char *synopsis;
} command;

static const command commands[] = {
	{"init", NULL, cmd_init, "init"},
	{"account", "add", cmd_account_add, "account add NIC --email ADDR [--lang fr|en] [--voip-validated] [--payments-ok]"},
	{"account", "set", cmd_account_set,
	 "account set NIC [--email ADDR] [--lang L] [--voip-validated yes|no] [--payments-ok yes|no]"},
	{"account", "show", cmd_account_show, "account show NIC"},
	{"group", "add", cmd_group_add, "group add GROUP --admin NIC --tech NIC --billing NIC"},
	{"group", "show", cmd_group_show, "group show GROUP"},
	{"service", "add", cmd_service_add, "service add GROUP SERVICE [--kind line|number|alias|fax]"},
	{"request", "create", cmd_request_create, "request create GROUP --by NIC [--admin NIC] [--tech NIC] [--billing NIC]"},
	{"request", "list", cmd_request_list, "request list [--nic NIC] [--state STATE]"},
	{"request", "show", cmd_request_show, "request show ID"},
	{"request", "accept", cmd_request_accept, "request accept ID --token TOKEN"},
	{"request", "refuse", cmd_request_refuse, "request refuse ID --token TOKEN [--report]"},
	{"request", "resend", cmd_request_resend, "request resend ID [--by NIC] [--nic NIC]"},
	{"request", "cancel", cmd_request_cancel, "request cancel ID --by NIC"},
	{"expire", NULL, cmd_expire, "expire             (expiry and reminders, as the milter sweeps)"},
	{"outbox", "list", cmd_outbox_list, "outbox list [--state queued|sent|failed|bounced]"},
	{"outbox", "show", cmd_outbox_show, "outbox show ID"},
	{"outbox", "deliver", cmd_outbox_deliver, "outbox deliver [--once]"},
	{"parse", NULL, cmd_parse, "parse [FILE|-]"},
	{"log", NULL, cmd_log, "log ID"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage_all(FILE *f)
{
	fprintf(f, "usage: contactctl [-c FILE] [--json] COMMAND ...\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s\n", commands[i].synopsis);
	fprintf(f, "exit codes: 0 done, 1 usage, 2 refused by a rule, 3 not found, 4 temporary failure\n");
}

int cli_fail(cli *c, const cm_err *err)
{
	fprintf(stderr, "contactctl%s%s: %s\n", c->name ? " " : "", c->name ? c->name : "",
		err->msg[0] ? err->msg : cm_status_str(err->status));
	return cm_status_exit(err->status);
}

int cli_usage(cli *c, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "contactctl%s%s: ", c->name ? " " : "", c->name ? c->name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

int cli_parse(cli *c, int *argc, char ***argv, GOptionEntry *entries, const char *params, int min, int max)
{
	GOptionEntry common[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &c->config_path, "configuration file", "FILE"},
		{"json", 0, 0, G_OPTION_ARG_NONE, &c->json, "print one JSON document", NULL},
		G_OPTION_ENTRY_NULL,
	};
	GOptionContext *ctx = g_option_context_new(params);
	GError *gerr = NULL;
	int rc = 0;
	char *old_config = c->config_path;
	c->config_path = NULL;
	g_option_context_set_help_enabled(ctx, TRUE);
	if (entries)
		g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_add_main_entries(ctx, common, NULL);
	if (!g_option_context_parse(ctx, argc, argv, &gerr)) {
		rc = cli_usage(c, "%s", gerr->message);
		g_error_free(gerr);
	} else if (*argc - 1 < min || *argc - 1 > max) {
		rc = cli_usage(c, "expected %s", params && *params ? params : "no argument");
	}
	for (int i = 1; rc == 0 && i < *argc; i++)
		if ((*argv)[i][0] == '-' && (*argv)[i][1] != '\0')
			rc = cli_usage(c, "unknown option '%s'", (*argv)[i]);
	if (c->config_path)
		g_free(old_config);
	else
		c->config_path = old_config;
	g_option_context_free(ctx);
	return rc;
}

int cli_config(cli *c)
{
	cm_err err = {0};
	if (!c->cfg && config_load(config_path(c->config_path), &c->cfg, &err))
		return cli_fail(c, &err);
	return 0;
}

int cli_open(cli *c, bool create)
{
	cm_err err = {0};
	cm_status st;
	int rc = cli_config(c);
	if (rc)
		return rc;
	cm_store_opts opts = {.create = create, .busy_timeout = c->cfg->store_busy_timeout * 1000};
	if ((st = store_open(c->cfg->store_path, &opts, &c->st, &err)))
		return cli_fail(c, &err);
	c->core.st = c->st;
	c->core.cfg = c->cfg;
	return 0;
}

int64_t cli_id(cli *c, const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v <= 0) {
		cli_usage(c, "malformed request id '%s': expected a positive number", s);
		return 0;
	}
	return v;
}

bool cli_yesno(const char *s, int *out)
{
	if (g_ascii_strcasecmp(s, "yes") == 0 || strcmp(s, "1") == 0 || g_ascii_strcasecmp(s, "true") == 0)
		*out = 1;
	else if (g_ascii_strcasecmp(s, "no") == 0 || strcmp(s, "0") == 0 || g_ascii_strcasecmp(s, "false") == 0)
		*out = 0;
	else
		return false;
	return true;
}

void cli_json_print(json_w *w)
{
	char *s = json_finish(w);
	fputs(s, stdout);
	g_free(s);
}

int main(int argc, char **argv)
{
	cli c = {0};
	GOptionEntry global[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &c.config_path, "configuration file", "FILE"},
		{"json", 0, 0, G_OPTION_ARG_NONE, &c.json, "print one JSON document", NULL},
		G_OPTION_ENTRY_NULL,
	};
	GOptionContext *ctx = g_option_context_new("COMMAND ...");
	GError *gerr = NULL;
	int rc = 1;

	g_option_context_set_strict_posix(ctx, TRUE);
	g_option_context_set_help_enabled(ctx, FALSE);
	g_option_context_add_main_entries(ctx, global, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &gerr)) {
		fprintf(stderr, "contactctl: %s\n", gerr->message);
		usage_all(stderr);
		g_error_free(gerr);
		goto out;
	}
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage_all(argc < 2 ? stderr : stdout);
		rc = argc < 2 ? 1 : 0;
		goto out;
	}
	const command *cmd = NULL;
	for (size_t i = 0; i < NCOMMANDS && !cmd; i++) {
		if (strcmp(commands[i].w1, argv[1]) != 0)
			continue;
		if (!commands[i].w2 || (argc > 2 && strcmp(commands[i].w2, argv[2]) == 0))
			cmd = &commands[i];
	}
	if (!cmd) {
		fprintf(stderr, "contactctl: unknown command '%s%s%s'\n", argv[1], argc > 2 ? " " : "",
			argc > 2 && argv[2][0] != '-' ? argv[2] : "");
		usage_all(stderr);
		goto out;
	}
	int skip = cmd->w2 ? 2 : 1;
	char *name = g_strdup_printf("%s%s%s", cmd->w1, cmd->w2 ? " " : "", cmd->w2 ? cmd->w2 : "");
	c.name = name;
	/* Hand the command an argv whose [0] is its own name. */
	argv[skip] = name;
	mail_init();
	outbox_global_init();
	rc = cmd->fn(&c, argc - skip, argv + skip);
	store_close(c.st);
	config_free(c.cfg);
	g_free(name);
out:
	g_free(c.config_path);
	g_option_context_free(ctx);
	return rc;
}
