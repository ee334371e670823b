#!/usr/bin/env bash
# Import benchmark: ROWS (default 1,000,000) generated contacts over HTTP into SQLite and into
# PostgreSQL, beside the database's own bulk path for the same rows in the same run
# (SQLite: plain INSERTs in one transaction; PostgreSQL: COPY). Prints rows/s, the ratio to
# the bulk path, and the server's peak memory.
source "$(dirname "$0")/bench-lib.sh"
ROWS="${ROWS:-1000000}"
build
"$LOADGEN" csv "$ROWS" > "$WORK/contacts.csv"
echo "file: $(du -h "$WORK/contacts.csv" | cut -f1) for $ROWS rows"

for backend in sqlite postgres; do
  url=$(fresh_db $backend)
  start_server "$url"
  campaign=$(new_campaign "import bench")
  rss_idle=$(peak_rss_mib)
  result=$("$LOADGEN" import "$BASE" "$TOKEN" "$campaign" "$ROWS")
  rss=$(peak_rss_mib)
  stop_server
  http_rate=$(json_field "$result" rows_per_second)

  # The database's own bulk path, same rows, a table of the same shape.
  if [ $backend = sqlite ]; then
    raw=$(python3 - "$WORK/contacts.csv" "$WORK/raw.db" <<'PY'
import csv, json, sqlite3, sys, time
rows = [(r[0], r[1], json.dumps({"plan": r[2], "monthly_spend": r[3], "city": r[4]}, ensure_ascii=False))
        for r in list(csv.reader(open(sys.argv[1], encoding="utf-8")))[1:]]
db = sqlite3.connect(sys.argv[2], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, phone TEXT NOT NULL UNIQUE, name TEXT, attributes TEXT NOT NULL)")
t = time.perf_counter()
db.execute("BEGIN")
for r in rows:
    db.execute("INSERT INTO c (phone, name, attributes) VALUES (?, ?, ?)", r)
db.execute("COMMIT")
print(len(rows) / (time.perf_counter() - t))
PY
)
  else
    rawdb=$(fresh_db postgres)
    psql "$rawdb" -qc "CREATE TABLE c (id BIGSERIAL PRIMARY KEY, phone TEXT NOT NULL UNIQUE, name TEXT, plan TEXT, monthly_spend TEXT, city TEXT)"
    start=$(date +%s.%N)
    psql "$rawdb" -qc "\\copy c (phone, name, plan, monthly_spend, city) FROM '$WORK/contacts.csv' CSV HEADER"
    end=$(date +%s.%N)
    raw=$(python3 -c "print($ROWS / ($end - $start))")
  fi
  printf '%-8s http %8.0f rows/s | bulk %8.0f rows/s | ratio %s | peak RSS %s MiB (idle %s MiB) | %s\n' \
    $backend "$http_rate" "$raw" "$(ratio "$http_rate" "$raw")" "$rss" "$rss_idle" "$result"
done
