#!/usr/bin/env bash
# Dispatch benchmark: simulated agents (8, 64, 256) doing next → outcome cycles over HTTP
# against ROWS (default 1,000,000) queued contacts, on SQLite and PostgreSQL, beside the
# database's raw limit for the same work in the same run:
#   PostgreSQL: pgbench, one transaction leasing a row FOR UPDATE SKIP LOCKED, a second
#               recording the outcome; SQLite: the same two transactions in a tight loop on one
#               connection.
# Also the ratio of next-call latency at ROWS versus SMALL (default 10,000) queued contacts, and
# the "http floor": the same closed loop of two requests per cycle against GET /healthz, which
# touches no database — what this HTTP stack and load generator allow here, an upper bound —
# and the "rules reference": the cycle's own statements run by the database with no HTTP and no
# driver (scripts/dispatch-reference.*), what the database allows for this schema and these rules.
# CAMPAIGNS=20 (default 1) runs every phase with 19 more active campaigns of the same priority
# beside the measured one, CAMPAIGN_ROWS (10,000) contacts each: the hand-out's cost with many
# campaigns on one team (issue 27). Compare builds with BIN= in one run.
source "$(dirname "$0")/bench-lib.sh"
ROWS="${ROWS:-1000000}"
SMALL="${SMALL:-10000}"
SECONDS_EACH="${SECONDS_EACH:-10}"
AGENTS="${AGENTS:-8 64 256}"
# REFERENCE=0 skips the rules reference: it runs today's statements, so a build from before a
# migration it reads (BIN= of an older commit) has no schema for it.
REFERENCE="${REFERENCE:-1}"
BACKENDS="${BACKENDS:-sqlite postgres}"
build

raw_sqlite() { # agents-independent: one connection is SQLite's writer limit
  python3 - "$WORK/raw-dispatch.db" "$1" "$SECONDS_EACH" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE q (id INTEGER PRIMARY KEY, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0)")
db.execute("CREATE INDEX q_ready ON q (id) WHERE state = 'ready'")
db.execute("CREATE TABLE log (id INTEGER PRIMARY KEY, qid INTEGER, at INTEGER)")
db.execute("BEGIN"); db.executemany("INSERT INTO q (state) VALUES ('ready')", (() for _ in range(int(sys.argv[2])))); db.execute("COMMIT")
end = time.perf_counter() + float(sys.argv[3]); n = 0; t = time.perf_counter()
while time.perf_counter() < end:
    db.execute("BEGIN IMMEDIATE")
    row = db.execute("SELECT id FROM q WHERE state = 'ready' ORDER BY id LIMIT 1").fetchone()
    if row is None:  # every row done before the time was up (a small ROWS): rate so far
        db.execute("COMMIT"); break
    (qid,) = row
    db.execute("UPDATE q SET state = 'leased' WHERE id = ?", (qid,)); db.execute("COMMIT")
    db.execute("BEGIN IMMEDIATE")
    db.execute("UPDATE q SET state = 'done', attempts = attempts + 1 WHERE id = ?", (qid,))
    db.execute("INSERT INTO log (qid, at) VALUES (?, ?)", (qid, int(time.time() * 1000))); db.execute("COMMIT")
    n += 1
print(n / (time.perf_counter() - t))
PY
}

raw_postgres() { # raw_postgres AGENTS
  local db; db=$(fresh_db postgres)
  psql "$db" -q <<SQL
CREATE TABLE q (id BIGSERIAL PRIMARY KEY, state TEXT NOT NULL, attempts INT NOT NULL DEFAULT 0);
INSERT INTO q (state) SELECT 'ready' FROM generate_series(1, $ROWS);
CREATE INDEX q_ready ON q (id) WHERE state = 'ready';
CREATE TABLE log (id BIGSERIAL PRIMARY KEY, qid BIGINT, at TIMESTAMPTZ);
VACUUM ANALYZE q;
SQL
  cat > "$WORK/cycle.sql" <<'SQL'
BEGIN;
SELECT id AS qid FROM q WHERE state = 'ready' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED \gset
UPDATE q SET state = 'leased' WHERE id = :qid;
COMMIT;
BEGIN;
UPDATE q SET state = 'done', attempts = attempts + 1 WHERE id = :qid;
INSERT INTO log (qid, at) VALUES (:qid, now());
COMMIT;
SQL
  # PostgreSQL allows 100 connections by default and the server under test still holds ~20:
  # beyond 64 clients pgbench measures the same server saturated anyway.
  local clients=$(( $1 > 64 ? 64 : $1 ))
  local tps
  tps=$(pgbench -n -f "$WORK/cycle.sql" -c "$clients" -j 2 -T "$SECONDS_EACH" "$db" 2>"$WORK/pgbench.err" | awk '/^tps/ {print $3}')
  [ -n "$tps" ] || { echo "pgbench failed:" >&2; cat "$WORK/pgbench.err" >&2; exit 1; }
  echo "$tps"
}

# The rules reference: the statements of one cycle as the server runs them (the same SQL, locks,
# indexes and trigger), on the benchmark's own database, with no HTTP and no driver:
# scripts/dispatch-reference.{py,sql}. What the database itself does for these rules.
reference_sqlite() { # reference_sqlite URL
  python3 "$ROOT/scripts/dispatch-reference.py" "${1#sqlite://}" "$SECONDS_EACH"
}

reference_postgres() { # reference_postgres URL AGENTS
  local clients=$(( $2 > 64 ? 64 : $2 )) agent0 campaign token tps
  agent0=$(psql "$1" -qAtc "INSERT INTO agents (name, created_at, updated_at) SELECT 'reference', 0, 0 FROM generate_series(1, $clients) RETURNING id" | sort -n | head -1)
  campaign=$(psql "$1" -qAtc "SELECT id FROM campaigns WHERE status = 'active' ORDER BY id LIMIT 1")
  token=$(psql "$1" -qAtc "SELECT secret_hash FROM tokens ORDER BY id LIMIT 1")
  tps=$(pgbench -n -f "$ROOT/scripts/dispatch-reference.sql" -c "$clients" -j 2 -T "$SECONDS_EACH" \
      -D campaign="$campaign" -D agent0="$agent0" -D token="$token" -D now="$(date +%s%3N)" "$1" \
      2>"$WORK/reference.err" | awk '/^tps/ {print $3}' || true)
  [ -n "$tps" ] || { echo "rules reference failed:" >&2; cat "$WORK/reference.err" >&2; exit 1; }
  echo "$tps"
}

for backend in $BACKENDS; do
  url=$(fresh_db $backend)
  start_server "$url"
  campaign=$(new_campaign "dispatch bench")
  "$LOADGEN" import "$BASE" "$TOKEN" "$campaign" "$ROWS" >/dev/null
  api POST "/v1/campaigns/$campaign/start" >/dev/null
  extra_campaigns
  declare -A p50 line
  for agents in $AGENTS; do
    result=$("$LOADGEN" dispatch "$BASE" "$TOKEN" "$agents" "$SECONDS_EACH")
    rate=$(json_field "$result" cycles_per_second)
    p50[$agents]=$(json_field "$result" next_p50_ms)
    floor=$(json_field "$("$LOADGEN" floor "$BASE" "$agents" "$SECONDS_EACH")" cycles_per_second)
    if [ $backend = sqlite ]; then raw=$(raw_sqlite "$ROWS"); rm -f "$WORK"/raw-dispatch.db*; else raw=$(raw_postgres "$agents"); fi
    line[$agents]=$(printf '%-8s %4s agents | %7.0f cycles/s | raw %7.0f/s | ratio %s | next p50 %6.2f ms p99 %7.2f ms | http floor %7.0f/s (%s of raw)' \
      $backend "$agents" "$rate" "$raw" "$(ratio "$rate" "$raw")" "${p50[$agents]}" "$(json_field "$result" next_p99_ms)" \
      "$floor" "$(ratio "$floor" "$raw")")
    line[$agents]="${line[$agents]}|$rate|$raw|$result"
  done
  stop_server
  # The rules reference runs on the same database once the server has stopped (on SQLite a
  # second writer would only wait on the first).
  for agents in $AGENTS; do
    IFS='|' read -r -a f <<<"${line[$agents]}"
    n=$(( ${#f[@]} ))
    rate=${f[n-3]}; raw=${f[n-2]}; result=${f[n-1]}
    if [ "$REFERENCE" = 0 ]; then printf '%s | %s\n' "$(IFS='|'; echo "${f[*]:0:n-3}")" "$result"; continue; fi
    if [ $backend = sqlite ]; then ref=$(reference_sqlite "$url"); else ref=$(reference_postgres "$url" "$agents"); fi
    printf '%s | rules ref %7.0f/s (%s of raw; server %s of ref) | %s\n' \
      "$(IFS='|'; echo "${f[*]:0:n-3}")" "$ref" "$(ratio "$ref" "$raw")" "$(ratio "$rate" "$ref")" "$result"
  done

  small_url=$(fresh_db $backend)
  start_server "$small_url"
  campaign=$(new_campaign "dispatch bench small")
  "$LOADGEN" import "$BASE" "$TOKEN" "$campaign" "$SMALL" >/dev/null
  api POST "/v1/campaigns/$campaign/start" >/dev/null
  ROWS=$SMALL extra_campaigns
  small=$("$LOADGEN" dispatch "$BASE" "$TOKEN" 64 "$SECONDS_EACH")
  stop_server
  printf '%-8s latency ratio next p50 at %s vs %s queued (64 agents): %s (%s ms vs %s ms)\n' \
    $backend "$ROWS" "$SMALL" "$(ratio "${p50[64]:-0}" "$(json_field "$small" next_p50_ms)")" "${p50[64]:-?}" "$(json_field "$small" next_p50_ms)"
done
