/* events.c - queueing and POSTing the events of SPEC section 7. */
#include "events.h"

#include <stdio.h>
#include <string.h>

#include "request_json.h"

cm_status events_queue(cm_core *c, const char *type, const cm_request *req, int64_t now, cm_err *err)
{
	cm_party p[2];
	cm_status st;
	if (!c->cfg->events_url[0])
		return CM_OK;
	if ((st = c->st->ops->party_pair(c->st, req->id, p, err)))
		return st;
	cm_outbox_item it = {.request_id = req->id, .kind = CM_MAIL_EVENT, .next_attempt_at = now, .created_at = now,
			     .token_side = -1};
	/* The receiver's address, when it fits, so that `outbox list` shows
	 * where the event goes. */
	if (!cm_strlcpy(it.rcpt, c->cfg->events_url, sizeof it.rcpt))
		it.rcpt[0] = '\0';
	if ((st = c->st->ops->outbox_insert(c->st, &it, NULL, err)))
		return st;
	char at[32];
	json_w w;
	json_init(&w);
	json_obj(&w);
	json_key(&w, "id");
	json_int(&w, it.id);
	json_key(&w, "type");
	json_str(&w, type);
	json_key(&w, "at");
	json_str(&w, cm_time_format(now, at, sizeof at));
	json_key(&w, "request");
	json_obj(&w);
	request_json_fields(&w, req, p);
	json_obj_end(&w);
	if (strcmp(type, "request.done") == 0) {
		/* The group as it is now, with every service the change covers. */
		cm_group g;
		GArray *sv = g_array_new(FALSE, FALSE, sizeof(cm_service));
		st = c->st->ops->group_get(c->st, req->group, &g, err);
		if (st == CM_OK)
			st = c->st->ops->service_list(c->st, req->group, sv, err);
		if (st == CM_OK) {
			json_key(&w, "group");
			group_json_write(&w, &g, sv);
		}
		g_array_free(sv, TRUE);
	}
	json_obj_end(&w);
	char *body = json_finish(&w);
	/* One line, no trailing newline: what is signed is what is sent. */
	g_strchomp(body);
	if (st == CM_OK)
		st = c->st->ops->outbox_set_message(c->st, it.id, "", body, strlen(body), err);
	g_free(body);
	return st;
}

char *events_signature(const unsigned char *secret, size_t secret_len, int64_t timestamp, const char *body)
{
	char ts[24];
	snprintf(ts, sizeof ts, "%lld.", (long long)timestamp);
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, secret, secret_len);
	g_hmac_update(h, (const guchar *)ts, (gssize)strlen(ts));
	g_hmac_update(h, (const guchar *)body, (gssize)strlen(body));
	char *sig = g_strdup_printf("sha256=%s", g_hmac_get_string(h));
	g_hmac_unref(h);
	return sig;
}

static size_t discard_body(char *buf, size_t size, size_t n, void *ud)
{
	(void)buf;
	(void)ud;
	return size * n;
}

bool events_post(CURL *curl, const cm_config *cfg, int64_t id, const char *body, char *why, size_t whylen)
{
	char errbuf[CURL_ERROR_SIZE] = "", hdr_id[64], hdr_ts[64];
	struct curl_slist *hdrs = NULL;
	long code = 0;
	if (!cfg->events_secret_len) {
		g_snprintf(why, (gulong)whylen, "no events secret: %s is missing (contactctl init creates it)",
			   cfg->events_secret_file);
		return false;
	}
	int64_t ts = cm_now();
	char *sig = events_signature(cfg->events_secret, cfg->events_secret_len, ts, body);
	char *hdr_sig = g_strdup_printf("X-Contact-Signature: %s", sig);
	snprintf(hdr_id, sizeof hdr_id, "X-Contact-Event-Id: %lld", (long long)id);
	snprintf(hdr_ts, sizeof hdr_ts, "X-Contact-Timestamp: %lld", (long long)ts);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, hdr_id);
	hdrs = curl_slist_append(hdrs, hdr_ts);
	hdrs = curl_slist_append(hdrs, hdr_sig);
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, cfg->events_url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)cfg->smtp_timeout);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)cfg->smtp_timeout * 2);
	CURLcode rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, NULL);
	curl_slist_free_all(hdrs);
	g_free(hdr_sig);
	g_free(sig);
	if (rc == CURLE_OK && code >= 200 && code < 300)
		return true;
	if (rc != CURLE_OK)
		g_snprintf(why, (gulong)whylen, "%s%s%s", curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf);
	else
		g_snprintf(why, (gulong)whylen, "the receiver answered HTTP %ld", code);
	return false;
}
