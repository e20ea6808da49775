#!/bin/sh
# Run every suite of `make check` and end with one line "N passed, N failed".
# Each suite prints TAP lines ("ok N - name" / "not ok N - name").
# Two halves run side by side: every suite on SQLite, and the suites that
# use the store (unit tests built on fixture.h, the CLI, milter and e2e
# suites) a second time on PostgreSQL, named "[pg]", against a throwaway
# cluster started once for the run (tests/lib/pg.sh).
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

run_suite() { # HALF NAME COMMAND...: appends a summary line to $log/HALF.sum
	half=$1 name=$2; shift 2
	out="$log/$name.out"
	"$@" >"$out" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		# A crash or sanitizer report outside any case still fails the suite.
		f=1
		echo "not ok - $name exited $rc" >>"$out"
	fi
	echo "$p $f" >>"$log/$half.counts"
	{
		printf '%-28s %4d passed, %d failed\n' "$name" "$p" "$f"
		if [ "$f" != 0 ]; then
			grep -E -B2 -A12 '^not ok |ERROR: |runtime error|Sanitizer' "$out" | head -80
		fi
	} >>"$log/$half.sum"
}

sqlite_half() {
	start=$(date +%s)
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		run_suite sqlite "$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
	done
	for t in tests/cli/*.sh tests/corpus/*.sh tests/milter/*.sh tests/e2e/*.sh; do
		[ -f "$t" ] || continue
		run_suite sqlite "$(basename "$t" .sh)" sh "$t"
	done
	echo "(SQLite half: $(($(date +%s) - start)) s)" >>"$log/sqlite.sum"
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
		case " $PG_ONLY " in *" $n "*) continue ;; esac
		run_suite pg "$n[pg]" sh "$t"
	done
	pg_stop
	echo "(PostgreSQL half: $(($(date +%s) - start)) s)" >>"$log/pg.sum"
}

# HALVES="sqlite" or "pg" runs one half only (default: both).
HALVES=${HALVES:-sqlite pg}
case " $HALVES " in *" sqlite "*) sqlite_half & sq_pid=$! ;; *) sq_pid="" ;; esac
case " $HALVES " in *" pg "*) pg_half & pg_pid=$! ;; *) pg_pid="" ;; esac
if [ -n "$sq_pid" ]; then wait $sq_pid; cat "$log/sqlite.sum"; fi
if [ -n "$pg_pid" ]; then wait $pg_pid; cat "$log/pg.sum"; fi
pass=0 fail=0
while read -r p f; do pass=$((pass + p)); fail=$((fail + f)); done <<SUM
$(cat "$log/sqlite.counts" "$log/pg.counts" 2>/dev/null)
SUM
echo "(logs in $log)"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
