/* cmd_parse.c - what the core understands of one raw message: the same code
 * path the milter uses, so an operator can see why a reply was or was not
 * understood. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "reply.h"

#define PARSE_MAX (64 * 1024 * 1024)

int cmd_parse(cli *c, int argc, char **argv)
{
	int rc = cli_parse(c, &argc, &argv, NULL, "[FILE|-]", 0, 1);
	if (rc || (rc = cli_config(c)))
		return rc;
	const char *path = argc > 1 ? argv[1] : "-";
	GString *raw = g_string_new(NULL);
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		g_string_free(raw, TRUE);
		return cli_usage(c, "cannot read %s", path);
	}
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0 && raw->len < PARSE_MAX)
		g_string_append_len(raw, buf, (gssize)n);
	bool bad = ferror(f);
	if (f != stdin)
		fclose(f);
	if (bad) {
		g_string_free(raw, TRUE);
		return cli_usage(c, "cannot read %s", path);
	}
	cm_reply r;
	cm_reply_env env = {c->cfg->validation_local, c->cfg->validation_domain, NULL, NULL};
	reply_understand(raw->str, raw->len, &env, &r);
	g_string_free(raw, TRUE);
	char tok[CM_TOKEN_CHARS + 1] = "";
	if (r.has_token)
		token_encode(&r.token, tok);
	if (c->json) {
		json_w w;
		json_init(&w);
		json_obj(&w);
		json_key(&w, "kind");
		json_str(&w, reply_kind_str(r.kind));
		json_key(&w, "token");
		json_str(&w, r.has_token ? tok : NULL);
		json_key(&w, "intent");
		json_str(&w, reply_intent_str(r.intent));
		json_key(&w, "report");
		json_bool(&w, r.intent == CM_INTENT_REPORT);
		json_key(&w, "from");
		json_str(&w, r.from[0] ? r.from : NULL);
		json_key(&w, "new_text");
		json_str(&w, r.new_text);
		json_key(&w, "reason");
		json_str(&w, r.reason[0] ? r.reason : NULL);
		json_obj_end(&w);
		cli_json_print(&w);
	} else {
		printf("kind      %s%s%s%s\ntoken     %s\nintent    %s\nfrom      %s\nreason    %s\nnew text:\n%s\n",
		       reply_kind_str(r.kind), r.kind_why[0] ? " (" : "", r.kind_why, r.kind_why[0] ? ")" : "",
		       r.has_token ? tok : "-", reply_intent_str(r.intent) ? reply_intent_str(r.intent) : "-",
		       r.from[0] ? r.from : "-", r.reason[0] ? r.reason : "-", r.new_text);
	}
	reply_clear(&r);
	return 0;
}
