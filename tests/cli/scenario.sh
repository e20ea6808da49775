#!/bin/sh
# The whole workflow driven by contactctl, as an operator would, reading the
# mails each contact would receive from the outbox.
. tests/lib/common.sh
RESEND_INTERVAL=1s write_conf
check "store, accounts, group and services are set up" cast
eq "group show --json has the contacts and the services" \
	'{"group":"g1-ovh-1","admin":"alice-ovh","tech":"alice-ovh","billing":"alice-ovh","services":[{"name":"0033972101010","kind":"number"},{"name":"line-1","kind":"line"}]}' \
	"$("$CTL" --json group show g1-ovh-1)"

# --- happy path ---
expect "request create prints its id as JSON" 0 '{"ids":[1]}' "$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh --json
eq "both contacts have a validation mail queued" "1 1" "$(mails validation 1 alice@example.com) $(mails validation 1 bob@example.net)"
A=$(token_for 1 alice@example.com)
B=$(token_for 1 bob@example.net)
eq "the two tokens are 26 characters and differ" "26 26 yes" "${#A} ${#B} $([ "$A" != "$B" ] && echo yes)"
mail_text 1 >"$T/mail1"
check "the validation mail to alice has her code and the three answer addresses" \
	sh -c "grep -q 'Votre code de validation personnel' '$T/mail1' && grep -qx '    $A' '$T/mail1' &&
	grep -q 'validation+accept-$A@contacts.example.com' '$T/mail1' &&
	grep -q 'validation+refuse-$A@contacts.example.com' '$T/mail1' && grep -q 'validation+report-$A@contacts.example.com' '$T/mail1'"
check "alice reads French: she asked, as 'vous', that the technical role of the group move to bob" \
	sh -c "tr -s '\\n ' '  ' <'$T/mail1' | grep -q 'Vous avez demandé que le rôle technique du groupe téléphonie g1-ovh-1 passe de votre compte alice-ovh au compte bob-ovh.'"
mail_text 1 html >"$T/mail1.html"
check "the HTML alternative carries the one-click mailto answers" \
	grep -q "href=\"mailto:validation+refuse-$A@contacts.example.com\"" "$T/mail1.html"
expect "the outgoing contact accepts" 0 "request is now pending" "$CTL" request accept 1 --token "$A"
eq "after one acceptance the request is pending and alice is told it waits" "pending accepted 1" \
	"$(req_field 1 .state) $(req_field 1 '.parties[0].decision') $(mails waiting 1 alice@example.com)"
eq "the group has not changed yet" "alice-ovh" "$("$CTL" --json group show g1-ovh-1 | jq -r .tech)"
# Tokens are read case-insensitively, with spaces and hyphens ignored.
LB=$(printf '%s' "$B" | tr 'A-Z' 'a-z' | sed 's/\(.....\)/\1-/g')
expect "the incoming contact accepts with a lower-case, hyphenated token" 0 "request is now done" \
	"$CTL" request accept 1 --token "$LB"
eq "the group's tech contact is now bob" "bob-ovh" "$("$CTL" --json group show g1-ovh-1 | jq -r .tech)"
eq "both contacts get the done mail" "1 1" "$(mails done 1 alice@example.com) $(mails done 1 bob@example.net)"
done_id=$("$CTL" --json outbox list | jq '[.[] | select(.kind=="done" and .to=="bob@example.net")][0].id')
check "the done mail lists the group's services" sh -c "'$CTL' outbox show $done_id | grep -q '0033972101010 (number)'"
eq "request show --json has every field of the spec" \
	"id,group,roles,from,to,asked_by,state,created_at,expires_at,done_at,reason,reported,parties,waiting_for nic,side,email,decision,decided_at,via,bouncing" \
	"$("$CTL" --json request show 1 | jq -r '(keys_unsorted|join(",")) + " " + (.parties[0]|keys_unsorted|join(","))')"
eq "both parties decided by cli" "cli cli" "$(req_field 1 '.parties[0].via') $(req_field 1 '.parties[1].via')"
expect "a used token is refused as used" 2 "already used" "$CTL" request accept 1 --token "$A"
expect "request accept with another request's id says the token is not its own" 3 "does not belong to request 2" \
	"$CTL" request accept 2 --token "$A"
run "$CTL" log 1
eq "the audit trail tells the story" "created accepted accepted done" "$(echo "$OUT" | awk '{print $3}' | xargs)"

# --- refuse ---
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
C=$(token_for 2 carol@example.org)
expect "the incoming contact refuses" 0 "request is now refused" "$CTL" request refuse 2 --token "$C"
eq "refused: both told, nothing changed" "refused 1 1 alice-ovh" \
	"$(req_field 2 .state) $(mails refused 2 alice@example.com) $(mails refused 2 carol@example.org) $("$CTL" --json group show g1-ovh-1 | jq -r .billing)"

# --- resend ---
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
OLD=$(token_for 3 carol@example.org)
sleep 1.1 # policy.resend_interval, 1s here
expect "resend mails the contacts that have not answered" 0 "sent again to 2 contacts" "$CTL" request resend 3
NEW=$(token_for 3 carol@example.org)
expect "the older token answers superseded, not unknown" 2 "superseded by a newer e-mail" \
	"$CTL" request accept 3 --token "$OLD"
expect "the fresh token works" 0 "carol-ovh accepted" "$CTL" request accept 3 --token "$NEW"
sleep 1.1
expect "resend now goes to the one left" 0 "sent again to 1 contact" "$CTL" request resend 3

# --- cancel ---
expect "cancel by someone else than the admin is refused" 2 "may cancel request 3" "$CTL" request cancel 3 --by carol-ovh
expect "the admin cancels" 0 "request 3 cancelled" "$CTL" request cancel 3 --by alice-ovh
eq "cancelled: both told" "cancelled 1 1" \
	"$(req_field 3 .state) $(mails cancelled 3 alice@example.com) $(mails cancelled 3 carol@example.org)"
expect "a token of a cancelled request says so" 2 "already cancelled" "$CTL" request accept 3 --token "$(token_for 3 alice@example.com)"

# --- several pairs in one call ---
"$CTL" account add dan-ovh --email dan@example.org --voip-validated --payments-ok >/dev/null
"$CTL" group add g2-ovh-1 --admin alice-ovh --tech bob-ovh --billing alice-ovh >/dev/null
expect "a call moving roles held by different NICs creates one request per pair" 0 '{"ids":[4,5]}' \
	"$CTL" --json request create g2-ovh-1 --by alice-ovh --admin dan-ovh --tech dan-ovh --billing dan-ovh
eq "the pairs carry their roles" "admin,billing alice-ovh tech bob-ovh" \
	"$(req_field 4 '.roles|join(",")') $(req_field 4 .from) $(req_field 5 '.roles|join(",")') $(req_field 5 .from)"
expect "a role already in an open request is refused naming it" 2 "already in open request 5" \
	"$CTL" request create g2-ovh-1 --by alice-ovh --tech carol-ovh
run "$CTL" --json request list --nic bob-ovh --state pending
eq "request list filters by NIC and state" "5" "$(echo "$OUT" | jq -r '[.[].id]|join(",")')"

# --- billing no longer holds at completion ---
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
"$CTL" request accept 6 --token "$(token_for 6 alice@example.com)" >/dev/null
"$CTL" account set carol-ovh --payments-ok no >/dev/null
expect "completion re-checks billing and fails" 0 "request is now failed" \
	"$CTL" request accept 6 --token "$(token_for 6 carol@example.org)"
eq "failed: the reason code says which condition, not whose, both told, billing unchanged" "billing_no_longer_met|1|1|alice-ovh" \
	"$(req_field 6 .reason | sed 's/.*: //')|$(mails failed 6 alice@example.com)|$(mails failed 6 carol@example.org)|$("$CTL" --json group show g1-ovh-1 | jq -r .billing)"

# --- expiry, with a TTL of one second ---
RESEND_INTERVAL=1s TTL=1s write_conf
"$CTL" request create g1-ovh-1 --by alice-ovh --billing bob-ovh >/dev/null
sleep 2
expect "expire ends overdue requests" 0 "1 request expired" "$CTL" expire
eq "expired: both told" "expired 1 1" "$(req_field 7 .state) $(mails expired 7 alice@example.com) $(mails expired 7 bob@example.net)"
expect "a token of an expired request says expired" 2 "expired on" "$CTL" request accept 7 --token "$(token_for 7 bob@example.net)"
expect "a second sweep has nothing to do" 0 "0 requests expired" "$CTL" expire
finish
