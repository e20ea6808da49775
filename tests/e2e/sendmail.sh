#!/bin/sh
# Sendmail as the README says: Debian's sendmail-bin and sendmail-cf,
# unpacked with dpkg-deb -x (installing them would replace Postfix as the
# MTA), a sendmail.cf built by m4 from Debian's cf files and the README's
# INPUT_MAIL_FILTER line (only its socket path changed to this suite's), a
# sendmail daemon on a loopback port, our milter, and an SMTP sink standing
# for the contacts' mailboxes.  One reply is recorded through it.
. tests/lib/common.sh
. tests/lib/postfix.sh
MT="python3 $top/tests/lib/mailtool.py"
SM_DIR="$top/build/sendmail-deb"
SM="$SM_DIR/root/usr/libexec/sendmail/sendmail"
CF="$SM_DIR/root/usr/share/sendmail/cf"
SM_PID=""
stop_sendmail() { [ -n "$SM_PID" ] && kill "$SM_PID" 2>/dev/null; [ -n "$SM_PID" ] && wait "$SM_PID" 2>/dev/null; SM_PID=""; }
trap 'stop_sendmail; stop_milter; cleanup' EXIT

# Debian's packages, fetched once into build/ and unpacked there.
if [ ! -x "$SM" ] || [ ! -f "$CF/m4/cf.m4" ]; then
	rm -rf "$SM_DIR" && mkdir -p "$SM_DIR/root"
	(cd "$SM_DIR" && apt-get download sendmail-bin sendmail-cf >"$SM_DIR/download.log" 2>&1 &&
		for d in ./*.deb; do dpkg-deb -x "$d" root || exit 1; done)
fi
if [ -x "$SM" ] && [ -f "$CF/m4/cf.m4" ]; then
	ok "Debian's sendmail-bin and sendmail-cf unpacked in build/sendmail-deb"
else
	nok "Debian's sendmail-bin and sendmail-cf unpacked in build/sendmail-deb" "$(cat "$SM_DIR/download.log" 2>/dev/null)"
	finish
fi
# in_uts CMD...: in its own UTS namespace with a qualified host name; with an
# unqualified one ("vm") Sendmail sleeps a minute at start trying to qualify it.
in_uts() { unshare -u sh -c 'hostname mx.contacts.example.com && exec "$@"' sh "$@"; }
in_uts "$SM" -d0.1 -bt -C /dev/null </dev/null >"$T/version" 2>&1
version=$(sed -n 's/^Version //p' "$T/version")
case "$version" in
8.1[7-9]*) ok "it runs: Sendmail $version" ;;
*) nok "it runs: Sendmail 8.17 or later" "$(head -3 "$T/version")" ;;
esac

# The README's line, in the block after <!-- readme-recipe: sendmail.mc -->.
line=$(awk '$0 == "<!-- readme-recipe: sendmail.mc -->" { on = 1; next }
	on && /^    INPUT_MAIL_FILTER/ { sub(/^    /, ""); print; exit }' README.md)
case "$line" in
"INPUT_MAIL_FILTER(\`contact-milter', \`S=unix:/run/contact-milter/milter.sock,"*) ok "README's INPUT_MAIL_FILTER line found" ;;
*) nok "README's INPUT_MAIL_FILTER line found" "got: $line" ;;
esac

SMTPD=$(free_port)
SINK=$(free_port)
# The outbox worker sends straight to the sink; Sendmail relays other mail there too.
SMTP_PORT=$SINK write_conf
mkdir -p "$T/sm/mqueue"
chmod 700 "$T/sm/mqueue"
printf 'hosts files\naliases files\n' >"$T/sm/service.switch"
cat >"$T/sm/test.mc" <<MC
divert(-1)
divert(0)dnl
define(\`_CF_DIR_', \`$CF/')dnl
include(\`$CF/m4/cf.m4')dnl
VERSIONID(\`contact-milter tests/e2e/sendmail.sh')dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`mx.contacts.example.com')dnl
define(\`QUEUE_DIR', \`$T/sm/mqueue')dnl
define(\`confPID_FILE', \`$T/sm/sendmail.pid')dnl
define(\`STATUS_FILE', \`$T/sm/statistics')dnl
define(\`ALIAS_FILE', \`')dnl
define(\`confSERVICE_SWITCH_FILE', \`$T/sm/service.switch')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
define(\`confBIND_OPTS', \`-DNSRCH -DEFNAMES')dnl
define(\`SMART_HOST', \`esmtp:[127.0.0.1]')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $SINK')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $SINK')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
FEATURE(\`no_default_msa')dnl
RELAY_DOMAIN(\`contacts.example.com')dnl
DAEMON_OPTIONS(\`Port=$SMTPD, Addr=127.0.0.1, Name=MTA')dnl
$(printf '%s\n' "$line" | sed "s|S=unix:/run/contact-milter/milter.sock|S=unix:$T/milter.sock|")
MAILER(\`smtp')dnl
MC
m4 "$T/sm/test.mc" >"$T/sm/sendmail.cf" 2>"$T/sm/m4.err"
eq "m4 builds sendmail.cf with the README's filter" "Xcontact-milter, S=unix:$T/milter.sock, F=T, T=S:30s;R:60s;E:5m" \
	"$(grep '^Xcontact-milter' "$T/sm/sendmail.cf")"

# Not through in_uts, a function: $! must be the daemon's own PID (unshare and sh exec it).
unshare -u sh -c 'hostname mx.contacts.example.com && exec "$@"' sh "$SM" -bD -C "$T/sm/sendmail.cf" >"$T/sm/sendmail.log" 2>&1 &
SM_PID=$!
if wait_port "$SMTPD"; then ok "sendmail -bD listens on 127.0.0.1:$SMTPD"; else nok "sendmail -bD listens" "$(cat "$T/sm/sendmail.log")"; finish; fi

cast
start_sink "$SINK"
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
"$CTL" outbox deliver --once >/dev/null
wait_sink alice@example.com 1
validation_for() { sink_mails "$1" | while read -r f; do [ -n "$($MT token "$f")" ] && echo "$f"; done | tail -1; }
VA=$(validation_for alice@example.com)
TA=$($MT token "$VA")
check "alice's validation mail reached the sink" test -n "$TA"

$MT reply gmail-fr "$VA" alice@example.com "validation+$TA@contacts.example.com" "J'accepte" "sm1@mail.gmail.com" >"$T/r1.eml"
run $MT send "$SMTPD" alice@example.com "validation+$TA@contacts.example.com" <"$T/r1.eml"
eq "milter down: Sendmail tempfails (F=T), nothing lost" "451" "$(echo "$OUT" | cut -c1-3)"
eq "...nothing recorded" "null" "$(req_field 1 '.parties[0].decision')"

check "the milter starts" start_milter
run $MT send "$SMTPD" alice@example.com "validation+$TA@contacts.example.com" <"$T/r1.eml"
eq "alice's reply through Sendmail is taken (250)" "250" "$(echo "$OUT" | cut -c1-3)"
eq "...and recorded in the store" "accepted email pending" \
	"$(req_field 1 '.parties[0].decision') $(req_field 1 '.parties[0].via') $(req_field 1 .state)"
$MT reply gmail-fr "$VA" mallory@evil.example "validation+$TA@contacts.example.com" "J'accepte" "sm2@evil.example" >"$T/r2.eml"
run $MT send "$SMTPD" mallory@evil.example "validation+$TA@contacts.example.com" <"$T/r2.eml"
eq "a stranger's reply gets the milter's 550 5.7.1 through Sendmail" "550 5.7.1" "$(echo "$OUT" | cut -c1-9)"
finish
