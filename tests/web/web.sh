#!/bin/sh
# web.sh - contact-web, the page behind the validation mail's link (SPEC
# section 6): a real request answered in headless Chromium by both contacts
# (one on a phone-sized window), then the same daemon probed with curl and
# raw sockets: GET changes nothing, forged POSTs are refused, every kind of
# token gets its page and status, hostile input is answered without a crash,
# failed lookups are rate-limited per client, /healthz follows the store,
# SIGHUP reads the page templates again, SIGTERM lets a request in flight
# finish.
. tests/lib/common.sh
WEB="$top/$BUILD/contact-web"
PY=/usr/bin/python3
BROWSER="$PY $top/tests/web/browser.py"
PROBE="$PY $top/tests/web/probe.py"
PORT=$(free_port)
BASE="http://127.0.0.1:$PORT"
BUSY=2s SECURITY=security@provider.example RESEND_INTERVAL=1s write_conf
# The mails' link is the default, {base_url}/v/{token}; the daemon believes
# X-Forwarded-For from 127.0.0.1, so tests can speak for other clients.
cp -R "$top/config/templates" "$T/tpl"
sed -i -e '/^validate_url = /d' -e "s|^dir = .*|dir = $T/tpl|" "$CONF"
cat >>"$CONF" <<CONF
[web]
listen = 127.0.0.1:$PORT
base_url = $BASE
trusted_proxy = 127.0.0.1
CONF
cast || { nok "cast"; finish; }
"$CTL" account set alice-ovh --name "Alice Martin" >/dev/null
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
# The daemon runs as nobody: the store's directory and files are its own.
chown nobody "$T" "$T"/contacts.db*

# link_for ID ADDR: the page's address in the last validation mail to ADDR,
# read from the mail's text as the contact sees it.
link_for() {
	oid=$("$CTL" --json outbox list | jq -r --arg a "$2" --argjson r "$1" \
		'[.[] | select(.request == $r and .to == $a and .kind == "validation")] | last | .id')
	mail_text "$oid" | grep -o "$BASE/v/[0-9A-Z]*" | head -n 1
}
# status URL [curl args]: the HTTP status of one request; headers in $T/h, body in $T/b.
status() { u=$1; shift; curl -s -o "$T/b" -D "$T/h" -w '%{http_code}' "$@" "$u"; }
nonce_of() { curl -s "$1" | sed -n 's/.*name="nonce" value="\([0-9a-f]*\)".*/\1/p'; }
# headers_ok: the five security headers of the last answer, exactly.
HDR_FAIL=""
headers_ok() { # WHAT
	for h in "Cache-Control: no-store" "Referrer-Policy: no-referrer" "X-Frame-Options: DENY" \
		"X-Content-Type-Options: nosniff" \
		"Content-Security-Policy: default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"; do
		tr -d '\r' <"$T/h" | grep -qixF "$h" || HDR_FAIL="$HDR_FAIL [$1: no '$h']"
	done
}
failures() { sqlite3 "$T/contacts.db" "SELECT COUNT(*) FROM failures WHERE key = 'web:$1'"; }
sanitizer_clean() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: ' "$T/web.log"; }

expect "contact-web -n checks the configuration, templates and store" 0 "configuration $CONF OK" "$WEB" -n
expect "contact-web -l overrides web.listen" 0 "(listen 127.0.0.1:1," "$WEB" -n -l 127.0.0.1:1
expect "contact-web -V prints its version" 0 "contact-web " "$WEB" -V
expect "contact-web refuses to run as root without -u" 1 "refusing to run as root" "$WEB" -f
"$WEB" -f -u nobody -P "$T/lock.pid" 2>"$T/web.log" &
WEB_PID=$!
PIDS="$PIDS $WEB_PID"
echo "$WEB_PID" >"$T/web.pid"
wait_port "$PORT" || { nok "contact-web listens on 127.0.0.1:$PORT" "$(cat "$T/web.log")"; finish; }
eq "contact-web runs as nobody once its socket is open" nobody "$(ps -o user= -p "$WEB_PID")"
eq "its pid file (-P) holds its pid" "$WEB_PID" "$(cat "$T/lock.pid")"
expect "a second contact-web with the same pid file refuses to start, naming the first" 1 \
	"another contact-web (pid $WEB_PID) holds the pid file" "$WEB" -f -u nobody -P "$T/lock.pid" -l "127.0.0.1:$(free_port)"

LA=$(link_for 1 alice@example.com)
LB=$(link_for 1 bob@example.net)
case "$LA" in "$BASE"/v/??????????????????????????) ok "alice's validation mail links to the page" ;;
*) nok "alice's validation mail links to the page" "link: '$LA'" ;; esac

# 1. GET never changes anything (mail scanners open links).
before=$(db_digest)
codes=""
for i in 1 2 3; do codes="$codes$(status "$LA") "; done
eq "three GETs of a live link answer 200" "200 200 200 " "$codes"
headers_ok "GET 200"
eq "three GETs of a live link leave the store as it was" "$before" "$(db_digest)"

# 2. A POST must come from the page.
NA=$(nonce_of "$LA")
eq "a POST without the page's nonce is refused (403)" 403 "$(status "$LA" -d decision=accept)"
headers_ok "POST 403"
eq "a POST with a wrong nonce is refused (403)" 403 \
	"$(status "$LA" -d "decision=accept&nonce=$(printf '%064d' 0)")"
eq "a POST with the nonce from another Origin is refused (403)" 403 \
	"$(status "$LA" -H "Origin: https://evil.example" -d "decision=accept&nonce=$NA")"
eq "a POST a browser calls cross-site is refused (403)" 403 \
	"$(status "$LA" -H "Sec-Fetch-Site: cross-site" -d "decision=accept&nonce=$NA")"
eq "a POST from a page of another site (Referer) is refused (403)" 403 \
	"$(status "$LA" -H "Referer: https://evil.example/x" -d "decision=accept&nonce=$NA")"
eq "the refused POSTs changed nothing" "$before" "$(db_digest)"

# 3. Alice answers in the browser, in French, on a desktop window.
exp_fr=$($PY -c '
import datetime, sys, zoneinfo
t = datetime.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00")).astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
m = ["janvier","février","mars","avril","mai","juin","juillet","août","septembre","octobre","novembre","décembre"]
en = ["January","February","March","April","May","June","July","August","September","October","November","December"]
print("%d%s %s %d à %02d:%02d|%d %s %d, %02d:%02d" % (t.day, "er" if t.day == 1 else "", m[t.month-1], t.year, t.hour, t.minute,
      t.day, en[t.month-1], t.year, t.hour, t.minute))' "$(req_field 1 .expires_at)")
EXP_FR=${exp_fr%|*}
EXP_EN=${exp_fr#*|}
if $BROWSER "$LA" --click accept >"$T/alice.json" 2>"$T/alice.err"; then
	ok "alice's page opens in Chromium and its Accepter button is clicked"
else
	nok "alice's page opens in Chromium and its Accepter button is clicked" "$(cat "$T/alice.err")"
fi
before_text=$(jq -r .before.text "$T/alice.json")
missing=""
for w in "g1-ovh-1" "technique" "Alice Martin (alice-ovh)" "bob-ovh" "Expire le" "$EXP_FR (heure de Paris)" \
	"0033972101010 (numéro)" "line-1 (ligne)" "n'a pas encore répondu"; do
	printf '%s' "$before_text" | grep -qF -- "$w" || missing="$missing [$w]"
done
eq "alice's page shows, in French, the group, role, both contacts, services and expiry" "" "$missing"
eq "alice's page is in French and offers accept, refuse and report" \
	"fr accept:Accepter refuse:Refuser report:Ce n'est pas moi : refuser et signaler" \
	"$(jq -r '[.before.lang] + [.before.buttons[] | "\(.value):\(.label)"] | join(" ")' "$T/alice.json")"
after_text=$(jq -r .after.text "$T/alice.json")
missing=""
for w in "Vous avez accepté ce changement" "en attente de l'autre contact, bob-ovh" "a accepté le"; do
	printf '%s' "$after_text" | grep -qF -- "$w" || missing="$missing [$w]"
done
eq "after the click, alice's page shows her decision and that it waits for bob-ovh" "" "$missing"
eq "after the click, the form is gone" 0 "$(jq '.after.buttons | length' "$T/alice.json")"
eq "the store has alice's acceptance, via web" "accepted web pending" \
	"$("$CTL" --json request show 1 | jq -r '(.parties[] | select(.nic == "alice-ovh") | "\(.decision) \(.via)") + " " + .state')"
eq "alice gets the 'waiting' mail" 1 "$(mails waiting 1 alice@example.com)"

# 4. Bob refuses on a phone-sized window, in English.
if $BROWSER "$LB" --narrow --click refuse >"$T/bob.json" 2>"$T/bob.err"; then
	ok "bob's page opens on a 390x844 window and its Refuse button is clicked"
else
	nok "bob's page opens on a 390x844 window and its Refuse button is clicked" "$(cat "$T/bob.err")"
fi
eq "bob's window is phone-sized" "[390,844]" "$(jq -c .before.window "$T/bob.json")"
eq "on the phone the page is styled, needs no sideways scroll, and every button fits" "true false true" \
	"$(jq -r '"\(.before.styled) \(.before.overflow) \(.before.buttons_fit)"' "$T/bob.json")"
before_text=$(jq -r .before.text "$T/bob.json")
missing=""
for w in "Contact change for group g1-ovh-1" "technical" "Alice Martin (alice-ovh)" "bob-ovh" \
	"$EXP_EN (Paris time)" "accepted on" "not yet answered"; do
	printf '%s' "$before_text" | grep -qF -- "$w" || missing="$missing [$w]"
done
eq "bob's page shows, in English, the request and that alice accepted" "" "$missing"
after_text=$(jq -r .after.text "$T/bob.json")
missing=""
for w in "You refused this change" "The request was refused; nothing changes."; do
	printf '%s' "$after_text" | grep -qF -- "$w" || missing="$missing [$w]"
done
eq "after the click, bob's page shows his refusal and the request's state" "" "$missing"
eq "the store has bob's refusal via web, and the request refused" "refused web refused" \
	"$("$CTL" --json request show 1 | jq -r '(.parties[] | select(.nic == "bob-ovh") | "\(.decision) \(.via)") + " " + .state')"
eq "both contacts get the 'refused' mail" "1 1" \
	"$(mails refused 1 alice@example.com) $(mails refused 1 bob@example.net)"

# 5. Used, superseded, expired and unknown tokens.
before=$(db_digest)
eq "a used token's page answers 200" 200 "$(status "$LA")"
grep -qF "Vous avez accepté ce changement" "$T/b" && ! grep -q "<form" "$T/b" &&
	ok "a used token's page shows the decision taken and no form" ||
	nok "a used token's page shows the decision taken and no form" "$(cat "$T/b")"
grep -qF "La demande est refusée" "$T/b" && ok "a used token's page shows the request's state" ||
	nok "a used token's page shows the request's state"
eq "a POST with a used token goes back to the page (303)" 303 \
	"$(status "$LA" -H "Origin: null" -d "decision=refuse&nonce=$NA")"
headers_ok "POST 303"
eq "the 303 points at the token's page" "$(basename "$LA")" "$(tr -d '\r' <"$T/h" | sed -n 's/^Location: //Ip')"
eq "a POST with a used token changes nothing" "$before" "$(db_digest)"
eq "?lang=en shows alice's used page in English" 200 "$(status "$LA?lang=en")"
grep -qF "You accepted this change" "$T/b" && ok "?lang=en overrides the contact's language" ||
	nok "?lang=en overrides the contact's language"

"$CTL" request create g1-ovh-1 --by alice-ovh --tech carol-ovh >/dev/null
LC_OLD=$(link_for 2 carol@example.org)
sleep 1.1 # policy.resend_interval, 1s here
check "the request is resent" "$CTL" request resend 2
LC=$(link_for 2 carol@example.org)
eq "a superseded token's page answers 410" 410 "$(status "$LC_OLD")"
grep -qF "remplacé par un e-mail plus récent" "$T/b" && ! grep -q "<form" "$T/b" &&
	ok "a superseded token's page says so in words, without a form" ||
	nok "a superseded token's page says so in words, without a form" "$(cat "$T/b")"
eq "the newer token's page is live (200 with its form)" "200 1" "$(status "$LC") $(grep -c '<form' "$T/b")"

"$CTL" account set carol-ovh --name '<script>alert(1)</script> & "Co" <b>' >/dev/null
status "$LC" >/dev/null
grep -qF '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot; &lt;b&gt; (carol-ovh)' "$T/b" &&
	! grep -qi '<script\|<b>' "$T/b" && ok "an account's name is shown HTML-escaped" ||
	nok "an account's name is shown HTML-escaped" "$(grep -i carol "$T/b" | head -3)"
sed -i 's/^request_ttl = .*/request_ttl = 1s/' "$CONF"
"$CTL" request create g1-ovh-1 --by alice-ovh --billing bob-ovh >/dev/null
sed -i 's/^request_ttl = .*/request_ttl = 14d/' "$CONF"
LX=$(link_for 3 bob@example.net)
sleep 2
eq "a token of a request past its time answers 410" 410 "$(status "$LX")"
grep -qF "This request expired on" "$T/b" && ok "a request past its time says it expired" ||
	nok "a request past its time says it expired" "$(cat "$T/b")"
"$CTL" expire >/dev/null
eq "after contactctl expire, the page still answers 410" 410 "$(status "$LX")"
grep -qF "This request expired on" "$T/b" && ! grep -q "<form" "$T/b" && ok "an expired request's page says so" ||
	nok "an expired request's page says so"
f0=$(failures 127.0.0.1)
UNKNOWN="$BASE/v/0000000000000000000000000A"
eq "an unknown token answers 404" 404 "$(status "$UNKNOWN")"
headers_ok "GET 404"
! grep -qE "g1-ovh-1|alice|bob|carol|request" "$T/b" && ok "the 404 page reveals nothing of any request" ||
	nok "the 404 page reveals nothing of any request" "$(cat "$T/b")"
eq "an unknown token counts one failure for the client" $((f0 + 1)) "$(failures 127.0.0.1)"
eq "a POST with an unknown token is refused (403: no page gave it a nonce)" 403 \
	"$(status "$UNKNOWN" -d "decision=accept&nonce=$(printf '%064d' 0)")"
! grep -qE "g1-ovh-1|alice|bob|carol" "$T/b" && ok "that refusal reveals nothing of any request" ||
	nok "that refusal reveals nothing of any request"

# 6. Hostile input: answered, never echoed, never looked up.
f0=$(failures 127.0.0.1)
codes=""
for p in "/v/%00" "/v/%3Cscript%3Ealert(1)%3C%2Fscript%3E" "/v/'%20OR%201=1--" "/v/%FF%FE%FD" \
	"/v/$(printf '%0300d' 7)" "/v/UUUUUUUUUUUUUUUUUUUUUUUUUU" "/v/../etc/passwd" "/v/" "/nothing"; do
	codes="$codes$(status "$BASE$p" --path-as-is) "
	grep -qi "script\|passwd\|OR 1=1" "$T/b" && codes="$codes(echoed $p) "
done
eq "tokens with odd characters get the 404 page, never echoed" \
	"404 404 404 404 404 404 404 404 404 " "$codes"
eq "malformed tokens are never looked up (no failure counted)" "$f0" "$(failures 127.0.0.1)"
eq "a method other than GET and POST answers 405" 405 "$(status "$LC" -X DELETE)"
headers_ok "DELETE 405"

before=$(db_digest)
head -c 1048576 /dev/zero | tr '\0' a >"$T/big"
eq "a 1 MB form body is refused (413)" 413 "$(status "$LC" -H "Origin: null" --data-binary @"$T/big")"
headers_ok "POST 413"
eq "a 1 MB chunked body is refused (413)" 413 "$($PROBE chunked "$PORT" "/v/$(basename "$LC")" 1048576)"
eq "a slow client, one byte every 20 ms, gets its page" 200 "$($PROBE trickle "$PORT" "/v/$(basename "$LC")" 0.02)"
eq "200 concurrent connections all get the page" "200:200" "$($PROBE concurrent "$PORT" "/v/$(basename "$LC")" 200)"
eq "none of that changed the store" "$before" "$(db_digest)"
kill -0 "$WEB_PID" 2>/dev/null && ok "contact-web is still running" || nok "contact-web is still running"

# 7. Rate limit per client, X-Forwarded-For believed from the trusted proxy.
for i in $(seq 1 10); do
	status "$BASE/v/$(printf '%025dB' "$i")" -H "X-Forwarded-For: 192.0.2.1, 198.51.100.7" >/dev/null
done
eq "ten unknown tokens from one client are counted against its address (last X-Forwarded-For hop)" 10 \
	"$(failures 198.51.100.7)"
eq "the eleventh lookup from that client answers 429, even with a live token" 429 \
	"$(status "$LC" -H "X-Forwarded-For: 198.51.100.7")"
headers_ok "GET 429"
grep -qF "Trop de tentatives" "$T/b" && ok "the 429 page says why" || nok "the 429 page says why"
eq "another client still gets the page" 200 "$(status "$LC" -H "X-Forwarded-For: 203.0.113.9")"

# 8. /healthz follows the store.
eq "/healthz answers 200 ok" "200 ok" "$(status "$BASE/healthz") $(cat "$T/b")"
headers_ok "healthz 200"
mv "$T/contacts.db" "$T/contacts.db.away"
eq "/healthz answers 503 while the store is away" 503 "$(status "$BASE/healthz")"
headers_ok "healthz 503"
mv "$T/contacts.db.away" "$T/contacts.db"
chmod 000 "$T"
eq "/healthz answers 503 while the store's directory is unreadable" 503 "$(status "$BASE/healthz")"
chmod 755 "$T"
eq "/healthz answers 200 once the store is back" 200 "$(status "$BASE/healthz")"
eq "the style sheet is served" 200 "$(status "$BASE/static/page.css")"
headers_ok "css 200"
eq "every answer above carried the five security headers" "" "$HDR_FAIL"

# A store too busy to take the decision: 503 "try again", nothing lost.
"$CTL" request create g1-ovh-1 --by alice-ovh --admin carol-ovh >/dev/null
L4=$(link_for 4 alice@example.com)
N4=$(nonce_of "$L4")
$PY -c 'import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None); c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close(); time.sleep(5); c.execute("ROLLBACK")' "$T/contacts.db" "$T/locked" &
LOCK_PID=$!
PIDS="$PIDS $LOCK_PID"
i=0
while [ $i -lt 50 ] && [ ! -f "$T/locked" ]; do sleep 0.1; i=$((i + 1)); done
eq "a decision while another process holds the store's write lock answers 503" 503 \
	"$(status "$L4" -H "Origin: null" -d "decision=accept&nonce=$N4")"
headers_ok "POST 503"
grep -qF "rien n'a été enregistré" "$T/b" && grep -qi "^Retry-After: 30" "$T/h" &&
	ok "the 503 page says to try again, nothing recorded (Retry-After)" ||
	nok "the 503 page says to try again, nothing recorded (Retry-After)" "$(cat "$T/h")"
wait "$LOCK_PID"
eq "the same decision once the store is free: 303, recorded via web" "303 accepted web" \
	"$(status "$L4" -H "Origin: null" -d "decision=accept&nonce=$N4") $("$CTL" --json request show 4 |
		jq -r '.parties[] | select(.nic == "alice-ovh") | "\(.decision) \(.via)"')"

# "This wasn't me" from the page (rule 11): refused, flagged, the operator told.
"$CTL" request create g1-ovh-1 --by alice-ovh --billing carol-ovh >/dev/null
R5=$("$CTL" --json request list --state pending | jq '[.[] | select(.roles == ["billing"])][0].id')
L5=$(link_for "$R5" carol@example.org)
N5=$(nonce_of "$L5")
eq "the page's 'this wasn't me' button refuses and reports the request (303)" "303 refused true web" \
	"$(status "$L5" -H "Origin: null" -d "decision=report&nonce=$N5") $("$CTL" --json request show "$R5" |
		jq -r '"\(.state) \(.reported) \(.parties[] | select(.nic == "carol-ovh") | .via)"')"
eq "...and the operator is mailed at security_address" "1" "$(mails report "$R5" security@provider.example)"

# 9. SIGHUP reads the page templates again; a broken one keeps those in use.
sed -i 's|<h1>Unknown link</h1>|<h1>Unknown link (edited)</h1>|' "$T/tpl/en/page_error.html"
kill -HUP "$WEB_PID"
i=0
while [ $i -lt 50 ] && ! grep -q "SIGHUP: page templates read again" "$T/web.log"; do sleep 0.1; i=$((i + 1)); done
status "$UNKNOWN?lang=en" >/dev/null
grep -qF "Unknown link (edited)" "$T/b" && ok "after SIGHUP the edited template is used" ||
	nok "after SIGHUP the edited template is used" "$(tail -3 "$T/web.log")"
echo "{no_such_placeholder}" >>"$T/tpl/en/page_error.html"
kill -HUP "$WEB_PID"
i=0
while [ $i -lt 50 ] && ! grep -q "SIGHUP: keeping the page templates in use" "$T/web.log"; do sleep 0.1; i=$((i + 1)); done
eq "after SIGHUP with a broken template, pages are still served with the ones in use" "404 1" \
	"$(status "$UNKNOWN?lang=en") $(grep -c 'Unknown link (edited)' "$T/b")"
grep -q "keeping the page templates in use: .*no_such_placeholder" "$T/web.log" &&
	ok "the broken template is named in the log" || nok "the broken template is named in the log"

# 10. SIGTERM: a request in flight is answered and recorded, then the daemon exits cleanly.
NC=$(nonce_of "$LC")
eq "a POST in flight when SIGTERM arrives is answered (303)" 303 \
	"$($PROBE inflight "$PORT" "/v/$(basename "$LC")" "decision=accept&nonce=$NC" "$T/web.pid")"
wait "$WEB_PID"
rc=$?
eq "contact-web exits 0 after SIGTERM" 0 "$rc"
eq "the decision in flight was recorded" "accepted web" \
	"$("$CTL" --json request show 2 | jq -r '.parties[] | select(.nic == "carol-ovh") | "\(.decision) \(.via)"')"
sanitizer_clean && ok "no sanitizer report in contact-web's log" || nok "no sanitizer report in contact-web's log" \
	"$(grep -A20 -E 'Sanitizer|runtime error' "$T/web.log" | head -40)"
finish
