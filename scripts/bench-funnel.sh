#!/usr/bin/env bash
# Funnel benchmark (issue 16): what "why isn't it dialing?" costs on a campaign of ROWS contacts
# (default 1,000,000), one request at a time on a quiet server (REQUESTS each, default 50), in
# three shapes of the list:
#   - fresh: every contact ready;
#   - night: every contact held back by the campaign's windows (written straight into the
#     database, as a night of hand-outs would leave it: state scheduled, held_by set);
#   - mixed: half of them ready again, a tenth of all contacts with a zone of their own (the
#     funnel judges those by zone) and one in fifty called within the last half hour (their
#     phone's gap still runs: the funnel reads those one by one);
#   - zoned: every contact in a zone of its own, three zones in all.
# The zone and the phone rules are written on the queue too (migration 0018); on an older build
# those statements fail and are skipped.
# Timed: the campaign's funnel, one contact's explanation, a 30-day forecast with 50 agents and
# the campaign view (with its warnings); beside them, in the same run, `GET /healthz` (the HTTP
# floor) and the campaign's stats (a read of the kept counts), the references the funnel is
# held against. BACKENDS=sqlite (or postgres) runs one. On PostgreSQL the bulk writes are followed
# by VACUUM ANALYZE, as autovacuum would soon (FRESH_STATS=0 measures right after them).
source "$(dirname "$0")/bench-lib.sh"
ROWS="${ROWS:-1000000}"
REQUESTS="${REQUESTS:-50}"
build
export READ_LABELS='["/healthz (no database)", "campaign stats", "campaign funnel",
  "a contact explained", "forecast, 30 days", "campaign view"]'

sql() { # sql URL STATEMENT: straight into the database
  case "$1" in
    sqlite://*) sqlite3 "${1#sqlite://}" "PRAGMA busy_timeout = 60000; $2" >/dev/null ;;
    *) psql "$1" -qAtc "$2" >/dev/null ;;
  esac
}

# After a bulk write straight into PostgreSQL, what autovacuum would do within a minute or so
# (FRESH_STATS=0 measures before it: index-only scans then visit the heap for every row).
settle() {
  case "$1" in
    postgres*) [ "${FRESH_STATS:-1}" = 1 ] && psql "$1" -qAtc "VACUUM ANALYZE campaign_contacts" >/dev/null \
      && psql "$1" -qAtc "VACUUM ANALYZE contacts" >/dev/null ;;
  esac
  return 0
}

for backend in ${BACKENDS:-sqlite postgres}; do
  url=$(fresh_db $backend)
  start_server "$url"
  campaign=$(new_campaign "funnel")
  seeded=$("$LOADGEN" import "$BASE" "$TOKEN" "$campaign" "$ROWS")
  api POST "/v1/campaigns/$campaign/start" >/dev/null
  for i in 1 2 3; do api POST /v1/agents "{\"name\":\"funnel $i\"}" >/dev/null; done
  contact=$(api GET "/v1/campaigns/$campaign/contacts?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["id"])')
  echo "$backend, $ROWS contacts (imported at $(json_field "$seeded" rows_per_second) rows/s):"
  for shape in fresh night mixed zoned; do
    case $shape in
      night)
        stop_server
        later=$(( $(date +%s%3N) + 10 * 3600 * 1000 ))
        sql "$url" "UPDATE campaign_contacts SET state = 'scheduled', held_by = 'outside_campaign_window', next_attempt_at = $later, release_at = $later WHERE campaign_id = $campaign"
        settle "$url"
        start_server "$url" ;;
      mixed)
        stop_server
        sql "$url" "UPDATE contacts SET timezone = 'Europe/London' WHERE id % 10 = 0"
        sql "$url" "UPDATE campaign_contacts SET state = 'ready', held_by = NULL WHERE campaign_id = $campaign AND id % 2 = 0"
        gap=$(( $(date +%s%3N) + 1800 * 1000 ))
        sql "$url" "UPDATE campaign_contacts SET zone = 'Europe/London' WHERE contact_id % 10 = 0" || true
        sql "$url" "UPDATE campaign_contacts SET gap_until = $gap, person_until = $gap WHERE id % 50 = 0" || true
        settle "$url"
        start_server "$url" ;;
      zoned)
        stop_server
        sql "$url" "UPDATE contacts SET timezone = CASE id % 3 WHEN 0 THEN 'Europe/London' WHEN 1 THEN 'America/New_York' ELSE 'Asia/Shanghai' END"
        sql "$url" "UPDATE campaign_contacts SET zone = CASE contact_id % 3 WHEN 0 THEN 'Europe/London' WHEN 1 THEN 'America/New_York' ELSE 'Asia/Shanghai' END" || true
        settle "$url"
        start_server "$url" ;;
    esac
    result=$("$LOADGEN" reads "$BASE" "$TOKEN" "$REQUESTS" \
      /healthz \
      "/v1/stats/campaigns/$campaign" \
      "/v1/campaigns/$campaign/eligibility" \
      "/v1/contacts/$contact/eligibility" \
      "/v1/campaigns/$campaign/forecast?agents=50" \
      "/v1/campaigns/$campaign")
    funnel=$(api GET "/v1/campaigns/$campaign/eligibility")
    python3 - "$shape" "$result" "$funnel" <<'PY'
import json, os, sys
shape, r, funnel = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
labels = json.loads(os.environ["READ_LABELS"])
r = dict(zip(labels, r))
blocked = {k: v for k, v in funnel["blocked"].items() if v}
print(f"  {shape}: callable now {funnel['callable_now']:,}, blocked {blocked}")
stats = r["campaign stats"]["p50"]
for n, t in r.items():
    print(f"    {n:<24} p50 {t['p50']:7.2f} ms  p99 {t['p99']:7.2f} ms  ×{t['p50'] / stats:.2f} of stats")
PY
  done
  stop_server
done
