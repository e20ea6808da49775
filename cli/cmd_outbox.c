/* cmd_outbox.c - the outbox and the audit trail. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "outbox.h"

int cmd_outbox_list(cli *c, int argc, char **argv)
{
	char *state_s = NULL;
	GOptionEntry e[] = {
		{"state", 0, 0, G_OPTION_ARG_STRING, &state_s, "only mail in this state", "queued|sending|sent|failed|bounced|withdrawn"},
		G_OPTION_ENTRY_NULL,
	};
	cm_err err = {0};
	int state = -1;
	GArray *list = g_array_new(FALSE, FALSE, sizeof(cm_outbox_item));
	int rc = cli_parse(c, &argc, &argv, e, "", 0, 0);
	if (rc == 0 && state_s && (state = cm_out_state_parse(state_s)) < 0)
		rc = cli_usage(c, "unknown state '%s': expected queued, sending, sent, failed, bounced or withdrawn", state_s);
	if (rc == 0 && !(rc = cli_open(c, false))) {
		if (c->st->ops->outbox_list(c->st, state, 0, list, &err)) {
			rc = cli_fail(c, &err);
		} else if (c->json) {
			json_w w;
			json_init(&w);
			json_arr(&w);
			for (guint i = 0; i < list->len; i++) {
				cm_outbox_item *it = &g_array_index(list, cm_outbox_item, i);
				json_obj(&w);
				json_key(&w, "id");
				json_int(&w, it->id);
				json_key(&w, "request");
				if (it->request_id)
					json_int(&w, it->request_id);
				else
					json_null(&w);
				json_key(&w, "to");
				json_str(&w, it->rcpt);
				json_key(&w, "kind");
				json_str(&w, cm_mail_kind_str(it->kind));
				json_key(&w, "state");
				json_str(&w, cm_out_state_str(it->state));
				json_key(&w, "attempts");
				json_int(&w, it->attempts);
				json_key(&w, "next_attempt_at");
				json_time(&w, it->state == CM_OUT_QUEUED ? it->next_attempt_at : 0);
				json_key(&w, "last_error");
				json_str(&w, it->last_error[0] ? it->last_error : NULL);
				json_obj_end(&w);
			}
			json_arr_end(&w);
			cli_json_print(&w);
		} else {
			printf("%-6s %-7s %-32s %-10s %-8s %-8s %s\n", "ID", "REQUEST", "TO", "KIND", "STATE", "ATTEMPTS",
			       "LAST ERROR");
			for (guint i = 0; i < list->len; i++) {
				cm_outbox_item *it = &g_array_index(list, cm_outbox_item, i);
				printf("%-6lld %-7lld %-32s %-10s %-8s %-8d %s\n", (long long)it->id,
				       (long long)it->request_id, it->rcpt, cm_mail_kind_str(it->kind),
				       cm_out_state_str(it->state), it->attempts, it->last_error);
			}
		}
	}
	g_array_free(list, TRUE);
	g_free(state_s);
	return rc;
}

int cmd_outbox_show(cli *c, int argc, char **argv)
{
	cm_outbox_item it;
	cm_err err = {0};
	char *msg = NULL;
	int rc = cli_parse(c, &argc, &argv, NULL, "ID", 1, 1);
	int64_t id = rc ? 0 : cli_id(c, argv[1]);
	if (rc || !id)
		return rc ? rc : 1;
	if ((rc = cli_open(c, false)))
		return rc;
	if (c->st->ops->outbox_get(c->st, id, &it, &msg, &err))
		return cli_fail(c, &err);
	/* The message as it is (or will be) sent: composed from its recipe
	 * if it has not been sent yet, and the token, never stored, recomputed
	 * in place of its placeholder. */
	char *full = NULL;
	cm_status rs = outbox_render(c->cfg, &it, msg, &full, &err);
	if (rs == CM_OK && !it.sender[0] && it.kind != CM_MAIL_EVENT)
		rs = outbox_bounce_address(c->cfg, it.id, it.sender, &err);
	g_free(msg);
	if (rs)
		return cli_fail(c, &err);
	msg = full;
	if (c->json) {
		json_w w;
		json_init(&w);
		json_obj(&w);
		json_key(&w, "id");
		json_int(&w, it.id);
		json_key(&w, "sender");
		json_str(&w, it.sender);
		json_key(&w, "to");
		json_str(&w, it.rcpt);
		json_key(&w, "message");
		json_str(&w, msg);
		json_obj_end(&w);
		cli_json_print(&w);
	} else {
		fputs(msg, stdout);
	}
	g_free(msg);
	return 0;
}

static gint stop_int;

static void on_signal(int sig)
{
	(void)sig;
	g_atomic_int_set(&stop_int, 1);
}

static void log_stderr(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void log_stderr(int prio, const char *fmt, ...)
{
	va_list ap;
	/* Retries and failures only: the sends are counted on stdout. */
	if (prio > 4 /* LOG_WARNING */)
		return;
	fputs("contactctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cmd_outbox_deliver(cli *c, int argc, char **argv)
{
	gboolean once = FALSE;
	GOptionEntry e[] = {
		{"once", 0, 0, G_OPTION_ARG_NONE, &once, "send what is due now, then stop", NULL},
		G_OPTION_ENTRY_NULL,
	};
	cm_err err = {0};
	cm_deliver_stats stats;
	int rc = cli_parse(c, &argc, &argv, e, "", 0, 0);
	if (rc || (rc = cli_open(c, false)))
		return rc;
	if (!once) {
		struct sigaction sa = {0};
		sa.sa_handler = on_signal;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	cm_status st = outbox_deliver(c->st, c->cfg, once, &stop_int, log_stderr, &stats, &err);
	if (c->json) {
		json_w w;
		json_init(&w);
		json_obj(&w);
		json_key(&w, "sent");
		json_int(&w, stats.sent);
		json_key(&w, "retried");
		json_int(&w, stats.retried);
		json_key(&w, "failed");
		json_int(&w, stats.failed);
		json_key(&w, "error");
		json_str(&w, st ? err.msg : NULL);
		json_obj_end(&w);
		cli_json_print(&w);
	} else {
		printf("%d sent, %d to retry, %d failed\n", stats.sent, stats.retried, stats.failed);
	}
	return st ? cli_fail(c, &err) : 0;
}

int cmd_log(cli *c, int argc, char **argv)
{
	cm_err err = {0};
	cm_request r;
	int rc = cli_parse(c, &argc, &argv, NULL, "ID", 1, 1);
	int64_t id = rc ? 0 : cli_id(c, argv[1]);
	if (rc || !id)
		return rc ? rc : 1;
	if ((rc = cli_open(c, false)))
		return rc;
	GArray *list = g_array_new(FALSE, FALSE, sizeof(cm_audit));
	if (c->st->ops->request_get(c->st, id, &r, &err) || c->st->ops->audit_list(c->st, id, list, &err)) {
		g_array_free(list, TRUE);
		return cli_fail(c, &err);
	}
	json_w w;
	if (c->json) {
		json_init(&w);
		json_arr(&w);
	}
	for (guint i = 0; i < list->len; i++) {
		cm_audit *a = &g_array_index(list, cm_audit, i);
		char t[32];
		if (c->json) {
			json_obj(&w);
			json_key(&w, "at");
			json_time(&w, a->at);
			json_key(&w, "actor");
			json_str(&w, a->actor);
			json_key(&w, "action");
			json_str(&w, a->action);
			json_key(&w, "detail");
			json_str(&w, a->detail);
			json_obj_end(&w);
		} else {
			printf("%s  %-16s %-10s %s\n", cm_time_format(a->at, t, sizeof t), a->actor, a->action, a->detail);
		}
	}
	if (c->json) {
		json_arr_end(&w);
		cli_json_print(&w);
	}
	g_array_free(list, TRUE);
	return 0;
}
