#!/usr/bin/env bash
# Fuzzes the HTTP API through its own OpenAPI description with schemathesis.
#
# For each backend (SQLite always; PostgreSQL when reachable) it starts the release binary on a
# fresh database, creates real tokens (admin, lead, agent, viewer) and real rows (offer, script,
# campaigns with contacts, a DNC entry, a leased call) so that ids exist, then runs schemathesis
# against /openapi.json once per role. A 5xx on any input is a defect: the run fails if
# schemathesis' `not_a_server_error` check fails or if the server's own request counter
# (/metrics) shows any 5xx. Other findings (responses that do not match the description) are
# printed and counted; FUZZ_STRICT=1 makes them fail the run too.
#
# Usage: scripts/fuzz-api.sh
# Environment:
#   FUZZ_MAX_EXAMPLES  cases per operation and phase (default 50; about 5 minutes for both backends)
#   FUZZ_BACKENDS      "sqlite postgres" (default; postgres is skipped if unreachable)
#   FUZZ_ROLES         "admin agent viewer" (default)
#   FUZZ_SEED          a fixed seed for a reproducible run (default: random, printed)
#   FUZZ_STRICT        1: conformance findings fail the run as well
#   FUZZ_TEXT          unicode: every generated string may be replaced by or joined with
#                      Chinese, emoji, combining and right-to-left marks, full-width digits and
#                      NUL (scripts/fuzz_hooks_unicode.py); default: schemathesis' own strings
#   FUZZ_NO_BUILD      1: use target/release/outcall (or BIN) as it is
#   BIN                the server binary to fuzz (default target/release/outcall)
#   FUZZ_VERBOSE       1: print schemathesis' failure details for every role
#   FUZZ_KEEP_LOGS     a directory to copy the schemathesis logs into
#   OUTCALL_TEST_DATABASE_URL  PostgreSQL admin URL (default postgres://postgres@127.0.0.1:5432/postgres)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-50}"
BACKENDS="${FUZZ_BACKENDS:-sqlite postgres}"
ROLES="${FUZZ_ROLES:-admin agent viewer}"
SEED="${FUZZ_SEED:-$RANDOM$RANDOM}"
PG_ADMIN="${OUTCALL_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
VENV="$ROOT/.venv-fuzz"
BIN="${BIN:-$ROOT/target/release/outcall}"
ADMIN=fuzz-admin-token-0123456789
WORK="$(mktemp -d)"
SERVER_PID=""
PG_DB=""

# The checks every role runs. `negative_data_rejection`, `positive_data_acceptance` and
# `use_after_free`-style checks assume semantics the contract does not promise (a lead may
# legitimately get 404 for an id that does not exist, 409 for a state change), so they are
# left out; `ignored_auth` stays in: every operation must refuse a missing or bad token.
CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,ignored_auth"

cleanup() {
  stop_server
  if [ -n "$PG_DB" ]; then
    psql "$PG_ADMIN" -qAtc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

install_schemathesis() {
  if [ ! -x "$VENV/bin/st" ]; then
    echo "== installing schemathesis into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'schemathesis>=4,<5'
  fi
  echo "== $("$VENV/bin/st" --version)"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start_server() { # start_server DATABASE_URL
  local port; port="$(free_port)"
  BASE="http://127.0.0.1:$port"
  # All-day calling hours and no pressure rules, so the agent can lease a call at any hour;
  # a high failed-auth limit, because ignored_auth sends many bad tokens on purpose.
  env OUTCALL_DATABASE_URL="$1" OUTCALL_LISTEN="127.0.0.1:$port" OUTCALL_BOOTSTRAP_TOKEN="$ADMIN" \
      OUTCALL_CALLING_HOURS=00:00-24:00 OUTCALL_PHONE_MIN_GAP=0s OUTCALL_PHONE_CAP=1000/1h \
      OUTCALL_AUTH_FAILURES_PER_MINUTE=1000000 RUST_LOG=warn \
      "$BIN" serve >"$WORK/server.out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    curl -fs "$BASE/readyz" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not start:"; cat "$WORK/server.err"; exit 1
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

api() { # api TOKEN METHOD PATH [JSON]: prints the body, fails on a non-2xx
  curl -fsS -X "$2" "$BASE$3" -H "Authorization: Bearer $1" -H 'content-type: application/json' ${4:+-d "$4"}
}

# Rows for the fuzzer to find: ids 1, 2, … exist for every resource, so generated path ids
# hit real rows as well as missing ones.
seed_data() {
  LEAD=$(api "$ADMIN" POST /v1/tokens '{"role":"lead","name":"fuzz lead"}' | jq -r .token)
  VIEWER=$(api "$ADMIN" POST /v1/tokens '{"role":"viewer","name":"fuzz viewer"}' | jq -r .token)
  AGENT=$(api "$LEAD" POST /v1/agents '{"name":"王芳","team":"north"}' | jq -r .token)
  api "$LEAD" POST /v1/agents '{"name":"李雷"}' >/dev/null
  api "$LEAD" POST /v1/offers '{"code":"5G-PLUS","name":"5G 套餐升级","description":"全国通用"}' >/dev/null
  api "$LEAD" POST /v1/offers '{"code":"CARE","name":"关怀回访"}' >/dev/null
  local script
  script=$(api "$LEAD" POST /v1/scripts '{"name":"升级话术","body":"您好{{ name }}，{{ attributes.plan }}"}' | jq -r .id)
  local all_day='[{"days":["mon","tue","wed","thu","fri","sat","sun"],"start":"00:00","end":"24:00"}]'
  local c1 c2
  c1=$(api "$LEAD" POST /v1/campaigns "{\"name\":\"5G 升级\",\"offer\":\"5G-PLUS\",\"script_id\":$script,\"calling_windows\":$all_day,\"retry\":{\"no_answer\":\"2h\"}}" | jq -r .id)
  c2=$(api "$LEAD" POST /v1/campaigns "{\"name\":\"关怀\",\"offer\":\"CARE\",\"script_id\":$script,\"calling_windows\":$all_day,\"recurrence\":\"0 0 9 1 * *\"}" | jq -r .id)
  local csv
  csv=$'phone,name,plan,timezone\n13800138000,王芳,全球通 88,Asia/Shanghai\n138-0013-8001,李雷,"套餐, 含流量",\n+86 138 0013 8002,韩梅梅,,Asia/Urumqi\n13800138003,,,\n'
  for c in "$c1" "$c2"; do
    curl -fsS -X POST "$BASE/v1/campaigns/$c/contacts" -H "Authorization: Bearer $LEAD" \
      -H 'content-type: text/csv' --data-binary "$csv" >/dev/null
  done
  api "$LEAD" POST /v1/dnc '{"phone":"13900139000","reason":"asked"}' >/dev/null
  api "$LEAD" POST "/v1/campaigns/$c1/start" >/dev/null
  # The agent signs in and holds a call, so call ids exist and the agent's routes have something
  # to act on (a new agent is offline until its desk signs it in).
  api "$AGENT" POST /v1/agents/me/state '{"state":"ready"}' >/dev/null
  api "$AGENT" POST /v1/calls/next >/dev/null
}

# One schemathesis run with one role's token; appends its totals to summary.tsv.
run_role() { # run_role BACKEND ROLE TOKEN
  local backend="$1" role="$2" token="$3"
  local out="$WORK/st-$backend-$role"
  echo "== $backend / $role: schemathesis (max $MAX_EXAMPLES examples per operation, seed $SEED)"
  set +e
  local hooks=()
  if [ "${FUZZ_TEXT:-}" = unicode ]; then
    hooks=(env PYTHONPATH="$ROOT/scripts" SCHEMATHESIS_HOOKS=fuzz_hooks_unicode)
  fi
  # /v1/events is an endless SSE stream: schemathesis cannot read it to an end.
  "${hooks[@]}" "$VENV/bin/st" run "$BASE/openapi.json" \
    --url "$BASE" \
    --header "Authorization: Bearer $token" \
    --checks "$CHECKS" \
    --max-examples "$MAX_EXAMPLES" \
    --seed "$SEED" \
    --workers 2 \
    --request-timeout 20 \
    --exclude-path /v1/events \
    --phases examples,coverage,fuzzing,stateful \
    --generation-database none \
    --suppress-health-check all \
    --warnings off \
    --continue-on-failure \
    --no-color \
    >"$out.log" 2>&1
  local status=$?
  set -e
  python3 "$ROOT/scripts/fuzz-summary.py" - "$out.log" "$backend" "$role" >>"$WORK/summary.tsv" \
    || { echo "could not read the schemathesis report (exit $status):"; tail -40 "$out.log"; exit 1; }
  tail -n 1 "$WORK/summary.tsv" | awk -F'\t' '{printf "   %s cases, %s failures (%s server errors): %s\n", $3, $4, $5, $6}'
  if [ "$(tail -n 1 "$WORK/summary.tsv" | cut -f5)" != 0 ] || [ -n "${FUZZ_VERBOSE:-}" ]; then
    sed -n '/FAILURES/,/SUMMARY/p' "$out.log" | head -300
  fi
  if [ -n "${FUZZ_KEEP_LOGS:-}" ]; then
    mkdir -p "$FUZZ_KEEP_LOGS" && cp "$out.log" "$FUZZ_KEEP_LOGS/"
  fi
}

server_5xx() { # counts 5xx answers from the server's own metrics
  curl -fsS -H "Authorization: Bearer $ADMIN" "$BASE/metrics" | awk '/^outcall_http_requests_total\{/ && /status="5[0-9][0-9]"/ { n += $NF } END { print n + 0 }'
}

server_requests() {
  curl -fsS -H "Authorization: Bearer $ADMIN" "$BASE/metrics" | awk '/^outcall_http_requests_total\{/ { n += $NF } END { print n + 0 }'
}

pg_reachable() { psql "$PG_ADMIN" -qAtc 'select 1' >/dev/null 2>&1; }

install_schemathesis
if [ "${FUZZ_NO_BUILD:-}" != 1 ]; then
  echo "== cargo build --release"
  cargo build --release --quiet --bin outcall
fi

: >"$WORK/summary.tsv"
declare -A FIVE_XX REQUESTS
for backend in $BACKENDS; do
  case "$backend" in
    sqlite) url="sqlite://$WORK/fuzz.db" ;;
    postgres)
      if ! pg_reachable; then
        echo "!! PostgreSQL is not reachable at $PG_ADMIN: skipping the postgres run"
        continue
      fi
      PG_DB="outcall_fuzz_$$"
      psql "$PG_ADMIN" -qAtc "CREATE DATABASE \"$PG_DB\"" >/dev/null
      url="${PG_ADMIN%/*}/$PG_DB" ;;
    *) echo "unknown backend $backend"; exit 2 ;;
  esac
  start_server "$url"
  seed_data
  for role in $ROLES; do
    case "$role" in
      admin) token="$ADMIN" ;;
      lead) token="$LEAD" ;;
      agent) token="$AGENT" ;;
      viewer) token="$VIEWER" ;;
      *) echo "unknown role $role"; exit 2 ;;
    esac
    run_role "$backend" "$role" "$token"
  done
  FIVE_XX[$backend]="$(server_5xx)"
  REQUESTS[$backend]="$(server_requests)"
  if [ "${FIVE_XX[$backend]}" != 0 ]; then
    echo "!! the server answered ${FIVE_XX[$backend]} requests with a 5xx; its log:"
    grep -i 'error' "$WORK/server.err" | head -40 || true
  fi
  stop_server
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qAtc "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 || true
    PG_DB=""
  fi
done

echo
echo "backend   role    cases  failures  5xx-check  kinds"
awk -F'\t' '{printf "%-9s %-7s %5s  %8s  %9s  %s\n", $1, $2, $3, $4, $5, $6}' "$WORK/summary.tsv"
for backend in "${!FIVE_XX[@]}"; do
  echo "$backend: ${REQUESTS[$backend]} requests served, ${FIVE_XX[$backend]} answered 5xx"
done
read -r cases failures server_errors < <(awk -F'\t' '{c += $3; f += $4; s += $5} END {print c+0, f+0, s+0}' "$WORK/summary.tsv")
five_xx=0
for n in "${FIVE_XX[@]}"; do five_xx=$((five_xx + n)); done
echo "fuzz: $cases cases, $failures failures, $((server_errors > five_xx ? server_errors : five_xx)) server errors (seed $SEED)"
if [ "$server_errors" != 0 ] || [ "$five_xx" != 0 ]; then
  exit 1
fi
if [ "${FUZZ_STRICT:-}" = 1 ] && [ "$failures" != 0 ]; then
  exit 3
fi
