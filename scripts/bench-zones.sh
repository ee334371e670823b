#!/usr/bin/env bash
# Imports that give people a zone (issue 16): ROWS contacts (default 1,000,000) imported into one
# campaign without zones, then the same people imported into a second campaign with every
# ZONE_EVERY-th (default 10) in a zone of its own: the path that keeps each entry's zone in step
# with its person's, in every campaign. Prints both imports' rows/s and the second's ratio to the
# first (the same run's reference). BACKENDS=sqlite (or postgres) runs one; BIN= another build.
source "$(dirname "$0")/bench-lib.sh"
ROWS="${ROWS:-1000000}"
ZONE_EVERY="${ZONE_EVERY:-10}"
build

echo "rows $ROWS, a zone for every ${ZONE_EVERY}th in the second import, bin $BIN"
for backend in ${BACKENDS:-sqlite postgres}; do
  url=$(fresh_db $backend)
  start_server "$url"
  first=$(new_campaign "without zones")
  second=$(new_campaign "with zones")
  plain=$("$LOADGEN" import "$BASE" "$TOKEN" "$first" "$ROWS")
  zoned=$(ZONE_EVERY=$ZONE_EVERY "$LOADGEN" import "$BASE" "$TOKEN" "$second" "$ROWS")
  stop_server
  a=$(json_field "$plain" rows_per_second); b=$(json_field "$zoned" rows_per_second)
  printf '%s: without zones %.0f rows/s, again with zones %.0f rows/s (×%s)\n' \
    "$backend" "$a" "$b" "$(ratio "$b" "$a")"
done
