/* handler.c - the HTTP side: routes, the security headers every answer
 * carries, the form's nonce and origin checks, the failure count per client
 * address, and the POST body's bound.  GET never changes anything. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "token.h"
#include "web.h"

#define WEB_BODY_MAX 4096 /* a form of two short fields */
#define WEB_CSP "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

typedef struct {
	GString *body;
	bool too_big;
	bool answered; /* a response is queued: what still comes is dropped */
} web_conn;

typedef struct {
	web_app *app;
	struct MHD_Connection *conn;
	char client[INET6_ADDRSTRLEN + 8];
	int lang; /* -1: none chosen by ?lang= */
} web_req;

static enum MHD_Result answer(web_req *r, unsigned status, const char *type, const char *body, size_t len,
			      const char *location)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Content-Security-Policy", WEB_CSP);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (location)
		MHD_add_response_header(resp, "Location", location);
	if (status == 429)
		MHD_add_response_header(resp, "Retry-After", "3600");
	if (status == 503)
		MHD_add_response_header(resp, "Retry-After", "30");
	if (status == 405)
		MHD_add_response_header(resp, "Allow", "GET, HEAD, POST");
	if (r->app->stopping)
		MHD_add_response_header(resp, "Connection", "close");
	enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

char *web_render_page(web_app *app, int lang, web_page kind, const web_vars *v, cm_err *err)
{
	g_rw_lock_reader_lock(&app->tpl_lock);
	char *html = wrender(app->tpl.text[lang][kind], v, app->tpl.path[lang][kind], err);
	g_rw_lock_reader_unlock(&app->tpl_lock);
	return html;
}

/* The language of a page that names no contact: ?lang=, else the first of
 * fr or en in Accept-Language, else the default. */
static int guess_lang(web_req *r)
{
	if (r->lang >= 0)
		return r->lang;
	const char *al = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Accept-Language");
	for (const char *p = al; p && *p; p++) {
		if (p == al || p[-1] == ',' || p[-1] == ' ') {
			if (g_ascii_strncasecmp(p, "fr", 2) == 0)
				return 0;
			if (g_ascii_strncasecmp(p, "en", 2) == 0)
				return 1;
		}
	}
	return wlang_index(r->app->cfg, NULL);
}

/* An error page: flag names the case in the template (notfound, limited,
 * busy, forbidden, toolarge, badrequest, method). */
static enum MHD_Result error_page(web_req *r, unsigned status, const char *flag)
{
	int lang = guess_lang(r);
	web_vars *v = wvars_new();
	cm_err err = {0};
	wvars_flag(v, flag, true);
	char *html = web_render_page(r->app, lang, WEB_PAGE_ERROR, v, &err);
	wvars_free(v);
	if (!html) {
		wlog(LOG_ERR, "%s", err.msg);
		html = g_strdup("<!DOCTYPE html><title>Error</title><p>Error.</p>");
	}
	enum MHD_Result ret = answer(r, status, "text/html; charset=utf-8", html, strlen(html), NULL);
	g_free(html);
	return ret;
}

static bool temporary(cm_status st)
{
	return st == CM_ERR_BUSY || st == CM_ERR_IO || st == CM_ERR_INTERNAL || st == CM_ERR_USAGE;
}

/* The client's address: the peer's, or the last hop of X-Forwarded-For when
 * the peer is web.trusted_proxy. */
static void client_address(web_req *r)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	cm_strlcpy(r->client, "unknown", sizeof r->client);
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	char host[INET6_ADDRSTRLEN + 8];
	if (getnameinfo(sa, len, host, sizeof host, NULL, 0, NI_NUMERICHOST) != 0)
		return;
	cm_strlcpy(r->client, host, sizeof r->client);
	const char *proxy = r->app->cfg->web_trusted_proxy;
	if (!proxy || !*proxy || strcmp(proxy, host) != 0)
		return;
	const char *xff = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Forwarded-For");
	if (!xff)
		return;
	const char *last = strrchr(xff, ',');
	last = last ? last + 1 : xff;
	while (*last == ' ' || *last == '\t')
		last++;
	char hop[INET6_ADDRSTRLEN + 8];
	size_t n = strcspn(last, " \t");
	if (n == 0 || n >= sizeof hop)
		return;
	memcpy(hop, last, n);
	hop[n] = '\0';
	unsigned char buf[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, hop, buf) == 1 || inet_pton(AF_INET6, hop, buf) == 1)
		cm_strlcpy(r->client, hop, sizeof r->client);
}

/* The token of /v/TOKEN, read as token_decode reads a typed one.  False
 * (a 404 that touches nothing) for anything else. */
static bool url_token(const char *url, cm_token *tok, char canon[CM_TOKEN_CHARS + 1])
{
	if (strncmp(url, "/v/", 3) != 0)
		return false;
	const char *t = url + 3;
	size_t n = strnlen(t, 65);
	if (n == 0 || n > 64 || !token_decode(t, n, tok))
		return false;
	token_encode(tok, canon);
	return true;
}

/* The form's nonce: HMAC-SHA-256 of the token under the daemon's key, hex. */
static void nonce_of(const web_app *app, const cm_token *tok, char out[65])
{
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, app->key, app->key_len);
	static const char label[] = "contact-web form nonce";
	g_hmac_update(h, (const guchar *)label, sizeof label);
	g_hmac_update(h, tok->raw, sizeof tok->raw);
	cm_strlcpy(out, g_hmac_get_string(h), 65);
	g_hmac_unref(h);
}

static bool nonce_ok(const web_app *app, const cm_token *tok, const char *given)
{
	char want[65];
	nonce_of(app, tok, want);
	if (!given || strlen(given) != 64)
		return false;
	unsigned char diff = 0;
	for (size_t i = 0; i < 64; i++)
		diff |= (unsigned char)(want[i] ^ given[i]);
	return diff == 0;
}

/* A POST comes from our page: its Origin, when it names one, is base_url's;
 * a browser saying the request is cross-site is refused; without Origin, a
 * Referer must be under base_url.  (Our pages say no-referrer, so a browser
 * posting our form sends "Origin: null": the nonce proves the rest.) */
static bool same_origin(web_req *r)
{
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	const char *site = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	const char *referer = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Referer");
	if (site && (strcmp(site, "cross-site") == 0 || strcmp(site, "same-site") == 0))
		return false;
	if (origin && strcmp(origin, "null") != 0)
		return g_ascii_strcasecmp(origin, r->app->origin) == 0;
	if (!origin && referer) {
		size_t n = strlen(r->app->origin);
		return g_ascii_strncasecmp(referer, r->app->origin, n) == 0 && referer[n] == '/';
	}
	return true;
}

/* Over policy.max_failures failed lookups from this client in the last hour. */
static cm_status rate_limited(web_req *r, cm_store *st, int64_t now, bool *over, cm_err *err)
{
	char key[INET6_ADDRSTRLEN + 16];
	int64_t n = 0;
	*over = false;
	if (r->app->cfg->max_failures <= 0)
		return CM_OK;
	snprintf(key, sizeof key, "web:%s", r->client);
	cm_status s = st->ops->failure_count(st, key, now - 3600, &n, err);
	*over = s == CM_OK && n >= r->app->cfg->max_failures;
	return s;
}

static cm_status record_failure(web_req *r, cm_store *st, int64_t now, cm_err *err)
{
	char key[INET6_ADDRSTRLEN + 16];
	cm_status s;
	snprintf(key, sizeof key, "web:%s", r->client);
	if ((s = st->ops->begin(st, true, err)))
		return s;
	if ((s = st->ops->failure_add(st, key, now, err)) || (s = st->ops->commit(st, err))) {
		st->ops->rollback(st);
		return s;
	}
	wlog(LOG_NOTICE, "unknown token from %s", r->client);
	return CM_OK;
}

/* A failed store call: the page says "try again" and the connection is
 * dropped from the pool when it may be broken. */
static enum MHD_Result store_trouble(web_req *r, cm_store *st, const cm_err *err)
{
	wlog(LOG_ERR, "store: %s", err->msg);
	wpool_put(r->app->pool, st, err->status != CM_ERR_BUSY);
	return error_page(r, 503, "busy");
}

/* GET /v/TOKEN: the page, changing nothing (but a failure count). */
static enum MHD_Result view_page(web_req *r, const cm_token *tok)
{
	cm_err err = {0};
	cm_store *st = wpool_get(r->app->pool, &err);
	int64_t now = cm_now();
	bool over;
	if (!st) {
		wlog(LOG_ERR, "store: %s", err.msg);
		return error_page(r, 503, "busy");
	}
	if (rate_limited(r, st, now, &over, &err))
		return store_trouble(r, st, &err);
	if (over) {
		wpool_put(r->app->pool, st, false);
		return error_page(r, 429, "limited");
	}
	cm_core core = {st, r->app->cfg};
	web_view v;
	cm_status s = wview_read(&core, tok, &v, &err);
	if (s == CM_ERR_TOKEN_UNKNOWN) {
		wview_clear(&v);
		if (record_failure(r, st, now, &err))
			return store_trouble(r, st, &err);
		wpool_put(r->app->pool, st, false);
		return error_page(r, 404, "notfound");
	}
	if (s) {
		wview_clear(&v);
		return store_trouble(r, st, &err);
	}
	wpool_put(r->app->pool, st, false);
	int lang = r->lang >= 0 ? r->lang : wlang_index(r->app->cfg, v.acc[v.side].lang[0] ? v.acc[v.side].lang : NULL);
	char nonce[65];
	nonce_of(r->app, tok, nonce);
	unsigned status = 200;
	web_vars *vars = wview_vars(r->app->cfg, &v, lang, now, nonce, &status);
	char *html = web_render_page(r->app, lang, WEB_PAGE_VIEW, vars, &err);
	wvars_free(vars);
	wview_clear(&v);
	if (!html) {
		wlog(LOG_ERR, "%s", err.msg);
		return error_page(r, 503, "busy");
	}
	enum MHD_Result ret = answer(r, status, "text/html; charset=utf-8", html, strlen(html), NULL);
	g_free(html);
	return ret;
}

/* One field of an application/x-www-form-urlencoded body, decoded; NULL if
 * absent.  g_malloc'd. */
static char *form_field(const char *body, const char *name)
{
	char **pairs = g_strsplit(body, "&", 16);
	char *val = NULL;
	size_t nlen = strlen(name);
	for (char **p = pairs; *p && !val; p++) {
		if (strncmp(*p, name, nlen) == 0 && (*p)[nlen] == '=') {
			val = g_strdup(*p + nlen + 1);
			g_strdelimit(val, "+", ' ');
			MHD_http_unescape(val);
		}
	}
	g_strfreev(pairs);
	return val;
}

/* POST /v/TOKEN: the decision, through the core, then back to the page. */
static enum MHD_Result decide(web_req *r, const cm_token *tok, const char *canon, const char *body)
{
	if (!same_origin(r))
		return error_page(r, 403, "forbidden");
	char *nonce = form_field(body, "nonce"), *what = form_field(body, "decision");
	bool nonce_good = nonce_ok(r->app, tok, nonce);
	cm_decision d = CM_DECISION_NONE;
	if (what && strcmp(what, "accept") == 0)
		d = CM_DECISION_ACCEPTED;
	else if (what && (strcmp(what, "refuse") == 0 || strcmp(what, "report") == 0))
		d = CM_DECISION_REFUSED;
	bool report = what && strcmp(what, "report") == 0;
	g_free(nonce);
	g_free(what);
	if (!nonce_good)
		return error_page(r, 403, "forbidden");
	if (d == CM_DECISION_NONE)
		return error_page(r, 400, "badrequest");

	cm_err err = {0};
	cm_store *st = wpool_get(r->app->pool, &err);
	int64_t now = cm_now();
	bool over;
	if (!st) {
		wlog(LOG_ERR, "store: %s", err.msg);
		return error_page(r, 503, "busy");
	}
	if (rate_limited(r, st, now, &over, &err))
		return store_trouble(r, st, &err);
	if (over) {
		wpool_put(r->app->pool, st, false);
		return error_page(r, 429, "limited");
	}
	cm_core core = {st, r->app->cfg};
	cm_decision_result res = {0};
	/* "This wasn't me" refuses and reports (rule 11), through the same core
	 * call as the CLI and the milter. */
	cm_status s = report ? core_report(&core, 0, tok, CM_VIA_WEB, NULL, now, &res, &err)
			     : core_decide(&core, 0, tok, d, CM_VIA_WEB, NULL, now, &res, &err);
	if (s == CM_ERR_TOKEN_UNKNOWN) {
		if (record_failure(r, st, now, &err))
			return store_trouble(r, st, &err);
		wpool_put(r->app->pool, st, false);
		return error_page(r, 404, "notfound");
	}
	if (temporary(s))
		return store_trouble(r, st, &err);
	wpool_put(r->app->pool, st, false);
	if (s == CM_OK)
		wlog(LOG_INFO, "request %lld: %s %s%s via web from %s; request %s", (long long)res.request_id, res.nic,
		     cm_decision_str(res.decision), report ? " (this wasn't me)" : "", r->client,
		     cm_state_str(res.state));
	else
		wlog(LOG_INFO, "decision from %s not recorded: %s", r->client, cm_status_str(s));
	/* Used, superseded, expired or closed: the page says which. */
	char *loc = r->lang >= 0 ? g_strdup_printf("%s?lang=%s", canon, r->lang == 0 ? "fr" : "en") : g_strdup(canon);
	enum MHD_Result ret = answer(r, 303, "text/plain; charset=utf-8", "", 0, loc);
	g_free(loc);
	return ret;
}

/* GET /healthz: a fresh connection and a cheap read, so that a store gone
 * away shows even while pooled connections still hold it open. */
static enum MHD_Result health(web_req *r)
{
	cm_store *st = NULL;
	cm_err err = {0};
	cm_store_opts o = {.busy_timeout = 2000};
	bool ok = store_open(r->app->cfg->store_path, &o, &st, &err) == CM_OK && st->ops->schema_version(st) > 0;
	if (st)
		store_close(st);
	if (!ok)
		wlog(LOG_WARNING, "health check: the store does not answer: %s", err.msg[0] ? err.msg : "no schema");
	const char *body = ok ? "ok\n" : "unavailable\n";
	return answer(r, ok ? 200 : 503, "text/plain; charset=utf-8", body, strlen(body), NULL);
}

static enum MHD_Result route(web_req *r, web_conn *c, const char *url, const char *method,
			     const char *upload_data, size_t *upload_data_size);

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)version;
	web_req r = {.app = cls, .conn = conn, .lang = -1};
	web_conn *c = *con_cls;
	if (!c) {
		c = g_new0(web_conn, 1);
		*con_cls = c;
	} else if (c->answered) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	const char *lang = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "lang");
	if (lang && (strcmp(lang, "fr") == 0 || strcmp(lang, "en") == 0))
		r.lang = wlang_index(r.app->cfg, lang);
	return route(&r, c, url, method, upload_data, upload_data_size);
}

static enum MHD_Result route(web_req *r, web_conn *c, const char *url, const char *method,
			     const char *upload_data, size_t *upload_data_size)
{
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	if (post && !c->body) {
		/* First call: refuse a body announced too big before reading it. */
		const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
		c->body = g_string_sized_new(256);
		if (cl && (strlen(cl) > 9 || g_ascii_strtoull(cl, NULL, 10) > WEB_BODY_MAX)) {
			c->answered = true;
			return error_page(r, 413, "toolarge");
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (!post || c->body->len + *upload_data_size > WEB_BODY_MAX)
			c->too_big = post;
		else
			g_string_append_len(c->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	c->answered = true;
	client_address(r);

	if (get && strcmp(url, "/healthz") == 0)
		return health(r);
	if (get && strcmp(url, "/static/page.css") == 0)
		return answer(r, 200, "text/css; charset=utf-8", web_css, strlen(web_css), NULL);
	cm_token tok;
	char canon[CM_TOKEN_CHARS + 1];
	if (strncmp(url, "/v/", 3) != 0)
		return error_page(r, 404, "notfound");
	if (!get && !post)
		return error_page(r, 405, "method");
	if (!url_token(url, &tok, canon))
		return error_page(r, 404, "notfound");
	if (get)
		return view_page(r, &tok);
	if (c->too_big)
		return error_page(r, 413, "toolarge");
	const char *type = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
	if (!type || g_ascii_strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0 ||
	    memchr(c->body->str, '\0', c->body->len))
		return error_page(r, 400, "badrequest");
	return decide(r, &tok, canon, c->body->str);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	web_conn *c = *con_cls;
	if (!c)
		return;
	if (c->body)
		g_string_free(c->body, TRUE);
	g_free(c);
	*con_cls = NULL;
}

static void on_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
	(void)cls;
	wlog(LOG_CRIT, "libmicrohttpd: %s:%u: %s", file ? file : "?", line, reason ? reason : "?");
	abort();
}

struct MHD_Daemon *web_start(web_app *app, int fd, unsigned threads)
{
	MHD_set_panic_func(on_panic, NULL);
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC, 0, NULL, NULL,
				on_request, app, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned)15, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
}
