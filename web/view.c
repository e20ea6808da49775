/* view.c - what a token's page shows: read from the store in one read
 * transaction, then turned into the template's variables in the contact's
 * language. */
#include <string.h>

#include "web.h"

cm_status wview_read(cm_core *c, const cm_token *tok, web_view *v, cm_err *err)
{
	const cm_store_ops *ops = c->st->ops;
	unsigned char hash[CM_TOKEN_HASH_BYTES];
	cm_token_ref ref;
	cm_status st;

	memset(v, 0, sizeof *v);
	v->services = g_array_new(FALSE, TRUE, sizeof(cm_service));
	if ((st = ops->begin(c->st, false, err)))
		return st;
	/* What core_token_owner reads, plus whether the token was superseded,
	 * which the page must tell apart (three reads instead of five). */
	token_hash(tok, hash);
	st = ops->token_lookup(c->st, hash, &ref, err);
	if (st == CM_ERR_TOKEN_UNKNOWN)
		cm_err_set(err, st, "unknown token");
	if (st || (st = ops->request_get(c->st, ref.request_id, &v->req, err)) ||
	    (st = ops->party_pair(c->st, ref.request_id, v->party, err)) ||
	    (st = ops->service_list(c->st, v->req.group, v->services, err)))
		goto out;
	v->side = ref.side;
	v->superseded = ref.superseded;
	/* Names and languages: a missing account (never expected) shows the NIC. */
	for (int s = 0; s < 2; s++)
		if (ops->account_get(c->st, v->party[s].nic, &v->acc[s], NULL) != CM_OK)
			memset(&v->acc[s], 0, sizeof v->acc[s]);
	if (strcmp(v->req.asked_by, v->acc[CM_SIDE_FROM].nic) == 0)
		v->asker = v->acc[CM_SIDE_FROM];
	else if (ops->account_get(c->st, v->req.asked_by, &v->asker, NULL) != CM_OK)
		memset(&v->asker, 0, sizeof v->asker);
out:
	ops->rollback(c->st);
	return st;
}

void wview_clear(web_view *v)
{
	if (v->services)
		g_array_free(v->services, TRUE);
	v->services = NULL;
}

/* "Alice Martin (alice-ovh)", or the NIC alone when no name is known. */
static char *display(const cm_account *a, const char *nic)
{
	if (a && a->name[0] && strcmp(a->nic, nic) == 0)
		return g_strdup_printf("%s (%s)", a->name, nic);
	return g_strdup(nic);
}

static const char *role_word(int lang, cm_role r)
{
	switch (r) {
	case CM_ROLE_ADMIN: return lang == 0 ? "administrateur" : "administrator";
	case CM_ROLE_TECH: return lang == 0 ? "technique" : "technical";
	case CM_ROLE_BILLING: return lang == 0 ? "facturation" : "billing";
	}
	return "?";
}

static char *roles_words(int lang, unsigned roles, int *count)
{
	static const cm_role order[] = {CM_ROLE_ADMIN, CM_ROLE_TECH, CM_ROLE_BILLING};
	const char *w[3];
	int n = 0;
	for (size_t i = 0; i < 3; i++)
		if (roles & order[i])
			w[n++] = role_word(lang, order[i]);
	*count = n;
	if (n == 0)
		return g_strdup("");
	if (n == 1)
		return g_strdup(w[0]);
	const char *and = lang == 0 ? " et " : " and ";
	if (n == 2)
		return g_strconcat(w[0], and, w[1], NULL);
	return g_strconcat(w[0], ", ", w[1], and, w[2], NULL);
}

static const char *kind_word(int lang, const char *kind)
{
	static const struct { const char *k, *fr, *en; } t[] = {
		{"line", "ligne", "line"}, {"number", "numéro", "number"}, {"alias", "alias", "alias"}, {"fax", "fax", "fax"},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
		if (strcmp(kind, t[i].k) == 0)
			return lang == 0 ? t[i].fr : t[i].en;
	return kind;
}

/* templates.timezone, read once per process (GLib parses the zone file
 * again for every new GTimeZone), and its city in words. */
static GTimeZone *page_zone(const cm_config *cfg, const char **city)
{
	static gsize once;
	static GTimeZone *tz;
	static char *city_words;
	if (g_once_init_enter(&once)) {
		const char *zone = cfg->timezone && *cfg->timezone ? cfg->timezone : "UTC";
		tz = g_time_zone_new_identifier(zone);
		if (!tz) {
			tz = g_time_zone_new_utc();
			zone = "UTC";
		}
		/* The city of an Area/City zone, underscores as spaces. */
		const char *slash = strrchr(zone, '/');
		city_words = g_strdup(slash ? slash + 1 : zone);
		g_strdelimit(city_words, "_", ' ');
		g_once_init_leave(&once, 1);
	}
	*city = city_words;
	return tz;
}

/* A time in words in templates.timezone: "11 décembre 2026 à 05:46 (heure
 * de Paris)", "11 December 2026, 05:46 (Paris time)". */
static char *time_words(const cm_config *cfg, int lang, int64_t t)
{
	static const char *const fr_m[] = {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
					   "septembre", "octobre", "novembre", "décembre"};
	static const char *const en_m[] = {"January", "February", "March", "April", "May", "June", "July",
					   "August", "September", "October", "November", "December"};
	const char *city;
	GTimeZone *tz = page_zone(cfg, &city);
	GDateTime *utc = g_date_time_new_from_unix_utc(t);
	GDateTime *d = utc ? g_date_time_to_timezone(utc, tz) : NULL;
	char *out;
	if (!d) {
		out = g_strdup("?");
	} else {
		int day = g_date_time_get_day_of_month(d), mon = g_date_time_get_month(d) - 1;
		if (lang == 0)
			out = g_strdup_printf("%d%s %s %d à %02d:%02d (heure de %s)", day, day == 1 ? "er" : "", fr_m[mon],
					      g_date_time_get_year(d), g_date_time_get_hour(d),
					      g_date_time_get_minute(d), city);
		else
			out = g_strdup_printf("%d %s %d, %02d:%02d (%s time)", day, en_m[mon], g_date_time_get_year(d),
					      g_date_time_get_hour(d), g_date_time_get_minute(d), city);
	}
	if (d)
		g_date_time_unref(d);
	if (utc)
		g_date_time_unref(utc);
	return out;
}

web_vars *wview_vars(const cm_config *cfg, const web_view *v, int lang, int64_t now, const char *nonce,
		     unsigned *status)
{
	web_vars *w = wvars_new();
	const cm_request *r = &v->req;
	const cm_party *me = &v->party[v->side], *other = &v->party[1 - v->side];
	int nroles = 0;

	wvars_set(w, "lang", lang == 0 ? "fr" : "en");
	wvars_set(w, "group", r->group);
	wvars_take(w, "roles", roles_words(lang, r->roles, &nroles));
	wvars_flag(w, "many_roles", nroles > 1);
	wvars_take(w, "asker", display(&v->asker, r->asked_by));
	wvars_flag(w, "asker_is_you", strcmp(r->asked_by, me->nic) == 0);
	wvars_take(w, "from", display(&v->acc[CM_SIDE_FROM], r->from_nic));
	wvars_take(w, "to", display(&v->acc[CM_SIDE_TO], r->to_nic));
	wvars_take(w, "you", display(&v->acc[v->side], me->nic));
	wvars_take(w, "other", display(&v->acc[1 - v->side], other->nic));
	wvars_flag(w, "you_outgoing", v->side == CM_SIDE_FROM);
	wvars_flag(w, "you_incoming", v->side == CM_SIDE_TO);
	wvars_take(w, "expires_at", time_words(cfg, lang, r->expires_at));
	wvars_take(w, "created_at", time_words(cfg, lang, r->created_at));
	for (guint i = 0; i < v->services->len; i++) {
		const cm_service *s = &g_array_index(v->services, cm_service, i);
		web_vars *it = wvars_item(w, "services");
		wvars_set(it, "service", s->name);
		wvars_set(it, "kind", kind_word(lang, s->kind));
	}
	for (int s = 0; s < 2; s++) {
		const cm_party *p = &v->party[s];
		web_vars *it = wvars_item(w, "parties");
		wvars_take(it, "contact", display(&v->acc[s], p->nic));
		wvars_flag(it, "outgoing", s == CM_SIDE_FROM);
		wvars_flag(it, "incoming", s == CM_SIDE_TO);
		wvars_flag(it, "is_you", s == (int)v->side);
		wvars_flag(it, "accepted", p->decision == CM_DECISION_ACCEPTED);
		wvars_flag(it, "refused", p->decision == CM_DECISION_REFUSED);
		wvars_flag(it, "unanswered", p->decision == CM_DECISION_NONE);
		wvars_take(it, "decided_at", p->decision != CM_DECISION_NONE ? time_words(cfg, lang, p->decided_at)
									   : g_strdup(""));
	}

	/* The token's state, in the order core_decide checks it. */
	bool expired = r->state == CM_STATE_EXPIRED || (r->state == CM_STATE_PENDING && now >= r->expires_at);
	bool used = me->decision != CM_DECISION_NONE;
	bool superseded = !used && v->superseded;
	bool closed = !used && !superseded && !expired && r->state != CM_STATE_PENDING;
	bool live = !used && !superseded && !expired && !closed;
	wvars_flag(w, "live", live);
	wvars_flag(w, "used", used);
	wvars_flag(w, "superseded", superseded);
	wvars_flag(w, "expired", !used && !superseded && expired);
	wvars_flag(w, "closed", closed);
	wvars_flag(w, "you_accepted", me->decision == CM_DECISION_ACCEPTED);
	wvars_flag(w, "you_refused", me->decision == CM_DECISION_REFUSED);
	wvars_take(w, "your_decided_at", used ? time_words(cfg, lang, me->decided_at) : g_strdup(""));
	bool pending = r->state == CM_STATE_PENDING && !expired;
	wvars_flag(w, "waiting_other", pending && used && other->decision == CM_DECISION_NONE);
	wvars_flag(w, "state_pending", pending);
	wvars_flag(w, "state_done", r->state == CM_STATE_DONE);
	wvars_flag(w, "state_refused", r->state == CM_STATE_REFUSED);
	wvars_flag(w, "state_expired", expired);
	wvars_flag(w, "state_cancelled", r->state == CM_STATE_CANCELLED);
	wvars_flag(w, "state_failed", r->state == CM_STATE_FAILED);
	wvars_take(w, "done_at", r->done_at ? time_words(cfg, lang, r->done_at) : g_strdup(""));
	wvars_set(w, "nonce", live ? nonce : "");
	*status = live || used ? 200 : 410;
	return w;
}

web_vars *wview_sample(void)
{
	web_vars *w = wvars_new();
	static const char *const strs[] = {"lang", "group", "roles", "asker", "from", "to", "you", "other",
					   "expires_at", "created_at", "your_decided_at", "done_at", "nonce"};
	static const char *const flags[] = {"many_roles", "asker_is_you", "you_outgoing", "you_incoming", "live",
					    "used", "superseded", "expired", "closed", "you_accepted", "you_refused",
					    "waiting_other", "state_pending", "state_done", "state_refused",
					    "state_expired", "state_cancelled", "state_failed"};
	for (size_t i = 0; i < G_N_ELEMENTS(strs); i++)
		wvars_set(w, strs[i], "x");
	for (size_t i = 0; i < G_N_ELEMENTS(flags); i++)
		wvars_flag(w, flags[i], true);
	web_vars *s = wvars_item(w, "services");
	wvars_set(s, "service", "line-1");
	wvars_set(s, "kind", "line");
	web_vars *p = wvars_item(w, "parties");
	wvars_set(p, "contact", "x");
	wvars_set(p, "decided_at", "x");
	static const char *const pflags[] = {"outgoing", "incoming", "is_you", "accepted", "refused", "unanswered"};
	for (size_t i = 0; i < G_N_ELEMENTS(pflags); i++)
		wvars_flag(p, pflags[i], true);
	return w;
}
