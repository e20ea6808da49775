#!/bin/sh
# The life of a request through a real Postfix and the milter (SPEC rules
# 8, 11, 12): the guide's recovery (correct the address, resend) reaches the
# new address and the reply from it is recorded; "this wasn't me" by the
# one-click address, with the operator's mail; a validation mail that
# bounces tells the admin who asked.
. tests/lib/common.sh
. tests/lib/postfix.sh
MT="python3 $top/tests/lib/mailtool.py"
SMTPD=$(free_port)
SINK=$(free_port)
SMTP_PORT=$SMTPD SECURITY=security@provider.example RESEND_INTERVAL=1s write_conf
cleanup_e2e() { stop_postfix; cleanup; }
trap cleanup_e2e EXIT
cast
start_sink "$SINK"
check "a private Postfix starts with the milter on smtpd" start_postfix "$SMTPD" "$SINK" "unix:$T/milter.sock"
check "the milter starts" start_milter
inject() { # STYLE ORIGINAL FROM TO FIRSTLINE MSGID [ENVELOPE_FROM]
	$MT reply "$1" "$2" "$3" "$4" "$5" "$6" >"$T/msg.eml"
	run $MT send "$SMTPD" "${7-$3}" "$4" <"$T/msg.eml"
}
validation_for() { sink_mails "$1" | while read -r f; do [ -n "$($MT token "$f")" ] && echo "$f"; done | tail -1; }
code() { echo "$OUT" | cut -c1-3; }

# 1. The guide's recovery: bob never got the mail; his address is corrected,
# the request resent; the new mail reaches the new address, his reply from
# it is recorded.
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
wait_sink bob@example.net 1
"$CTL" account set bob-ovh --email bob@new.example >/dev/null
sleep 1.1 # resend_interval
check "1. the admin resends the request" "$CTL" request resend 1 --by alice-ovh --nic bob-ovh
check "1. the new validation mail reaches bob's new address" wait_sink bob@new.example 1
VB=$(validation_for bob@new.example)
TB=$($MT token "$VB")
inject gmail-fr "$VB" bob@new.example "validation+$TB@contacts.example.com" "J'accepte" "l1@new.example"
eq "1. bob's reply from the new address is recorded (250)" "250 accepted" "$(code) $(req_field 1 '.parties[1].decision')"
VB_OLD=$(validation_for bob@example.net)
TB_OLD=$($MT token "$VB_OLD")
inject gmail-fr "$VB_OLD" bob@example.net "validation+$TB_OLD@contacts.example.com" "J'accepte" "l1-old@example.net"
eq "1. a reply from the old address with the old token is refused" "550" "$(code)"

# 2. "This wasn't me" by the one-click address.
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
wait_sink carol@example.org 1
VC=$(validation_for carol@example.org)
TC=$($MT token "$VC")
check "2. the validation mail offers the report address" sh -c "$MT text '$VC' | grep -q 'validation+report-$TC@contacts.example.com'"
inject click "$VC" carol@example.org "validation+report-$TC@contacts.example.com" "" "l2@example.org"
eq "2. the one-click report address is taken (250)" "250" "$(code)"
eq "2. the request is refused and flagged reported" "refused true refused" \
	"$(req_field 2 .state) $(req_field 2 .reported) $(req_field 2 '.parties[1].decision')"
check "2. the operator is mailed at security_address" wait_sink security@provider.example 1
check "2. both contacts are told it was refused" \
	sh -c "'$CTL' --json outbox list | jq -e '[.[] | select(.request == 2 and .kind == \"refused\")] | length == 2' >/dev/null"

# 3. A validation mail bounces: the admin who asked is told which contact.
"$CTL" account add dave-ovh --email dave@example.org --lang en >/dev/null
"$CTL" request create g1-ovh-1 --by alice-ovh --billing dave-ovh >/dev/null 2>&1 ||
	"$CTL" request create g1-ovh-1 --by alice-ovh --admin dave-ovh >/dev/null
R=$("$CTL" --json request list --nic dave-ovh | jq '.[0].id')
wait_sink dave@example.org 1
VD=$(validation_for dave@example.org)
oid=$("$CTL" --json outbox list | jq --argjson r "$R" '[.[] | select(.request == $r and .to == "dave@example.org" and .kind == "validation")][0].id')
snd=$("$CTL" --json outbox show "$oid" | jq -r .sender)
n_alice=$(sink_mails alice@example.com | wc -l)
inject dsn "$VD" "" "$snd" "dave@example.org" "l3-dsn@mx.example.org" ""
eq "3. the DSN to the signed bounce address is taken quietly (250)" "250" "$(code)"
eq "3. dave's address is marked bouncing" "true" "$(req_field "$R" '.parties[1].bouncing')"
check "3. alice, who asked, is told" wait_sink alice@example.com $((n_alice + 1))
f=$(sink_mails alice@example.com | xargs ls -t | head -1)
check "3. ...naming dave's account and the way on (correct, then resend)" \
	sh -c "$MT text '$f' | grep -q dave-ovh && $MT text '$f' | grep -qi 'renvoy'"
stop_milter
finish
