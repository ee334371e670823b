#!/usr/bin/env bash
# Stats benchmark: campaign stats and time-series latency with SMALL (default 10,000) versus
# LARGE (default 10,000,000) recorded outcomes, as a ratio. The outcomes' roll-ups are seeded
# with SQL in exactly the shape outcomes write them (50 agents, 30 days of hours, the contract's
# dispositions); the history table is not seeded, because no stats query reads it.
source "$(dirname "$0")/bench-lib.sh"
SMALL="${SMALL:-10000}"
LARGE="${LARGE:-10000000}"
REQUESTS="${REQUESTS:-200}"
build

seed_sql() { # seed_sql CAMPAIGN OFFER OUTCOMES AGENT_IDS...: SQL that records OUTCOMES outcomes' roll-ups
  python3 - "$@" <<'PY'
import random, sys
campaign, offer, total = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
agents = [int(a) for a in sys.argv[4:]]
disp = ["accepted", "declined", "callback", "no_answer", "busy", "voicemail", "wrong_number", "do_not_call", "complaint"]
weights = [8, 20, 6, 35, 10, 12, 5, 3, 1]
rng = random.Random(7)
start_hour = 1764547200000 // 3600000 - 30 * 24  # 30 days before 2025-12-01
hours = [start_hour + h for h in range(30 * 24)]
camp, agent_h, totals = {}, {}, {}
def record(h, a, d, k):
    camp[(h, d)] = camp.get((h, d), 0) + k
    agent_h[(a, h, d)] = agent_h.get((a, h, d), 0) + k
    totals[(a, d)] = totals.get((a, d), 0) + k
cells = [(h, a) for h in hours for a in agents]
if total <= 2_000_000:
    # Each outcome at a random hour, agent and disposition.
    for _ in range(total):
        h, a = cells[rng.randrange(len(cells))]
        record(h, a, rng.choices(disp, weights)[0], 1)
else:
    # Spread evenly; each cell's count split by the weights with exact sums.
    base, extra = divmod(total, len(cells))
    for i, (h, a) in enumerate(cells):
        n = base + (1 if i < extra else 0)
        shares = [n * w / sum(weights) for w in weights]
        ks = [int(x) for x in shares]
        for j in sorted(range(len(ks)), key=lambda j: shares[j] - ks[j], reverse=True)[: n - sum(ks)]:
            ks[j] += 1
        for d, k in zip(disp, ks):
            if k:
                record(h, a, d, k)
def chunks(rows, size=500):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]
print("BEGIN;")
for part in chunks([f"({campaign},{offer},{h},'{d}',{n})" for (h, d), n in camp.items()]):
    print("INSERT INTO campaign_hourly (campaign_id, offer_id, hour, disposition, n) VALUES " + ",".join(part) + ";")
for part in chunks([f"({a},{h},'{d}',{n})" for (a, h, d), n in agent_h.items()]):
    print("INSERT INTO agent_hourly (agent_id, hour, disposition, n) VALUES " + ",".join(part) + " ON CONFLICT (agent_id, hour, disposition) DO UPDATE SET n = agent_hourly.n + excluded.n;")
for part in chunks([f"({campaign},{a},'{d}',{n})" for (a, d), n in totals.items()]):
    print("INSERT INTO outcome_totals (campaign_id, agent_id, disposition, n) VALUES " + ",".join(part) + ";")
print("COMMIT;")
PY
}

for backend in sqlite postgres; do
  url=$(fresh_db $backend)
  start_server "$url"
  agents=()
  for i in $(seq 1 50); do agents+=("$(api POST /v1/agents "{\"name\":\"agent $i\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"); done
  small=$(new_campaign "stats small"); large=$(new_campaign "stats large")
  offer_of() { api GET "/v1/campaigns/$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["offer"])'; }
  for pair in "$small:$SMALL" "$large:$LARGE"; do
    c=${pair%%:*}; n=${pair##*:}
    code=$(offer_of "$c")
    offer=$(api GET "/v1/offers?limit=1000" | python3 -c "import json,sys; print([o['id'] for o in json.load(sys.stdin)['items'] if o['code']=='$code'][0])")
    seed_sql "$c" "$offer" "$n" "${agents[@]}" > "$WORK/seed.sql"
    if [ $backend = sqlite ]; then sqlite3 "${url#sqlite://}" < "$WORK/seed.sql"; else psql "$url" -q -f "$WORK/seed.sql" >/dev/null; fi
  done
  got=$(api GET "/v1/stats/campaigns/$large" | python3 -c 'import json,sys; print(json.load(sys.stdin)["attempts"])')
  got_small=$(api GET "/v1/stats/campaigns/$small" | python3 -c 'import json,sys; print(json.load(sys.stdin)["attempts"])')
  s=$("$LOADGEN" stats "$BASE" "$TOKEN" "$small" "$REQUESTS")
  l=$("$LOADGEN" stats "$BASE" "$TOKEN" "$large" "$REQUESTS")
  stop_server
  printf '%-8s %s vs %s outcomes (check: %s vs %s): campaign p50 %s ms vs %s ms → ratio %s; series p50 %s ms vs %s ms → ratio %s\n' \
    $backend "$LARGE" "$SMALL" "$got" "$got_small" "$(json_field "$l" campaign_p50_ms)" "$(json_field "$s" campaign_p50_ms)" \
    "$(ratio "$(json_field "$l" campaign_p50_ms)" "$(json_field "$s" campaign_p50_ms)")" \
    "$(json_field "$l" series_p50_ms)" "$(json_field "$s" series_p50_ms)" \
    "$(ratio "$(json_field "$l" series_p50_ms)" "$(json_field "$s" series_p50_ms)")"
done
