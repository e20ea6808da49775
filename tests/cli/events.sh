#!/bin/sh
# Events for the provider's systems (SPEC section 7), received by a real HTTP
# server that checks every signature: a whole request (created, decided,
# done), the refused, reported, cancelled, expired and failed paths; the
# receiver answering 500 for a while, and down at first: every event
# delivered, in order per request, none lost, none twice.
. tests/lib/common.sh
SMTP_PORT=$(free_port)
EV_PORT=$(free_port)
export SMTP_PORT
EVENTS_URL="http://127.0.0.1:$EV_PORT/hook" SECURITY=security@provider.example RESEND_INTERVAL=1s write_conf
cast
start_sink "$SMTP_PORT"
check "contactctl init created the events secret, mode 0600" \
	sh -c "[ \"\$(stat -c %a '$T/events.secret')\" = 600 ]"
start_receiver() { # FAIL_FIRST
	python3 "$top/tests/lib/receiver.py" "$EV_PORT" "$T/events.secret" "$T/events.log" "${1:-0}" &
	RCV_PID=$!
	PIDS="$PIDS $RCV_PID"
	wait_port "$EV_PORT"
}
stop_receiver() { kill "$RCV_PID" 2>/dev/null; wait "$RCV_PID" 2>/dev/null; }
deliver() { "$CTL" outbox deliver --once >/dev/null 2>&1; }
events() { [ -f "$T/events.log" ] && jq -r "select(.request == $1) | .type" "$T/events.log" | paste -sd' ' -; }
ev_state() { "$CTL" --json outbox list | jq -r '[.[] | select(.kind == "event") | .state] | group_by(.) | map("\(.[0])=\(length)") | join(" ")'; }

# The receiver is down at first: events wait in the outbox, mails go on.
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
deliver
eq "with the receiver down, the event is kept for a retry, the mails are sent" "queued=1" "$(ev_state)"
eq "...and shown by outbox list as kind event" "1" "$(mails event 1)"
start_receiver 0
sleep 1.2
deliver
eq "once the receiver is up, request.created arrives" "request.created" "$(events 1)"

# A whole request: created -> decided -> done.
"$CTL" request accept 1 --token "$(token_for 1 alice@example.com)" >/dev/null
"$CTL" request accept 1 --token "$(token_for 1 bob@example.net)" >/dev/null
deliver
eq "a whole request: created, decided, done, in order" "request.created request.decided request.done" "$(events 1)"
eq "every event's signature verifies" "true" "$(jq -s 'all(.sig_ok)' "$T/events.log")"
eq "the event id is in the body and the header, and ids never repeat" "true true" \
	"$(jq -s 'all(.[]; (.id|tostring) == .header_id)' "$T/events.log") $(jq -s '[.[].id] | length == (unique | length)' "$T/events.log")"
eq "JSON, as the SPEC says" "application/json" "$(jq -r .ctype "$T/events.log" | sort -u)"
eq "request.done has the group's new contacts and its services" "bob-ovh 2 done" \
	"$(jq -r 'select(.type == "request.done") | "\(.body.group.tech) \(.body.group.services | length) \(.body.request.state)"' "$T/events.log")"
eq "the request in the event is as request show prints it" \
	"$("$CTL" --json request show 1 | jq -c '.parties | map(.decision)')" \
	"$(jq -c 'select(.type == "request.done") | .body.request.parties | map(.decision)' "$T/events.log")"

# The refused path, and "this wasn't me".
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
"$CTL" request refuse 2 --token "$(token_for 2 carol@example.org)" >/dev/null
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
"$CTL" request refuse 3 --token "$(token_for 3 carol@example.org)" --report >/dev/null
# Cancelled, expired.
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
"$CTL" request cancel 4 --by alice-ovh >/dev/null
SMTP_PORT=$SMTP_PORT EVENTS_URL="http://127.0.0.1:$EV_PORT/hook" TTL=1s write_conf
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
sleep 1.1
"$CTL" expire >/dev/null
# Failed: the billing check no longer holds at completion.
SMTP_PORT=$SMTP_PORT EVENTS_URL="http://127.0.0.1:$EV_PORT/hook" write_conf
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
"$CTL" request accept 6 --token "$(token_for 6 alice@example.com)" >/dev/null
"$CTL" account set carol-ovh --payments-ok no >/dev/null
"$CTL" request accept 6 --token "$(token_for 6 carol@example.org)" >/dev/null
deliver
eq "refused" "request.created request.refused" "$(events 2)"
eq "reported" "request.created request.refused request.reported" "$(events 3)"
eq "cancelled" "request.created request.cancelled" "$(events 4)"
eq "expired" "request.created request.expired" "$(events 5)"
eq "failed" "request.created request.decided request.failed" "$(events 6)"
eq "the reported request's event says so" "true" \
	"$(jq -r 'select(.type == "request.reported") | .body.request.reported' "$T/events.log")"

# The receiver answers 500 for a while, then 200: retried with backoff,
# delivered in order, none lost, none twice.
stop_receiver
rm -f "$T/events.log"
start_receiver 3
"$CTL" account set carol-ovh --payments-ok yes >/dev/null
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
"$CTL" request accept 7 --token "$(token_for 7 alice@example.com)" >/dev/null
"$CTL" request accept 7 --token "$(token_for 7 carol@example.org)" >/dev/null
i=0
while [ $i -lt 40 ] && [ "$(events 7)" != "request.created request.decided request.done" ]; do
	deliver
	sleep 0.5
	i=$((i + 1))
done
eq "after three 500s, every event is delivered, in order" "request.created request.decided request.done" "$(events 7)"
eq "...each once" "3" "$(jq -s '[.[] | select(.request == 7)] | length' "$T/events.log")"
eq "...and the outbox says so: all 18 events of the 7 requests sent" "sent=18" "$(ev_state)"
finish
