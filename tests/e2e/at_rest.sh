#!/bin/sh
# Rule 6 (issue 8): no copy of the store's files, taken at any moment, and no
# copy of the daemon's log holds a token that still works.  The store and the
# log are copied while the validation mails are queued (the relay down) and
# again once the milter's outbox worker has sent them to an SMTP sink; every
# string of 26 Crockford-looking characters in the copies (in the raw bytes,
# in every value of every table, in every decoded MIME part) is tried as a
# token on a copy of the store, through `contactctl request accept`.
. tests/lib/common.sh
. tests/lib/postfix.sh
MT="python3 $top/tests/lib/mailtool.py"
SINK=$(free_port)
SMTP_PORT=$SINK write_conf
cast
"$CTL" account add dave-ovh --email dave@example.com --lang en --voip-validated --payments-ok >/dev/null
"$CTL" group add g2-ovh-1 --admin alice-ovh --tech alice-ovh --billing alice-ovh >/dev/null
check "the milter starts, its relay (the sink) not yet listening" start_milter
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
"$CTL" request create g2-ovh-1 --by alice-ovh --billing carol-ovh --admin dave-ovh >/dev/null
sleep 3 # the worker tried and failed at least once: the mails stay queued
eq "six validation mails are queued" "6" \
	"$("$CTL" --json outbox list | jq '[.[] | select(.kind == "validation" and .state == "queued")] | length')"

snapshot() { # DIR: what a backup or a stolen disk would hold now
	mkdir -p "$1"
	for f in contacts.db contacts.db-wal contacts.db-shm milter.log; do
		[ -f "$T/$f" ] && cp "$T/$f" "$1/"
	done
	true
}
snapshot "$T/snap1"
start_sink "$SINK"
i=0
while [ $i -lt 300 ] && [ "$(sink_count)" -lt 6 ]; do sleep 0.1; i=$((i + 1)); done
i=0
while [ $i -lt 100 ] && [ "$("$CTL" --json outbox list | jq '[.[] | select(.state != "sent")] | length')" != 0 ]; do
	sleep 0.1; i=$((i + 1))
done
eq "the six validation mails are sent and received" "6 6" "$(sink_count) $("$CTL" --json outbox list --state sent | jq length)"
snapshot "$T/snap2"

# Every candidate in a snapshot: raw bytes of each file, every value of every
# table of a copy of the database, every decoded MIME part of those values.
candidates() { # DIR
	rm -rf "$T/scan" && mkdir "$T/scan" && cp "$1"/contacts.db* "$T/scan/" 2>/dev/null
	python3 - "$1" "$T/scan/contacts.db" <<'PY'
import sys, os, re, sqlite3, email
from email import policy
snap, db = sys.argv[1], sys.argv[2]
texts = []
for name in sorted(os.listdir(snap)):
    texts.append(open(os.path.join(snap, name), "rb").read().decode("latin-1"))
try:
    con = sqlite3.connect(db)
    for (t,) in con.execute("select name from sqlite_master where type = 'table'").fetchall():
        for row in con.execute('select * from "%s"' % t.replace('"', '""')):
            for v in row:
                if isinstance(v, bytes):
                    v = v.decode("latin-1")
                if not isinstance(v, str):
                    continue
                texts.append(v)
                if "Content-Type" in v or "MIME-Version" in v:
                    m = email.message_from_string(v, policy=policy.default)
                    texts.append(str(m.get("Subject", "")) + "\n" + str(m.get("Reply-To", "")))
                    for part in m.walk():
                        if part.get_content_maintype() == "text":
                            try:
                                texts.append(part.get_content())
                            except Exception:
                                pass
except sqlite3.Error as e:
    print("# scan: %s" % e, file=sys.stderr)
crock = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
found = set()
for text in texts:
    # alphanumeric groups separated by one hyphen or space: any run of
    # consecutive groups 26 characters long in all is a candidate
    for run in re.finditer(r"[0-9A-Za-z]+(?:[- ][0-9A-Za-z]+)*", text):
        groups = re.split(r"[- ]", run.group(0))
        for i in range(len(groups)):
            s = ""
            for g in groups[i:]:
                s += g
                if len(s) >= 26:
                    break
            if len(s) == 26:
                c = s.upper()
                if crock.match(c) and re.search("[0-9]", c) and re.search("[A-Z]", c):
                    found.add(c)
for c in sorted(found):
    print(c)
PY
}
sed "s|^path = .*|path = $T/probe/contacts.db|" "$CONF" >"$T/probe.conf"
REQS=$("$CTL" --json request list | jq -r '.[].id')
works() { # TOKEN SNAPSHOT-DIR: exit 0 when it accepts some request on a fresh copy of the store
	for r in $REQS; do
		rm -rf "$T/probe" && mkdir "$T/probe"
		cp "$2/contacts.db" "$T/probe/"
		[ -f "$2/contacts.db-wal" ] && cp "$2/contacts.db-wal" "$T/probe/"
		"$CTL" -c "$T/probe.conf" request accept "$r" --token "$1" >/dev/null 2>&1 && return 0
	done
	return 1
}
REAL=$(for f in "$T"/sink/*; do $MT token "$f"; done | sort -u)
eq "(the six real tokens are read from the mails received)" "6" "$(echo "$REAL" | grep -c .)"
first=$(echo "$REAL" | head -1)
check "(the probe finds a working token: the real one accepts on a copy of the store)" works "$first" "$T/snap2"
for s in 1 2; do
	when=$([ $s = 1 ] && echo "while the mails are queued" || echo "once they are sent")
	candidates "$T/snap$s" >"$T/cand$s"
	n=$(grep -c . "$T/cand$s")
	leaked=$(echo "$REAL" | grep -xF -f "$T/cand$s" | wc -l)
	eq "a copy of the store and the log $when holds none of the real tokens" "0" "$leaked"
	working=""
	while read -r c; do
		[ -n "$c" ] || continue
		works "$c" "$T/snap$s" && working="$working $c"
	done <"$T/cand$s"
	eq "none of the $n token-like strings in the copy $when works as a token" "" "$working"
done
stop_milter
finish
