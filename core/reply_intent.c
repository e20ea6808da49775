/* reply_intent.c - accept or refuse, read from the opening of the new text
 * of a reply in French or English: whole words and a few unambiguous
 * phrases ("c'est bon pour moi", "go ahead"), case and accents ignored,
 * negations understood ("je n'accepte pas", "I do not accept" are
 * refusals).  What comes after the opening (closing formula, name, phone,
 * disclaimer, "Sent from my iPhone") never decides.
 *
 * The opening, precisely (reply_opening()):
 *  1. blank lines, greeting lines ("Bonjour,", "Hello Alice,", "Madame,
 *     Monsieur,", "Guten Tag Frau Weber,") and thanks alone ("Merci.",
 *     "Thank you for your message.") before any other text are passed
 *     over; a greeting followed by more on its line ("Bonjour, j'accepte")
 *     keeps what follows it;
 *  2. then lines are taken, at most OPENING_PARAS paragraphs (runs of
 *     non-blank lines) and OPENING_LINES lines,
 *  3. up to, not including, the first line that ends a message: a closing
 *     formula alone or with a name ("Cordialement", "Bien à vous,",
 *     "Best,", "Merci d'avance", "Mit freundlichen Grüßen", "Saludos",
 *     "Cordiali saluti", "Met vriendelijke groet"), "-- " or a rule, a
 *     mobile or webmail footer ("Envoyé de mon iPhone", "Sent from Yahoo
 *     Mail on Android", "Get Outlook for iOS"), a phone line, an address
 *     or link alone, a legal disclaimer ("La société refuse toute
 *     responsabilité…", "This e-mail is confidential…"), or — once some
 *     text was taken — a name alone on its line ("Jean Dupont").
 * A closing, footer or disclaimer before any text leaves the opening
 * empty: such a reply decides nothing.
 *
 * The intent: the opening's first line when it alone is clear, else the
 * whole opening; both or neither found is no decision. */
#include "reply_internal.h"

#include <string.h>

#define OPENING_PARAS 2
#define OPENING_LINES 6
#define NEGATION_SPAN 3 /* words before an answer word a negator may stand */
#define CLOSING_TAIL_MAX 40 /* bytes after a closing formula (a name) */

static const char *const accept_words[] = {
	"accept", "accepte", "accepted", "accepter", "acceptee", "accepts", "oui", "yes", "ok", "okay",
	"valide", "valider", "validate", "validated", "confirm", "confirme", "confirmed", "confirmer",
	"approve", "approved", "agree", "agreed", "approuve", "daccord",
};
static const char *const refuse_words[] = {
	"refuse", "refused", "refus", "refuser", "refusee", "non", "no", "decline", "declined", "reject",
	"rejected", "rejette", "deny", "denied", "nope", "oppose",
};
/* Accept words said alone; a negator negates them only right before
 * ("pas d'accord", "not ok"), and "oui" and "yes" never. */
static const char *const interjections[] = {"oui", "yes", "ok", "okay", "daccord"};
static const char *const negators[] = {"not", "n", "ne", "never", "jamais"};
/* Negators only right before a word: "pas d'accord", "plus ok pour moi";
 * not "Pas de souci pour moi, j'accepte" (a phrase) nor "de plus, oui". */
static const char *const near_negators[] = {"pas", "plus"};
/* Words that may stand between a negator and what it negates without
 * counting: "pas vraiment d'accord", "not really ok", "pas du tout". */
static const char *const adverbs[] = {
	"vraiment", "really", "trop", "tres", "very", "du", "tout", "at", "all", "totalement", "totally",
	"completement", "completely", "entierement", "fully", "forcement", "necessarily", "so", "quite",
	"encore", "yet",
};
/* Phrases whose negator negates nothing ("Why not, I accept"). */
static const char *const neutral_phrases[] = {"why not", "pourquoi pas", "pourquoi non"};

/* Phrases that answer without a keyword, as words_of() spells them; the
 * longest match wins, and a phrase's words are neither keywords nor
 * negators ("pas de souci, oui" accepts; "no problem" is not "no").  A
 * negated accept phrase ("je ne dis pas allez-y") makes no decision. */
static const char *const accept_phrases[] = {
	"c est bon", "ca me va", "ca me convient", "cela me convient", "ca marche", "allez y", "vas y",
	"vous pouvez y aller", "pas de souci", "pas de soucis", "pas de probleme", "pas de problemes",
	"aucun souci", "aucun probleme", "sans souci", "sans probleme", "n y a pas de souci",
	"n y a pas de soucis", "n y a pas de probleme", "n y a aucun souci", "n y a aucun probleme",
	"ne vois pas de probleme", "ne vois aucun probleme", "ne vois pas d inconvenient",
	"ne vois aucun inconvenient", "n y vois pas d inconvenient", "n y vois aucun inconvenient",
	"n ai pas d objection", "n ai aucune objection", "bon pour accord", "mon accord", "feu vert", "pas d objection",
	"aucune objection", "go ahead", "fine by me", "fine with me", "sounds good", "that s fine",
	"thats fine", "that is fine", "all good", "no problem", "no problems", "not a problem", "no worries",
	"no objection", "no objections", "please proceed", "you may proceed", "you can proceed", "good to go",
};
static const char *const refuse_phrases[] = {"hors de question", "no way"};

static bool in(const char *w, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, list[i]) == 0)
			return true;
	return false;
}
#define IN(w, l) in(w, l, sizeof l / sizeof l[0])

/* Lowercase ASCII words of a UTF-8 text: accents dropped (NFD, marks
 * removed), "n't" read as " not", "d'accord" kept as one word. */
static char **words_of(const char *text)
{
	char *nfd = g_utf8_normalize(text, -1, G_NORMALIZE_NFD);
	GString *s = g_string_new(NULL);
	for (const char *p = nfd ? nfd : ""; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (g_unichar_ismark(c))
			continue;
		if (c == 0x2019 || c == 0x2018 || c == '`')
			c = '\'';
		if (c < 0x80 && g_ascii_isalnum((char)c))
			g_string_append_c(s, g_ascii_tolower((char)c));
		else if (c == '\'')
			g_string_append_c(s, '\'');
		else
			g_string_append_c(s, ' ');
	}
	g_free(nfd);
	/* n't -> not; d'accord -> daccord; other apostrophes split words. */
	GString *t = g_string_new(NULL);
	for (gsize i = 0; i < s->len; i++) {
		if (s->str[i] == '\'') {
			if (i > 0 && s->str[i - 1] == 'n' && i + 1 < s->len && s->str[i + 1] == 't' &&
			    (i + 2 >= s->len || !g_ascii_isalnum(s->str[i + 2]))) {
				g_string_truncate(t, t->len - 1);
				g_string_append(t, " not");
				i++;
				continue;
			}
			if (t->len && t->str[t->len - 1] == 'd' && (t->len == 1 || t->str[t->len - 2] == ' ') &&
			    strncmp(s->str + i + 1, "accord", 6) == 0)
				continue;
			g_string_append_c(t, ' ');
			continue;
		}
		g_string_append_c(t, s->str[i]);
	}
	g_string_free(s, TRUE);
	char **w = g_strsplit_set(t->str, " ", -1);
	g_string_free(t, TRUE);
	/* Drop the empty strings of consecutive separators. */
	int k = 0;
	for (int i = 0; w[i]; i++) {
		if (w[i][0])
			w[k++] = w[i];
		else
			g_free(w[i]);
	}
	w[k] = NULL;
	return w;
}

/* Length in words of phrase at w, or 0 when w does not start with it. */
static int phrase_at(char **w, const char *phrase)
{
	int n = 0;
	const char *p = phrase;
	while (*p) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (!w[n] || strlen(w[n]) != len || strncmp(w[n], p, len) != 0)
			return 0;
		n++;
		p += len;
		while (*p == ' ')
			p++;
	}
	return n;
}

/* The longest phrase of list at w: its length, 0 if none. */
static int longest(char **w, const char *const *list, size_t n)
{
	int best = 0;
	for (size_t i = 0; i < n; i++) {
		int len = phrase_at(w, list[i]);
		if (len > best)
			best = len;
	}
	return best;
}

typedef struct {
	bool acc, ref;
	bool unsure; /* a negated accept phrase: never an acceptance */
} reading;

/* Whether the word at i is negated: "pas" or "plus" right before it, or
 * n/ne/not/never/jamais right before it (an interjection: "not ok") or
 * within NEGATION_SPAN words (a verb: "I do not want to accept"); adverbs
 * between do not count, "que" between undoes it ("je ne peux qu'accepter"
 * accepts), phrase words never negate, and "oui" and "yes" never are. */
static bool negated_at(char **w, const bool *in_phrase, int i)
{
	if (strcmp(w[i], "oui") == 0 || strcmp(w[i], "yes") == 0)
		return false;
	bool interjection = IN(w[i], interjections);
	int seen = 0;
	for (int k = i - 1; k >= 0 && seen < NEGATION_SPAN; k--) {
		if (in_phrase[k])
			return false;
		if (IN(w[k], adverbs))
			continue;
		if (strcmp(w[k], "qu") == 0 || strcmp(w[k], "que") == 0)
			return false;
		bool near = ++seen == 1;
		if (IN(w[k], near_negators))
			return near;
		if (IN(w[k], negators))
			return near || !interjection;
		if (interjection)
			return false;
	}
	return false;
}

/* Text without its questions: "C'est bon ?" or "OK?" is not an answer. */
static char *without_questions(const char *text)
{
	GString *out = g_string_new(NULL);
	gsize start = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '?') {
			g_string_truncate(out, start);
			start = out->len;
			continue;
		}
		g_string_append_c(out, *p);
		if (*p == '.' || *p == '!' || *p == '\n' || *p == ';')
			start = out->len;
	}
	return g_string_free(out, FALSE);
}

/* What one piece of text says: accept and refuse words and phrases, an
 * accept word negated (negated_at) or before "pas" counting as a refusal,
 * a negated refusal left unread. */
static reading read_text(const char *text)
{
	reading r = {false, false, false};
	char *asked = without_questions(text);
	char **w = words_of(asked);
	g_free(asked);
	int n = (int)g_strv_length(w);
	bool *in_phrase = g_new0(bool, (gsize)n + 1);
	for (int i = 0; i < n; i++) {
		int nlen = longest(w + i, neutral_phrases, G_N_ELEMENTS(neutral_phrases));
		int alen = longest(w + i, accept_phrases, G_N_ELEMENTS(accept_phrases));
		int rlen = longest(w + i, refuse_phrases, G_N_ELEMENTS(refuse_phrases));
		if (nlen || alen || rlen) {
			int len = MAX(nlen, MAX(alen, rlen));
			bool negated = negated_at(w, in_phrase, i);
			for (int k = i; k < i + len; k++)
				in_phrase[k] = true;
			if (len == nlen)
				;
			else if (alen >= rlen && negated)
				r.unsure = true;
			else if (alen >= rlen)
				r.acc = true;
			else if (!negated)
				r.ref = true;
			i += len - 1;
			continue;
		}
		bool is_acc = IN(w[i], accept_words), is_ref = IN(w[i], refuse_words);
		if (!is_acc && !is_ref)
			continue;
		bool negated = negated_at(w, in_phrase, i);
		/* "pas" after the verb: "je n'accepte pas" has n before already;
		 * "accepte pas" alone is colloquial French for a refusal too. */
		if (!negated && is_acc && !IN(w[i], interjections) && w[i + 1] && strcmp(w[i + 1], "pas") == 0)
			negated = true;
		if (is_acc && !negated)
			r.acc = true;
		else if (is_acc && negated)
			r.ref = true;
		else if (is_ref && !negated)
			r.ref = true;
	}
	g_free(in_phrase);
	g_strfreev(w);
	return r;
}

static bool answers(const char *text)
{
	reading r = read_text(text);
	return r.acc || r.ref || r.unsure;
}

static cm_intent intent_of_reading(reading r)
{
	if (r.unsure && r.acc)
		return CM_INTENT_BOTH;
	if (r.unsure)
		return r.ref ? CM_INTENT_REFUSE : CM_INTENT_NONE;
	return r.acc && r.ref ? CM_INTENT_BOTH : r.acc ? CM_INTENT_ACCEPT : r.ref ? CM_INTENT_REFUSE : CM_INTENT_NONE;
}

/* --- the opening -------------------------------------------------------- */

static const char *const greeting_re =
	"^\\s*(bonjour|bonsoir|salut|coucou|all[oô]|hello|hi|hey|dear|greetings|good (morning|afternoon|evening)|"
	"cher|ch[eè]re|chers|ch[eè]res|madame|monsieur|mesdames|messieurs|mademoiselle|"
	"guten (tag|morgen|abend)|hallo|servus|moin|liebe|lieber|sehr geehrte[rs]?|"
	"hola|estimad[oa]s?|buen[oa]s? (d[ií]as|tardes|noches)|"
	"buongiorno|buonasera|ciao|salve|gentile|gentil[ie]ssim[oa]|egregi[oa]|"
	"goede(morgen|middag|navond|ndag)|beste|geachte|hoi)\\b";

/* Closing formulas; group 1 set for a thanks ("Merci", "Thanks"), which
 * before any text is passed over rather than ending the opening. */
static const char *const closing_re =
	"^[\\s*_]*(?:((?:un |mille |grand )?merci(?:s)?(?: beaucoup| bien| encore| d'avance| par avance| [àa] vous)?|"
	"(?:many |a lot of )?thanks?(?: you)?(?: (?:so|very) much)?(?: in advance)?|thx|ty|"
	"(?:vielen )?dank(?:e)?(?: sch[öo]n)?|(?:muchas )?gracias|grazie(?: mille)?|bedankt|dank (?:je|u)(?: wel)?)|"
	"(?:bien |tr[eè]s |tr[eè]s bien |tr[eè]s )?cordialement|cdlt|cdt|bien [àa] (?:vous|toi)|b[àa]v|"
	"(?:mes |nos )?(?:sinc[eè]res |meilleures |respectueuses |bien )?salutations(?: distingu[ée]es)?|"
	"amicalement|amiti[ée]s|bonne (?:journ[ée]e|soir[ée]e|fin de journ[ée]e|semaine|continuation|fin de semaine)|"
	"belle journ[ée]e|[àa] (?:bient[ôo]t|plus|tr[eè]s vite)|bises|bisous|"
	"(?:(?:best|kind|warm|warmest|warm|many|with kind|with best) )?regards|best(?: wishes)?|all the best|cheers|"
	"sincerely(?: yours)?|yours(?: (?:sincerely|truly|faithfully))?|respectfully|take care|"
	"(?:mit )?(?:freundlichen|besten|sch[öo]nen|herzlichen|lieben|viele|beste|liebe|herzliche|freundliche) "
	"gr[üu](?:ß|ss)(?:e|en)?|mfg|lg|vg|gru(?:ß|ss)|"
	"(?:un )?saludos?(?: cordiales)?|atentamente|cordialmente|un abrazo|"
	"(?:cordiali|distinti|cari|molti) saluti|saluti|un saluto|buona (?:giornata|serata)|"
	"(?:met )?(?:vriendelijke|hartelijke) groet(?:en)?|groet(?:en|jes)?)(?=$|[\\s,.!:;)-])";

/* Mobile and webmail footers, and signature rules. */
static const char *const footer_re =
	"^\\s*(--\\s*$|__{2,}\\s*$|sent from\\b|sent with\\b|sent via\\b|sent using\\b|get outlook for\\b|"
	"envoy[ée] (de|depuis|[àa] partir de|avec|via)\\b|t[ée]l[ée]chargez outlook|obtenir outlook|"
	"von meinem\\b|gesendet (von|mit|vom|via)\\b|enviado (desde|con|do|via)\\b|inviato (da|dal|con)\\b|"
	"verzonden (met|vanaf|van|via)\\b|verstuurd (vanaf|met|van|via)\\b|sendt fra\\b|skickat fr[åa]n\\b|"
	"wys[łl]ane z\\b)";

/* Legal disclaimers and notices, anywhere on a line. */
static const char *const disclaimer_re =
	"(confidenti|refuse toute responsabilit|d[ée]cline toute responsabilit|ne saurait [êe]tre tenu|"
	"toute responsabilit|destinataires? (exclusifs?|d[ée]sign)|si vous n'[êe]tes pas (le|la|les) destinataire|"
	"re[çc]u ce (message|courriel|mail|e-mail) par erreur|avant d'imprimer|pensez [àa] l'environnement|"
	"mentions l[ée]gales|avertissement|disclaimer|intended (only|solely|exclusively) for|"
	"if you (are not|have received this)|no (liability|responsibility)|accepts? no (liability|responsibility)|"
	"privileged|please consider the environment|before printing|"
	"vertraulich|nicht der (richtige|beabsichtigte) (adressat|empf[äa]nger)|haftung|"
	"si (usted )?no es el destinatario|aviso legal|este (mensaje|correo) (y sus|es|puede|contiene)|"
	"riservat|se (avete|hai|ha) ricevuto (questo|questa|il)|questo messaggio|"
	"vertrouwelijk|niet de (beoogde )?geadresseerde|aansprakelijk|dit (e-?mail)?bericht)";

/* An address or a link alone, maybe with its label. */
static const char *const contact_re =
	"^\\s*([\\w.-]{1,12}\\s*:\\s*)?(<?[^\\s@<>]+@[^\\s@<>]+\\.[a-z]{2,}>?|https?://\\S+|www\\.\\S+)\\s*$";

typedef struct {
	GRegex *greeting, *closing, *footer, *disclaimer, *contact;
} opening_res;

static const opening_res *res_get(void)
{
	static opening_res res;
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		GRegexCompileFlags f = G_REGEX_CASELESS | G_REGEX_OPTIMIZE;
		res.greeting = g_regex_new(greeting_re, f, 0, NULL);
		res.closing = g_regex_new(closing_re, f, 0, NULL);
		res.footer = g_regex_new(footer_re, f, 0, NULL);
		res.disclaimer = g_regex_new(disclaimer_re, f, 0, NULL);
		res.contact = g_regex_new(contact_re, f, 0, NULL);
		g_assert(res.greeting && res.closing && res.footer && res.disclaimer && res.contact);
		g_once_init_leave(&once, 1);
	}
	return &res;
}

/* Bytes matched by re at the start of l, or -1. */
static int match_len(GRegex *re, const char *l, bool *group1)
{
	GMatchInfo *mi = NULL;
	int end = -1;
	if (g_regex_match(re, l, 0, &mi)) {
		int s, e;
		if (g_match_info_fetch_pos(mi, 0, &s, &e))
			end = e;
		if (group1)
			*group1 = g_match_info_fetch_pos(mi, 1, &s, &e) && s >= 0 && e > s;
	}
	g_match_info_free(mi);
	return end;
}

static bool blank(const char *l)
{
	for (; *l; l++)
		if (!g_ascii_isspace(*l) && (unsigned char)*l != 0xc2 && (unsigned char)*l != 0xa0)
			return false;
	return true;
}

static int word_count(const char *s, const char *end)
{
	int n = 0;
	bool in_word = false;
	for (const char *p = s; p < end && *p; p++) {
		bool sp = g_ascii_isspace(*p);
		n += !sp && !in_word;
		in_word = !sp;
	}
	return n;
}

/* A line of a phone number: a run of at least 8 digits (with spaces,
 * dots, dashes, brackets, a plus) and few letters ("Tél. 01 23 45 67 89",
 * "Mobile: +33 (0)6 12 34 56 78"); a date is not one (its slashes and
 * colons break the run). */
static bool phone_line(const char *l)
{
	int letters = 0, run = 0, best = 0;
	for (const char *p = l; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);
		if (c < 0x80 && g_ascii_isdigit((char)c))
			best = MAX(best, ++run);
		else if (c != ' ' && c != '.' && c != '-' && c != '(' && c != ')' && c != '+' && c != 0xa0)
			run = 0;
		letters += g_unichar_isalpha(c);
	}
	return best >= 8 && letters <= 16 && !answers(l);
}

/* A name alone: one to four capitalised words of letters (and - . '),
 * no answer among them ("Jean Dupont", "J.-P. Martin", "ACME SAS"). */
static bool name_line(const char *l)
{
	char *s = g_strstrip(g_strdup(l));
	char **tok = g_strsplit_set(s, " \t", -1);
	int n = 0;
	bool ok = strlen(s) > 0 && strlen(s) <= 40;
	for (int i = 0; ok && tok[i]; i++) {
		if (!tok[i][0])
			continue;
		n++;
		ok = g_unichar_isupper(g_utf8_get_char(tok[i]));
		for (const char *p = tok[i]; ok && *p; p = g_utf8_next_char(p)) {
			gunichar c = g_utf8_get_char(p);
			ok = g_unichar_isalpha(c) || g_unichar_ismark(c) || c == '-' || c == '.' || c == '\'' || c == 0x2019;
		}
	}
	ok = ok && n >= 1 && n <= 4 && !answers(s);
	g_strfreev(tok);
	g_free(s);
	return ok;
}

typedef enum { LINE_TEXT, LINE_THANKS, LINE_END } line_kind;

/* What a line is to the opening: text, a thanks, or the end of the
 * message (closing, footer, disclaimer, phone, address). */
static line_kind line_kind_of(const opening_res *r, const char *l)
{
	bool thanks = false;
	int end = match_len(r->closing, l, &thanks);
	if (end >= 0) {
		/* A closing with at most a name after it; "Merci, j'accepte" and
		 * "Thanks for the mail, I refuse" are text. */
		const char *tail = l + end;
		while (*tail && (g_ascii_isspace(*tail) || strchr(",.!:;-", *tail)))
			tail++;
		if (strlen(tail) <= CLOSING_TAIL_MAX && !answers(tail))
			return thanks ? LINE_THANKS : LINE_END;
	}
	if (g_regex_match(r->footer, l, 0, NULL) || g_regex_match(r->disclaimer, l, 0, NULL) ||
	    g_regex_match(r->contact, l, 0, NULL) || phone_line(l))
		return LINE_END;
	return LINE_TEXT;
}

/* What follows the greetings at the start of l: l itself when it has none,
 * "" when the line is only greetings ("Bonjour Madame,", "Hello Alice"). */
static const char *after_greeting(const opening_res *r, const char *l)
{
	for (int rounds = 0; rounds < 4; rounds++) {
		int end = match_len(r->greeting, l, NULL);
		if (end < 0)
			return l;
		const char *rest = l + end;
		const char *punct = strpbrk(rest, ",!:;");
		if (punct && word_count(rest, punct) <= 5) {
			l = punct + 1;
			while (g_ascii_isspace(*l))
				l++;
			continue;
		}
		if (!punct && word_count(l, l + strlen(l)) <= 6 && !answers(l))
			return l + strlen(l);
		return l;
	}
	return l;
}

char *reply_opening(const char *text)
{
	const opening_res *r = res_get();
	/* Any caller's text: the regexes and the UTF-8 walks need it valid. */
	char *valid = g_utf8_make_valid(text ? text : "", -1);
	char **lines = g_strsplit(valid, "\n", -1);
	g_free(valid);
	GString *out = g_string_new(NULL);
	int taken = 0, paras = 0;
	bool in_para = false;
	for (int i = 0; lines[i]; i++) {
		char *l = lines[i];
		size_t len = strlen(l);
		if (len && l[len - 1] == '\r')
			l[len - 1] = '\0';
		if (blank(l)) {
			in_para = false;
			continue;
		}
		const char *content = l;
		if (taken == 0) {
			content = after_greeting(r, l);
			if (blank(content))
				continue;
		}
		line_kind k = line_kind_of(r, content);
		if (k == LINE_THANKS && taken == 0)
			continue;
		if (k != LINE_TEXT || (taken > 0 && name_line(content)))
			break;
		if (!in_para && ++paras > OPENING_PARAS)
			break;
		in_para = true;
		if (++taken > OPENING_LINES)
			break;
		g_string_append(out, content);
		g_string_append_c(out, '\n');
	}
	g_strfreev(lines);
	return g_strstrip(g_string_free(out, FALSE));
}

cm_intent reply_intent(const char *text, char *why, size_t whylen)
{
	char *opening = reply_opening(text);
	const char *eol = strchr(opening, '\n');
	char *first = eol ? g_strndup(opening, (gsize)(eol - opening)) : g_strdup(opening);
	cm_intent first_i = intent_of_reading(read_text(first));
	g_free(first);
	cm_intent got = first_i;
	reading all = {false, false, false};
	if (got != CM_INTENT_ACCEPT && got != CM_INTENT_REFUSE) {
		all = read_text(opening);
		got = intent_of_reading(all);
	}
	g_free(opening);
	if (got == CM_INTENT_ACCEPT || got == CM_INTENT_REFUSE)
		return got;
	if (why)
		g_strlcpy(why,
			  all.acc && all.ref
				  ? "the reply says both accept and refuse: reply with ACCEPT or REFUSE alone as the first line"
			  : all.unsure
				  ? "the reply is not a clear accept or refuse: reply with ACCEPT or REFUSE alone as the first line"
				  : "no accept or refuse found at the start of the reply: reply with ACCEPT or REFUSE as the "
				    "first line, above any signature",
			  whylen);
	return got;
}

bool reply_find_token(const char *text, cm_token *out)
{
	const char *p = text ? text : "";
	while (*p) {
		while (*p && !g_ascii_isalnum(*p))
			p++;
		const char *start = p;
		size_t symbols = 0;
		while (*p && (g_ascii_isalnum(*p) || (*p == '-' && g_ascii_isalnum(p[1])))) {
			symbols += *p != '-';
			p++;
		}
		if (symbols == CM_TOKEN_CHARS && token_decode(start, (size_t)(p - start), out))
			return true;
	}
	return false;
}
