#!/bin/sh
# milter.outbox_worker = no (several MX hosts on one store, one worker among
# them): a reply is recorded and answered as usual, its follow-up mail stays
# queued, nothing reaches the SMTP server until contactctl outbox deliver
# sends it.  A bad value stops -n naming the key; the default still sends.
. tests/lib/common.sh
. tests/lib/postfix.sh # start_milter (as an unprivileged user)
SMTP_PORT=$(free_port)
export SMTP_PORT
OUTBOX_WORKER=no write_conf
cast
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
A=$(token_for 1 alice@example.com)
SOCK="unix:$T/milter.sock"
start_sink "$SMTP_PORT"
sink_n() { find "$T/sink" -type f | wc -l; }
queued() { "$CTL" --json outbox list --state queued | jq length; }

# A bad value: -n fails, naming file, line and key.
sed 's/^outbox_worker = no$/outbox_worker = maybe/' "$CONF" >"$T/bad.conf"
line=$(grep -n '^outbox_worker = maybe$' "$T/bad.conf" | cut -d: -f1)
expect "outbox_worker = maybe: -n fails naming the file, line and key" 1 \
	"$T/bad.conf:$line: bad value for key 'outbox_worker' in [milter]: 'maybe' (expected yes or no)" \
	"$MILTER" -n -c "$T/bad.conf"
expect "outbox_worker = no passes -n" 0 "configuration $CONF OK" "$MILTER" -n -c "$CONF"

check "the milter starts with outbox_worker = no" start_milter
check "...and says at start that its outbox worker is off" grep -qF "outbox worker not started (milter.outbox_worker = no)" \
	"$T/milter.log"
if miltertest -D "SOCK=$SOCK" -D "LIB=$top/tests/milter/lib.lua" -D "TOKEN=$A" -D "FROM=alice@example.com" \
	-s "$top/tests/milter/cases/second_recipient_ours_is_processed.lua" >"$T/mt.out" 2>&1; then
	ok "alice's reply is answered as usual"
else
	nok "alice's reply is answered as usual" "$(cat "$T/mt.out")" "$(tail -5 "$T/milter.log")"
fi
eq "...her acceptance is recorded, by e-mail" "accepted email" \
	"$(req_field 1 '.parties[0].decision') $(req_field 1 '.parties[0].via')"
wid=$("$CTL" --json outbox list | jq -r '[.[] | select(.kind == "waiting" and .to == "alice@example.com")] | last | .id')
eq "...and her follow-up mail is queued in outbox list" "queued" \
	"$("$CTL" --json outbox list | jq -r --argjson i "${wid:-0}" '.[] | select(.id == $i) | .state')"
n=$(queued)
# A worker would have sent bob's validation mail, queued before the start,
# within a second of it, and alice's within a second of her reply.
sleep 2
eq "two seconds later nothing is sent: $n mails queued, none reached the SMTP server" "$n 0 0" \
	"$(queued) $("$CTL" --json outbox list --state sent | jq length) $(sink_n)"

# SIGHUP with outbox_worker = yes: the worker starts only with the process.
sed -i 's/^outbox_worker = no$/outbox_worker = yes/' "$CONF"
kill -HUP "$MILTER_PID"
i=0
while [ $i -lt 100 ] && ! grep -q "configuration $CONF reloaded" "$T/milter.log"; do sleep 0.1; i=$((i + 1)); done
check "a reload turning the worker on says it takes effect at the next start" grep -qF \
	"reload: milter.outbox_worker changed: it takes effect at the next start (the outbox worker is off)" "$T/milter.log"
sleep 1.5
eq "...and still nothing is sent" "$n 0" "$(queued) $(sink_n)"

expect "contactctl outbox deliver --once sends them" 0 "$n sent, 0 to retry, 0 failed" "$CTL" outbox deliver --once
check "...alice's follow-up mail reaches the SMTP server" wait_sink alice@example.com 1
check "...the one queued after her reply (its outbox id in the envelope sender)" \
	grep -qF "X-Mail-Args: <bounces+$wid-" $(sink_mails alice@example.com)
eq "...nothing is left queued, $n mails in the sink" "0 $n" "$(queued) $(sink_n)"

# The default (no key): the milter's own worker sends a new request's mail.
# A second milter on the same store (both stop at the end, in parallel).
write_conf
sed -i "s|^socket = .*|socket = unix:$T/default.sock|" "$CONF"
check "the milter starts with the default configuration" start_milter
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
check "by default its worker sends a new validation mail by itself" wait_sink carol@example.org 1
finish
