#!/bin/sh
# Two MX hosts on one PostgreSQL database: two private Postfix instances,
# each with its own contact-milter (its own socket, its own outbox worker),
# one throwaway cluster started here.  Both contacts of a request answer at
# the same instant, one through each host.  Then the faults: the database
# stopped with `pg_ctl stop -m immediate` mid-burst and started again, and a
# host's milter killed with kill -9 mid-burst; every 4xx answer is sent
# again later, as a sender's MTA would.
. tests/lib/common.sh
. tests/lib/postfix.sh
. tests/lib/pg.sh
MT="python3 $top/tests/lib/mailtool.py"
N=${TWO_MX_N:-50}   # requests answered at once through both hosts
NF=${TWO_MX_NF:-20} # requests per fault burst
cleanup_two() {
	PF_NAME=pf-a stop_postfix
	PF_NAME=pf-b stop_postfix
	cleanup
	pg_stop
}
trap cleanup_two EXIT
pg_start >"$T/pg-start.log" 2>&1 || { nok "a PostgreSQL cluster starts" "$(cat "$T/pg-start.log")"; finish; }
CM_STORE_URI=$(pg_createdb contacts)
SINK=$(free_port)
PORT_A=$(free_port)
PORT_B=$(free_port)
SMTP_PORT=$SINK BUSY=5s write_conf
CONF_A="$T/a.conf"
CONF_B="$T/b.conf"
sed "s|^socket = .*|socket = unix:$T/milter-a.sock|" "$CONF" >"$CONF_A"
sed "s|^socket = .*|socket = unix:$T/milter-b.sock|" "$CONF" >"$CONF_B"
cast
start_sink "$SINK"
# host_up A|B: that host's milter (start_milter reads $CONF), pid in MILTER_A/MILTER_B.
host_up() {
	eval "CONF=\$CONF_$1"
	start_milter || return 1
	eval "MILTER_$1=\$MILTER_PID"
}
check "host A: its milter starts on the shared database" host_up A
check "host B: its milter starts on the shared database" host_up B
PF_NAME=pf-a
check "host A: a private Postfix with milter A" start_postfix "$PORT_A" "$SINK" "unix:$T/milter-a.sock"
PF_NAME=pf-b
check "host B: a private Postfix with milter B" start_postfix "$PORT_B" "$SINK" "unix:$T/milter-b.sock"
CONF="$T/contact-milter.conf"

# make_requests FIRST LAST: one group per request (a role is in one open
# request at a time), alice hands the tech role to bob.
make_requests() {
	for i in $(seq "$1" "$2"); do
		"$CTL" group add "mx$i-ovh" --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null &&
			"$CTL" --json request create "mx$i-ovh" --by alice-ovh --tech bob-ovh | jq -r '.ids[0]'
	done
}
# plan FILE IDS...: for each request, alice's reply through host A and bob's
# through host B, written as their clients would (the validation mail,
# rendered with its token, quoted below the answer).
plan() {
	out=$1; shift
	"$CTL" --json outbox list >"$T/plan-outbox.json"
	for id in "$@"; do
		for who in alice:alice@example.com:$PORT_A bob:bob@example.net:$PORT_B; do
			nick=${who%%:*} rest=${who#*:}
			addr=${rest%%:*} port=${rest#*:}
			oid=$(jq --argjson r "$id" --arg a "$addr" \
				'[.[] | select(.request == $r and .to == $a and .kind == "validation")] | last | .id' \
				"$T/plan-outbox.json")
			"$CTL" outbox show "$oid" >"$T/v-$id-$nick.eml"
			echo "$id $nick $port $addr $T/v-$id-$nick.eml"
		done
	done >"$T/plan.in"
	python3 - "$top/tests/lib" "$T" "$T/plan.in" >"$out" <<'PY'
import io, sys
sys.path.insert(0, sys.argv[1])
import mailtool
for line in open(sys.argv[3]):
    rid, nick, port, addr, vpath = line.split()
    m = mailtool.load(vpath)
    tok = mailtool.re.search(r"validation\+([0-9A-Z]{26})@", str(m["Reply-To"] or "")).group(1)
    rcpt = "validation+%s@contacts.example.com" % tok
    rpath = "%s/r-%s-%s.eml" % (sys.argv[2], rid, nick)
    class Out:  # reply() writes the message to sys.stdout.buffer
        buffer = io.BytesIO()
    real, sys.stdout = sys.stdout, Out
    mailtool.reply("gmail-fr", vpath, addr, rcpt, "J'accepte", "r-%s-%s@clients.example" % (rid, nick))
    sys.stdout = real
    open(rpath, "wb").write(Out.buffer.getvalue())
    print(rid, nick, port, addr, rcpt, rpath)
PY
}
# burst PLAN RESULT: the two replies of each request sent at the same
# instant (a barrier before DATA's end), 8 requests at a time; RESULT gets
# "ID NICK CODE" per reply.
burst() {
	python3 - "$1" "$2" <<'PY'
import smtplib, sys, threading
from concurrent.futures import ThreadPoolExecutor
lines = [l.split() for l in open(sys.argv[1])]
pairs = {}
for l in lines:
    pairs.setdefault(l[0], []).append(l)
out = open(sys.argv[2], "w")
lock = threading.Lock()

def send(l, barrier):
    rid, nick, port, sender, rcpt, path = l
    code = 0
    try:
        s = smtplib.SMTP("127.0.0.1", int(port), timeout=60)
        s.ehlo("client.example.net")
        s.mail(sender)
        s.rcpt(rcpt)
        data = open(path, "rb").read()
        try:
            barrier.wait(10)
        except threading.BrokenBarrierError:
            pass
        code = s.data(data)[0]
        s.quit()
    except smtplib.SMTPResponseException as e:
        code = e.smtp_code
    except Exception:
        code = 0
    with lock:
        out.write("%s %s %d\n" % (rid, nick, code))
        out.flush()

def pair(ls):
    b = threading.Barrier(len(ls))
    ts = [threading.Thread(target=send, args=(l, b)) for l in ls]
    for t in ts: t.start()
    for t in ts: t.join()

with ThreadPoolExecutor(8) as ex:
    list(ex.map(pair, pairs.values()))
PY
}
# resend_4xx PLAN RESULT: each reply not answered 2xx is sent again, as its
# MTA would, until accepted (30 tries); RESULT gets the final codes.
resend_4xx() {
	tries=0
	while grep -qv ' 2[0-9][0-9]$' "$2" && [ $tries -lt 30 ]; do
		grep -v ' 2[0-9][0-9]$' "$2" | while read -r id nick code; do grep "^$id $nick " "$1"; done >"$T/again.plan"
		grep ' 2[0-9][0-9]$' "$2" >"$T/kept"
		sleep 1
		burst "$T/again.plan" "$T/again.res"
		cat "$T/kept" "$T/again.res" >"$2"
		tries=$((tries + 1))
	done
}
# recorded IDS...: per request, "ID state accepted-decisions accepted-audit done-audit"
# where all is as it should be, one line per request that is not.
not_recorded_once() {
	for id in "$@"; do
		got=$(db_sql "SELECT r.state || ' ' || (SELECT COUNT(*) FROM parties p WHERE p.request_id = r.id
			AND p.decision = 'accepted' AND p.via = 'email') || ' ' || (SELECT COUNT(*) FROM audit a
			WHERE a.request_id = r.id AND a.action = 'accepted') || ' ' || (SELECT COUNT(*) FROM audit a
			WHERE a.request_id = r.id AND a.action = 'done') || ' ' || (SELECT COUNT(*) FROM replies x
			WHERE x.request_id = r.id) FROM requests r WHERE r.id = $id")
		[ "$got" = "done 2 2 1 2" ] || echo "request $id: $got"
	done
}
# mid_burst RESULT: until a few replies of the burst have been answered.
mid_burst() {
	i=0
	while [ $i -lt 200 ] && [ "$(cat "$1" 2>/dev/null | wc -l)" -lt 6 ]; do sleep 0.05; i=$((i + 1)); done
}
# outbox_idle: until nothing is queued or being sent (60 s at most).
outbox_idle() {
	i=0
	while [ $i -lt 600 ]; do
		[ "$(db_sql "SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'sending')")" = 0 ] && return 0
		sleep 0.1; i=$((i + 1))
	done
	return 1
}

# --- 1. N requests, both replies at once through the two hosts ---
IDS=$(make_requests 1 "$N" | xargs)
eq "$N requests created on the shared database" "$N" "$(echo "$IDS" | wc -w)"
plan "$T/p1.plan" $IDS
burst "$T/p1.plan" "$T/p1.res"
eq "all $((2 * N)) replies, two at a time per request through both hosts, answered 250" "$((2 * N))" \
	"$(grep -c ' 250$' "$T/p1.res")"
eq "every request is done exactly once: both acceptances recorded by e-mail, one audit line per decision, one 'done'" \
	"" "$(not_recorded_once $IDS)"
eq "each group changed once: bob is the tech contact of all $N" "$N" \
	"$(db_sql "SELECT COUNT(*) FROM groups WHERE name LIKE 'mx%' AND tech = 'bob-ovh'")"
# The same replies again (a sender's MTA retrying after a lost answer): duplicates, 250, nothing new.
head -8 "$T/p1.plan" >"$T/dup.plan"
burst "$T/dup.plan" "$T/dup.res"
eq "8 replies delivered a second time through the same hosts: 250 each" "8" "$(grep -c ' 250$' "$T/dup.res")"
eq "...and nothing is recorded twice" "" "$(not_recorded_once $IDS)"

# --- 2. the database stopped (-m immediate) during a burst, then started again ---
F1=$(make_requests $((N + 1)) $((N + NF)) | xargs)
plan "$T/p2.plan" $F1
burst "$T/p2.plan" "$T/p2.res" &
bp=$!
mid_burst "$T/p2.res"
pg_crash
sleep 1
pg_restart >/dev/null 2>&1
wait $bp
n4=$(grep -vc ' 2[0-9][0-9]$' "$T/p2.res")
ok "database crash mid-burst: $((2 * NF - n4)) replies answered 2xx, $n4 answered 4xx (or cut) before the restart"
resend_4xx "$T/p2.plan" "$T/p2.res"
eq "once it is back, every reply answered 4xx is accepted when sent again" "$((2 * NF))" \
	"$(grep -c ' 2[0-9][0-9]$' "$T/p2.res")"
eq "every reply seen accepted is recorded, each exactly once (decisions, audit, done, replies)" "" \
	"$(not_recorded_once $F1)"
# The database down between bursts: the CLI and a reply are told to try later.
F0=$(make_requests 999 999)
plan "$T/p0.plan" $F0
pg_crash
expect "contactctl with the database down exits 4 with a clear message" 4 "cannot connect to the PostgreSQL store" \
	"$CTL" request list
grep ' bob ' "$T/p0.plan" >"$T/p0b.plan"
burst "$T/p0b.plan" "$T/p0.res"
eq "a reply while the database is down: 451 from host B (its milter stays up)" "451" "$(cut -d' ' -f3 "$T/p0.res")"
check "...and milter B is still running" kill -0 "$MILTER_B"
printf 'From: <a@example.net>\r\nTo: <someone@example.org>\r\nSubject: hello\r\nMessage-ID: <plain-1@example.net>\r\n\r\nhello\r\n' >"$T/plain.eml"
run $MT send "$PORT_B" a@example.net someone@example.org <"$T/plain.eml"
eq "ordinary mail through host B while the database is down: accepted (250)" "250" "$(echo "$OUT" | cut -c1-3)"
kill -TERM "$MILTER_B" 2>/dev/null
wait "$MILTER_B" 2>/dev/null
check "milter B started again while the database is down starts all the same" host_up B
burst "$T/p0b.plan" "$T/p0.res"
eq "...and answers a reply 451 until the database is back" "451" "$(cut -d' ' -f3 "$T/p0.res")"
pg_restart >/dev/null 2>&1
burst "$T/p0b.plan" "$T/p0.res"
eq "the database back, the same reply goes through host B without a restart" "250" "$(cut -d' ' -f3 "$T/p0.res")"

# --- 3. host A's milter killed with kill -9 during a burst ---
F2=$(make_requests $((N + NF + 1)) $((N + 2 * NF)) | xargs)
plan "$T/p3.plan" $F2
burst "$T/p3.plan" "$T/p3.res" &
bp=$!
mid_burst "$T/p3.res"
kill -9 "$MILTER_A"
wait "$MILTER_A" 2>/dev/null
wait $bp
n4=$(grep -vc ' 2[0-9][0-9]$' "$T/p3.res")
ok "milter A killed mid-burst: $n4 replies answered 4xx (or cut)"
check "milter A starts again over its stale socket" host_up A
resend_4xx "$T/p3.plan" "$T/p3.res"
eq "every reply answered 4xx is accepted when sent again" "$((2 * NF))" "$(grep -c ' 2[0-9][0-9]$' "$T/p3.res")"
eq "every reply seen accepted is recorded, each exactly once" "" "$(not_recorded_once $F2)"

# --- 3b. both hosts sweep at once: each request expired once ---
NE=10
sed "s|^request_ttl = .*|request_ttl = 1s|" "$CONF" >"$T/short.conf"
export CONTACT_MILTER_CONF="$T/short.conf"
EXP=$(make_requests 3001 $((3000 + NE)) | xargs)
export CONTACT_MILTER_CONF="$CONF"
sleep 2
sweeps=""
for k in 1 2; do
	"$CTL" -c "$CONF_A" expire >/dev/null 2>&1 &
	sweeps="$sweeps $!"
	"$CTL" -c "$CONF_B" expire >/dev/null 2>&1 &
	sweeps="$sweeps $!"
done
for p in $sweeps; do wait "$p"; done
bad=""
for id in $EXP; do
	got=$(db_sql "SELECT r.state || ' ' || (SELECT COUNT(*) FROM audit a WHERE a.request_id = r.id AND a.action = 'expired')
		|| ' ' || (SELECT COUNT(*) FROM outbox o WHERE o.request_id = r.id AND o.kind = 'expired') FROM requests r WHERE r.id = $id")
	[ "$got" = "expired 1 2" ] || bad="$bad request $id: $got;"
done
eq "4 sweeps on the two hosts at once: each of $NE requests expired once, one audit line, one mail per contact" "" "$bad"

# --- 4. what the contacts received, counted in the SMTP sink ---
check "both hosts' outbox workers send everything" outbox_idle
sleep 2
ALL="$IDS $F1 $F2"
"$CTL" --json outbox list >"$T/outbox.json"
# Each sink file names its outbox item in its Message-Id: cm.ID.RANDOM@domain.
grep -hi -m1 '^Message-Id:' "$T"/sink/* | sed -n 's/^[^<]*<cm\.\([0-9]*\)\..*/\1/p' >"$T/sent.ids"
eq "no mail was sent twice by the two outbox workers" "$(wc -l <"$T/sent.ids")" "$(sort -u "$T/sent.ids" | wc -l)"
eq "every mail the store marks sent is in the sink" \
	"$(jq '[.[] | select(.state == "sent")] | length' "$T/outbox.json")" "$(wc -l <"$T/sent.ids")"
# Done mails received per request and contact: exactly one each.
jq -r '.[] | select(.kind == "done") | "\(.id) \(.request) \(.to)"' "$T/outbox.json" | sort -k1,1 >"$T/done.items"
sort -u "$T/sent.ids" | join - "$T/done.items" | awk '{print $2, $3}' | sort | uniq -c >"$T/done.count"
bad=""
for id in $ALL; do
	for a in alice@example.com bob@example.net; do
		n=$(awk -v r="$id" -v a="$a" '$2 == r && $3 == a {print $1}' "$T/done.count")
		[ "${n:-0}" = 1 ] || bad="$bad $id:$a:${n:-0}"
	done
done
eq "each contact of each of the $((N + 2 * NF)) requests received exactly one confirmation" "" "$bad"
finish
