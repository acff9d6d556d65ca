#!/usr/bin/env bash
# test_dataset.sh - `kind: dataset` (jobs/dataset) on a store of many blocks, against a
# brute-force point-in-time join written here in numpy
#
# The store: 400,000 events of 100,000 entities (`maestro data events`: skewed activity, ties
# on event_ts, missing values) materialised into two views with different ttls (1d and none),
# so each rank's share spans many read blocks, index pieces and gather spans of the join.
# The entity rows: the generator's labels (random order) plus rows for entities absent from
# the store, rows exactly on an event time (ties), exactly at ts - ttl and one millisecond past
# it, before any event, repeated rows; once unsorted and once sorted by (entity, ts). The
# reference reads the store with h5py and takes, per row and view, the row of greatest
# (event_ts, created_ts) with ts - ttl <= event_ts <= ts, the fill where there is none or the
# value is NaN. Identical files at 1, 2 and 3 ranks.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3

maestro data events --events 400000 --entities 100000 --days 20 --seed 11 --labels 60000 \
  --labels-out gen.csv -o events.h5
expect_exit 0

cat > m.yml <<'YML'
kind: materialize
name: feats
source: {path: events.h5, entity: customer_id, timestamp: event_ts, created: created_ts,
         timestamp_format: epoch_ms}
feature_views:
  - name: day
    ttl: 1d
    features:
      - {name: n_1h, column: amount, agg: count, window: 1h}
      - {name: mean_1d, column: amount, agg: mean, window: 1d}
      - {name: last_amount, column: amount, agg: last}
  - name: all
    features:
      - {name: qty_max_7d, column: qty, agg: max, window: 7d}
      - {name: amount_std_1d, column: amount, agg: std, window: 1d}
offline: {path: store.h5, block_rows: 8192}
YML
case_ "the store for the joins (many blocks)"
mpi 2 run m.yml --output runs/m
expect_exit 0

# The entity rows: generated ones plus the edge cases, unsorted; then the same rows sorted.
run "$PY" - <<'PY'
import csv, random, h5py, numpy as np
rng = random.Random(4)
rows = list(csv.reader(open("gen.csv")))
head, rows = rows[0], rows[1:]
f = h5py.File("store.h5")
v = f["views/day"]
keys, first, count = v["index/key"][()], v["index/first"][()], v["index/count"][()]
ts = v["event_ts"][()]
def iso(us):
    s, r = divmod(int(us), 1000000)
    return np.datetime_as_string(np.datetime64(s, "s")) + ".%03dZ" % (r // 1000)
for _ in range(3000):
    e = rng.randrange(len(keys))
    k, t = keys[e].decode(), ts[first[e] + rng.randrange(count[e])]
    day = 86400 * 10**6
    for at in (t, t + day, t + day + 1000, t - 1000, t + 3 * day):
        rows.append([k, iso(at), rng.choice(["churn", "stay"])])
for i in range(500):
    rows.append(["nobody-%d" % i, "2026-11-05T00:00:00Z", "stay"])
rows += rows[:200]  # repeated rows
rng.shuffle(rows)
w = csv.writer(open("labels.csv", "w", newline=""))
w.writerow(head)
w.writerows(rows)
w = csv.writer(open("sorted.csv", "w", newline=""))
w.writerow(head)
w.writerows(sorted(rows, key=lambda r: (r[0], r[1])))
print(len(rows), "entity rows")
PY
expect_exit 0

spec() { # OUT.yml LABELS OUTPUT FILL
  cat > "$1" <<YML
kind: dataset
name: pit
entities: {path: $2, entity: customer_id, timestamp: event_ts, label: label}
features: [all:amount_std_1d, day:n_1h, day:last_amount, all:qty_max_7d, day:mean_1d]
store: store.h5
fill: $4
output: $3
YML
}

for np in 1 2 3; do
  case_ "entity rows in random order at $np ranks"
  spec d$np.yml labels.csv out/r$np.h5 nan
  mpi $np run d$np.yml
  expect_exit 0
  expect_file out/r$np.h5
done
case_ "entity rows sorted by entity, at 2 ranks, fill -1"
spec ds.yml sorted.csv out/s2.h5 -1
mpi 2 run ds.yml
expect_exit 0

case_ "every row equals the brute-force join; the same file at 1, 2 and 3 ranks"
run "$PY" - <<'PY'
import csv, h5py, numpy as np
from datetime import datetime, timezone
f = h5py.File("store.h5")
def us(s):
    d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return int(round(d.timestamp() * 1e6))
def ref(path, fill):
    want = [("all", "amount_std_1d"), ("day", "n_1h"), ("day", "last_amount"),
            ("all", "qty_max_7d"), ("day", "mean_1d")]
    views = {}
    for name in ("day", "all"):
        v = f["views/" + name]
        idx = {k.decode(): (a, c) for k, a, c in
               zip(v["index/key"][()], v["index/first"][()], v["index/count"][()])}
        views[name] = (idx, v["event_ts"][()], v["created_ts"][()], int(v.attrs["ttl_us"]),
                       {n: v[n][()] for vn, n in want if vn == name})
    rows = list(csv.DictReader(open(path)))
    X = np.full((len(rows), len(want)), fill, dtype=np.float64)
    for i, r in enumerate(rows):
        t = us(r["event_ts"])
        for j, (vn, n) in enumerate(want):
            idx, ets, cts, ttl, vals = views[vn]
            if r["customer_id"] not in idx:
                continue
            a, c = idx[r["customer_id"]]
            e, cr = ets[a:a + c], cts[a:a + c]
            ok = (e <= t) & ((ttl == 0) | (e >= t - ttl))
            if not ok.any():
                continue
            cand = np.nonzero(ok)[0]
            best = cand[np.lexsort((cand, cr[cand], e[cand]))[-1]]  # greatest (event_ts, created_ts)
            x = vals[n][a + best]
            if not np.isnan(x):
                X[i, j] = x
    return X.astype(np.float32), [r["label"] for r in rows]
for path, fill, outs in (("labels.csv", np.nan, ["out/r1.h5", "out/r2.h5", "out/r3.h5"]),
                         ("sorted.csv", -1.0, ["out/s2.h5"])):
    X, y = ref(path, fill)
    assert np.isnan(X).any() if fill != fill else (X == -1).any()
    for o in outs:
        g = h5py.File(o)
        names = [c.decode() if isinstance(c, bytes) else c for c in g.attrs["class_names"]]
        assert names == ["churn", "stay"], names
        assert np.array_equal(g["X"][()], X, equal_nan=True), (o, np.argwhere(
            ~((g["X"][()] == X) | (np.isnan(g["X"][()]) & np.isnan(X))))[:5])
        assert [names[k] for k in g["y"][()]] == y, o
    print("ok", path, X.shape, int(np.isnan(X).sum()), "missing")
PY
expect_exit 0
run "$PY" -c "
import h5py, numpy as np
a, b, c = (h5py.File('out/r%d.h5' % n) for n in (1, 2, 3))
assert np.array_equal(a['X'][()], c['X'][()], equal_nan=True) and np.array_equal(a['y'][()], c['y'][()])
print('ok')"
expect_exit 0

case_ "integer labels become classes in numeric order, fractional ones a regression target"
run "$PY" -c "
import csv
rows = list(csv.reader(open('labels.csv')))
ints = {'churn': '10', 'stay': '2'}
for name, f in (('ints.csv', lambda i, r: ints[r[2]] if i % 3 else '007'),
                ('reals.csv', lambda i, r: '%.2f' % (i * 0.25))):
    w = csv.writer(open(name, 'w', newline=''))
    w.writerow(rows[0])
    w.writerows([r[0], r[1], f(i, r)] for i, r in enumerate(rows[1:]))
print('ok')"
expect_exit 0
for kind in ints reals; do
  spec $kind.yml $kind.csv out/$kind.h5 nan
  mpi 2 run $kind.yml
  expect_exit 0
done
run "$PY" -c "
import csv, h5py, numpy as np
want = [r[2] for r in list(csv.reader(open('ints.csv')))[1:]]
g = h5py.File('out/ints.h5')
names = [c.decode() if isinstance(c, bytes) else c for c in g.attrs['class_names']]
assert names == ['2', '007', '10'], names
assert [names[k] for k in g['y'][()]] == want
want = np.array([float(r[2]) for r in list(csv.reader(open('reals.csv')))[1:]], dtype=np.float32)
g = h5py.File('out/reals.h5')
assert 'class_names' not in g.attrs and np.array_equal(g['y'][()], want)
print('ok')"
expect_exit 0
expect_stdout "ok"
finish
