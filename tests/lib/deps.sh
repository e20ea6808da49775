#!/bin/sh
# Install the Debian packages the build, the tests and the demo need, when
# some are missing and we are root (CI, a fresh machine).  Otherwise say
# what is missing.
PKGS="build-essential pkg-config libglib2.0-dev libgmime-3.0-dev libcurl4-openssl-dev libsqlite3-dev libxml2-dev
libcmocka-dev libmilter-dev postfix swaks miltertest jq sqlite3 python3 clang libclang-rt-14-dev
libmicrohttpd-dev chromium chromium-driver python3-selenium curl wrk
man-db groff-base m4 libwrap0 debhelper dpkg-dev systemd
opendkim opendkim-tools python3-dkim
postgresql-15 libpq-dev"
# man-db, groff-base: tests/cli/manpage_keys.sh; m4, libwrap0: tests/e2e/sendmail.sh runs Debian's
# sendmail-bin unpacked (installing it would replace Postfix); debhelper, dpkg-dev, systemd
# (systemd-analyze): make deb and make check-package; opendkim, python3-dkim: tests/e2e/attack.sh
# verifies real DKIM signatures ahead of the milter.
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "missing Debian packages:$missing (run as root, or: sudo apt-get install$missing)" >&2
	exit 1
fi
echo "installing:$missing"
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
	echo "apt-get install failed for:$missing" >&2
	exit 1
}
