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
