#!/bin/sh
# End to end through a real Postfix on loopback: contacts' mail is injected
# over SMTP, what they receive is read from an SMTP sink standing for their
# mailboxes.  Numbered as in the issue.
. tests/lib/common.sh
. tests/lib/postfix.sh
MT="python3 $top/tests/lib/mailtool.py"
SMTPD=$(free_port)
SINK=$(free_port)
SMTP_PORT=$SMTPD MAX_FAILURES=3 write_conf
cleanup_e2e() { stop_postfix; cleanup; }
trap cleanup_e2e EXIT
cast
start_sink "$SINK"
check "a private Postfix starts with the milter on smtpd" start_postfix "$SMTPD" "$SINK" "unix:$T/milter.sock"
check "the milter starts" start_milter

# inject STYLE ORIGINAL FROM TO FIRSTLINE MSGID [ENVELOPE_FROM]: the SMTP answer in OUT.
inject() {
	$MT reply "$1" "$2" "$3" "$4" "$5" "$6" >"$T/msg.eml"
	run $MT send "$SMTPD" "${7-$3}" "$4" <"$T/msg.eml"
}
validation_for() { sink_mails "$1" | while read -r f; do [ -n "$($MT token "$f")" ] && echo "$f"; done | tail -1; }
code() { echo "$OUT" | cut -c1-3; }

# 1. the full happy path
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
wait_sink alice@example.com 1 && wait_sink bob@example.net 1
VA=$(validation_for alice@example.com)
VB=$(validation_for bob@example.net)
eq "1. alice (French) and bob (English) each receive their validation mail through Postfix" "yes yes" \
	"$([ -n "$VA" ] && $MT subject "$VA" | grep -q 'votre accord est demandé' && echo yes) $([ -n "$VB" ] && $MT subject "$VB" | grep -q 'your approval is requested' && echo yes)"
TA=$($MT token "$VA")
TB=$($MT token "$VB")
$MT text "$VA" >"$T/va.txt"
check "1. the original alice will quote holds her token and both words" \
	sh -c "grep -q '$TA' '$T/va.txt' && grep -q \"J'accepte\" '$T/va.txt' && grep -q 'Je refuse' '$T/va.txt'"
inject gmail-fr "$VA" alice@example.com "validation+$TA@contacts.example.com" "J'accepte" "r1a@mail.gmail.com"
eq "1. alice's plain reply 'J'accepte' above the quoted original is taken (250)" "250" "$(code)"
eq "1. ...recorded as an acceptance by e-mail; the request still pending" "accepted email pending" \
	"$(req_field 1 '.parties[0].decision') $(req_field 1 '.parties[0].via') $(req_field 1 .state)"
check "1. alice is told the request now waits on bob" wait_sink alice@example.com 1 "en attente de bob-ovh"
inject click "$VB" bob@example.net "validation+accept-$TB@contacts.example.com" "" "r1b@example.net"
eq "1. bob's one-click accept address is taken (250)" "250" "$(code)"
eq "1. the group changed: bob is its tech contact" "done bob-ovh" \
	"$(req_field 1 .state) $("$CTL" --json group show g1-ovh-1 | jq -r .tech)"
check "1. alice receives the done mail" wait_sink alice@example.com 1 "effectué"
check "1. bob receives the done mail" wait_sink bob@example.net 1 ": change completed"
f=$(sink_mails bob@example.net ": change completed" | head -1)
check "1. the done mail lists the group's services" sh -c "$MT text '$f' | grep -q '0033972101010 (number)'"
check "1. replies to the validation address are discarded, never delivered" \
	sh -c "! grep -l '^X-Rcpt-Args: <validation' $T/sink/* >/dev/null 2>&1"

# 2. refuse by reply in English
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
wait_sink carol@example.org 1
VC=$(validation_for carol@example.org)
TC=$($MT token "$VC")
inject outlook-en "$VC" carol@example.org "validation+$TC@contacts.example.com" "I refuse." "r2@outlook.example.org"
eq "2. an Outlook reply 'I refuse.' in windows-1252 is taken (250)" "250" "$(code)"
eq "2. the request is refused by carol" "refused refused" "$(req_field 2 .state) $(req_field 2 '.parties[1].decision')"
check "2. alice receives the refused mail" wait_sink alice@example.com 1 "refusé"
check "2. carol receives the refused mail" wait_sink carol@example.org 1 "refusé"

# 3. a reply from an address that is not the contact's
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
i=0
while [ $i -lt 100 ] && [ "$(sink_mails carol@example.org | wc -l)" -lt 3 ]; do sleep 0.1; i=$((i + 1)); done
VC3=$(validation_for carol@example.org)
TC3=$($MT token "$VC3")
inject gmail-fr "$VC3" mallory@evil.example "validation+$TC3@contacts.example.com" "J'accepte" "r3@evil.example"
eq "3. a reply from another address gets 550 5.7.1 with the reason" \
	"550 5.7.1 this answer must come from the contact's own address, the one the validation e-mail went to" "$OUT"
eq "3. nothing recorded" "pending null" "$(req_field 3 .state) $(req_field 3 '.parties[1].decision')"

# 4. an out-of-office auto-reply and a bounce of a validation mail
sleep 1
n_before=$(ls "$T/sink" | wc -l)
inject ooo-fr "$VC3" carol@example.org "validation+$TC3@contacts.example.com" "" "r4-ooo@example.org"
eq "4. an out-of-office reply (quoting the token and 'J'accepte') is taken quietly (250)" "250" "$(code)"
eq "4. ...and nothing is recorded" "pending null" "$(req_field 3 .state) $(req_field 3 '.parties[1].decision')"
oid=$("$CTL" --json outbox list | jq '[.[] | select(.request == 3 and .to == "carol@example.org" and .kind == "validation")][0].id')
snd=$("$CTL" --json outbox show "$oid" | jq -r .sender)
inject dsn "$VC3" "" "$snd" "carol@example.org" "r4-dsn@mx.example.net" ""
eq "4. a DSN to the mail's signed bounces+ID-SIG address is taken quietly (250)" "250" "$(code)"
eq "4. the bounce is visible in request show, the outbox item marked" "true bounced" \
	"$(req_field 3 '.parties[1].bouncing') $("$CTL" --json outbox list --state bounced | jq -r ".[] | select(.id == $oid) | .state")"
sleep 1.5
eq "4. nothing was sent back to either sender; alice, who asked, is told of the bounce (rule 12)" \
	"$((n_before + 1)) 1" "$(ls "$T/sink" | wc -l) $(grep -l '^X-Rcpt-Args: <alice@example.com>' $(ls -t "$T"/sink/* | head -1) | wc -l)"

# 5. the milter killed during a session: 4xx, then the retry is recorded once
"$CTL" account set carol-ovh --email carol@example.org >/dev/null
$MT reply gmail-fr "$VC3" carol@example.org "validation+$TC3@contacts.example.com" "Oui, je valide." "r5@example.org" >"$T/r5.eml"
python3 - "$SMTPD" "validation+$TC3@contacts.example.com" "$T/r5.eml" "$MILTER_PID" >"$T/r5.out" 2>&1 <<'PY'
import smtplib, sys, os, signal, time
port, rcpt, path, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = smtplib.SMTP("127.0.0.1", int(port), timeout=30)
s.ehlo("client.example.net")
s.mail("carol@example.org")
s.rcpt(rcpt)
os.kill(pid, signal.SIGKILL)   # the milter dies mid-session
time.sleep(0.5)
try:
    code, msg = s.data(open(path, "rb").read())
except smtplib.SMTPResponseException as e:
    code, msg = e.smtp_code, e.smtp_error
print(code, msg.decode(errors="replace"))
PY
wait "$MILTER_PID" 2>/dev/null
eq "5. the milter killed mid-session: Postfix answers 4xx" "4" "$(cut -c1 "$T/r5.out")"
eq "5. ...nothing recorded" "null" "$(req_field 3 '.parties[1].decision')"
check "5. the milter comes back" start_milter
run $MT send "$SMTPD" carol@example.org "validation+$TC3@contacts.example.com" <"$T/r5.eml"
eq "5. the sender's retry is recorded (250)" "250 accepted" "$(code) $(req_field 3 '.parties[1].decision')"
run $MT send "$SMTPD" carol@example.org "validation+$TC3@contacts.example.com" <"$T/r5.eml"
eq "5. the same message once more is answered the same, recorded once" "250 1" \
	"$(code) $("$CTL" --json log 3 | jq '[.[] | select(.action == "accepted")] | length')"

# 6. the sink down while mails are queued
sleep 1
stop_sink
rm -f "$T"/sink/*
"$CTL" request cancel 3 --by alice-ovh >/dev/null
"$CTL" request create g1-ovh-1 --by alice-ovh --admin carol-ovh >/dev/null
sleep 2
eq "6. with the sink down nothing arrives" "0" "$(ls "$T/sink" | wc -l)"
start_sink "$SINK"
wait_sink alice@example.com 2
wait_sink carol@example.org 2
sleep 1
eq "6. once it is back, the 2 cancelled and 2 validation mails arrive, each once" "4 4" \
	"$(ls "$T/sink" | wc -l) $(grep -hi '^Message-Id:' "$T"/sink/* | sort -u | wc -l)"

# 7. rate limit, and Authentication-Results.  Failures are counted per
# client address; they never block the contact's own reply.
V4=$(validation_for carol@example.org)
T4=$($MT token "$V4")
db_sql "DELETE FROM failures"
for k in 1 2 3; do
	inject gmail-fr "$V4" carol@example.org "validation+0000000000000000000000000$k@contacts.example.com" "J'accepte" "r7-$k@example.org"
done
eq "7. wrong tokens are refused with the reason" "550 5.7.1 unknown token: answer from the latest validation e-mail" "$OUT"
inject gmail-fr "$V4" mallory@evil.example "validation+$T4@contacts.example.com" "J'accepte" "r7-4@evil.example"
eq "7. after max_failures (3) from this client, a stranger is rate-limited, even with the right token" \
	"550 5.7.1 too many failed answers from this address; try again in an hour" "$OUT"
eq "7. ...nothing recorded" "null" "$(req_field 4 '.parties[1].decision')"
stop_milter
SMTP_PORT=$SMTPD MAX_FAILURES=3 AUTHSERV=mx.contacts.example.com write_conf
start_milter
authed() { # AUTHENTICATION-RESULTS-LINE-OR-EMPTY MSGID
	$MT reply gmail-fr "$V4" carol@example.org "validation+$T4@contacts.example.com" "J'accepte" "$2" >"$T/a.eml"
	{ [ -n "$1" ] && printf '%s\r\n' "$1"; cat "$T/a.eml"; } >"$T/a2.eml"
	run $MT send "$SMTPD" carol@example.org "validation+$T4@contacts.example.com" <"$T/a2.eml"
}
NOAUTH="550 5.7.1 the sender could not be authenticated (no DKIM or SPF pass); answer from your usual mail server"
authed "" r7-noar@example.org
eq "7. with trusted_authserv_id set, no Authentication-Results: 550" "$NOAUTH" "$OUT"
authed "Authentication-Results: evil.example; dkim=pass header.d=example.org; spf=pass smtp.mailfrom=carol@example.org" r7-forged@example.org
eq "7. a forged Authentication-Results from another server: 550" "$NOAUTH" "$OUT"
authed "Authentication-Results: mx.contacts.example.com; dkim=fail header.d=example.org; spf=softfail smtp.mailfrom=carol@example.org" r7-fail@example.org
eq "7. a failing result from the trusted server: 550 (the contact is not rate-limited by the failures)" "$NOAUTH" "$OUT"
authed "Authentication-Results: mx.contacts.example.com; dkim=fail header.d=example.org spf=pass smtp.mailfrom=other.example" r7-mixed@example.org
eq "7. a DKIM failure for the contact's domain and an SPF pass for another domain do not add up: 550" "$NOAUTH" "$OUT"
eq "7. ...nothing recorded" "null" "$(req_field 4 '.parties[1].decision')"
authed "Authentication-Results: mx.contacts.example.com; dkim=pass (2048-bit key) header.d=example.org header.s=s1" r7-pass@example.org
eq "7. a DKIM pass from the trusted server for the sender's domain is recorded, failures notwithstanding" "250 accepted" \
	"$(code) $(req_field 4 '.parties[1].decision')"

# A reply-all: the others still get it; the sender is mailed the reason.
$MT reply gmail-fr "$V4" carol@example.org "validation+$T4@contacts.example.com" "J'accepte" r8@example.org >"$T/r8.eml"
sleep 1
rm -f "$T"/sink/*
{ printf 'Authentication-Results: mx.contacts.example.com; dkim=pass header.d=example.org\r\n'; cat "$T/r8.eml"; } >"$T/r8b.eml"
run $MT send "$SMTPD" carol@example.org "validation+$T4@contacts.example.com,dan@example.org" <"$T/r8b.eml"
eq "reply-all with a used token: accepted for the others (250)" "250" "$(code)"
check "...dan receives it" wait_sink dan@example.org 1
check "...carol is mailed the reason instead of a 550" wait_sink carol@example.org 1 "pas été prise en compte"
check "...and the validation address is not among its recipients" \
	sh -c "! grep -l '^X-Rcpt-Args: <validation' $T/sink/* >/dev/null 2>&1"
stop_milter
finish
