#!/bin/sh
# make soak [SOAK_MINUTES=30]: the long fault run of issue 8.  Through a
# private Postfix on loopback, for SOAK_MINUTES: ordinary mail, requests and
# both contacts' replies, forged bounces and strangers' guesses; the milter
# killed with kill -9 at random moments and restarted; the relay (the SMTP
# sink standing for the contacts' mailboxes) stopped and started.  At the end:
# messages, kills, replies accepted, replies recorded, lost (must be 0: every
# reply answered 2xx is recorded), mails sent twice (at most one batch, 16,
# per kill) and the milter's RSS at start and end.  Loopback only; every loop
# is bounded in count and in time.
. tests/lib/common.sh
. tests/lib/postfix.sh
MT="python3 $top/tests/lib/mailtool.py"
command -v /usr/bin/python3 >/dev/null && MT="/usr/bin/python3 $top/tests/lib/mailtool.py" # no version-manager shim: many calls
MINUTES=${SOAK_MINUTES:-30}
SMTPD=$(free_port)
SINK=$(free_port)
SMTP_PORT=$SMTPD write_conf
cleanup_soak() { stop_postfix; cleanup; }
trap cleanup_soak EXIT
cast
start_sink "$SINK"
start_postfix "$SMTPD" "$SINK" "unix:$T/milter.sock" || { echo "Bail out! Postfix does not start"; exit 1; }
start_milter || { echo "Bail out! the milter does not start"; exit 1; }
rss() { awk '/^VmRSS:/ {print $2 " kB"}' "/proc/$MILTER_PID/status" 2>/dev/null; }
RSS0=$(rss)
: >"$T/answered" # REQUEST NIC of every reply answered 2xx

# send_until FROM RCPTS FILE SOURCE: one SMTP transaction, tried again (as a
# sender's server would) while the answer is a 4xx or no answer; the last
# answer in OUT.  20 tries at most.
send_until() {
	n=0
	while [ $n -lt 20 ]; do
		run $MT send "$SMTPD" "$1" "$2" "$4" <"$3"
		case $OUT in 2* | 5*) return 0 ;; esac
		n=$((n + 1))
		sleep 0.5
	done
	return 1
}
messages=0 kills=0 accepted=0 sink_stops=0 iter=0
deadline=$(($(date +%s) + MINUTES * 60))
rnd() { echo $(($(od -An -N2 -tu2 /dev/urandom) % $1)); } # 0..N-1

while [ "$(date +%s)" -lt "$deadline" ] && [ $iter -lt 100000 ]; do
	iter=$((iter + 1))
	# the milter killed with kill -9 at a random moment of this round's traffic
	KILLER=""
	if [ "$(rnd 6)" = 0 ]; then
		sh -c "sleep $(rnd 3).$(rnd 10); kill -9 $MILTER_PID" 2>/dev/null &
		KILLER=$!
	fi
	# ordinary mail through the milter (accepted at DATA, never read)
	printf 'From: someone@example.net\r\nTo: info@contacts.example.com\r\nSubject: hello %s\r\nMessage-ID: <ord-%s@example.net>\r\n\r\nJust a message.\r\n' \
		"$iter" "$iter" >"$T/ord.eml"
	send_until someone@example.net info@contacts.example.com "$T/ord.eml" 127.0.0.40
	messages=$((messages + 1))

	# a request on a group of its own, both contacts answering by mail
	g=s$iter-ovh-1
	"$CTL" group add "$g" --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null 2>&1
	rid=$("$CTL" --json request create "$g" --by alice-ovh --tech bob-ovh 2>/dev/null | jq -r '.ids[0] // empty')
	if [ -n "$rid" ]; then
		for who in alice-ovh:alice@example.com bob-ovh:bob@example.net; do
			nic=${who%%:*} addr=${who#*:}
			tok=$(token_for "$rid" "$addr")
			[ -n "$tok" ] || continue
			printf 'From: %s\r\nTo: validation+%s@contacts.example.com\r\nSubject: Re: contact change\r\nMessage-ID: <soak-%s-%s@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nOK\r\n\r\n> the validation e-mail\r\n' \
				"$addr" "$tok" "$rid" "$nic" >"$T/reply.eml"
			send_until "$addr" "validation+$tok@contacts.example.com" "$T/reply.eml" 127.0.0.41
			messages=$((messages + 1))
			case $OUT in 2*) accepted=$((accepted + 1)); echo "$rid $nic" >>"$T/answered" ;; esac
		done
	fi

	# forged bounces (guessed bounces+ID@) and strangers' guesses
	$MT bounce dsn "bounces+$(rnd 200)@contacts.example.com" bob@example.net "fb-$iter@mx.example.net" >"$T/fb.eml"
	send_until "" "bounces+$(rnd 200)@contacts.example.com" "$T/fb.eml" 127.0.0.42
	messages=$((messages + 1))
	tok=$(python3 -c 'import random; print("".join(random.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(26)))')
	printf 'From: stranger%s@evil.example\r\nTo: validation+%s@contacts.example.com\r\nSubject: Re: hi\r\nMessage-ID: <st-%s@evil.example>\r\n\r\nyes\r\n' \
		"$iter" "$tok" "$iter" >"$T/st.eml"
	send_until "stranger$iter@evil.example" "validation+$tok@contacts.example.com" "$T/st.eml" "127.0.0.$((50 + $(rnd 50)))"
	messages=$((messages + 1))

	if [ -n "$KILLER" ]; then
		wait "$KILLER"
		wait "$MILTER_PID" 2>/dev/null
		kills=$((kills + 1))
		start_milter || { echo "Bail out! the milter does not restart"; exit 1; }
	fi
	# the relay down for a while
	if [ "$(rnd 10)" = 0 ]; then
		stop_sink
		sink_stops=$((sink_stops + 1))
		sleep 2
		start_sink "$SINK"
	fi
done

# Let the outbox and Postfix's queue drain (15 minutes at most).
i=0
while [ $i -lt 180 ]; do
	left=$("$CTL" --json outbox list | jq '[.[] | select(.state == "queued" or .state == "sending")] | length')
	pq=$(find "$T/postfix/queue/active" "$T/postfix/queue/deferred" "$T/postfix/queue/incoming" -type f 2>/dev/null | wc -l)
	[ "$left" = 0 ] && [ "$pq" = 0 ] && break
	sleep 5; i=$((i + 1))
done
RSS1=$(rss)
recorded=0 lost=0
while read -r rid nic; do
	d=$("$CTL" --json request show "$rid" | jq -r --arg n "$nic" '.parties[] | select(.nic == $n) | .decision')
	if [ "$d" = accepted ]; then recorded=$((recorded + 1)); else lost=$((lost + 1)); echo "# lost: request $rid $nic ($d)"; fi
done <"$T/answered"
# Mails of the outbox (From no-reply@) that reached the sink more than once.
twice=$(grep -l '^From: .*no-reply@contacts.example.com' "$T"/sink/* 2>/dev/null | xargs -r grep -hi '^Message-ID:' |
	sort | uniq -d | wc -l)
outbox_mails=$("$CTL" --json outbox list | jq length)
echo "# minutes: $MINUTES (iterations $iter)"
echo "# messages: $messages"
echo "# kills: $kills"
echo "# relay stops: $sink_stops"
echo "# replies accepted: $accepted"
echo "# replies recorded: $recorded"
echo "# lost: $lost"
echo "# outbox mails: $outbox_mails, not yet sent at the end: $left"
echo "# mails sent twice: $twice (at most $((16 * kills)): one batch per kill)"
echo "# RSS at start: $RSS0, at end: $RSS1"
eq "every reply answered 2xx is recorded (lost: $lost)" "0" "$lost"
check "mails sent twice ($twice) are at most one batch (16) per kill ($kills)" test "$twice" -le $((16 * kills))
eq "the outbox drained" "0" "$left"
stop_milter
finish
