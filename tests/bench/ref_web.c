/* ref_web.c - the baseline of make bench's page row: libmicrohttpd, with
 * the same thread pool as contact-web, serving one static page (a copy of a
 * real contact-web page, so the same size and headers) for every GET.
 *
 *   ref_web PORT FILE THREADS      runs until SIGTERM
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *page;
static size_t page_len;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)cls, (void)url, (void)method, (void)version, (void)upload_data, (void)upload_data_size, (void)con_cls;
	struct MHD_Response *r = MHD_create_response_from_buffer(page_len, page, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "text/html; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Content-Security-Policy", "default-src 'none'; style-src 'self'; "
				"form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: ref_web PORT FILE THREADS\n");
		return 1;
	}
	FILE *f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	page = malloc(1 << 20);
	page_len = fread(page, 1, 1 << 20, f);
	fclose(f);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)atoi(argv[1]),
						NULL, NULL, on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE,
						(unsigned)atoi(argv[3]), MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
						MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "ref_web: cannot listen on port %s\n", argv[1]);
		return 1;
	}
	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	free(page);
	return 0;
}
