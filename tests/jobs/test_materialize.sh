#!/usr/bin/env bash
# test_materialize.sh - `kind: materialize` and `kind: dataset` (jobs/materialize, jobs/dataset)
# and `maestro features` (runner/cmd_features.c) as a user runs them: every aggregation against a brute-force
# reference (tests/jobs/features_ref.py) on random events with ties, gaps, empty values and
# unsorted rows; identical stores at 1, 2 and 3 ranks; the online table; point-in-time
# training sets against a brute-force join (ttl, ties, no leakage); incremental runs; bad input.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3
REF="$MAESTRO_SOURCE_DIR/tests/jobs/features_ref.py"

"$PY" "$REF" events events.csv --seed 7 --rows 1500 --entities 40 || { echo "FAIL - setup"; exit 1; }

spec() { # OUT.yml STORE [extra top-level YAML]
  cat > "$1" <<YML
kind: materialize
name: feats
source: {path: events.csv, entity: customer_id, timestamp: event_ts, created: created_ts}
feature_views:
  - name: activity
    ttl: 2d
    features:
      - {name: cnt_1h, column: amount, agg: count, window: 1h}
      - {name: sum_1d, column: amount, agg: sum, window: 1d}
      - {name: mean_7d, column: amount, agg: mean, window: 7d}
      - {name: min_1d, column: qty, agg: min, window: 1d}
      - {name: max_1d, column: qty, agg: max, window: 1d}
      - {name: std_1d, column: amount, agg: std, window: 1d}
      - {name: last_amount, column: amount, agg: last}
      - {name: distinct_qty, column: qty, agg: distinct_count}
      - {name: sum_all, column: amount, agg: sum}
offline: {path: $2}
${3:-}
YML
}

# same_csv A B - equal cell by cell, numbers within 1e-9 relative
same_csv() {
  run "$PY" -c "
import csv, math, sys
a, b = list(csv.reader(open('$1'))), list(csv.reader(open('$2')))
assert a[0] == b[0], (a[0], b[0])
assert len(a) == len(b), (len(a), len(b))
for i, (x, y) in enumerate(zip(a[1:], b[1:]), 2):
    assert x[:3] == y[:3], (i, x[:3], y[:3])
    for j, (u, v) in enumerate(zip(x[3:], y[3:])):
        if u == '' or v == '':
            assert u == v, (i, a[0][j + 3], u, v)
        else:
            assert math.isclose(float(u), float(v), rel_tol=1e-9, abs_tol=1e-9), (i, a[0][j + 3], u, v)
print('ok', len(a) - 1, 'rows')"
}

case_ "every aggregation equals the brute-force reference"
"$PY" "$REF" materialize events.csv ref.csv
spec m.yml store1.h5
maestro run m.yml --output runs/m1
expect_exit 0
expect_stderr "1500 events read"
maestro features export store1.h5 --view activity -o exp1.csv
expect_exit 0
same_csv exp1.csv ref.csv
expect_exit 0

for np in 2 3; do
  case_ "materialising on $np ranks gives the same store as on 1"
  spec m$np.yml store$np.h5
  mpi $np run m$np.yml --output runs/m$np
  expect_exit 0
  maestro features export store$np.h5 --view activity -o exp$np.csv
  run cmp exp1.csv exp$np.csv
  expect_exit 0
done

case_ "offline.compression: deflate stores the same rows, compressed; the default is none"
spec mc.yml storec.h5
sed -i 's/offline: {path: storec.h5}/offline: {path: storec.h5, compression: deflate}/' mc.yml
mpi 2 run mc.yml --output runs/mc
expect_exit 0
maestro features export storec.h5 --view activity -o expc.csv
run cmp exp1.csv expc.csv
expect_exit 0
run "$PY" -c "
import h5py
f = h5py.File('storec.h5')
assert f['views/activity/cnt_1h'].compression == 'gzip', f['views/activity/cnt_1h'].compression
assert h5py.File('store1.h5')['views/activity/cnt_1h'].compression is None
print('ok')"
expect_exit 0

# same_store A B - every dataset of two stores equal (rows, index, online table), NaN == NaN
same_store() {
  run "$PY" -c "
import h5py, numpy as np
a, b = h5py.File('$1'), h5py.File('$2')
names = []
a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
nb = []
b.visititems(lambda n, o: nb.append(n) if isinstance(o, h5py.Dataset) else None)
assert sorted(names) == sorted(nb), (names, nb)
for n in names:
    x, y = a[n][()], b[n][()]
    assert x.shape == y.shape and x.dtype == y.dtype, n
    same = (x == y) | (np.isnan(x) & np.isnan(y)) if x.dtype.kind == 'f' else x == y
    assert same.all(), n
print('ok', len(names), 'datasets')"
}

# Blocks of 7 rows: entities straddle blocks and ranks, a rank's first and last blocks are
# partial; compressed blocks rewrite partial chunks collectively.
for np in 1 2 3; do
  for comp in none deflate; do
    case_ "writing in blocks of 7 rows on $np ranks ($comp) gives the same store"
    spec mb$np$comp.yml storeb$np$comp.h5
    sed -i "s/offline: {path: storeb$np$comp.h5}/offline: {path: storeb$np$comp.h5, compression: $comp, block_rows: 7}/" mb$np$comp.yml
    mpi $np run mb$np$comp.yml --output runs/mb$np$comp
    expect_exit 0
    same_store store1.h5 storeb$np$comp.h5
    expect_exit 0
  done
done

case_ "the online table holds each entity's latest row"
maestro features online store2.h5 --view activity --entity c007 --json
expect_exit 0
printf '%s' "$OUT" > online.json
run "$PY" -c "
import csv, json, math
rows = [r for r in csv.DictReader(open('ref.csv')) if r['customer_id'] == 'c007']
last = rows[-1]
o = json.load(open('online.json'))
for k, v in o['features'].items():
    want = float(last[k]) if last[k] else None
    assert (v is None and want is None) or math.isclose(v, want, rel_tol=1e-9, abs_tol=1e-9), (k, v, want)
assert o['event_ts'] == last['event_ts'], (o['event_ts'], last['event_ts'])
print('ok')"
expect_exit 0
maestro features online store2.h5 --view activity --entity nobody
expect_exit 1
expect_stderr "entity 'nobody' is not in the online store"

case_ "a point-in-time training set equals the brute-force join (ttl, ties, no leakage)"
"$PY" "$REF" labels labels.csv events.csv --seed 3 --rows 400
cat > d.yml <<'YML'
kind: dataset
name: train-set
entities: {path: labels.csv, entity: customer_id, timestamp: event_ts, label: label}
features: [activity:cnt_1h, activity:mean_7d, activity:last_amount, activity:std_1d]
store: store1.h5
fill: nan
output: out/train.h5
YML
for np in 1 3; do
  rm -f out/train.h5
  mpi $np run d.yml
  expect_exit 0
  expect_file out/train.h5
  cp out/train.h5 train$np.h5
done
"$PY" "$REF" pit labels.csv ref.csv 172800 pit.json
run "$PY" -c "
import json, math, h5py
ref = json.load(open('pit.json'))
cols = [ref['features'].index(n) for n in ['cnt_1h', 'mean_7d', 'last_amount', 'std_1d']]
for path in ['train1.h5', 'train3.h5']:
    f = h5py.File(path)
    X, y = f['X'][:], f['y'][:]
    assert X.shape == (400, 4), X.shape
    assert [n.decode() if isinstance(n, bytes) else n for n in f.attrs['class_names']] == ['churn', 'stay']
    for i, row in enumerate(ref['rows']):
        for j, c in enumerate(cols):
            want = None if row is None else row[c]
            got = float(X[i, j])
            if want is None:
                assert math.isnan(got), (path, i, j, got)
            else:
                assert math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-6), (path, i, j, got, want)
print('ok')"
expect_exit 0

case_ "incremental: only new events are added; a second run with none writes nothing"
head -n 1 events.csv > inc.csv
"$PY" -c "
import csv
rows = list(csv.reader(open('events.csv')))[1:]
rows.sort(key=lambda r: r[1])
cut = len(rows) * 2 // 3
open('cut.txt', 'w').write(rows[cut][1])
w = csv.writer(open('inc.csv', 'a', newline=''))
w.writerows(r for r in rows if r[1] < rows[cut][1])"
spec inc.yml storei.h5 "incremental: true"
sed -i 's/path: events.csv/path: inc.csv/' inc.yml
maestro run inc.yml --output runs/inc
expect_exit 0
tail -n +2 events.csv | "$PY" -c "
import csv, sys
cut = open('cut.txt').read()
w = csv.writer(open('inc.csv', 'a', newline=''))
w.writerows(r for r in csv.reader(sys.stdin) if r[1] >= cut)"
mpi 2 run inc.yml --output runs/inc
expect_exit 0
maestro features export storei.h5 --view activity -o expi.csv
same_csv expi.csv ref.csv
expect_exit 0
before=$(stat -c %Y.%s storei.h5; md5sum < storei.h5)
sleep 1
mpi 2 run inc.yml --output runs/inc
expect_exit 0
expect_stderr "is unchanged"
after=$(stat -c %Y.%s storei.h5; md5sum < storei.h5)
[ "$before" = "$after" ] && ok "store untouched" || fail "the store was rewritten"

# ---- bad input: exit 2, one line with file:line:col, nothing written ---------------------------
bad() { # NAME EXPECTED
  case_ "bad input: $1"
  rm -f bad.h5
  maestro run bad.yml --output runs/bad
  expect_exit 2
  expect_stderr "$2"
  # the error is one line (info lines about the run may come before it)
  [ "$(grep -c '^maestro:' "$WORK/.err")" -eq 1 ] && ok "one error line" || fail "not one error line"
  expect_no_file bad.h5
}
spec bad.yml bad.h5
sed -i 's/column: qty, agg: min/column: qtty, agg: min/' bad.yml
bad "a missing column" "no column 'qtty'"
spec bad.yml bad.h5
sed -i 's/agg: count, window: 1h/agg: count, window: 0s/' bad.yml
bad "window <= 0" "bad.yml:8:"
spec bad.yml bad.h5
sed -i 's/agg: count,/agg: cnt,/' bad.yml
bad "unknown agg" "bad.yml:8:"
printf 'customer_id,event_ts,created_ts,amount,qty\nc1,2026-11-01T00:00:00Z,2026-11-01T00:00:00Z,1,2\nc2,yesterday,2026-11-01T00:00:00Z,1,2\n' > badts.csv
spec bad.yml bad.h5
sed -i 's/path: events.csv/path: badts.csv/' bad.yml
bad "an unparseable timestamp" "badts.csv:3:"
sed 's/activity:mean_7d/activity:mean_8d/' d.yml > bad.yml
case_ "bad input: an unknown feature reference"
maestro run bad.yml
expect_exit 2
expect_stderr "bad.yml:4:"
expect_stderr "no feature 'mean_8d'"

finish
