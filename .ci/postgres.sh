#!/usr/bin/env bash
# Start a local PostgreSQL for the store tests and print its SQLAlchemy URL on stdout.
#
#   RUXTRACK_TEST_PG_URL="$(bash .ci/postgres.sh)"
#
# Installs Debian's postgresql if no server is installed, starts the newest installed cluster
# (creating it if needed), creates the role and database (idempotent) and prints
#   postgresql+psycopg://ruxtrack:ruxtrack@127.0.0.1:<port>/ruxtrack_test
# Progress goes to stderr so that stdout carries only the URL. The role may create databases:
# each store test creates and drops its own.
set -euo pipefail

PG_USER="${PG_USER:-ruxtrack}"
PG_PASSWORD="${PG_PASSWORD:-ruxtrack}"
PG_DB="${PG_DB:-ruxtrack_test}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
log() { echo "postgres.sh: $*" >&2; }

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  log "installing Debian postgresql"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends postgresql >&2
fi

VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
CLUSTER="main"
if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
  log "creating cluster $VERSION/$CLUSTER"
  $SUDO pg_createcluster "$VERSION" "$CLUSTER" >&2
fi
if ! pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $4}' | grep -qx online; then
  log "starting cluster $VERSION/$CLUSTER"
  $SUDO pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $3}')"

as_postgres() {
  if [ "$(id -un)" = "postgres" ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
psql_admin() { as_postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -qtA "$@"; }

for _ in $(seq 1 30); do
  if as_postgres pg_isready -q -p "$PORT"; then break; fi
  sleep 0.5
done

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
  log "creating role $PG_USER"
  psql_admin -c "CREATE ROLE \"$PG_USER\" LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
  log "creating database $PG_DB"
  psql_admin -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\""
fi

echo "postgresql+psycopg://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${PORT}/${PG_DB}"
