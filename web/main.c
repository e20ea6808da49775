/* main.c - contact-web: options, config, templates, the listening socket
 * (bound as root, then root dropped), the libmicrohttpd daemon and a clean
 * stop on SIGTERM once the requests in flight have been answered. */
#include <errno.h>
#include <grp.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mail.h"
#include "pidfile.h"
#include "web.h"

#ifndef CM_VERSION
#define CM_VERSION "0.1"
#endif

/* Bind and listen on HOST:PORT ("[::1]:8025" for IPv6).  -1 on failure,
 * with the reason in err. */
static int listen_on(const char *spec, cm_err *err)
{
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec) {
		cm_err_set(err, CM_ERR_USAGE, "listen address %s is not HOST:PORT", spec);
		return -1;
	}
	char *host = g_strndup(spec, (gsize)(colon - spec));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
	int rc = getaddrinfo(host, colon + 1, &hints, &res), fd = -1;
	if (rc != 0) {
		cm_err_set(err, CM_ERR_USAGE, "listen address %s: %s", spec, gai_strerror(rc));
		g_free(host);
		return -1;
	}
	for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 512) != 0) {
			cm_err_set(err, CM_ERR_IO, "cannot listen on %s: %s", spec, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	g_free(host);
	return fd;
}

/* Become user (and its groups) for good. */
static bool drop_root(const char *user, cm_err *err)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		cm_err_set(err, CM_ERR_USAGE, "no such user %s", user);
		return false;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
		cm_err_set(err, CM_ERR_IO, "cannot become %s: %s", user, strerror(errno));
		return false;
	}
	if (pw->pw_uid != 0 && setuid(0) == 0) {
		cm_err_set(err, CM_ERR_INTERNAL, "root could be regained after becoming %s", user);
		return false;
	}
	return true;
}

/* scheme://host[:port] of base_url, lower case, without the default port:
 * what a browser puts in Origin. */
static char *origin_of(const char *base)
{
	const char *sep = strstr(base, "://");
	const char *host = sep ? sep + 3 : base;
	size_t n = strcspn(host, "/?#");
	char *o = g_ascii_strdown(base, (gssize)(host - base + (gssize)n));
	if (g_str_has_prefix(o, "https://") && g_str_has_suffix(o, ":443"))
		o[strlen(o) - 4] = '\0';
	else if (g_str_has_prefix(o, "http://") && g_str_has_suffix(o, ":80"))
		o[strlen(o) - 3] = '\0';
	return o;
}

/* SIGHUP: the page templates again (a broken one keeps the old ones); the
 * rest of the configuration is read at start only. */
static void reload_templates(web_app *app)
{
	web_templates fresh;
	cm_err err = {0};
	if (wtemplates_load(app->cfg, &fresh, &err) != CM_OK) {
		wlog(LOG_ERR, "SIGHUP: keeping the page templates in use: %s", err.msg);
		wtemplates_free(&fresh);
		return;
	}
	g_rw_lock_writer_lock(&app->tpl_lock);
	web_templates old = app->tpl;
	app->tpl = fresh;
	g_rw_lock_writer_unlock(&app->tpl_lock);
	wtemplates_free(&old);
	wlog(LOG_NOTICE, "SIGHUP: page templates read again from %s (other settings need a restart)",
	     app->cfg->templates_dir);
}

static unsigned current_connections(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return i ? i->num_connections : 0;
}

int main(int argc, char **argv)
{
	char *conf_path = NULL, *listen_spec = NULL, *user = NULL, *pid_path = NULL;
	gboolean foreground = FALSE, check = FALSE, version = FALSE;
	GOptionEntry entries[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
		{"foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "stay in the foreground, log to stderr", NULL},
		{"listen", 'l', 0, G_OPTION_ARG_STRING, &listen_spec, "address to listen on", "HOST:PORT"},
		{"user", 'u', 0, G_OPTION_ARG_STRING, &user, "user to become once the socket is open", "USER"},
		{"pid-file", 'P', 0, G_OPTION_ARG_FILENAME, &pid_path, "write and lock a pid file (a second instance refuses)",
		 "PIDFILE"},
		{"check", 'n', 0, G_OPTION_ARG_NONE, &check, "check the configuration and exit", NULL},
		{"version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL},
		G_OPTION_ENTRY_NULL,
	};
	GOptionContext *octx = g_option_context_new("- the page behind the validation e-mail's link");
	GError *gerr = NULL;
	cm_config *cfg = NULL;
	cm_err err = {0};
	web_app app = {0};
	cm_write_lock write_lock;
	int rc = 1, fd = -1, pid_fd = -1;

	cm_write_lock_init(&write_lock);
	g_rw_lock_init(&app.tpl_lock);
	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &gerr)) {
		fprintf(stderr, "contact-web: %s\n", gerr->message);
		g_error_free(gerr);
		goto out;
	}
	if (version) {
		printf("contact-web %s (libmicrohttpd %s)\n", CM_VERSION, MHD_get_version());
		rc = 0;
		goto out;
	}
	if (argc > 1) {
		fprintf(stderr, "contact-web: unexpected argument '%s'\n", argv[1]);
		goto out;
	}
	if (config_load(config_path(conf_path), &cfg, &err) != CM_OK) {
		fprintf(stderr, "contact-web: %s\n", err.msg);
		goto out;
	}
	if (listen_spec) {
		g_free(cfg->web_listen);
		cfg->web_listen = g_strdup(listen_spec);
	}
	mail_init();
	{
		cm_store *st = NULL;
		cm_store_opts o = {.busy_timeout = cfg->store_busy_timeout * 1000};
		cm_status s = store_open(cfg->store_path, &o, &st, &err);
		/* A database server that is down is not a broken setup: the page
		 * answers 503 (and /healthz says so) until it is back (SPEC §5). */
		bool remote_down = !check && g_str_has_prefix(cfg->store_path, "postgres") &&
				   (s == CM_ERR_IO || s == CM_ERR_BUSY);
		if (s != CM_OK && !remote_down) {
			fprintf(stderr, "contact-web: %s\n", err.msg);
			goto out;
		}
		if (remote_down)
			fprintf(stderr, "contact-web: warning: the store is unreachable for now: %s\n", err.msg);
		store_close(st);
	}
	app.cfg = cfg;
	if (wtemplates_load(cfg, &app.tpl, &err) != CM_OK || mail_check_templates(cfg, &err) != CM_OK) {
		fprintf(stderr, "contact-web: %s\n", err.msg);
		goto out;
	}
	if (check) {
		printf("contact-web: configuration %s OK (listen %s, base_url %s, store %s)\n", cfg->path,
		       cfg->web_listen, cfg->web_base_url, cfg->store_path);
		rc = 0;
		goto out;
	}
	if (geteuid() == 0 && !user) {
		fprintf(stderr, "contact-web: refusing to run as root; name a user with -u USER\n");
		goto out;
	}
	if (pid_path && pidfile_lock(pid_path, "contact-web", &pid_fd, &err) != CM_OK) {
		fprintf(stderr, "contact-web: %s\n", err.msg);
		goto out;
	}
	if ((fd = listen_on(cfg->web_listen, &err)) < 0) {
		fprintf(stderr, "contact-web: %s\n", err.msg);
		goto out;
	}
	if (user && !drop_root(user, &err)) {
		fprintf(stderr, "contact-web: %s\n", err.msg);
		goto out;
	}
	if (cfg->secret_len > 0) {
		memcpy(app.key, cfg->secret, cfg->secret_len);
		app.key_len = cfg->secret_len;
	} else if (getrandom(app.key, 32, 0) == 32) {
		app.key_len = 32;
	} else {
		fprintf(stderr, "contact-web: no random bytes for the form key: %s\n", strerror(errno));
		goto out;
	}
	app.origin = origin_of(cfg->web_base_url);
	wlog_init(foreground, cfg->log_facility);
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "contact-web: cannot detach: %s\n", strerror(errno));
		goto out;
	}
	if (pid_fd >= 0 && pidfile_write(pid_fd, pid_path, &err) != CM_OK) {
		wlog(LOG_ERR, "%s", err.msg);
		goto out;
	}

	/* The daemon's threads inherit this mask: only main() takes the signals. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	unsigned threads = cfg->store_pool_size > 0 && cfg->store_pool_size < 256 ? (unsigned)cfg->store_pool_size : 8;
	app.pool = wpool_new(cfg, (int)threads, &write_lock);
	struct MHD_Daemon *d = web_start(&app, fd, threads);
	if (!d) {
		wlog(LOG_ERR, "cannot start the HTTP daemon on %s", cfg->web_listen);
		goto out;
	}
	wlog(LOG_INFO, "listening on %s (%u threads), base_url %s, store %s", cfg->web_listen, threads,
	     cfg->web_base_url, cfg->store_path);
	if (!cfg->web_trusted_proxy[0] &&
	    (g_str_has_prefix(cfg->web_listen, "127.") || g_str_has_prefix(cfg->web_listen, "[::1]") ||
	     g_str_has_prefix(cfg->web_listen, "localhost:")))
		wlog(LOG_WARNING, "listening on loopback without web.trusted_proxy: behind a reverse proxy every "
				  "client counts as the proxy's address for policy.max_failures");
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload_templates(&app);
			continue;
		}
		break;
	}
	/* Stop accepting, let the requests in flight be answered (answers now
	 * close their connection), then stop. */
	app.stopping = 1;
	MHD_socket lfd = MHD_quiesce_daemon(d);
	for (int i = 0; i < 100 && current_connections(d) > 0; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	if (lfd != MHD_INVALID_SOCKET)
		close(lfd);
	fd = -1;
	wlog(LOG_INFO, "stopped");
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (pid_fd >= 0) {
		if (rc == 0 && pid_path)
			unlink(pid_path);
		close(pid_fd);
	}
	g_free(pid_path);
	wpool_free(app.pool);
	wtemplates_free(&app.tpl);
	g_free(app.origin);
	cm_write_lock_clear(&write_lock);
	g_rw_lock_clear(&app.tpl_lock);
	config_free(cfg);
	g_free(conf_path);
	g_free(listen_spec);
	g_free(user);
	g_option_context_free(octx);
	return rc;
}
