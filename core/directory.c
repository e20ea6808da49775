/* directory.c - accounts, groups and services: validated, then stored. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

static cm_status nic_check(char *nic, const char *what, cm_err *err)
{
	if (!cm_nic_normalise(nic))
		return cm_err_set(err, CM_ERR_USAGE,
				  "malformed %s '%s': expected 2 to 64 letters, digits or '-' (e.g. xx1234-ovh)", what,
				  nic);
	return CM_OK;
}

static cm_status email_check(cm_core *c, const char *email, cm_err *err)
{
	if (!cm_email_valid(email))
		return cm_err_set(err, CM_ERR_USAGE,
				  "malformed e-mail address '%s': expected local-part@domain.example, plain ASCII",
				  email);
	/* Our own validation and bounce addresses would make a mail loop. */
	const char *at = strrchr(email, '@');
	const char *loc = c->cfg->validation_local;
	size_t llen = strlen(loc), local_len = (size_t)(at - email);
	bool ours_domain = g_ascii_strcasecmp(at + 1, c->cfg->validation_domain) == 0;
	bool ours_local = (local_len >= llen && g_ascii_strncasecmp(email, loc, llen) == 0 &&
			   (local_len == llen || email[llen] == '+')) ||
			  (local_len >= 8 && g_ascii_strncasecmp(email, "bounces+", 8) == 0) ||
			  (local_len == 7 && g_ascii_strncasecmp(email, "bounces", 7) == 0);
	if (ours_domain && ours_local)
		return cm_err_set(err, CM_ERR_USAGE, "'%s' is one of this service's own addresses, not a contact's",
				  email);
	return CM_OK;
}

/* A name shown in greetings: UTF-8, one line, no control characters. */
static cm_status name_check(const char *name, cm_err *err)
{
	if (strlen(name) > CM_NAME_MAX || !g_utf8_validate(name, -1, NULL))
		return cm_err_set(err, CM_ERR_USAGE, "malformed name: at most %d bytes of UTF-8 text", CM_NAME_MAX);
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return cm_err_set(err, CM_ERR_USAGE, "malformed name: no control characters or line breaks");
	return CM_OK;
}

static cm_status lang_check(const char *lang, cm_err *err)
{
	if (strcmp(lang, "fr") != 0 && strcmp(lang, "en") != 0)
		return cm_err_set(err, CM_ERR_USAGE, "unknown language '%s': expected fr or en", lang);
	return CM_OK;
}

static cm_status account_add_tx(cm_core *c, const cm_account *a, int64_t now, cm_err *err)
{
	cm_status st = c->st->ops->account_insert(c->st, a, now, err);
	if (st)
		return st;
	return core_audit(c, now, 0, "operator", "account-add", err, "account %s <%s>", a->nic, a->email);
}

cm_status core_account_add(cm_core *c, cm_account *a, int64_t now, cm_err *err)
{
	cm_status st;
	if (!a->lang[0])
		memcpy(a->lang, c->cfg->default_lang, 3); /* "fr" or "en", checked by config_load */
	if ((st = nic_check(a->nic, "NIC", err)) || (st = email_check(c, a->email, err)) ||
	    (st = name_check(a->name, err)) || (st = lang_check(a->lang, err)))
		return st;
	CORE_TX(c, true, account_add_tx(c, a, now, err));
}

static cm_status account_set_tx(cm_core *c, const char *nic, const char *email, const char *name, const char *lang,
				int voip, int payments, cm_err *err)
{
	cm_account a;
	cm_status st = c->st->ops->account_get(c->st, nic, &a, err);
	if (st)
		return st;
	/* email, lang and name were checked against their bounds by the caller. */
	if (email && g_ascii_strcasecmp(email, a.email) != 0) {
		g_strlcpy(a.email, email, sizeof a.email);
		a.bouncing = false;
	}
	if (lang)
		g_strlcpy(a.lang, lang, sizeof a.lang);
	if (name)
		g_strlcpy(a.name, name, sizeof a.name);
	if (voip >= 0)
		a.voip_validated = voip;
	if (payments >= 0)
		a.payments_ok = payments;
	if ((st = c->st->ops->account_update(c->st, &a, err)))
		return st;
	return core_audit(c, cm_now(), 0, "operator", "account-set", err,
			  "account %s <%s> lang=%s voip_validated=%d payments_ok=%d", a.nic, a.email, a.lang,
			  a.voip_validated, a.payments_ok);
}

cm_status core_account_set(cm_core *c, const char *nic_in, const char *email, const char *name, const char *lang,
			   int voip, int payments, cm_err *err)
{
	char nic[CM_NIC_MAX + 1];
	cm_status st;
	if (!cm_strlcpy(nic, nic_in, sizeof nic))
		return cm_err_set(err, CM_ERR_USAGE, "malformed NIC: longer than %d characters", CM_NIC_MAX);
	if ((st = nic_check(nic, "NIC", err)) || (email && (st = email_check(c, email, err))) ||
	    (name && (st = name_check(name, err))) || (lang && (st = lang_check(lang, err))))
		return st;
	CORE_TX(c, true, account_set_tx(c, nic, email, name, lang, voip, payments, err));
}

static cm_status group_add_tx(cm_core *c, const cm_group *g, int64_t now, cm_err *err)
{
	cm_account a;
	cm_status st;
	const char *nics[] = {g->admin, g->tech, g->billing};
	for (int i = 0; i < 3; i++)
		if ((st = c->st->ops->account_get(c->st, nics[i], &a, err)))
			return st;
	if ((st = c->st->ops->group_insert(c->st, g, now, err)))
		return st;
	return core_audit(c, now, 0, "operator", "group-add", err, "group %s admin=%s tech=%s billing=%s", g->name,
			  g->admin, g->tech, g->billing);
}

cm_status core_group_add(cm_core *c, cm_group *g, int64_t now, cm_err *err)
{
	cm_status st;
	if ((st = nic_check(g->name, "group name", err)) || (st = nic_check(g->admin, "NIC", err)) ||
	    (st = nic_check(g->tech, "NIC", err)) || (st = nic_check(g->billing, "NIC", err)))
		return st;
	CORE_TX(c, true, group_add_tx(c, g, now, err));
}

static cm_status service_add_tx(cm_core *c, const cm_service *sv, cm_err *err)
{
	cm_group g;
	cm_status st = c->st->ops->group_get(c->st, sv->group, &g, err);
	if (st)
		return st;
	return c->st->ops->service_insert(c->st, sv, err);
}

cm_status core_service_add(cm_core *c, const char *group, const char *service, const char *kind, cm_err *err)
{
	static const char *const kinds[] = {"line", "number", "alias", "fax"};
	cm_service sv = {0};
	cm_status st;
	bool kind_ok = false;
	for (size_t i = 0; i < 4; i++)
		kind_ok |= strcmp(kind, kinds[i]) == 0;
	if (!kind_ok)
		return cm_err_set(err, CM_ERR_USAGE, "unknown service kind '%s': expected line, number, alias or fax",
				  kind);
	if (!cm_strlcpy(sv.group, group, sizeof sv.group) || (st = nic_check(sv.group, "group name", err)) != CM_OK)
		return cm_err_set(err, CM_ERR_USAGE, "malformed group name '%s'", group);
	if (!*service || !cm_strlcpy(sv.name, service, sizeof sv.name))
		return cm_err_set(err, CM_ERR_USAGE, "malformed service name: 1 to %d characters", CM_SERVICE_MAX);
	for (const unsigned char *p = (const unsigned char *)sv.name; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return cm_err_set(err, CM_ERR_USAGE, "malformed service name '%s': no spaces or control characters",
					  service);
	g_strlcpy(sv.kind, kind, sizeof sv.kind); /* one of the four kinds above */
	CORE_TX(c, true, service_add_tx(c, &sv, err));
}
