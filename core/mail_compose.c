/* mail_compose.c - templates to MIME messages with GMime. */
#include "mail.h"

#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>

#include "token.h"

void mail_init(void)
{
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		g_mime_init();
		g_once_init_leave(&once, 1);
	}
}

/* ---- words ---- */

static const char *const months_fr[] = {"janvier", "février", "mars", "avril", "mai", "juin",
					"juillet", "août", "septembre", "octobre", "novembre", "décembre"};
static const char *const months_en[] = {"January", "February", "March", "April", "May", "June",
					"July", "August", "September", "October", "November", "December"};

/* The place a zone is named after: "Europe/Paris" -> "Paris",
 * "America/New_York" -> "New York"; NULL for UTC. */
static char *zone_place(const char *id)
{
	if (!id || !*id || g_ascii_strcasecmp(id, "UTC") == 0 || g_ascii_strncasecmp(id, "Etc/", 4) == 0 ||
	    g_ascii_strcasecmp(id, "GMT") == 0)
		return NULL;
	const char *slash = strrchr(id, '/');
	char *place = g_strdup(slash ? slash + 1 : id);
	g_strdelimit(place, "_", ' ');
	return place;
}

/* t in words in templates.timezone: "1er décembre 2026 à 05:46 (heure de
 * Paris)", "1 December 2026, 05:46 (Paris time)".  The French month names
 * are ours: the process locale never matters. */
static char *date_words(const cm_config *cfg, int64_t t, bool fr)
{
	const char *id = cfg->timezone && *cfg->timezone ? cfg->timezone : "Europe/Paris";
	GTimeZone *tz = cm_timezone(id);
	char *place = tz ? zone_place(id) : NULL;
	if (!tz)
		tz = g_time_zone_new_utc();
	GDateTime *utc = g_date_time_new_from_unix_utc(t);
	GDateTime *d = utc ? g_date_time_to_timezone(utc, tz) : NULL;
	char *out;
	if (!d) {
		out = g_strdup(fr ? "date inconnue" : "unknown date");
	} else {
		int day = g_date_time_get_day_of_month(d), mon = g_date_time_get_month(d) - 1;
		int year = g_date_time_get_year(d), h = g_date_time_get_hour(d), mi = g_date_time_get_minute(d);
		char *zone = fr ? (place ? g_strdup_printf("heure de %s", place) : g_strdup("heure UTC"))
				: (place ? g_strdup_printf("%s time", place) : g_strdup("UTC"));
		if (fr)
			out = g_strdup_printf("%d%s %s %d à %02d:%02d (%s)", day, day == 1 ? "er" : "", months_fr[mon],
					      year, h, mi, zone);
		else
			out = g_strdup_printf("%d %s %d, %02d:%02d (%s)", day, months_en[mon], year, h, mi, zone);
		g_free(zone);
		g_date_time_unref(d);
	}
	if (utc)
		g_date_time_unref(utc);
	g_time_zone_unref(tz);
	g_free(place);
	return out;
}

/* The role as it qualifies "role" or "contact". */
static const char *role_word(bool fr, cm_role r)
{
	switch (r) {
	case CM_ROLE_ADMIN: return fr ? "administrateur" : "administrative";
	case CM_ROLE_TECH: return fr ? "technique" : "technical";
	case CM_ROLE_BILLING: return fr ? "facturation" : "billing";
	}
	return fr ? "inconnu" : "unknown";
}

static int role_count(unsigned roles)
{
	return !!(roles & CM_ROLE_ADMIN) + !!(roles & CM_ROLE_TECH) + !!(roles & CM_ROLE_BILLING);
}

/* "technique", "technique et facturation", "administrateur, technique et
 * facturation" (English: "technical and billing"). */
static char *roles_words(bool fr, unsigned roles)
{
	static const cm_role order[] = {CM_ROLE_ADMIN, CM_ROLE_TECH, CM_ROLE_BILLING};
	GString *s = g_string_new(NULL);
	int n = role_count(roles), i = 0;
	for (size_t k = 0; k < G_N_ELEMENTS(order); k++) {
		if (!(roles & order[k]))
			continue;
		if (i > 0)
			g_string_append(s, i == n - 1 ? (fr ? " et " : " and ") : ", ");
		g_string_append(s, role_word(fr, order[k]));
		i++;
	}
	return g_string_free(s, FALSE);
}

static const char *kind_word(bool fr, const char *kind)
{
	static const struct {
		const char *kind, *fr, *en;
	} kinds[] = {{"line", "ligne", "line"}, {"number", "numéro", "number"}, {"alias", "alias", "alias"},
		     {"fax", "fax", "fax"}};
	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++)
		if (g_ascii_strcasecmp(kind, kinds[i].kind) == 0)
			return fr ? kinds[i].fr : kinds[i].en;
	return "service";
}

static bool known(const char *s)
{
	return s && *s;
}

/* An account as others read it: "Alice Martin (xx1234-ovh)" or the NIC. */
static char *account_label(const char *nic, const char *name)
{
	return known(name) ? g_strdup_printf("%s (%s)", name, nic) : g_strdup(nic ? nic : "");
}

static char *capitalise(const char *s)
{
	if (!s || !*s)
		return g_strdup("");
	gunichar c = g_utf8_get_char(s);
	char buf[8];
	int n = g_unichar_to_utf8(g_unichar_toupper(c), buf);
	return g_strdup_printf("%.*s%s", n, buf, g_utf8_next_char(s));
}

/* Who a reason names, relative to the reader: NULL reader = nobody is "you". */
typedef struct {
	const char *me;          /* the reader's NIC */
	const char *from;        /* the request's outgoing NIC */
	const char *names[3][2]; /* {nic, name} pairs the mail knows */
} reason_who;

static char *who_label(const reason_who *w, const char *nic)
{
	for (int i = 0; w && i < 3; i++)
		if (w->names[i][0] && strcmp(w->names[i][0], nic) == 0)
			return account_label(nic, w->names[i][1]);
	return g_strdup(nic);
}

/* The reason sentences; details (a NIC, a role) follow the code after ':'. */
static char *reason_words(const char *code_in, bool fr, const reason_who *w)
{
	char code[64] = "";
	const char *arg = "";
	if (code_in) {
		size_t n = strcspn(code_in, ":");
		if (n < sizeof code) {
			memcpy(code, code_in, n);
			code[n] = '\0';
			arg = code_in[n] == ':' ? code_in + n + 1 : "";
		}
	}
	bool me = w && w->me && *arg && strcmp(w->me, arg) == 0;
	bool nic_ok = *arg && strlen(arg) <= CM_NIC_MAX && strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(arg);
	/* Not an account: the provider's own people or the system. */
	bool staff = strcmp(arg, "operator") == 0 || strcmp(arg, "system") == 0;
	if (strcmp(code, "cancelled_by") == 0 && staff)
		return g_strdup(fr ? "Elle a été annulée par notre service client." : "It was cancelled by our customer service.");
	if (strcmp(code, "refused_by") == 0 && nic_ok) {
		if (me)
			return g_strdup(fr ? "Vous l'avez refusée." : "You refused it.");
		char *who = who_label(w, arg), *out = g_strdup_printf(fr ? "Elle a été refusée par %s." : "It was refused by %s.", who);
		g_free(who);
		return out;
	}
	if (strcmp(code, "cancelled_by") == 0 && nic_ok) {
		if (me)
			return g_strdup(fr ? "Vous l'avez annulée." : "You cancelled it.");
		char *who = who_label(w, arg), *out = g_strdup_printf(fr ? "Elle a été annulée par %s." : "It was cancelled by %s.", who);
		g_free(who);
		return out;
	}
	if (strcmp(code, "not_holder") == 0) {
		int r = strcmp(arg, "admin") == 0 ? CM_ROLE_ADMIN : strcmp(arg, "tech") == 0 ? CM_ROLE_TECH
			: strcmp(arg, "billing") == 0 ? CM_ROLE_BILLING : 0;
		bool mine = w && w->me && w->from && strcmp(w->me, w->from) == 0;
		if (r && mine)
			return g_strdup_printf(fr ? "Votre compte n'est plus le contact %s du groupe : un autre "
						    "changement a eu lieu entre-temps."
						  : "Your account is no longer the %s contact of the group: another "
						    "change took place in the meantime.",
					       role_word(fr, (cm_role)r));
		if (r)
			return g_strdup_printf(fr ? "Le compte sortant n'est plus le contact %s du groupe : un autre "
						    "changement a eu lieu entre-temps."
						  : "The outgoing account is no longer the %s contact of the group: another "
						    "change took place in the meantime.",
					       role_word(fr, (cm_role)r));
	}
	static const struct {
		const char *code, *fr, *en;
	} fixed[] = {
		{"expired", "Elle a expiré avant que les deux contacts l'aient acceptée.",
		 "It expired before both contacts had accepted it."},
		{"billing_no_longer_met",
		 "Une condition requise pour transférer le rôle facturation n'est plus remplie : les deux comptes "
		 "doivent avoir passé la procédure de validation téléphonie et être à jour de leurs paiements.",
		 "A condition for moving the billing role is no longer met: both accounts must have passed the "
		 "telephony validation procedure and be up to date with their payments."},
		{"no_intent",
		 "Nous n'y avons trouvé ni acceptation ni refus. Pour répondre, écrivez « J'accepte » ou "
		 "« Je refuse » seul sur la première ligne de votre réponse, au-dessus du message d'origine.",
		 "We found neither an acceptance nor a refusal in it. To answer, write \"I accept\" or \"I refuse\" "
		 "alone on the first line of your reply, above the original message."},
		{"both_intents",
		 "Il contient à la fois une acceptation et un refus. Répondez de nouveau avec « J'accepte » ou "
		 "« Je refuse » seul sur la première ligne.",
		 "It holds both an acceptance and a refusal. Please reply again with \"I accept\" or \"I refuse\" "
		 "alone on the first line."},
		{"unknown_token",
		 "Le code de validation qu'il contient ne correspond à aucune demande. Répondez au dernier e-mail de "
		 "validation reçu, sans modifier son adresse de réponse.",
		 "The validation code it holds matches no request. Please reply to the latest validation e-mail you "
		 "received, without changing its reply address."},
		{"used_token",
		 "Vous avez déjà répondu à cette demande avec ce code de validation : votre première réponse reste "
		 "celle qui compte.",
		 "You have already answered this request with this validation code: your first answer is the one "
		 "that counts."},
		{"superseded_token",
		 "Un e-mail de validation plus récent a remplacé celui auquel vous avez répondu. Répondez au dernier "
		 "reçu.",
		 "A newer validation e-mail has replaced the one you answered. Please answer the latest one."},
		{"expired_token",
		 "La demande a expiré : votre réponse ne peut plus être prise en compte. L'administrateur du groupe "
		 "peut faire une nouvelle demande.",
		 "The request has expired, so your answer can no longer be taken into account. The group's "
		 "administrator can make a new request."},
		{"closed", "La demande est déjà close : votre réponse n'a plus d'effet.",
		 "The request is already closed: your answer no longer has any effect."},
		{"wrong_sender",
		 "Il n'a pas été envoyé depuis l'adresse à laquelle l'e-mail de validation a été adressé. Répondez "
		 "depuis cette adresse, ou utilisez le lien de l'e-mail.",
		 "It was not sent from the address the validation e-mail went to. Please answer from that address, "
		 "or use the link in the e-mail."},
		{"not_authenticated",
		 "Notre serveur n'a pas pu vérifier qu'il provient bien de votre messagerie (DKIM ou SPF). Répondez "
		 "depuis votre messagerie habituelle, ou utilisez le lien de l'e-mail de validation.",
		 "Our server could not verify that it really comes from your mail service (DKIM or SPF). Please "
		 "answer from your usual mailbox, or use the link in the validation e-mail."},
		{"rate_limited",
		 "Trop de réponses non valables nous sont parvenues en peu de temps. Réessayez dans une heure.",
		 "Too many invalid answers reached us in a short time. Please try again in an hour."},
		{"too_large", "Il est trop volumineux pour être lu. Répondez sans pièce jointe.",
		 "It is too large to be read. Please answer without attachments."},
	};
	for (size_t i = 0; i < G_N_ELEMENTS(fixed); i++)
		if (strcmp(code, fixed[i].code) == 0)
			return g_strdup(fr ? fixed[i].fr : fixed[i].en);
	return g_strdup(fr ? "Pour plus de précisions, contactez notre service client."
			   : "For more details, please contact our customer service.");
}

/* French typography: a no-break space before ':' and inside guillemets, so
 * that wrapping never leaves them alone at the start of a line. */
static char *fr_typo(char *s)
{
	static const char *const from[] = {" :", "« ", " »"}, *const to[] = {"\u00a0:", "«\u00a0", "\u00a0»"};
	for (size_t i = 0; i < G_N_ELEMENTS(from); i++) {
		char **bits = g_strsplit(s, from[i], -1);
		g_free(s);
		s = g_strjoinv(to[i], bits);
		g_strfreev(bits);
	}
	return s;
}

static char *reason_sentence(const char *code, bool fr, const reason_who *w)
{
	char *s = reason_words(code, fr, w);
	return fr ? fr_typo(s) : s;
}

char *mail_reason_text(const char *code, const char *lang)
{
	return reason_sentence(code, !(lang && strcmp(lang, "en") == 0), NULL);
}

/* ---- variables ---- */

typedef struct {
	GHashTable *text; /* name -> plain text value */
	GHashTable *html; /* name -> ready HTML, for values with their own markup */
} mail_vars;

static void var(mail_vars *v, const char *k, const char *val)
{
	g_hash_table_insert(v->text, g_strdup(k), g_strdup(val ? val : ""));
}

static void var_take(mail_vars *v, const char *k, char *val)
{
	g_hash_table_insert(v->text, g_strdup(k), val);
}

static void var_html_take(mail_vars *v, const char *k, char *val)
{
	g_hash_table_insert(v->html, g_strdup(k), val);
}

/* "from/to" phrases: "de votre compte x" / "du compte x (Name)". */
static char *side_phrase(bool fr, bool from, bool mine, const char *nic, const char *name)
{
	char *label = known(name) ? g_strdup_printf(" (%s)", name) : g_strdup("");
	char *out;
	if (fr)
		out = mine ? g_strdup_printf("%s votre compte %s", from ? "de" : "à", nic)
			   : g_strdup_printf("%s compte %s%s", from ? "du" : "au", nic, label);
	else
		out = mine ? g_strdup_printf("%s your account %s", from ? "from" : "to", nic)
			   : g_strdup_printf("%s account %s%s", from ? "from" : "to", nic, label);
	g_free(label);
	return out;
}

static void request_vars(mail_vars *v, const cm_config *cfg, const cm_mail_ctx *c, bool fr)
{
	const cm_request *r = c->req;
	const char *me = c->party ? c->party->nic : "";
	const char *from_name = NULL, *to_name = NULL;
	if (c->party && strcmp(c->party->nic, r->from_nic) == 0)
		from_name = c->name;
	else if (c->other && strcmp(c->other->nic, r->from_nic) == 0)
		from_name = c->other_name;
	if (c->party && strcmp(c->party->nic, r->to_nic) == 0)
		to_name = c->name;
	else if (c->other && strcmp(c->other->nic, r->to_nic) == 0)
		to_name = c->other_name;
	bool from_me = strcmp(me, r->from_nic) == 0, to_me = strcmp(me, r->to_nic) == 0;
	bool asker_me = strcmp(me, r->asked_by) == 0;
	const char *asker_name = asker_me ? c->name
				 : strcmp(r->asked_by, r->from_nic) == 0 && known(from_name) ? from_name
				 : strcmp(r->asked_by, r->to_nic) == 0 && known(to_name) ? to_name : c->asker_name;
	int n = role_count(r->roles);
	char *roles = roles_words(fr, r->roles);

	var_take(v, "id", g_strdup_printf("%lld", (long long)r->id));
	var(v, "group", r->group);
	var(v, "roles", roles);
	var_take(v, "roles_count", g_strdup_printf("%d", n));
	var(v, "roles_label", fr ? (n > 1 ? "Rôles" : "Rôle") : (n > 1 ? "Roles" : "Role"));
	char *the = fr ? g_strdup_printf("%s %s", n > 1 ? "les rôles" : "le rôle", roles)
		       : g_strdup_printf("the %s %s", roles, n > 1 ? "roles" : "role");
	var_take(v, "The_roles", capitalise(the));
	var_take(v, "of_the_roles", fr ? g_strdup_printf("%s %s", n > 1 ? "des rôles" : "du rôle", roles)
				       : g_strdup_printf("of %s", the));
	var_take(v, "the_roles", the);
	var(v, "moves", fr ? (n > 1 ? "passent" : "passe") : (n > 1 ? "move" : "moves"));
	var(v, "has_moved", fr ? (n > 1 ? "sont passés" : "est passé") : (n > 1 ? "have moved" : "has moved"));
	var(v, "from_nic", r->from_nic);
	var(v, "to_nic", r->to_nic);
	var(v, "asked_by", r->asked_by);
	var_take(v, "from_phrase", side_phrase(fr, true, from_me, r->from_nic, from_name));
	var_take(v, "to_phrase", side_phrase(fr, false, to_me, r->to_nic, to_name));
	var_take(v, "from_who", from_me ? g_strdup_printf(fr ? "vous (%s)" : "you (%s)", r->from_nic)
					: account_label(r->from_nic, from_name));
	var_take(v, "to_who", to_me ? g_strdup_printf(fr ? "vous (%s)" : "you (%s)", r->to_nic)
				    : account_label(r->to_nic, to_name));
	char *asker = account_label(r->asked_by, asker_name);
	var_take(v, "asker_phrase", asker_me ? g_strdup(fr ? "Vous avez demandé" : "You asked")
					     : g_strdup_printf(fr ? "%s, administrateur du groupe, a demandé"
								  : "%s, administrator of the group, asked",
							       asker));
	var_take(v, "asker", asker_me ? g_strdup_printf(fr ? "vous (%s)" : "you (%s)", r->asked_by) : asker);
	if (asker_me)
		g_free(asker);
	var_take(v, "created_at", date_words(cfg, r->created_at, fr));
	var_take(v, "expires_at", date_words(cfg, r->expires_at, fr));
	var_take(v, "done_at", date_words(cfg, r->done_at ? r->done_at : r->created_at, fr));
	if (c->party)
		var(v, "your_side", c->party->side == CM_SIDE_FROM
					    ? (fr ? "le contact sortant" : "the outgoing contact")
					    : (fr ? "le contact entrant" : "the incoming contact"));
	g_free(roles);

	/* The reason, with "you" for the reader. */
	reason_who w = {.me = me, .from = r->from_nic};
	w.names[0][0] = c->party ? c->party->nic : NULL;
	w.names[0][1] = c->name;
	w.names[1][0] = c->other ? c->other->nic : NULL;
	w.names[1][1] = c->other_name;
	w.names[2][0] = r->asked_by;
	w.names[2][1] = asker_name;
	var_take(v, "reason", reason_sentence(c->reason, fr, &w));
}

static void services_vars(mail_vars *v, const GArray *services, bool fr, cm_mail_kind kind)
{
	guint n = services ? services->len : 0;
	GString *t = g_string_new(NULL), *h = g_string_new(NULL), *line = g_string_new(NULL);
	for (guint i = 0; i < n; i++) {
		const cm_service *sv = &g_array_index(services, cm_service, i);
		char *one = g_strdup_printf("%s (%s)", sv->name, kind_word(fr, sv->kind));
		char *esc = g_markup_escape_text(one, -1);
		g_string_append_printf(t, "%s  - %s", i ? "\n" : "", one);
		g_string_append_printf(h, "%s%s", i ? "<br>\n" : "", esc);
		g_string_append_printf(line, "%s%s", i ? ", " : "", one);
		g_free(esc);
		g_free(one);
	}
	if (n == 0) {
		const char *none = fr ? "aucun service pour l'instant" : "no service yet";
		g_string_append_printf(t, "  - %s", none);
		g_string_append(h, none);
		g_string_append(line, none);
	}
	var_take(v, "services", g_string_free(t, FALSE));
	var_html_take(v, "services", g_string_free(h, FALSE));
	var_take(v, "services_line", g_string_free(line, FALSE));
	var_take(v, "services_count", g_strdup_printf("%u", n));
	var(v, "services_label", fr ? (n == 1 ? "Service" : "Services") : (n == 1 ? "Service" : "Services"));
	/* Before the change, it will cover them; once made, it does. */
	bool future = kind == CM_MAIL_VALIDATION || kind == CM_MAIL_WAITING;
	var(v, "services_sentence",
	    fr ? (n == 1 ? (future ? "Le changement s'appliquera au seul service du groupe :"
				   : "Le changement s'applique au seul service du groupe :")
			 : (future ? "Le changement s'appliquera à tous les services du groupe :"
				   : "Le changement s'applique à tous les services du groupe :"))
	       : (n == 1 ? (future ? "The change will cover the group's only service:"
				   : "The change covers the group's only service:")
			 : (future ? "The change will cover every service of the group:"
				   : "The change covers every service of the group:")));
	var(v, "services_note",
	    fr ? (n == 1 ? (future ? "Le changement s'appliquera au seul service du groupe, indiqué ci-dessus."
				   : "Le changement s'applique au seul service du groupe, indiqué ci-dessus.")
			 : (future ? "Le changement s'appliquera à tous les services du groupe, listés ci-dessus."
				   : "Le changement s'applique à tous les services du groupe, listés ci-dessus."))
	       : (n == 1 ? (future ? "The change will cover the group's only service, shown above."
				   : "The change covers the group's only service, shown above.")
			 : (future ? "The change will cover every service of the group, listed above."
				   : "The change covers every service of the group, listed above.")));
}

/* The variables of a mail.  Values are plain text, escaped when put into
 * HTML; the few in ->html carry their own markup. */
/* A name as one line of printable text: an account name is outside input. */
static char *name_clean(const char *in)
{
	if (!known(in))
		return NULL;
	char *s = g_utf8_make_valid(in, -1);
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return g_strstrip(s);
}

static mail_vars vars_build(const cm_config *cfg, const cm_mail_ctx *ctx_in, const char *lang)
{
	cm_mail_ctx ctx = *ctx_in;
	char *names[3] = {name_clean(ctx_in->name), name_clean(ctx_in->other_name), name_clean(ctx_in->asker_name)};
	ctx.name = names[0];
	ctx.other_name = names[1];
	ctx.asker_name = names[2];
	const cm_mail_ctx *c = &ctx;
	mail_vars v = {g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free),
		       g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free)};
	bool fr = strcmp(lang, "fr") == 0;
	/* No {subject}: a notice never carries text the sender chose (SPEC
	 * section 8), so a template naming it is refused like any unknown
	 * placeholder. */
	var(&v, "validation_address", cfg->validation_address);
	var(&v, "provider", fr ? "Téléphonie · Gestion des contacts" : "Telephony · Contact management");
	const char *nic = c->party ? c->party->nic : NULL;
	const char *name = known(c->name) ? c->name : nic;
	var(&v, "nic", nic ? nic : "");
	var(&v, "name", name ? name : "");
	var_take(&v, "greeting", name ? g_strdup_printf(fr ? "Bonjour %s," : "Hello %s,", name)
				      : g_strdup(fr ? "Bonjour," : "Hello,"));
	if (c->other) {
		var(&v, "other_nic", c->other->nic);
		var_take(&v, "other", account_label(c->other->nic, c->other_name));
	}
	if (c->req)
		request_vars(&v, cfg, c, fr);
	else
		var_take(&v, "reason", reason_sentence(c->reason, fr, NULL));
	if (c->req || c->services)
		services_vars(&v, c->services, fr, c->kind);
	if (c->token) {
		const char *dom = cfg->validation_domain, *loc = cfg->validation_local;
		var(&v, "token", c->token);
		var(&v, "code", c->token);
		var_take(&v, "reply_address", g_strdup_printf("%s+%s@%s", loc, c->token, dom));
		var_take(&v, "accept_address", g_strdup_printf("%s+accept-%s@%s", loc, c->token, dom));
		var_take(&v, "refuse_address", g_strdup_printf("%s+refuse-%s@%s", loc, c->token, dom));
		var_take(&v, "report_address", g_strdup_printf("%s+report-%s@%s", loc, c->token, dom));
		char *url = g_strdup(cfg->validate_url);
		char *id = g_strdup_printf("%lld", c->req ? (long long)c->req->id : 0LL);
		char **parts = g_strsplit(url, "{id}", -1);
		g_free(url);
		url = g_strjoinv(id, parts);
		g_strfreev(parts);
		parts = g_strsplit(url, "{token}", -1);
		g_free(url);
		url = g_strjoinv(c->token, parts);
		g_strfreev(parts);
		g_free(id);
		var_take(&v, "url", url);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		g_free(names[i]);
	return v;
}

static void vars_free(mail_vars *v)
{
	g_hash_table_destroy(v->text);
	g_hash_table_destroy(v->html);
}

/* Replace {name} from vars; html escapes values (or takes the value's own
 * markup from vars->html) and turns newlines of multi-line values into <br>.
 * NULL with err set on an unknown name. */
static char *expand(const char *tpl, const mail_vars *vars, bool html, const char *tname, cm_err *err)
{
	GString *out = g_string_sized_new(strlen(tpl) + 512);
	const char *p = tpl;
	while (*p) {
		const char *open = strchr(p, '{');
		if (!open) {
			g_string_append(out, p);
			break;
		}
		const char *close = strchr(open, '}');
		size_t nlen = close ? (size_t)(close - open - 1) : 0;
		bool name_ok = close && nlen > 0 && nlen < 32;
		for (size_t i = 1; name_ok && i <= nlen; i++)
			name_ok = g_ascii_isalnum(open[i]) || open[i] == '_';
		g_string_append_len(out, p, open - p);
		if (!name_ok) {
			g_string_append_c(out, '{');
			p = open + 1;
			continue;
		}
		char *name = g_strndup(open + 1, nlen);
		const char *own = html ? g_hash_table_lookup(vars->html, name) : NULL;
		const char *val = g_hash_table_lookup(vars->text, name);
		if (!val && !own) {
			cm_err_set(err, CM_ERR_USAGE, "template %s: unknown or unavailable placeholder {%s}", tname, name);
			g_free(name);
			g_string_free(out, TRUE);
			return NULL;
		}
		g_free(name);
		if (own) {
			g_string_append(out, own);
		} else if (html) {
			char *esc = g_markup_escape_text(val, -1);
			char **lines = g_strsplit(esc, "\n", -1);
			char *joined = g_strjoinv("<br>\n", lines);
			g_string_append(out, joined);
			g_free(joined);
			g_strfreev(lines);
			g_free(esc);
		} else {
			g_string_append(out, val);
		}
		p = close + 1;
	}
	return g_string_free(out, FALSE);
}

#define WRAP_COLS 72

static long width_of(const char *s, size_t n)
{
	return g_utf8_strlen(s, (gssize)n);
}

/* Greedy fill of words (split on ASCII spaces only: a no-break space
 * holds "n° 12" or "code :" together) into lines of WRAP_COLS characters,
 * the first starting with lead, the others indented by hang spaces.  A
 * word longer than a line (an address, a link) gets a line of its own. */
static void fill(GString *out, const char *text, const char *lead, int hang)
{
	char **words = g_strsplit(text, " ", -1);
	long col = 0;
	bool line_empty = true;
	g_string_append(out, lead);
	col = width_of(lead, strlen(lead));
	for (char **w = words; *w; w++) {
		if (!**w)
			continue;
		long wl = width_of(*w, strlen(*w));
		if (!line_empty && col + 1 + wl > WRAP_COLS) {
			g_string_append_c(out, '\n');
			for (int i = 0; i < hang; i++)
				g_string_append_c(out, ' ');
			col = hang;
			line_empty = true;
		}
		if (!line_empty) {
			g_string_append_c(out, ' ');
			col++;
		}
		g_string_append(out, *w);
		col += wl;
		line_empty = false;
	}
	g_string_append_c(out, '\n');
	g_strfreev(words);
}

/* The text part readable at 72 columns whatever the values' lengths.
 * Lines at the left margin form paragraphs: one that holds a line too long
 * is filled again as a whole.  An indented line (a list item "  - x", a
 * summary row "  Groupe : x") stands alone and, when too long, continues
 * under its text.  The signature and short paragraphs stay as written. */
static char *wrap_text(const char *in)
{
	char **lines = g_strsplit(in, "\n", -1);
	GString *out = g_string_sized_new(strlen(in) + 64);
	guint n = g_strv_length(lines);
	for (guint i = 0; i < n;) {
		const char *l = lines[i];
		if (!*l || strcmp(l, "-- ") == 0 || (l[0] == ' ' && width_of(l, strlen(l)) <= WRAP_COLS)) {
			g_string_append(out, l);
			g_string_append_c(out, '\n');
			i++;
		} else if (l[0] == ' ') { /* an item, too long */
			size_t ind = strspn(l, " ");
			int hang = (int)ind;
			const char *colon_en = strstr(l, ": ");
			if (!strncmp(l + ind, "- ", 2) || !strncmp(l + ind, "* ", 2))
				hang += 2;
			else if (g_ascii_isdigit(l[ind]) && !strncmp(l + ind + 1, ". ", 2))
				hang += 3;
			else if (colon_en && colon_en - l < 32)
				hang = (int)width_of(l, (size_t)(colon_en - l)) + 2;
			char *lead = g_strndup(l, ind);
			fill(out, l + ind, lead, hang);
			g_free(lead);
			i++;
		} else { /* a paragraph: lines i..j-1 at the left margin */
			guint j = i;
			bool too_long = false;
			while (j < n && lines[j][0] && lines[j][0] != ' ' && strcmp(lines[j], "-- ") != 0) {
				too_long |= width_of(lines[j], strlen(lines[j])) > WRAP_COLS;
				j++;
			}
			if (!too_long) {
				for (guint k = i; k < j; k++)
					g_string_append_printf(out, "%s\n", lines[k]);
			} else {
				GString *para = g_string_new(NULL);
				for (guint k = i; k < j; k++)
					g_string_append_printf(para, "%s%s", k > i ? " " : "", lines[k]);
				fill(out, para->str, "", 0);
				g_string_free(para, TRUE);
			}
			i = j;
		}
	}
	/* The input's last line had no newline of its own. */
	if (out->len)
		g_string_truncate(out, out->len - 1);
	g_strfreev(lines);
	return g_string_free(out, FALSE);
}

/* SMTP's limit (RFC 5321 4.5.3.1.6): no line over 998 bytes, since the
 * parts go out 8bit rather than re-encoded. */
static cm_status lines_fit(const char *text, const char *tname, cm_err *err)
{
	int no = 1;
	for (const char *p = text; *p; no++) {
		size_t n = strcspn(p, "\n");
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 998)
			return cm_err_set(err, CM_ERR_USAGE, "template %s: line %d of the mail is %zu bytes long (at most 998)",
					  tname, no, n);
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	return CM_OK;
}

/* The templates of one configuration, read once: "LANG/KIND.EXT" -> text. */
struct cm_templates {
	GHashTable *files;
};

static char *template_read_file(const char *path, cm_err *err)
{
	char *text = NULL;
	GError *gerr = NULL;
	if (!g_file_get_contents(path, &text, NULL, &gerr)) {
		cm_err_set(err, CM_ERR_USAGE, "cannot read template %s: %s", path, gerr->message);
		g_error_free(gerr);
	} else if (!g_utf8_validate(text, -1, NULL)) {
		cm_err_set(err, CM_ERR_USAGE, "template %s is not valid UTF-8", path);
		g_free(text);
		text = NULL;
	}
	return text;
}

cm_status mail_templates_load(const char *dir, cm_templates **out, cm_err *err)
{
	static const char *const langs[] = {"fr", "en"}, *const exts[] = {"txt", "html"};
	cm_templates *t = g_new0(cm_templates, 1);
	t->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	*out = NULL;
	for (int k = CM_MAIL_VALIDATION; k <= CM_MAIL_LAST_MAIL; k++)
		for (size_t l = 0; l < G_N_ELEMENTS(langs); l++)
			for (size_t e = 0; e < G_N_ELEMENTS(exts); e++) {
				char *key = g_strdup_printf("%s/%s.%s", langs[l], cm_mail_kind_str((cm_mail_kind)k), exts[e]);
				char *path = g_build_filename(dir, key, NULL);
				char *text = template_read_file(path, err);
				g_free(path);
				if (!text) {
					g_free(key);
					mail_templates_free(t);
					return CM_ERR_USAGE;
				}
				g_hash_table_insert(t->files, key, text);
			}
	*out = t;
	return CM_OK;
}

void mail_templates_free(cm_templates *t)
{
	if (!t)
		return;
	g_hash_table_destroy(t->files);
	g_free(t);
}

/* A template's text: from the set read at load, else from the disk. */
static char *template_read(const cm_config *cfg, const char *lang, cm_mail_kind kind, const char *ext,
			   char **path_out, cm_err *err)
{
	char *name = g_strdup_printf("%s.%s", cm_mail_kind_str(kind), ext);
	char *path = g_build_filename(cfg->templates_dir, lang, name, NULL);
	char *text = NULL;
	GError *gerr = NULL;
	g_free(name);
	if (cfg->templates) {
		char *key = g_strdup_printf("%s/%s.%s", lang, cm_mail_kind_str(kind), ext);
		const char *cached = g_hash_table_lookup(cfg->templates->files, key);
		g_free(key);
		if (cached) {
			*path_out = path;
			return g_strdup(cached);
		}
	}
	if (!g_file_get_contents(path, &text, NULL, &gerr)) {
		cm_err_set(err, CM_ERR_USAGE, "cannot read template %s: %s", path, gerr->message);
		g_error_free(gerr);
	} else if (!g_utf8_validate(text, -1, NULL)) {
		cm_err_set(err, CM_ERR_USAGE, "template %s is not valid UTF-8", path);
		g_free(text);
		text = NULL;
	}
	*path_out = path;
	return text;
}

/* A text part whose content is the UTF-8 text as given (GMime's
 * g_mime_text_part_set_text would re-encode it to the "best" charset), sent
 * 8bit: the token placeholder stays one literal string the outbox replaces
 * when it sends the mail. */
static GMimeTextPart *text_part(const char *subtype, const char *body)
{
	GMimeTextPart *p = g_mime_text_part_new_with_subtype(subtype);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(body, strlen(body));
	GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(GMIME_PART(p), content);
	g_object_unref(content);
	g_object_unref(stream);
	g_mime_text_part_set_charset(p, "utf-8");
	/* 8bit, not quoted-printable: the token's placeholder must stand
	 * literally in the stored message, never cut by a soft line break
	 * (outbox_render puts the token there when the mail is sent). */
	g_mime_part_set_content_encoding(GMIME_PART(p), GMIME_CONTENT_ENCODING_8BIT);
	return p;
}

static void add_mailbox(InternetAddressList *list, const char *addr)
{
	InternetAddress *a = internet_address_mailbox_new(NULL, addr);
	internet_address_list_add(list, a);
	g_object_unref(a);
}

cm_status mail_compose(const cm_config *cfg, const cm_mail_ctx *c, int64_t id, int64_t now, char **msg,
		       size_t *len, char sender[CM_EMAIL_MAX + 1], cm_err *err)
{
	const char *lang = c->lang && (strcmp(c->lang, "fr") == 0 || strcmp(c->lang, "en") == 0) ? c->lang
											       : cfg->default_lang;
	char *txt_path = NULL, *html_path = NULL, *txt_tpl = NULL, *html_tpl = NULL;
	char *txt = NULL, *html = NULL, *subject = NULL;
	mail_vars vars = vars_build(cfg, c, lang);
	GMimeMessage *m = NULL;
	cm_status st = CM_OK;

	*msg = NULL;
	mail_init();
	if (!(txt_tpl = template_read(cfg, lang, c->kind, "txt", &txt_path, err)) ||
	    !(html_tpl = template_read(cfg, lang, c->kind, "html", &html_path, err))) {
		st = CM_ERR_USAGE;
		goto out;
	}
	if (strncmp(txt_tpl, "Subject:", 8) != 0 || !strstr(txt_tpl, "\n\n")) {
		st = cm_err_set(err, CM_ERR_USAGE, "template %s must start with 'Subject: ...' and a blank line",
				txt_path);
		goto out;
	}
	char *body_start = strstr(txt_tpl, "\n\n");
	*body_start = '\0';
	if (!(subject = expand(g_strstrip(txt_tpl + 8), &vars, false, txt_path, err)) ||
	    !(txt = expand(body_start + 2, &vars, false, txt_path, err)) ||
	    !(html = expand(html_tpl, &vars, true, html_path, err))) {
		st = CM_ERR_USAGE;
		goto out;
	}
	char *wrapped = wrap_text(txt);
	g_free(txt);
	txt = wrapped;
	if ((st = lines_fit(txt, txt_path, err)) || (st = lines_fit(html, html_path, err)))
		goto out;
	/* A subject is one line, whatever the values held. */
	for (char *p = subject; *p; p++)
		if (*p == '\r' || *p == '\n')
			*p = ' ';

	m = g_mime_message_new(TRUE);
	InternetAddressList *from = internet_address_list_parse(NULL, cfg->smtp_from);
	if (from) {
		internet_address_list_append(g_mime_message_get_from(m), from);
		g_object_unref(from);
	}
	add_mailbox(g_mime_message_get_addresses(m, GMIME_ADDRESS_TYPE_TO), c->rcpt);
	if (c->token) {
		char *reply = g_strdup_printf("%s+%s@%s", cfg->validation_local, c->token, cfg->validation_domain);
		add_mailbox(g_mime_message_get_reply_to(m), reply);
		g_free(reply);
	}
	g_mime_message_set_subject(m, subject, "utf-8");
	GDateTime *date = g_date_time_new_from_unix_utc(now);
	g_mime_message_set_date(m, date);
	g_date_time_unref(date);
	/* Message-ID and boundary: a keyed hash of the item and its time, so
	 * that composing the same recipe again gives the same bytes, and two
	 * stores' mails never share an id. */
	char seed[64];
	snprintf(seed, sizeof seed, "cm-mail:%lld:%lld", (long long)id, (long long)now);
	char *hash = cfg->secret_len ? g_compute_hmac_for_string(G_CHECKSUM_SHA256, cfg->secret, cfg->secret_len, seed, -1)
				     : g_compute_checksum_for_string(G_CHECKSUM_SHA256, seed, -1);
	char *mid = g_strdup_printf("cm.%lld.%.16s@%s", (long long)id, hash, cfg->validation_domain);
	g_mime_message_set_message_id(m, mid);
	g_free(mid);
	if (c->in_reply_to && *c->in_reply_to && strlen(c->in_reply_to) < 512 &&
	    !strpbrk(c->in_reply_to, "\r\n")) {
		/* GMime hands the Message-ID back without its angle brackets. */
		char *ref = c->in_reply_to[0] == '<' ? g_strdup(c->in_reply_to) : g_strdup_printf("<%s>", c->in_reply_to);
		g_mime_object_set_header(GMIME_OBJECT(m), "In-Reply-To", ref, NULL);
		g_mime_object_set_header(GMIME_OBJECT(m), "References", ref, NULL);
		g_free(ref);
	}
	g_mime_object_set_header(GMIME_OBJECT(m), "Auto-Submitted", "auto-generated", NULL);
	if (c->req) {
		char ref[64];
		snprintf(ref, sizeof ref, "%lld", (long long)c->req->id);
		g_mime_object_set_header(GMIME_OBJECT(m), "X-Contact-Change-Request", ref, NULL);
	}

	GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
	char *boundary = g_strdup_printf("=-cm-%.24s", hash + 16);
	g_mime_multipart_set_boundary(alt, boundary);
	g_free(boundary);
	g_free(hash);
	GMimeTextPart *tp = text_part("plain", txt), *hp = text_part("html", html);
	g_mime_multipart_add(alt, GMIME_OBJECT(tp));
	g_mime_multipart_add(alt, GMIME_OBJECT(hp));
	g_object_unref(tp);
	g_object_unref(hp);
	g_mime_message_set_mime_part(m, GMIME_OBJECT(alt));
	g_object_unref(alt);

	GMimeFormatOptions *fo = g_mime_format_options_clone(NULL);
	g_mime_format_options_set_newline_format(fo, GMIME_NEWLINE_FORMAT_DOS);
	*msg = g_mime_object_to_string(GMIME_OBJECT(m), fo);
	g_mime_format_options_free(fo);
	*len = strlen(*msg);
	if (snprintf(sender, CM_EMAIL_MAX + 1, "bounces+%lld@%s", (long long)id, cfg->validation_domain) >
	    CM_EMAIL_MAX)
		st = cm_err_set(err, CM_ERR_USAGE, "validation domain too long for a bounce address");
out:
	if (m)
		g_object_unref(m);
	vars_free(&vars);
	g_free(txt_path);
	g_free(html_path);
	g_free(txt_tpl);
	g_free(html_tpl);
	g_free(txt);
	g_free(html);
	g_free(subject);
	if (st != CM_OK) {
		g_free(*msg);
		*msg = NULL;
	}
	return st;
}

bool mail_shows_code(const char *msg)
{
	const char *body = strstr(msg, "\r\n\r\n");
	return body && strstr(body, CM_TOKEN_PLACEHOLDER);
}

cm_status mail_check_templates(const cm_config *cfg, cm_err *err)
{
	static const char *const langs[] = {"fr", "en"};
	cm_request req = {.id = 1, .roles = CM_ROLE_TECH | CM_ROLE_BILLING, .state = CM_STATE_PENDING};
	cm_party p[2] = {{.request_id = 1, .side = CM_SIDE_FROM}, {.request_id = 1, .side = CM_SIDE_TO}};
	cm_service sv = {.name = "0033972101010", .kind = "number"};
	GArray *services = g_array_new(FALSE, FALSE, sizeof(cm_service));
	cm_status st = CM_OK;
	g_array_append_val(services, sv);
	cm_strlcpy(req.group, "ab12345-ovh-1", sizeof req.group);
	cm_strlcpy(req.from_nic, "xx1234-ovh", sizeof req.from_nic);
	cm_strlcpy(req.to_nic, "yy5678-ovh", sizeof req.to_nic);
	cm_strlcpy(req.asked_by, "xx1234-ovh", sizeof req.asked_by);
	req.created_at = 1764223000;
	req.expires_at = req.created_at + 14 * 86400;
	cm_strlcpy(p[0].nic, req.from_nic, sizeof p[0].nic);
	cm_strlcpy(p[0].email, "alice@example.com", sizeof p[0].email);
	cm_strlcpy(p[1].nic, req.to_nic, sizeof p[1].nic);
	cm_strlcpy(p[1].email, "bob@example.net", sizeof p[1].email);
	for (int k = CM_MAIL_VALIDATION; st == CM_OK && k <= CM_MAIL_LAST_MAIL; k++) {
		for (size_t l = 0; st == CM_OK && l < G_N_ELEMENTS(langs); l++) {
			cm_mail_ctx ctx = {
				.kind = (cm_mail_kind)k, .lang = langs[l], .rcpt = p[0].email,
				.req = k == CM_MAIL_NOTICE ? NULL : &req, .party = &p[0], .other = &p[1],
				.token = k == CM_MAIL_VALIDATION || k == CM_MAIL_REMINDER ? CM_TOKEN_PLACEHOLDER : NULL,
				.services = services, .reason = "refused_by:yy5678-ovh", .name = "Alice Martin",
				.other_name = "Bob Smith", .asker_name = "Alice Martin",
			};
			char *msg = NULL, sender[CM_EMAIL_MAX + 1];
			size_t len;
			st = mail_compose(cfg, &ctx, 1, req.created_at, &msg, &len, sender, err);
			if (st == CM_OK && ctx.token && !mail_shows_code(msg))
				st = cm_err_set(err, CM_ERR_USAGE, "the %s template (%s) shows no validation code: it needs {token}",
						cm_mail_kind_str(ctx.kind), langs[l]);
			g_free(msg);
		}
	}
	g_array_free(services, TRUE);
	return st;
}
