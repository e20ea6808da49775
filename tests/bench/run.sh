#!/bin/sh
# make bench: every figure a ratio against a baseline measured in this run,
# on this machine; absolute figures beside them.  A benchmark, not a test:
# it prints a table, writes build/bench.json and exits 0.
# BENCH_QUICK=1 runs a smaller version.
set -u
BUILD=${BUILD:-build}
export BUILD
. tests/lib/common.sh
. tests/lib/postfix.sh
B="$top/$BUILD/bench"
LOAD="python3 $top/tests/bench/load.py"
RES="$T/results"
: >"$RES"
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ORD=300 ROUNDS=3 REPLIES=120 SMALL=10000 BIG=50000 DECIDE=200 OUTBOX=200 RSS_N=1200 CONC=1000
	WEB_SECS=3 WEB_N=300 WEB_POST=200
else
	ORD=2000 ROUNDS=3 REPLIES=1000 SMALL=10000 BIG=1000000 DECIDE=1000 OUTBOX=1000 RSS_N=10000 CONC=2000
	WEB_SECS=10 WEB_N=2000 WEB_POST=1000
fi
say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
put() { echo "$1=$2" >>"$RES"; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stop_all() {
	for n in pf-none pf-ref pf-cm pf-eom pf-disc pf-cmd pf-mx1 pf-mx2; do PF_NAME=$n stop_postfix; done
	cleanup
}
trap stop_all EXIT

SINK=$(free_port)
mkdir -p "$T/sinkq"
chown postfix "$T/sinkq"
smtp-sink -u postfix 127.0.0.1:"$SINK" 1000 >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_port "$SINK"
SMTP_PORT=$SINK BUSY=30s write_conf
"$CTL" init >/dev/null

"$B/ref_milter" -p "unix:$T/ref-data.sock" -m data 2>/dev/null &
PIDS="$PIDS $!"
"$B/ref_milter" -p "unix:$T/ref-eom.sock" -m eom 2>/dev/null &
PIDS="$PIDS $!"
"$B/ref_milter" -p "unix:$T/ref-discard.sock" -m discard 2>/dev/null &
PIDS="$PIDS $!"
start_milter || { echo "bench: contact-milter did not start" >&2; exit 0; }
MILTER_PID_BENCH=$MILTER_PID
# A second contact-milter on the same store, configured to deliver recorded
# replies (on_processed = deliver), to compare like for like with the
# reference that accepts; the first one keeps the default (discard).
sed -e 's/^on_processed = .*/on_processed = deliver/' -e "s|^socket = .*|socket = unix:$T/milter-deliver.sock|" \
	"$CONF" >"$T/deliver.conf"
# shellcheck disable=SC2046
"$MILTER" -f -c "$T/deliver.conf" $(milter_as "$T/deliver.conf") 2>>"$T/milter-deliver.log" &
DELIVER_PID=$!
PIDS="$PIDS $DELIVER_PID"
for n in none ref cm eom disc cmd; do
	port=$(free_port)
	eval "PORT_$n=$port"
	case $n in
	none) sock="" ;;
	ref) sock="unix:$T/ref-data.sock" ;;
	eom) sock="unix:$T/ref-eom.sock" ;;
	disc) sock="unix:$T/ref-discard.sock" ;;
	cm) sock="unix:$T/milter.sock" ;;
	cmd) sock="unix:$T/milter-deliver.sock" ;;
	esac
	[ "$n" = cmd ] && wait_unix "$T/milter-deliver.sock"
	PF_NAME=pf-$n start_postfix "$port" "$SINK" "$sock" >/dev/null || { echo "bench: Postfix $n did not start" >&2; exit 0; }
done
qwait() { # wait until the instance's queue is empty (30 s at most)
	i=0
	while [ $i -lt 300 ] && [ -n "$(find "$T/pf-$1/queue/active" "$T/pf-$1/queue/incoming" "$T/pf-$1/queue/deferred" -type f 2>/dev/null | head -1)" ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# 1. ordinary mail through Postfix: no milter, the reference milter, ours
say "1. ordinary mail: $ROUNDS interleaved rounds of $ORD messages per configuration"
for r in $(seq 1 "$ROUNDS"); do
	for n in none ref cm; do
		eval "port=\$PORT_$n"
		t0=$(now)
		smtp-source -s 10 -m "$ORD" -l 2048 -f sender@bench.example.net -t someone@example.org 127.0.0.1:"$port"
		t1=$(now)
		echo "$ORD $t0 $t1" | awk '{printf "%.2f\n", $1 / ($3 - $2)}' >>"$T/ord_$n"
		qwait "$n"
	done
done
for n in none ref cm; do put "ord_rate_$n" "$(median <"$T/ord_$n")"; done

# 2. validation replies: each a real reply to a pending request.  Postfix
# handles a milter's "discard" far more slowly than an "accept" (a trivial
# milter shows it), so each final action is compared with its own kind:
# contact-milter delivering vs the reference accepting (the target), and
# contact-milter discarding (its default) vs the reference discarding.
say "2. replies: $ROUNDS rounds of $REPLIES replies per configuration"
for r in $(seq 1 "$ROUNDS"); do
	"$B/bench_tool" setup "$CONF" "$REPLIES" "$T/replies_$r.tsv" 2>/dev/null
	"$B/bench_tool" setup "$CONF" "$REPLIES" "$T/replies_d_$r.tsv" 2>/dev/null
done
for r in $(seq 1 "$ROUNDS"); do
	for n in eom cmd disc cm; do
		eval "port=\$PORT_$n"
		f="$T/replies_$r.tsv"
		[ "$n" = cmd ] && f="$T/replies_d_$r.tsv"
		set -- $($LOAD replies "$port" "$f" 10)
		echo "$1 $3" | awk '{printf "%.2f\n", $1 / $2}' >>"$T/rep_$n"
		qwait "$n"
	done
done
for n in eom cmd disc cm; do put "rep_rate_$n" "$(median <"$T/rep_$n")"; done
put rep_sent $((2 * ROUNDS * REPLIES))
put rep_recorded "$(sqlite3 "$T/contacts.db" "SELECT COUNT(*) FROM parties WHERE via = 'email' AND decision = 'accepted'")"
put rep_waiting_queued "$(sqlite3 "$T/contacts.db" "SELECT COUNT(*) FROM outbox WHERE kind = 'waiting'")"

# 5. memory: 50 concurrent sessions, then many replies
say "5. memory: 50 concurrent SMTP sessions, then $RSS_N replies"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$MILTER_PID_BENCH/status"; }
hwm() { awk '/^VmHWM/ {print $2}' "/proc/$MILTER_PID_BENCH/status"; }
"$B/bench_tool" setup "$CONF" "$RSS_N" "$T/rss.tsv" 2>/dev/null
put rss_idle_kb "$(rss)"
$LOAD hold "$PORT_cm" 50 4 >"$T/hold.out" &
hold_pid=$!
i=0
while [ $i -lt 100 ] && ! grep -q holding "$T/hold.out"; do sleep 0.1; i=$((i + 1)); done
sleep 1
put rss_50_sessions_kb "$(rss)"
wait $hold_pid
head -n 1000 "$T/rss.tsv" >"$T/rss_warm.tsv"
tail -n +1001 "$T/rss.tsv" >"$T/rss_rest.tsv"
$LOAD replies "$PORT_cm" "$T/rss_warm.tsv" 10 >/dev/null
put rss_after_1000_kb "$(rss)"
$LOAD replies "$PORT_cm" "$T/rss_rest.tsv" 10 >/dev/null
put rss_after_all_kb "$(rss)"
put rss_peak_kb "$(hwm)"
put rss_replies "$RSS_N"

# 4. outbox delivery against smtp-source to the same sink
say "4. outbox: $((OUTBOX * 2)) queued mails, outbox deliver vs smtp-source, one SMTP session each"
stop_milter
kill -TERM "$DELIVER_PID" 2>/dev/null
wait "$DELIVER_PID" 2>/dev/null
sqlite3 "$T/contacts.db" "UPDATE outbox SET state = 'sent' WHERE state IN ('queued', 'sending')"
"$B/bench_tool" setup "$CONF" "$OUTBOX" "$T/outbox.tsv" 2>/dev/null
n_out=$(sqlite3 "$T/contacts.db" "SELECT COUNT(*) FROM outbox WHERE state = 'queued'")
size=$(sqlite3 "$T/contacts.db" "SELECT CAST(AVG(LENGTH(message)) AS INTEGER) FROM outbox WHERE state = 'queued'")
t0=$(now)
"$CTL" outbox deliver --once >/dev/null
t1=$(now)
put out_rate "$(echo "$n_out $t0 $t1" | awk '{printf "%.2f", $1 / ($3 - $2)}')"
put out_sent "$(sqlite3 "$T/contacts.db" "SELECT COUNT(*) FROM outbox WHERE state = 'sent'")"
t0=$(now)
smtp-source -s 1 -m "$n_out" -l "$size" -f sender@bench.example.net -t someone@example.org 127.0.0.1:"$SINK"
t1=$(now)
put src_rate "$(echo "$n_out $t0 $t1" | awk '{printf "%.2f", $1 / ($3 - $2)}')"
put out_n "$n_out"
put out_size "$size"

# 3. core decisions without Postfix, on a small and a big store
say "3. core decisions: stores of $SMALL and $BIG requests, $DECIDE replies each, two rounds"
for size_name in small big; do
	eval "n=\$$(echo $size_name | tr a-z A-Z)"
	mkdir -p "$T/$size_name"
	sed "s|^path = .*|path = $T/$size_name/contacts.db|" "$CONF" >"$T/$size_name.conf"
	"$B/bench_tool" filler "$T/$size_name.conf" "$n" 2>/dev/null
done
for r in 1 2; do
	for size_name in small big; do
		"$B/bench_tool" setup "$T/$size_name.conf" "$DECIDE" "$T/dec_${size_name}_$r.tsv" 2>/dev/null
		set -- $("$B/bench_tool" decide "$T/$size_name.conf" "$T/dec_${size_name}_$r.tsv" 2>/dev/null)
		echo "$3 $1" | awk '{printf "%.6f\n", $1 / $2}' >>"$T/dec_$size_name"
	done
done
put dec_s_small "$(median <"$T/dec_small")"
put dec_s_big "$(median <"$T/dec_big")"
put dec_small_n "$SMALL"
put dec_big_n "$BIG"

# 6. the page behind the link: contact-web against libmicrohttpd serving a
# static page of the same size, same thread pool, same load (wrk); then
# decisions through the page's form.
say "6. page: GET for ${WEB_SECS}s x $ROUNDS rounds against a static page; $WEB_POST decisions through the form"
WPORT=$(free_port)
RPORT=$(free_port)
"$B/bench_tool" setup "$CONF" "$WEB_N" "$T/web.tsv" 2>/dev/null
sed -e "/^validate_url = /d" "$CONF" >"$T/web.conf"
printf '[web]\nlisten = 127.0.0.1:%s\nbase_url = http://127.0.0.1:%s\n' "$WPORT" "$WPORT" >>"$T/web.conf"
chown nobody "$T" "$T"/contacts.db*
"$top/$BUILD/contact-web" -f -u nobody -c "$T/web.conf" 2>>"$T/web.log" &
PIDS="$PIDS $!"
wait_port "$WPORT" || { echo "bench: contact-web did not start" >&2; exit 0; }
cut -f3 "$T/web.tsv" | sed 's|^|/v/|' >"$T/web_paths"
curl -s -o "$T/page.html" "http://127.0.0.1:$WPORT$(head -n 1 "$T/web_paths")"
"$B/ref_web" "$RPORT" "$T/page.html" 8 &
PIDS="$PIDS $!"
wait_port "$RPORT"
wrk_rate() { # URL: requests a second, with no error answer counted
	WEB_PATHS="$T/web_paths" wrk -t 2 -c 16 -d "${WEB_SECS}s" -s "$top/tests/bench/web_paths.lua" "$1" 2>/dev/null |
		awk '/^Requests\/sec/ {r = $2} /Non-2xx/ {bad = $NF} END {print (bad ? 0 : r)}'
}
printf '/\n' >"$T/ref_paths"
for r in $(seq 1 "$ROUNDS"); do
	wrk_rate "http://127.0.0.1:$WPORT" >>"$T/web_get"
	WEB_PATHS="$T/ref_paths" wrk -t 2 -c 16 -d "${WEB_SECS}s" "http://127.0.0.1:$RPORT/" 2>/dev/null |
		awk '/^Requests\/sec/ {print $2}' >>"$T/ref_get"
done
put web_get_rate "$(median <"$T/web_get")"
put ref_get_rate "$(median <"$T/ref_get")"
put web_page_bytes "$(wc -c <"$T/page.html")"
# Decisions: each POST is one durable commit (and a queued mail).
cut -f5 "$T/web.tsv" | head -n "$WEB_POST" >"$T/web_post"
set -- $(python3 "$top/tests/bench/web_load.py" post "$WPORT" "$T/web_post" 8)
put web_post_n "$2"
put web_post_rate "$(echo "$2 $3" | awk '{printf "%.2f", $1 / $2}')"
put web_post_recorded "$(sqlite3 "$T/contacts.db" "SELECT COUNT(*) FROM parties WHERE via = 'web'")"
# 7. one PostgreSQL database for several MX hosts, beside SQLite: durable
# decisions a second with 1 and 8 concurrent clients (processes with a
# connection each) on each backend, and the time per decision on a big
# store against a small one.  A throwaway cluster, as in the tests.
. tests/lib/pg.sh
# with_store URI OUT: the bench's config with its store at URI (sed-safe: URIs hold '&').
with_store() { sed "s|^path = .*|path = $(printf '%s' "$1" | sed 's/[&|\\]/\\&/g')|" "$CONF" >"$2"; }
say "7. PostgreSQL: $CONC decisions by 1 and 8 clients on each backend; stores of $SMALL and $BIG requests"
if pg_start >"$T/pg.log" 2>&1; then
	trap 'stop_all; pg_stop' EXIT
	for be in sqlite pg; do
		for k in 1 8; do
			if [ "$be" = pg ]; then
				uri=$(pg_createdb "conc_$k")
			else
				mkdir -p "$T/conc_$k"
				uri="$T/conc_$k/contacts.db"
			fi
			with_store "$uri" "$T/conc_${be}_$k.conf"
			"$B/bench_tool" setup "$T/conc_${be}_$k.conf" "$CONC" "$T/conc_${be}_$k.tsv" 2>/dev/null
			set -- $("$B/bench_tool" decide_par "$T/conc_${be}_$k.conf" "$T/conc_${be}_$k.tsv" "$k" 2>/dev/null)
			put "conc_rate_${be}_$k" "$(echo "${2:-0} ${3:-1}" | awk '{printf "%.2f", $1 / $2}')"
		done
	done
	for size_name in small big; do
		eval "n=\$$(echo $size_name | tr a-z A-Z)"
		uri=$(pg_createdb "pg_$size_name")
		with_store "$uri" "$T/pg_$size_name.conf"
		"$B/bench_tool" filler "$T/pg_$size_name.conf" "$n" 2>/dev/null
	done
	for r in 1 2; do
		for size_name in small big; do
			"$B/bench_tool" setup "$T/pg_$size_name.conf" "$DECIDE" "$T/pgdec_${size_name}_$r.tsv" 2>/dev/null
			set -- $("$B/bench_tool" decide "$T/pg_$size_name.conf" "$T/pgdec_${size_name}_$r.tsv" 2>/dev/null)
			echo "$3 $1" | awk '{printf "%.6f\n", $1 / $2}' >>"$T/pgdec_$size_name"
		done
	done
	put dec_pg_s_small "$(median <"$T/pgdec_small")"
	put dec_pg_s_big "$(median <"$T/pgdec_big")"

	# Replies through Postfix on one database: one MX host (Postfix and
	# contact-milter) taking them all, against two taking half each.
	uri=$(pg_createdb mx)
	mx_pids=""
	for h in 1 2; do
		with_store "$uri" "$T/mx$h.tmp"
		sed "s|^socket = .*|socket = unix:$T/milter-mx$h.sock|" "$T/mx$h.tmp" >"$T/mx$h.conf"
		"$MILTER" -f -c "$T/mx$h.conf" $(milter_as "$T/mx$h.conf") 2>>"$T/milter-mx.log" &
		mx_pids="$mx_pids $!"
		wait_unix "$T/milter-mx$h.sock"
		port=$(free_port)
		eval "PORT_mx$h=$port"
		PF_NAME=pf-mx$h start_postfix "$port" "$SINK" "unix:$T/milter-mx$h.sock" >/dev/null
	done
	PIDS="$PIDS $mx_pids"
	for r in $(seq 1 "$ROUNDS"); do
		"$B/bench_tool" setup "$T/mx1.conf" "$REPLIES" "$T/mx_one_$r.tsv" 2>/dev/null
		"$B/bench_tool" setup "$T/mx1.conf" "$REPLIES" "$T/mx_two_$r.tsv" 2>/dev/null
		set -- $($LOAD replies "$PORT_mx1" "$T/mx_one_$r.tsv" 10)
		echo "$2 $3" | awk '{printf "%.2f\n", $1 / $2}' >>"$T/mx_one"
		qwait mx1
		awk 'NR % 2 == 1' "$T/mx_two_$r.tsv" >"$T/mx_two_a.tsv"
		awk 'NR % 2 == 0' "$T/mx_two_$r.tsv" >"$T/mx_two_b.tsv"
		t0=$(now)
		$LOAD replies "$PORT_mx1" "$T/mx_two_a.tsv" 5 >"$T/mx_a.out" &
		la=$!
		$LOAD replies "$PORT_mx2" "$T/mx_two_b.tsv" 5 >"$T/mx_b.out"
		wait $la
		t1=$(now)
		cat "$T/mx_a.out" "$T/mx_b.out" | awk -v t="$t0 $t1" '{n += $2} END {split(t, a, " "); printf "%.2f\n", n / (a[2] - a[1])}' >>"$T/mx_two"
		qwait mx1
		qwait mx2
	done
	put rep_rate_pg_one "$(median <"$T/mx_one")"
	put rep_rate_pg_two "$(median <"$T/mx_two")"
	put rep_pg_recorded "$(pg_psql "$uri" "SELECT COUNT(*) FROM parties WHERE via = 'email' AND decision = 'accepted'")"
	PF_NAME=pf-mx1 stop_postfix
	PF_NAME=pf-mx2 stop_postfix
	for p in $mx_pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	pg_stop
else
	say "PostgreSQL did not start: $(tail -3 "$T/pg.log")"
fi

say "report"
python3 "$top/tests/bench/report.py" "$RES" "$top/$BUILD/bench.json"
exit 0
