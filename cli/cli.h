/* cli.h - what contactctl's commands share: options, config, store, output. */
#ifndef CLI_H
#define CLI_H

#include <glib.h>

#include "cm.h"
#include "config.h"
#include "json.h"
#include "request.h"
#include "store.h"

typedef struct {
	char *config_path; /* -c */
	gboolean json;     /* --json */
	cm_config *cfg;
	cm_store *st;
	cm_core core;
	const char *name; /* "request create", for messages */
} cli;

typedef int (*cli_cmd_fn)(cli *c, int argc, char **argv);

/* Parse the command's options and positional arguments (between min and
 * max of them; params names them for --help).  -c and --json are accepted
 * here as well.  On return, argv[1..*argc-1] are the positionals.  Returns 0
 * or the exit code of a usage error (already reported). */
int cli_parse(cli *c, int *argc, char ***argv, GOptionEntry *entries, const char *params, int min, int max);

/* Load the config and open the store (create: contactctl init).  Returns 0
 * or the exit code (already reported). */
int cli_open(cli *c, bool create);

/* Load the config only (commands that need no store).  0 or exit code. */
int cli_config(cli *c);

/* Report err on stderr and return its exit code. */
int cli_fail(cli *c, const cm_err *err);
/* Report a usage error and return 1. */
int cli_usage(cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A request id from the command line, or 0 (reported) when malformed. */
int64_t cli_id(cli *c, const char *s);
/* "yes"/"no" into *out; false if neither. */
bool cli_yesno(const char *s, int *out);
/* Print w's document to stdout. */
void cli_json_print(json_w *w);

int cmd_init(cli *c, int argc, char **argv);
int cmd_account_add(cli *c, int argc, char **argv);
int cmd_account_set(cli *c, int argc, char **argv);
int cmd_account_show(cli *c, int argc, char **argv);
int cmd_group_add(cli *c, int argc, char **argv);
int cmd_group_show(cli *c, int argc, char **argv);
int cmd_service_add(cli *c, int argc, char **argv);
int cmd_request_create(cli *c, int argc, char **argv);
int cmd_request_list(cli *c, int argc, char **argv);
int cmd_request_show(cli *c, int argc, char **argv);
int cmd_request_accept(cli *c, int argc, char **argv);
int cmd_request_refuse(cli *c, int argc, char **argv);
int cmd_request_resend(cli *c, int argc, char **argv);
int cmd_request_cancel(cli *c, int argc, char **argv);
int cmd_expire(cli *c, int argc, char **argv);
int cmd_outbox_list(cli *c, int argc, char **argv);
int cmd_outbox_show(cli *c, int argc, char **argv);
int cmd_outbox_deliver(cli *c, int argc, char **argv);
int cmd_log(cli *c, int argc, char **argv);
int cmd_parse(cli *c, int argc, char **argv);

#endif
