#!/bin/sh
# make bench: every figure a ratio against a baseline measured in this run,
# on this machine; absolute figures beside them.  A benchmark, not a test:
# it prints a table, writes build/bench.json and exits 0.
# BENCH_QUICK=1 runs a smaller version; BENCH_ONLY="1 2 3" runs only those
# sections (the table shows the others as skipped); ORD_ROUNDS and
# REP_ROUNDS set the rounds of sections 1 and 2.
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
	ORD=1000 ORD_ROUNDS=${ORD_ROUNDS:-5} ROUNDS=3 REP_ROUNDS=${REP_ROUNDS:-5} REPLIES=300 SMALL=10000 BIG=50000 DECIDE=200 OUTBOX=200 RSS_N=1200 CONC=1000
	WEB_SECS=3 WEB_N=300 WEB_POST=200
else
	ORD=2000 ORD_ROUNDS=${ORD_ROUNDS:-7} ROUNDS=3 REP_ROUNDS=${REP_ROUNDS:-5} REPLIES=1000 SMALL=10000 BIG=1000000 DECIDE=1000 OUTBOX=1000 RSS_N=10000 CONC=2000
	WEB_SECS=10 WEB_N=2000 WEB_POST=1000
fi
say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
put() { echo "$1=$2" >>"$RES"; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# spread FILE: "median min max" of its numbers (nothing when it is empty).
spread() { sort -g "$1" 2>/dev/null | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)], a[1], a[NR]}'; }
# put_spread KEY FILE: KEY, KEY_min and KEY_max.
put_spread() {
	set -- "$1" $(spread "$2")
	[ $# = 4 ] || return 0
	put "$1" "$2"
	put "$1_min" "$3"
	put "$1_max" "$4"
}
# rotate R WORD...: the words turned left R times, so that across rounds
# each configuration runs first, second and last in turn.
rotate() {
	k=$(($1 % ($# - 1)))
	shift
	while [ "$k" -gt 0 ]; do
		w=$1
		shift
		set -- "$@" "$w"
		k=$((k - 1))
	done
	echo "$@"
}
want() { [ -z "${BENCH_ONLY:-}" ] || case " $BENCH_ONLY " in *" $1 "*) true ;; *) false ;; esac; }
# busy_ticks: the CPU time of the whole machine, all cores, that was not
# idle, in ticks.
busy_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
# cpu_ticks PID: user and system CPU of the process, all threads, in ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# mark_sent DB: every queued mail of the SQLite store marked sent, as another
# host's worker would have done (keeps the queue as small as in production).
mark_sent() { sqlite3 "$1" "UPDATE outbox SET state = 'sent' WHERE state IN ('queued', 'sending')" 2>/dev/null; }
# owait DB: until the store has no mail queued or being sent (30 s at most).
owait() {
	i=0
	while [ $i -lt 600 ] &&
		[ "$(sqlite3 "$1" "SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'sending')" 2>/dev/null)" != 0 ]; do
		sleep 0.05; i=$((i + 1))
	done
}
stop_all() {
	for n in pf-none pf-ref pf-cm pf-eom pf-dur pf-disc pf-cmd pf-cmw pf-mx1 pf-mx2; do PF_NAME=$n stop_postfix; done
	cleanup
}
trap stop_all EXIT

SINK=$(free_port)
mkdir -p "$T/sinkq"
chown postfix "$T/sinkq"
smtp-sink -u postfix 127.0.0.1:"$SINK" 1000 >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_port "$SINK"
# The milters measured against a reference run without their outbox worker:
# the reference sends nothing, and the follow-up mails they queue wait, as
# they would for another host's worker (milter.outbox_worker = no).
SMTP_PORT=$SINK BUSY=30s OUTBOX_WORKER=no write_conf
"$CTL" init >/dev/null

"$B/ref_milter" -p "unix:$T/ref-data.sock" -m data 2>/dev/null &
PIDS="$PIDS $!"
"$B/ref_milter" -p "unix:$T/ref-eom.sock" -m eom 2>/dev/null &
PIDS="$PIDS $!"
"$B/ref_milter" -p "unix:$T/ref-discard.sock" -m discard 2>/dev/null &
PIDS="$PIDS $!"
# The floor of a durable answer: read all, append a line to a file on the
# stores' file system and sync it (grouped) before accepting.
"$B/ref_milter" -p "unix:$T/ref-durable.sock" -m durable -f "$T/durable.log" 2>/dev/null &
PIDS="$PIDS $!"
start_milter || { echo "bench: contact-milter did not start" >&2; exit 0; }
# A second contact-milter, configured to deliver recorded replies
# (on_processed = deliver), to compare like for like with the reference that
# accepts; the first one keeps the default (discard).  On a store of its own,
# as the third one below: the two differ only by the worker.
mkdir -p "$T/d"
sed -e 's/^on_processed = .*/on_processed = deliver/' -e "s|^socket = .*|socket = unix:$T/milter-deliver.sock|" \
	-e "s|^path = .*|path = $T/d/contacts.db|" "$CONF" >"$T/deliver.conf"
# shellcheck disable=SC2046
"$MILTER" -f -c "$T/deliver.conf" $(milter_as "$T/deliver.conf") 2>>"$T/milter-deliver.log" &
DELIVER_PID=$!
PIDS="$PIDS $DELIVER_PID"
# A third one, delivering, with its outbox worker sending to the sink, on a
# store of its own (its worker sends only its own follow-up mails): the
# whole cost of an answered request.  Started once its store is filled
# (start_cmw).
mkdir -p "$T/w"
sed -e 's/^on_processed = .*/on_processed = deliver/' -e 's/^outbox_worker = .*/outbox_worker = yes/' \
	-e "s|^socket = .*|socket = unix:$T/milter-worker.sock|" -e "s|^path = .*|path = $T/w/contacts.db|" \
	"$CONF" >"$T/worker.conf"
CMW_PID=""
start_cmw() {
	[ -z "$CMW_PID" ] || return 0
	# shellcheck disable=SC2046
	"$MILTER" -f -c "$T/worker.conf" $(milter_as "$T/worker.conf") 2>>"$T/milter-worker.log" &
	CMW_PID=$!
	PIDS="$PIDS $CMW_PID"
	wait_unix "$T/milter-worker.sock"
}
for n in none ref cm eom dur disc cmd cmw; do
	port=$(free_port)
	eval "PORT_$n=$port"
	case $n in
	none) sock="" ;;
	ref) sock="unix:$T/ref-data.sock" ;;
	eom) sock="unix:$T/ref-eom.sock" ;;
	dur) sock="unix:$T/ref-durable.sock" ;;
	disc) sock="unix:$T/ref-discard.sock" ;;
	cm) sock="unix:$T/milter.sock" ;;
	cmd) sock="unix:$T/milter-deliver.sock" ;;
	cmw) sock="unix:$T/milter-worker.sock" ;;
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

# 1. ordinary mail through Postfix: no milter, the reference milter, ours.
# The figure is the median of the per-round ratios contact-milter /
# reference, each pair measured in the same round: the machine is shared and
# its load drifts during a run; a paired ratio cancels what slows both
# configurations of a round alike, and the median then drops an odd round,
# where a ratio of medians could set a fast round of one against a slow
# round of the other.  The order turns each round: none runs first always.
if want 1; then
	say "1. ordinary mail: $ORD_ROUNDS interleaved rounds of $ORD messages per configuration"
	for r in $(seq 1 "$ORD_ROUNDS"); do
		for n in $(rotate "$r" none ref cm); do
			eval "port=\$PORT_$n"
			t0=$(now)
			smtp-source -s 10 -m "$ORD" -l 2048 -f sender@bench.example.net -t someone@example.org 127.0.0.1:"$port"
			t1=$(now)
			echo "$ORD $t0 $t1" | awk '{printf "%.2f\n", $1 / ($3 - $2)}' >"$T/ord_${n}_r"
			cat "$T/ord_${n}_r" >>"$T/ord_$n"
			qwait "$n"
		done
		paste "$T/ord_cm_r" "$T/ord_ref_r" | awk '{printf "%.4f\n", $1 / $2}' >>"$T/ord_ratio"
		say "round $r ($(rotate "$r" none ref cm)): none $(cat "$T/ord_none_r"), ref $(cat "$T/ord_ref_r"), cm $(cat "$T/ord_cm_r") msg/s"
	done
	for n in none ref cm; do put "ord_rate_$n" "$(median <"$T/ord_$n")"; done
	put_spread ord_ratio "$T/ord_ratio"
	put ord_rounds "$ORD_ROUNDS"
fi

# 5. memory: 50 concurrent sessions, then many replies, through the
# contact-milter as deployed by default: delivering, its worker sending.
# Before section 2, on a fresh process: after section 2's replies its RSS
# settled lower and climbed back over the 10,000 replies (0.245 "growth" in
# a full run, 0.007 in the same run on a fresh process, ~49 MB at the end of
# both).
if want 5; then
	say "5. memory: 50 concurrent SMTP sessions, then $RSS_N replies"
	"$B/bench_tool" setup "$T/worker.conf" "$RSS_N" "$T/rss.tsv" 2>/dev/null
	mark_sent "$T/w/contacts.db"
	start_cmw
	rss() { awk '/^VmRSS/ {print $2}' "/proc/$CMW_PID/status"; }
	hwm() { awk '/^VmHWM/ {print $2}' "/proc/$CMW_PID/status"; }
	put rss_idle_kb "$(rss)"
	$LOAD hold "$PORT_cmw" 50 4 >"$T/hold.out" &
	hold_pid=$!
	i=0
	while [ $i -lt 100 ] && ! grep -q holding "$T/hold.out"; do sleep 0.1; i=$((i + 1)); done
	sleep 1
	put rss_50_sessions_kb "$(rss)"
	wait $hold_pid
	head -n 1000 "$T/rss.tsv" >"$T/rss_warm.tsv"
	tail -n +1001 "$T/rss.tsv" >"$T/rss_rest.tsv"
	$LOAD replies "$PORT_cmw" "$T/rss_warm.tsv" 10 >/dev/null
	owait "$T/w/contacts.db"
	put rss_after_1000_kb "$(rss)"
	$LOAD replies "$PORT_cmw" "$T/rss_rest.tsv" 10 >/dev/null
	owait "$T/w/contacts.db"
	put rss_after_all_kb "$(rss)"
	put rss_peak_kb "$(hwm)"
	put rss_replies "$RSS_N"
fi

# 2. validation replies: each a real reply to a pending request.  Postfix
# handles a milter's "discard" far more slowly than an "accept" (a trivial
# milter shows it), so each final action is compared with its own kind:
# contact-milter delivering vs the reference accepting (the target), and
# contact-milter discarding (its default) vs the reference discarding; both
# contact-milters without their outbox worker, their follow-up mails marked
# sent between rounds as another host's worker would: the milter's own cost.
# Then the same delivered replies through the contact-milter whose worker
# sends (cmw), with its CPU per reply beside the one without worker's: the
# whole cost of an answered request.  Each figure: the median of the
# per-round paired ratios (as in section 1).
if want 2; then
	say "2. replies: $REP_ROUNDS rounds of $REPLIES replies per configuration"
	for r in $(seq 1 "$REP_ROUNDS"); do
		"$B/bench_tool" setup "$CONF" "$REPLIES" "$T/replies_$r.tsv" 2>/dev/null
		"$B/bench_tool" setup "$T/deliver.conf" "$REPLIES" "$T/replies_d_$r.tsv" 2>/dev/null
		"$B/bench_tool" setup "$T/worker.conf" "$REPLIES" "$T/replies_w_$r.tsv" 2>/dev/null
	done
	# The validation mails were sent long before their replies come (the
	# worker's milter, up since section 5, may have sent some meanwhile).
	mark_sent "$T/contacts.db"
	mark_sent "$T/d/contacts.db"
	mark_sent "$T/w/contacts.db"
	start_cmw
	owait "$T/w/contacts.db"
	# What the worker's store held before (section 5's replies).
	w_recorded0=$(sqlite3 "$T/w/contacts.db" "SELECT COUNT(*) FROM parties WHERE via = 'email' AND decision = 'accepted'")
	w_mailed0=$(sqlite3 "$T/w/contacts.db" "SELECT COUNT(*) FROM outbox WHERE kind = 'waiting' AND state = 'sent'")
	for r in $(seq 1 "$REP_ROUNDS"); do
		for n in $(rotate "$r" eom cmd dur cmw disc cm); do
			eval "port=\$PORT_$n"
			f="$T/replies_$r.tsv"
			[ "$n" = cmd ] && f="$T/replies_d_$r.tsv"
			[ "$n" = cmw ] && f="$T/replies_w_$r.tsv"
			pid=""
			[ "$n" = cmd ] && pid=$DELIVER_PID
			[ "$n" = cmw ] && pid=$CMW_PID
			[ -z "$pid" ] || c0=$(cpu_ticks "$pid")
			t0=$(now)
			set -- $($LOAD replies "$port" "$f" 10)
			if [ "$n" = cmw ]; then
				# The rate is the replies' while the worker sends beside
				# them; the time until it sent the last follow-up mail is
				# kept beside it (it includes up to a second of the worker's
				# nap between passes, latency and not cost), and the CPU
				# below counts all the sending.
				owait "$T/w/contacts.db"
				echo "$2 $t0 $(now)" | awk '{printf "%.2f\n", $1 / ($3 - $2)}' >>"$T/rep_cmw_all"
			fi
			[ -z "$pid" ] || echo "$(($(cpu_ticks "$pid") - c0)) $2" >>"$T/rep_cpu_$n"
			echo "$2 $3" | awk '{printf "%.2f\n", $1 / $2}' >"$T/rep_${n}_r"
			cat "$T/rep_${n}_r" >>"$T/rep_$n"
			qwait "$n"
		done
		mark_sent "$T/contacts.db"
		mark_sent "$T/d/contacts.db"
		paste "$T/rep_cmd_r" "$T/rep_eom_r" | awk '{printf "%.4f\n", $1 / $2}' >>"$T/rep_ratio_cmd"
		paste "$T/rep_cmw_r" "$T/rep_eom_r" | awk '{printf "%.4f\n", $1 / $2}' >>"$T/rep_ratio_cmw"
		paste "$T/rep_dur_r" "$T/rep_eom_r" | awk '{printf "%.4f\n", $1 / $2}' >>"$T/rep_ratio_dur"
		paste "$T/rep_cmd_r" "$T/rep_dur_r" | awk '{printf "%.4f\n", $1 / $2}' >>"$T/rep_ratio_cmd_dur"
		paste "$T/rep_cm_r" "$T/rep_disc_r" | awk '{printf "%.4f\n", $1 / $2}' >>"$T/rep_ratio_cm"
		say "round $r: $(for n in eom cmd dur cmw disc cm; do printf '%s %s ' "$n" "$(cat "$T/rep_${n}_r")"; done)msg/s"
	done
	for n in eom cmd dur cmw disc cm; do put "rep_rate_$n" "$(median <"$T/rep_$n")"; done
	put rep_rate_cmw_all "$(median <"$T/rep_cmw_all")"
	# The milter's CPU (all its threads) per reply, without and with its worker.
	tck=$(getconf CLK_TCK)
	for n in cmd cmw; do
		put "rep_cpu_ms_$n" "$(awk -v t="$tck" '{c += $1; r += $2} END {printf "%.3f", r ? c * 1000 / t / r : 0}' "$T/rep_cpu_$n")"
	done
	for n in cmd cmw cm dur cmd_dur; do put_spread "rep_ratio_$n" "$T/rep_ratio_$n"; done
	put rep_sent $((2 * REP_ROUNDS * REPLIES))
	put rep_rounds "$REP_ROUNDS"
	put rep_recorded "$(for db in "$T/contacts.db" "$T/d/contacts.db"; do
		sqlite3 "$db" "SELECT COUNT(*) FROM parties WHERE via = 'email' AND decision = 'accepted'"
	done | awk '{n += $1} END {print n}')"
	put rep_waiting_queued "$(for db in "$T/contacts.db" "$T/d/contacts.db"; do
		sqlite3 "$db" "SELECT COUNT(*) FROM outbox WHERE kind = 'waiting'"
	done | awk '{n += $1} END {print n}')"
	put rep_w_sent $((REP_ROUNDS * REPLIES))
	put rep_w_recorded $(($(sqlite3 "$T/w/contacts.db" "SELECT COUNT(*) FROM parties WHERE via = 'email' AND decision = 'accepted'") - w_recorded0))
	put rep_w_mailed $(($(sqlite3 "$T/w/contacts.db" "SELECT COUNT(*) FROM outbox WHERE kind = 'waiting' AND state = 'sent'") - w_mailed0))
fi

# 4. outbox delivery against smtp-source to the same sink
if want 4; then
	say "4. outbox: $((OUTBOX * 2)) queued mails, outbox deliver vs smtp-source, one SMTP session each"
	stop_milter
	for p in $DELIVER_PID $CMW_PID; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	mark_sent "$T/contacts.db"
	first=$(sqlite3 "$T/contacts.db" "SELECT COALESCE(MAX(id), 0) + 1 FROM outbox")
	"$B/bench_tool" setup "$CONF" "$OUTBOX" "$T/outbox.tsv" queued 2>/dev/null
	n_out=$(sqlite3 "$T/contacts.db" "SELECT COUNT(*) FROM outbox WHERE state = 'queued'")
	t0=$(now)
	"$CTL" outbox deliver --once >/dev/null
	t1=$(now)
	# The size as sent (a mail queued as a recipe is composed at sending).
	size=$(sqlite3 "$T/contacts.db" "SELECT CAST(AVG(LENGTH(message)) AS INTEGER) FROM outbox WHERE id >= $first")
	[ "${size:-0}" -gt 0 ] 2>/dev/null || size=2048
	put out_rate "$(echo "$n_out $t0 $t1" | awk '{printf "%.2f", $1 / ($3 - $2)}')"
	put out_sent "$(sqlite3 "$T/contacts.db" "SELECT COUNT(*) FROM outbox WHERE state = 'sent' AND id >= $first")"
	t0=$(now)
	smtp-source -s 1 -m "$n_out" -l "$size" -f sender@bench.example.net -t someone@example.org 127.0.0.1:"$SINK"
	t1=$(now)
	put src_rate "$(echo "$n_out $t0 $t1" | awk '{printf "%.2f", $1 / ($3 - $2)}')"
	put out_n "$n_out"
	put out_size "$size"
fi

# 3. core decisions without Postfix, on a small and a big store: each
# decide run (follow-up mails queued, not composed), then bench_tool compose
# composes them as the worker will; the time per decision with its mails
# composed adds the compose time per mail times the mails per decision.
# (Without bench_tool compose, the with-compose figures stay empty: 0.)
if want 3; then
	say "3. core decisions: stores of $SMALL and $BIG requests, $DECIDE replies each, two rounds"
	for size_name in small big; do
		eval "n=\$$(echo $size_name | tr a-z A-Z)"
		mkdir -p "$T/$size_name"
		sed "s|^path = .*|path = $T/$size_name/contacts.db|" "$CONF" >"$T/$size_name.conf"
		"$B/bench_tool" filler "$T/$size_name.conf" "$n" 2>/dev/null
	done
	for r in 1 2; do
		for size_name in small big; do
			db="$T/$size_name/contacts.db"
			"$B/bench_tool" setup "$T/$size_name.conf" "$DECIDE" "$T/dec_${size_name}_$r.tsv" 2>/dev/null
			mark_sent "$db" # the validation mails: sent before their replies come
			first=$(sqlite3 "$db" "SELECT COALESCE(MAX(id), 0) + 1 FROM outbox")
			set -- $("$B/bench_tool" decide "$T/$size_name.conf" "$T/dec_${size_name}_$r.tsv" 2>/dev/null)
			[ $# -ge 3 ] || continue
			dec_n=$1 dec_s=$3
			echo "$dec_s $dec_n" | awk '{printf "%.6f\n", $1 / $2}' >>"$T/dec_$size_name"
			mails=$(sqlite3 "$db" "SELECT COUNT(*) FROM outbox WHERE id >= $first")
			set -- $("$B/bench_tool" compose "$T/$size_name.conf" 2>/dev/null)
			if [ $# -ge 2 ] && [ "$1" -gt 0 ] 2>/dev/null; then
				echo "$2 $1" | awk '{printf "%.6f\n", $1 / $2}' >>"$T/comp_$size_name"
				echo "$dec_s $dec_n $2 $1 $mails" |
					awk '{printf "%.6f\n", $1 / $2 + ($3 / $4) * ($5 / $2)}' >>"$T/decc_$size_name"
			fi
			echo "$mails $dec_n" | awk '{printf "%.3f\n", $1 / $2}' >>"$T/dec_mails_$size_name"
		done
	done
	put dec_s_small "$(median <"$T/dec_small")"
	put dec_s_big "$(median <"$T/dec_big")"
	for size_name in small big; do
		[ -s "$T/comp_$size_name" ] && put "comp_s_$size_name" "$(median <"$T/comp_$size_name")"
		[ -s "$T/decc_$size_name" ] && put "decc_s_$size_name" "$(median <"$T/decc_$size_name")"
		put "dec_mails_$size_name" "$(median <"$T/dec_mails_$size_name")"
	done
	put dec_small_n "$SMALL"
	put dec_big_n "$BIG"
fi

# 6. the page behind the link: contact-web against libmicrohttpd serving a
# static page of the same size, same thread pool, same load (wrk); then
# decisions through the page's form.
if want 6; then
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
fi

# 7. one PostgreSQL database for several MX hosts, beside SQLite: durable
# decisions a second with 1 and 8 concurrent clients (processes with a
# connection each) on each backend, and the time per decision on a big
# store against a small one.  A throwaway cluster, as in the tests.
if want 7; then
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
				b0=$(busy_ticks)
				set -- $("$B/bench_tool" decide_par "$T/conc_${be}_$k.conf" "$T/conc_${be}_$k.tsv" "$k" 2>/dev/null)
				b1=$(busy_ticks)
				put "conc_rate_${be}_$k" "$(echo "${2:-0} ${3:-1}" | awk '{printf "%.2f", $1 / $2}')"
				# Where the CPU of a decision went: the clients (parsing,
				# the core, the driver; SQLite's work is theirs), and
				# everything else the machine did meanwhile (PostgreSQL's
				# server, the kernel's share of both).
				tck=$(getconf CLK_TCK)
				put "conc_cpu_ms_${be}_$k" "$(echo "${4:-0} ${2:-1}" | awk '{printf "%.3f", $1 * 1000 / $2}')"
				put "conc_busy_ms_${be}_$k" "$(echo "$((b1 - b0)) $tck ${2:-1}" | awk '{printf "%.3f", $1 / $2 * 1000 / $3}')"
				put "conc_cores" "$(nproc)"
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
			# Each host with its worker, as before outbox_worker existed.
			sed -e "s|^socket = .*|socket = unix:$T/milter-mx$h.sock|" -e 's/^outbox_worker = .*/outbox_worker = yes/' \
				"$T/mx$h.tmp" >"$T/mx$h.conf"
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
fi

say "report"
python3 "$top/tests/bench/report.py" "$RES" "$top/$BUILD/bench.json"
exit 0
