#!/usr/bin/env bash
# What one forecast costs at its worst, against an ordinary one in the same run (issue 24: "the
# forecast's cost is bounded whatever the input"). On the release binary and SQLite:
# - ordinary: 10,000 contacts, 3 attempts, 30 days, default retries;
# - worst: the same contacts, 100 attempts, retry delays of 1 s (the phone gap 0), fifty
#   overlapping windows a day, 366 days, 5,000 agents at 1 s a call, and an end a year ahead so
#   the staffing search runs its dozen year-long simulations too.
# Prints the median wall time of 5 forecasts of each and their ratio, and the server's CPU time.
#   NO_BUILD=1 BIN=path scripts/bench-forecast.sh
source "$(dirname "$0")/bench-lib.sh"
build
start_server "$(fresh_db sqlite)" OUTCALL_PHONE_MIN_GAP=0s

contacts() { python3 -c 'print("phone"); [print(f"139{i:08}") for i in range(10000)]'; }
median_ms() { # median_ms PATH: the median of 5 timed GETs, in ms
  for _ in 1 2 3 4 5; do
    curl -fsS -o /dev/null -w '%{time_total}\n' "$BASE$1" -H "Authorization: Bearer $TOKEN"
  done | sort -n | sed -n 3p | python3 -c 'import sys; print(f"{float(sys.stdin.read())*1000:.0f}")'
}

ordinary=$(new_campaign ordinary)
api PATCH "/v1/campaigns/$ordinary" '{"max_attempts":3}' >/dev/null
contacts | curl -fsS -X POST "$BASE/v1/campaigns/$ordinary/contacts" -H "Authorization: Bearer $TOKEN" \
  -H 'content-type: text/csv' --data-binary @- >/dev/null

worst=$(new_campaign worst)
# RETRY=json sets the worst campaign's retry delays (1 s each by default).
retry=${RETRY:-'{"no_answer":"1s","busy":"1s","voicemail":"1s"}'}
windows=$(python3 -c 'import json; print(json.dumps([{"days":["mon","tue","wed","thu","fri","sat","sun"],"start":f"{h:02}:00","end":"24:00"} for h in range(0,24)] + [{"days":["mon","tue","wed","thu","fri","sat","sun"],"start":f"00:{m:02}","end":f"{(m%23)+1:02}:00"} for m in range(0,26)]))')
end=$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc)+datetime.timedelta(days=365)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
api PATCH "/v1/campaigns/$worst" "{\"retry\":$retry,\"calling_windows\":$windows,\"end_at\":\"$end\"}" >/dev/null
contacts | curl -fsS -X POST "$BASE/v1/campaigns/$worst/contacts" -H "Authorization: Bearer $TOKEN" \
  -H 'content-type: text/csv' --data-binary @- >/dev/null

cpu_ms() { awk '{print ($14+$15)*10}' "/proc/$SERVER_PID/stat"; }
measure() { # measure NAME PATH: median wall ms of 5, and the server's CPU ms per forecast
  local before after wall
  before=$(cpu_ms)
  wall=$(median_ms "$2")
  after=$(cpu_ms)
  echo "$1: median ${wall} ms wall, $(( (after - before) / 5 )) ms server CPU per forecast"
  eval "$3=$wall"
}
measure ordinary "/v1/campaigns/$ordinary/forecast?days=30" a
measure "worst, 5000 agents at 1 s" "/v1/campaigns/$worst/forecast?days=366&agents=5000&handle_time=1s" b
measure "worst, 1 agent at 1 h" "/v1/campaigns/$worst/forecast?days=366&agents=1&handle_time=1h" c
echo "ratios to ordinary (wall): $(ratio "$b" "$a")x, $(ratio "$c" "$a")x; peak resident $(peak_rss_mib) MiB"
