# Finds a PostgreSQL the tests can use, or starts a throwaway one under var/. Sourced by ./portal test.
# Sets TEST_POSTGRES_URL (an admin connection; each test run creates and drops its own database).

PRIVATE_PG_PORT=${PRIVATE_PG_PORT:-54329}

pg_answers() {
  "$VENV/bin/python" - "$1" <<'PY'
import asyncio, sys
import asyncpg
async def main():
    connection = await asyncio.wait_for(asyncpg.connect(sys.argv[1]), 3)
    await connection.close()
try:
    asyncio.run(main())
except Exception:
    sys.exit(1)
PY
}

ensure_test_postgres() {
  if [ -n "${TEST_POSTGRES_URL:-}" ] && pg_answers "$TEST_POSTGRES_URL"; then
    return 0
  fi
  local shared="postgresql://postgres@127.0.0.1:5432/postgres"
  if pg_answers "$shared"; then
    export TEST_POSTGRES_URL="$shared"
    return 0
  fi
  local private="postgresql://postgres@127.0.0.1:$PRIVATE_PG_PORT/postgres"
  if pg_answers "$private"; then
    export TEST_POSTGRES_URL="$private"
    return 0
  fi
  say "Starting a throwaway PostgreSQL on port $PRIVATE_PG_PORT (data in var/test-postgres)"
  apt_install postgresql
  local bin; bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  local data="$ROOT/var/test-postgres"
  local run_as=()
  if [ "$(id -u)" -eq 0 ]; then
    # initdb refuses to run as root; the Debian package created the postgres user.
    run_as=(runuser -u postgres --)
    mkdir -p "$data"; chown postgres "$data"
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    "${run_as[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust >/dev/null
  fi
  "${run_as[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $PRIVATE_PG_PORT -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
  export TEST_POSTGRES_URL="$private"
}
