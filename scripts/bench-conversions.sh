#!/usr/bin/env bash
# Conversions file benchmark (issue 28): a nightly billing file of ROWS conversions (default
# 1,000,000) uploaded to `POST /v1/conversions` as text/csv, timed with the server's peak RSS
# before and after (the file is streamed and recorded in transactions of 1,000 rows, so memory
# should not grow with it); then the same file again (every row a duplicate reference). A tenth
# of the rows name a phone of the campaign's CONTACTS (default 100,000) imported contacts, the
# rest people outcall does not know (organic); one row in a thousand is invalid.
# BACKENDS=sqlite (or postgres) runs one.
source "$(dirname "$0")/bench-lib.sh"
ROWS="${ROWS:-1000000}"
CONTACTS="${CONTACTS:-100000}"
build

for backend in ${BACKENDS:-sqlite postgres}; do
  url=$(fresh_db $backend)
  start_server "$url"
  campaign=$(new_campaign "conversions")
  "$LOADGEN" import "$BASE" "$TOKEN" "$campaign" "$CONTACTS" >/dev/null
  offer=$(api GET "/v1/campaigns/$campaign" | python3 -c 'import json,sys; print(json.load(sys.stdin)["offer"])')
  phone=$(api GET "/v1/campaigns/$campaign/contacts?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["items"][0]["phone"])')
  file="$WORK/conversions.csv"
  python3 - "$ROWS" "$offer" "$phone" "$file" <<'PY'
import sys
rows, offer, known, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with open(path, "w") as f:
    f.write("phone,offer,occurred_at,reference\n")
    for n in range(rows):
        if n % 1000 == 999:
            f.write(f"12,{offer},2026-12-01T10:00:00+08:00,BAD-{n}\n")
        elif n % 10 == 0:
            f.write(f"{known},{offer},2026-12-01T10:00:00+08:00,BILL-{n}\n")
        else:
            f.write(f"+86139{n:08d},{offer},2026-12-01T10:00:00+08:00,BILL-{n}\n")
PY
  size=$(du -m "$file" | cut -f1)
  before=$(peak_rss_mib)
  for pass in first again; do
    start=$(date +%s.%N)
    report="$WORK/report-$pass.json" # a file: the report's 1,000 invalid rows outgrow an argument
    curl -fsS -X POST "$BASE/v1/conversions" -H "Authorization: Bearer $TOKEN" \
      -H 'content-type: text/csv' --data-binary "@$file" -o "$report"
    end=$(date +%s.%N)
    python3 - "$backend" "$pass" "$ROWS" "$size" "$start" "$end" "$report" "$before" "$(peak_rss_mib)" <<'PY'
import json, sys
backend, pass_, rows, size, start, end, report, before, after = sys.argv[1:]
r, secs = json.load(open(report)), float(end) - float(start)
print(f"{backend} {pass_}: {int(rows):,} rows ({size} MiB) in {secs:.1f} s, {int(rows) / secs:,.0f} rows/s; "
      f"accepted {r['accepted']:,}, duplicates {r['duplicates']:,}, invalid {r['invalid_count']:,}; "
      f"peak RSS {before} → {after} MiB")
PY
  done
  stop_server
done
