#!/bin/sh
# Entrypoint of paasportal/postgres:15, modelled on the official postgres
# image's docker-entrypoint.sh (busybox sh, Debian's PostgreSQL 15 binaries).
#
# First start on an empty $PGDATA: initdb with POSTGRES_USER/POSTGRES_PASSWORD,
# create POSTGRES_DB, allow password (scram-sha-256) logins from anywhere, run
# /docker-entrypoint-initdb.d/*.sh|*.sql. Later starts reuse the data.
# Arguments starting with '-' go to postgres (`... paasportal/postgres:15 -c k=v`).
#
# Replica mode (this image's own design; the official image has none):
#   primary: POSTGRES_REPLICATION_USER + POSTGRES_REPLICATION_PASSWORD create
#            a REPLICATION role and a pg_hba line for it at initdb time.
#   replica: POSTGRES_REPLICA_OF=host[:port] with the same two variables:
#            on an empty $PGDATA, wait for the primary, pg_basebackup -R,
#            then run as a hot standby (read-only, streaming).
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

log() { echo "docker-entrypoint: $*"; }
die() {
	echo "docker-entrypoint: error: $*" >&2
	exit 1
}

case "${1:-}" in
'' | -*) set -- postgres "$@" ;;
esac

# As root: own the data directory, then run this script again as postgres.
if [ "$1" = postgres ] && [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chmod 0700 "$PGDATA"
	find "$PGDATA" ! -user postgres -exec chown postgres:postgres {} +
	chown postgres:postgres /var/run/postgresql
	chmod 3777 /var/run/postgresql
	# Full path: busybox sh would run its own (smaller) setpriv applet.
	exec /usr/bin/setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [ "$1" != postgres ]; then
	exec "$@"
fi

POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
REPL_USER=${POSTGRES_REPLICATION_USER:-}
REPL_PASSWORD=${POSTGRES_REPLICATION_PASSWORD:-}

init_primary() {
	auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
		cat >&2 <<-'EOF'
			Error: Database is uninitialized and superuser password is not specified.
			       You must specify POSTGRES_PASSWORD to a non-empty value for the
			       superuser. For example, "-e POSTGRES_PASSWORD=password" on "docker run".

			       You may also use "POSTGRES_HOST_AUTH_METHOD=trust" to allow all
			       connections without a password. This is *not* recommended.
		EOF
		exit 1
	fi
	pwfile=$(mktemp)
	printf '%s\n' "${POSTGRES_PASSWORD:-}" >"$pwfile"
	# shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a word list, as upstream
	initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 \
		--locale=C.UTF-8 ${POSTGRES_INITDB_ARGS:-}
	rm -f "$pwfile"
	echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
	{
		echo
		echo "host all all all $auth"
		if [ -n "$REPL_USER" ]; then
			echo "host replication \"$REPL_USER\" all $auth"
		fi
	} >>"$PGDATA/pg_hba.conf"

	# A temporary server on the Unix socket only, for the setup SQL.
	pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
	export PGUSER="$POSTGRES_USER" PGPASSWORD="${POSTGRES_PASSWORD:-}"
	psql_setup() { psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --dbname postgres "$@"; }
	if [ "$POSTGRES_DB" != postgres ]; then
		psql_setup --set db="$POSTGRES_DB" <<-'EOSQL'
			CREATE DATABASE :"db";
		EOSQL
	fi
	if [ -n "$REPL_USER" ]; then
		[ -n "$REPL_PASSWORD" ] || die "POSTGRES_REPLICATION_USER needs POSTGRES_REPLICATION_PASSWORD"
		psql_setup --set u="$REPL_USER" --set p="$REPL_PASSWORD" <<-'EOSQL'
			CREATE ROLE :"u" WITH REPLICATION LOGIN PASSWORD :'p';
		EOSQL
		log "replication role $REPL_USER created"
	fi
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sh)
			log "running $f"
			# shellcheck disable=SC1090 # user-provided init scripts
			if [ -x "$f" ]; then "$f"; else . "$f"; fi
			;;
		*.sql)
			log "running $f"
			psql_setup --dbname "$POSTGRES_DB" -f "$f"
			;;
		*'/*') ;;
		*) log "ignoring $f" ;;
		esac
	done
	unset PGPASSWORD
	pg_ctl -D "$PGDATA" -m fast -w stop
	log "PostgreSQL init process complete; ready for start up."
}

init_replica() {
	primary=${POSTGRES_REPLICA_OF%:*}
	port=5432
	case "$POSTGRES_REPLICA_OF" in *:*) port=${POSTGRES_REPLICA_OF##*:} ;; esac
	if [ -z "$REPL_USER" ] || [ -z "$REPL_PASSWORD" ]; then
		die "POSTGRES_REPLICA_OF needs POSTGRES_REPLICATION_USER and POSTGRES_REPLICATION_PASSWORD"
	fi
	log "waiting for primary $primary:$port"
	i=0
	until pg_isready -q -h "$primary" -p "$port"; do
		i=$((i + 1))
		[ "$i" -lt 120 ] || die "primary $primary:$port not ready after 60 s"
		sleep 0.5
	done
	log "base backup from $primary:$port as $REPL_USER"
	if ! PGPASSWORD="$REPL_PASSWORD" pg_basebackup -h "$primary" -p "$port" -U "$REPL_USER" \
		-D "$PGDATA" -X stream -R -c fast --no-password; then
		find "$PGDATA" -mindepth 1 -delete # a partial copy is of no use
		die "pg_basebackup from $primary:$port failed"
	fi
	chmod 0700 "$PGDATA"
	log "replica initialised; starting as a hot standby of $primary:$port"
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -n "${POSTGRES_REPLICA_OF:-}" ]; then
		init_replica
	else
		init_primary
	fi
else
	log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi

exec "$@"
