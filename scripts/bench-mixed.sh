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
# SRV_ENV="OUTCALL_SQLITE_SYNC=normal" passes settings to the server. SLOW_WEBHOOK=1 adds one
# webhook subscription (outcome, dnc, follow_up, campaign) to a local receiver that sleeps 5 s per
# request, so the mixed load can be compared with and without a slow receiver (issue 28).
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

# A receiver that answers every POST 200 after 5 s, many at once; prints requests received.
RECEIVER_PID=""
start_slow_receiver() {
  local port=$((40000 + RANDOM % 20000))
  python3 - "$port" "$WORK/webhook-hits" <<'PY' &
import http.server, sys, threading, time
port, hits = int(sys.argv[1]), sys.argv[2]
lock, n = threading.Lock(), [0]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(5)
        with lock:
            n[0] += 1
            open(hits, "w").write(str(n[0]))
        self.send_response(200); self.send_header("content-length", "0"); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
  RECEIVER_PID=$!
  RECEIVER_URL="http://127.0.0.1:$port/hook"
}
stop_slow_receiver() { [ -n "$RECEIVER_PID" ] && kill "$RECEIVER_PID" 2>/dev/null; RECEIVER_PID=""; }
trap 'stop_slow_receiver; cleanup' EXIT
if [ -n "${SLOW_WEBHOOK:-}" ]; then
  SRV_ENV="${SRV_ENV:-} OUTCALL_WEBHOOK_ALLOW=127.0.0.0/8"
fi

echo "rows $ROWS, campaigns ${CAMPAIGNS:-1}, $RATE cycles/s over $AGENTS agents, quiet ${QUIET}s, busy >= ${BUSY}s, import $IMPORT_ROWS rows, bin $BIN"
for backend in ${BACKENDS:-sqlite postgres}; do
  url=$(fresh_db $backend)
  start_server "$url"
  if [ -n "${SLOW_WEBHOOK:-}" ]; then
    start_slow_receiver
    api POST /v1/webhooks "{\"url\": \"$RECEIVER_URL\", \"events\": [\"outcome\", \"dnc\", \"follow_up\", \"campaign\"]}" >/dev/null
  fi
  main=$(new_campaign "floor")
  seeded=$("$LOADGEN" import "$BASE" "$TOKEN" "$main" "$ROWS")
  api POST "/v1/campaigns/$main/start" >/dev/null
  extra_campaigns
  alone=$(new_campaign "list alone"); busy=$(new_campaign "list while busy")
  result=$("$MIXED" "$BASE" "$TOKEN" "$main" "$alone" "$busy")
  rss=$(peak_rss_mib)
  stop_server
  if [ -n "${SLOW_WEBHOOK:-}" ]; then
    stop_slow_receiver
    echo "$backend: slow webhook receiver got $(cat "$WORK/webhook-hits" 2>/dev/null || echo 0) requests (5 s each)"
  fi
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
