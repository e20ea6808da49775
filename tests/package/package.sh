#!/bin/sh
# make check-package: the Debian package as an operator gets it.  Installs
# build/contact-milter_*.deb with apt (as root), checks the service user,
# the owner and mode of the configuration and of the directories, that the
# service user can check the configuration and run the daemon whose socket
# Postfix can reach, the manual pages and the unit's hardening score; then
# purges it and checks nothing is left.  It changes the system: run it on a
# machine (or container) where contact-milter is not otherwise installed.
BUILD=${BUILD:-build}
. tests/lib/common.sh
unset CONTACT_MILTER_CONF # the installed programs read the installed /etc/contact-milter/contact-milter.conf
APT="apt-get -y -qq -o DPkg::Lock::Timeout=300"
export DEBIAN_FRONTEND=noninteractive
DAEMON_PID=""
trap 'if [ -n "$DAEMON_PID" ]; then kill "$DAEMON_PID" 2>/dev/null; wait "$DAEMON_PID" 2>/dev/null; fi
	dpkg-query -W -f="\${Status}" contact-milter 2>/dev/null | grep -q installed && $APT purge contact-milter >/dev/null 2>&1
	cleanup' EXIT

if [ "$(id -u)" != 0 ]; then
	nok "runs as root" "dpkg and apt need root"
	finish
fi
deb=$(ls build/contact-milter_*_*.deb 2>/dev/null | grep -v dbgsym | tail -1)
if [ -z "$deb" ]; then
	nok "build/contact-milter_*.deb exists" "run make deb first (make check-package does)"
	finish
fi
if dpkg-query -W -f='${Status}' contact-milter 2>/dev/null | grep -q installed || getent passwd contact-milter >/dev/null; then
	nok "no contact-milter installed or user present before the test" "$(dpkg -l contact-milter 2>&1 | tail -1)" "$(getent passwd contact-milter)"
	finish
fi
CONFF=/etc/contact-milter/contact-milter.conf
SOCK=/var/spool/postfix/contact-milter/milter.sock

expect "apt installs $deb" 0 "" $APT install "$(realpath "$deb")"
eq "dpkg says installed" "install ok installed" "$(dpkg-query -W -f='${Status}' contact-milter 2>&1)"

# The service user.
uid=$(id -u contact-milter 2>/dev/null)
if [ -n "$uid" ] && [ "$uid" -lt 1000 ]; then ok "system user contact-milter (uid $uid)"; else nok "system user contact-milter" "uid: '$uid'"; fi
eq "its primary group is contact-milter" "contact-milter" "$(id -gn contact-milter 2>&1)"
if id -Gn contact-milter 2>/dev/null | tr ' ' '\n' | grep -qx postfix; then ok "it is in group postfix"; else nok "it is in group postfix" "groups: $(id -Gn contact-milter 2>&1)"; fi
eq "its shell is nologin" "/usr/sbin/nologin" "$(getent passwd contact-milter | cut -d: -f7)"

# Files, owners and modes.
eq "the configuration is root:contact-milter 0640" "root:contact-milter 640" "$(stat -c '%U:%G %a' "$CONFF" 2>&1)"
eq "the secret is made, root:contact-milter 0640, 32 bytes" "root:contact-milter 640 32" \
	"$(stat -c '%U:%G %a %s' /etc/contact-milter/secret 2>&1)"
eq "dpkg knows it as a conffile" "$CONFF" "$(dpkg-query -W -f='${Conffiles}' contact-milter | awk '{print $1}' | grep -x "$CONFF")"
eq "/var/lib/contact-milter is contact-milter's, 0750" "contact-milter:contact-milter 750" "$(stat -c '%U:%G %a' /var/lib/contact-milter 2>&1)"
eq "the socket directory in Postfix's chroot is contact-milter:postfix 0750" "contact-milter:postfix 750" \
	"$(stat -c '%U:%G %a' /var/spool/postfix/contact-milter 2>&1)"
eq "the packaged config puts the socket in Postfix's chroot" "unix:$SOCK" "$(sed -n 's/^socket = \([^ ]*\).*/\1/p' "$CONFF")"
eq "the packaged config points at the packaged templates" "dir = /usr/share/contact-milter/templates" "$(grep '^dir' "$CONFF")"
check "templates installed" test -f /usr/share/contact-milter/templates/fr/validation.txt
expect "another user cannot read the configuration" 1 "$CONFF" setpriv --reuid=nobody --regid=nogroup --clear-groups contactctl outbox list
for page in contact-milter.8 contactctl.8 contact-web.8 contact-milter.conf.5; do
	sec=${page##*.} name=${page%.*}
	check "man $sec $name is installed" test -n "$(man -w "$sec" "$name" 2>/dev/null | grep "^/usr/share/man/man$sec/$page")"
done

# The units.
for d in contact-milter contact-web; do
	unit=/lib/systemd/system/$d.service
	eq "$d.service runs /usr/sbin/$d -f as contact-milter" "/usr/sbin/$d -f contact-milter" \
		"$(sed -n 's/^ExecStart=//p' "$unit") $(sed -n 's/^User=//p' "$unit")"
	score=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null |
		sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p')
	case "$score" in
	[0-3].*\ OK | 4.0\ OK) ok "systemd-analyze security $d.service: $score (OK band, at most 4.0)" ;;
	*) nok "systemd-analyze security $d.service: OK band, at most 4.0" "got: '$score'" ;;
	esac
	expect "systemd-analyze verify finds nothing wrong in $d.service" 0 "" sh -c "! systemd-analyze verify $unit 2>&1 | grep ."
done
UNIT=/lib/systemd/system/contact-milter.service

# As the service, the way the unit runs it.
as_service() { setpriv --reuid=contact-milter --regid=contact-milter --init-groups "$@"; }
expect "contactctl init as the service user" 0 "" as_service contactctl init
expect "contact-milter -n as the service user" 0 "configuration $CONFF OK" as_service contact-milter -n
expect "contact-web -n as the service user" 0 "" as_service contact-web -n
for d in contact-milter contact-web; do
	if $d --help 2>&1 | grep -q -- '-V'; then
		expect "$d -V prints its name and version" 0 "$d" $d -V
	else
		echo "# $d has no -V in this build: not tested"
	fi
done
# setpriv execs the daemon: $! is the daemon's PID.
setpriv --reuid=contact-milter --regid=contact-milter --init-groups contact-milter -f >/dev/null 2>"$T/daemon.log" &
DAEMON_PID=$!
if wait_unix "$SOCK"; then ok "the daemon listens on $SOCK"; else nok "the daemon listens on $SOCK" "$(cat "$T/daemon.log")"; fi
eq "the socket is group postfix, mode 0660" "contact-milter:postfix 660" "$(stat -c '%U:%G %a' "$SOCK" 2>&1)"
check "user postfix can connect to it" setpriv --reuid=postfix --regid=postfix --init-groups \
	/usr/bin/python3 -c "import socket; socket.socket(socket.AF_UNIX).connect('$SOCK')"
expect "user nobody cannot" 1 "" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	/usr/bin/python3 -c "import socket; socket.socket(socket.AF_UNIX).connect('$SOCK')"
kill -TERM "$DAEMON_PID" 2>/dev/null
wait "$DAEMON_PID"
eq "SIGTERM stops it with status 0" 0 "$?"
DAEMON_PID=""
eq "the store is the service user's" "contact-milter" "$(stat -c %U /var/lib/contact-milter/contacts.db 2>&1)"

# Purge.
expect "apt purges it" 0 "" $APT purge contact-milter
eq "dpkg knows it no more" "" "$(dpkg-query -W -f='${Status}' contact-milter 2>/dev/null | grep -v not-installed)"
eq "no user contact-milter left" "" "$(getent passwd contact-milter)"
eq "no group contact-milter left" "" "$(getent group contact-milter)"
eq "not in group postfix any more" "" "$(getent group postfix | cut -d: -f4 | tr ',' '\n' | grep -x contact-milter)"
for p in /etc/contact-milter /var/lib/contact-milter /var/spool/postfix/contact-milter /usr/sbin/contact-milter \
	/usr/sbin/contact-web /lib/systemd/system/contact-web.service /usr/bin/contactctl /usr/share/contact-milter /usr/share/man/man8/contact-milter.8.gz "$UNIT"; do
	check "$p is gone" test ! -e "$p"
done
finish
