/* token.c - generation, Crockford base32 text form and hashing of tokens. */
#include "token.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

cm_status token_generate(cm_token *out, cm_err *err)
{
	size_t got = 0;
	while (got < sizeof out->raw) {
		ssize_t n = getrandom(out->raw + got, sizeof out->raw - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return cm_err_set(err, CM_ERR_INTERNAL, "getrandom failed: %s", strerror(errno));
		}
		got += (size_t)n;
	}
	return CM_OK;
}

/* Bit i (0 = most significant) of the 130-bit number whose two top bits are 0. */
static int bit_at(const unsigned char *raw, int i)
{
	i -= 2;
	if (i < 0)
		return 0;
	return (raw[i / 8] >> (7 - i % 8)) & 1;
}

void token_encode(const cm_token *t, char out[CM_TOKEN_CHARS + 1])
{
	for (int c = 0; c < CM_TOKEN_CHARS; c++) {
		int v = 0;
		for (int b = 0; b < 5; b++)
			v = (v << 1) | bit_at(t->raw, c * 5 + b);
		out[c] = alphabet[v];
	}
	out[CM_TOKEN_CHARS] = '\0';
}

int token_symbol_value(unsigned char c)
{
	if (c >= 'a' && c <= 'z')
		c = (unsigned char)(c - 'a' + 'A');
	if (c == 'I' || c == 'L')
		return 1;
	if (c == 'O')
		return 0;
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

bool token_decode(const char *text, size_t len, cm_token *out)
{
	int vals[CM_TOKEN_CHARS];
	int n = 0;
	for (size_t i = 0; i < len && text[i]; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == ' ' || c == '-' || c == '\t')
			continue;
		int v = token_symbol_value(c);
		if (v < 0 || n == CM_TOKEN_CHARS)
			return false;
		vals[n++] = v;
	}
	if (n != CM_TOKEN_CHARS || vals[0] > 7)
		return false;
	memset(out->raw, 0, sizeof out->raw);
	for (int c = 0; c < CM_TOKEN_CHARS; c++)
		for (int b = 0; b < 5; b++) {
			int i = c * 5 + b - 2;
			if (i >= 0 && (vals[c] >> (4 - b)) & 1)
				out->raw[i / 8] |= (unsigned char)(1u << (7 - i % 8));
		}
	return true;
}

void token_hash(const cm_token *t, unsigned char out[CM_TOKEN_HASH_BYTES])
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);
	gsize len = CM_TOKEN_HASH_BYTES;
	g_checksum_update(ck, t->raw, sizeof t->raw);
	g_checksum_get_digest(ck, out, &len);
	g_checksum_free(ck);
}

/* HMAC-SHA-256 of (label, then each 8-byte big-endian number) into out[32]. */
static void keyed_mac(const unsigned char *secret, size_t secret_len, const char *label, const int64_t *nums, int n,
		      unsigned char out[32])
{
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, secret, secret_len);
	gsize len = 32;
	g_hmac_update(h, (const guchar *)label, (gssize)strlen(label) + 1);
	for (int i = 0; i < n; i++) {
		unsigned char be[8];
		for (int b = 0; b < 8; b++)
			be[b] = (unsigned char)((uint64_t)nums[i] >> (56 - 8 * b));
		g_hmac_update(h, be, sizeof be);
	}
	g_hmac_get_digest(h, out, &len);
	g_hmac_unref(h);
}

void token_derive(const unsigned char *secret, size_t secret_len, int64_t request_id, int side, int serial,
		  cm_token *out)
{
	unsigned char mac[32];
	int64_t nums[3] = {request_id, side, serial};
	keyed_mac(secret, secret_len, "contact-milter token", nums, 3, mac);
	memcpy(out->raw, mac, sizeof out->raw);
}

void token_bounce_sig(const unsigned char *secret, size_t secret_len, int64_t outbox_id,
		      char out[CM_BOUNCE_SIG_CHARS + 1])
{
	unsigned char mac[32];
	keyed_mac(secret, secret_len, "contact-milter bounce", &outbox_id, 1, mac);
	/* 40 bits, 5 at a time. */
	for (int c = 0; c < CM_BOUNCE_SIG_CHARS; c++) {
		int v = 0;
		for (int b = 0; b < 5; b++) {
			int i = c * 5 + b;
			v = (v << 1) | ((mac[i / 8] >> (7 - i % 8)) & 1);
		}
		out[c] = alphabet[v];
	}
	out[CM_BOUNCE_SIG_CHARS] = '\0';
}

bool token_bounce_sig_ok(const unsigned char *secret, size_t secret_len, int64_t outbox_id, const char *sig)
{
	char want[CM_BOUNCE_SIG_CHARS + 1];
	unsigned diff = 0;
	if (!secret_len || strlen(sig) != CM_BOUNCE_SIG_CHARS)
		return false;
	token_bounce_sig(secret, secret_len, outbox_id, want);
	for (int i = 0; i < CM_BOUNCE_SIG_CHARS; i++)
		diff |= (unsigned)(g_ascii_toupper(sig[i]) ^ want[i]);
	return diff == 0;
}
