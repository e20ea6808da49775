#!/bin/sh
# Two processes accepting the two tokens of one request at the same instant:
# the change is applied once and each contact gets exactly one confirmation.
. tests/lib/common.sh
write_conf
cast
ROUNDS=12
bad=""
for i in $(seq 1 $ROUNDS); do
	g="race$i-ovh"
	"$CTL" group add "$g" --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
	id=$("$CTL" --json request create "$g" --by alice-ovh --tech bob-ovh | jq '.ids[0]')
	A=$(token_for "$id" alice@example.com)
	B=$(token_for "$id" bob@example.net)
	rm -f "$T/go"
	# Both wait on the same file, then run at once.
	(while [ ! -e "$T/go" ]; do :; done; "$CTL" request accept "$id" --token "$A" >"$T/a.out" 2>&1; echo $? >"$T/a.rc") &
	pa=$!
	(while [ ! -e "$T/go" ]; do :; done; "$CTL" request accept "$id" --token "$B" >"$T/b.out" 2>&1; echo $? >"$T/b.rc") &
	pb=$!
	sleep 0.2
	touch "$T/go"
	wait $pa $pb
	got="$(cat "$T/a.rc") $(cat "$T/b.rc") $(req_field "$id" .state) $("$CTL" --json group show "$g" | jq -r .tech)"
	got="$got $(mails done "$id" alice@example.com) $(mails done "$id" bob@example.net) $(mails waiting "$id")"
	got="$got $("$CTL" --json log "$id" | jq '[.[] | select(.action == "done")] | length')"
	[ "$got" = "0 0 done bob-ovh 1 1 1 1" ] || bad="$bad round $i: $got ($(cat "$T/a.out" "$T/b.out"))"
done
if [ -z "$bad" ]; then ok "$ROUNDS simultaneous double acceptances: each applied once, one done mail per contact"
else nok "simultaneous double acceptances" "$bad"; fi

# The same race with the same token twice: one wins, the other is told it was used.
"$CTL" group add solo-ovh --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
id=$("$CTL" --json request create solo-ovh --by alice-ovh --tech bob-ovh | jq '.ids[0]')
A=$(token_for "$id" alice@example.com)
rm -f "$T/go"
(while [ ! -e "$T/go" ]; do :; done; "$CTL" request accept "$id" --token "$A" >/dev/null 2>&1; echo $? >"$T/a.rc") &
pa=$!
(while [ ! -e "$T/go" ]; do :; done; "$CTL" request accept "$id" --token "$A" >/dev/null 2>&1; echo $? >"$T/b.rc") &
pb=$!
sleep 0.2
touch "$T/go"
wait $pa $pb
eq "one token used twice at once: one success, one 'used'" "0 2" "$(cat "$T/a.rc" "$T/b.rc" | sort | xargs)"
eq "and a single waiting mail" "1" "$(mails waiting "$id")"
finish
