#!/bin/sh
# The daemon attacked from the host (issue 8, SPEC §4 and §8): root without
# -u, a local user at the socket and at the store's files, SIGHUP.  The
# daemon runs as the system user `mail` (RUN_USER) over a store that user owns, as a
# package would set it up; the local attacker is `nobody`.
. tests/lib/common.sh
RUN_USER=${RUN_USER:-mail}
MT="python3 $top/tests/lib/mailtool.py"
SINK=$(free_port)
SMTP_PORT=$SINK write_conf
mkdir -p "$T/store" "$T/run"
cp -R "$top/config/templates" "$T/templates"
sed -i -e "s|^path = .*|path = $T/store/contacts.db|" -e "s|^dir = .*|dir = $T/templates|" \
	-e "s|^socket = .*|socket = unix:$T/run/milter.sock|" "$CONF"
SOCK=$T/run/milter.sock
secret=$(sed -n '/^\[policy\]/,/^\[/s/^secret_file = //p' "$CONF")
cast
"$CTL" group add g2-ovh-1 --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
mode() { stat -c %a "$1"; }
# What `contactctl init` made, before anyone changes an owner: nothing readable by others.
for f in "$T"/store/contacts.db* $secret; do
	case $(mode "$f") in 600 | 640) ok "contactctl init makes $(basename "$f") mode $(mode "$f")" ;;
	*) nok "contactctl init makes $(basename "$f") mode 0600 (0640 with a group)" "got $(mode "$f")" ;; esac
done
# The operator gives the store (and the secret) to the daemon's user.
chown -R "$RUN_USER" "$T/store" "$T/run" $secret
start_sink "$SINK"

# Root without -u: refuses to start, naming -u.
timeout 10 "$MILTER" -f -c "$CONF" >"$T/root.out" 2>&1
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 124 ] && grep -q -- '-u' "$T/root.out"; then
	ok "contact-milter -f started as root without -u refuses to start, naming -u (exit $rc)"
else
	nok "contact-milter -f started as root without -u refuses to start, naming -u" \
		"exit $rc$([ "$rc" = 124 ] && echo ' (still running after 10 s)')" "$(head -3 "$T/root.out")"
fi
rm -f "$SOCK"

# With -u: runs as that user.
"$MILTER" -f -c "$CONF" -u "$RUN_USER" 2>>"$T/milter.log" &
MILTER_PID=$!
PIDS="$PIDS $MILTER_PID"
if wait_unix "$SOCK" && kill -0 "$MILTER_PID" 2>/dev/null; then
	ok "contact-milter -u $RUN_USER starts as root and listens"
else
	nok "contact-milter -u $RUN_USER starts as root and listens" "$(tail -3 "$T/milter.log")"
fi
uid=$(id -u "$RUN_USER")
eq "...and runs as $RUN_USER (real, effective, saved and fs uid)" "$uid $uid $uid $uid" \
	"$(awk '/^Uid:/ {print $2, $3, $4, $5}' "/proc/$MILTER_PID/status" 2>/dev/null)"
eq "...with no capability left" "0000000000000000" "$(awk '/^CapEff:/ {print $2}' "/proc/$MILTER_PID/status" 2>/dev/null)"

# The socket: never world-writable, group postfix; a local user cannot use it.
sm=$(stat -c '%a %G' "$SOCK" 2>/dev/null)
case $sm in ??[0145]\ postfix) ok "the socket is mode/group $sm: not world-writable, group postfix" ;;
*) nok "the socket is not world-writable, group postfix" "got: $sm" ;; esac
conn="import socket; s = socket.socket(socket.AF_UNIX); s.connect('$SOCK')"
check "(root can connect to the socket)" python3 -c "$conn"
check "a local user (nobody) cannot connect to the milter socket (which exists)" \
	sh -c "[ -S '$SOCK' ] && ! runuser -u nobody -- python3 -c \"$conn\""
kill -TERM "$MILTER_PID" 2>/dev/null
wait "$MILTER_PID" 2>/dev/null

# The same daemon started directly as $RUN_USER (as systemd's User= would):
# the store's files, and SIGHUP.
rm -f "$SOCK"
setpriv --reuid="$RUN_USER" --regid="$(id -g "$RUN_USER")" --groups postfix "$MILTER" -f -c "$CONF" 2>>"$T/milter.log" &
MILTER_PID=$!
PIDS="$PIDS $MILTER_PID"
check "contact-milter started as $RUN_USER listens" wait_unix "$SOCK"

# A request, so that the store has mail in it; then the store's files.
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
check "the milter's outbox worker (as $RUN_USER) sends the validation mails" sh -c '
	i=0; while [ $i -lt 200 ] && [ "$(ls "'"$T"'/sink" | wc -l)" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(ls "'"$T"'/sink" | wc -l)" -ge 2 ]'
for f in "$T"/store/contacts.db* $secret; do
	case $(mode "$f") in 600 | 640) ok "$(basename "$f") is mode $(mode "$f")" ;;
	*) nok "$(basename "$f") is mode 0600 or 0640" "got $(mode "$f")" ;; esac
	check "a local user (nobody) cannot read $(basename "$f")" sh -c "! runuser -u nobody -- cat '$f' >/dev/null 2>&1"
done

# SIGHUP with a changed template: keeps running, the next mail uses it.
first=$(ls "$T/sink" | wc -l)
sed -i '1s/^Subject: /Subject: [relu] /' "$T/templates/en/validation.txt" "$T/templates/fr/validation.txt"
kill -HUP "$MILTER_PID"
# libmilter notices a stop within its 5 s check interval; the daemon must
# still be there (not gone, not a zombie) well after it.
alive() { st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null); [ -n "$st" ] && [ "$st" != Z ]; }
i=0
while [ $i -lt 100 ] && alive "$MILTER_PID"; do sleep 0.1; i=$((i + 1)); done
check "SIGHUP: the daemon keeps running (10 s later)" alive "$MILTER_PID"
check "...and still answers on its socket" python3 -c "$conn"
"$CTL" request create g2-ovh-1 --by alice-ovh --tech carol-ovh >/dev/null
i=0
while [ $i -lt 200 ] && [ "$(ls "$T/sink" | wc -l)" -lt $((first + 2)) ]; do sleep 0.1; i=$((i + 1)); done
n=0
for f in "$T"/sink/*; do
	$MT subject "$f" | grep -q '^\[relu\] .*n° 2 \|^\[relu\] .*#2 ' && n=$((n + 1))
done
eq "...and the next validation mails use the new template" "2" "$n"
kill -TERM "$MILTER_PID" 2>/dev/null
wait "$MILTER_PID" 2>/dev/null

# Without a postfix group on the host (here: a mount namespace whose
# /etc/group has none), the socket is still not world-writable.
grep -v '^postfix:' /etc/group >"$T/group"
chmod 644 "$T/group"
mkdir -p "$T/run2"
chown "$RUN_USER" "$T/run2"
sed "s|^socket = .*|socket = unix:$T/run2/milter.sock|" "$CONF" >"$T/nogroup.conf"
chmod 644 "$T/nogroup.conf"
unshare -m sh -c "mount --bind '$T/group' /etc/group && exec setpriv --reuid='$RUN_USER' --regid='$(id -g "$RUN_USER")' --init-groups '$MILTER' -f -c '$T/nogroup.conf'" 2>>"$T/milter2.log" &
M2=$!
PIDS="$PIDS $M2"
wait_unix "$T/run2/milter.sock"
sleep 0.5
if [ -S "$T/run2/milter.sock" ]; then
	sm=$(stat -c %a "$T/run2/milter.sock")
	case $sm in ??[0145]) ok "with no postfix group, the socket is mode $sm: not world-writable" ;;
	*) nok "with no postfix group, the socket is not world-writable" "got: $sm" ;; esac
elif ! kill -0 "$M2" 2>/dev/null; then
	ok "with no postfix group, the daemon refuses to start rather than open a world-writable socket"
else
	nok "with no postfix group, the socket is not world-writable" "no socket, daemon running" "$(tail -3 "$T/milter2.log")"
fi
kill "$M2" 2>/dev/null
wait "$M2" 2>/dev/null
finish
