/* ref_milter.c - the baselines of make bench.
 *   -m data: accept each message as soon as its recipients are known (at
 *            DATA): the floor any milter pays for the protocol;
 *   -m eom:  read every message to end of message and add a header;
 *   -m discard: the same, then discard the message (what contact-milter
 *            does with a recorded reply by default).
 * ref_milter -p SOCKET -m data|eom|discard */
#include <libmilter/mfapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static sfsistat at_data(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_ACCEPT;
}

static sfsistat keep_going(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	(void)ctx;
	(void)chunk;
	(void)len;
	return SMFIS_CONTINUE;
}

static sfsistat header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_CONTINUE;
}

static sfsistat eom(SMFICTX *ctx)
{
	smfi_addheader(ctx, "X-Reference", "read");
	return SMFIS_ACCEPT;
}

static sfsistat eom_discard(SMFICTX *ctx)
{
	smfi_addheader(ctx, "X-Reference", "read");
	return SMFIS_DISCARD;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *mode = "data";
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-p") == 0)
			sock = argv[i + 1];
		else if (strcmp(argv[i], "-m") == 0)
			mode = argv[i + 1];
	}
	if (!sock || (strcmp(mode, "data") != 0 && strcmp(mode, "eom") != 0 && strcmp(mode, "discard") != 0)) {
		fprintf(stderr, "usage: ref_milter -p SOCKET -m data|eom|discard\n");
		return 1;
	}
	struct smfiDesc d = {
		.xxfi_name = "ref-milter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS,
		.xxfi_connect = NULL,
		.xxfi_envrcpt = NULL,
		.xxfi_header = header,
		.xxfi_eoh = keep_going,
		.xxfi_body = body,
		.xxfi_eom = strcmp(mode, "discard") == 0 ? eom_discard : eom,
		.xxfi_data = strcmp(mode, "data") == 0 ? at_data : keep_going,
	};
	if (smfi_register(d) != MI_SUCCESS || smfi_setconn((char *)sock) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS)
		return 1;
	if (strncmp(sock, "unix:", 5) == 0)
		chmod(sock + 5, 0666);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
