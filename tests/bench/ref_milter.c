/* ref_milter.c - the baselines of make bench.
 *   -m data: accept each message as soon as its recipients are known (at
 *            DATA): the floor any milter pays for the protocol;
 *   -m eom:  read every message to end of message and add a header;
 *   -m discard: the same, then discard the message (what contact-milter
 *            does with a recorded reply by default);
 *   -m durable: as eom, but first append a line to FILE (-f) and make it
 *            durable (fdatasync, one sync for all the messages waiting on
 *            one, as a group commit) before answering: the least any
 *            milter whose 250 means "on disk" must do, with no database.
 * ref_milter -p SOCKET -m data|eom|discard|durable [-f FILE] */
#include <fcntl.h>
#include <libmilter/mfapi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* The durable mode's log: appends are numbered; a sync covers every append
 * before it, and one thread syncs at a time for all who wait. */
static struct {
	pthread_mutex_t lock;
	pthread_cond_t done;
	int fd;
	unsigned long long appended, synced;
	int syncing;
} dlog = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, -1, 0, 0, 0};

static int durable_append(void)
{
	char line[64];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(line, sizeof line, "%lld.%09ld accepted\n", (long long)ts.tv_sec, ts.tv_nsec);
	pthread_mutex_lock(&dlog.lock);
	int ok = write(dlog.fd, line, (size_t)n) == n;
	unsigned long long mine = ++dlog.appended;
	while (ok && dlog.synced < mine) {
		if (dlog.syncing) {
			pthread_cond_wait(&dlog.done, &dlog.lock);
			continue;
		}
		dlog.syncing = 1;
		unsigned long long upto = dlog.appended;
		pthread_mutex_unlock(&dlog.lock);
		ok = fdatasync(dlog.fd) == 0;
		pthread_mutex_lock(&dlog.lock);
		dlog.syncing = 0;
		if (ok && upto > dlog.synced)
			dlog.synced = upto;
		pthread_cond_broadcast(&dlog.done);
	}
	pthread_mutex_unlock(&dlog.lock);
	return ok;
}

static sfsistat eom_durable(SMFICTX *ctx)
{
	if (!durable_append())
		return SMFIS_TEMPFAIL;
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
	const char *sock = NULL, *mode = "data", *file = NULL;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-p") == 0)
			sock = argv[i + 1];
		else if (strcmp(argv[i], "-m") == 0)
			mode = argv[i + 1];
		else if (strcmp(argv[i], "-f") == 0)
			file = argv[i + 1];
	}
	int durable = strcmp(mode, "durable") == 0;
	if (!sock || (strcmp(mode, "data") != 0 && strcmp(mode, "eom") != 0 && strcmp(mode, "discard") != 0 && !durable) ||
	    durable != (file != NULL)) {
		fprintf(stderr, "usage: ref_milter -p SOCKET -m data|eom|discard|durable [-f FILE]\n");
		return 1;
	}
	if (durable && (dlog.fd = open(file, O_WRONLY | O_APPEND | O_CREAT, 0600)) < 0) {
		perror(file);
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
		.xxfi_eom = strcmp(mode, "discard") == 0 ? eom_discard : durable ? eom_durable : eom,
		.xxfi_data = strcmp(mode, "data") == 0 ? at_data : keep_going,
	};
	if (smfi_register(d) != MI_SUCCESS || smfi_setconn((char *)sock) != MI_SUCCESS || smfi_opensocket(1) != MI_SUCCESS)
		return 1;
	if (strncmp(sock, "unix:", 5) == 0)
		chmod(sock + 5, 0666);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
