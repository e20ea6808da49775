#!/bin/sh
# The milter protocol driven by miltertest: each case's SMTP answer, then the
# store and the milter's log read back.  Also -n, a stale socket after a
# kill -9, and a clean stop on SIGTERM.
. tests/lib/common.sh
. tests/lib/postfix.sh # start_milter (as an unprivileged user)
RO=""
if [ -z "$CM_STORE_URI" ] && mkdir -p "$T/store" && mount -t tmpfs -o size=8m tmpfs "$T/store" 2>/dev/null; then
	RO="$T/store"
	PIDS="$PIDS"
fi
BUSY=2s write_conf
[ -n "$CM_STORE_URI" ] || sed -i "s|^path = .*|path = $T/store/contacts.db|" "$CONF"
mkdir -p "$T/store"
cast
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
A=$(token_for 1 alice@example.com)
B=$(token_for 1 bob@example.net)
C2=$(token_for 2 carol@example.org)
SOCK="unix:$T/milter.sock"

mt() { # CASE VAR=VALUE...
	case_name=$1; shift
	n=$#
	for kv in "$@"; do set -- "$@" -D "$kv"; done
	shift $n
	miltertest -D "SOCK=$SOCK" -D "LIB=$top/tests/milter/lib.lua" -D "LOG=$T/milter.log" "$@" -s "$top/tests/milter/cases/$case_name.lua" >"$T/mt.out" 2>&1
}
mt_check() { # NAME CASE VAR=VALUE...
	name=$1; shift
	if mt "$@"; then ok "$name"; else nok "$name" "$(cat "$T/mt.out")" "$(tail -5 "$T/milter.log")"; fi
}
log_has() { grep -qF -- "$1" "$T/milter.log"; }

expect "contact-milter -n checks the config" 0 "configuration $CONF OK" "$MILTER" -n -c "$CONF"
cp "$CONF" "$T/bad.conf"
printf '[milter]\nsockets = x\n' >>"$T/bad.conf"
expect "contact-milter -n names a bad key with file and line" 1 "$T/bad.conf:$(wc -l <"$T/bad.conf"): unknown key 'sockets' in [milter]" \
	"$MILTER" -n -c "$T/bad.conf"
check "the milter starts and listens" start_milter

mt_check "the milter negotiates away HELO and the replies it never needs" negotiates_no_round_trips
mt_check "mail with no recipient of ours is accepted at DATA, unread" not_ours_accepted_at_data
mt_check "a reply-all with our address second is processed, our recipient removed" second_recipient_ours_is_processed \
	"TOKEN=$A" "FROM=alice@example.com"
eq "...and alice's acceptance is on disk, by e-mail, with the waiting mail queued" "accepted email 1" \
	"$(req_field 1 '.parties[0].decision') $(req_field 1 '.parties[0].via') $(mails waiting 1 alice@example.com)"
mt_check "two messages on one connection: the second is recorded" two_messages_one_connection \
	"TOKEN=$B" "FROM=bob@example.net"
eq "...and request 1 is done, bob is the tech contact" "done bob-ovh" \
	"$(req_field 1 .state) $("$CTL" --json group show g1-ovh-1 | jq -r .tech)"
mt_check "a one-click refuse address is recorded with its X-Contact-Change header" valid_reply_recorded \
	"TOKEN=$C2" "FROM=carol@example.org" "REQ=2"
eq "...and request 2 is refused" "refused" "$(req_field 2 .state)"

"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
C3=$(token_for 3 carol@example.org)
rejected() { # NAME REASON SENDER RCPT_LOCAL BODY MSGID
	before=$(db_digest)
	if mt rejected_with_550 "SENDER=$3" "RCPT_LOCAL=$4" "BODY_LINE=$5" "MSGID=$6" && log_has "$2"; then
		ok "550 5.7.1: $1"
	else
		nok "550 5.7.1: $1" "$(cat "$T/mt.out")" "$(tail -3 "$T/milter.log")"
	fi
}
rejected "unknown token" "unknown token" carol@example.org "validation+00000000000000000000000000" "J'accepte" m-unknown
rejected "a used token, the answer naming nobody" "has already been used: there is nothing more to do" bob@example.net "validation+$B" "J'accepte" m-used
rejected "a sender that is not the contact" "must come from the contact's own address" mallory@evil.example \
	"validation+$C3" "J'accepte" m-mallory
rejected "no intent in the new text" "no accept or refuse found" carol@example.org "validation+$C3" \
	"Merci, je regarde cela demain." m-nointent
rejected "both intents in the new text" "says both accept and refuse" carol@example.org "validation+$C3" \
	"Oui ou non, je ne sais pas." m-both
rejected "no token anywhere" "no token found" carol@example.org "validation" "J'accepte" m-notoken
eq "after the refusals request 3 is still pending with no decision" "pending null" \
	"$(req_field 3 .state) $(req_field 3 '.parties[1].decision')"
"$CTL" request create g1-ovh-1 --by alice-ovh --admin carol-ovh >/dev/null
C4=$(token_for 4 carol@example.org)
mt_check "a body cut inside a CRLF and a word reads as if whole" body_in_chunks_split_crlf \
	"TOKEN=$C4" "FROM=carol@example.org" "REQ=4"
eq "...and carol's refusal is on disk" "refused" "$(req_field 4 .state)"
mt_check "a connection closed before any message, and an aborted message" close_without_connect "TOKEN=$C3" \
	"FROM=carol@example.org"

if [ -n "$RO" ]; then
	# The store's disk fills up: nothing can be written, the sender must retry.
	before=$(db_digest)
	dd if=/dev/zero of="$RO/fill" bs=4k 2>/dev/null
	mt_check "the store's disk full: 451 4.3.0" tempfail_with_451 "TOKEN=$C3" "FROM=carol@example.org"
	rm -f "$RO/fill"
	eq "...and the store is as it was" "$before" "$(db_digest)"
	check "...and the log says why" log_has "temporary failure: store"
elif [ -z "$CM_STORE_URI" ]; then
	for n in 1 2 3; do ok "451 with a full disk # SKIP cannot mount a tmpfs here"; done
fi
# Another process holds the write lock longer than the busy timeout: 451.
if [ -n "$CM_STORE_URI" ]; then
	# PostgreSQL: the requests locked against every row lock (lock_timeout).
	"$PGBIN/psql" -X -q -d "$CM_STORE_URI" >/dev/null <<SQL &
BEGIN;
LOCK TABLE requests IN EXCLUSIVE MODE;
\! touch $T/locked
SELECT pg_sleep(4);
ROLLBACK;
SQL
else
	python3 - "$T/store/contacts.db" "$T/locked" <<'PY' &
import sqlite3, sys, time, os
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(4)
db.execute("ROLLBACK")
PY
fi
locker=$!
while [ ! -e "$T/locked" ]; do sleep 0.05; done
before=$(db_digest)
mt_check "the store locked by another process: 451 4.3.0" tempfail_with_451 "TOKEN=$C3" "FROM=carol@example.org"
wait $locker
eq "...and nothing was recorded" "pending null" "$(req_field 3 .state) $(req_field 3 '.parties[1].decision')"
mt_check "once the lock is gone the same reply is recorded" second_recipient_ours_is_processed \
	"TOKEN=$C3" "FROM=carol@example.org"
eq "...once" "accepted 1" "$(req_field 3 '.parties[1].decision') $("$CTL" --json log 3 | jq '[.[] | select(.action=="accepted")] | length')"

# A killed daemon leaves its socket behind; the next start must not mind.
kill -9 "$MILTER_PID"
wait "$MILTER_PID" 2>/dev/null
check "a stale socket is left by kill -9" test -S "$T/milter.sock"
ON_PROCESSED=deliver BUSY=2s write_conf
[ -n "$CM_STORE_URI" ] || sed -i "s|^path = .*|path = $T/store/contacts.db|" "$CONF"
check "the milter restarts over the stale socket" start_milter
mt_check "and answers again" not_ours_accepted_at_data
"$CTL" request create g1-ovh-1 --by alice-ovh --admin carol-ovh >/dev/null
C5=$(token_for 5 alice@example.com)
mt_check "with on_processed = deliver a recorded reply is accepted with its header" deliver_when_configured \
	"TOKEN=$C5" "FROM=alice@example.com" "REQ=5"
kill -TERM "$MILTER_PID"
wait "$MILTER_PID"
eq "SIGTERM stops it cleanly (exit 0)" "0" "$?"
check "...and it says so in its log" log_has "stopped"
[ -n "$RO" ] && umount "$RO"
finish
