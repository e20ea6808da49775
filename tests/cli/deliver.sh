#!/bin/sh
# outbox deliver against a real SMTP server (Postfix's smtp-sink): the server
# down, then back; nothing lost, nothing sent twice, even with two workers.
. tests/lib/common.sh
SMTP_PORT=$(free_port)
export SMTP_PORT
write_conf
cast
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null

expect "with the server down, deliver --once is a temporary failure" 4 "unreachable" "$CTL" outbox deliver --once
run "$CTL" --json outbox list
eq "the first mail is queued again with its error and one attempt" "queued 1 true" \
	"$(echo "$OUT" | jq -r '.[0] | "\(.state) \(.attempts) \(.last_error | test("connect|Connection"; "i"))"')"
eq "the others were not touched" "0 0 0" "$(echo "$OUT" | jq -r '[.[1:][] | .attempts] | join(" ")')"
eq "nothing is lost: 4 mails queued" "4" "$(echo "$OUT" | jq '[.[] | select(.state == "queued")] | length')"

start_sink "$SMTP_PORT"
sleep 1.2 # retry_min is 1s
expect "with the server back, every mail is sent" 0 "4 sent, 0 to retry, 0 failed" "$CTL" outbox deliver --once
eq "the sink received each mail once" "4" "$(sink_count)"
eq "every item is marked sent" "4" "$("$CTL" --json outbox list --state sent | jq length)"
expect "a second run sends nothing" 0 "0 sent" "$CTL" outbox deliver --once
eq "still 4 in the sink" "4" "$(sink_count)"
f=$(grep -l "X-Rcpt-Args: <bob@example.net>" "$T"/sink/* | head -1)
oid=$("$CTL" --json outbox list | jq '[.[] | select(.to == "bob@example.net")][0].id')
check "the envelope sender ties the mail to its outbox item, signed" grep -Eq "X-Mail-Args: <bounces\+$oid-[0-9A-Z]{8}@contacts.example.com>" "$f"
check "the mail arrives as composed (its Message-ID)" grep -qF "$("$CTL" outbox show "$oid" | tr -d '\r' | grep -i '^Message-Id:')" "$f"

# Two workers at once over many queued mails: each mail arrives once.
for i in $(seq 1 15); do
	"$CTL" group add w$i-ovh --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
	"$CTL" request create w$i-ovh --by alice-ovh --tech bob-ovh >/dev/null
done
"$CTL" outbox deliver --once >"$T/w1" 2>&1 &
p1=$!
"$CTL" outbox deliver --once >"$T/w2" 2>&1 &
p2=$!
wait $p1 $p2
eq "two workers: all 34 mails sent" "34" "$("$CTL" --json outbox list --state sent | jq length)"
eq "two workers: the sink holds 34 mails, no duplicate Message-ID" "34 34" \
	"$(sink_count) $(grep -hi '^Message-Id:' "$T"/sink/* | sort -u | wc -l)"
n1=$(sed -n 's/^\([0-9]*\) sent.*/\1/p' "$T/w1")
n2=$(sed -n 's/^\([0-9]*\) sent.*/\1/p' "$T/w2")
eq "two workers: their counts add up to the 30 new mails" "30" "$((n1 + n2))"

# The server goes down while mail is queued, and comes back: the daemon-style
# worker (no --once) delivers as soon as it can.
stop_sink
rm -f "$T"/sink/*
"$CTL" request create g1-ovh-1 --by alice-ovh --admin bob-ovh >/dev/null
"$CTL" outbox deliver >"$T/loop.out" 2>&1 &
loop=$!
PIDS="$PIDS $loop"
sleep 1.5
eq "while the server is down the two new mails stay queued" "2" "$("$CTL" --json outbox list --state queued | jq length)"
start_sink "$SMTP_PORT"
i=0
while [ $i -lt 100 ] && [ "$(sink_count)" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
eq "once it is back, the two new mails arrive" "2" "$(sink_count)"
kill -TERM $loop
wait $loop
eq "the worker stops cleanly on SIGTERM" "0" "$?"
finish
