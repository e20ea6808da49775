#!/bin/sh
# make demo: the main job on a fresh machine.  A private Postfix on
# loopback, the milter and an SMTP sink standing for the contacts'
# mailboxes; a demo group changes its technical contact: both contacts get
# the validation mail, one answers "J'accepte" by replying, the other clicks
# the one-click accept address, and both get the confirmation.  Everything
# started here is stopped at the end.
set -u
BUILD=${BUILD:-build}
export BUILD
. tests/lib/common.sh
. tests/lib/postfix.sh
MT="python3 $top/tests/lib/mailtool.py"
trap 'stop_milter; stop_postfix; cleanup' EXIT
say() { printf '\n=== %s\n' "$*"; }
show_mail() { # FILE
	printf -- '--- to %s, subject: %s\n' "$(sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' "$1")" "$($MT subject "$1")"
	$MT text "$1" | sed 's/^/    /'
}
SMTPD=$(free_port)
SINK=$(free_port)
SMTP_PORT=$SMTPD write_conf

say "Setting up: store $T/contacts.db, Postfix on 127.0.0.1:$SMTPD, sink on 127.0.0.1:$SINK"
cast || exit 1
"$CTL" group show g1-ovh-1
start_sink "$SINK" || { echo "cannot start smtp-sink"; exit 1; }
start_postfix "$SMTPD" "$SINK" "unix:$T/milter.sock" || { echo "cannot start Postfix"; exit 1; }
start_milter || { echo "cannot start contact-milter"; exit 1; }

say "alice-ovh (admin) asks to hand the technical role to bob-ovh"
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh
wait_sink alice@example.com 1 && wait_sink bob@example.net 1 || { echo "validation mails did not arrive"; exit 1; }
VA=$(sink_mails alice@example.com | head -1)
VB=$(sink_mails bob@example.net | head -1)
say "The validation mails the two contacts receive"
show_mail "$VA"
show_mail "$VB"

TA=$($MT token "$VA")
TB=$($MT token "$VB")
say "alice replies from Gmail: \"J'accepte\" above the quoted original"
$MT reply gmail-fr "$VA" alice@example.com "validation+$TA@contacts.example.com" "J'accepte" "demo1@mail.gmail.com" >"$T/r1.eml"
# The text to a file first: a reader piped into head dies of SIGPIPE mid-write.
$MT text "$T/r1.eml" >"$T/r1.txt"
head -9 "$T/r1.txt" | sed 's/^/    /'
printf 'SMTP answer: '
$MT send "$SMTPD" alice@example.com "validation+$TA@contacts.example.com" <"$T/r1.eml"
wait_sink alice@example.com 2
say "bob clicks the one-click answer: an empty mail to validation+accept-TOKEN@"
printf 'SMTP answer: '
$MT reply click "$VB" bob@example.net "validation+accept-$TB@contacts.example.com" "" "demo2@example.net" |
	$MT send "$SMTPD" bob@example.net "validation+accept-$TB@contacts.example.com"
wait_sink alice@example.com 3 && wait_sink bob@example.net 2

say "What the contacts receive after answering"
for f in $(sink_mails alice@example.com | tail -2) $(sink_mails bob@example.net | tail -1); do show_mail "$f"; done

say "Final state"
"$CTL" request show 1
echo
"$CTL" group show g1-ovh-1
echo
"$CTL" log 1
echo
"$CTL" outbox list
say "Demo done; stopping Postfix, the milter and the sink"

# ---- contact-web: a third way of answering, the page behind the link ----
# (A separate block: the page daemon, a third request, both contacts clicking
# in headless Chromium, one of them on a phone-sized window.)
say "contact-web: the page behind the e-mail's link"
WEBPORT=$(free_port)
sed -i '/^validate_url = /d' "$CONF"
printf '[web]\nlisten = 127.0.0.1:%s\nbase_url = http://127.0.0.1:%s\n' "$WEBPORT" "$WEBPORT" >>"$CONF"
chown nobody "$T" "$T"/contacts.db*
"$top/$BUILD/contact-web" -f -u nobody 2>"$T/web.log" &
WEB_PID=$!
PIDS="$PIDS $WEB_PID"
wait_port "$WEBPORT" || { echo "cannot start contact-web"; cat "$T/web.log"; exit 1; }
echo "contact-web listens on http://127.0.0.1:$WEBPORT (as user nobody)"
say "alice-ovh asks to hand the billing role to carol-ovh; both answer on the page"
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh
na=$(sink_mails alice@example.com | wc -l)
wait_sink alice@example.com $((na + 1)) && wait_sink carol@example.org 1 || { echo "validation mails did not arrive"; exit 1; }
VA3=$(sink_mails alice@example.com | tail -1)
VC3=$(sink_mails carol@example.org | head -1)
LA3=$($MT text "$VA3" | grep -o "http://127.0.0.1:$WEBPORT/v/[0-9A-Z]*" | head -n 1)
LC3=$($MT text "$VC3" | grep -o "http://127.0.0.1:$WEBPORT/v/[0-9A-Z]*" | head -n 1)
echo "the link in carol's mail: $LC3"
web_click() { # URL BUTTON [--narrow]: open the page in Chromium, show it, click, show the result
	/usr/bin/python3 "$top/tests/web/browser.py" "$1" --click "$2" ${3:-} >"$T/page.json" 2>"$T/page.err" ||
		{ echo "browser: $(cat "$T/page.err")"; return 1; }
	printf -- '--- the page (%s window):\n' "$(jq -r '.before.window | join("x")' "$T/page.json")"
	jq -r .before.text "$T/page.json" | sed 's/^/    /'
	printf -- '--- after clicking "%s":\n' "$(jq -r --arg v "$2" '.before.buttons[] | select(.value == $v) | .label' "$T/page.json")"
	jq -r .after.text "$T/page.json" | sed -n '1,6p' | sed 's/^/    /'
}
say "carol opens the link on her phone (390x844) and clicks Accepter"
web_click "$LC3" accept --narrow || exit 1
say "alice opens her link on a desktop browser and clicks Accepter"
web_click "$LA3" accept || exit 1
wait_sink carol@example.org 2
say "Request 2, answered through the page (via web)"
"$CTL" request show 2
echo
"$CTL" group show g1-ovh-1
say "Page demo done; stopping contact-web"
kill -TERM "$WEB_PID" 2>/dev/null
wait "$WEB_PID" 2>/dev/null
