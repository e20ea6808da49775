/*
 * config.h - the one INI file both programs read (SPEC section 4).
 *
 * Keys are declared in one table (config.c) with their type and default.
 * Unknown sections or keys, duplicates and bad values are errors naming the
 * file, the line and the key.  Comments start with ';' or '#', at the start of
 * a line or after white space.
 */
#ifndef CM_CONFIG_H
#define CM_CONFIG_H

#include "cm.h"

#define CM_CONFIG_DEFAULT_PATH "/etc/contact-milter/contact-milter.conf"

typedef struct {
	char *path;
	/* [milter] */
	char *milter_socket;
	char *on_processed;       /* "discard" or "deliver" */
	int64_t milter_max_message; /* bytes of a message read at most */
	/* [store] */
	char *store_path;
	int64_t store_busy_timeout; /* seconds */
	/* [smtp] */
	char *smtp_url, *smtp_from, *smtp_user, *smtp_password;
	char *smtp_starttls;      /* "no", "try" or "require" */
	int64_t smtp_timeout;     /* seconds for one SMTP conversation step */
	int64_t smtp_retry_min;   /* first retry delay; doubles each attempt */
	int64_t smtp_give_up;     /* age after which a mail is failed, seconds */
	/* [policy] */
	char *validation_address;
	int64_t request_ttl;
	int64_t max_failures;
	char *trusted_authserv_id; /* "" = no Authentication-Results check */
	int64_t sweep_interval;    /* seconds between expiry sweeps (milter) */
	/* [templates] */
	char *templates_dir, *default_lang, *validate_url;

	/* Derived, never NULL after config_load. */
	char *from_addr;        /* addr-spec of smtp.from */
	char *validation_local; /* "validation" */
	char *validation_domain; /* "contacts.example.com" */
} cm_config;

/* The path to read: explicit, else $CONTACT_MILTER_CONF, else the default. */
const char *config_path(const char *explicit_path);

/* Read and check the file.  *out is owned by the caller (config_free). */
cm_status config_load(const char *path, cm_config **out, cm_err *err);

/* Defaults only, for tests that build a config in code. */
cm_config *config_defaults(void);

void config_free(cm_config *cfg);

#endif
