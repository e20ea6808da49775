# common.sh - helpers for the shell suites: TAP output, a private store and
# config per suite, free loopback ports, processes cleaned up by PID.
top=$(pwd)
BUILD=${BUILD:-build/check}
CTL="$top/$BUILD/contactctl"
MILTER="$top/$BUILD/contact-milter"
T=$(mktemp -d /tmp/cm-suite.XXXXXX)
chmod 755 "$T"
CONF="$T/contact-milter.conf"
export CONTACT_MILTER_CONF="$CONF"
tap_n=0
tap_failed=0
PIDS=""

# The store: a SQLite file in $T, or, when CM_TEST_PG holds the URI of a
# PostgreSQL maintenance database (tests/run.sh's cluster, tests/lib/pg.sh),
# a fresh database of this suite's own, dropped at the end.
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
CM_STORE_URI=""
CM_PG_DB=""
if [ -n "${CM_TEST_PG:-}" ]; then
	CM_PG_DB="cms_$(basename "$0" .sh | tr -c 'a-z0-9_\n' _)_$$"
	"$PGBIN/psql" -X -q -d "$CM_TEST_PG" -c "CREATE DATABASE $CM_PG_DB" >/dev/null || {
		echo "not ok 1 - cannot create database $CM_PG_DB on $CM_TEST_PG"
		exit 1
	}
	CM_STORE_URI="postgresql:///$CM_PG_DB?${CM_TEST_PG#*\?}"
fi

ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1"; }
nok() {
	tap_n=$((tap_n + 1)); tap_failed=1
	echo "not ok $tap_n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}
# check NAME COMMAND...: ok when the command succeeds.
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else nok "$name" "failed: $*"; fi; }
# run CMD...: runs it, keeping its exit code in RC and its output in OUT/ERR.
run() {
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
	OUT=$(cat "$T/out")
	ERR=$(cat "$T/err")
}
# expect NAME CODE TEXT CMD...: exit code CODE and TEXT in stdout or stderr.
expect() {
	name=$1 code=$2 text=$3
	shift 3
	run "$@"
	if [ "$RC" = "$code" ] && { [ -z "$text" ] || printf '%s\n%s' "$OUT" "$ERR" | grep -qF -- "$text"; }; then
		ok "$name"
	else
		nok "$name" "command: $*" "wanted exit $code and '$text'" "got exit $RC" "stdout: $OUT" "stderr: $ERR"
	fi
}
# eq NAME WANT GOT
eq() { if [ "$2" = "$3" ]; then ok "$1"; else nok "$1" "wanted: $2" "got:    $3"; fi; }

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# write_conf [extra lines for sections, as "section.key=value" words]
write_conf() {
	smtp_port=${SMTP_PORT:-1}
	cat >"$CONF" <<CONF
[milter]
socket = unix:$T/milter.sock
on_processed = ${ON_PROCESSED:-discard}
${OUTBOX_WORKER:+outbox_worker = $OUTBOX_WORKER}
[store]
path = ${CM_STORE_URI:-$T/contacts.db}
busy_timeout = ${BUSY:-20s}
[smtp]
url = smtp://127.0.0.1:$smtp_port
from = Telephony contacts <no-reply@contacts.example.com>
timeout = 5s
retry_min = ${RETRY_MIN:-1s}
[policy]
validation_address = validation@contacts.example.com
request_ttl = ${TTL:-14d}
max_failures = ${MAX_FAILURES:-10}
trusted_authserv_id = ${AUTHSERV:-}
sweep_interval = ${SWEEP:-60s}
secret_file = $T/secret
remind_after = ${REMIND_AFTER:-}
resend_interval = ${RESEND_INTERVAL:-10m}
security_address = ${SECURITY:-}
[templates]
dir = $top/config/templates
default_lang = fr
validate_url = https://manager.example.com/contacts/{id}?token={token}
CONF
	# Events only when a suite asks for them: the file keeps one url and
	# one secret_file, which suites edit with sed.
	if [ -n "${EVENTS_URL:-}" ]; then
		printf '[events]\nurl = %s\nsecret_file = %s\n' "$EVENTS_URL" "$T/events.secret" >>"$CONF"
	fi
}

# The token of the last validation mail to ADDR for request ID, read from
# the mail as a contact would (its Reply-To).
token_for() { # ID ADDR
	oid=$("$CTL" --json outbox list | jq -r --arg a "$2" --argjson r "$1" \
		'[.[] | select(.request == $r and .to == $a and .kind == "validation")] | last | .id')
	"$CTL" outbox show "$oid" | sed -n 's/^Reply-To: validation+\([0-9A-Z]*\)@.*/\1/p'
}
# mails KIND [REQUEST] [TO]: how many outbox items match.
mails() {
	"$CTL" --json outbox list | jq --arg k "$1" --arg r "${2:-}" --arg t "${3:-}" \
		'[.[] | select(.kind == $k and ($r == "" or (.request|tostring) == $r) and ($t == "" or .to == $t))] | length'
}
req_field() { "$CTL" --json request show "$1" | jq -r "$2"; }
# db_sql SQL: one statement on the suite's store, either backend; rows as
# "a|b" lines.
db_sql() {
	if [ -n "$CM_STORE_URI" ]; then
		"$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$CM_STORE_URI" -c "$1"
	else
		sqlite3 "$T/contacts.db" "$1"
	fi
}
# db_stored ID: what the store keeps of an outbox item: its message once
# composed, its recipe until then (bytes outside ASCII escaped on PostgreSQL).
db_stored() {
	if [ -n "$CM_STORE_URI" ]; then
		db_sql "SELECT encode(COALESCE(message, recipe), 'escape') FROM outbox WHERE id = $1"
	else
		db_sql "SELECT COALESCE(message, recipe) FROM outbox WHERE id = $1"
	fi
}
# db_digest: changes whenever a row does (identity counters left out: a
# rolled-back insert moves them, as it moves nothing in SQLite's dump).
db_digest() {
	if [ -n "$CM_STORE_URI" ]; then
		"$PGBIN/pg_dump" --data-only --no-owner -d "$CM_STORE_URI" | grep -v -e '^--' -e 'setval' -e '^.restrict' -e '^.unrestrict' | md5sum | cut -d' ' -f1
	else
		sqlite3 "$T/contacts.db" .dump | md5sum | cut -d' ' -f1
	fi
}

# A demo cast: alice admin of everything in g1, bob and carol ready for billing.
cast() {
	"$CTL" init >/dev/null &&
	"$CTL" account add alice-ovh --email alice@example.com --lang fr --voip-validated --payments-ok >/dev/null &&
	"$CTL" account add bob-ovh --email bob@example.net --lang en --voip-validated --payments-ok >/dev/null &&
	"$CTL" account add carol-ovh --email carol@example.org --voip-validated --payments-ok >/dev/null &&
	"$CTL" group add g1-ovh-1 --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null &&
	"$CTL" service add g1-ovh-1 0033972101010 --kind number >/dev/null &&
	"$CTL" service add g1-ovh-1 line-1 >/dev/null
}

start_sink() { # PORT: an SMTP sink writing each mail to $T/sink/
	mkdir -p "$T/sink"
	chown postfix "$T/sink"
	smtp-sink -u postfix -d "$T/sink/%M%S." 127.0.0.1:"$1" 100 >"$T/sink.log" 2>&1 &
	SINK_PID=$!
	PIDS="$PIDS $SINK_PID"
	wait_port "$1"
}
stop_sink() { [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null; wait "$SINK_PID" 2>/dev/null; SINK_PID=""; }
wait_port() { wait_connect "socket.create_connection(('127.0.0.1', $1), 0.2)"; } # PORT on loopback
sink_count() { ls "$T/sink" 2>/dev/null | wc -l; }
wait_unix() { wait_connect "socket.socket(socket.AF_UNIX).connect('$1')"; } # PATH of a UNIX socket
# wait_connect PYTHON-EXPR: until the connection it makes succeeds (10 s at most).
wait_connect() {
	i=0
	while [ $i -lt 100 ]; do
		python3 -c "import socket; $1" 2>/dev/null && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	[ "${KEEP:-}" = 1 ] || rm -rf "$T"
	[ -z "$CM_PG_DB" ] || [ "${KEEP:-}" = 1 ] ||
		"$PGBIN/psql" -X -q -d "$CM_TEST_PG" -c "DROP DATABASE IF EXISTS $CM_PG_DB WITH (FORCE)" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 1' INT TERM
finish() { echo "1..$tap_n"; exit $tap_failed; }
# mail_text OUTBOX_ID [plain|html]: the decoded body part, as a mail client shows it.
mail_text() {
	"$CTL" outbox show "$1" | python3 -c '
import sys, email
from email import policy
m = email.message_from_binary_file(sys.stdin.buffer, policy=policy.default)
print(m.get_body(preferencelist=(sys.argv[1],)).get_content())' "${2:-plain}"
}
