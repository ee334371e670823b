#!/usr/bin/env bash
# Reads benchmark: what a wallboard, Prometheus and a lead's list page cost as a campaign grows.
# For each size in SIZES (default 10,000, 1,000,000 and 10,000,000 contacts in one campaign,
# imported over HTTP, some of them then worked by agents so every state and the history have
# rows) it times, one request at a time on an otherwise quiet server (REQUESTS each, default
# 100): campaign stats, /metrics, the campaign view, a page of the campaign's contacts (first
# page, a later page, filtered by state), a contact, the history export's first rows, the DNC
# and follow-up lists. Beside them, in the same run, `GET /healthz` (no database: the HTTP floor)
# and the same reads at the smallest size: a read whose cost is independent of the campaign's
# size has a ratio near 1 to its small-size figure. BACKENDS=sqlite (or postgres) runs one.
source "$(dirname "$0")/bench-lib.sh"
SIZES="${SIZES:-10000 1000000 10000000}"
REQUESTS="${REQUESTS:-100}"
build
# The reads below, in the order they are asked for (their ids differ from size to size).
export READ_LABELS='["/healthz (no database)", "campaign stats", "/metrics", "campaign view",
  "contacts, first page", "contacts, second page", "contacts, state=done", "a contact", "DNC list",
  "follow-ups"]'

for backend in ${BACKENDS:-sqlite postgres}; do
  declare -A base=()
  for rows in $SIZES; do
    url=$(fresh_db $backend)
    start_server "$url"
    campaign=$(new_campaign "reads $rows")
    seeded=$("$LOADGEN" import "$BASE" "$TOKEN" "$campaign" "$rows")
    api POST "/v1/campaigns/$campaign/start" >/dev/null
    # Work some contacts so there are calls, outcomes of every kind, follow-ups and history.
    "$LOADGEN" dispatch "$BASE" "$TOKEN" 8 3 >/dev/null
    for i in $(seq 1 20); do api POST /v1/dnc "{\"phone\":\"1390000$(printf %04d "$i")\",\"reason\":\"bench\"}" >/dev/null; done
    page2=$(api GET "/v1/campaigns/$campaign/contacts?limit=50" | python3 -c 'import json,sys; print(json.load(sys.stdin)["next"] or "")')
    contact=$(api GET "/v1/campaigns/$campaign/contacts?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
    result=$("$LOADGEN" reads "$BASE" "$TOKEN" "$REQUESTS" \
      /healthz \
      "/v1/stats/campaigns/$campaign" \
      /metrics \
      "/v1/campaigns/$campaign" \
      "/v1/campaigns/$campaign/contacts?limit=50" \
      "/v1/campaigns/$campaign/contacts?limit=50&after=$page2" \
      "/v1/campaigns/$campaign/contacts?limit=50&state=done" \
      "/v1/contacts/$contact" \
      "/v1/dnc?limit=50" \
      "/v1/follow-ups?limit=50")
    stop_server
    python3 - "$backend" "$rows" "$result" "$(json_field "$seeded" rows_per_second)" "${base[$backend]:-}" <<'PY'
import json, os, sys
backend, rows, seed = sys.argv[1], int(sys.argv[2]), float(sys.argv[4])
# The same reads at every size, in the order asked (the ids differ).
labels = json.loads(os.environ["READ_LABELS"])
r = dict(zip(labels, json.loads(sys.argv[3])))
base = json.loads(sys.argv[5]) if sys.argv[5] else None
print(f"{backend} {rows:,} contacts (imported at {seed:,.0f} rows/s):")
for n, t in r.items():
    ratio = f"  ×{t['p50'] / base[n]['p50']:.2f} of the smallest" if base else ""
    print(f"  {n:<24} p50 {t['p50']:6.2f} ms  p99 {t['p99']:6.2f} ms{ratio}")
PY
    [ -n "${base[$backend]:-}" ] || base[$backend]=$(python3 -c '
import json, os, sys
labels = json.loads(os.environ["READ_LABELS"])
print(json.dumps(dict(zip(labels, json.loads(sys.argv[1])))))' "$result")
  done
done
