/* reply_quote.c - the new text of a plain-text reply: what the contact wrote
 * above (or between) the quoted original, without reply headers, forwarded
 * messages or signatures. */
#include "reply.h"

#include <string.h>

/* "On ... wrote:" and its translations: the verb near the end of the line
 * (or of up to six lines joined), maybe followed by a few words ("schrieb
 * am Fr., 28. Apr. 2017 um 11:53 Uhr:", "het volgende:"), then a colon. */
#define ATTR_VERBS                                                                                     \
	"(wrote|writes|a [ée]crit|escribi[óo]|schrieb|ha scritto|schreef|escreveu|skrev|napisa[łl]|napsal|" \
	"kirjoitti|[ée]crivait|scrie|írta|yazdı|написал|написала|пише|wrote the following)(\\s*\\(a\\))?"
static const char *const attribution_re =
	/* the verb, maybe a few words, then a colon */
	"^[\\s*_-]*\\S.{0,400}?\\b" ATTR_VERBS "(\\s+\\S+){0,9}?\\s*:[\\s*_-]*$|"
	/* or an opener ("On", "Le", "Am", ...) and the verb ending the line */
	"^[\\s*_-]*(on|le|el|am|il|op|em|den|dne|w dniu|pada|il giorno|på|la|în|dňa|at)\\s.{0,400}?\\b" ATTR_VERBS
	"[\\s*_-]*$";

/* A line that may begin an attribution folded over several lines. */
static const char *const opener_re =
	"^[\\s*_-]*((on|le|el|am|il|op|em|den|dne|w dniu|pada|il giorno|på|la|în|dňa|at)\\s|\\d|\"|<)";

/* The same, its words only (not a digit, quote or bracket). */
static const char *const opener_word_re =
	"^[\\s*_-]*(on|le|el|am|il|op|em|den|dne|w dniu|pada|il giorno|på|la|în|dňa|at)\\s";

/* Gmail's older form ("2016-03-03 17:21 GMT+01:00 Some One <a@b.c>:"),
 * and any line with a date and ending with an address and a colon (Gmail
 * in Russian: "ср, 30 апр. 2025 г. в 15:19, John Doe <doe@example.com>:"). */
static const char *const date_attribution_re =
	"^\\s*\\d{4}[-/.]\\d{1,2}[-/.]\\d{1,2}\\b.{0,200}(<\\s*\\S+@\\S+\\s*>|\\S+@\\S+)\\s*:?\\s*$|"
	"^.{0,200}\\d.{0,200}<\\s*[^<>\\s]+@[^<>\\s]+\\s*>\\s*:\\s*$|"
	"^\\s*\\d{4}-\\d{2}-\\d{2} \\d{1,2}:\\d{2}( GMT[+-]\\d{1,2}:?\\d{2})? \\S[^:]{0,80}$";

/* An e-mail address (an @mention is not one). */
static const char *const address_re = "[^\\s<>\"]+@[^\\s<>\"]+\\.[a-z]{2,}";

/* A closing ("Regards,") that starts a signature block. */
static const char *const closing_re =
	"^\\s*((best|kind|warm|warmest)\\s+)?(regards|cordialement|salutations|sincerely|bien [àa] vous)\\b[ ,.!]*$";

/* Lines that start quoted material: everything from them on is the original. */
static const char *const separator_re =
	"^[\\s*_]*(-{2,}\\s*(original message|message d'origine|message original|mensaje original|"
	"urspr[üu]ngliche nachricht|messaggio originale|oorspronkelijk bericht|forwarded message|"
	"message transf[ée]r[ée]|mensaje reenviado|weitergeleitete nachricht|messaggio inoltrato|"
	"doorgestuurd bericht|reply message|original meddelelse|opprinnelig melding|ursprungligt meddelande|"
	"исходное сообщение|пересылаемое сообщение)\\s*-{2,}|-{4,}\\s*[^-]{3,60}?\\s*-{4,}|_{2,}|(begin forwarded message|d[ée]but du message "
	"r[ée]exp[ée]di[ée]|forwarded message|message transf[ée]r[ée])\\s*:)[\\s*_]*$";

/* An Outlook-style header block: "From:" then, within a few lines, one of these. */
static const char *const hdr_from_re =
	"^\\s*\\*?(from|de|von|da|van|fr[åa]n|fra|od|expéditeur|от|message du|lähettäjä|absender)\\s*\\*?\\s*:";
static const char *const hdr_next_re =
	"^\\s*\\*?(sent|date|envoy[ée]|gesendet|inviato|enviado|verzonden|skickat|to|[àa]|an|subject|objet|"
	"betreff|oggetto|asunto|cc|destinataire|дата|кому|тема|отправлено|sujet|copie [àa]|dato|til|emne|"
	"lähetetty|vastaanottaja|aihe|datum|gesendet)\\s*\\*?\\s*:";

/* Signatures, including the mobile clients' lines in several languages. */
static const char *const signature_re =
	"^\\s*(--\\s*|(sent from my|sent from mail for|sent from yahoo mail|sent with protonmail|sent from outlook|"
	"get outlook for|envoy[ée] de mon|envoy[ée] depuis mon|envoy[ée] [àa] partir de|obtenir outlook pour|"
	"t[ée]l[ée]chargez outlook|von meinem|gesendet von meinem|enviado desde mi|enviado do meu|inviato da|"
	"inviato dal mio|sendt fra min|skickat från min|verzonden met|verstuurd vanaf mijn|wys[łl]ane z|"
	"отправлено с)\\b.*)$";

typedef struct {
	GRegex *attribution, *date_attribution, *opener, *opener_word, *address, *separator, *hdr_from, *hdr_next, *signature,
		*closing;
} quote_res;

static const quote_res *res_get(void)
{
	static quote_res res;
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		GRegexCompileFlags f = G_REGEX_CASELESS | G_REGEX_OPTIMIZE;
		res.attribution = g_regex_new(attribution_re, f, 0, NULL);
		res.date_attribution = g_regex_new(date_attribution_re, f, 0, NULL);
		res.opener = g_regex_new(opener_re, f, 0, NULL);
		res.opener_word = g_regex_new(opener_word_re, f, 0, NULL);
		res.closing = g_regex_new(closing_re, f, 0, NULL);
		res.address = g_regex_new(address_re, f, 0, NULL);
		res.separator = g_regex_new(separator_re, f, 0, NULL);
		res.hdr_from = g_regex_new(hdr_from_re, f, 0, NULL);
		res.hdr_next = g_regex_new(hdr_next_re, f, 0, NULL);
		res.signature = g_regex_new(signature_re, f, 0, NULL);
		g_assert(res.attribution && res.date_attribution && res.opener && res.opener_word && res.closing && res.address && res.separator && res.hdr_from && res.hdr_next &&
			 res.signature);
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

static bool has_alnum(const char *l)
{
	for (const char *p = l; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (g_unichar_isalnum(c) && c != 0x1427) /* U+1427: a mail tracker's mark */
			return true;
	}
	return false;
}

/* Whether s ends with a full stop, '!' or '?' (spaces after passed over). */
static bool sentence_ended(const char *s)
{
	size_t n = strlen(s);
	while (n > 0 && g_ascii_isspace(s[n - 1]))
		n--;
	return n > 0 && (s[n - 1] == '.' || s[n - 1] == '!' || s[n - 1] == '?');
}

/* Length in lines (1..6) of an attribution starting at line i, or 0.  The
 * lines are joined with spaces, blank ones and a '>' starting a
 * continuation ("<\nmailto:...\n> wrote:") passed over. */
static int attribution_at(const quote_res *r, char **lines, int i, int n)
{
	if (blank(lines[i]) || strlen(lines[i]) > 400)
		return 0;
	if (match(r->date_attribution, lines[i]))
		return 1;
	GString *s = g_string_new(NULL);
	int found = 0;
	int most = match(r->opener, lines[i]) || match(r->address, lines[i]) ? 6 : 1;
	for (int k = 0; k < most && i + k < n && !found && s->len < 600; k++) {
		const char *l = lines[i + k];
		if (k > 0 && blank(l))
			continue;
		/* A sentence ended, then a line opening an attribution: that line
		 * starts its own ("La réponse est oui.\n\nLe jeu. ... a écrit :"),
		 * the sentence is new text. */
		if (k > 0 && match(r->opener_word, l) && sentence_ended(s->str))
			break;
		if (k > 0 && quoted(l))
			while (*l == ' ' || *l == '>')
				l++;
		g_string_append_printf(s, "%s%s", k ? " " : "", l);
		/* A date or an address: "I wrote one of my own:" is not one. */
		if ((match(r->attribution, s->str) || (k > 0 && match(r->date_attribution, s->str))) &&
		    strpbrk(s->str, "@0123456789"))
			found = k + 1;
	}
	g_string_free(s, TRUE);
	return found;
}

/* "-- ", or a short mobile footer ("Sent from my iPhone"); a sentence
 * that starts the same way ("Sent from my desk, is much easier...") is not. */
static bool signature_line(const quote_res *r, const char *l)
{
	if (!match(r->signature, l))
		return false;
	while (*l == ' ' || *l == '\t')
		l++;
	return strncmp(l, "--", 2) == 0 || (g_utf8_strlen(l, -1) < 60 && !strchr(l, ','));
}

/* Line k continues the quoted line above it, cut by a client's wrapping. */
static bool wrapped(char **lines, int k)
{
	return k > 0 && quoted(lines[k - 1]) && g_utf8_strlen(lines[k - 1], -1) >= 50;
}

/* "Regards," then one to four short lines, then the end or a quote. */
static bool closing_block(char **lines, int i, int n)
{
	int after = 0;
	for (int k = i + 1; k < n; k++) {
		if (quoted(lines[k]))
			break;
		if (blank(lines[k]))
			continue;
		if (strlen(lines[k]) > 60 || ++after > 4)
			return false;
	}
	return after >= 1;
}

static bool marker(const quote_res *r, char **lines, int k, int n)
{
	return match(r->signature, lines[k]) || match(r->separator, lines[k]) || attribution_at(r, lines, k, n);
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

	bool any_new = false; /* non-blank new text seen so far */
	for (int i = 0; i < n; i++) {
		char *l = lines[i];
		if (quoted(l))
			continue;
		if (match(r->separator, l))
			break;
		if (signature_line(r, l) || (any_new && match(r->closing, l) && closing_block(lines, i, n))) {
			/* A signature ends the new text, unless a quote or an
			 * attribution follows it: then that marker does. */
			int k = i + 1;
			while (k < n && !quoted(lines[k]) && !match(r->separator, lines[k]) && !match(r->hdr_from, lines[k]) &&
			       !attribution_at(r, lines, k, n))
				k++;
			if (k >= n || !any_new || !attribution_at(r, lines, k, n))
				break;
		}
		int alen = attribution_at(r, lines, i, n);
		if (alen) {
			int next = i + alen;
			while (next < n && blank(lines[next]))
				next++;
			bool quote_follows = next < n && quoted(lines[next]);
			if (!any_new && !quote_follows) {
				/* An attribution before anything new, followed by plain
				 * text: that text is what was written. */
				i = next - 1;
				continue;
			}
			/* A pure inline reply (nothing written above the quote)
			 * answers between quoted paragraphs: keep going if a new
			 * paragraph (after a blank line) comes between quoted ones
			 * before any other marker. */
			bool inline_reply = false;
			if (quote_follows && !any_new) {
				bool seen_quote = false;
				for (int k = next; k < n && !inline_reply; k++) {
					if (quoted(lines[k]))
						seen_quote = true;
					else if (!blank(lines[k]) && marker(r, lines, k, n))
						break;
					else if (!blank(lines[k]) && seen_quote && !wrapped(lines, k))
						inline_reply = true;
				}
			}
			if (!inline_reply)
				break;
			i += alen - 1;
			continue;
		}
		/* An unquoted line glued to a long quoted one is the quote wrapped. */
		if (!blank(l) && wrapped(lines, i))
			continue;
		if (match(r->hdr_from, l)) {
			bool block = false;
			for (int k = i + 1; k < n && k <= i + 5 && !block; k++)
				block = match(r->hdr_next, lines[k]);
			if (block)
				break;
		}
		if (match(r->hdr_next, l) && !match(r->hdr_from, l)) {
			/* Hotmail's "Date:/Subject:/From:" block in another order. */
			int hits = 0;
			for (int k = i; k < n && k <= i + 4; k++)
				hits += match(r->hdr_next, lines[k]) || match(r->hdr_from, lines[k]);
			if (hits >= 3)
				break;
		}
		any_new |= !blank(l);
		g_string_append(out, l);
		g_string_append_c(out, '\n');
	}
	/* Lines of decoration only at the end (a rule, a tracking mark). */
	for (;;) {
		char *end = out->str + out->len;
		while (end > out->str && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
			end--;
		char *start = end;
		while (start > out->str && start[-1] != '\n')
			start--;
		char *line = g_strndup(start, (gsize)(end - start));
		bool decoration = start < end && !has_alnum(line);
		g_free(line);
		if (!decoration)
			break;
		g_string_truncate(out, (gsize)(start - out->str));
	}
	g_strfreev(lines);
	g_free(norm);
	/* Trim blank lines and spaces at both ends. */
	char *res = g_string_free(out, FALSE);
	g_strstrip(res);
	return res;
}
