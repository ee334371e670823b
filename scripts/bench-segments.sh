#!/usr/bin/env bash
# Segments at scale (issue 25, item 5: "a preview with the exact count and a sample in <= 1 s at
# 1M people"; "add this segment to that campaign" as a background job). On the release binary,
# for each backend: PEOPLE people (default 1,000,000) with random attributes (plan, monthly
# spend, city), uploaded as one CSV; then the median of 3 previews of each of four filters
# (an attribute, a numeric range, a "not called within" over an empty history, a nested mix),
# a lead's search by name prefix,
# and the wall time of adding one segment (about a third of everyone) to a new campaign,
# through the import job, with its report.
#   NO_BUILD=1 BIN=path PEOPLE=10000 BACKENDS=sqlite scripts/bench-segments.sh
source "$(dirname "$0")/bench-lib.sh"
build
PEOPLE=${PEOPLE:-1000000}

people() {
  python3 - "$PEOPLE" <<'PY'
import random, sys
random.seed(25)
plans, cities = ["4G", "5G", "全球通 88", "宽带"], ["上海", "北京", "广州", "深圳", "杭州"]
surnames, given = "王李张刘陈杨黄赵吴周徐孙", "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
print("phone,name,plan,monthly_spend,city")
for i in range(int(sys.argv[1])):
    name = random.choice(surnames) + random.choice(given) + random.choice(given)
    print(f"139{i:08},{name},{random.choice(plans)},{random.randint(10, 400)},{random.choice(cities)}")
PY
}

ms_since() { python3 -c "import time,sys; print(f'{(time.time()-float(sys.argv[1]))*1000:.0f}')" "$1"; }

preview_ms() { # preview_ms FILTER: median of 3 previews, in ms; prints "ms count"
  local count
  count=$(api POST /v1/segments/preview "{\"filter\":$1}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
  for _ in 1 2 3; do
    curl -fsS -o /dev/null -w '%{time_total}\n' -X POST "$BASE/v1/segments/preview" \
      -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "{\"filter\":$1}"
  done | sort -n | sed -n 2p | python3 -c "import sys; print(f'{float(sys.stdin.read())*1000:.0f} ms, count $count')"
}

wait_import() { # wait_import ID: polls until done or failed; prints the import
  while :; do
    local s; s=$(api GET "/v1/imports/$1")
    case "$s" in *'"state":"done"'*|*'"state":"failed"'*) echo "$s"; return ;; esac
    sleep 0.5
  done
}

raw_ms() { # raw_ms BACKEND URL plan|spend: median of 3 counts of that filter in sqlite3 or psql, in ms
  local sql
  if [ "$1" = sqlite ]; then
    case "$3" in
      plan) sql="SELECT count(*) FROM contacts WHERE json_extract(attributes, '\$.plan') = '5G'" ;;
      spend) sql="SELECT count(*) FROM contacts WHERE CAST(json_extract(attributes, '\$.monthly_spend') AS REAL) >= 100 AND CAST(json_extract(attributes, '\$.monthly_spend') AS REAL) < 200" ;;
    esac
    for _ in 1 2 3; do
      local t0; t0=$(date +%s.%N); sqlite3 "${2#sqlite://}" "$sql" >/dev/null; ms_since "$t0"
    done | sort -n | sed -n 2p | sed 's/$/ ms/'
  else
    case "$3" in
      plan) sql="SELECT count(*) FROM contacts WHERE attrs ->> 'plan' = '5G'" ;;
      spend) sql="SELECT count(*) FROM contacts WHERE (attrs ->> 'monthly_spend')::numeric >= 100 AND (attrs ->> 'monthly_spend')::numeric < 200" ;;
      # The same, parsing the attributes' text on every row (how segments read them before
      # migration 0038 kept them as jsonb).
      plan-text) sql="SELECT count(*) FROM contacts WHERE attributes::jsonb ->> 'plan' = '5G'" ;;
      spend-text) sql="SELECT count(*) FROM contacts WHERE (attributes::jsonb ->> 'monthly_spend')::numeric >= 100 AND (attributes::jsonb ->> 'monthly_spend')::numeric < 200" ;;
    esac
    for _ in 1 2 3; do
      local t0; t0=$(date +%s.%N); psql "$2" -qAtc "$sql" >/dev/null; ms_since "$t0"
    done | sort -n | sed -n 2p | sed 's/$/ ms/'
  fi
}

for backend in ${BACKENDS:-sqlite postgres}; do
  db=$(fresh_db "$backend")
  start_server "$db"
  base=$(new_campaign base)
  started=$(date +%s.%N)
  reply=$(people | curl -fsS -X POST "$BASE/v1/campaigns/$base/contacts" -H "Authorization: Bearer $TOKEN" \
    -H 'content-type: text/csv' --data-binary @-)
  case "$reply" in *'"state":"queued"'*) wait_import "$(json_field "$reply" id)" >/dev/null ;; esac
  echo "$backend: $PEOPLE people loaded in $(ms_since "$started") ms"
  echo "  preview plan = 5G:               $(preview_ms '{"attribute":"plan","op":"eq","value":"5G"}')"
  echo "  preview spend in [100, 200):     $(preview_ms '{"all":[{"attribute":"monthly_spend","op":"gte","value":100},{"attribute":"monthly_spend","op":"lt","value":200}]}')"
  echo "  preview not called within 30d:   $(preview_ms '{"not":{"called_within":"30d"}}')"
  echo "  preview nested mix:              $(preview_ms '{"any":[{"all":[{"attribute":"plan","op":"in","value":["4G","宽带"]},{"not":{"attribute":"city","op":"eq","value":"上海"}}]},{"last_disposition":["declined"],"within":"90d"}]}')"
  # A lead's name search (first page of 50, in name order; SQLite reads the table, migration 0039).
  echo "  search name 张伟 (first page):   $(for _ in 1 2 3; do curl -fsS -o /dev/null -w '%{time_total}\n' -G "$BASE/v1/contacts" --data-urlencode name=张伟 --data-urlencode limit=50 -H "Authorization: Bearer $TOKEN"; done | sort -n | sed -n 2p | python3 -c "import sys; print(f'{float(sys.stdin.read())*1000:.0f} ms')")"
  # The bound: the same filters counted by the database's own shell, no server in between.
  echo "  reference, raw count plan = 5G:  $(raw_ms "$backend" "$db" plan)"
  echo "  reference, raw count spend:      $(raw_ms "$backend" "$db" spend)"
  if [ "$backend" = postgres ]; then
    echo "  reference, raw count plan = 5G on the text:  $(raw_ms "$backend" "$db" plan-text)"
    echo "  reference, raw count spend on the text:      $(raw_ms "$backend" "$db" spend-text)"
  fi
  target=$(new_campaign target)
  started=$(date +%s.%N)
  reply=$(api POST "/v1/campaigns/$target/contacts/from-segment" \
    '{"filter":{"attribute":"monthly_spend","op":"gt","value":270},"list_name":"bench"}')
  case "$reply" in
    *'"state":"queued"'*) report=$(wait_import "$(json_field "$reply" id)") ;;
    *) report=$reply ;;
  esac
  echo "  add to campaign (spend > 270):   $(ms_since "$started") ms; $(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r=r.get("report", r); print({k: r[k] for k in ("total","accepted","duplicates","suppressed")})' "$report")"
  echo "  peak resident $(peak_rss_mib) MiB"
  stop_server
done
