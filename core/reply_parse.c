/* reply_parse.c - reply_understand(): MIME walk with GMime, then kind, new
 * text, token, intent and sender. */
#include <string.h>

#include "mail.h"
#include "reply_internal.h"

#define MIME_DEPTH_MAX 32
#define MIME_PARTS_MAX 500

const char *reply_kind_str(cm_reply_kind k)
{
	return k == CM_KIND_BOUNCE ? "bounce" : k == CM_KIND_AUTO_REPLY ? "auto-reply" : "reply";
}

const char *reply_intent_str(cm_intent i)
{
	return i == CM_INTENT_ACCEPT ? "accept" : i == CM_INTENT_REFUSE || i == CM_INTENT_REPORT ? "refuse" : NULL;
}

bool reply_address_parse(const char *addr_in, const char *local, const char *domain, bool *has_token, cm_token *tok,
			 cm_intent *intent, int64_t *bounce_id)
{
	char *addr = g_ascii_strdown(addr_in, -1);
	char *a = g_strstrip(addr);
	size_t alen = strlen(a);
	bool ours = false;
	*has_token = false;
	*intent = CM_INTENT_NONE;
	*bounce_id = 0;
	if (alen && a[0] == '<' && a[alen - 1] == '>') {
		a[alen - 1] = '\0';
		a++;
	}
	char *at = strrchr(a, '@');
	if (!at || g_ascii_strcasecmp(at + 1, domain) != 0)
		goto out;
	*at = '\0';
	size_t llen = strlen(local);
	if (strncmp(a, "bounces+", 8) == 0) {
		char *end;
		long long id = g_ascii_strtoll(a + 8, &end, 10);
		if ((*end == '\0' || *end == '-') && id > 0) {
			*bounce_id = id;
			ours = true;
		}
		goto out;
	}
	if (g_ascii_strncasecmp(a, local, llen) != 0 || (a[llen] != '\0' && a[llen] != '+'))
		goto out;
	ours = true;
	if (a[llen] == '\0')
		goto out;
	const char *detail = a + llen + 1;
	if (strncmp(detail, "accept-", 7) == 0) {
		*intent = CM_INTENT_ACCEPT;
		detail += 7;
	} else if (strncmp(detail, "refuse-", 7) == 0) {
		*intent = CM_INTENT_REFUSE;
		detail += 7;
	} else if (strncmp(detail, "report-", 7) == 0) {
		*intent = CM_INTENT_REPORT;
		detail += 7;
	}
	*has_token = token_decode(detail, strlen(detail), tok);
	if (!*has_token)
		*intent = CM_INTENT_NONE;
out:
	g_free(addr);
	return ours;
}

typedef struct {
	GMimeObject *plain, *html;
	int parts;
} text_find;

static bool is_attachment(GMimeObject *o)
{
	GMimeContentDisposition *d = g_mime_object_get_content_disposition(o);
	return d && g_mime_content_disposition_is_attachment(d);
}

/* First non-attachment text/plain and text/html, depth first, never inside
 * an enclosed message (a forwarded or returned message is not new text). */
static void find_text(GMimeObject *o, int depth, text_find *f)
{
	if (!o || depth > MIME_DEPTH_MAX || ++f->parts > MIME_PARTS_MAX)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		GMimeMultipart *mp = GMIME_MULTIPART(o);
		int n = g_mime_multipart_get_count(mp);
		for (int i = 0; i < n && !f->plain; i++)
			find_text(g_mime_multipart_get_part(mp, i), depth + 1, f);
		return;
	}
	if (!GMIME_IS_TEXT_PART(o) || is_attachment(o))
		return;
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	if (!f->plain && g_mime_content_type_is_type(ct, "text", "plain"))
		f->plain = o;
	else if (!f->html && g_mime_content_type_is_type(ct, "text", "html"))
		f->html = o;
}

/* The part's text in UTF-8, whatever its charset or transfer encoding;
 * invalid sequences replaced; at most CM_REPLY_TEXT_MAX bytes. */
static char *part_text(GMimeObject *o)
{
	char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(o));
	if (!t) {
		/* An unknown charset: decode the bytes as they are. */
		GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(o));
		GMimeStream *mem = g_mime_stream_mem_new();
		if (dw)
			g_mime_data_wrapper_write_to_stream(dw, mem);
		GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		t = ba && ba->data ? g_strndup((const char *)ba->data, ba->len) : g_strdup("");
		g_object_unref(mem);
	}
	if (strlen(t) > CM_REPLY_TEXT_MAX) {
		const char *end = t + CM_REPLY_TEXT_MAX;
		while (end > t && ((unsigned char)*end & 0xC0) == 0x80)
			end--;
		t[end - t] = '\0';
	}
	char *valid = g_utf8_make_valid(t, -1);
	g_free(t);
	return valid;
}

/* The first mailbox of From into out; the number of mailboxes (groups
 * counted by their members) is returned: a decision needs exactly one. */
static int from_address(GMimeMessage *m, char *out, size_t len)
{
	InternetAddressList *l = g_mime_message_get_from(m);
	int n = 0;
	out[0] = '\0';
	for (int i = 0; l && i < internet_address_list_length(l); i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);
		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			InternetAddressList *g = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));
			n += g ? internet_address_list_length(g) : 0;
			continue;
		}
		if (!INTERNET_ADDRESS_IS_MAILBOX(a))
			continue;
		if (n++ == 0) {
			const char *addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a));
			if (addr && strlen(addr) < len) {
				char *low = g_ascii_strdown(addr, -1);
				g_strlcpy(out, low, len);
				g_free(low);
			}
		}
	}
	return n;
}

/* The signature part of bounces+ID-SIG@, when addr is one. */
static void bounce_sig_of(const char *addr, char sig[CM_BOUNCE_SIG_CHARS + 1])
{
	const char *dash = strchr(addr, '-'), *at = strrchr(addr, '@');
	sig[0] = '\0';
	if (!dash || !at || at < dash || (size_t)(at - dash - 1) != CM_BOUNCE_SIG_CHARS)
		return;
	memcpy(sig, dash + 1, CM_BOUNCE_SIG_CHARS);
	sig[CM_BOUNCE_SIG_CHARS] = '\0';
}

/* The address of an RFC 3464 recipient field ("rfc822; a@b"), lowercased. */
static char *dsn_address(const char *v)
{
	const char *semi = strchr(v, ';');
	char *a = g_ascii_strdown(semi ? semi + 1 : v, -1);
	g_strstrip(a);
	size_t n = strlen(a);
	if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
		memmove(a, a + 1, n - 2);
		a[n - 2] = '\0';
	}
	return a;
}

/* Read a message/delivery-status part: per-recipient groups of fields
 * separated by blank lines; keep the recipients whose action is failed. */
static void dsn_read(GMimeObject *part, cm_reply *r)
{
	GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(part));
	if (!w)
		return;
	GMimeStream *mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	GByteArray *b = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	char *text = b->len ? g_strndup((const char *)b->data, MIN(b->len, 256 * 1024)) : NULL;
	g_object_unref(mem);
	if (!text)
		return; /* an empty report names nobody */
	char **lines = g_strsplit(text, "\n", 4096);
	char *rcpt = NULL;
	bool failed = false;
	for (int i = 0;; i++) {
		char *l = lines[i] ? g_strstrip(lines[i]) : NULL;
		if (!l || !*l) { /* end of one recipient's fields */
			if (rcpt && failed && r->dsn_failed->len < 100)
				g_ptr_array_add(r->dsn_failed, rcpt);
			else
				g_free(rcpt);
			rcpt = NULL;
			failed = false;
			if (!l)
				break;
			continue;
		}
		if (g_ascii_strncasecmp(l, "Final-Recipient:", 16) == 0) {
			g_free(rcpt);
			rcpt = dsn_address(l + 16);
		} else if (g_ascii_strncasecmp(l, "Action:", 7) == 0) {
			failed = g_ascii_strncasecmp(g_strstrip(l + 7), "failed", 6) == 0;
		}
	}
	g_strfreev(lines);
	g_free(text);
}

static void dsn_find(GMimeObject *o, int depth, cm_reply *r)
{
	if (!o || depth > 8)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		GMimeContentType *ct = g_mime_object_get_content_type(o);
		const char *rt = ct ? g_mime_content_type_get_parameter(ct, "report-type") : NULL;
		if (g_mime_content_type_is_type(ct, "multipart", "report") && rt &&
		    g_ascii_strcasecmp(rt, "delivery-status") == 0)
			r->dsn = true;
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
		for (int i = 0; i < n && i < 16; i++)
			dsn_find(g_mime_multipart_get_part(GMIME_MULTIPART(o), i), depth + 1, r);
	} else if (GMIME_IS_PART(o) &&
		   g_mime_content_type_is_type(g_mime_object_get_content_type(o), "message", "delivery-status")) {
		dsn_read(o, r);
	}
}

/* Our addresses among the recipients: the envelope's when known, else the
 * headers a delivered message carries. */
static void scan_recipients(GMimeMessage *m, const cm_reply_env *env, cm_reply *r)
{
	if (!env || !env->validation_local || !env->validation_domain)
		return;
	GPtrArray *addrs = g_ptr_array_new_with_free_func(g_free);
	if (env->rcpts) {
		for (int i = 0; env->rcpts[i]; i++)
			g_ptr_array_add(addrs, g_strdup(env->rcpts[i]));
	} else if (m) {
		static const char *const hdrs[] = {"Delivered-To", "X-Original-To", "To", "Cc"};
		for (size_t h = 0; h < G_N_ELEMENTS(hdrs); h++) {
			const char *v = g_mime_object_get_header(GMIME_OBJECT(m), hdrs[h]);
			InternetAddressList *l = v ? internet_address_list_parse(NULL, v) : NULL;
			for (int i = 0; l && i < internet_address_list_length(l) && i < 100; i++) {
				InternetAddress *a = internet_address_list_get_address(l, i);
				if (INTERNET_ADDRESS_IS_MAILBOX(a))
					g_ptr_array_add(addrs, g_strdup(internet_address_mailbox_get_addr(
								       INTERNET_ADDRESS_MAILBOX(a))));
			}
			if (l)
				g_object_unref(l);
		}
	}
	for (guint i = 0; i < addrs->len; i++) {
		bool has = false;
		cm_token t;
		cm_intent in;
		int64_t bid = 0;
		if (!reply_address_parse(addrs->pdata[i], env->validation_local, env->validation_domain, &has, &t, &in,
					 &bid))
			continue;
		if (bid && !r->bounce_of) {
			r->bounce_of = bid;
			bounce_sig_of(addrs->pdata[i], r->bounce_sig);
		}
		if (has && !r->has_token) {
			r->has_token = true;
			r->token = t;
			r->token_source = CM_FROM_ADDRESS;
			if (in != CM_INTENT_NONE) {
				r->intent = in;
				r->intent_source = CM_FROM_ADDRESS;
			}
		}
	}
	g_ptr_array_free(addrs, TRUE);
}

void reply_understand(const char *raw, size_t len, const cm_reply_env *env, cm_reply *r)
{
	memset(r, 0, sizeof *r);
	r->auth_results = g_ptr_array_new_with_free_func(g_free);
	r->dsn_failed = g_ptr_array_new_with_free_func(g_free);
	mail_init();
	/* Blank lines before the headers (pasted or saved messages) and an mbox
	 * "From " line are not part of the message. */
	for (;;) {
		size_t i = 0;
		while (i < len && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r'))
			i++;
		bool blank = i < len && raw[i] == '\n';
		bool mbox = len >= 5 && memcmp(raw, "From ", 5) == 0;
		if (!blank && !mbox)
			break;
		const char *nl = memchr(raw, '\n', len);
		if (!nl)
			break;
		len -= (size_t)(nl + 1 - raw);
		raw = nl + 1;
	}
	GMimeStream *s = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *p = g_mime_parser_new_with_stream(s);
	g_mime_parser_set_format(p, GMIME_FORMAT_MESSAGE);
	GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);

	scan_recipients(m, env, r);
	if (!m) {
		r->new_text = g_strdup("");
		g_strlcpy(r->reason, "the message could not be read as MIME", sizeof r->reason);
		return;
	}
	r->from_count = from_address(m, r->from, sizeof r->from);
	const char *subj = g_mime_message_get_subject(m);
	r->subject = g_utf8_make_valid(subj ? subj : "", -1);
	const char *mid = g_mime_message_get_message_id(m);
	r->message_id = mid ? g_strdup(mid) : NULL;
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(m));
	for (int i = 0; i < g_mime_header_list_get_count(hl) && r->auth_results->len < 32; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *name = g_mime_header_get_name(h);
		/* Anything below the first Received: was written before our
		 * server took the message: the sender's own words. */
		if (g_ascii_strcasecmp(name, "Received") == 0)
			break;
		if (g_ascii_strcasecmp(name, "Authentication-Results") == 0)
			g_ptr_array_add(r->auth_results, g_strdup(g_mime_header_get_value(h)));
	}
	dsn_find(g_mime_message_get_mime_part(m), 0, r);

	/* Without an envelope (contactctl parse), a stored message's Return-Path
	 * says what the envelope sender was. */
	const char *env_from = env ? env->env_from : NULL;
	char *rp = NULL;
	if (!env_from) {
		const char *h = g_mime_object_get_header(GMIME_OBJECT(m), "Return-Path");
		if (h) {
			rp = g_strstrip(g_strdup(h));
			size_t n = strlen(rp);
			if (n >= 2 && rp[0] == '<' && rp[n - 1] == '>') {
				memmove(rp, rp + 1, n - 2);
				rp[n - 2] = '\0';
			}
			env_from = rp;
		}
	}
	reply_classify(m, env_from, r->from, r->subject, r);
	g_free(rp);

	text_find f = {0};
	find_text(g_mime_message_get_mime_part(m), 0, &f);
	if (f.plain) {
		char *t = part_text(f.plain);
		r->new_text = reply_strip_quotes(t);
		g_free(t);
	} else if (f.html) {
		char *t = part_text(f.html);
		r->new_text = reply_html_to_text(t, strlen(t));
		g_free(t);
	} else {
		r->new_text = g_strdup("");
	}
	g_object_unref(m);
	reply_classify_text(r->new_text, r);

	if (r->kind != CM_KIND_REPLY) {
		snprintf(r->reason, sizeof r->reason, "not an answer: %s (%s)", reply_kind_str(r->kind), r->kind_why);
		return;
	}
	if (!r->has_token && reply_find_token(r->subject, &r->token)) {
		r->has_token = true;
		r->token_source = CM_FROM_SUBJECT;
	}
	if (!r->has_token && reply_find_token(r->new_text, &r->token)) {
		r->has_token = true;
		r->token_source = CM_FROM_TEXT;
	}
	if (!r->has_token) {
		g_strlcpy(r->reason, "no token found: answer by replying to the validation e-mail, keeping its address",
			  sizeof r->reason);
		return;
	}
	if (r->intent == CM_INTENT_NONE) {
		r->intent = reply_intent(r->new_text, r->reason, sizeof r->reason);
		r->intent_source = CM_FROM_TEXT;
		if (r->intent == CM_INTENT_BOTH)
			r->intent = CM_INTENT_NONE;
	}
}

void reply_clear(cm_reply *r)
{
	g_free(r->subject);
	g_free(r->message_id);
	g_free(r->new_text);
	if (r->auth_results)
		g_ptr_array_free(r->auth_results, TRUE);
	if (r->dsn_failed)
		g_ptr_array_free(r->dsn_failed, TRUE);
	memset(r, 0, sizeof *r);
}
