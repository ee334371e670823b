#!/usr/bin/env bash
# Import benchmark by charset (issue 25): the same ROWS (default 1,000,000) generated contacts
# uploaded as UTF-8 CSV, as GB18030 CSV (Excel's "CSV" on Chinese Windows, CRLF) and as UTF-16
# tab-separated text (Excel's "Unicode text"), each into a fresh database, each read by the
# import job. Prints rows/s per charset, the ratio to the UTF-8 path, and the server's peak
# memory (the decoders' buffers are fixed: it should not grow with the charset).
# BACKENDS=sqlite (or postgres) runs one backend. XLSX_ROWS (default 200,000) contacts are also
# uploaded as an .xlsx workbook (scripts/make-fixtures.py --big-xlsx: phones as numbers, names as
# shared strings) and timed against a UTF-8 CSV of the same rows, in the same run. Raise
# OUTCALL_MAX_XLSX_BYTES for workbooks past 64 MiB.
source "$(dirname "$0")/bench-lib.sh"
ROWS="${ROWS:-1000000}"
build
"$LOADGEN" csv "$ROWS" > "$WORK/utf-8.csv"
python3 - "$WORK" <<'PY'
import sys
work = sys.argv[1]
text = open(f"{work}/utf-8.csv", encoding="utf-8", newline="").read().replace("\r\n", "\n")
open(f"{work}/gb18030.csv", "wb").write(text.replace("\n", "\r\n").encode("gb18030"))
open(f"{work}/utf-16.txt", "wb").write(text.replace(",", "\t").replace("\n", "\r\n").encode("utf-16"))
PY
for f in utf-8.csv gb18030.csv utf-16.txt; do echo "file $f: $(du -h "$WORK/$f" | cut -f1) for $ROWS rows"; done
XLSX_ROWS="${XLSX_ROWS:-200000}"
python3 "$(dirname "$0")/make-fixtures.py" --big-xlsx "$WORK/contacts.xlsx" "$XLSX_ROWS"
# The same rows as the workbook, as UTF-8 CSV: the baseline the workbook is compared with.
python3 - "$WORK" "$XLSX_ROWS" <<'PY'
import sys
work, rows = sys.argv[1], int(sys.argv[2])
names = ["王芳", "李雷", "张伟", "赵敏", "刘洋", "陈静", "杨帆", "黄磊"]
with open(f"{work}/xlsx-rows.csv", "w", encoding="utf-8") as f:
    f.write("手机号码,客户姓名,月消费\n")
    for i in range(rows):
        f.write(f"{13000000000 + i},{names[i % len(names)]},{i % 300}\n")
PY
echo "file contacts.xlsx: $(du -h "$WORK/contacts.xlsx" | cut -f1) for $XLSX_ROWS rows"

upload() { # upload FILE CAMPAIGN [ROWS] [TYPE] -> "state charset wait_s read_rows/s rows/s"
  # rows/s runs from the upload's start to the import's end; read_rows/s from the first rows
  # counted to the end, so what comes before them (wait_s: the upload, then a worker taking the
  # job) is apart.
  local start end id state rows="${3:-$ROWS}" type="${4:-text/csv}" first="" p0=0
  start=$(date +%s.%N)
  id=$(curl -sf -H "Authorization: Bearer $TOKEN" -H "Content-Type: $type" \
    --data-binary "@$1" "$BASE/v1/campaigns/$2/contacts" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d.get('id') or d['import'])")
  while :; do
    read -r state processed < <(curl -sf -H "Authorization: Bearer $TOKEN" "$BASE/v1/imports/$id" \
      | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['state'] + ',' + str(d.get('report', {}) and d['report'].get('charset')), d['processed'])")
    if [ -z "$first" ] && [ "$processed" -gt 0 ]; then first=$(date +%s.%N); p0=$processed; fi
    case "$state" in done*|failed*) break ;; esac
    sleep 0.2
  done
  end=$(date +%s.%N)
  first=${first:-$end}
  echo "${state/,/ } $(python3 -c "
s, f, e, rows, p0 = $start, $first, $end, $rows, $p0
print(round(f - s, 1), round((rows - p0) / (e - f)) if e > f else 0, round(rows / (e - s)))")"
}

# say LABEL RESULT BASELINE AGAINST RSS: prints one file's line (to stderr, so the caller keeps
# stdout) and the baseline's reading rate (the first file's) on stdout.
say() {
  local st cs wait read rate base
  read -r st cs wait read rate <<<"$2"
  [ "$cs" = None ] && cs=xlsx
  [ "$read" = 0 ] && read=$rate # a small upload is read in its request: no rows to count apart
  base=${3:-$read}
  echo "$1: $st $cs, reading $read rows/s ($(ratio "$read" "$base")x $4) first rows counted after ${wait} s; $rate rows/s upload to end; peak RSS $5 MiB" >&2
  echo "$base"
}

for backend in ${BACKENDS:-sqlite postgres}; do
  base=""
  for f in utf-8.csv gb18030.csv utf-16.txt; do
    url=$(fresh_db $backend)
    start_server "$url"
    campaign=$(new_campaign "charset bench $f")
    result=$(upload "$WORK/$f" "$campaign")
    rss=$(peak_rss_mib)
    stop_server
    base=$(say "$backend $f" "$result" "${base:-}" "UTF-8" "$rss")
  done
  base=""
  for f in xlsx-rows.csv contacts.xlsx; do
    url=$(fresh_db $backend)
    start_server "$url"
    campaign=$(new_campaign "xlsx bench $f")
    type=text/csv
    [ "$f" = contacts.xlsx ] && type=application/vnd.openxmlformats-officedocument.spreadsheetml.sheet
    result=$(upload "$WORK/$f" "$campaign" "$XLSX_ROWS" "$type")
    rss=$(peak_rss_mib)
    stop_server
    base=$(say "$backend $f" "$result" "${base:-}" "UTF-8 CSV" "$rss")
  done
done
