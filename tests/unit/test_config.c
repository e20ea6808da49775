/* test_config.c - the INI file: defaults, the example, and errors that name
 * the file, the line and the key. */
#include <unistd.h>

#include "fixture.h"

static char *write_conf(const char *text)
{
	char *path = NULL;
	int fd = g_file_open_tmp("cm-conf-XXXXXX.conf", &path, NULL);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static cm_status load(const char *text, cm_config **cfg, cm_err *err, char **path)
{
	*path = write_conf(text);
	return config_load(*path, cfg, err);
}

static void the_example_config_loads_with_its_values(void **state)
{
	(void)state;
	cm_config *cfg = NULL;
	cm_err err = {0};
	assert_int_equal(config_load("config/contact-milter.conf", &cfg, &err), CM_OK);
	assert_string_equal(cfg->milter_socket, "unix:/run/contact-milter/milter.sock");
	assert_string_equal(cfg->on_processed, "discard");
	assert_int_equal(cfg->request_ttl, 14 * 86400);
	assert_int_equal(cfg->max_failures, 10);
	assert_string_equal(cfg->trusted_authserv_id, "");
	assert_string_equal(cfg->from_addr, "no-reply@contacts.example.com");
	assert_string_equal(cfg->validation_local, "validation");
	assert_string_equal(cfg->validation_domain, "contacts.example.com");
	/* The page's link defaults to the web daemon's public address. */
	assert_string_equal(cfg->validate_url, "https://contacts.example.com/v/{token}");
	assert_string_equal(cfg->from_addr, "no-reply@contacts.example.com");
	assert_string_equal(cfg->secret_file, "/etc/contact-milter/secret");
	assert_int_equal(cfg->remind_after_s, 7 * 86400);
	assert_int_equal(cfg->resend_interval, 600);
	assert_int_equal(cfg->milter_socket_mode, 0660);
	config_free(cfg);
}

static void an_unknown_key_names_file_line_and_key(void **state)
{
	(void)state;
	cm_config *cfg = NULL;
	cm_err err = {0};
	char *path, want[512];
	assert_int_equal(load("[policy]\nrequest_ttl = 2d\n\nmax_failure = 3\n", &cfg, &err, &path), CM_ERR_USAGE);
	snprintf(want, sizeof want, "%s:4: unknown key 'max_failure' in [policy]", path);
	assert_string_equal(err.msg, want);
	assert_null(cfg);
	unlink(path);
	g_free(path);
}

static void bad_values_name_what_was_expected(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} cases[] = {
		{"[policy]\nrequest_ttl = 14 days\n", ":2: bad value for key 'request_ttl' in [policy]: '14 days' (expected a duration"},
		{"[milter]\non_processed = keep\n", ":2: bad value for key 'on_processed' in [milter]: 'keep' (expected discard or deliver)"},
		{"[policy]\nvalidation_address = not-an-address\n", ":2: bad value for key 'validation_address'"},
		{"[templates]\ndefault_lang = de\n", "(expected fr or en)"},
		{"[policy]\nmax_failures = -1\n", "(expected a whole number >= 0)"},
		{"[milter]\nmax_message_size = 99999999999999999999\n", "'max_message_size' in [milter]"},
		{"[policy]\nrequest_ttl = 100000d\n", "(expected a duration of at most a year)"},
		{"[templates]\nvalidate_url = https://x.example/{nope}?t={token}\n", "no placeholder but {id}, {token}"},
		{"[milter]\nsocket = tcp:1234\n", "(expected unix:/absolute/path or inet:PORT@HOST)"},
		{"[smtp]\nurl = http://relay.example\n", "(expected an SMTP URL"},
		{"[store]\npath = contacts.db\n", "(expected an absolute file path or a postgresql:// URI)"},
		{"[milter]\nsocket_mode = 0666\n", "others cannot write"},
		{"[nowhere]\nx = 1\n", ":1: unknown section [nowhere]"},
		{"x = 1\n", ":1: key 'x' before any [section]"},
		{"[store]\npath = /a\npath = /b\n", ":3: key 'path' appears twice in [store] (first on line 2)"},
		{"[store]\njust words\n", ":2: expected 'key = value'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cm_config *cfg = NULL;
		cm_err err = {0};
		char *path;
		assert_int_equal(load(cases[i].text, &cfg, &err, &path), CM_ERR_USAGE);
		if (!strstr(err.msg, cases[i].want))
			print_error("case %zu: got '%s'\n", i, err.msg);
		assert_non_null(strstr(err.msg, cases[i].want));
		assert_non_null(strstr(err.msg, path));
		unlink(path);
		g_free(path);
	}
}

static void comments_and_blank_values_are_understood(void **state)
{
	(void)state;
	cm_config *cfg = NULL;
	cm_err err = {0};
	char *path;
	assert_int_equal(load("; comment\n# another\n[policy]   ; trailing\nrequest_ttl = 90m ; ninety minutes\n"
			      "trusted_authserv_id =\n[templates]\nvalidate_url = https://x.example/#/c/{id}?t={token}\n",
			      &cfg, &err, &path), CM_OK);
	assert_int_equal(cfg->request_ttl, 90 * 60);
	assert_string_equal(cfg->trusted_authserv_id, "");
	assert_string_equal(cfg->validate_url, "https://x.example/#/c/{id}?t={token}");
	config_free(cfg);
	unlink(path);
	g_free(path);
}

static void a_missing_file_is_named(void **state)
{
	(void)state;
	cm_config *cfg = NULL;
	cm_err err = {0};
	assert_int_equal(config_load("/nonexistent/contact-milter.conf", &cfg, &err), CM_ERR_USAGE);
	assert_non_null(strstr(err.msg, "cannot read config /nonexistent/contact-milter.conf"));
}

static void durations_take_their_suffixes(void **state)
{
	(void)state;
	int64_t v;
	assert_true(cm_duration_parse("14d", &v) && v == 14 * 86400);
	assert_true(cm_duration_parse("2h", &v) && v == 7200);
	assert_true(cm_duration_parse("30m", &v) && v == 1800);
	assert_true(cm_duration_parse("45s", &v) && v == 45);
	assert_true(cm_duration_parse("45", &v) && v == 45);
	assert_false(cm_duration_parse("0", &v));
	assert_false(cm_duration_parse("1w", &v));
	assert_false(cm_duration_parse("", &v));
	assert_false(cm_duration_parse("99999999999999999999d", &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_example_config_loads_with_its_values),
		cmocka_unit_test(an_unknown_key_names_file_line_and_key),
		cmocka_unit_test(bad_values_name_what_was_expected),
		cmocka_unit_test(comments_and_blank_values_are_understood),
		cmocka_unit_test(a_missing_file_is_named),
		cmocka_unit_test(durations_take_their_suffixes),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
