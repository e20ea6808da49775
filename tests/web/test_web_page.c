/* test_web_page.c - contact-web's template renderer and the page's states,
 * without HTTP: every value escaped, sections and lists, template errors
 * named, the shipped page templates in both languages, and which state a
 * token's page shows with which status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "web.h"

static char *render_ok(const char *tpl, const web_vars *v)
{
	cm_err err = {0};
	char *out = wrender(tpl, v, "test.html", &err);
	if (!out)
		fail_msg("render failed: %s", err.msg);
	return out;
}

static void every_value_is_html_escaped(void **state)
{
	(void)state;
	web_vars *v = wvars_new();
	wvars_set(v, "name", "<script>alert('x')</script> & \"Co\"");
	char *out = render_ok("<p title=\"{name}\">{name}</p>", v);
	assert_string_equal(out, "<p title=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;\">"
				 "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;Co&quot;</p>");
	g_free(out);
	wvars_free(v);
}

static void an_unknown_placeholder_is_an_error_naming_the_template(void **state)
{
	(void)state;
	web_vars *v = wvars_new();
	cm_err err = {0};
	assert_null(wrender("Hello {nmae}", v, "fr/page.html", &err));
	assert_non_null(strstr(err.msg, "fr/page.html"));
	assert_non_null(strstr(err.msg, "{nmae}"));
	assert_null(wrender("{#open}never closed", v, "t", &err));
	assert_non_null(strstr(err.msg, "not closed"));
	assert_null(wrender("stray {/end}", v, "t", &err));
	wvars_free(v);
}

static void braces_that_name_nothing_stay_as_text(void **state)
{
	(void)state;
	web_vars *v = wvars_new();
	char *out = render_ok("a { b } {} {-x} {a b}", v);
	assert_string_equal(out, "a { b } {} {-x} {a b}");
	g_free(out);
	wvars_free(v);
}

static void sections_follow_flags_and_lists(void **state)
{
	(void)state;
	web_vars *v = wvars_new();
	wvars_flag(v, "on", true);
	wvars_flag(v, "off", false);
	wvars_set(v, "group", "g1");
	for (int i = 0; i < 2; i++) {
		web_vars *it = wvars_item(v, "items");
		wvars_set(it, "n", i ? "b<" : "a");
		wvars_flag(it, "first", i == 0);
	}
	char *out = render_ok("{#on}yes{/on}{#off}no{/off}{^off}not{/off}{^on}never{/on}"
			      "[{#items}{n}@{group}{#first}!{/first};{/items}]{^missing}empty{/missing}", v);
	assert_string_equal(out, "yesnot[a@g1!;b&lt;@g1;]empty");
	g_free(out);
	wvars_free(v);
}

static cm_config *page_config(void)
{
	cm_config *cfg = config_defaults();
	g_free(cfg->templates_dir);
	cfg->templates_dir = g_strdup("config/templates");
	return cfg;
}

static void the_shipped_page_templates_load_in_both_languages(void **state)
{
	(void)state;
	cm_config *cfg = page_config();
	web_templates t;
	cm_err err = {0};
	if (wtemplates_load(cfg, &t, &err) != CM_OK)
		fail_msg("%s", err.msg);
	assert_non_null(strstr(t.text[0][WEB_PAGE_VIEW], "lang=\"fr\""));
	assert_non_null(strstr(t.text[1][WEB_PAGE_VIEW], "lang=\"en\""));
	wtemplates_free(&t);
	g_free(cfg->templates_dir);
	cfg->templates_dir = g_strdup("/nonexistent");
	assert_int_equal(wtemplates_load(cfg, &t, &err), CM_ERR_USAGE);
	assert_non_null(strstr(err.msg, "/nonexistent/fr/page.html"));
	wtemplates_free(&t);
	config_free(cfg);
}

/* A request of alice (from) to bob (to), as the store would give it. */
static void sample_view(web_view *v, int64_t now)
{
	memset(v, 0, sizeof *v);
	v->req.id = 7;
	strcpy(v->req.group, "g1-ovh-1");
	v->req.roles = CM_ROLE_TECH | CM_ROLE_BILLING;
	strcpy(v->req.from_nic, "alice-ovh");
	strcpy(v->req.to_nic, "bob-ovh");
	strcpy(v->req.asked_by, "alice-ovh");
	v->req.created_at = now - 3600;
	v->req.expires_at = now + 86400;
	strcpy(v->party[0].nic, "alice-ovh");
	strcpy(v->party[1].nic, "bob-ovh");
	v->party[1].side = CM_SIDE_TO;
	strcpy(v->acc[0].nic, "alice-ovh");
	strcpy(v->acc[0].name, "Alice Martin");
	strcpy(v->acc[1].nic, "bob-ovh");
	v->side = CM_SIDE_TO;
	v->services = g_array_new(FALSE, TRUE, sizeof(cm_service));
	cm_service s = {.name = "line-1", .kind = "line"};
	g_array_append_val(v->services, s);
}

/* The page of v in lang: its HTTP status and text. */
static char *page_of(const cm_config *cfg, const web_view *v, int lang, int64_t now, unsigned *status)
{
	web_templates t;
	cm_err err = {0};
	assert_int_equal(wtemplates_load(cfg, &t, &err), CM_OK);
	web_vars *w = wview_vars(cfg, v, lang, now, "abc123", status);
	char *out = render_ok(t.text[lang][WEB_PAGE_VIEW], w);
	wvars_free(w);
	wtemplates_free(&t);
	return out;
}

static void each_token_state_has_its_words_and_status(void **state)
{
	(void)state;
	cm_config *cfg = page_config();
	int64_t now = 1800000000; /* 15 January 2027, 08:00 UTC */
	web_view v;
	unsigned status;
	char *p;

	sample_view(&v, now);
	p = page_of(cfg, &v, 1, now, &status);
	assert_int_equal(status, 200);
	assert_non_null(strstr(p, "<form method=\"post\">"));
	assert_non_null(strstr(p, "value=\"abc123\""));
	assert_non_null(strstr(p, "the technical and billing roles of group g1-ovh-1"));
	assert_non_null(strstr(p, "16 January 2027, 09:00 (Paris time)"));
	assert_non_null(strstr(p, "line-1 (line)"));
	g_free(p);

	p = page_of(cfg, &v, 0, now, &status);
	assert_non_null(strstr(p, "les rôles technique et facturation du groupe g1-ovh-1 passent"));
	assert_non_null(strstr(p, "16 janvier 2027 à 09:00 (heure de Paris)"));
	assert_non_null(strstr(p, "line-1 (ligne)"));
	g_free(p);

	v.party[1].decision = CM_DECISION_ACCEPTED; /* used: the decision, the wait, no form */
	v.party[1].decided_at = now - 60;
	p = page_of(cfg, &v, 1, now, &status);
	assert_int_equal(status, 200);
	assert_null(strstr(p, "<form"));
	assert_non_null(strstr(p, "You accepted this change"));
	assert_non_null(strstr(p, "waiting for the other contact, Alice Martin (alice-ovh)"));
	g_free(p);

	v.party[1].decision = CM_DECISION_NONE;
	v.superseded = true;
	p = page_of(cfg, &v, 1, now, &status);
	assert_int_equal(status, 410);
	assert_null(strstr(p, "<form"));
	assert_non_null(strstr(p, "replaced by a newer e-mail"));
	g_free(p);

	v.superseded = false;
	v.req.expires_at = now; /* past its time, not yet swept */
	p = page_of(cfg, &v, 1, now, &status);
	assert_int_equal(status, 410);
	assert_non_null(strstr(p, "This request expired on"));
	assert_null(strstr(p, "<form"));
	g_free(p);

	v.req.expires_at = now + 86400;
	v.req.state = CM_STATE_REFUSED; /* the other contact refused: closed */
	v.party[0].decision = CM_DECISION_REFUSED;
	p = page_of(cfg, &v, 0, now, &status);
	assert_int_equal(status, 410);
	assert_non_null(strstr(p, "Cette demande est close : elle a été refusée"));
	assert_null(strstr(p, "<form"));
	g_free(p);

	g_array_free(v.services, TRUE);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_value_is_html_escaped),
		cmocka_unit_test(an_unknown_placeholder_is_an_error_naming_the_template),
		cmocka_unit_test(braces_that_name_nothing_stay_as_text),
		cmocka_unit_test(sections_follow_flags_and_lists),
		cmocka_unit_test(the_shipped_page_templates_load_in_both_languages),
		cmocka_unit_test(each_token_state_has_its_words_and_status),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
