#!/bin/sh
# The manual pages are the contract: contact-milter.conf(5) lists exactly
# the keys core/config.c's table accepts, each with the table's default, and
# every page in doc/ renders without a warning from man/groff.
. tests/lib/common.sh

# "section.key<TAB>default" for each {"section", "key", K_TYPE, "default", ...} row.
sed -n 's/^[[:space:]]*{"\([a-z_]*\)", "\([a-z_]*\)", K_[A-Z]*, "\([^"]*\)",.*/\1.\2	\3/p' core/config.c |
	sort >"$T/code"
# The same from the page: ".Ss [section]" then ".It Cm key Pq Ql DEFAULT" or "Pq empty".
awk '
	/^\.Ss \[[a-z_]+\]/ { sec = $2; gsub(/[][]/, "", sec); next }
	/^\.Sh / { sec = "" }
	sec != "" && /^\.It Cm [a-z_]+ Pq / {
		key = $3
		def = $0; sub(/^\.It Cm [a-z_]+ Pq /, "", def)
		if (def == "empty") def = ""
		else { sub(/^Ql /, "", def); gsub(/^"|"$/, "", def) }
		printf "%s.%s\t%s\n", sec, key, def
	}' doc/contact-milter.conf.5 | sort >"$T/page"
cut -f1 "$T/code" >"$T/code.keys"
cut -f1 "$T/page" >"$T/page.keys"

n_code=$(wc -l <"$T/code.keys")
if [ "$n_code" -ge 20 ]; then ok "core/config.c's table read: $n_code keys"; else nok "core/config.c's table read" "only $n_code keys: the extraction is broken"; fi
missing=$(comm -23 "$T/code.keys" "$T/page.keys" | tr '\n' ' ')
eq "every key the code accepts is in contact-milter.conf(5)" "" "$missing"
extra=$(comm -13 "$T/code.keys" "$T/page.keys" | tr '\n' ' ')
eq "every key of contact-milter.conf(5) is accepted by the code" "" "$extra"
dups=$(uniq -d "$T/page.keys" | tr '\n' ' ')
eq "no key described twice in contact-milter.conf(5)" "" "$dups"
# Defaults, for the keys both know.
wrong=$(join -t '	' "$T/code" "$T/page" | awk -F '\t' '$2 != $3 { printf "%s: code %s, page %s; ", $1, $2, $3 }')
eq "each default in contact-milter.conf(5) is the code's" "" "$wrong"

# Rendered as lintian does; any message on stderr is a warning.
for page in doc/contact-milter.8 doc/contactctl.8 doc/contact-web.8 doc/contact-milter.conf.5; do
	LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$page" >"$T/render" 2>"$T/warn"
	rc=$?
	if [ "$rc" = 0 ] && [ ! -s "$T/warn" ] && [ -s "$T/render" ]; then
		ok "$page renders without warnings"
	else
		nok "$page renders without warnings" "exit $rc" "$(cat "$T/warn")"
	fi
done
# The NAME line apropos and lintian read.
for page in doc/*.[58]; do
	name=$(basename "$page" | sed 's/\.[58]$//')
	if MANWIDTH=80 man -l "$page" 2>/dev/null | col -b | grep -Eq "^ *$name (—|-) "; then
		ok "$page has a NAME line for $name"
	else
		nok "$page has a NAME line for $name"
	fi
done
finish
