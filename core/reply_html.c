/* reply_html.c - the text of an HTML reply without its quoted original,
 * using libxml2's forgiving HTML parser: blockquotes, Gmail's gmail_quote,
 * Thunderbird's and Apple's cite blocks are dropped, and Outlook's reply
 * dividers (divRplyFwdMsg, appendonsend, the border-top header box) end the
 * new text. */
#include "reply.h"

#include <libxml/HTMLparser.h>
#include <string.h>

#define HTML_DEPTH_MAX 256

typedef struct {
	GString *out;
	bool stop; /* an Outlook divider was met: the rest is the original */
} walk;

static bool attr_has(xmlNode *n, const char *attr, const char *needle)
{
	xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
	bool hit = v && strstr((const char *)v, needle);
	xmlFree(v);
	return hit;
}

static bool name_is(xmlNode *n, const char *name)
{
	return n->name && g_ascii_strcasecmp((const char *)n->name, name) == 0;
}

static bool is_block(xmlNode *n)
{
	static const char *const blocks[] = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5",
					     "h6", "table", "ul", "ol", "pre", "hr", "section", "article"};
	for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
		if (name_is(n, blocks[i]))
			return true;
	return false;
}

/* An element that starts the quoted original: nothing after it is new. */
static bool is_divider(xmlNode *n)
{
	if (attr_has(n, "id", "divRplyFwdMsg") || attr_has(n, "id", "appendonsend") ||
	    attr_has(n, "id", "x_divRplyFwdMsg") || attr_has(n, "class", "OutlookMessageHeader"))
		return true;
	/* Outlook desktop: a box with only a top border holds From:/Sent:. */
	xmlChar *style = xmlGetProp(n, (const xmlChar *)"style");
	bool hit = false;
	if (style) {
		char *s = g_ascii_strdown((const char *)style, -1);
		hit = strstr(s, "border-top:solid") && (strstr(s, "border:none") || strstr(s, "padding:3.0pt"));
		g_free(s);
		xmlFree(style);
	}
	return hit;
}

/* An element holding quoted material, skipped with its children. */
static bool is_quote(xmlNode *n)
{
	return name_is(n, "blockquote") || name_is(n, "head") || name_is(n, "style") || name_is(n, "script") ||
	       name_is(n, "title") || attr_has(n, "class", "gmail_quote") || attr_has(n, "class", "yahoo_quoted") ||
	       attr_has(n, "class", "moz-cite-prefix") || attr_has(n, "class", "gmail_signature") ||
	       attr_has(n, "class", "moz-signature") || attr_has(n, "id", "Signature") ||
	       attr_has(n, "class", "protonmail_quote") || attr_has(n, "data-marker", "__QUOTED_TEXT__");
}

static void text_append(GString *out, const char *t)
{
	for (const char *p = t; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		/* U+00A0 no-break space as a plain space */
		if (c == 0xc2 && (unsigned char)p[1] == 0xa0) {
			p++;
			c = ' ';
		}
		if (c == ' ' && (out->len == 0 || out->str[out->len - 1] == ' ' || out->str[out->len - 1] == '\n'))
			continue;
		g_string_append_c(out, (char)c);
	}
}

static void newline(GString *out)
{
	while (out->len && out->str[out->len - 1] == ' ')
		g_string_truncate(out, out->len - 1);
	g_string_append_c(out, '\n');
}

static void walk_nodes(walk *w, xmlNode *n, int depth)
{
	for (; n && !w->stop; n = n->next) {
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
			if (n->content)
				text_append(w->out, (const char *)n->content);
			continue;
		}
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (is_divider(n)) {
			w->stop = true;
			return;
		}
		if (is_quote(n))
			continue;
		bool block = is_block(n);
		if (block)
			newline(w->out);
		if (depth < HTML_DEPTH_MAX)
			walk_nodes(w, n->children, depth + 1);
		if (block)
			newline(w->out);
	}
}

static void html_init(void)
{
	static gsize once = 0;
	if (g_once_init_enter(&once)) {
		xmlInitParser();
		g_once_init_leave(&once, 1);
	}
}

char *reply_html_to_text(const char *html, size_t len)
{
	html_init();
	if (len > INT32_MAX)
		len = INT32_MAX;
	htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
					HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
						HTML_PARSE_NONET | HTML_PARSE_NOIMPLIED);
	walk w = {g_string_new(NULL), false};
	if (doc) {
		walk_nodes(&w, xmlDocGetRootElement(doc), 0);
		xmlFreeDoc(doc);
	}
	char *text = g_string_free(w.out, FALSE);
	/* Quotes written as text ("On ... wrote:" in a div) go as in plain text. */
	char *res = reply_strip_quotes(text);
	g_free(text);
	return res;
}
