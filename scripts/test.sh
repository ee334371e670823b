#!/usr/bin/env bash
# Runs every test: unit tests and the black-box API suite on SQLite always, and on PostgreSQL
# whenever a server is reachable at OUTCALL_TEST_DATABASE_URL
# (default postgres://postgres@127.0.0.1:5432/postgres); the browser tests (tests/api/web.rs)
# in Debian's Chromium, which this script installs with playwright-core when they are missing.
# Outside CI a missing PostgreSQL or browser skips that part with a loud warning; with CI=true
# it fails.
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

# Debian's Chromium and playwright-core (pinned in tests/web/package-lock.json).
browser_ready() {
  local chromium="${OUTCALL_CHROMIUM:-/usr/bin/chromium}"
  if [ ! -x "$chromium" ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "scripts/test.sh: installing Debian's chromium for the browser tests"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 ||
      { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1; } || true
  fi
  if { [ ! -d tests/web/node_modules/playwright-core ] || [ ! -d tests/web/node_modules/axe-core ]; } && command -v npm >/dev/null 2>&1; then
    echo "scripts/test.sh: installing playwright-core and axe-core for the browser tests"
    (cd tests/web && npm ci --no-audit --no-fund --loglevel=error) || true
  fi
  [ -x "$chromium" ] && command -v node >/dev/null 2>&1 && [ -d tests/web/node_modules/playwright-core ]
}

skips=()
missing=()
if ! pg_reachable; then
  skips+=(--skip postgres::)
  missing+=("PostgreSQL at $OUTCALL_TEST_DATABASE_URL (the PostgreSQL suite)")
fi
if ! browser_ready; then
  skips+=(--skip web::)
  missing+=("Chromium/Node.js/playwright-core (the browser tests)")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "scripts/test.sh: PostgreSQL reachable at ${OUTCALL_TEST_DATABASE_URL%%\?*} and a browser ready: running everything"
  run_tests "$@"
  exit $?
fi

if [ "${CI:-}" = "true" ]; then
  printf 'scripts/test.sh: CI=true and not available: %s\n' "${missing[@]}" >&2
  exit 1
fi

{
  echo "################################################################################"
  for m in "${missing[@]}"; do echo "#  NOT available: $m -- SKIPPED"; done
  echo "#  Start PostgreSQL (or set OUTCALL_TEST_DATABASE_URL) and install chromium/npm"
  echo "#  to run everything."
  echo "################################################################################"
} >&2
status=0
run_tests "$@" -- "${skips[@]}" || status=$?
printf 'scripts/test.sh: WARNING: skipped %s\n' "${missing[@]}" >&2
exit $status
