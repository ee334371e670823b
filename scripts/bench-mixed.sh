#!/usr/bin/env bash
# Mixed-load benchmark: what agents feel while a real floor runs around them. With ROWS
# (default 1,000,000) contacts queued, paced agents (an open loop of RATE next → outcome cycles a
# second over AGENTS agents; defaults 100 and 64) work QUIET seconds alone (default 20), then a
# busy phase of at least BUSY seconds (default 30): WALLBOARDS dashboards (default 10) refreshing
# every WALLBOARD_EVERY s (5) with the dashboard page's own requests, a Prometheus scrape of
# /metrics every SCRAPE_EVERY s (15), a lead paging the campaign's contacts every PAGE_EVERY s (1),
# SSE listeners (5), FLOORS supervisors' floor pages (3) reloading /v1/floor every FLOOR_EVERY s
# (0.25, the page's pace under a steady event stream), and an IMPORT_ROWS-row list (default 1,000,000) imported into a second
# campaign; the same list size is first imported with nothing else running ("alone").
#
# Prints, per backend: next and outcome latency (p50/p95/p99/max, quiet and busy), cycles/s,
# errors, wallboard refresh, /metrics and contact-page latency, import time alone and busy, and
# the server's peak RSS. BACKENDS=sqlite (or postgres) runs one; BIN= runs another build;
# SRV_ENV="OUTCALL_SQLITE_SYNC=normal" passes settings to the server. CAMPAIGNS=20 (default 1)
# adds 19 active campaigns of the same priority beside the floor's, CAMPAIGN_ROWS (10,000)
# contacts each, all open to the agents: the hand-out's cost with many campaigns on one team.
source "$(dirname "$0")/bench-lib.sh"
ROWS="${ROWS:-1000000}"
export RATE="${RATE:-100}" AGENTS="${AGENTS:-64}" QUIET="${QUIET:-20}" BUSY="${BUSY:-30}"
export WALLBOARDS="${WALLBOARDS:-10}" WALLBOARD_EVERY="${WALLBOARD_EVERY:-5}"
export SCRAPE_EVERY="${SCRAPE_EVERY:-15}" PAGE_EVERY="${PAGE_EVERY:-1}" SSE="${SSE:-5}"
export FLOORS="${FLOORS:-3}" FLOOR_EVERY="${FLOOR_EVERY:-0.25}"
export IMPORT_ROWS="${IMPORT_ROWS:-1000000}"
MIXED="${MIXED:-$ROOT/target/release/examples/mixed}"
build

echo "rows $ROWS, campaigns ${CAMPAIGNS:-1}, $RATE cycles/s over $AGENTS agents, quiet ${QUIET}s, busy >= ${BUSY}s, import $IMPORT_ROWS rows, bin $BIN"
for backend in ${BACKENDS:-sqlite postgres}; do
  url=$(fresh_db $backend)
  start_server "$url"
  main=$(new_campaign "floor")
  seeded=$("$LOADGEN" import "$BASE" "$TOKEN" "$main" "$ROWS")
  api POST "/v1/campaigns/$main/start" >/dev/null
  extra_campaigns
  alone=$(new_campaign "list alone"); busy=$(new_campaign "list while busy")
  result=$("$MIXED" "$BASE" "$TOKEN" "$main" "$alone" "$busy")
  rss=$(peak_rss_mib)
  stop_server
  echo "$result" > "$WORK/mixed-$backend.json"
  python3 - "$backend" "$result" "$rss" "$(json_field "$seeded" rows_per_second)" <<'PY'
import json, sys
b, r, rss, seed = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], float(sys.argv[4])
def row(name, t):
    return f"  {name:<16} p50 {t['p50']:7.1f}  p95 {t['p95']:7.1f}  p99 {t['p99']:7.1f}  max {t['max']:7.1f} ms  (n {t['n']}, errors {t['errors']})"
print(f"{b}: seeded at {seed:,.0f} rows/s; cycles/s quiet {r['cycles_per_second']['quiet']:.1f}, busy {r['cycles_per_second']['busy']:.1f}; peak RSS {rss} MiB")
for k in ("next", "outcome"):
    for phase in ("quiet", "busy"):
        print(row(f"{k} {phase}", r[k][phase]))
q, bz = r["next"]["quiet"]["p99"], r["next"]["busy"]["p99"]
print(f"  next p99 busy/quiet: {bz / q if q else float('nan'):.2f}")
for k in ("wallboard", "metrics", "page", "floor"):
    print(row(k, r[k]))
a, w = r["import_seconds"]["alone"], r["import_seconds"]["busy"]
print(f"  import {r['import_rows']:,} rows: alone {a:.1f} s, busy {w:.1f} s (busy/alone {w / a:.2f}); sse events {r['sse_events']}")
PY
done
