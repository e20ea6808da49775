/* reply_kind.c - telling replies from bounces and auto-replies, by structure
 * first (multipart/report and its report-type, delivery-status parts), then
 * by headers (RFC 3834 and the common vendor ones), then by subject. */
#include "reply_internal.h"

#include <string.h>

/* Out-of-office subjects, at the start (after any "Re:" or "[").  French
 * in its masculine, feminine and plural forms and its holiday words; then
 * English, German, Spanish, Italian, Dutch and the Nordic ones. */
static const char *const ooo_subject_re =
	"^\\s*(((re|aw|r|rif|sv|tr|antw|wg|fw|fwd)\\s*:\\s*)*\\[?\\s*)?"
	"(\\[?auto(matic|matische)?[ -]?(reply|response|antwort|respuesta|risposta|svar|antwoord)\\]?|"
	"auto:|autoreply|out of (the )?office|ooo\\b|absence du bureau|absente?s? du bureau|absence\\b|absente?s?\\b|"
	"absent\\s*\\(e\\)|r[ée]ponse automatique|message d'absence|je suis absente?|je serai absente?|hors du bureau|"
	"en cong[ée]s?\\b|cong[ée]s?\\b|en vacances|vacances\\b|(de )?retour le\\b|de retour\\b|"
	"abwesen|automatische antwort|nicht im b[üu]ro|im urlaub|urlaub\\b|"
	"respuesta autom[áa]tica|fuera de (la )?oficina|ausente\\b|de vacaciones|vacaciones\\b|"
	"risposta automatica|fuori (sede|ufficio)|assente\\b|in ferie|ferie\\b|"
	"automatisch antwoord|afwezig|buiten kantoor|niet op kantoor|(op |met )?vakantie\\b|"
	"autosvar|fr[åa]nvaro|on vacation|vacation|on leave|on holiday|i am out|i'm out|away from)";

/* "automatic reply" in other languages, and the unmistakable out-of-office
 * forms, anywhere in the subject. */
static const char *const auto_anywhere_re =
	"(automati\\w*\\s+(reply|response|answer|antwort|atbilde|svar|odpowied\\w*|odpov\\w*|v[áa]lasz|vastaus|"
	"risposta|respuesta|resposta|antwoord|r[ée]ponse)|arpus biroja|poza biurem|mimo kancel|fuera de la oficina|"
	"out of (the )?office|absence du bureau|absente?s? du bureau|abwesenheitsnotiz|nicht im b[üu]ro|"
	"fuori sede|fuori ufficio|buiten kantoor|niet op kantoor|"
	"\\[\\s*(absente?s?|absent\\s*\\(e\\)|en cong[ée]s|cong[ée]s|vacances|ooo|abwesend|urlaub|ausente|"
	"vacaciones|assente|ferie|afwezig|vakantie)\\s*\\])";

/* The first lines of an out-of-office notice, in the new text's opening. */
static const char *const ooo_text_re =
	"(\\babsente?s?\\b|\\babsent\\s*\\(e\\)|\\ben cong[ée]s?\\b|\\ben vacances\\b|\\bhors du bureau\\b|"
	"\\ben absence\\b|\\bde retour (le|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|[àa] partir|d[èe]s|"
	"au bureau)\\b|\\bretour (pr[ée]vu )?le \\d|"
	"\\bout of (the )?office\\b|\\b(i am|i'm|i will be|i'll be|we are)\\s+(currently\\s+|now\\s+)?(away|out|"
	"on (annual |parental |sick |maternity |paternity )?(leave|vacation|holiday))\\b|"
	"\\bon (annual )?leave (until|from|till)\\b|\\baway from (the office|my desk|my e-?mail|my inbox)|"
	"\\bnicht im b[üu]ro\\b|\\babwesend\\b|\\babwesenheit|\\bim urlaub\\b|\\bau(ß|ss)er haus\\b|"
	"\\bfuera de (la )?oficina\\b|\\bausente\\b|\\bde vacaciones\\b|"
	"\\bfuori (sede|ufficio)\\b|\\bassente\\b|\\bin ferie\\b|"
	"\\bafwezig\\b|\\bbuiten kantoor\\b|\\bniet op kantoor\\b|\\b(op|met) vakantie\\b|"
	"\\b(ceci est|this is|dies ist|esta es|questa [èe]|dit is)\\b.{0,30}\\bautomati|\\bauto-?reply\\b)";

static const char *const bounce_subject_re =
	"(undeliver|undelivered mail|delivery status notification|delivery (has )?fail|returned mail|"
	"failure notice|mail delivery (failed|failure|system|subsystem)|could not be delivered|"
	"non remis|non distribuable|non d[ée]livr|[ée]chec de (la )?remise|delivery problem|returned to sender|"
	"nondeliverable|message not delivered|unzustellbar|rejected:|mail system error|errors from|error notification|"
	"\\x{30a8}\\x{30e9}\\x{30fc}|notificationtype.{0,4}bounce)";

static const char *const daemon_from_re =
	"(mailer[-_. ]?daemon|post[-_]?master|mail delivery (system|subsystem|service)|mail administrator|"
	"postmaster|mail system|smtp gateway|delivery status notification)";

static const char *const complaint_subject_re =
	"^\\s*(complaint about message from|abuse report|fbl report|spam report|email feedback report)";

static GRegex *re(int which)
{
	static GRegex *r[6];
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		r[0] = g_regex_new(ooo_subject_re, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
		r[1] = g_regex_new(bounce_subject_re, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
		r[2] = g_regex_new(daemon_from_re, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
		r[3] = g_regex_new(complaint_subject_re, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
		r[4] = g_regex_new(auto_anywhere_re, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
		r[5] = g_regex_new(ooo_text_re, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
		g_assert(r[0] && r[1] && r[2] && r[3] && r[4] && r[5]);
		g_once_init_leave(&once, 1);
	}
	return r[which];
}

static bool type_is(GMimeObject *o, const char *type, const char *sub)
{
	GMimeContentType *ct = o ? g_mime_object_get_content_type(o) : NULL;
	return ct && g_mime_content_type_is_type(ct, type, sub);
}

/* Whether a delivery-status part reports a failure: any "Action: failed"
 * (or no Action at all, as some MTAs write).  Delivered, relayed, expanded,
 * deliverable and delayed notices are not bounces. */
static bool dsn_failed(GMimeObject *o)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	if (GMIME_IS_PART(o)) {
		GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(o));
		if (dw)
			g_mime_data_wrapper_write_to_stream(dw, mem);
	} else {
		g_mime_object_write_to_stream(o, NULL, mem);
	}
	GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	char *text = ba && ba->data ? g_strndup((const char *)ba->data, MIN(ba->len, 65536)) : g_strdup("");
	g_object_unref(mem);
	static GRegex *action;
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		action = g_regex_new("^\\s*action\\s*:\\s*([a-z-]+)", G_REGEX_CASELESS | G_REGEX_MULTILINE, 0, NULL);
		g_once_init_leave(&once, 1);
	}
	GMatchInfo *mi = NULL;
	bool any = false, failed = false;
	g_regex_match(action, text, 0, &mi);
	while (g_match_info_matches(mi)) {
		char *a = g_match_info_fetch(mi, 1);
		any = true;
		failed |= g_ascii_strcasecmp(a, "delivered") != 0 && g_ascii_strcasecmp(a, "relayed") != 0 &&
			  g_ascii_strcasecmp(a, "expanded") != 0 && g_ascii_strcasecmp(a, "deliverable") != 0;
		g_free(a);
		g_match_info_next(mi, NULL);
	}
	g_match_info_free(mi);
	g_free(text);
	return failed || !any;
}

/* The report-type of a multipart/report anywhere in the first levels, and
 * whether a message/delivery-status (or feedback/disposition) part exists. */
static void scan_reports(GMimeObject *o, int depth, const char **report_type, const char **part_type)
{
	if (!o || depth > 8)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		if (type_is(o, "multipart", "report") && !*report_type) {
			const char *rt = g_mime_object_get_content_type_parameter(o, "report-type");
			*report_type = rt ? rt : "";
		}
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n && i < 64; i++)
			scan_reports(g_mime_multipart_get_part(mp, i), depth + 1, report_type, part_type);
		return;
	}
	if (*part_type)
		return;
	if (type_is(o, "message", "delivery-status") || type_is(o, "message", "global-delivery-status"))
		*part_type = dsn_failed(o) ? "delivery-status" : "delivery-notice";
	else if (type_is(o, "message", "feedback-report"))
		*part_type = "feedback-report";
	else if (type_is(o, "message", "disposition-notification"))
		*part_type = "disposition-notification";
}

static bool local_is(const char *addr, const char *const *names, size_t n)
{
	const char *at = strchr(addr, '@');
	size_t len = at ? (size_t)(at - addr) : strlen(addr);
	for (size_t i = 0; i < n; i++)
		if (strlen(names[i]) == len && g_ascii_strncasecmp(addr, names[i], len) == 0)
			return true;
	return false;
}

/* A mailing list's or bulk sender's return path: bounces-...@, ...-bounces@,
 * owner-...@. */
static bool verp_bounce(const char *env_from)
{
	char *low = g_ascii_strdown(env_from, -1);
	char *at = strchr(low, '@');
	if (at)
		*at = '\0';
	bool bulk = g_str_has_prefix(low, "bounce-") || g_str_has_prefix(low, "bounces-") ||
		    g_str_has_prefix(low, "bounce+") || g_str_has_prefix(low, "bounces+") ||
		    g_str_has_suffix(low, "-bounces") || g_str_has_suffix(low, "-bounce") ||
		    g_str_has_prefix(low, "owner-") || g_str_has_prefix(low, "mailman-bounces");
	g_free(low);
	return bulk;
}

static const char *header(GMimeObject *m, const char *name)
{
	return g_mime_object_get_header(m, name);
}

void reply_classify(GMimeMessage *m, const char *env_from, const char *from, const char *subject, cm_reply *r)
{
	GMimeObject *mo = GMIME_OBJECT(m);
	GMimeObject *body = g_mime_message_get_mime_part(m);
	const char *report_type = NULL, *part_type = NULL;
	static const char *const daemons[] = {"mailer-daemon", "postmaster", "mail-daemon", "maildaemon",
					      "mail.daemon", "mailerdaemon"};
	static const char *const noreply[] = {"noreply", "no-reply", "no_reply", "donotreply", "do-not-reply",
					      "do_not_reply", "ne-pas-repondre", "nepasrepondre", "ne_pas_repondre"};
	bool null_sender = env_from && env_from[0] == '\0';
	/* The whole From header: "MAILER-DAEMON <>" has only a display name. */
	const char *from_hdr = header(mo, "From");
	bool daemon = (from[0] && local_is(from, daemons, G_N_ELEMENTS(daemons))) ||
		      (from_hdr && g_regex_match(re(2), from_hdr, 0, NULL));
	const char *subj = subject ? subject : "";

	scan_reports(body, 0, &report_type, &part_type);
	r->kind = CM_KIND_REPLY;
#define KIND(k, why) do { r->kind = (k); g_strlcpy(r->kind_why, (why), sizeof r->kind_why); return; } while (0)
	if (part_type && strcmp(part_type, "delivery-notice") == 0)
		KIND(CM_KIND_AUTO_REPLY, "a delivery status notice without a failure (delivered, relayed or delayed)");
	if (report_type && g_ascii_strcasecmp(report_type, "delivery-status") == 0)
		KIND(CM_KIND_BOUNCE, "multipart/report; report-type=delivery-status");
	if (part_type && strcmp(part_type, "delivery-status") == 0)
		KIND(CM_KIND_BOUNCE, "a message/delivery-status part");
	if (report_type && g_ascii_strcasecmp(report_type, "disposition-notification") == 0)
		KIND(CM_KIND_AUTO_REPLY, "a read receipt (disposition-notification)");
	if (report_type && g_ascii_strcasecmp(report_type, "feedback-report") == 0)
		KIND(CM_KIND_AUTO_REPLY, "an abuse report (feedback-report)");
	if (part_type)
		KIND(CM_KIND_AUTO_REPLY, strcmp(part_type, "feedback-report") == 0 ? "an abuse report (feedback-report)"
										     : "a read receipt (disposition-notification)");
	if (g_regex_match(re(3), subj, 0, NULL))
		KIND(CM_KIND_AUTO_REPLY, "an abuse report (complaint subject)");
	if (daemon && (null_sender || g_regex_match(re(1), subj, 0, NULL) || !env_from))
		KIND(CM_KIND_BOUNCE, "sent by a mailer daemon");
	if (null_sender && g_regex_match(re(1), subj, 0, NULL))
		KIND(CM_KIND_BOUNCE, "null sender and a delivery-failure subject");
	const char *as = header(mo, "Auto-Submitted");
	if (as) {
		char *v = g_strstrip(g_ascii_strdown(as, -1));
		bool no = strncmp(v, "no", 2) == 0 && (v[2] == '\0' || v[2] == ';' || v[2] == ' ');
		g_free(v);
		if (!no)
			KIND(CM_KIND_AUTO_REPLY, "Auto-Submitted header");
	}
	if (header(mo, "X-Autoreply") || header(mo, "X-Autorespond") || header(mo, "X-Autoresponder") ||
	    header(mo, "X-Autoreply-From") || header(mo, "X-Mail-Autoreply"))
		KIND(CM_KIND_AUTO_REPLY, "X-Autoreply header");
	const char *prec = header(mo, "Precedence");
	if (prec) {
		char *v = g_strstrip(g_ascii_strdown(prec, -1));
		bool bulk = strcmp(v, "bulk") == 0 || strcmp(v, "junk") == 0 || strcmp(v, "list") == 0 ||
			    strcmp(v, "auto_reply") == 0;
		g_free(v);
		if (bulk)
			KIND(CM_KIND_AUTO_REPLY, "Precedence header");
	}
	if (header(mo, "List-Id") || header(mo, "List-Unsubscribe"))
		KIND(CM_KIND_AUTO_REPLY, "mailing-list headers (List-Id, List-Unsubscribe)");
	if (g_regex_match(re(0), subj, 0, NULL) || g_regex_match(re(4), subj, 0, NULL))
		KIND(CM_KIND_AUTO_REPLY, "an out-of-office subject");
	if (env_from && verp_bounce(env_from))
		KIND(CM_KIND_AUTO_REPLY, "bulk mail (a list's bounce return path)");
	if (from[0] && local_is(from, noreply, G_N_ELEMENTS(noreply)))
		KIND(CM_KIND_AUTO_REPLY, "a no-reply sender");
	if (daemon)
		KIND(CM_KIND_BOUNCE, "sent by a mailer daemon");
	if (null_sender)
		KIND(CM_KIND_AUTO_REPLY, "null envelope sender");
#undef KIND
}

void reply_classify_text(const char *new_text, cm_reply *r)
{
	if (r->kind != CM_KIND_REPLY)
		return;
	/* The opening's first line, and its second when the first gives no
	 * answer: "J'accepte.\n Je serai absent lundi." stays a reply. */
	char *opening = reply_opening(new_text);
	char **lines = g_strsplit(opening, "\n", 3);
	bool ooo = lines[0] && g_regex_match(re(5), lines[0], 0, NULL);
	if (!ooo && lines[0] && lines[1] && reply_intent(lines[0], NULL, 0) == CM_INTENT_NONE)
		ooo = g_regex_match(re(5), lines[1], 0, NULL);
	g_strfreev(lines);
	g_free(opening);
	if (ooo) {
		r->kind = CM_KIND_AUTO_REPLY;
		g_strlcpy(r->kind_why, "an out-of-office text", sizeof r->kind_why);
	}
}
