#!/bin/sh
# Attacked from outside through a real Postfix on loopback (issue 8, SPEC §8):
# one case per hole, each named as the sentence of the spec it proves.  The
# attacker can send any mail from any loopback address (each part of the
# suite uses a client address of its own, 127.0.0.N, as different hosts on
# the Internet would) and forge any header and envelope; only the contacts
# hold their mailboxes.
. tests/lib/common.sh
. tests/lib/postfix.sh
MT="python3 $top/tests/lib/mailtool.py"
command -v /usr/bin/python3 >/dev/null && MT="/usr/bin/python3 $top/tests/lib/mailtool.py" # no version-manager shim: many calls
SMTPD=$(free_port)
SINK=$(free_port)
DEAD=$(free_port) # nothing listens there
MAXMSG=65536

# conf [VAR=value...]: write_conf (with those variables), plus a message
# size limit small enough to cut a reply in the truncation case.
conf() {
	(
		for a in "$@"; do export "${a?}"; done
		SMTP_PORT=${SMTP_PORT:-$SMTPD} write_conf
	) && sed -i "s/^\[milter\]$/[milter]\nmax_message_size = $MAXMSG/" "$CONF"
}
# A cleaner exit: both Postfix instances stop with us.
cleanup_attack() { stop_postfix; PF_NAME=postfix-v stop_postfix; cleanup; }
trap cleanup_attack EXIT
conf
cast
for who in frank-ovh:frank@example.com grace-ovh:grace@example.net ivan-ovh:ivan@example.com; do
	"$CTL" account add "${who%%:*}" --email "${who#*:}" --lang en >/dev/null
done
for g in 2 3 4 5 6 7 8 9 10 11; do
	"$CTL" group add g$g-ovh-1 --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
done
start_sink "$SINK"
# Our own server, set up as the README says: its header_checks rule strips
# every Authentication-Results a sender wrote claiming our authserv-id
# (RFC 8601 section 5: the MTA's duty; a milter does not see the MTA's own
# Received: line, so it cannot tell such a header from its verifier's).
readme_block header_checks >"$T/header_checks" # the README's authserv-id is the suite's
printf 'header_checks = regexp:%s\n' "$T/header_checks" >"$T/main.extra"
PF_MAIN_EXTRA="$T/main.extra"
export PF_MAIN_EXTRA
check "a private Postfix starts with the milter on smtpd" start_postfix "$SMTPD" "$SINK" "unix:$T/milter.sock"
check "the milter starts" start_milter

code() { echo "$OUT" | cut -c1-3; }
validation_for() { $MT find "$T/sink" "$@"; } # ADDR [REQUEST]: the latest validation mail ADDR received (for that request)
# new_request GROUP ROLE NIC ADDR: creates it, waits for ADDR's mail; sets RID, V (the mail), TOK.
new_request() {
	RID=$("$CTL" --json request create "$1" --by alice-ovh --"$2" "$3" | jq -r '.ids[0]')
	i=0
	V=""
	while [ $i -lt 200 ] && [ -z "$V" ]; do
		V=$(validation_for "$4" "$RID")
		[ -n "$V" ] || sleep 0.1
		i=$((i + 1))
	done
	TOK=$([ -n "$V" ] && $MT token "$V")
}
# say STYLE ORIG FROM RCPTS FIRSTLINE MSGID ENVELOPE SOURCE [edit options...]: one reply; answer in OUT.
say() {
	style=$1 orig=$2 from=$3 rcpts=$4 first=$5 msgid=$6 env=$7 src=$8
	shift 8
	$MT reply "$style" "$orig" "$from" "${rcpts%%,*}" "$first" "$msgid" | $MT edit "$@" >"$T/say.eml"
	run $MT send "$SMTPD" "$env" "$rcpts" "$src" <"$T/say.eml"
}
party() { req_field "$1" ".parties[] | select(.nic == \"$2\") | .$3"; } # REQ NIC FIELD
rand_token() { python3 -c 'import random; print("".join(random.choice("0123456789ABCDEFGHJKMNPQRSTVWXYZ") for _ in range(26)))'; }
notices() { mails notice; }

# ---- 1. rate limits no stranger can turn against a contact -------------------------------------
new_request g1-ovh-1 tech bob-ovh bob@example.net
R1=$RID V1=$V T1=$TOK
TA1=$(token_for "$R1" alice@example.com)
check "1. bob receives his validation mail through Postfix" test -n "$T1"
k=0
while [ $k -lt 12 ]; do # forged From and envelope: bob, with tokens that do not exist
	say gmail-fr "$V1" bob@example.net "validation+$(rand_token)@contacts.example.com" "I accept" \
		"forged-bob-$k@evil.example" bob@example.net 127.0.0.11
	k=$((k + 1))
done
f12=$OUT
k=0
while [ $k -lt 12 ]; do # twelve strangers answer the request with its own tokens
	tok=$T1; [ $((k % 2)) = 1 ] && tok=$TA1
	say gmail-fr "$V1" "stranger$k@evil$k.example" "validation+$tok@contacts.example.com" "I accept" \
		"stranger-$k@evil.example" "stranger$k@evil$k.example" 127.0.0.11
	k=$((k + 1))
done
eq "1. twenty-four forged answers are refused (550)" "550 550" "$(echo "$f12" | cut -c1-3) $(code)"
eq "1. ...and change nothing" "pending null null" "$(req_field "$R1" .state) $(party "$R1" bob-ovh decision) $(party "$R1" alice-ovh decision)"
say gmail-fr "$V1" bob@example.net "validation+$T1@contacts.example.com" "I accept" bob-own@example.net bob@example.net 127.0.0.11
eq "1. after 24 forged failures (from bob's own address and from strangers, same client), bob's own reply with his live token is accepted (250)" \
	"250" "$(code)"
eq "1. ...and his decision is recorded" "accepted" "$(party "$R1" bob-ovh decision)"
k=0
while [ $k -le 10 ]; do # one stranger, one client, over max_failures (10)
	say gmail-fr "$V1" mallory@evil.example "validation+$(rand_token)@contacts.example.com" "I accept" \
		"mallory-guess-$k@evil.example" mallory@evil.example 127.0.0.12
	k=$((k + 1))
done
if echo "$OUT" | grep -q '^550 5\.7\.1 .*\(rate-limited\|too many\)'; then
	ok "1. a stranger over max_failures an hour is rate-limited (550 5.7.1)"
else
	nok "1. a stranger over max_failures an hour is rate-limited (550 5.7.1)" "got: $OUT"
fi

# ---- 9 and 7. one From address only; a truncated message is never decided -----------------------
new_request g2-ovh-1 billing carol-ovh carol@example.org
R2=$RID V2=$V T2=$TOK
say gmail-fr "$V2" carol@example.org "validation+$T2@contacts.example.com" "J'accepte" two-from@example.org \
	carol@example.org 127.0.0.14 --set "From: carol@example.org, mallory@evil.example"
eq "9. a reply 'From: carol@example.org, mallory@evil.example' is never decided" "null" "$(party "$R2" carol-ovh decision)"
new_request g7-ovh-1 tech frank-ovh frank@example.com
R7=$RID V7=$V T7=$TOK
say gmail-fr "$V7" frank@example.com "validation+$T7@contacts.example.com" "I accept" cut@example.com \
	frank@example.com 127.0.0.14 --pad $((MAXMSG * 3))
case $(code) in 550 | 451) ok "7. a reply larger than max_message_size is answered $(code) with a reason" ;;
*) nok "7. a reply larger than max_message_size is answered 550 or 451 with a reason" "got: $OUT" ;; esac
eq "7. ...and never decided" "null" "$(party "$R7" frank-ovh decision)"
say gmail-fr "$V2" carol@example.org "validation+$T2@contacts.example.com" "J'accepte" carol-ok@example.org \
	carol@example.org 127.0.0.14
eq "9. (carol's reply from her address alone is decided: the token was live)" "250 accepted" \
	"$(code) $(party "$R2" carol-ovh decision)"
say gmail-fr "$V7" frank@example.com "validation+$T7@contacts.example.com" "I accept" frank-ok@example.com \
	frank@example.com 127.0.0.14
eq "7. (the same reply, whole, is decided: the token was live)" "250 accepted" "$(code) $(party "$R7" frank-ovh decision)"

# ---- 8. what a stranger learns from a used token -----------------------------------------------
# carol's token is used now.  A stranger who forges her address (From and
# envelope) from his own client learns nothing of the request from the 550.
generic() { # NAME REQUEST NIC: the last 550's reason names neither NIC, nor 'accepted', nor the request
	reason=$(echo "$OUT" | sed 's/^[0-9]\{3\} [0-9.]* //')
	if [ "$(code)" = 550 ] && ! echo "$reason" | grep -qi "$3\|alice-ovh\|accepted\|accepté" &&
		! echo "$reason" | grep -qw "$2"; then
		ok "$1"
	else
		nok "$1" "got: $OUT"
	fi
}
say gmail-fr "$V2" carol@example.org "validation+$T2@contacts.example.com" "J'accepte" used-forged@evil.example \
	carol@example.org 127.0.0.13
generic "8. a used token's refusal to a stranger forging the contact's address is generic: no NIC, no 'accepted', no request id" "$R2" carol-ovh
say gmail-fr "$V2" mallory@evil.example "validation+$T2@contacts.example.com" "J'accepte" used-1@evil.example \
	mallory@evil.example 127.0.0.13
generic "8. ...and to a stranger writing from his own address" "$R2" carol-ovh

# ---- 4. backscatter -----------------------------------------------------------------------------
new_request g3-ovh-1 tech ivan-ovh ivan@example.com
R3=$RID V3=$V T3=$TOK
n0=$(notices)
k=0
while [ $k -lt 5 ]; do # From: a third party; the envelope a throwaway; the reply-all to dan
	say gmail-fr "$V3" "victim$k@third.example" "validation+$T3@contacts.example.com,dan@example.org" \
		"I accept" "bs-$k@evil.example" "mallory$k@evil.example" 127.0.0.15 \
		--set "Subject: Re: ECHO-XYZZY buy cheap pills"
	k=$((k + 1))
done
eq "4. a stranger's reply-all to validation+TOKEN@ and dan is taken for dan (250)" "250" "$(code)"
check "4. ...dan receives it" wait_sink dan@example.org 5
eq "4. ...and no notice is queued, to anyone" "$n0" "$(notices)"
eq "4. ...nothing recorded" "null" "$(party "$R3" ivan-ovh decision)"
say gmail-fr "$V3" ivan@example.com "validation+$T3@contacts.example.com,dan@example.org" \
	"Je regarde cela demain." bs-ivan@example.com ivan@example.com 127.0.0.15 \
	--set "Subject: Re: ECHO-PLUGH see you"
eq "4. ivan's own reply-all that says neither yes nor no is taken for dan (250)" "250" "$(code)"
eq "4. ...and ivan (his registered address) is sent one notice" "1" "$(mails notice "" ivan@example.com)"
nid=$("$CTL" --json outbox list | jq -r '[.[] | select(.kind == "notice" and .to == "ivan@example.com")] | last | .id')
"$CTL" outbox show "$nid" >"$T/notice.eml"
check "4. ...which never carries the Subject he wrote" sh -c "! { $MT subject '$T/notice.eml'; $MT text '$T/notice.eml'; $MT html '$T/notice.eml'; } | grep -q 'ECHO-PLUGH'"
eq "4. every notice went to a contact's registered address" "[]" \
	"$("$CTL" --json outbox list | jq -c '[.[] | select(.kind == "notice" and .to != "ivan@example.com" and .to != "carol@example.org" and .to != "alice@example.com") | .to]')"
sleep 2 # the outbox worker and Postfix had time to send a notice if one had been queued
eq "4. no victim at third.example received anything" "0" "$(grep -l '^X-Rcpt-Args: <victim' "$T"/sink/* 2>/dev/null | wc -l)"

# ---- 2. forged bounces --------------------------------------------------------------------------
oid3=$("$CTL" --json outbox list | jq -r --argjson r "$R3" '[.[] | select(.request == $r and .to == "ivan@example.com" and .kind == "validation")] | last | .id')
oid1=$("$CTL" --json outbox list | jq -r --argjson r "$R1" '[.[] | select(.request == $r and .to == "ivan@example.com" and .kind == "validation")] | last | .id')
env_of() { sed -n 's/^X-Mail-Args: <\([^>]*\)>.*/\1/p' "$1" | head -1; } # the envelope sender a mail in the sink had
B3=$(env_of "$V3")
B1=$(env_of "$V1")
check "2. the validation mail's envelope sender is bounces+ID-SIG@ (SIG: 8 Crockford base32 characters)" \
	sh -c "echo '$B3' | grep -q '^bounces+$oid3-[0-9A-HJKMNP-TV-Z]\{8\}@contacts.example.com$'"
# The same address with the signature altered, and with another mail's signature.
sig3=$(echo "$B3" | sed -n 's/^bounces+[0-9]*-\([^@]*\)@.*/\1/p')
sig1=$(echo "$B1" | sed -n 's/^bounces+[0-9]*-\([^@]*\)@.*/\1/p')
if [ -n "$sig3" ]; then
	last=$(echo "$sig3" | rev | cut -c1)
	alt=$(echo "$sig3" | sed 's/.$//')$([ "$last" = A ] && echo B || echo A)
else
	alt=ABCDEFGH
fi
forge() { # KIND TO FINAL ENVELOPE MSGID: a forged bounce; answer in OUT
	$MT bounce "$1" "$2" "$3" "$5" >"$T/bounce.eml"
	run $MT send "$SMTPD" "$4" "$2" 127.0.0.16 <"$T/bounce.eml"
}
n0=$(notices)
forge dsn "bounces+$oid3@contacts.example.com" ivan@example.com "" fb-guess@mx.example.com
forge dsn "bounces+$oid3-$alt@contacts.example.com" ivan@example.com "" fb-alt@mx.example.com
forge dsn "bounces+$oid3-${sig1:-ABCDEFGH}@contacts.example.com" ivan@example.com "" fb-swap@mx.example.com
forge plain "$B3" ivan@example.com mailer-daemon@mx.example.com fb-plain@mx.example.com
forge dsn "$B3" ivan@example.com mailer-daemon@mx.example.com fb-notnull@mx.example.com
forge dsn "$B3" mallory@evil.example "" fb-other@mx.example.com
eq "2. forged bounces (guessed bounces+ID@, an altered and a swapped signature, plain text from a non-null sender, a DSN from a non-null sender, a DSN naming someone else) mark nothing" \
	"false sent" "$(party "$R3" ivan-ovh bouncing) $("$CTL" --json outbox list | jq -r ".[] | select(.id == $oid3) | .state")"
eq "2. ...and nobody is mailed for them" "$n0" "$(notices)"
# A validation mail still queued (the relay down) is never marked, and goes out later.
stop_milter
SMTP_PORT=$DEAD conf
start_milter
new_request g4-ovh-1 tech carol-ovh carol@example.org # no mail arrives: the relay is down
R4=$RID
oid4=$("$CTL" --json outbox list | jq -r --argjson r "$R4" '[.[] | select(.request == $r and .to == "carol@example.org")] | last | .id')
forge dsn "bounces+$oid4@contacts.example.com" carol@example.org "" fb-queued@mx.example.com
forge plain "bounces+$oid4@contacts.example.com" carol@example.org mailer-daemon@mx.example.com fb-queued2@mx.example.com
eq "2. a bounce of a mail still queued marks nothing" "false queued" \
	"$(party "$R4" carol-ovh bouncing) $("$CTL" --json outbox list | jq -r ".[] | select(.id == $oid4) | .state")"
stop_milter
conf AUTHSERV=mx.contacts.example.com
start_milter
i=0
while [ $i -lt 300 ] && [ -z "$(validation_for carol@example.org "$R4")" ]; do sleep 0.1; i=$((i + 1)); done
check "2. ...and once the relay is back, that validation mail is sent and received" test -n "$(validation_for carol@example.org "$R4")"
forge dsn "$B3" ivan@example.com "" fb-real@mx.example.com
eq "2. (a real DSN of the mail really sent, to its own address, from <>, naming ivan, does mark it)" "true bounced" \
	"$(party "$R3" ivan-ovh bouncing) $("$CTL" --json outbox list | jq -r ".[] | select(.id == $oid3) | .state")"

# ---- 3. Authentication-Results ------------------------------------------------------------------
new_request g5-ovh-1 tech grace-ovh grace@example.net
R5=$RID V5=$V T5=$TOK
say gmail-fr "$V5" grace@example.net "validation+$T5@contacts.example.com" "I accept" ar-self@example.net \
	grace@example.net 127.0.0.17 --top "Authentication-Results: mx.contacts.example.com; dkim=pass header.d=example.net header.s=s1; spf=pass smtp.mailfrom=grace@example.net"
eq "3. a self-written Authentication-Results (with our authserv-id, below our Received:) never passes (550)" \
	"550" "$(code)"
say gmail-fr "$V5" grace@example.net "validation+$T5@contacts.example.com" "I accept" ar-self2@example.net \
	grace@example.net 127.0.0.17 --top "Authentication-Results: mx.contacts.example.com; dkim=pass header.d=example.net" \
	--top "Received: from mx.contacts.example.com by mx.contacts.example.com; Fri, 27 Nov 2026 06:00:00 +0000" \
	--top "Authentication-Results: mx.contacts.example.com; dkim=pass header.d=example.net"
eq "3. ...nor one under a Received: line the sender wrote to look like ours" "550" "$(code)"
eq "3. ...nothing recorded" "null" "$(party "$R5" grace-ovh decision)"

# A real verifier ahead of the milter: Debian's opendkim, with its test key
# table, adds the Authentication-Results our server stands behind.
V_SMTPD=$(free_port)
mkdir -p "$T/dkim"
opendkim-genkey -D "$T/dkim" -d example.net -s s1 >/dev/null 2>&1
python3 -c 'import re, sys; print("s1._domainkey.example.net " + "".join(re.findall(r"\"([^\"]*)\"", open(sys.argv[1]).read())))' \
	"$T/dkim/s1.txt" >"$T/dkim/keys"
chown -R opendkim "$T/dkim" 2>/dev/null
cat >"$T/dkim/opendkim.conf" <<DK
Mode v
Socket local:$T/dkim/opendkim.sock
AuthservID mx.contacts.example.com
TestPublicKeys $T/dkim/keys
PidFile $T/dkim/opendkim.pid
Syslog no
Background no
UserID opendkim
UMask 000
AlwaysAddARHeader yes
DK
chmod 755 "$T/dkim"
opendkim -f -x "$T/dkim/opendkim.conf" >"$T/dkim/log" 2>&1 &
DKIM_PID=$!
PIDS="$PIDS $DKIM_PID"
wait_unix "$T/dkim/opendkim.sock"
if PF_NAME=postfix-v start_postfix "$V_SMTPD" "$SINK" "unix:$T/dkim/opendkim.sock, unix:$T/milter.sock" &&
	/usr/bin/python3 -c 'import dkim' 2>/dev/null; then
	ok "3. a second Postfix runs opendkim (verifying, authserv-id mx.contacts.example.com) ahead of the milter"
	sign() { /usr/bin/python3 -c '
import sys, dkim
msg = sys.stdin.buffer.read()
sig = dkim.sign(msg, b"s1", b"example.net", open(sys.argv[1], "rb").read(), include_headers=[b"from", b"to", b"subject", b"message-id", b"date"])
sys.stdout.buffer.write(sig + msg)' "$T/dkim/s1.private"; }
	new_request g8-ovh-1 tech grace-ovh grace@example.net
	R8=$RID V8=$V T8=$TOK
	vsay() { # MSGID SIGNED(yes/no) [edit options...]
		id=$1 signed=$2
		shift 2
		$MT reply gmail-fr "$V8" grace@example.net "validation+$T8@contacts.example.com" "I accept" "$id" | $MT edit --set "X-Dummy: 1" "$@" >"$T/v.eml"
		[ "$signed" = yes ] && sign <"$T/v.eml" >"$T/v2.eml" && mv "$T/v2.eml" "$T/v.eml"
		run $MT send "$V_SMTPD" grace@example.net "validation+$T8@contacts.example.com" 127.0.0.18 <"$T/v.eml"
	}
	vsay ar-forged@example.net no --top "Authentication-Results: mx.contacts.example.com; dkim=pass header.d=example.net header.s=s1"
	eq "3. behind opendkim, an unsigned reply carrying a forged dkim=pass is refused (550)" "550 null" \
		"$(code) $(party "$R8" grace-ovh decision)"
	vsay ar-signed@example.net yes
	eq "3. behind opendkim, grace's reply DKIM-signed for example.net is accepted (250)" "250 accepted" \
		"$(code) $(party "$R8" grace-ovh decision)"
else
	nok "3. a second Postfix runs opendkim ahead of the milter, and python3-dkim signs" "$(cat "$T/dkim/log" "$T/postfix-v/maillog" 2>/dev/null | tail -5)"
fi
# Each method judged on its own, by a trusted server: an Authentication-Results
# standing above our Received: that only our own server can write is played
# by a tiny milter ahead of ours, copying what the message asks into a header
# inserted at the top.
cat >"$T/arsay.c" <<'C'
#include <libmilter/mfapi.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
static sfsistat hdr(SMFICTX *c, char *n, char *v)
{
	if (strcasecmp(n, "X-Test-AR") == 0)
		smfi_setpriv(c, strdup(v));
	return SMFIS_CONTINUE;
}
static sfsistat eom(SMFICTX *c)
{
	char *v = smfi_getpriv(c);
	if (v) {
		smfi_insheader(c, 0, "Authentication-Results", v);
		free(v);
		smfi_setpriv(c, NULL);
	}
	return SMFIS_CONTINUE;
}
static sfsistat abrt(SMFICTX *c)
{
	free(smfi_getpriv(c));
	smfi_setpriv(c, NULL);
	return SMFIS_CONTINUE;
}
int main(int argc, char **argv)
{
	struct smfiDesc d = {.xxfi_name = "arsay", .xxfi_version = SMFI_VERSION, .xxfi_flags = SMFIF_ADDHDRS,
		.xxfi_header = hdr, .xxfi_eom = eom, .xxfi_abort = abrt};
	(void)argc;
	smfi_setconn(argv[1]);
	smfi_register(d);
	smfi_opensocket(1);
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
C
cc -o "$T/arsay" "$T/arsay.c" -lmilter -lpthread
"$T/arsay" "unix:$T/arsay.sock" &
PIDS="$PIDS $!"
wait_unix "$T/arsay.sock"
chmod 666 "$T/arsay.sock"
stop_postfix
check "3. Postfix restarts with a trusted stand-in verifier ahead of the milter" start_postfix "$SMTPD" "$SINK" "unix:$T/arsay.sock, unix:$T/milter.sock"
new_request g6-ovh-1 tech grace-ovh grace@example.net
R6=$RID V6=$V T6=$TOK
say gmail-fr "$V6" grace@example.net "validation+$T6@contacts.example.com" "I accept" ar-mix@example.net \
	grace@example.net 127.0.0.19 --set "X-Test-AR: mx.contacts.example.com; dkim=fail header.d=example.net spf=pass smtp.mailfrom=other@elsewhere.example"
eq "3. our own server's 'dkim=fail header.d=victim spf=pass smtp.mailfrom=other' fails: each method judged on its own" \
	"550 null" "$(code) $(party "$R6" grace-ovh decision)"
new_request g9-ovh-1 tech grace-ovh grace@example.net
R9=$RID V9=$V T9=$TOK
say gmail-fr "$V9" grace@example.net "validation+$T9@contacts.example.com" "I accept" ar-other@example.net \
	grace@example.net 127.0.0.19 --set "X-Test-AR: mx.contacts.example.com; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=mallory@evil.example"
eq "3. ...a pass for another domain fails" "550 null" "$(code) $(party "$R9" grace-ovh decision)"
new_request g10-ovh-1 tech grace-ovh grace@example.net
R10=$RID V10=$V T10=$TOK
say gmail-fr "$V10" grace@example.net "validation+$T10@contacts.example.com" "I accept" ar-spf@example.net \
	grace@example.net 127.0.0.19 --set "X-Test-AR: mx.contacts.example.com; dkim=none; spf=pass smtp.mailfrom=grace@example.net"
eq "3. ...and spf=pass for the contact's envelope passes on its own" "250 accepted" "$(code) $(party "$R10" grace-ovh decision)"
stop_postfix
start_postfix "$SMTPD" "$SINK" "unix:$T/milter.sock"

# ---- 9. bad input -------------------------------------------------------------------------------
d0=$(db_digest)
n=0
for bad in 'x@-evil.example' '=?utf-8?q?a?=@example.com' 'validation+x@contacts.example.com' 'bounces+1@contacts.example.com'; do
	n=$((n + 1))
	expect "9. contactctl account add x$n-ovh --email '$bad' is refused (exit 1)" 1 "" "$CTL" account add x$n-ovh --email "$bad"
done
eq "9. ...and nothing changed" "$d0" "$(db_digest)"
run "$MILTER" -n -c "$CONF"
eq "9. (the suite's own configuration passes contact-milter -n)" "0" "$RC"
badconf() { # KEY SED-EXPRESSION: contact-milter -n fails, naming KEY
	sed "$2" "$CONF" >"$T/bad.conf"
	run "$MILTER" -n -c "$T/bad.conf"
	line=$(grep "^$1 = " "$T/bad.conf")
	if [ "$RC" != 0 ] && printf '%s\n%s' "$OUT" "$ERR" | grep -qF -- "$1"; then
		ok "9. '$line' makes contact-milter -n fail, naming $1"
	else
		nok "9. '$line' makes contact-milter -n fail, naming $1" "exit $RC" "$OUT" "$ERR"
	fi
}
badconf max_message_size 's/^max_message_size = .*/max_message_size = 99999999999999999999/'
badconf request_ttl 's/^request_ttl = .*/request_ttl = 100000d/'
badconf validate_url 's|^validate_url = .*|validate_url = https://x/{nope}|'

# ---- 6. the outbox against a relay that refuses one recipient -----------------------------------
# A store of its own, delivered only by `contactctl outbox deliver --once`.
RELAY=$(free_port)
mkdir -p "$T/r"
sed -e "s|^path = .*|path = $T/r/contacts.db|" -e "/^\[smtp\]/,/^\[/s|^url = .*|url = smtp://127.0.0.1:$RELAY|" \
	-e "s|^timeout = .*|timeout = 2s|" -e "s|^retry_min = .*|retry_min = 60s|" "$CONF" >"$T/r.conf"
RCTL() { "$CTL" -c "$T/r.conf" "$@"; }
CONTACT_MILTER_CONF="$T/r.conf" cast
RCTL account add dan-ovh --email dan@example.org --voip-validated --payments-ok >/dev/null
RCTL account add erin-ovh --email erin@example.org --voip-validated --payments-ok >/dev/null
RCTL group add h1-ovh-1 --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
RCTL group add h2-ovh-1 --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
RCTL group add h3-ovh-1 --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
$MT relay "$RELAY" "$T/relay" --reject5 dan@example.org --reject4 erin@example.org >"$T/relay.log" 2>&1 &
RELAY_PID=$!
PIDS="$PIDS $RELAY_PID"
wait_port "$RELAY"
RCTL request create h1-ovh-1 --by alice-ovh --tech dan-ovh >/dev/null   # alice, dan (refused: 550)
RCTL request create h2-ovh-1 --by alice-ovh --tech erin-ovh >/dev/null  # alice, erin (451)
RCTL request create h3-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null   # alice, bob
run RCTL outbox deliver --once
st() { RCTL --json outbox list | jq -r --arg a "$1" '[.[] | select(.to == $a and .kind == "validation")] | map(.state + "/" + (.attempts|tostring)) | join(" ")'; }
eq "6. a relay answering 550 to dan fails his mail at once, after one attempt (no retry)" "failed/1" "$(st dan@example.org)"
eq "6. ...while every other mail of the queue goes out in the same deliver --once run" "sent/1 sent/1 sent/1 sent/1" \
	"$(st alice@example.com) $(st bob@example.net)"
check "6. ...and the relay received them" test "$(grep -l '^X-Rcpt-To: <\(alice@example.com\|bob@example.net\)>' "$T"/relay/*.eml 2>/dev/null | wc -l)" -ge 4
eq "6. a 451 to erin leaves only her mail queued for a retry" "queued/1" "$(st erin@example.org)"

# After kill -9 of a worker mid-batch, the mails it held go out within
# minutes (the lease bounded by smtp.timeout, 2 s here), at most one batch twice.
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null
rm -rf "$T/relay"
$MT relay "$RELAY" "$T/relay" --delay 0.3 >"$T/relay.log" 2>&1 &
RELAY_PID=$!
PIDS="$PIDS $RELAY_PID"
wait_port "$RELAY"
for g in 4 5 6 7 8 9 10 11 12 13 14 15; do
	RCTL group add h$g-ovh-1 --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
	RCTL request create h$g-ovh-1 --by alice-ovh --tech carol-ovh >/dev/null
done
queued=$(RCTL --json outbox list --state queued | jq 'map(select(.to != "erin@example.org")) | length')
"$CTL" -c "$T/r.conf" outbox deliver --once >/dev/null 2>&1 &
W=$!
i=0
while [ $i -lt 100 ] && [ "$(ls "$T/relay" 2>/dev/null | grep -c '\.eml$')" -lt 3 ]; do sleep 0.1; i=$((i + 1)); done
kill -9 $W; wait $W 2>/dev/null
sent0=$(ls "$T/relay" | grep -c '\.eml$')
i=0
while [ $i -lt 40 ]; do # 200 s at most
	RCTL outbox deliver --once >/dev/null 2>&1
	left=$(RCTL --json outbox list | jq '[.[] | select(.state == "queued" or .state == "sending") | select(.to != "erin@example.org")] | length')
	[ "$left" = 0 ] && break
	sleep 5; i=$((i + 1))
done
eq "6. after kill -9 of a worker mid-batch ($sent0 of $queued sent), every mail goes out within minutes" "0" "$left"
# erin's mail (451 earlier) may go out meanwhile, its retry due: not counted.
mids() { grep -L '^X-Rcpt-To: <erin@example.org>' "$T"/relay/*.eml | xargs grep -hi '^Message-ID:'; }
dups=$(mids | sort | uniq -d | wc -l)
if [ "$dups" -le 16 ] && [ "$(mids | sort -u | wc -l)" = "$queued" ]; then
	ok "6. ...each received, at most one batch (16) of them twice ($dups)"
else
	nok "6. ...each received, at most one batch (16) of them twice" "twice: $dups" "distinct: $(mids | sort -u | wc -l) of $queued"
fi
stop_milter
finish
