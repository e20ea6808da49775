#!/bin/sh
# End to end through a real Postfix on loopback: answers written as
# customers write them, with a closing, a signature, a company disclaimer or
# a mobile footer holding the opposite word, are recorded as what their
# opening says (issue 9); a headerless out-of-office is never an answer; a
# signed reply with no answer in its opening is told how to answer.
. tests/lib/common.sh
. tests/lib/postfix.sh
MT="python3 $top/tests/lib/mailtool.py"
SMTPD=$(free_port)
SINK=$(free_port)
SMTP_PORT=$SMTPD write_conf
cleanup_e2e() { stop_postfix; cleanup; }
trap cleanup_e2e EXIT
cast
start_sink "$SINK"
check "a private Postfix starts with the milter on smtpd" start_postfix "$SMTPD" "$SINK" "unix:$T/milter.sock"
check "the milter starts" start_milter

# inject STYLE ORIGINAL FROM TO FIRSTLINE MSGID: the SMTP answer in OUT.
inject() {
	$MT reply "$1" "$2" "$3" "$4" "$5" "$6" >"$T/msg.eml"
	cp "$T/msg.eml" "$T/$6.eml"
	run $MT send "$SMTPD" "$3" "$4" <"$T/msg.eml"
}
validation_for() { sink_mails "$1" | while read -r f; do [ -n "$($MT token "$f")" ] && echo "$f"; done | tail -1; }
code() { echo "$OUT" | cut -c1-3; }
# party REQUEST NIC FIELD: a field of one contact's part in a request.
party() { "$CTL" --json request show "$1" | jq -r --arg n "$2" ".parties[] | select(.nic == \$n) | .$3"; }

# 1. a signed-off acceptance whose disclaimer says "refuse", and one whose
#    Yahoo footer says "accept" after "Sounds good, go ahead."
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
wait_sink alice@example.com 1 && wait_sink bob@example.net 1
VA=$(validation_for alice@example.com)
VB=$(validation_for bob@example.net)
TA=$($MT token "$VA")
TB=$($MT token "$VB")
inject signoff-fr "$VA" alice@example.com "validation+$TA@contacts.example.com" "C'est bon pour moi, allez-y." \
	"s1a@mail.gmail.com"
check "1. alice's signed reply holds the disclaimer's 'refuse toute responsabilité', above the quote" \
	sh -c "$MT text '$T/s1a@mail.gmail.com.eml' | sed '/a écrit/q' | grep -q 'refuse toute responsabilité'"
eq "1. alice's 'Bonjour, / C'est bon pour moi, allez-y. / Cordialement / ... / refuse toute responsabilité' is taken (250)" \
	"250" "$(code)"
eq "1. ...recorded as her acceptance by e-mail" "accepted email" \
	"$(party 1 alice-ovh decision) $(party 1 alice-ovh via)"
inject signoff-en "$VB" bob@example.net "validation+$TB@contacts.example.com" "Sounds good, go ahead." \
	"s1b@yahoo.example.net"
eq "1. bob's 'Sounds good, go ahead.' above a footer saying 'accept' is taken (250)" "250" "$(code)"
eq "1. ...recorded as his acceptance; the group changed" "accepted done bob-ovh" \
	"$(party 1 bob-ovh decision) $("$CTL" --json request show 1 | jq -r .state) $("$CTL" --json group show g1-ovh-1 | jq -r .tech)"

# 2. a signed-off refusal whose Yahoo footer says "accept"
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
wait_sink carol@example.org 1
VC=$(validation_for carol@example.org)
TC=$($MT token "$VC")
inject signoff-en "$VC" carol@example.org "validation+$TC@contacts.example.com" "I refuse." "s2@yahoo.example.org"
check "2. carol's reply holds 'accept' in its footer, above the quote" \
	sh -c "$MT text '$T/s2@yahoo.example.org.eml' | sed '/wrote:/q' | grep -q 'you accept our terms'"
eq "2. carol's 'I refuse.' above 'Regards, / John Smith / phone / Sent from Yahoo Mail ... accept' is taken (250)" \
	"250" "$(code)"
eq "2. ...recorded as her refusal; the request is refused" "refused email refused" \
	"$(party 2 carol-ovh decision) $(party 2 carol-ovh via) $("$CTL" --json request show 2 | jq -r .state)"
check "2. alice receives the refused mail" wait_sink alice@example.com 1 "refusé"

# 3. a headerless out-of-office ("Absente du bureau", its text saying "Oui")
#    and a signed reply with no answer in its opening
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
i=0
while [ $i -lt 100 ] && [ "$(validation_for carol@example.org | xargs -r $MT token)" = "$TC" ]; do
	sleep 0.1; i=$((i + 1))
done
VC3=$(validation_for carol@example.org)
TC3=$($MT token "$VC3")
sleep 1
n_before=$(sink_count)
inject ooo-headerless-fr "$VC3" carol@example.org "validation+$TC3@contacts.example.com" "" "s3-ooo@example.org"
eq "3. an out-of-office without headers, subject 'Absente du bureau', text 'Oui, ...' is taken quietly (250)" \
	"250" "$(code)"
eq "3. ...and nothing is recorded" "pending null" \
	"$("$CTL" --json request show 3 | jq -r .state) $(party 3 carol-ovh decision)"
inject signoff-fr "$VC3" carol@example.org "validation+$TC3@contacts.example.com" \
	"Je regarde cela avec mon associé et je reviens vers vous." "s3-none@example.org"
eq "3. a signed reply whose opening has no answer (its disclaimer says 'refuse') gets 550 saying how to answer" \
	"550 5.7.1 no accept or refuse found at the start of the reply: reply with ACCEPT or REFUSE as the first line, above any signature" \
	"$OUT"
eq "3. ...nothing is recorded" "pending null" \
	"$("$CTL" --json request show 3 | jq -r .state) $(party 3 carol-ovh decision)"
sleep 1.5
eq "3. no mail was sent to anyone for either" "$n_before" "$(sink_count)"
stop_milter
finish
