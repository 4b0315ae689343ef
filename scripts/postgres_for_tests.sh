#!/usr/bin/env bash
# A throwaway PostgreSQL server for the search tests (tests/test_search_workers.py, marker "postgres").
#
#   eval "$(scripts/postgres_for_tests.sh start)"   # starts it; exports RMLP_TEST_POSTGRES_URL
#   pytest -m postgres tests/test_search_workers.py
#   scripts/postgres_for_tests.sh stop               # stops it and removes its data
#
# Without this script the tests start (and stop) such a server themselves. Needs the Debian
# package postgresql (scripts/install_system_packages.sh). As root, the server runs as the
# `postgres` user (initdb refuses root). Trust authentication, 127.0.0.1 only.
set -euo pipefail
STATE_FILE="${TMPDIR:-/tmp}/rmlp-test-postgres.env"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -n "$BIN" ] && [ -x "$BIN/initdb" ] || { echo "PostgreSQL is not installed (scripts/install_system_packages.sh)" >&2; exit 1; }
AS=()
[ "$(id -u)" -eq 0 ] && AS=(runuser -u postgres --)

case "${1:-}" in
  start)
    BASE="$(mktemp -d "${TMPDIR:-/tmp}/rmlp-pg-XXXXXX")"
    [ "$(id -u)" -eq 0 ] && chown postgres "$BASE"
    PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    "${AS[@]}" "$BIN/initdb" -D "$BASE/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
    "${AS[@]}" "$BIN/pg_ctl" -D "$BASE/data" -l "$BASE/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $PORT -k $BASE -c fsync=off -c max_connections=100" start >/dev/null
    "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres rmlp_test
    printf 'BASE=%s\n' "$BASE" > "$STATE_FILE"
    echo "export RMLP_TEST_POSTGRES_URL=postgresql+psycopg2://postgres@127.0.0.1:$PORT/rmlp_test"
    ;;
  stop)
    [ -f "$STATE_FILE" ] || { echo "no test server recorded in $STATE_FILE" >&2; exit 0; }
    # shellcheck disable=SC1090
    . "$STATE_FILE"
    "${AS[@]}" "$BIN/pg_ctl" -D "$BASE/data" -m fast -w stop >/dev/null || true
    rm -rf "$BASE" "$STATE_FILE"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
