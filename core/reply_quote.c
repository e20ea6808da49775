/* reply_quote.c - the new text of a plain-text reply: what the contact wrote
 * above (or between) the quoted original, without reply headers, forwarded
 * messages or signatures. */
#include "reply.h"

#include <string.h>

/* "On ... wrote:" and its translations, possibly folded over up to three
 * lines (joined with a space before matching). */
static const char *const attribution_re =
	"^\\s*(on|le|el|am|il|op|em|den|dne|w dniu|pada|il giorno|på|la|în|dňa|le \\S+ \\S+ \\S+)\\s.{0,300}?"
	"(wrote|a [ée]crit|escribi[óo]|schrieb|ha scritto|schreef|escreveu|skrev|napisa[łl]|napsal|kirjoitti|"
	"[ée]crivait|scrie|írta|yazdı)\\s*:?\\s*$";

/* Lines that start quoted material: everything from them on is the original. */
static const char *const separator_re =
	"^\\s*(-{2,}\\s*(original message|message d'origine|message original|mensaje original|"
	"urspr[üu]ngliche nachricht|messaggio originale|oorspronkelijk bericht|forwarded message|"
	"message transf[ée]r[ée]|mensaje reenviado|weitergeleitete nachricht|messaggio inoltrato|"
	"doorgestuurd bericht|reply message)\\s*-{2,}|_{10,}|(begin forwarded message|d[ée]but du message "
	"r[ée]exp[ée]di[ée]|forwarded message|message transf[ée]r[ée])\\s*:)\\s*$";

/* An Outlook-style header block: "From:" then, within a few lines, one of these. */
static const char *const hdr_from_re = "^\\s*\\*?(from|de|von|da|van|fr[åa]n|od|expéditeur)\\s*\\*?\\s*:";
static const char *const hdr_next_re =
	"^\\s*\\*?(sent|date|envoy[ée]|gesendet|inviato|enviado|verzonden|skickat|to|[àa]|an|subject|objet|"
	"betreff|oggetto|asunto|cc|destinataire)\\s*\\*?\\s*:";

/* Signatures, including the mobile clients' lines. */
static const char *const signature_re =
	"^\\s*(--\\s*|(sent from my|sent from mail for|sent from yahoo mail|sent with protonmail|sent from outlook|"
	"get outlook for|envoy[ée] de mon|envoy[ée] depuis mon|envoy[ée] [àa] partir de|obtenir outlook pour|"
	"t[ée]l[ée]chargez outlook|von meinem|enviado desde mi|inviato da)\\b.*)$";

typedef struct {
	GRegex *attribution, *separator, *hdr_from, *hdr_next, *signature;
} quote_res;

static const quote_res *res_get(void)
{
	static quote_res res;
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		GRegexCompileFlags f = G_REGEX_CASELESS | G_REGEX_OPTIMIZE;
		res.attribution = g_regex_new(attribution_re, f, 0, NULL);
		res.separator = g_regex_new(separator_re, f, 0, NULL);
		res.hdr_from = g_regex_new(hdr_from_re, f, 0, NULL);
		res.hdr_next = g_regex_new(hdr_next_re, f, 0, NULL);
		res.signature = g_regex_new(signature_re, f, 0, NULL);
		g_assert(res.attribution && res.separator && res.hdr_from && res.hdr_next && res.signature);
		g_once_init_leave(&once, 1);
	}
	return &res;
}

static bool quoted(const char *l)
{
	while (*l == ' ' || *l == '\t')
		l++;
	return *l == '>';
}

static bool blank(const char *l)
{
	for (; *l; l++)
		if (!g_ascii_isspace(*l) && (unsigned char)*l != 0xc2 && (unsigned char)*l != 0xa0)
			return false;
	return true;
}

static bool match(GRegex *re, const char *s)
{
	return g_regex_match(re, s, 0, NULL);
}

/* Length in lines (1..3) of an attribution starting at line i, or 0. */
static int attribution_at(const quote_res *r, char **lines, int i, int n)
{
	GString *s = g_string_new(NULL);
	int found = 0;
	for (int k = 0; k < 3 && i + k < n && !found; k++) {
		if (k > 0 && blank(lines[i + k]))
			break;
		if (strlen(lines[i + k]) > 400)
			break;
		g_string_append_printf(s, "%s%s", k ? " " : "", lines[i + k]);
		if (match(r->attribution, s->str))
			found = k + 1;
	}
	g_string_free(s, TRUE);
	return found;
}

char *reply_strip_quotes(const char *text)
{
	const quote_res *r = res_get();
	char *norm = g_strdup(text ? text : "");
	/* Line ends: CRLF and lone CR become LF. */
	char *w = norm;
	for (const char *p = norm; *p; p++) {
		if (*p == '\r') {
			*w++ = '\n';
			if (p[1] == '\n')
				p++;
		} else {
			*w++ = *p;
		}
	}
	*w = '\0';
	char **lines = g_strsplit(norm, "\n", -1);
	int n = (int)g_strv_length(lines);
	GString *out = g_string_new(NULL);

	for (int i = 0; i < n; i++) {
		char *l = lines[i];
		if (quoted(l))
			continue;
		if (match(r->signature, l) || match(r->separator, l))
			break;
		int alen = attribution_at(r, lines, i, n);
		if (alen) {
			/* Inline replies answer between quoted lines: keep going only
			 * if what follows mixes '>' lines and new lines. */
			bool any_quoted = false, any_new = false;
			for (int k = i + alen; k < n; k++) {
				if (match(r->signature, lines[k]) || match(r->separator, lines[k]))
					break;
				if (quoted(lines[k]))
					any_quoted = true;
				else if (!blank(lines[k]) && any_quoted)
					any_new = true;
			}
			if (!(any_quoted && any_new))
				break;
			i += alen - 1;
			continue;
		}
		if (match(r->hdr_from, l)) {
			bool block = false;
			for (int k = i + 1; k < n && k <= i + 5 && !block; k++)
				block = match(r->hdr_next, lines[k]);
			if (block)
				break;
		}
		g_string_append(out, l);
		g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	g_free(norm);
	/* Trim blank lines and spaces at both ends. */
	char *res = g_string_free(out, FALSE);
	g_strstrip(res);
	return res;
}
