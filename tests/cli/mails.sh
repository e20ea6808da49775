#!/bin/sh
# Every mail as a person looks at it: the unit test test_mail_words writes
# each kind, in both languages, for one role and for several, to
# $CM_MAILS_DIR (default build/mails); headless Chromium takes a picture of
# each HTML part at phone and desktop widths next to them.
. tests/lib/common.sh
MAILS=${CM_MAILS_DIR:-$top/build/mails}
mkdir -p "$MAILS" "$T/tpl/fr" "$T/tpl/en"
python3 "$top/tests/mails/make_templates.py" "$T/tpl"
check "the mail templates are what tests/mails/make_templates.py writes" diff -r -x README.md -x "page*.html" "$T/tpl" "$top/config/templates"
rm -f "$MAILS"/*.png
check "test_mail_words writes every mail to $MAILS" env CM_MAILS_DIR="$MAILS" "$top/$BUILD/tests/test_mail_words"
# 11 kinds, 2 languages, one role and several.
eq "44 mails, each as text and HTML" "44 44" "$(ls "$MAILS"/*-*.txt | wc -l | tr -d ' ') $(ls "$MAILS"/*-*-??.html | wc -l | tr -d ' ')"
run /usr/bin/python3 "$top/tests/mails/screenshots.py" shoot "$MAILS"
eq "headless Chromium takes 88 screenshots, and every mail fits the phone's width" \
	"0 88 screenshots in $MAILS" "$RC $OUT"
/usr/bin/python3 "$top/tests/mails/screenshots.py" check "$MAILS" >"$T/colours"
for html in "$MAILS"/*-*-??.html; do
	name=$(basename "$html" .html)
	for w in 390 1024; do
		# Not blank: the header, the text and the buttons give many colours,
		# and a good share of the page is not its background.
		line=$(grep "^$name-$w.png " "$T/colours")
		colours=$(echo "$line" | cut -d' ' -f2)
		ink=$(echo "$line" | cut -d' ' -f3)
		if [ -n "$line" ] && [ "$colours" -ge 20 ] && [ "$ink" -ge 100 ]; then
			ok "$name at $w px: a picture that is not blank"
		else
			nok "$name at $w px: a picture that is not blank" "got: ${line:-no PNG}"
		fi
	done
done
finish
