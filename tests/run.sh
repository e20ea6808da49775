#!/bin/sh
# Run every suite of `make check` and end with one line "N passed, N failed".
# Each suite prints TAP lines ("ok N - name" / "not ok N - name").
BUILD=${BUILD:-build/check}
export BUILD
top=$(pwd)
log=$(mktemp -d /tmp/cm-check.XXXXXX)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99"
export LSAN_OPTIONS="suppressions=$top/tests/lib/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export G_SLICE=always-malloc G_DEBUG=gc-friendly
pass=0 fail=0
run_suite() { # name command...
	name=$1; shift
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
	pass=$((pass + p)); fail=$((fail + f))
	printf '%-28s %4d passed, %d failed\n' "$name" "$p" "$f"
	if [ "$f" != 0 ]; then
		grep -E -B2 -A12 '^not ok |ERROR: |runtime error|Sanitizer' "$out" | head -80
	fi
}
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "$(basename "$t")" env CMOCKA_MESSAGE_OUTPUT=TAP "$t"
done
for t in tests/cli/*.sh tests/corpus/*.sh tests/milter/*.sh tests/e2e/*.sh tests/web/*.sh; do
	[ -f "$t" ] || continue
	run_suite "$(basename "$t" .sh)" sh "$t"
done
echo "(logs in $log)"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
