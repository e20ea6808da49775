#!/bin/sh
# Bad input: a clear message naming what was wrong, the right exit code, and
# the store exactly as it was.
. tests/lib/common.sh
write_conf
cast
"$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
before=$(db_digest)
same() { eq "$1: store unchanged" "$before" "$(db_digest)"; }

expect "unknown NIC is not found" 3 "account zz99-ovh does not exist" "$CTL" account show zz99-ovh
expect "unknown incoming NIC is not found" 3 "the new billing contact zz99-ovh does not exist" \
	"$CTL" request create g1-ovh-1 --by alice-ovh --billing zz99-ovh
same "unknown incoming NIC"
expect "malformed NIC is a usage error" 1 "malformed NIC 'bad nic'" "$CTL" account add "bad nic" --email x@example.com
expect "malformed NIC with a newline is refused" 1 "malformed NIC" "$CTL" account add "$(printf 'a\nb')" --email x@example.com
expect "malformed e-mail is a usage error" 1 "malformed e-mail address 'no-at-sign'" \
	"$CTL" account add new-ovh --email no-at-sign
expect "an e-mail with a CR/LF is refused" 1 "malformed e-mail address" \
	"$CTL" account add new-ovh --email "$(printf 'a@b.example\r\nBcc: x@y.example')"
expect "an unknown language is refused" 1 "unknown language 'de'" "$CTL" account add new-ovh --email n@example.com --lang de
expect "an existing account is refused" 2 "account alice-ovh exists already" "$CTL" account add alice-ovh --email a@example.com
same "malformed accounts"
expect "unknown group is not found" 3 "group nope-ovh does not exist" "$CTL" group show nope-ovh
expect "request for an unknown group is not found" 3 "group nope-ovh does not exist" \
	"$CTL" request create nope-ovh --by alice-ovh --tech bob-ovh
expect "a group with an unknown contact is not found" 3 "account zz99-ovh does not exist" \
	"$CTL" group add g9-ovh --admin alice-ovh --tech zz99-ovh --billing alice-ovh
expect "bad token format is a usage error" 1 "malformed token 'not-a-token'" "$CTL" request accept 1 --token not-a-token
expect "a well-formed unknown token is not found" 3 "unknown token" "$CTL" request accept 1 --token 00000000000000000000000000
expect "a malformed request id is a usage error" 1 "malformed request id 'abc'" "$CTL" request show abc
expect "an unknown request is not found" 3 "request 99 does not exist" "$CTL" request show 99
expect "an unknown state is a usage error" 1 "unknown state 'open'" "$CTL" request list --state open
expect "an unknown option is a usage error" 1 "Unknown option --colour" "$CTL" request list --colour
expect "an unknown command is a usage error" 1 "unknown command 'frobnicate'" "$CTL" frobnicate
expect "a missing --by is a usage error" 1 "--by is required" "$CTL" request create g1-ovh-1 --tech bob-ovh
expect "nothing to change is a usage error" 1 "nothing to change" "$CTL" request create g1-ovh-1 --by alice-ovh
expect "the request creator must be the admin" 2 "only the admin of group g1-ovh-1 (alice-ovh)" \
	"$CTL" request create g1-ovh-1 --by bob-ovh --billing carol-ovh
same "refused requests"

# --- the config ---
expect "a missing config names its path" 1 "cannot read config $T/none.conf" "$CTL" -c "$T/none.conf" request list
mkdir "$T/dir.conf"
expect "an unreadable config names its path" 1 "cannot read config $T/dir.conf" "$CTL" -c "$T/dir.conf" request list
cp "$CONF" "$T/typo.conf"
printf '[policy]\nmax_failure = 3\n' >>"$T/typo.conf"
line=$(wc -l <"$T/typo.conf")
expect "an unknown config key names file, line and key" 1 "$T/typo.conf:$line: unknown key 'max_failure' in [policy]" \
	"$CTL" -c "$T/typo.conf" request list
sed 's/^request_ttl = .*/request_ttl = two weeks/' "$CONF" >"$T/bad.conf"
expect "a bad config value names file, line, key and what was expected" 1 "bad value for key 'request_ttl' in [policy]: 'two weeks'" \
	"$CTL" -c "$T/bad.conf" request list
expect "the environment names the config when -c is absent" 1 "cannot read config $T/env.conf" \
	env CONTACT_MILTER_CONF="$T/env.conf" "$CTL" request list
sed "s|^path = .*|path = $T/missing.db|" "$CONF" >"$T/nostore.conf"
expect "a store that does not exist says to run init" 1 "run 'contactctl init' first" "$CTL" -c "$T/nostore.conf" request list
sed "s|^path = .*|path = $T/contacts.db/x/y.db|" "$CONF" >"$T/badpath.conf"
expect "a store that cannot be created is an I/O failure" 4 "cannot create store $T/contacts.db/x/y.db" \
	"$CTL" -c "$T/badpath.conf" init
same "config errors"

# --- a store that cannot be written: read-only, then full ---
ro="$T/ro"
mkdir -p "$ro"
if mount -t tmpfs -o size=2m tmpfs "$ro" 2>/dev/null; then
	sed "s|^path = .*|path = $ro/contacts.db|" "$CONF" >"$T/ro.conf"
	CONTACT_MILTER_CONF="$T/ro.conf" cast
	CONTACT_MILTER_CONF="$T/ro.conf" "$CTL" request create g1-ovh-1 --by alice-ovh --tech bob-ovh >/dev/null
	rodigest() { sqlite3 "$ro/contacts.db" .dump | md5sum | cut -d' ' -f1; }
	tok=$(CONTACT_MILTER_CONF="$T/ro.conf" token_for 1 bob@example.net)
	rbefore=$(rodigest)
	mount -o remount,ro "$ro"
	expect "a read-only store is a temporary failure with a clear message" 4 "store $ro/contacts.db" \
		"$CTL" -c "$T/ro.conf" request accept 1 --token "$tok"
	mount -o remount,rw "$ro"
	eq "read-only store: unchanged" "$rbefore" "$(rodigest)"
	# Fill the disk, then try to create a request.
	rbefore=$(rodigest)
	dd if=/dev/zero of="$ro/fill" bs=4k 2>/dev/null
	expect "a full disk is a temporary failure" 4 "store $ro/contacts.db" \
		"$CTL" -c "$T/ro.conf" request create g1-ovh-1 --by alice-ovh --billing carol-ovh
	rm -f "$ro/fill"
	eq "full disk: store unchanged" "$rbefore" "$(rodigest)"
	expect "with room again, the same call goes through" 0 "created" \
		"$CTL" -c "$T/ro.conf" request create g1-ovh-1 --by alice-ovh --billing carol-ovh
	umount "$ro"
else
	for n in 1 2 3 4 5; do ok "read-only and full-disk store # SKIP cannot mount a tmpfs here"; done
fi
finish
