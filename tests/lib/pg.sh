# pg.sh - a throwaway PostgreSQL cluster for the tests: initdb into a
# temporary directory as user postgres, listening on a free loopback port
# and a private unix socket directory, stopped and removed by pg_stop.
# Never the machine's own service.
#   pg_start            sets PG_DIR, PG_PORT, PG_SOCK, PG_BASE (maintenance URI)
#   pg_createdb NAME    a fresh database; prints its URI
#   pg_dropdb NAME
#   pg_uri NAME         the URI of database NAME
#   pg_psql URI SQL     one statement, unaligned output ("a|b" per row)
#   pg_crash / pg_restart   stop -m immediate (the fault) / start again
#   pg_stop
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
PG_AS="runuser -u postgres --"

pg_start() {
	PG_DIR=$(mktemp -d /tmp/cm-pg.XXXXXX)
	PG_SOCK="$PG_DIR/sock"
	PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	chown postgres:postgres "$PG_DIR"
	chmod 700 "$PG_DIR"
	(cd / && $PG_AS "$PGBIN/initdb" -N -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
		>"$PG_DIR/initdb.log" 2>&1) || { cat "$PG_DIR/initdb.log" >&2; return 1; }
	$PG_AS mkdir "$PG_SOCK"
	chmod 755 "$PG_DIR"
	# fsync stays on: the durability tests need it.  Enough connections for
	# two milters' pools, their workers and the CLI at once.
	cat >>"$PG_DIR/data/postgresql.conf" <<CONF
max_connections = 300
shared_buffers = 64MB
synchronous_commit = on
CONF
	pg_restart || return 1
	PG_BASE="postgresql:///postgres?host=$PG_SOCK&port=$PG_PORT&user=postgres"
	export PG_DIR PG_SOCK PG_PORT PG_BASE
}

pg_restart() {
	(cd / && $PG_AS "$PGBIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 -s \
		-o "-k $PG_SOCK -h 127.0.0.1 -p $PG_PORT" start) || { tail -20 "$PG_DIR/server.log" >&2; return 1; }
}

pg_crash() { (cd / && $PG_AS "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -s stop); }

pg_stop() {
	[ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR" ] || return 0
	(cd / && $PG_AS "$PGBIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -s stop) >/dev/null 2>&1
	rm -rf "$PG_DIR"
	PG_DIR=""
}

pg_uri() { echo "postgresql:///$1?host=$PG_SOCK&port=$PG_PORT&user=postgres"; }
pg_psql() { "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
pg_createdb() { pg_psql "$PG_BASE" "CREATE DATABASE \"$1\"" && pg_uri "$1"; }
pg_dropdb() { pg_psql "$PG_BASE" "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"; }
