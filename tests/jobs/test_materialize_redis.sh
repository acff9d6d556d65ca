#!/usr/bin/env bash
# test_materialize_redis.sh - `kind: materialize` with a real Redis online store (Debian's
# redis-server on a free loopback port, started and stopped here): every entity's latest row
# lands in Redis in Feast's layout and reads back as the store's online table has it; a re-run
# writes nothing (idempotent); a later, newer event replaces the row, an older one does not.
# Redis stopped when the online write starts and brought back later on the same port: the
# write waits (jobs/materialize/materialize.c redis_write_view, io/redis_online.c
# mo_redis_unreachable) and every row lands; never back within online.retry_s: exit 1 saying
# so, the offline store intact.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3
SRC=$MAESTRO_SOURCE_DIR
REF="$SRC/tests/jobs/features_ref.py"

"$SRC/scripts/services/redis.sh" start "$WORK/redis" >/dev/null || { echo "FAIL - setup: redis-server"; exit 1; }
trap '"$SRC/scripts/services/redis.sh" stop "$WORK/redis" >/dev/null 2>&1' EXIT
PORT=$(cat "$WORK/redis/PORT")
export REDIS_URL="redis://127.0.0.1:$PORT/0"

"$PY" "$REF" events events.csv --seed 11 --rows 600 --entities 25 || { echo "FAIL - setup"; exit 1; }
cat > m.yml <<'YML'
kind: materialize
name: feats
source: {path: events.csv, entity: customer_id, timestamp: event_ts, created: created_ts}
feature_views:
  - name: activity
    features:
      - {name: cnt_1h, column: amount, agg: count, window: 1h}
      - {name: last_amount, column: amount, agg: last}
offline: {path: store.h5}
online: {redis: "${env:REDIS_URL}", project: demo}
YML

case_ "materialise on 2 ranks into Redis: every entity's latest row"
mpi 2 run m.yml --output runs/m
expect_exit 0
expect_stderr "25 entity rows written, 0 already as new or newer"
for e in c000 c007 c024; do
  maestro features online store.h5 --view activity --entity $e --json
  printf '%s' "$OUT" > h5_$e.json
  maestro features online "$REDIS_URL" --store store.h5 --project demo --view activity --entity $e --json
  expect_exit 0
  printf '%s' "$OUT" > redis_$e.json
  run cmp h5_$e.json redis_$e.json
  expect_exit 0
done

case_ "a re-run writes nothing: every row is already there"
mpi 2 run m.yml --output runs/m
expect_exit 0
expect_stderr "0 entity rows written, 25 already as new or newer"

case_ "the Redis keys are Feast's: one hash per entity with 4-byte field names and _ts:activity"
run "$PY" -c "
import socket
s = socket.create_connection(('127.0.0.1', $PORT))
s.sendall(b'*1\r\n\$6\r\nDBSIZE\r\n')
print(s.recv(100))"
expect_stdout ":25"

case_ "an entity missing from Redis exits 1"
maestro features online "$REDIS_URL" --store store.h5 --project demo --view activity --entity nobody
expect_exit 1

case_ "Redis down when the online write starts, back later on the same port: every row lands"
"$SRC/scripts/services/redis.sh" stop "$WORK/redis" >/dev/null
timeout -k 5 120 mpirun -np 2 --oversubscribe "$MAESTRO" run m.yml --output runs/back \
  --set offline.path=store-back.h5 >back.out 2>back.err &
MPID=$!
for _ in $(seq 600); do grep -q "trying again" back.err && break; sleep 0.1; done
grep -q "trying again" back.err && ok "the write waits: $(grep -m1 'trying again' back.err | cut -c1-150)" ||
  fail "no retry warning: $(tail -n 3 back.err)"
"$SRC/scripts/services/redis.sh" start "$WORK/redis" "$PORT" >/dev/null || fail "redis did not restart on $PORT"
wait $MPID
RC=$?
cp back.err "$WORK/.err"
expect_exit 0
expect_stderr "25 entity rows written, 0 already as new or newer"
maestro features online "$REDIS_URL" --store store-back.h5 --project demo --view activity --entity c007 --json
expect_exit 0
[ "$OUT" = "$(cat redis_c007.json)" ] && ok "c007 reads back as before the restart" || fail "c007: $OUT"

case_ "Redis never back within online.retry_s: exit 1 saying so, the offline store written"
"$SRC/scripts/services/redis.sh" stop "$WORK/redis" >/dev/null
mpi 2 run m.yml --output runs/gone --set offline.path=store-gone.h5 --set online.retry_s=2
expect_exit 1
expect_stderr "gave up after online.retry_s = 2 s"
expect_stderr "127.0.0.1:$PORT"
expect_file store-gone.h5
maestro features export store-gone.h5 --view activity -o gone.csv
expect_exit 0
finish
