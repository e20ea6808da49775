/* main.c - contact-milter: options, config, the milter socket, and the two
 * worker threads (outbox delivery, expiry sweep) that stop with it. */
#include <errno.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mail.h"
#include "milter.h"
#include "outbox.h"
#include "request.h"

typedef struct {
	const cm_config *cfg;
	gint *stop;
	GMutex *write_lock;
} worker_arg;

static void nap(gint *stop, int64_t seconds)
{
	for (int64_t i = 0; i < seconds * 5 && !g_atomic_int_get(stop); i++) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static cm_store *worker_store(const cm_config *cfg, gint *stop, GMutex *write_lock, const char *who)
{
	cm_store_opts o = {.busy_timeout = cfg->store_busy_timeout * 1000, .write_lock = write_lock};
	while (!g_atomic_int_get(stop)) {
		cm_store *st = NULL;
		cm_err err = {0};
		if (store_open(cfg->store_path, &o, &st, &err) == CM_OK)
			return st;
		mlog(LOG_ERR, "%s: cannot open the store, retrying in 10s: %s", who, err.msg);
		nap(stop, 10);
	}
	return NULL;
}

static void *outbox_thread(void *p)
{
	worker_arg *a = p;
	cm_store *st = worker_store(a->cfg, a->stop, a->write_lock, "outbox");
	while (st && !g_atomic_int_get(a->stop)) {
		cm_err err = {0};
		cm_deliver_stats stats;
		if (outbox_deliver(st, a->cfg, false, a->stop, mlog, &stats, &err) != CM_OK) {
			mlog(LOG_ERR, "outbox: %s; retrying in %llds", err.msg, (long long)a->cfg->smtp_retry_min);
			nap(a->stop, a->cfg->smtp_retry_min);
		}
	}
	store_close(st);
	return NULL;
}

static void *sweep_thread(void *p)
{
	worker_arg *a = p;
	cm_store *st = worker_store(a->cfg, a->stop, a->write_lock, "expiry");
	while (st && !g_atomic_int_get(a->stop)) {
		cm_core core = {st, a->cfg};
		cm_err err = {0};
		int n = 0, reminded = 0;
		if (core_sweep(&core, cm_now(), &n, &reminded, &err) != CM_OK)
			mlog(LOG_ERR, "sweep: %s", err.msg);
		if (n)
			mlog(LOG_INFO, "expiry: %d request%s expired", n, n == 1 ? "" : "s");
		if (reminded)
			mlog(LOG_INFO, "reminders: %d queued", reminded);
		nap(a->stop, a->cfg->sweep_interval);
	}
	store_close(st);
	return NULL;
}

/* A unix socket must be reachable by Postfix's smtpd (user postfix). */
static void socket_permissions(const char *conn)
{
	const char *path = NULL;
	if (strncmp(conn, "unix:", 5) == 0)
		path = conn + 5;
	else if (strncmp(conn, "local:", 6) == 0)
		path = conn + 6;
	else if (conn[0] == '/')
		path = conn;
	if (!path)
		return;
	struct group *g = getgrnam("postfix");
	if (g && chown(path, (uid_t)-1, g->gr_gid) != 0)
		mlog(LOG_WARNING, "cannot give %s to group postfix: %s", path, strerror(errno));
	if (chmod(path, g ? 0660 : 0666) != 0)
		mlog(LOG_WARNING, "cannot set the mode of %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
	char *conf_path = NULL, *sock = NULL;
	gboolean foreground = FALSE, check = FALSE;
	GOptionEntry entries[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
		{"foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "stay in the foreground, log to stderr", NULL},
		{"socket", 'p', 0, G_OPTION_ARG_STRING, &sock, "milter socket (unix:PATH or inet:PORT@HOST)", "SOCKET"},
		{"check", 'n', 0, G_OPTION_ARG_NONE, &check, "check the configuration and exit", NULL},
		G_OPTION_ENTRY_NULL,
	};
	GOptionContext *octx = g_option_context_new("- the contact-change milter");
	GError *gerr = NULL;
	cm_config *cfg = NULL;
	cm_err err = {0};
	int rc = 1;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &gerr)) {
		fprintf(stderr, "contact-milter: %s\n", gerr->message);
		g_error_free(gerr);
		goto out;
	}
	if (argc > 1) {
		fprintf(stderr, "contact-milter: unexpected argument '%s'\n", argv[1]);
		goto out;
	}
	if (config_load(config_path(conf_path), &cfg, &err) != CM_OK) {
		fprintf(stderr, "contact-milter: %s\n", err.msg);
		goto out;
	}
	if (sock) {
		g_free(cfg->milter_socket);
		cfg->milter_socket = g_strdup(sock);
	}
	mail_init();
	outbox_global_init();
	{
		cm_store *st = NULL;
		cm_store_opts o = {.busy_timeout = cfg->store_busy_timeout * 1000};
		if (store_open(cfg->store_path, &o, &st, &err) != CM_OK) {
			fprintf(stderr, "contact-milter: %s\n", err.msg);
			goto out;
		}
		store_close(st);
	}
	if (check) {
		printf("contact-milter: configuration %s OK (socket %s, store %s)\n", cfg->path, cfg->milter_socket,
		       cfg->store_path);
		rc = 0;
		goto out;
	}
	mlog_init(foreground);
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "contact-milter: cannot detach: %s\n", strerror(errno));
		goto out;
	}

	/* One write lock for every store connection of this process. */
	GMutex write_lock;
	g_mutex_init(&write_lock);
	milter_app app = {cfg, pool_new(cfg, 32, &write_lock), strcmp(cfg->on_processed, "deliver") == 0};
	if (smfi_register(*milter_callbacks(&app)) != MI_SUCCESS || smfi_setconn(cfg->milter_socket) != MI_SUCCESS) {
		mlog(LOG_ERR, "cannot register with libmilter on %s", cfg->milter_socket);
		pool_free(app.pool);
		goto out;
	}
	mode_t old = umask(0007);
	int opened = smfi_opensocket(1); /* 1: remove a stale socket left by a killed daemon */
	umask(old);
	if (opened != MI_SUCCESS) {
		mlog(LOG_ERR, "cannot open the milter socket %s", cfg->milter_socket);
		pool_free(app.pool);
		goto out;
	}
	socket_permissions(cfg->milter_socket);

	/* libmilter's own thread waits for SIGTERM/SIGINT/SIGHUP with sigwait:
	 * our workers must have them blocked too, or one could take the signal. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	gint stop = 0;
	worker_arg wa = {cfg, &stop, &write_lock};
	pthread_t outbox_t, sweep_t;
	pthread_create(&outbox_t, NULL, outbox_thread, &wa);
	pthread_create(&sweep_t, NULL, sweep_thread, &wa);
	mlog(LOG_INFO, "listening on %s, store %s", cfg->milter_socket, cfg->store_path);

	rc = smfi_main() == MI_SUCCESS ? 0 : 1;

	g_atomic_int_set(&stop, 1);
	pthread_join(outbox_t, NULL);
	pthread_join(sweep_t, NULL);
	pool_free(app.pool);
	mlog(LOG_INFO, "stopped");
out:
	config_free(cfg);
	g_free(conf_path);
	g_free(sock);
	g_option_context_free(octx);
	return rc;
}
