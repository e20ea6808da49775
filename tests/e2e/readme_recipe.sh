#!/bin/sh
# The README's Postfix recipe, pasted as it is: the main.cf lines, the
# header_checks rule and the socket line of contact-milter.conf are taken
# from README.md (the indented block after each "<!-- readme-recipe: NAME -->"
# comment) into a private Postfix that runs Debian's own master.cf, smtpd and
# cleanup chrooted in its queue directory, set up as Debian's init does.  A
# reply goes through it and is recorded; a forged Authentication-Results
# claiming our authserv-id is stripped on the way in.
. tests/lib/common.sh
. tests/lib/postfix.sh
MT="python3 $top/tests/lib/mailtool.py"
trap 'stop_milter; stop_postfix; cleanup' EXIT

readme_block main.cf >"$T/main.cf.readme"
readme_block header_checks >"$T/header_checks.readme"
readme_block contact-milter.conf >"$T/conf.readme"

n=$(grep -c . "$T/main.cf.readme")
if [ "$n" -ge 4 ]; then ok "README's main.cf block found ($n lines)"; else nok "README's main.cf block found" "$(cat "$T/main.cf.readme")"; fi
eq "no main.cf line carries a comment (Postfix would keep it in the value)" "" "$(grep -n '#' "$T/main.cf.readme")"
milter_in_chroot=$(sed -n 's/^smtpd_milters = unix:\(\/[^ ,]*\)$/\1/p' "$T/main.cf.readme")
readme_socket=$(sed -n 's/^socket = unix:\(.*\)$/\1/p' "$T/conf.readme")
eq "contact-milter.conf's socket is main.cf's, seen from outside the chroot" \
	"/var/spool/postfix$milter_in_chroot" "$readme_socket"
checks_file=$(sed -n 's/^header_checks = regexp:\$config_directory\///p' "$T/main.cf.readme")
if [ -n "$checks_file" ] && [ -s "$T/header_checks.readme" ]; then
	ok "header_checks names a file under \$config_directory and the README gives its rule"
else
	nok "header_checks names a file under \$config_directory and the README gives its rule" "$(cat "$T/main.cf.readme")"
fi

SMTPD=$(free_port)
SINK=$(free_port)
SMTP_PORT=$SMTPD write_conf
P="$T/postfix"
# Our queue directory stands for /var/spool/postfix.
SOCK="$P/queue$milter_in_chroot"
sed -i "s|^socket = .*|socket = unix:$SOCK|" "$CONF"
mkdir -p "$P" "$(dirname "$SOCK")"
chgrp postfix "$(dirname "$SOCK")"
chmod 750 "$(dirname "$SOCK")"
cp "$T/header_checks.readme" "$P/$checks_file"

cast
start_sink "$SINK"
PF_CHROOT=1
PF_MAIN_EXTRA="$T/main.cf.readme"
check "Postfix starts with the README's main.cf lines and Debian's chrooted master.cf" start_postfix "$SMTPD" "$SINK" ""
eq "its master.cf runs smtpd chrooted (Debian's y)" "y" \
	"$(awk -v p="127.0.0.1:$SMTPD" '$1 == p && $2 == "inet" { print $5 }' "$P/master.cf")"
eq "...and cleanup too" "y" "$(awk '$1 == "cleanup" && $2 == "unix" { print $5 }' "$P/master.cf")"
eq "postconf sees the README's smtpd_milters" "unix:$milter_in_chroot" "$(postconf -c "$P" -h smtpd_milters)"
check "the milter starts on the socket inside the chroot" start_milter

# The happy path's first answer, through the chrooted smtpd.
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
wait_sink alice@example.com 1 && wait_sink bob@example.net 1
validation_for() { sink_mails "$1" | while read -r f; do [ -n "$($MT token "$f")" ] && echo "$f"; done | tail -1; }
VA=$(validation_for alice@example.com)
VB=$(validation_for bob@example.net)
TA=$($MT token "$VA")
TB=$($MT token "$VB")
$MT reply gmail-fr "$VA" alice@example.com "validation+$TA@contacts.example.com" "J'accepte" "rr1@mail.gmail.com" >"$T/r1.eml"
run $MT send "$SMTPD" alice@example.com "validation+$TA@contacts.example.com" <"$T/r1.eml"
eq "alice's reply through the chrooted smtpd is taken (250)" "250" "$(echo "$OUT" | cut -c1-3)"
eq "...and recorded in the store" "accepted email pending" \
	"$(req_field 1 '.parties[0].decision') $(req_field 1 '.parties[0].via') $(req_field 1 .state)"
master=$(cat "$P/queue/pid/master.pid" 2>/dev/null | tr -d ' ')
smtpd_root=""
for c in $(pgrep -P "$master" smtpd); do smtpd_root=$(readlink "/proc/$c/root"); done
eq "the smtpd that talked to the milter runs chrooted in the queue directory" "$P/queue" "$smtpd_root"

# The header_checks rule: a forged Authentication-Results claiming our id.
# Restarted with KILL: a clean stop waits ~20 s for libmilter's sessions, and
# the clean stop is tests/milter's business, not the recipe's.
kill -KILL "$MILTER_PID" 2>/dev/null
wait "$MILTER_PID" 2>/dev/null
sed -i 's/^trusted_authserv_id = .*/trusted_authserv_id = mx.contacts.example.com/' "$CONF"
check "the milter restarts with trusted_authserv_id = mx.contacts.example.com" start_milter
$MT reply click "$VB" bob@example.net "validation+accept-$TB@contacts.example.com" "" "rr2@example.net" >"$T/r2.eml"
{ printf 'Authentication-Results: mx.contacts.example.com; dkim=pass header.d=example.net; spf=pass smtp.mailfrom=bob@example.net\r\n'
	cat "$T/r2.eml"; } >"$T/r2f.eml"
run $MT send "$SMTPD" bob@example.net "validation+accept-$TB@contacts.example.com" <"$T/r2f.eml"
eq "a reply whose only Authentication-Results is a forged one claiming our id is refused: Postfix stripped it" \
	"550 5.7.1 the sender could not be authenticated (no DKIM or SPF pass); answer from your usual mail server" "$OUT"
eq "...nothing recorded" "null pending" "$(req_field 1 '.parties[1].decision') $(req_field 1 .state)"
# Ordinary mail through the same Postfix: the rule removes our id's header only.
printf 'From: x@example.org\r\nTo: someone@contacts.example.com\r\nSubject: hi\r\nMessage-ID: <rr3@example.org>\r\nAuthentication-Results: mx.contacts.example.com; dkim=pass header.d=example.org\r\nAuthentication-Results: other.example; spf=pass smtp.mailfrom=x@example.org\r\n\r\nhello\r\n' >"$T/r3.eml"
run $MT send "$SMTPD" x@example.org someone@contacts.example.com <"$T/r3.eml"
wait_sink someone@contacts.example.com 1
f=$(sink_mails someone@contacts.example.com | head -1)
eq "in passing mail the forged header is gone, another server's stays" "0 1" \
	"$(grep -c '^Authentication-Results: mx.contacts' "$f") $(grep -c '^Authentication-Results: other.example' "$f")"
finish
