# Finds a Redis the tests can use, or starts a throwaway one. Sourced by ./portal test.
# Sets TEST_REDIS_URL (the tests use database 15 and keys of their own).

PRIVATE_REDIS_PORT=${PRIVATE_REDIS_PORT:-63799}

redis_answers() {
  "$VENV/bin/python" - "$1" <<'PY'
import asyncio, sys
from redis.asyncio import Redis
async def main():
    client = Redis.from_url(sys.argv[1], socket_connect_timeout=3)
    try:
        await client.ping()
    finally:
        await client.aclose()
try:
    asyncio.run(main())
except Exception:
    sys.exit(1)
PY
}

ensure_test_redis() {
  if [ -n "${TEST_REDIS_URL:-}" ] && redis_answers "$TEST_REDIS_URL"; then
    return 0
  fi
  local url
  for url in "redis://127.0.0.1:6379/15" "redis://127.0.0.1:$PRIVATE_REDIS_PORT/15"; do
    if redis_answers "$url"; then
      export TEST_REDIS_URL="$url"
      return 0
    fi
  done
  say "Starting a throwaway Redis on port $PRIVATE_REDIS_PORT"
  apt_install redis-server
  mkdir -p "$ROOT/var"
  redis-server --port "$PRIVATE_REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
    --dir "$ROOT/var" --logfile "$ROOT/var/test-redis.log"
  url="redis://127.0.0.1:$PRIVATE_REDIS_PORT/15"
  local tries=0
  until redis_answers "$url"; do
    tries=$((tries + 1))
    [ "$tries" -ge 50 ] && { echo "The throwaway Redis did not answer; see var/test-redis.log" >&2; exit 1; }
    sleep 0.2
  done
  export TEST_REDIS_URL="$url"
}
