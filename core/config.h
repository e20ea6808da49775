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

/* The mail templates read at load (mail_compose.c). */
typedef struct cm_templates cm_templates;

typedef struct {
	char *path;
	/* [milter] */
	char *milter_socket;
	char *on_processed;       /* "discard" or "deliver" */
	bool milter_outbox_worker; /* false: no delivery thread; the sweeps still run */
	int64_t milter_max_message; /* bytes of a message read at most */
	char *milter_pid_file;    /* "" = none */
	char *milter_socket_group; /* group of a unix socket ("" = the process's) */
	int64_t milter_socket_mode; /* permission bits of a unix socket, never o+w */
	/* [store] */
	char *store_path;
	int64_t store_busy_timeout; /* seconds */
	int64_t store_pool_size;    /* connections per daemon */
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
	char *secret_file;         /* keys tokens and bounce addresses; 0600 */
	char *remind_after;        /* "" = half of request_ttl, "0" = never; see remind_after_s */
	int64_t resend_interval;
	char *security_address;    /* "" = nobody hears of "this wasn't me" */
	/* [templates] */
	char *templates_dir, *default_lang, *validate_url;
	char *timezone;            /* for dates in words, e.g. Europe/Paris */
	/* [web] */
	char *web_listen, *web_base_url, *web_trusted_proxy;
	/* [events] */
	char *events_url, *events_secret_file;
	/* [log] */
	char *log_facility;

	/* Derived, never NULL after config_load. */
	char *from_addr;        /* addr-spec of smtp.from */
	char *validation_local; /* "validation" */
	char *validation_domain; /* "contacts.example.com" */
	int64_t remind_after_s;  /* seconds after creation; 0 = no reminder */
	/* The secret of policy.secret_file, when that file exists (read at
	 * load): tokens and bounce addresses are keyed with it. */
	unsigned char secret[64];
	size_t secret_len;       /* 0: no secret file yet (contactctl init makes one) */
	/* The key of events.secret_file, when events.url is set and the file
	 * exists: it signs the events (SPEC section 7). */
	unsigned char events_secret[64];
	size_t events_secret_len;
	/* The templates of templates.dir, read once by config_load when the
	 * directory holds them all (NULL otherwise: they are then read when a
	 * mail is composed, and that names what is missing).  A reload reads
	 * them again with the configuration. */
	cm_templates *templates;
} cm_config;

/* The path to read: explicit, else $CONTACT_MILTER_CONF, else the default. */
const char *config_path(const char *explicit_path);

/* Read and check the file.  *out is owned by the caller (config_free). */
cm_status config_load(const char *path, cm_config **out, cm_err *err);

/* Read policy.secret_file into cfg->secret.  CM_ERR_NOTFOUND when the file
 * does not exist; CM_ERR_USAGE when it is unreadable, too short, or readable
 * by others than its owner and group. */
cm_status config_load_secret(cm_config *cfg, cm_err *err);

/* Create policy.secret_file (mode 0600, 32 random bytes) when missing, then
 * load it.  *created tells whether it was made now.  The same for
 * events.secret_file when events.url is set (*events_created). */
cm_status config_create_secret(cm_config *cfg, bool *created, cm_err *err);
cm_status config_create_events_secret(cm_config *cfg, bool *created, cm_err *err);

/* Defaults only, for tests that build a config in code. */
cm_config *config_defaults(void);

void config_free(cm_config *cfg);

#endif
