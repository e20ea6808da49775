#!/bin/sh
# Run every suite of `make check` and end with one line "N passed, N failed".
# Each suite prints TAP lines ("ok N - name" / "not ok N - name").
# Three lanes run side by side (most suites wait on Postfix, browsers and
# sockets more than they compute): every suite on SQLite, in two lanes, and
# the suites that use the store (unit tests built on fixture.h, the CLI,
# milter and e2e suites) a second time on PostgreSQL, named "[pg]", against
# a throwaway cluster started once for the run (tests/lib/pg.sh).  A case
# printed "ok ... # SKIP" is counted as skipped, never as passed.
BUILD=${BUILD:-build/check}
export BUILD
top=$(pwd)
log=$(mktemp -d /tmp/cm-check.XXXXXX)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99"
export LSAN_OPTIONS="suppressions=$top/tests/lib/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export G_SLICE=always-malloc G_DEBUG=gc-friendly
# Suites that run on PostgreSQL only, with a cluster of their own.
PG_ONLY="two_mx"
# Suites about what is not the store's backend (files on disk and their
# modes, the daemon's start, documents, rendered mails, packaging and
# recipes, the page): run once, on SQLite.
SQLITE_ONLY="at_rest attack attack_daemon daemon manpage_keys mails readme_recipe sendmail web corpus"

run_suite() { # HALF NAME COMMAND...: appends a summary line to $log/HALF.sum
	half=$1 name=$2; shift 2
	# One output file per suite and half: suites of one name in two
	# directories (cli/lifecycle, e2e/lifecycle) run at the same time.
	out="$log/$half-$(printf '%s' "$name" | tr '/[]' '-__').out"
	"$@" >"$out" 2>&1
	rc=$?
	s=$(grep -c '^ok .*# *SKIP' "$out")
	p=$(($(grep -c '^ok ' "$out") - s))
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		# A crash or sanitizer report outside any case still fails the suite.
		f=1
		echo "not ok - $name exited $rc" >>"$out"
	fi
	echo "$p $f $s" >>"$log/$half.counts"
	{
		printf '%-28s %4d passed, %d failed%s\n' "$name" "$p" "$f" "$([ "$s" != 0 ] && echo ", $s skipped")"
		if [ "$f" != 0 ]; then
			grep -E -B2 -A12 '^not ok |ERROR: |runtime error|Sanitizer' "$out" | head -80
		fi
	} >>"$log/$half.sum"
}

suite_name() { # tests/DIR/NAME.sh -> DIR/NAME
	printf '%s/%s' "$(basename "$(dirname "$1")")" "$(basename "$1" .sh)"
}

sqlite_lane() { # LANE SUITE-FILES...: one SQLite lane
	lane=$1 start=$(date +%s)
	shift
	for t in "$@"; do
		[ -f "$t" ] || continue
		case $t in
		*.sh) run_suite "$lane" "$(suite_name "$t")" sh "$t" ;;
		*) run_suite "$lane" "$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t" ;;
		esac
	done
	echo "(SQLite lane $lane: $(($(date +%s) - start)) s)" >>"$log/$lane.sum"
}

pg_half() {
	start=$(date +%s)
	. tests/lib/pg.sh
	trap 'pg_stop' EXIT
	trap 'exit 1' INT TERM
	if ! pg_start >"$log/pg-start.out" 2>&1; then
		echo "0 1" >>"$log/pg.counts"
		{ echo "not ok - the PostgreSQL cluster for the [pg] suites did not start:"; cat "$log/pg-start.out"; } >>"$log/pg.sum"
		return
	fi
	export CM_TEST_PG="$PG_BASE"
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		n=$(basename "$t")
		grep -q 'fx_setup' "tests/unit/$n.c" 2>/dev/null || continue
		run_suite pg "$n[pg]" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
	done
	for t in tests/cli/*.sh tests/milter/*.sh tests/e2e/*.sh; do
		[ -f "$t" ] || continue
		n=$(basename "$t" .sh)
		case " $PG_ONLY $SQLITE_ONLY " in *" $n "*) continue ;; esac
		run_suite pg "$(suite_name "$t")[pg]" sh "$t"
	done
	pg_stop
	echo "(PostgreSQL half: $(($(date +%s) - start)) s)" >>"$log/pg.sum"
}

# HALVES="sqlite" or "pg" runs one backend only (default: both).
HALVES=${HALVES:-sqlite pg}
pids=""
case " $HALVES " in *" sqlite "*)
	# The unit tests, the CLI, the corpus, the milter's protocol and the
	# attack suites in one lane; the page and the other end-to-end suites
	# (Postfix, Sendmail, two hosts) in another: about as long each.
	sqlite_lane sqlite1 "$BUILD"/tests/test_* tests/cli/*.sh tests/corpus/*.sh tests/milter/*.sh \
		tests/e2e/attack*.sh &
	pids="$pids $!"
	sqlite_lane sqlite2 tests/web/*.sh $(ls tests/e2e/*.sh | grep -v '/attack') &
	pids="$pids $!" ;;
esac
case " $HALVES " in *" pg "*) pg_half & pids="$pids $!" ;; esac
for p in $pids; do wait "$p"; done
for l in sqlite1 sqlite2 pg; do [ -f "$log/$l.sum" ] && cat "$log/$l.sum"; done
# The real-mail corpus's tables (tests/corpus/data), as the corpus suite judged it.
corpus_out="$log/sqlite1-corpus-corpus.out"
if [ -f "$corpus_out" ]; then
	echo
	sed -n '/^category /,/^$/p' "$corpus_out"
	grep -E '^(stated new texts|new text: )' "$corpus_out"
	grep -E '^ok [0-9]+ - across the whole corpus' "$corpus_out" | sed 's/^ok [0-9]* - //'
fi
pass=0 fail=0 skip=0
while read -r p f s; do pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + ${s:-0})); done <<SUM
$(cat "$log/sqlite1.counts" "$log/sqlite2.counts" "$log/pg.counts" 2>/dev/null)
SUM
echo "(logs in $log)"
if [ "$skip" != 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" = 0 ]
