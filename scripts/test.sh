#!/usr/bin/env bash
# Runs every test: unit tests and the black-box API suite on SQLite always, and on PostgreSQL
# whenever a server is reachable at OUTCALL_TEST_DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/postgres).
# Outside CI a missing PostgreSQL skips that suite with a loud warning; with CI=true it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

export OUTCALL_TEST_DATABASE_URL="${OUTCALL_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
# apalis' SQL macros would read DATABASE_URL at build time; never let a stray one in.
unset DATABASE_URL || true

pg_reachable() {
  if command -v psql >/dev/null 2>&1; then
    psql "$OUTCALL_TEST_DATABASE_URL" -qAtc 'select 1' >/dev/null 2>&1
  else
    python3 - "$OUTCALL_TEST_DATABASE_URL" <<'PY' 2>/dev/null
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
socket.create_connection((u.hostname or "127.0.0.1", u.port or 5432), timeout=2).close()
PY
  fi
}

# Runs cargo test, then prints one closing line with the totals of every test binary.
run_tests() {
  local log; log="$(mktemp)"
  set +e
  cargo test --all-targets "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  set -e
  local passed failed
  passed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) n += $i } END { print n + 0 }' "$log")
  failed=$(awk '/^test result:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) n += $i } END { print n + 0 }' "$log")
  rm -f "$log"
  echo
  echo "tests: ${passed:-0} passed, ${failed:-0} failed"
  return "$status"
}

if pg_reachable; then
  echo "scripts/test.sh: PostgreSQL reachable at ${OUTCALL_TEST_DATABASE_URL%%\?*}: running both suites"
  run_tests "$@"
  exit $?
fi

if [ "${CI:-}" = "true" ]; then
  echo "scripts/test.sh: PostgreSQL is not reachable at $OUTCALL_TEST_DATABASE_URL and CI=true: failing" >&2
  exit 1
fi

cat >&2 <<WARN
################################################################################
#  PostgreSQL is NOT reachable at $OUTCALL_TEST_DATABASE_URL
#  The PostgreSQL suite is SKIPPED. Only SQLite was tested.
#  Start PostgreSQL (or set OUTCALL_TEST_DATABASE_URL) to run everything.
################################################################################
WARN
status=0
run_tests "$@" -- --skip postgres:: || status=$?
echo "scripts/test.sh: WARNING: the PostgreSQL suite was skipped" >&2
exit $status
