#!/bin/sh
# Entrypoint of paasportal/odoo-standin, modelled on the official Odoo
# image's entrypoint.sh: database settings come from odoo.conf ($ODOO_RC) when
# it has them, else from HOST/PORT/USER/PASSWORD (defaults db/5432/odoo/odoo),
# and are passed to odoo as --db_host/--db_port/--db_user/--db_password.
# The official image then runs wait-for-psql.py (30 s); the stand-in's odoo
# retries its first connection for 30 s itself (STANDIN_DB_WAIT).
set -eu

if [ -n "${PASSWORD_FILE:-}" ]; then PASSWORD=$(cat "$PASSWORD_FILE"); fi
: "${HOST:=${DB_PORT_5432_TCP_ADDR:-db}}"
: "${PORT:=${DB_PORT_5432_TCP_PORT:-5432}}"
: "${USER:=${DB_ENV_POSTGRES_USER:-${POSTGRES_USER:-odoo}}}"
: "${PASSWORD:=${DB_ENV_POSTGRES_PASSWORD:-${POSTGRES_PASSWORD:-odoo}}}"

# conf_or PARAM DEFAULT: the value of PARAM in $ODOO_RC, else DEFAULT.
conf_or() {
	if [ -f "${ODOO_RC:-}" ] && grep -qE "^[[:space:]]*$1[[:space:]]*=" "$ODOO_RC"; then
		grep -E "^[[:space:]]*$1[[:space:]]*=" "$ODOO_RC" | tail -n 1 |
			sed -e 's/^[^=]*=[[:space:]]*//' -e 's/[[:space:]]*$//' -e 's/["\r]//g'
	else
		printf '%s\n' "$2"
	fi
}

run_odoo() {
	exec odoo "$@" \
		--db_host "$(conf_or db_host "$HOST")" \
		--db_port "$(conf_or db_port "$PORT")" \
		--db_user "$(conf_or db_user "$USER")" \
		--db_password "$(conf_or db_password "$PASSWORD")"
}

case "${1:-}" in
-- | odoo)
	shift
	if [ "${1:-}" = scaffold ]; then exec odoo "$@"; fi
	run_odoo "$@"
	;;
-*)
	run_odoo "$@"
	;;
*)
	exec "$@"
	;;
esac
