/* reply_intent.c - accept or refuse, read from the new text of a reply in
 * French or English: whole words, case and accents ignored, negations
 * understood ("je n'accepte pas", "I do not accept" are refusals). */
#include "reply.h"

#include <string.h>

static const char *const accept_words[] = {
	"accept", "accepte", "accepted", "accepter", "acceptee", "accepts", "oui", "yes", "ok", "okay",
	"valide", "valider", "validate", "validated", "confirm", "confirme", "confirmed", "confirmer",
	"approve", "approved", "agree", "agreed", "approuve", "daccord",
};
static const char *const refuse_words[] = {
	"refuse", "refused", "refus", "refuser", "refusee", "non", "no", "decline", "declined", "reject",
	"rejected", "rejette", "deny", "denied", "nope",
};
static const char *const negators[] = {"not", "n", "ne", "never", "jamais"};

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

/* Intent of one piece of text: accept and refuse words, an accept word
 * after a negator (within three words) counting as a refusal. */
static cm_intent intent_of(const char *text)
{
	char **w = words_of(text);
	bool acc = false, ref = false;
	for (int i = 0; w[i]; i++) {
		bool is_acc = IN(w[i], accept_words), is_ref = IN(w[i], refuse_words);
		if (!is_acc && !is_ref)
			continue;
		bool negated = false;
		for (int k = i - 1; k >= 0 && k >= i - 3 && !negated; k--)
			negated = IN(w[k], negators);
		/* "pas" after the verb: "je n'accepte pas" has n before already;
		 * "accepte pas" alone is colloquial French for a refusal too. */
		if (!negated && w[i + 1] && strcmp(w[i + 1], "pas") == 0)
			negated = true;
		if (is_acc && !negated)
			acc = true;
		else if (is_acc && negated)
			ref = true;
		else if (is_ref && !negated)
			ref = true;
		/* a negated refusal ("I do not refuse") is left unread */
	}
	g_strfreev(w);
	return acc && ref ? CM_INTENT_BOTH : acc ? CM_INTENT_ACCEPT : ref ? CM_INTENT_REFUSE : CM_INTENT_NONE;
}

cm_intent reply_intent(const char *text, char *why, size_t whylen)
{
	const char *t = text ? text : "";
	while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
		t++;
	const char *eol = strchr(t, '\n');
	char *first = eol ? g_strndup(t, (gsize)(eol - t)) : g_strdup(t);
	cm_intent first_i = intent_of(first);
	g_free(first);
	if (first_i == CM_INTENT_ACCEPT || first_i == CM_INTENT_REFUSE)
		return first_i;
	cm_intent all = intent_of(t);
	if (all == CM_INTENT_ACCEPT || all == CM_INTENT_REFUSE)
		return all;
	if (why)
		g_strlcpy(why,
			  all == CM_INTENT_BOTH
				  ? "the reply says both accept and refuse: reply with ACCEPT or REFUSE alone as the first line"
				  : "no accept or refuse found: reply with ACCEPT or REFUSE as the first line",
			  whylen);
	return all;
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
