#!/usr/bin/env bash
# Import benchmark: ROWS (default 1,000,000) generated contacts over HTTP into SQLite and into
# PostgreSQL, beside the database's own bulk path for the same rows in the same run
# (SQLite: plain INSERTs in one transaction; PostgreSQL: COPY). Prints rows/s, the ratio to
# the bulk path, and the server's peak memory.
#
# A second reference, "schema": the same rows written straight into outcall's own tables (a
# contact and its campaign entry, with every index and foreign key the server has) by the
# database's bulk path, no HTTP, no checks. It is what the schema alone costs: the ratio of
# the HTTP import to it says how much the server adds, and its own ratio to the bulk path how
# far the aim can go with this schema. BACKENDS=sqlite (or postgres) runs one backend.
source "$(dirname "$0")/bench-lib.sh"
ROWS="${ROWS:-1000000}"
build
"$LOADGEN" csv "$ROWS" > "$WORK/contacts.csv"
echo "file: $(du -h "$WORK/contacts.csv" | cut -f1) for $ROWS rows"

# The rows as outcall stores them: E.164 phone, name, attributes as a JSON object.
python3 - "$WORK/contacts.csv" "$WORK/stored.csv" <<'PY'
import csv, json, sys
out = csv.writer(open(sys.argv[2], "w", encoding="utf-8", newline=""))
for r in list(csv.reader(open(sys.argv[1], encoding="utf-8")))[1:]:
    out.writerow(["+86" + r[0], r[1], json.dumps({"city": r[4], "monthly_spend": r[3], "plan": r[2]}, ensure_ascii=False)])
PY

for backend in ${BACKENDS:-sqlite postgres}; do
  url=$(fresh_db $backend)
  start_server "$url"
  campaign=$(new_campaign "import bench")
  rss_idle=$(peak_rss_mib)
  result=$("$LOADGEN" import "$BASE" "$TOKEN" "$campaign" "$ROWS")
  rss=$(peak_rss_mib)
  stop_server
  http_rate=$(json_field "$result" rows_per_second)

  # The schema reference: a fresh database migrated by the server, with one campaign.
  schema_url=$(fresh_db $backend)
  start_server "$schema_url"
  schema_campaign=$(new_campaign "schema reference")
  stop_server

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
    schema=$(python3 - "$WORK/stored.csv" "${schema_url#sqlite://}" "$schema_campaign" <<'PY'
import csv, sqlite3, sys, time
rows = list(csv.reader(open(sys.argv[1], encoding="utf-8")))
campaign = int(sys.argv[3])
db = sqlite3.connect(sys.argv[2], isolation_level=None)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=NORMAL"); db.execute("PRAGMA foreign_keys=ON")
t = time.perf_counter()
db.execute("BEGIN")
for phone, name, attributes in rows:
    contact = db.execute("INSERT INTO contacts (phone, name, attributes, created_at, updated_at) VALUES (?, ?, ?, 0, 0)",
                         (phone, name, attributes)).lastrowid
    db.execute("INSERT INTO campaign_contacts (campaign_id, contact_id, state, priority, next_attempt_at, release_at, "
               "created_at, updated_at) VALUES (?, ?, 'ready', 0, 0, 0, 0, 0)", (campaign, contact))
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
    start=$(date +%s.%N)
    psql "$schema_url" -q -v ON_ERROR_STOP=1 <<SQL
BEGIN;
CREATE TEMP TABLE stored (phone TEXT, name TEXT, attributes TEXT) ON COMMIT DROP;
\\copy stored FROM '$WORK/stored.csv' CSV
INSERT INTO contacts (phone, name, attributes, created_at, updated_at) SELECT phone, name, attributes, 0, 0 FROM stored;
INSERT INTO campaign_contacts (campaign_id, contact_id, state, priority, next_attempt_at, release_at, created_at, updated_at)
  SELECT $schema_campaign, id, 'ready', 0, 0, 0, 0, 0 FROM contacts;
COMMIT;
SQL
    end=$(date +%s.%N)
    schema=$(python3 -c "print($ROWS / ($end - $start))")
  fi
  printf '%-8s http %8.0f rows/s | bulk %8.0f rows/s | ratio %s | schema %8.0f rows/s (%s of bulk; http/schema %s) | peak RSS %s MiB (idle %s MiB) | %s\n' \
    $backend "$http_rate" "$raw" "$(ratio "$http_rate" "$raw")" "$schema" "$(ratio "$schema" "$raw")" \
    "$(ratio "$http_rate" "$schema")" "$rss" "$rss_idle" "$result"
done
