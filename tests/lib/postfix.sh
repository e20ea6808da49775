# postfix.sh - a private Postfix on loopback for the end-to-end tests and the
# demo (see ../shared/notes/postfix-on-loopback.md): its own config, queue
# and log under $T/postfix, outgoing mail to an SMTP sink, our milter on
# smtpd.  Needs common.sh.

# start_postfix SMTPD_PORT SINK_PORT MILTER_SOCKET: the instance named
# $PF_NAME (default postfix) under $T; MILTER_SOCKET may be empty.
# PF_CHROOT=1 keeps Debian's master.cf as it is (smtpd, cleanup... chrooted
# in the queue directory) and sets the chroot up as Debian's init does;
# PF_MAIN_EXTRA=FILE: main.cf lines that replace the ones of the same names.
start_postfix() {
	P="$T/${PF_NAME:-postfix}"
	mkdir -p "$P/queue" "$P/data"
	chown postfix "$P/data"
	awk -v port="127.0.0.1:$1" -v chroot="${PF_CHROOT:-}" '
		/^#/ || /^[ \t]/ || NF < 8 { print; next }
		$1 == "smtp" && $2 == "inet" { $1 = port }
		chroot == "" { $5 = "n" }
		{ print }' /etc/postfix/master.cf >"$P/master.cf"
	cat >"$P/main.cf.base" <<CF
compatibility_level = 3.6
queue_directory = $P/queue
data_directory = $P/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.contacts.example.com
mydomain = contacts.example.com
myorigin = contacts.example.com
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
mydestination =
relay_domains = contacts.example.com
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
local_recipient_maps =
alias_maps =
alias_database =
smtp_dns_support_level = disabled
default_transport = smtp:[127.0.0.1]:$2
relay_transport = smtp:[127.0.0.1]:$2
recipient_delimiter = +
smtpd_milters = ${3:-}
milter_default_action = tempfail
milter_protocol = 6
maillog_file = $P/maillog
maillog_file_prefixes = $P
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 2s
biff = no
CF
	if [ -n "${PF_MAIN_EXTRA:-}" ]; then
		awk -F ' *= *' 'NR == FNR { if ($1 ~ /^[a-z_]+$/) seen[$1] = 1; next } !($1 in seen)' \
			"$PF_MAIN_EXTRA" "$P/main.cf.base" >"$P/main.cf"
		cat "$PF_MAIN_EXTRA" >>"$P/main.cf"
	else
		cp "$P/main.cf.base" "$P/main.cf"
	fi
	rm -f "$P/main.cf.base"
	if [ -n "${PF_CHROOT:-}" ]; then
		MAIL_CONFIG="$P" sh /usr/lib/postfix/configure-instance.sh >"$T/postfix-chroot.log" 2>&1 ||
			{ cat "$T/postfix-chroot.log"; return 1; }
	fi
	touch -d '-10 seconds' "$P/main.cf" "$P/master.cf"
	postfix -c "$P" check >"$T/postfix-check.log" 2>&1 || { cat "$T/postfix-check.log" "$P/maillog" 2>/dev/null; return 1; }
	postfix -c "$P" start >"$T/postfix-start.log" 2>&1 || { cat "$T/postfix-start.log" "$P/maillog" 2>/dev/null; return 1; }
	POSTFIX_UP=1
	wait_port "$1"
}

stop_postfix() {
	P="$T/${PF_NAME:-postfix}"
	[ -d "$P" ] && postfix -c "$P" stop >/dev/null 2>&1
	POSTFIX_UP=""
	# master exits asynchronously; wait until its pid file is gone
	i=0
	while [ $i -lt 50 ] && [ -e "$P/queue/pid/master.pid" ] &&
		kill -0 "$(cat "$P/queue/pid/master.pid" 2>/dev/null)" 2>/dev/null; do
		sleep 0.1; i=$((i + 1))
	done
}

# The milter refuses to run as root without -u: the suites run it as
# $MILTER_USER (a system user in group postfix, so that Postfix's smtpd can
# use its socket), created here when missing.
MILTER_USER=${MILTER_USER:-cm-test}
milter_user() {
	i=0
	until id -u "$MILTER_USER" >/dev/null 2>&1; do
		# several suites may get here at once: useradd then fails on its lock
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --gid postfix \
			"$MILTER_USER" >/dev/null 2>&1 || sleep 0.2
		i=$((i + 1))
		[ $i -lt 50 ] || { echo "cannot create user $MILTER_USER" >&2; return 1; }
	done
}
# milter_owns [CONF]: give the store (its directory and files) and the secret
# of CONF to $MILTER_USER, as an operator does after contactctl init.
milter_owns() {
	store=$(sed -n '/^\[store\]/,/^\[/s/^path = //p' "${1:-$CONF}")
	secret=$(sed -n '/^\[policy\]/,/^\[/s/^secret_file = //p' "${1:-$CONF}")
	events=$(sed -n '/^\[events\]/,/^\[/s/^secret_file = //p' "${1:-$CONF}")
	case $store in
	postgres://* | postgresql://*) store="" ;; # a database, not a file
	*) chown "$MILTER_USER" "$(dirname "$store")" ;;
	esac
	for f in "$store" "$store-wal" "$store-shm" "$secret" "$events"; do
		[ -e "$f" ] && chown "$MILTER_USER" "$f"
	done
	return 0
}
# milter_as: the -u option the milter needs (none unless we are root).
milter_as() {
	[ "$(id -u)" = 0 ] || return 0
	milter_user && milter_owns "$@" && echo "-u $MILTER_USER"
}

# start_milter [extra args]: the milter under test, in the foreground, logging to $T/milter.log.
start_milter() {
	as=$(milter_as "$CONF") || return 1
	# shellcheck disable=SC2086
	"$MILTER" -f -c "$CONF" $as "$@" 2>>"$T/milter.log" &
	MILTER_PID=$!
	PIDS="$PIDS $MILTER_PID"
	wait_unix "$(sed -n 's/^socket = unix://p' "$CONF")"
}
stop_milter() { kill -TERM "$MILTER_PID" 2>/dev/null; wait "$MILTER_PID" 2>/dev/null; }

# sink_mails TO [SUBJECT-PART]: files in the sink for recipient TO.
sink_mails() {
	grep -l "^X-Rcpt-Args: <$1>" "$T"/sink/* 2>/dev/null | while read -r f; do
		if [ -z "${2:-}" ] || python3 "$top/tests/lib/mailtool.py" subject "$f" | grep -qF -- "$2"; then echo "$f"; fi
	done
}
# wait_sink TO COUNT [SUBJECT-PART]: until TO has COUNT such mails (20 s at most).
wait_sink() {
	i=0
	while [ $i -lt 200 ]; do
		[ "$(sink_mails "$1" "${3:-}" | wc -l)" -ge "$2" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
cleanup_postfix() { stop_postfix; }

# readme_block NAME: the README's block after <!-- readme-recipe: NAME -->,
# indent removed: what an operator pastes.
readme_block() {
	awk -v name="$1" '
		$0 == "<!-- readme-recipe: " name " -->" { on = 1; next }
		on && /^    / { sub(/^    /, ""); print; seen = 1; next }
		on && seen && !/^$/ { exit }
		on && /^[^ ]/ { exit }' "$top/README.md"
}
