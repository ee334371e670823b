# Shared helpers for the benchmark scripts (sourced, not run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# BIN=path runs another build of the server (an A/B against a saved binary).
BIN="${BIN:-$ROOT/target/release/outcall}"
LOADGEN="${LOADGEN:-$ROOT/target/release/examples/loadgen}"
PG_ADMIN="${OUTCALL_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
TOKEN=bench-admin-token
WORK="$(mktemp -d)"
SERVER_PID=""

# NO_BUILD=1 uses what target/release holds (an A/B of saved binaries while the tree changes).
build() {
  [ -n "${NO_BUILD:-}" ] && return 0
  (cd "$ROOT" && cargo build --release --quiet --bin outcall --example loadgen --example mixed)
}

# A fresh database URL for a backend: sqlite (temp file) or postgres (new database).
fresh_db() {
  case "$1" in
    sqlite) echo "sqlite://$WORK/bench-$RANDOM.db" ;;
    postgres)
      local name="outcall_bench_$$_$RANDOM"
      psql "$PG_ADMIN" -qAtc "CREATE DATABASE $name" >/dev/null
      echo "${PG_ADMIN%/*}/$name" ;;
  esac
}

# start_server URL [extra env...]: starts the release binary, waits for /readyz, sets BASE.
# SRV_ENV="NAME=value …" passes settings to every server a script starts (e.g.
# SRV_ENV=OUTCALL_SQLITE_SYNC=normal for the cost of FULL sync).
start_server() {
  local url="$1"; shift
  # The load comes from one address, as through a proxy: no per-address connection limit.
  # shellcheck disable=SC2206
  local extra=(${SRV_ENV:-})
  local port=$((20000 + RANDOM % 20000))
  env OUTCALL_DATABASE_URL="$url" OUTCALL_LISTEN="127.0.0.1:$port" OUTCALL_BOOTSTRAP_TOKEN="$TOKEN" \
      OUTCALL_MAX_CONNECTIONS_PER_ADDRESS=0 OUTCALL_CALLING_HOURS=00:00-24:00 OUTCALL_PHONE_MIN_GAP=0s OUTCALL_PHONE_CAP=1000/1h RUST_LOG=${SRV_LOG:-warn} "${extra[@]}" "$@" \
      "$BIN" serve >"$WORK/server.out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  BASE="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    curl -fs "$BASE/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server did not start:"; cat "$WORK/server.err"; exit 1
}

stop_server() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# Peak resident memory of the server so far, in MiB.
peak_rss_mib() {
  awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$SERVER_PID/status"
}

api() { # api METHOD PATH [JSON]
  curl -fsS -X "$1" "$BASE$2" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' ${3:+-d "$3"}
}

# new_campaign NAME: an offer, a script and an all-day campaign; prints the campaign id.
new_campaign() {
  local code="B$RANDOM$RANDOM"
  api POST /v1/offers "{\"code\":\"$code\",\"name\":\"bench\"}" >/dev/null
  local script; script=$(api POST /v1/scripts '{"name":"bench","body":"您好{{ name }}，{{ attributes.plan }}"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  api POST /v1/campaigns "{\"name\":\"$1\",\"offer\":\"$code\",\"script_id\":$script,\"max_attempts\":100,\"calling_windows\":[{\"days\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\",\"sat\",\"sun\"],\"start\":\"00:00\",\"end\":\"24:00\"}]}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}

# extra_campaigns: with CAMPAIGNS=n (default 1) in the environment, starts n-1 more campaigns
# beside the benchmark's own, at the same priority (50) and open to every agent (one team), each
# with CAMPAIGN_ROWS (default 10,000) contacts of their own (rows after the first ROWS), so the
# hand-out chooses among n campaigns of one tier by share. Run the same CAMPAIGNS with BIN= set
# to the build before a change and after it for an A/B in one run.
extra_campaigns() {
  local n="${CAMPAIGNS:-1}" rows="${CAMPAIGN_ROWS:-10000}" k id
  for ((k = 1; k < n; k++)); do
    id=$(new_campaign "bench campaign $k")
    ROW_OFFSET=$((ROWS + k * rows)) "$LOADGEN" import "$BASE" "$TOKEN" "$id" "$rows" >/dev/null
    api POST "/v1/campaigns/$id/start" >/dev/null
  done
}

json_field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.2f}')" "$1" "$2"; }

cleanup() {
  stop_server
  for db in $(psql "$PG_ADMIN" -qAtc "SELECT datname FROM pg_database WHERE datname LIKE 'outcall\_bench\_$$\_%'" 2>/dev/null); do
    psql "$PG_ADMIN" -qAtc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
