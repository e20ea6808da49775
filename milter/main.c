/* main.c - contact-milter: options and start-up checks, the pid file, the
 * milter socket, dropping root, the two worker threads (outbox delivery,
 * expiry sweep), signals (SIGHUP reloads the configuration, SIGTERM and
 * SIGINT stop) and a shutdown that lets the sessions in flight finish before
 * anything they use is freed. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <gmime/gmime.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mail.h"
#include "milter.h"
#include "outbox.h"
#include "pidfile.h"
#include "request.h"
#include "version.h"

/* How long SIGTERM waits for the sessions in flight. */
#define SHUTDOWN_WAIT_S 20 /* + up to 5 s for libmilter's listener to notice: under systemd's 30 s */

/* ---- The configuration in force, the sessions, shutdown ---- */

/* Debian's libmilter runs sessions on a pool of workers.  At smfi_stop its
 * controller closes every session still open without calling the close
 * callback, even one a worker is running.  So SIGTERM first drains: no
 * new end-of-message work (451), and a bounded wait for the sessions to
 * end; only then smfi_stop, with nothing left for libmilter to cut short. */
struct milter_cfgs {
	GMutex lock;
	GCond changed;      /* a session ended, or an end-of-message finished */
	cm_config *current;
	GHashTable *refs;   /* cm_config * -> references held (GINT_TO_POINTER) */
	GHashTable *sessions; /* the callbacks' state of each open session */
	int in_eom;         /* threads inside end-of-message work */
	bool draining;      /* shutdown has begun: no new end-of-message work */
};

/* Both with c->lock held. */
static const cm_config *cfg_hold(milter_cfgs *c)
{
	int n = GPOINTER_TO_INT(g_hash_table_lookup(c->refs, c->current));
	g_hash_table_insert(c->refs, c->current, GINT_TO_POINTER(n + 1));
	return c->current;
}

static void cfg_unhold(milter_cfgs *c, const cm_config *cfg)
{
	cm_config *k = (cm_config *)cfg;
	int n = GPOINTER_TO_INT(g_hash_table_lookup(c->refs, k)) - 1;
	if (n > 0) {
		g_hash_table_insert(c->refs, k, GINT_TO_POINTER(n));
		return;
	}
	g_hash_table_remove(c->refs, k);
	if (k != c->current)
		config_free(k); /* replaced by a reload, and its last user is done */
}

const cm_config *app_session_begin(const milter_app *app, void *session)
{
	milter_cfgs *c = app->cfgs;
	g_mutex_lock(&c->lock);
	g_hash_table_add(c->sessions, session);
	const cm_config *cfg = cfg_hold(c);
	g_mutex_unlock(&c->lock);
	return cfg;
}

void app_session_end(const milter_app *app, void *session, const cm_config *cfg)
{
	milter_cfgs *c = app->cfgs;
	g_mutex_lock(&c->lock);
	cfg_unhold(c, cfg);
	g_hash_table_remove(c->sessions, session);
	g_cond_broadcast(&c->changed);
	g_mutex_unlock(&c->lock);
}

const cm_config *app_cfg_refresh(const milter_app *app, const cm_config *cfg)
{
	milter_cfgs *c = app->cfgs;
	g_mutex_lock(&c->lock);
	if (cfg != c->current) {
		cfg_unhold(c, cfg);
		cfg = cfg_hold(c);
	}
	g_mutex_unlock(&c->lock);
	return cfg;
}

bool app_eom_enter(const milter_app *app)
{
	milter_cfgs *c = app->cfgs;
	g_mutex_lock(&c->lock);
	bool ok = !c->draining;
	if (ok)
		c->in_eom++;
	g_mutex_unlock(&c->lock);
	return ok;
}

void app_eom_leave(const milter_app *app)
{
	milter_cfgs *c = app->cfgs;
	g_mutex_lock(&c->lock);
	c->in_eom--;
	g_cond_broadcast(&c->changed);
	g_mutex_unlock(&c->lock);
}

const cm_config *app_cfg_acquire(const milter_app *app)
{
	g_mutex_lock(&app->cfgs->lock);
	const cm_config *cfg = cfg_hold(app->cfgs);
	g_mutex_unlock(&app->cfgs->lock);
	return cfg;
}

void app_cfg_release(const milter_app *app, const cm_config *cfg)
{
	g_mutex_lock(&app->cfgs->lock);
	cfg_unhold(app->cfgs, cfg);
	g_mutex_unlock(&app->cfgs->lock);
}

/* Make cfg the configuration in force; the old one is freed once the last
 * session or worker holding it lets go. */
static void cfgs_swap(milter_cfgs *c, cm_config *cfg)
{
	g_mutex_lock(&c->lock);
	cm_config *old = c->current;
	c->current = cfg;
	if (!g_hash_table_contains(c->refs, old))
		config_free(old);
	g_mutex_unlock(&c->lock);
}

/* Shutdown: no new end-of-message work from now on; wait until no thread
 * is inside one and, if all_sessions, until every session has ended, for
 * timeout_s at most.  Returns the sessions still open; *in_eom (optional)
 * the end-of-message work still running. */
static int cfgs_drain(milter_cfgs *c, int timeout_s, bool all_sessions, int *in_eom)
{
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_s * G_USEC_PER_SEC;
	g_mutex_lock(&c->lock);
	c->draining = true;
	int open = (int)g_hash_table_size(c->sessions);
	if (all_sessions && open > 0)
		mlog(LOG_INFO, "waiting for %d session%s in flight (%d inside end-of-message)", open, open == 1 ? "" : "s",
		     c->in_eom);
	while ((c->in_eom > 0 || (all_sessions && g_hash_table_size(c->sessions) > 0)) &&
	       g_get_monotonic_time() < deadline)
		g_cond_wait_until(&c->changed, &c->lock, deadline);
	open = (int)g_hash_table_size(c->sessions);
	if (in_eom)
		*in_eom = c->in_eom;
	g_mutex_unlock(&c->lock);
	return open;
}

/* ---- Worker threads ---- */

typedef struct {
	const milter_app *app;
	const char *store_path;
	int64_t busy_timeout;
	gint stop; /* g_atomic_int_*: set by main at shutdown */
	cm_write_lock *write_lock;
} worker_arg;

static bool stopping(worker_arg *a)
{
	return g_atomic_int_get(&a->stop) != 0;
}

static void nap(worker_arg *a, int64_t seconds)
{
	for (int64_t i = 0; i < seconds * 5 && !stopping(a); i++) {
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

/* A connection for a worker, retried every 10 s until it opens or we stop.
 * *id gets the file it opened. */
static cm_store *worker_store(worker_arg *a, const char *who, store_file_id *id)
{
	/* The workers' writes yield to the replies' (cm_write_lock). */
	cm_store_opts o = {.busy_timeout = a->busy_timeout * 1000, .write_lock = a->write_lock, .background = true};
	while (!stopping(a)) {
		cm_store *st = NULL;
		cm_err err = {0};
		if (store_open(a->store_path, &o, &st, &err) == CM_OK) {
			store_file_identify(a->store_path, id);
			return st;
		}
		mlog(LOG_ERR, "%s: cannot open the store, retrying in 10s: %s", who, err.msg);
		nap(a, 10);
	}
	return NULL;
}

/* The store file was removed or replaced under a worker's connection: it
 * would go on reading and writing a file nobody sees.  Close it. */
static cm_store *worker_recheck(worker_arg *a, cm_store *st, const store_file_id *id, const char *who)
{
	store_file_id now;
	if (!st || (store_file_identify(a->store_path, &now) && now.dev == id->dev && now.ino == id->ino))
		return st;
	mlog(LOG_WARNING, "%s: store %s was removed or replaced: reopening it", who, a->store_path);
	store_close(st);
	return NULL;
}

static void *outbox_thread(void *p)
{
	worker_arg *a = p;
	store_file_id id;
	cm_store *st = NULL;
	bool down = false; /* the SMTP server was unreachable: said once, until it is back */
	while (!stopping(a)) {
		if (!st && !(st = worker_store(a, "outbox", &id)))
			break;
		cm_err err = {0};
		cm_deliver_stats stats;
		const cm_config *cfg = app_cfg_acquire(a->app);
		int64_t retry = cfg->smtp_retry_min;
		/* One pass over what is due, then the configuration is let go so a
		 * reload reaches the outbox too. */
		cm_status rs = outbox_deliver(st, cfg, true, &a->stop, mlog, &stats, &err);
		app_cfg_release(a->app, cfg);
		if (rs != CM_OK) {
			if (rs != CM_ERR_IO || !down)
				mlog(LOG_ERR, "outbox: %s; retrying every %llds", err.msg, (long long)retry);
			down = rs == CM_ERR_IO;
			nap(a, retry);
		} else {
			if (down && stats.sent > 0) {
				mlog(LOG_INFO, "outbox: the SMTP server is reachable again");
				down = false;
			}
			nap(a, 1);
		}
		st = worker_recheck(a, st, &id, "outbox");
	}
	store_close(st);
	return NULL;
}

static void *sweep_thread(void *p)
{
	worker_arg *a = p;
	store_file_id id;
	cm_store *st = NULL;
	while (!stopping(a)) {
		if (!st && !(st = worker_store(a, "expiry", &id)))
			break;
		const cm_config *cfg = app_cfg_acquire(a->app);
		cm_core core = {st, cfg};
		cm_err err = {0};
		int n = 0, reminded = 0;
		int64_t interval = cfg->sweep_interval;
		/* Expiry, then reminders: each request's step is one transaction. */
		if (core_sweep(&core, cm_now(), &n, &reminded, &err) != CM_OK)
			mlog(LOG_ERR, "sweep: %s", err.msg);
		if (n)
			mlog(LOG_INFO, "expiry: %d request%s expired", n, n == 1 ? "" : "s");
		if (reminded)
			mlog(LOG_INFO, "reminders: %d queued", reminded);
		app_cfg_release(a->app, cfg);
		nap(a, interval);
		st = worker_recheck(a, st, &id, "expiry");
	}
	store_close(st);
	return NULL;
}

/* ---- Signals ---- */

/* libmilter's smfi_main starts a thread of its own that waits with sigwait()
 * for SIGHUP, SIGTERM and SIGINT and stops the milter on any of them, SIGHUP
 * included, racing with our signal thread for each signal.  A program's own
 * definition comes first in symbol lookup, so libmilter's call lands here and
 * parks that thread for good.  Our signal thread uses sigwaitinfo(), which
 * this does not replace; nothing else in the process calls sigwait(). */
int sigwait(const sigset_t *set, int *sig)
{
	(void)set;
	(void)sig;
	for (;;)
		pause(); /* every signal is blocked in this thread */
}

typedef struct {
	milter_app *app;
	const char *conf_path;  /* the file read at start */
	const char *socket;     /* the socket in use (-p or the config's) */
	const char *file_socket; /* milter.socket as the file said at start */
	const char *pid_file;   /* "" or the pid file in use (-P or the config's) */
	const char *store_path; /* the store in use */
	int64_t pool_size;
	bool outbox_worker;
	gint done;              /* main: smfi_main has returned, just exit */
} signal_arg;

static void sigset_daemon(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

/* What a running daemon needs of a configuration beyond config_load's checks. */
static cm_status config_usable(cm_config *cfg, cm_err *err)
{
	if (cfg->secret_len == 0) {
		cm_err e = {0};
		config_load_secret(cfg, &e);
		bool hint = e.status == CM_ERR_NOTFOUND && !strstr(e.msg, "contactctl init");
		return cm_err_set(err, CM_ERR_USAGE, "%s%s", e.msg, hint ? "; run 'contactctl init'" : "");
	}
	return mail_check_templates(cfg, err);
}

static void restart_needed(const char *key, const char *running, const char *wanted)
{
	if (strcmp(running, wanted) != 0)
		mlog(LOG_WARNING, "reload: %s changed to '%s': it takes effect at the next start (still '%s')", key, wanted,
		     running);
}

/* SIGHUP: read the configuration and templates again; on any error keep
 * the one in force. */
static void reload(signal_arg *s)
{
	cm_config *cfg = NULL;
	cm_err err = {0};
	if (config_load(s->conf_path, &cfg, &err) != CM_OK || config_usable(cfg, &err) != CM_OK) {
		mlog(LOG_ERR, "reload of %s failed, keeping the configuration in force: %s", s->conf_path, err.msg);
		config_free(cfg);
		return;
	}
	/* What was set up at start stays as it is until a restart. */
	restart_needed("milter.socket", s->file_socket, cfg->milter_socket);
	restart_needed("store.path", s->store_path, cfg->store_path);
	if (cfg->store_pool_size != s->pool_size)
		mlog(LOG_WARNING, "reload: store.pool_size changed: it takes effect at the next start");
	if (cfg->milter_outbox_worker != s->outbox_worker)
		mlog(LOG_WARNING, "reload: milter.outbox_worker changed: it takes effect at the next start (the outbox "
				  "worker is %s)", s->outbox_worker ? "running" : "off");
	g_free(cfg->milter_socket);
	cfg->milter_socket = g_strdup(s->socket);
	g_free(cfg->milter_pid_file);
	cfg->milter_pid_file = g_strdup(s->pid_file);
	mlog_facility(cfg->log_facility);
	cfgs_swap(s->app->cfgs, cfg);
	mlog(LOG_INFO, "configuration %s reloaded", s->conf_path);
}

static void *signal_thread(void *p)
{
	signal_arg *s = p;
	sigset_t set;
	sigset_daemon(&set);
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (g_atomic_int_get(&s->done))
			return NULL;
		if (sig < 0)
			continue; /* EINTR */
		if (sig == SIGHUP) {
			reload(s);
			continue;
		}
		mlog(LOG_INFO, "%s: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
		int left = cfgs_drain(s->app->cfgs, SHUTDOWN_WAIT_S, true, NULL);
		if (left > 0)
			mlog(LOG_WARNING, "%d session%s still open after %ds: closing %s", left, left == 1 ? "" : "s",
			     SHUTDOWN_WAIT_S, left == 1 ? "it" : "them");
		smfi_stop();
		return NULL;
	}
}

/* ---- Start-up ---- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("contact-milter: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* The file of a unix:/local: socket, or NULL for inet. */
static const char *socket_file(const char *conn)
{
	if (strncmp(conn, "unix:", 5) == 0)
		return conn + 5;
	if (strncmp(conn, "local:", 6) == 0)
		return conn + 6;
	return conn[0] == '/' ? conn : NULL;
}

/* Whether a process answers on the unix socket at path. */
static bool socket_answers(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return false;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool up = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return up;
}

/* Whether the directory of path exists; if not, says so naming key. */
static bool parent_dir_ok(const char *key, const char *value, const char *path)
{
	char *dir = g_path_get_dirname(path);
	struct stat sb;
	int e = stat(dir, &sb) != 0 ? errno : S_ISDIR(sb.st_mode) ? 0 : ENOTDIR;
	if (e)
		say("%s %s: directory %s: %s", key, value, dir, strerror(e));
	g_free(dir);
	return e == 0;
}

/* What can be checked of a configuration without changing anything: each
 * problem is printed; returns how many there were.  A missing store is
 * only noted (the daemon creates it). */
static int check_config(cm_config *cfg, const char *user, bool open_store)
{
	int bad = 0;
	cm_err err = {0};
	const char *sock = socket_file(cfg->milter_socket);
	if (cfg->milter_pid_file[0] && !parent_dir_ok("milter.pid_file", cfg->milter_pid_file, cfg->milter_pid_file))
		bad++;
	if (sock) {
		if (!parent_dir_ok("milter.socket", cfg->milter_socket, sock))
			bad++;
		if (cfg->milter_socket_group[0] && !getgrnam(cfg->milter_socket_group)) {
			say("milter.socket_group: no group named '%s' (the socket is never made world-writable)",
			    cfg->milter_socket_group);
			bad++;
		}
	}
	if (user && !getpwnam(user)) {
		say("-u %s: no such user", user);
		bad++;
	}
	if (mail_check_templates(cfg, &err) != CM_OK) {
		say("%s", err.msg);
		bad++;
	}
	if (config_load_secret(cfg, &err) != CM_OK) {
		bool hint = err.status == CM_ERR_NOTFOUND && !strstr(err.msg, "contactctl init");
		say("%s%s", err.msg, hint ? "; run 'contactctl init'" : "");
		bad++;
	}
	if (open_store && !g_str_has_prefix(cfg->store_path, "postgres") && access(cfg->store_path, F_OK) != 0) {
		printf("contact-milter: note: store %s does not exist yet; contact-milter creates it at start\n",
		       cfg->store_path);
	} else if (open_store) {
		cm_store *st = NULL;
		cm_store_opts o = {.busy_timeout = cfg->store_busy_timeout * 1000};
		if (store_open(cfg->store_path, &o, &st, &err) != CM_OK) {
			say("%s", err.msg);
			bad++;
		}
		store_close(st);
	}
	return bad;
}

static void print_versions(void)
{
	unsigned int ma = 0, mi = 0, pl = 0;
	smfi_version(&ma, &mi, &pl);
	int xml = atoi(xmlParserVersion);
	printf("contact-milter %s\n", CM_VERSION);
	printf("libmilter %u.%u.%u\n", ma, mi, pl);
	printf("GMime %u.%u.%u\n", gmime_major_version, gmime_minor_version, gmime_micro_version);
	printf("GLib %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
	printf("SQLite %s\n", sqlite3_libversion());
	printf("libcurl %s\n", curl_version_info(CURLVERSION_NOW)->version);
	printf("libxml2 %d.%d.%d\n", xml / 10000, xml / 100 % 100, xml % 100);
}

/* Open and lock the pid file before the socket is touched: a second
 * instance stops here.  Returns the descriptor or -1 (said on stderr). */
static int pidfile_open(const char *path)
{
	cm_err err = {0};
	int fd;
	if (pidfile_lock(path, "contact-milter", &fd, &err) != CM_OK) {
		say("%s", err.msg);
		return -1;
	}
	return fd;
}

/* Create the directories of path that are missing (0750), owned by uid/gid
 * ((uid_t)-1: left as they are made). */
static bool mkdirs(const char *dir, uid_t uid, gid_t gid)
{
	struct stat sb;
	if (stat(dir, &sb) == 0) {
		if (S_ISDIR(sb.st_mode))
			return true;
		errno = ENOTDIR;
		return false;
	}
	char *parent = g_path_get_dirname(dir);
	bool ok = strcmp(parent, dir) == 0 || mkdirs(parent, uid, gid);
	g_free(parent);
	if (!ok || (mkdir(dir, 0750) != 0 && errno != EEXIST))
		return false;
	if (uid != (uid_t)-1 && chown(dir, uid, gid) != 0)
		return false;
	return true;
}

/* The store, created when missing (its directory too), owned by the user
 * the daemon runs as. */
static bool store_prepare(const cm_config *cfg, uid_t uid, gid_t gid)
{
	const char *path = cfg->store_path;
	bool file = !g_str_has_prefix(path, "postgres");
	bool existed = !file || access(path, F_OK) == 0;
	if (!existed) {
		char *dir = g_path_get_dirname(path);
		bool ok = mkdirs(dir, uid, gid);
		if (!ok)
			say("cannot create the store's directory %s: %s", dir, strerror(errno));
		g_free(dir);
		if (!ok)
			return false;
	}
	cm_store *st = NULL;
	cm_err err = {0};
	cm_store_opts o = {.create = !existed, .busy_timeout = cfg->store_busy_timeout * 1000};
	if (store_open(path, &o, &st, &err) != CM_OK) {
		/* A database server that is down is not a broken setup: start,
		 * answer replies 451 and reconnect when it is back (SPEC §5). */
		if (!file && (err.status == CM_ERR_IO || err.status == CM_ERR_BUSY)) {
			mlog(LOG_WARNING, "the store is unreachable for now (replies get 451 until it is back): %s", err.msg);
			return true;
		}
		say("%s", err.msg);
		return false;
	}
	store_close(st);
	if (!existed && uid != (uid_t)-1) {
		static const char *const suffixes[] = {"", "-wal", "-shm"};
		for (size_t i = 0; i < 3; i++) {
			char *f = g_strconcat(path, suffixes[i], NULL);
			if (chown(f, uid, gid) != 0 && errno != ENOENT) {
				say("cannot give %s to uid %ld: %s", f, (long)uid, strerror(errno));
				g_free(f);
				return false;
			}
			g_free(f);
		}
	}
	if (!existed)
		mlog(LOG_INFO, "created the store %s", path);
	return true;
}

/* The socket's owner, group and mode.  Never world-writable: a group that
 * does not exist is an error, not a reason to open the socket to all. */
static bool socket_permissions(const cm_config *cfg, uid_t uid, gid_t user_gid)
{
	const char *path = socket_file(cfg->milter_socket);
	if (!path)
		return true;
	gid_t gid = user_gid;
	if (cfg->milter_socket_group[0]) {
		struct group *g = getgrnam(cfg->milter_socket_group);
		if (!g) {
			say("milter.socket_group: no group named '%s' (the socket is never made world-writable)",
			    cfg->milter_socket_group);
			return false;
		}
		gid = g->gr_gid;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) && chown(path, uid, gid) != 0) {
		say("cannot give the milter socket %s to group %s: %s", path, cfg->milter_socket_group, strerror(errno));
		return false;
	}
	if (chmod(path, (mode_t)(cfg->milter_socket_mode & 0775)) != 0) {
		say("cannot set the mode of the milter socket %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

static bool drop_root(const char *user, uid_t uid, gid_t gid)
{
	if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		say("cannot switch to user %s: %s", user, strerror(errno));
		return false;
	}
	if (setuid(0) == 0 || seteuid(0) == 0) {
		say("could become root again after switching to user %s: not running", user);
		return false;
	}
	return true;
}

/* Start, serve until SIGTERM, stop.  Every start-up error is printed on
 * stderr before daemon().  Takes cfg (frees it). */
static int run(cm_config *cfg, const char *conf_path, const char *file_socket, const char *user, bool foreground)
{
	static milter_cfgs cfgs;
	static milter_app app;
	static cm_write_lock write_lock; /* one for every store connection of this process */
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int pid_fd = -1, rc = 1;
	bool listening = false;
	char *user_name = NULL;
	const char *sock = socket_file(cfg->milter_socket);
	struct stat sb;

	if (geteuid() == 0 && !user) {
		say("refusing to run as root: name the user to run as with -u USER (e.g. -u contact-milter)");
		goto out;
	}
	if (user) {
		struct passwd *pw = getpwnam(user);
		if (!pw) {
			say("-u %s: no such user", user);
			goto out;
		}
		if (pw->pw_uid == 0) {
			say("-u %s: that user is root; name an unprivileged user", user);
			goto out;
		}
		if (geteuid() != 0 && pw->pw_uid != geteuid()) {
			say("-u %s: only root can switch to another user", user);
			goto out;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		user_name = g_strdup(pw->pw_name);
	}
	mail_init();
	if (check_config(cfg, user, false) > 0)
		goto out;
	mlog_init(foreground, cfg->log_facility);
	outbox_global_init();
	umask(0027);

	/* The pid file first: a second instance stops here. */
	if (cfg->milter_pid_file[0] && (pid_fd = pidfile_open(cfg->milter_pid_file)) < 0)
		goto out;
	if (!store_prepare(cfg, geteuid() == 0 ? uid : (uid_t)-1, gid))
		goto out;

	g_mutex_init(&cfgs.lock);
	g_cond_init(&cfgs.changed);
	cfgs.refs = g_hash_table_new(g_direct_hash, g_direct_equal);
	cfgs.sessions = g_hash_table_new(g_direct_hash, g_direct_equal);
	cfgs.current = cfg;
	app.cfgs = &cfgs;
	if (smfi_register(*milter_callbacks(&app)) != MI_SUCCESS || smfi_setconn(cfg->milter_socket) != MI_SUCCESS) {
		say("cannot register with libmilter on %s", cfg->milter_socket);
		goto out;
	}
	if (sock && lstat(sock, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			say("milter.socket %s: %s exists and is not a socket", cfg->milter_socket, sock);
			goto out;
		}
		if (socket_answers(sock)) {
			say("milter.socket %s is in use by another process: not starting", cfg->milter_socket);
			goto out;
		}
	}
	mode_t old = umask(0177); /* made 0600, then given its group and mode */
	errno = 0;
	int opened = smfi_opensocket(1); /* 1: remove a stale socket (nobody answered above) */
	int open_errno = errno;
	umask(old);
	if (opened != MI_SUCCESS) {
		say("cannot open the milter socket %s%s%s", cfg->milter_socket, open_errno ? ": " : "",
		    open_errno ? strerror(open_errno) : "");
		goto out;
	}
	listening = true;
	if (!socket_permissions(cfg, geteuid() == 0 ? uid : (uid_t)-1, geteuid() == 0 ? gid : (gid_t)-1))
		goto out;
	if (user_name && geteuid() == 0 && !drop_root(user_name, uid, gid))
		goto out;

	cm_write_lock_init(&write_lock);
	app.pool = pool_new(cfg->store_path, cfg->store_busy_timeout, (int)cfg->store_pool_size, &write_lock);
	{
		cm_err err = {0};
		cm_store *st = pool_get(app.pool, &err);
		bool remote_down = !st && g_str_has_prefix(cfg->store_path, "postgres") &&
				   (err.status == CM_ERR_IO || err.status == CM_ERR_BUSY);
		if (!st && !remote_down) {
			say("cannot open the store as user %s: %s", user_name ? user_name : g_get_user_name(), err.msg);
			goto out;
		}
		if (st)
			pool_put(app.pool, st);
	}
	if (!foreground && daemon(0, 0) != 0) {
		say("cannot detach: %s", strerror(errno));
		goto out;
	}
	if (pid_fd >= 0) {
		cm_err err = {0};
		if (pidfile_write(pid_fd, cfg->milter_pid_file, &err) != CM_OK) {
			mlog(LOG_ERR, "%s", err.msg);
			goto out;
		}
	}

	/* Every thread from here on inherits the blocked signals; only the
	 * signal thread takes them. */
	sigset_t set;
	sigset_daemon(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* Copies: a reload may free the first configuration. */
	char *keep_sock = g_strdup(cfg->milter_socket), *keep_pid = g_strdup(cfg->milter_pid_file),
	     *keep_store = g_strdup(cfg->store_path);
	signal_arg sa = {&app, conf_path, keep_sock, file_socket, keep_pid, keep_store, cfg->store_pool_size,
			 cfg->milter_outbox_worker, 0};
	worker_arg wa = {&app, keep_store, cfg->store_busy_timeout, 0, &write_lock};
	pthread_t sig_t, outbox_t, sweep_t;
	int e;
	bool sig_up = false, outbox_up = false, sweep_up = false;
	/* Read before the signal thread runs: a reload may free cfg.  With
	 * milter.outbox_worker = no, mail queued here waits for another host's
	 * worker or contactctl outbox deliver (read at start only). */
	bool outbox_worker = cfg->milter_outbox_worker;
	if ((e = pthread_create(&sig_t, NULL, signal_thread, &sa)) == 0)
		sig_up = true;
	if (e == 0 && outbox_worker && (e = pthread_create(&outbox_t, NULL, outbox_thread, &wa)) == 0)
		outbox_up = true;
	if (e == 0 && !outbox_worker)
		mlog(LOG_INFO, "outbox worker not started (milter.outbox_worker = no): queued mail waits for another "
			       "host's milter or contactctl outbox deliver");
	if (e == 0 && (e = pthread_create(&sweep_t, NULL, sweep_thread, &wa)) == 0)
		sweep_up = true;
	if (e != 0) {
		mlog(LOG_ERR, "cannot start a thread: %s", strerror(e));
	} else {
		mlog(LOG_INFO, "contact-milter %s listening on %s, store %s%s%s", CM_VERSION, keep_sock, keep_store,
		     user_name ? ", user " : "", user_name ? user_name : "");
		rc = smfi_main() == MI_SUCCESS ? 0 : 1;
	}

	/* Stop: the signal thread first (it drained the sessions before
	 * smfi_stop; no reload from now on), then the end-of-message work still
	 * running (when smfi_main returned by itself), then the workers; then
	 * what nobody can use any more is freed. */
	if (sig_up) {
		g_atomic_int_set(&sa.done, 1);
		pthread_kill(sig_t, SIGTERM);
		pthread_join(sig_t, NULL);
	}
	int in_eom = 0;
	int left = cfgs_drain(&cfgs, SHUTDOWN_WAIT_S, false, &in_eom);
	g_atomic_int_set(&wa.stop, 1);
	if (outbox_up)
		pthread_join(outbox_t, NULL);
	if (sweep_up)
		pthread_join(sweep_t, NULL);
	if (in_eom == 0) {
		pool_free(app.pool); /* only end-of-message work uses it, and none can start */
		app.pool = NULL;
	}
	if (left == 0 && in_eom == 0) {
		config_free(cfgs.current); /* the first one, or the last reloaded */
		cfgs.current = NULL;
		g_hash_table_destroy(cfgs.refs);
		cfgs.refs = NULL;
	} else {
		/* Sessions libmilter closed without their close callback (or
		 * still in one): their state and configuration stay reachable
		 * until the process ends. */
		mlog(LOG_WARNING, "%d session%s ended without their close callback; %d end-of-message still running",
		     left, left == 1 ? "" : "s", in_eom);
	}
	if (pid_fd >= 0) {
		unlink(keep_pid); /* may fail once root is dropped: a stale pid file is harmless (flock) */
		close(pid_fd);
	}
	mlog(LOG_INFO, "stopped");
	g_free(keep_sock);
	g_free(keep_pid);
	g_free(keep_store);
	g_free(user_name);
	return rc;
out:
	if (listening && sock)
		unlink(sock);
	if (pid_fd >= 0)
		close(pid_fd);
	pool_free(app.pool);
	if (cfgs.refs)
		g_hash_table_destroy(cfgs.refs);
	if (cfgs.sessions)
		g_hash_table_destroy(cfgs.sessions);
	config_free(cfg);
	g_free(user_name);
	return rc;
}

int main(int argc, char **argv)
{
	char *conf_path = NULL, *sock = NULL, *user = NULL, *pid_file = NULL, *file_socket = NULL;
	gboolean foreground = FALSE, check = FALSE, version = FALSE;
	GOptionEntry entries[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &conf_path, "configuration file", "FILE"},
		{"foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground, "stay in the foreground, log to stderr", NULL},
		{"socket", 'p', 0, G_OPTION_ARG_STRING, &sock, "milter socket (unix:PATH or inet:PORT@HOST)", "SOCKET"},
		{"user", 'u', 0, G_OPTION_ARG_STRING, &user, "run as USER once the socket and store are open", "USER"},
		{"pid-file", 'P', 0, G_OPTION_ARG_FILENAME, &pid_file, "write and lock a pid file", "FILE"},
		{"check", 'n', 0, G_OPTION_ARG_NONE, &check, "check the configuration, templates and store, and exit",
		 NULL},
		{"version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and the libraries' versions", NULL},
		G_OPTION_ENTRY_NULL,
	};
	GOptionContext *octx = g_option_context_new("- the contact-change milter");
	GError *gerr = NULL;
	cm_config *cfg = NULL;
	cm_err err = {0};
	int rc = 1;

	g_option_context_add_main_entries(octx, entries, NULL);
	if (!g_option_context_parse(octx, &argc, &argv, &gerr)) {
		say("%s", gerr->message);
		g_error_free(gerr);
		goto out;
	}
	if (argc > 1) {
		say("unexpected argument '%s'", argv[1]);
		goto out;
	}
	if (version) {
		print_versions();
		rc = 0;
		goto out;
	}
	const char *path = config_path(conf_path);
	if (config_load(path, &cfg, &err) != CM_OK) {
		say("%s", err.msg);
		goto out;
	}
	file_socket = g_strdup(cfg->milter_socket);
	if (sock) {
		g_free(cfg->milter_socket);
		cfg->milter_socket = g_strdup(sock);
	}
	if (pid_file) {
		if (pid_file[0] != '/') {
			say("-P %s: the pid file must be an absolute path", pid_file);
			goto out;
		}
		g_free(cfg->milter_pid_file);
		cfg->milter_pid_file = g_strdup(pid_file);
	}
	if (check) {
		mail_init();
		int bad = check_config(cfg, user, true);
		if (bad == 0) {
			printf("contact-milter: configuration %s OK (socket %s, store %s)\n", cfg->path, cfg->milter_socket,
			       cfg->store_path);
			rc = 0;
		} else {
			say("configuration %s: %d problem%s", cfg->path, bad, bad == 1 ? "" : "s");
		}
		goto out;
	}
	rc = run(cfg, path, file_socket, user, foreground);
	cfg = NULL;
out:
	config_free(cfg);
	g_free(conf_path);
	g_free(sock);
	g_free(user);
	g_free(pid_file);
	g_free(file_socket);
	g_option_context_free(octx);
	return rc;
}
