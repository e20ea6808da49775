#!/bin/sh
# The daemon's lifecycle (SPEC 4 "contact-milter", 8): -u and root, who may
# use the socket and read the store, the pid file and a second instance, a
# bad socket directory, -n and -V, the store made at start, SIGHUP reloading
# the configuration and templates, and SIGTERM while 20 sessions are inside
# end-of-message.
. tests/lib/common.sh
. tests/lib/postfix.sh
BUSY=60s write_conf
cast
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
A1=$(token_for 1 alice@example.com)
A2=$(token_for 2 alice@example.com)
SOCK="unix:$T/milter.sock"
VERSION=$(sed -n 's/^#define CM_VERSION "\(.*\)"/\1/p' core/version.h)
mt() { # CASE VAR=VALUE...: a miltertest case against $SOCK
	case_name=$1; shift
	n=$#
	for kv in "$@"; do set -- "$@" -D "$kv"; done
	shift $n
	miltertest -D "SOCK=$SOCK" -D "LIB=$top/tests/milter/lib.lua" -D "LOG=${MT_LOG:-$T/milter.log}" "$@" \
		-s "$top/tests/milter/cases/$case_name.lua" >"$T/mt.out" 2>&1
}
mt_ok() { if mt "$@"; then ok "$name"; else nok "$name" "$(cat "$T/mt.out")" "$(tail -5 "$T/milter.log")"; fi; }
answers() { mt not_ours_accepted_at_data; } # the milter at $SOCK answers a session
alive() { kill -0 "$1" 2>/dev/null; }
# wait_log TEXT [COUNT]: until the milter's log holds TEXT COUNT times (20 s at most).
wait_log() {
	i=0
	while [ $i -lt 200 ]; do
		[ "$(grep -cF -- "$1" "$T/milter.log")" -ge "${2:-1}" ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}
# subject_of OUTBOX_ID: the decoded subject of a queued mail
subject_of() { "$CTL" outbox show "$1" >"$T/shown.eml" && python3 "$top/tests/lib/mailtool.py" subject "$T/shown.eml"; }
last_mail() { "$CTL" --json outbox list | jq -r --arg k "$1" '[.[] | select(.kind == $k)] | last | .id'; }
milter_user
UID_T=$(id -u "$MILTER_USER")
GID_T=$(getent group postfix | cut -d: -f3)

# -V
expect "-V prints the version" 0 "contact-milter $VERSION" "$MILTER" -V
check "-V names the libraries' versions" sh -c "'$MILTER' -V | grep -q '^libmilter [0-9]' && '$MILTER' -V | grep -q '^GMime 3' &&
	'$MILTER' -V | grep -q '^SQLite 3' && '$MILTER' -V | grep -q '^libcurl ' && '$MILTER' -V | grep -q '^libxml2 2' &&
	'$MILTER' -V | grep -q '^GLib 2'"

# Root without -u
expect "started as root without -u it refuses, naming -u" 1 "refusing to run as root: name the user to run as with -u USER" \
	"$MILTER" -f -c "$CONF"
check "...and leaves no socket behind" test ! -e "$T/milter.sock"
expect "-u root is refused too" 1 "that user is root" "$MILTER" -f -c "$CONF" -u root
expect "-u with an unknown user is refused" 1 "no such user" "$MILTER" -f -c "$CONF" -u no-such-user-cm

# Started as an unprivileged user, -u is not needed
milter_owns # the store and secret are the user's, as after an operator's chown
setpriv --reuid="$MILTER_USER" --regid=postfix --init-groups "$MILTER" -f -c "$CONF" -p "unix:$T/plain.sock" 2>>"$T/plain.log" &
PLAIN=$!
PIDS="$PIDS $PLAIN"
check "started by an unprivileged user, it runs without -u" wait_unix "$T/plain.sock"
eq "...as that user" "$UID_T" "$(awk '/^Uid:/ {print $3}' "/proc/$PLAIN/status")"
kill -TERM "$PLAIN"
wait "$PLAIN"
eq "...and stops cleanly" "0" "$?"

# Running as the user
check "with -u it starts" start_milter -P "$T/milter.pid"
FIRST=$MILTER_PID
eq "it runs as the user: real, effective, saved and filesystem uid" "$UID_T $UID_T $UID_T $UID_T" \
	"$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$FIRST/status")"
eq "...and the user's group, with no supplementary root group" "$GID_T $GID_T $GID_T $GID_T no" \
	"$(awk '/^Gid:/ {print $2, $3, $4, $5}' "/proc/$FIRST/status") $(awk '/^Groups:/ {for (i = 2; i <= NF; i++) if ($i == 0) r = "yes"} END {print r ? r : "no"}' "/proc/$FIRST/status")"
eq "the pid file holds its pid" "$FIRST" "$(cat "$T/milter.pid")"
eq "the socket is the user's, group postfix, mode 660" "$MILTER_USER postfix 660" "$(stat -c '%U %G %a' "$T/milter.sock")"
runuser -u nobody -- python3 -c "import socket; socket.socket(socket.AF_UNIX).connect('$T/milter.sock')" >"$T/out" 2>&1
eq "a local user cannot connect to the socket" "PermissionError" "$(grep -o 'PermissionError' "$T/out")"
for f in "$T/contacts.db" "$T/contacts.db-wal" "$T/secret"; do
	if runuser -u nobody -- cat "$f" >/dev/null 2>&1; then
		nok "a local user cannot read $(basename "$f")" "it could"
	else
		ok "a local user cannot read $(basename "$f") ($(stat -c '%a %U' "$f"))"
	fi
done
check "the milter answers a session" answers

# A second instance
ino=$(stat -c %i "$T/milter.sock")
expect "a second instance with the same pid file refuses, naming the first" 1 \
	"another contact-milter (pid $FIRST) holds the pid file $T/milter.pid: not starting" \
	"$MILTER" -f -c "$CONF" -u "$MILTER_USER" -P "$T/milter.pid"
expect "...in daemon mode too, on stderr" 1 "holds the pid file $T/milter.pid" \
	"$MILTER" -c "$CONF" -u "$MILTER_USER" -P "$T/milter.pid"
expect "a second instance on the same socket without a pid file refuses" 1 "is in use by another process: not starting" \
	"$MILTER" -f -c "$CONF" -u "$MILTER_USER"
eq "the first one's socket is untouched" "$ino" "$(stat -c %i "$T/milter.sock")"
check "...and the first one still answers on it" answers
eq "...with its pid file" "$FIRST" "$(cat "$T/milter.pid")"

# A bad socket directory
expect "a socket in a missing directory: exit 1, the error on stderr" 1 \
	"directory $T/nodir: No such file or directory" "$MILTER" -f -c "$CONF" -u "$MILTER_USER" -p "unix:$T/nodir/m.sock"
expect "...and in daemon mode (no -f) too" 1 "directory $T/nodir: No such file or directory" \
	"$MILTER" -c "$CONF" -u "$MILTER_USER" -p "unix:$T/nodir/m.sock"
sed "s|^socket = .*|socket = unix:$T/g.sock\nsocket_group = no-such-group-cm|" "$CONF" >"$T/group.conf"
expect "a socket group that does not exist: exit 1, never a world-writable socket" 1 \
	"no group named 'no-such-group-cm'" "$MILTER" -f -c "$T/group.conf" -u "$MILTER_USER"
check "...and no socket is left" test ! -e "$T/g.sock"
expect "-n says so too" 1 "no group named 'no-such-group-cm'" "$MILTER" -n -c "$T/group.conf"

# -n
expect "-n passes a sound configuration" 0 "configuration $CONF OK" "$MILTER" -n -c "$CONF"
sed "s|^secret_file = .*|secret_file = $T/no-secret|" "$CONF" >"$T/nosecret.conf"
expect "-n: a missing secret file says contactctl init makes it" 1 "no-secret (policy.secret_file) does not exist; 'contactctl init' creates it" "$MILTER" -n -c "$T/nosecret.conf"
cp "$T/secret" "$T/secret644"
chmod 644 "$T/secret644"
sed "s|^secret_file = .*|secret_file = $T/secret644|" "$CONF" >"$T/open.conf"
expect "-n: a secret readable by others" 1 "is readable by others (mode 0644)" "$MILTER" -n -c "$T/open.conf"
sed "s|^dir = .*|dir = $T/no-templates|" "$CONF" >"$T/notpl.conf"
expect "-n: a missing templates directory" 1 "$T/no-templates" "$MILTER" -n -c "$T/notpl.conf"
cp -R "$top/config/templates" "$T/tpl-bad"
sed -i '3s/$/ {no_such_placeholder}/' "$T/tpl-bad/en/done.txt"
sed "s|^dir = .*|dir = $T/tpl-bad|" "$CONF" >"$T/badtpl.conf"
expect "-n: a template with an unknown placeholder, named" 1 "no_such_placeholder" "$MILTER" -n -c "$T/badtpl.conf"
expect "...and the daemon will not start with it" 1 "no_such_placeholder" \
	"$MILTER" -f -c "$T/badtpl.conf" -u "$MILTER_USER" -p "unix:$T/bad.sock"

# A store the user cannot open (contactctl init run as root, never chown'ed)
mkdir -p "$T/rootstore"
sed -e "s|^path = .*|path = $T/rootstore/contacts.db|" -e "s|^socket = .*|socket = unix:$T/root.sock|" \
	"$CONF" >"$T/rootstore.conf"
CONTACT_MILTER_CONF="$T/rootstore.conf" "$CTL" init >/dev/null
expect "a store the user cannot open: exit 1 at start, naming the user" 1 \
	"cannot open the store as user $MILTER_USER" "$MILTER" -f -c "$T/rootstore.conf" -u "$MILTER_USER"
check "...and its socket is not left behind" test ! -e "$T/root.sock"

# The store made by the daemon itself
head -c 32 /dev/urandom >"$T/fresh-secret"
chmod 600 "$T/fresh-secret"
chown "$MILTER_USER" "$T/fresh-secret"
sed -e "s|^path = .*|path = $T/fresh/lib/contacts.db|" -e "s|^secret_file = .*|secret_file = $T/fresh-secret|" \
	-e "s|^socket = .*|socket = unix:$T/fresh.sock|" "$CONF" >"$T/fresh.conf"
"$MILTER" -f -c "$T/fresh.conf" -u "$MILTER_USER" 2>>"$T/fresh.log" &
FRESH=$!
PIDS="$PIDS $FRESH"
check "a missing store: the daemon starts and creates it" wait_unix "$T/fresh.sock"
eq "...its directories the user's (0750), the store the user's (0600)" \
	"$MILTER_USER 750 $MILTER_USER 750 $MILTER_USER 600" \
	"$(stat -c '%U %a' "$T/fresh" "$T/fresh/lib" "$T/fresh/lib/contacts.db" | tr '\n' ' ' | sed 's/ $//')"
check "...a local user cannot read it" sh -c "! runuser -u nobody -- cat '$T/fresh/lib/contacts.db' >/dev/null 2>&1"
eq "...and contactctl reads it (schema in place)" "[]" "$(CONTACT_MILTER_CONF="$T/fresh.conf" "$CTL" --json request list)"
# The store removed under the running daemon, then made again
rm -f "$T/fresh/lib/contacts.db" "$T/fresh/lib/contacts.db-wal" "$T/fresh/lib/contacts.db-shm"
SOCK="unix:$T/fresh.sock"
name="the store removed under it: 451 4.3.0, nothing decided on a deleted file"
mt_ok tempfail_with_451 "TOKEN=00000000000000000000000000" "FROM=carol@example.org"
CONTACT_MILTER_CONF="$T/fresh.conf" "$CTL" init >/dev/null
chown "$MILTER_USER" "$T/fresh/lib/contacts.db"
name="...made again: the next session uses the new store"
MT_LOG="$T/fresh.log" mt_ok rejected_with_550 "SENDER=carol@example.org" \
	"RCPT_LOCAL=validation+00000000000000000000000000" "BODY_LINE=J'accepte" "MSGID=m-fresh"
SOCK="unix:$T/milter.sock"
kill -TERM "$FRESH"
wait "$FRESH"
eq "...and it stops cleanly" "0" "$?"

# [log] facility, in daemon mode: syslog read from a /dev/log of our own
# (a private mount namespace), local3.info = priority 158.
if unshare --mount --propagation private true 2>/dev/null; then
	mkdir -p "$T/dev"
	mknod -m 666 "$T/dev/null" c 1 3
	python3 - "$T/dev/log" "$T/syslog.out" <<'PY' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "ab", buffering=0) as out:
    while True:
        out.write(s.recv(65536).rstrip(b"\0") + b"\n")
PY
	SYSLOG=$!
	PIDS="$PIDS $SYSLOG"
	sed -e "s|^socket = .*|socket = unix:$T/fac.sock|" "$CONF" >"$T/fac.conf"
	printf '[log]\nfacility = local3\n' >>"$T/fac.conf"
	i=0; while [ ! -S "$T/dev/log" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	unshare --mount --propagation private sh -c \
		"mount --bind '$T/dev' /dev && exec '$MILTER' -c '$T/fac.conf' -u '$MILTER_USER' -P '$T/fac.pid'"
	eq "in daemon mode it detaches (exit 0)" "0" "$?"
	check "...and logs to syslog with the facility of [log] facility (local3)" \
		wait_connect "import sys; sys.exit(0 if any(l.startswith('<158>') and 'listening on unix:$T/fac.sock' in l for l in open('$T/syslog.out', errors='replace')) else 1)"
	FAC=$(cat "$T/fac.pid")
	PIDS="$PIDS $FAC"
	kill -TERM "$FAC"
	check "...and says it stopped there" \
		wait_connect "import sys; sys.exit(0 if any('<158>' in l and ': stopped' in l for l in open('$T/syslog.out', errors='replace')) else 1)"
else
	for n in 1 2 3; do ok "[log] facility # SKIP no mount namespace here (unshare)"; done
fi

# SIGHUP: the configuration and templates read again, without stopping
cp -R "$top/config/templates" "$T/tpl2"
sed -i '1s/^Subject: /Subject: [reloaded] /' "$T/tpl2/fr/waiting.txt"
sed -i "s|^dir = .*|dir = $T/tpl2|" "$CONF"
kill -HUP "$FIRST"
check "SIGHUP: the reload is logged" wait_log "configuration $CONF reloaded"
check "...the same process still runs" alive "$FIRST"
check "...and answers" answers
name="alice's reply after the reload is recorded"
mt_ok second_recipient_ours_is_processed "TOKEN=$A1" "FROM=alice@example.com"
eq "...and the waiting mail it queued uses the new template" "yes" \
	"$(subject_of "$(last_mail waiting)" | grep -q '^\[reloaded\] ' && echo yes)"
printf 'this line is not a key\n' >>"$CONF"
kill -HUP "$FIRST"
check "a broken configuration on SIGHUP is logged" wait_log "reload of $CONF failed, keeping the configuration in force"
check "...the same process still runs and answers" sh -c "kill -0 $FIRST && miltertest -D SOCK=$SOCK -D LIB=$top/tests/milter/lib.lua -s $top/tests/milter/cases/not_ours_accepted_at_data.lua >/dev/null 2>&1"
name="...a reply is recorded"
mt_ok second_recipient_ours_is_processed "TOKEN=$A2" "FROM=alice@example.com"
sed -i '$d' "$CONF" # for contactctl
eq "...and its waiting mail still uses the configuration in force" "yes" \
	"$(subject_of "$(last_mail waiting)" | grep -q '^\[reloaded\] ' && echo yes)"
n=$(grep -c "reloaded" "$T/milter.log")
for _ in 1 2 3 4 5; do kill -HUP "$FIRST"; done
wait_log "configuration $CONF reloaded" $((n + 1))
check "five SIGHUPs in a row: still running and answering" answers
eq "...the same process" "$FIRST" "$(cat "$T/milter.pid")"

# The workers take a reloaded configuration too: a relay named by SIGHUP
SINKP=$(free_port)
start_sink "$SINKP"
sed -i "/^\[smtp\]/,/^\[/s|^url = .*|url = smtp://127.0.0.1:$SINKP|" "$CONF"
n=$(grep -c "configuration $CONF reloaded" "$T/milter.log")
kill -HUP "$FIRST"
wait_log "configuration $CONF reloaded" $((n + 1))
"$CTL" request create g1-ovh-1 --by alice-ovh --admin carol-ovh >/dev/null
check "after SIGHUP names a relay, the outbox worker sends the next validation mail through it" \
	wait_sink carol@example.org 1

# SIGTERM while 20 sessions are inside end-of-message: another process
# holds the store's write lock, so every session waits in cb_eom.
python3 - "$T/contacts.db" "$T/locked" "$T/release" <<'PY' &
import sqlite3, sys, time, os
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
for _ in range(1200):
    if os.path.exists(sys.argv[3]):
        break
    time.sleep(0.05)
db.execute("ROLLBACK")
PY
LOCKER=$!
PIDS="$PIDS $LOCKER"
wait_file() { i=0; while [ ! -e "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done; [ -e "$1" ]; }
wait_file "$T/locked"
python3 "$top/tests/milter/cases/eom_sessions.py" "$T/milter.sock" 20 "$T/in_eom" 120 >"$T/sessions.out" 2>&1 &
CLIENT=$!
PIDS="$PIDS $CLIENT"
wait_file "$T/in_eom"
sleep 2 # the sessions are past their end of message, inside cb_eom (the lock holds them there)
kill -TERM "$FIRST"
# On a loaded machine a session may reach cb_eom only after the SIGTERM:
# it is then answered 451 (checked below with the others), not waited for.
in_flight() {
	wait_log "sessions in flight" || return 1
	k=$(sed -n 's/.*waiting for \([0-9]*\) sessions in flight.*/\1/p' "$T/milter.log" | tail -1)
	[ "${k:-0}" -ge 1 ]
}
check "SIGTERM with 20 sessions inside end-of-message: the milter waits for those in flight" in_flight
name="...a message that ends meanwhile is answered 451 4.3.2 (retry later)"
mt_ok shutting_down_451 "TOKEN=00000000000000000000000000" "FROM=erin@example.org"
touch "$T/release"
wait "$CLIENT"
wait "$FIRST"
rc=$?
wait "$LOCKER"
eq "...every session is answered (no connection closed without a reply)" "20" \
	"$(grep -cE '^[0-9]+ (reply [245][0-9][0-9] |accept|discard|reject|tempfail)' "$T/sessions.out")"
eq "...it exits 0 once they are done" "0" "$rc"
check "...and says it stopped" wait_log "stopped"
eq "...no sanitizer report in its log" "0" "$(grep -cE 'Sanitizer|runtime error' "$T/milter.log")"
eq "...and no session was left to libmilter to cut short" "0" "$(grep -c 'without their close callback' "$T/milter.log")"
finish
