/*
 * token.h - the personal, single-use tokens of SPEC section 3: 128 random
 * bits written as 26 characters of Crockford base32.  Only a SHA-256 of the
 * raw bits is ever stored.
 */
#ifndef CM_TOKEN_H
#define CM_TOKEN_H

#include "cm.h"

#define CM_TOKEN_BYTES 16
#define CM_TOKEN_CHARS 26
#define CM_TOKEN_HASH_BYTES 32

/* What a queued or sent message holds where its token goes (SPEC rule 6):
 * 26 symbols that no token can be ('U' is not a Crockford symbol).  The
 * outbox puts the token, recomputed from the secret, in its place when the
 * mail is sent or shown. */
#define CM_TOKEN_PLACEHOLDER "UUUUUUUUUUUUUUUUUUUUUUUUUU"

typedef struct {
	unsigned char raw[CM_TOKEN_BYTES];
} cm_token;

/* 128 bits from getrandom(2).  CM_ERR_INTERNAL if the kernel refuses. */
cm_status token_generate(cm_token *out, cm_err *err);

/* The 26-character upper-case form, NUL-terminated, into out[27]. */
void token_encode(const cm_token *t, char out[CM_TOKEN_CHARS + 1]);

/* Read a token typed or pasted by a person: case-insensitive, spaces and
 * hyphens ignored, I and L read as 1 and O as 0 (Crockford), U refused.
 * Reads at most len bytes of text.  False unless exactly 26 symbols that
 * encode 128 bits. */
bool token_decode(const char *text, size_t len, cm_token *out);

/* SHA-256 of the raw bits: the only form the store keeps. */
void token_hash(const cm_token *t, unsigned char out[CM_TOKEN_HASH_BYTES]);

/* Value of one Crockford symbol (0..31), or -1. */
int token_symbol_value(unsigned char c);

/* The token of one party of a request (SPEC rule 6): the first 128 bits of
 * HMAC-SHA-256(secret, "contact-milter token" | request | side | serial).
 * Nothing stored can give it back: the store keeps its SHA-256, the outbox
 * a placeholder, and the mail is completed when it is sent.  A resend bumps
 * the serial; a reminder reuses it, so both mails carry the same token. */
void token_derive(const unsigned char *secret, size_t secret_len, int64_t request_id, int side, int serial,
		  cm_token *out);

#define CM_BOUNCE_SIG_CHARS 8
/* The signature of a bounce address bounces+ID-SIG@: 40 bits of
 * HMAC-SHA-256(secret, "contact-milter bounce" | id), 8 Crockford symbols. */
void token_bounce_sig(const unsigned char *secret, size_t secret_len, int64_t outbox_id,
		      char out[CM_BOUNCE_SIG_CHARS + 1]);

/* Does sig (any case) sign outbox_id?  Compared in constant time. */
bool token_bounce_sig_ok(const unsigned char *secret, size_t secret_len, int64_t outbox_id, const char *sig);

#endif
