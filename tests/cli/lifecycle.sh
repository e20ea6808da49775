#!/bin/sh
# The whole life of a request through contactctl (SPEC rules 8-12, section 4
# "Mes demandes"): resend to the right address and at the right pace,
# nothing sent for a superseded token or a closed request, reminders with
# the first mail's token, "this wasn't me".  (The asker told of a bounce:
# tests/e2e/lifecycle.sh, through the milter.)
. tests/lib/common.sh
SMTP_PORT=$(free_port)
export SMTP_PORT
RESEND_INTERVAL=10m SECURITY=security@provider.example write_conf
cast
mid() { "$CTL" --json outbox list | jq -r --arg k "$1" --arg t "$2" '[.[] | select(.kind == $k and .to == $t)] | last | .id'; }
state_of() { "$CTL" --json outbox list | jq -r --argjson i "$1" '.[] | select(.id == $i) | .state'; }

# --- resend (rule 8) ---
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
first=$(mid validation bob@example.net)
T1=$(token_for 1 bob@example.net)
expect "a resend sooner than resend_interval is refused with the time it becomes possible" 2 \
	"a new one can be sent from" "$CTL" request resend 1 --nic bob-ovh
eq "...and nothing was queued" "2" "$(mails validation 1)"
# The guide's recovery: correct the address in the profile, then resend.
"$CTL" account set bob-ovh --email bob@new.example >/dev/null
# Ten minutes later, as far as the store is concerned.
db_sql "UPDATE parties SET last_sent_at = last_sent_at - 601"
expect "a stranger cannot resend" 2 "only the admin of group g1-ovh-1" "$CTL" request resend 1 --by carol-ovh
expect "bob may resend to himself" 0 "sent again to 1 contact" "$CTL" request resend 1 --by bob-ovh
eq "the new validation mail goes to bob's current address" "1" "$(mails validation 1 bob@new.example)"
eq "the party's address is the one the latest mail went to" "bob@new.example" "$(req_field 1 '.parties[1].email')"
eq "the superseded token's queued mail is withdrawn, never sent" "withdrawn" "$(state_of "$first")"
check "the audit says who resent and that the address changed" \
	sh -c "'$CTL' log 1 | grep -q 'bob-ovh.*resent' && '$CTL' log 1 | grep -q 'now goes to bob@new.example (was bob@example.net)'"
expect "three resends in a row: the second is refused" 2 "policy.resend_interval" "$CTL" request resend 1 --by alice-ovh
eq "...nothing more queued" "1" "$(mails validation 1 bob@new.example)"
expect "the old token answers superseded, not unknown" 2 "superseded by a newer e-mail" \
	"$CTL" request accept 1 --token "$T1"
T2=$(token_for 1 bob@new.example)
expect "the new token works" 0 "accepted" "$CTL" request accept 1 --token "$T2"

# --- "Mes demandes" (section 4) ---
run "$CTL" --json request list --nic alice-ovh
eq "the asker sees her request, hers as asker and outgoing contact, waiting for her" \
	"1 asker,from alice-ovh" "$(echo "$OUT" | jq -r '.[0] | "\(.id) \(.yours | join(",")) \(.waiting_for | join(","))"')"
run "$CTL" --json request list --nic bob-ovh
eq "bob sees it as the incoming contact, waiting for the other" "to alice-ovh" \
	"$(echo "$OUT" | jq -r '.[0] | "\(.yours | join(",")) \(.waiting_for | join(","))"')"
run "$CTL" --json request list --nic dave-ovh
eq "a stranger sees nothing" "0" "$(echo "$OUT" | jq length)"
run "$CTL" request list --nic alice-ovh
check "the table says 'waiting for you' to alice" sh -c "echo \"\$0\" | grep -q 'waiting for you'" "$OUT"
run "$CTL" request list --nic bob-ovh
check "...and 'waiting for alice-ovh' to bob" sh -c "echo \"\$0\" | grep -q 'waiting for alice-ovh'" "$OUT"
run "$CTL" --json request show 1
eq "request show has reported and waiting_for" "false alice-ovh" "$(echo "$OUT" | jq -r '"\(.reported) \(.waiting_for | join(","))"')"

# --- closing withdraws ---
"$CTL" request cancel 1 --by alice-ovh >/dev/null
eq "a cancelled request's queued validation mails are withdrawn" "0" \
	"$("$CTL" --json outbox list | jq '[.[] | select(.request == 1 and (.kind == "validation" or .kind == "reminder") and .state == "queued")] | length')"
start_sink "$SMTP_PORT"
"$CTL" outbox deliver --once >/dev/null 2>&1
check "no withdrawn mail left the outbox" sh -c "! grep -l 'X-Rcpt-Args: <bob@example.net>' $T/sink/* >/dev/null 2>&1"
eq "...the cancelled mails did" "2" "$(grep -l 'X-Contact-Change-Request: 1' "$T"/sink/* | xargs grep -l -i 'annul\|cancel' | wc -l)"

# --- reminders (rule 9) ---
stop_sink
SMTP_PORT=$SMTP_PORT REMIND_AFTER=1s RESEND_INTERVAL=10m SECURITY=security@provider.example write_conf
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
R=2
TC=$(token_for $R carol@example.org)
sleep 1.1
expect "the sweep queues one reminder per contact who has not answered" 0 "2 reminders queued" "$CTL" expire
expect "...and only once" 0 "0 reminders queued" "$CTL" expire
eq "carol's reminder is queued" "1" "$(mails reminder $R carol@example.org)"
rid=$(mid reminder carol@example.org)
RT=$("$CTL" outbox show "$rid" | sed -n 's/^Reply-To: validation+\([0-9A-Z]*\)@.*/\1/p')
eq "the reminder carries the same token as the first mail" "$TC" "$RT"
# Queued, a mail is its recipe (composed when sent): neither holds the token.
no_token_stored() { [ -n "$(db_stored "$rid")" ] && ! db_stored "$rid" | grep -q "$TC"; }
check "the stored reminder holds no token" no_token_stored
expect "the first mail's token still works" 0 "accepted" "$CTL" request accept $R --token "$TC"

# --- "this wasn't me" (rule 11) ---
TA=$(token_for $R alice@example.com)
expect "refuse --report refuses and reports" 0 "reported it" "$CTL" request refuse $R --token "$TA" --report
eq "the request is refused and flagged reported" "refused true" "$(req_field $R .state) $(req_field $R .reported)"
eq "both contacts are told it was refused" "1 1" "$(mails refused $R alice@example.com) $(mails refused $R carol@example.org)"
eq "the operator is mailed at security_address" "1" "$(mails report $R security@provider.example)"
check "the audit records the report" sh -c "'$CTL' log $R | grep -q reported"
eq "the queued reminders of the closed request are withdrawn" "0" \
	"$("$CTL" --json outbox list | jq "[.[] | select(.request == $R and .kind == \"reminder\" and .state == \"queued\")] | length")"

finish
