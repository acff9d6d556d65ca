#!/usr/bin/env bash
# test_validate_checks.sh - `kind: validate` checks on CSV and HDF5 tables, datasets and feature
# views as a user runs them: each check passing and failing (exit 0 / 1, warnings logged), the
# values in report.json against numpy on the same files (nulls, range, duplicates, lag, PSI and
# KS), report.h5 read with h5py, the same report at 1, 2 and 3 ranks, and bad specs (exit 2 at
# the spec's file:line:col, nothing written).
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3

# gen.py OUT.csv SEED [dirty|drifted]: 1000 rows of customer_id, amount, qty, event_ts (and an
# HDF5 table OUT.h5 with the same columns). dirty: every 20th amount empty, three negative
# amounts, row 11 a copy of row 10's key. drifted: amounts scaled and shifted.
cat > gen.py <<'PY'
import csv, sys
import h5py, numpy as np
out, seed, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else ""
rng = np.random.default_rng(seed)
n = 1000
ids = np.array([f"c{i:04d}" for i in range(n)], dtype=object)
amount = rng.lognormal(3, 1, n)
qty = rng.integers(1, 10, n)
base = np.datetime64("2026-11-20T00:00:00")
ts = np.sort(base + rng.integers(0, 4 * 86400, n).astype("timedelta64[s]"))
if mode == "dirty":
    amount[::20] = np.nan
    amount[[3, 7, 11]] = -1.0
    ids[11], ts[11] = ids[10], ts[10]
if mode == "drifted":
    amount = amount * 1.5 + 5
tss = [str(t) + "Z" for t in ts]
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "amount", "qty", "event_ts"])
    for i in range(n):
        w.writerow([ids[i], "" if np.isnan(amount[i]) else repr(float(amount[i])), int(qty[i]), tss[i]])
with h5py.File(out[:-4] + ".h5", "w") as h:
    h["customer_id"] = ids.astype(h5py.string_dtype())
    h["amount"] = amount
    h["qty"] = qty.astype(np.int64)
    h["event_ts"] = np.array(tss, dtype=object).astype(h5py.string_dtype())
PY

# ref.py: numpy references the reports are compared with.
cat > ref.py <<'PY'
import csv, json, math, sys
import numpy as np

def column(path, name):
    rows = list(csv.DictReader(open(path)))
    return np.array([float(r[name]) if r[name] != "" else np.nan for r in rows])

def psi(ref, cur):
    ref, cur = np.sort(ref[np.isfinite(ref)]), cur[np.isfinite(cur)]
    e = np.quantile(ref, np.arange(1, 10) / 10)
    pr = np.bincount(np.searchsorted(e, ref, side="left"), minlength=10) / len(ref)
    pc = np.bincount(np.searchsorted(e, cur, side="left"), minlength=10) / len(cur)
    pr, pc = np.maximum(pr, 1e-4), np.maximum(pc, 1e-4)
    return float(np.sum((pc - pr) * np.log(pc / pr)))

def ks(a, b):
    a, b = np.sort(a[np.isfinite(a)]), np.sort(b[np.isfinite(b)])
    x = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, x, side="right") / len(a)
                               - np.searchsorted(b, x, side="right") / len(b))))

def close(a, b):
    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (a, b)

def check(report, i):
    return json.load(open(report))["checks"][i]
PY

"$PY" gen.py data.csv 1 && "$PY" gen.py dirty.csv 1 dirty && "$PY" gen.py ref.csv 2 &&
  "$PY" gen.py drifted.csv 3 drifted || { echo "FAIL - setup"; exit 1; }

# spec OUT.yml DATA CHECKS... - a validate spec with one check per argument
spec() {
  local out=$1 data=$2; shift 2
  { printf 'kind: validate\nname: v\ndata: {path: %s}\nchecks:\n' "$data"
    for c in "$@"; do printf '  - %s\n' "$c"; done; } > "$out"
}
# pyrun 'python code' - run with ref.py's helpers imported
pyrun() { run "$PY" -c "import sys; sys.path.insert(0, '.'); from ref import *
$1"; }

all_checks=(
  "{check: schema, columns: {customer_id: text, amount: number, qty: number, event_ts: text}}"
  "{check: row_count, min: 1000, max: 1000}"
  "{check: nulls, max_ratio: 0}"
  "{check: range, columns: [amount, qty], min: 0, max: 1e6}"
  "{check: unique, columns: [customer_id, event_ts]}"
  "{check: freshness, column: event_ts, max_lag: 2d, as_of: 2026-11-25T00:00:00Z}"
  "{check: drift, reference: ref.csv, max_psi: 0.2, max_ks: 0.1}"
)

for np in 1 2 3; do
  case_ "every check passes on clean data at np $np"
  spec ok.yml data.csv "${all_checks[@]}"
  mpi $np run ok.yml --output runs/ok$np
  expect_exit 0
  expect_file runs/ok$np/report.json
  expect_file runs/ok$np/report.h5
done

case_ "the report is the same at 1, 2 and 3 ranks"
pyrun "
import json
r = [json.load(open(f'runs/ok{n}/report.json')) for n in (1, 2, 3)]
for x in r: x.pop('ranks')
assert r[0] == r[1] == r[2]
assert r[0]['status'] == 'ok' and r[0]['rows'] == 1000 and r[0]['format'] == 'table', r[0]
assert [c['check'] for c in r[0]['checks']] == ['schema', 'row_count', 'nulls', 'range', 'unique', 'freshness', 'drift']
assert all(c['pass'] for c in r[0]['checks'])
print('ok')"
expect_exit 0

case_ "drift values equal numpy's PSI and KS, every feature reported"
pyrun "
c = check('runs/ok3/report.json', 6)
assert set(c['features']) == {'amount', 'qty'}, c
for f in ('amount', 'qty'):
    a, b = column('data.csv', f), column('ref.csv', f)
    close(c['features'][f]['psi'], psi(b, a))
    close(c['features'][f]['ks'], ks(a, b))
    assert c['features'][f]['rows'] == 1000 and c['features'][f]['reference_rows'] == 1000
print('ok', c['value'])"
expect_exit 0

case_ "report.h5: one row per check, the drift table, read by h5py"
pyrun "
import h5py, json
h = h5py.File('runs/ok2/report.h5')
assert h.attrs['kind'] == 'validation_report' and h.attrs['format_version'] == 1, dict(h.attrs)
assert h.attrs['status'] == 'ok' and h.attrs['rows'] == 1000 and h.attrs['ranks'] == 2
g = h['checks']
names = [x.decode() for x in g['check'][()]]
assert names == ['schema', 'row_count', 'nulls', 'range', 'unique', 'freshness', 'drift'], names
assert list(g['pass'][()]) == [1] * 7
assert [x.decode() for x in g['severity'][()]] == ['error'] * 7
assert g['value'][1] == 1000 and g['threshold'][5] == 2 * 86400
j = json.load(open('runs/ok2/report.json'))['checks']
assert [x.decode() for x in g['value_text'][()]] == [c['value'] for c in j]
d = h['drift']
assert [x.decode() for x in d['feature'][()]] == ['amount', 'qty'] and list(d['check'][()]) == [6, 6]
assert abs(d['psi'][0] - j[6]['features']['amount']['psi']) < 1e-15
print('ok')"
expect_exit 0

# fails CHECK NAME VALUE - the spec with that one check fails with exit 1 and says
# "NAME: VALUE"; as a warning the run passes and logs "FAIL VALUE".
fails() {
  spec f.yml "$DATA" "$1"
  mpi 2 run f.yml --output runs/f
  expect_exit 1
  expect_stderr "validation failed: 1 check of severity error ($2: $3"
  spec w.yml "$DATA" "${1%\}}, severity: warn}"
  mpi 2 run w.yml --output runs/w
  expect_exit 0
  expect_stderr "FAIL $3"
}
DATA=dirty.csv

case_ "nulls: 5% empty amounts fail max_ratio 0.01, pass 0.05"
fails "{check: nulls, columns: [amount, qty], max_ratio: 0.01}" nulls "0.05 (amount: 50 of 1000)"
pyrun "
c = check('runs/f/report.json', 0)
a = column('dirty.csv', 'amount')
close(c['columns']['amount']['ratio'], np.isnan(a).mean())
assert c['columns']['qty'] == {'nulls': 0, 'ratio': 0.0} and c['metric'] == 0.05 and c['limit'] == 0.01, c
print('ok')"
expect_exit 0
spec p.yml dirty.csv "{check: nulls, columns: [amount], max_ratio: 0.05}"
mpi 3 run p.yml --output runs/p
expect_exit 0

case_ "range: negative amounts counted, the first one located"
fails "{check: range, column: amount, min: 0}" range "3 outside (first: dirty.csv:5:2: -1)"
pyrun "
c = check('runs/f/report.json', 0)
a = column('dirty.csv', 'amount')
assert c['columns']['amount']['violations'] == int((a < 0).sum()) == 3, c
assert c['columns']['amount']['below'] == 3 and c['columns']['amount']['above'] == 0
close(c['columns']['amount']['max'], np.nanmax(a))
assert c['first_violation'] == 'dirty.csv:5:2: -1', c
print('ok')"
expect_exit 0
spec p.yml dirty.csv "{check: range, column: amount, min: 0, max_violations: 3}"
mpi 2 run p.yml --output runs/p
expect_exit 0

case_ "unique: a repeated key is one duplicate, with an example"
fails "{check: unique, columns: [customer_id, event_ts]}" unique \
  "1 duplicate row (e.g. customer_id=c0010, event_ts="
for np in 1 3; do
  mpi $np run f.yml --output runs/u$np
  pyrun "
import csv
rows = [(r['customer_id'], r['event_ts']) for r in csv.DictReader(open('dirty.csv'))]
c = check('runs/u$np/report.json', 0)
assert c['duplicates'] == len(rows) - len(set(rows)) == 1 and c['distinct'] == 999, c
print('ok')"
  expect_exit 0
done

case_ "freshness: the lag from as_of, against max_lag"
DATA=data.csv
fails "{check: freshness, column: event_ts, max_lag: 1h, as_of: 2026-11-25T00:00:00Z}" freshness "lag "
pyrun "
import csv, datetime
newest = max(datetime.datetime.fromisoformat(r['event_ts'][:-1]) for r in csv.DictReader(open('data.csv')))
c = check('runs/f/report.json', 0)
close(c['lag_s'], (datetime.datetime(2026, 11, 25) - newest).total_seconds())
assert c['as_of'] == '2026-11-25T00:00:00Z' and c['newest'] == newest.isoformat() + 'Z', c
assert c['limit'] == 3600 and c['not_timestamps'] == 0, c
print('ok')"
expect_exit 0

case_ "freshness without as_of measures from now (data from 2026-11 is old by 2027)"
spec p.yml data.csv "{check: freshness, column: event_ts, max_lag: 100w}"
mpi 2 run p.yml --output runs/p
expect_exit 0
expect_stderr "as of now"

case_ "freshness: cells that are not timestamps fail the check"
sed '5s/2026-11-20T[0-9:]*Z/soon/' data.csv > badts.csv
spec p.yml badts.csv "{check: freshness, column: event_ts, max_lag: 100w}"
mpi 2 run p.yml --output runs/p
expect_exit 1
expect_stderr "1 cell is not a timestamp (first: badts.csv:5:4: not a timestamp: 'soon'"

case_ "drift: a shifted distribution fails max_psi"
DATA=drifted.csv
fails "{check: drift, reference: ref.csv, columns: [amount], max_psi: 0.2}" drift "max PSI "
spec f.yml drifted.csv "{check: drift, reference: ref.csv, max_psi: 0.2, max_ks: 0.1}"
mpi 3 run f.yml --output runs/f
expect_exit 1
pyrun "
c = check('runs/f/report.json', 0)
for f in ('amount', 'qty'):
    a, b = column('drifted.csv', f), column('ref.csv', f)
    close(c['features'][f]['psi'], psi(b, a))
    close(c['features'][f]['ks'], ks(a, b))
assert not c['features']['amount']['pass'] and c['features']['qty']['pass'], c
assert c['value'].endswith('1 of 2 features drifted'), c
print('ok')"
expect_exit 0

case_ "drift on dirty data leaves missing values out"
spec p.yml dirty.csv "{check: drift, reference: data.csv, columns: [amount], max_ks: 1}"
mpi 2 run p.yml --output runs/p
expect_exit 0
pyrun "
c = check('runs/p/report.json', 0)['features']['amount']
a, b = column('dirty.csv', 'amount'), column('data.csv', 'amount')
assert c['rows'] == 950 and c['reference_rows'] == 1000, c
close(c['psi'], psi(b, a)); close(c['ks'], ks(a, b))
print('ok')"
expect_exit 0

case_ "schema: a wrong type and a missing column fail"
DATA=data.csv
fails "{check: schema, columns: {customer_id: number, amount: number, gone: any}}" schema \
  "customer_id: text, amount: number, gone: missing"
pyrun "
c = check('runs/f/report.json', 0)
assert c['columns'] == {'customer_id': 'text', 'amount': 'number', 'gone': None} and c['metric'] == 2, c
print('ok')"
expect_exit 0

case_ "row_count outside its bounds fails"
fails "{check: row_count, min: 5000}" row_count "1000"

case_ "a text cell in a number column fails range, with its line and column"
sed '7s/^\(c[0-9]*\),[^,]*,/\1,abc,/' data.csv > text.csv
spec p.yml text.csv "{check: range, column: amount, min: 0}" "{check: schema, columns: {amount: number}}"
mpi 2 run p.yml --output runs/p
expect_exit 1
expect_stderr "range         FAIL not numbers: text.csv:7:2 'abc'"
expect_stderr "validation failed: 2 checks of severity error"

case_ "an HDF5 table gives the CSV's numbers"
spec h.yml dirty.h5 "{check: nulls, columns: [amount]}" "{check: range, column: amount, min: 0}" \
  "{check: unique, columns: [customer_id, event_ts]}" \
  "{check: freshness, column: event_ts, max_lag: 2d, as_of: 2026-11-25T00:00:00Z}" \
  "{check: schema, columns: {customer_id: text, qty: number}}"
spec c.yml dirty.csv "{check: nulls, columns: [amount]}" "{check: range, column: amount, min: 0}" \
  "{check: unique, columns: [customer_id, event_ts]}" \
  "{check: freshness, column: event_ts, max_lag: 2d, as_of: 2026-11-25T00:00:00Z}" \
  "{check: schema, columns: {customer_id: text, qty: number}}"
mpi 2 run h.yml --output runs/h
expect_exit 1
mpi 3 run c.yml --output runs/c
expect_exit 1
pyrun "
import json
h, c = json.load(open('runs/h/report.json')), json.load(open('runs/c/report.json'))
assert h['format'] == c['format'] == 'table' and h['rows'] == c['rows'] == 1000
assert h['checks'][1]['first_violation'] == 'dirty.h5: /amount row 3: -1', h['checks'][1]
assert c['checks'][1]['first_violation'] == 'dirty.csv:5:2: -1', c['checks'][1]
for x, y in zip(h['checks'], c['checks']):
    for k in ('first_violation', 'value'):
        x.pop(k, None) if x['check'] == 'range' else None
        y.pop(k, None) if y['check'] == 'range' else None
    assert x == y, (x, y)
print('ok')"
expect_exit 0

case_ "a dataset: its features and label, class balance, drift against another"
"$MAESTRO" data synth --rows 600 --features 3 --classes 3 --seed 4 -o ds.h5 >/dev/null &&
  "$MAESTRO" data synth --rows 400 --features 3 --classes 3 --seed 5 -o ds_ref.h5 >/dev/null ||
  fail "synth"
spec d.yml ds.h5 "{check: schema, features: 3, task: classification, classes: 3, columns: {f0: number}}" \
  "{check: nulls}" "{check: range, column: label, min: 0, max: 2}" \
  "{check: class_balance, min_fraction: 0.1}" "{check: drift, reference: ds_ref.h5, max_ks: 0.5}"
mpi 3 run d.yml --output runs/d
expect_exit 0
pyrun "
import h5py, json
r = json.load(open('runs/d/report.json'))
assert r['format'] == 'dataset' and r['features'] == 3 and sum(r['class_counts']) == 600, r
with h5py.File('ds.h5') as a, h5py.File('ds_ref.h5') as b:
    X, Y = a['X'][()].astype(float), b['X'][()].astype(float)
    names = [n.decode() if isinstance(n, bytes) else n for n in a['X'].attrs['feature_names']]
    assert list(np.bincount(a['y'][()])) == r['class_counts']
d = r['checks'][4]['features']
assert list(d) == names, d
for j, f in enumerate(names):
    close(d[f]['psi'], psi(Y[:, j], X[:, j])); close(d[f]['ks'], ks(X[:, j], Y[:, j]))
print('ok')"
expect_exit 0

case_ "a feature view: keys, event time, features"
"$PY" "$MAESTRO_SOURCE_DIR/tests/jobs/features_ref.py" events events.csv --seed 7 --rows 400 --entities 30 ||
  fail "events"
cat > m.yml <<'YML'
kind: materialize
name: feats
source: {path: events.csv, entity: customer_id, timestamp: event_ts, created: created_ts}
feature_views:
  - name: activity
    features:
      - {name: sum_1d, column: amount, agg: sum, window: 1d}
      - {name: last_amount, column: amount, agg: last}
offline: {path: store.h5}
YML
maestro run m.yml --output runs/m
expect_exit 0
spec fv.yml store.h5 "{check: schema, columns: {customer_id: text, event_ts: number, sum_1d: number}}" \
  "{check: unique, columns: [customer_id, event_ts, created_ts], severity: warn}" \
  "{check: unique, column: customer_id, severity: warn}" \
  "{check: freshness, column: event_ts, max_lag: 1w, as_of: 2026-11-12T00:00:00Z}" \
  "{check: nulls, columns: [sum_1d], max_ratio: 0.5}" "{check: drift, reference: store.h5, max_psi: 0.001}"
for np in 1 3; do
  mpi $np run fv.yml --output runs/fv$np
  expect_exit 0
done
pyrun "
import csv, datetime, json
r = json.load(open('runs/fv3/report.json'))
ev = list(csv.DictReader(open('events.csv')))
assert r['format'] == 'feature_view' and r['view'] == 'activity' and r['rows'] == len(ev), r
u = r['checks'][1]
assert u['duplicates'] == len(ev) - len({(e['customer_id'], e['event_ts'], e['created_ts']) for e in ev}), u
u = r['checks'][2]
assert not u['pass'] and u['severity'] == 'warn', u
assert u['duplicates'] == len(ev) - len({e['customer_id'] for e in ev}), u
newest = max(e['event_ts'] for e in ev)
assert r['checks'][3]['newest'] == newest, (r['checks'][3], newest)
r1 = json.load(open('runs/fv1/report.json')); r1.pop('ranks'); r.pop('ranks')
assert r1 == r
print('ok')"
expect_exit 0

# bad SPEC_TEXT WANT - maestro validate and run both exit 2 with WANT, writing nothing
bad() {
  printf '%s' "$1" > bad.yml
  maestro validate bad.yml
  expect_exit 2
  expect_stderr "$2"
  expect_one_line
  maestro run bad.yml --output runs/bad
  expect_exit 2
  expect_no_file runs/bad
}

case_ "an unknown column is bad input at the spec's line and column"
bad 'kind: validate
data: {path: data.csv}
checks:
  - {check: nulls, columns: [amount, amout]}
' "bad.yml:4:38: checks[0].columns[1]: no column 'amout' in data.csv (columns: customer_id, amount, qty, event_ts); did you mean 'amount'?"

case_ "an unknown check suggests the nearest"
bad 'kind: validate
data: {path: data.csv}
checks:
  - {check: uniqe, columns: [amount]}
' "bad.yml:4:13: checks[0].check must be one of schema, row_count, class_balance, nulls, range, unique, freshness, drift, got \"uniqe\"; did you mean 'unique'?"

case_ "max_ratio outside [0, 1]"
bad 'kind: validate
data: {path: data.csv}
checks:
  - {check: nulls, max_ratio: 2}
' "bad.yml:4:31: checks[0].max_ratio must be a number in [0, 1], got 2"

case_ "a drift reference that does not exist"
bad 'kind: validate
data: {path: data.csv}
checks:
  - {check: drift, reference: nowhere.csv, max_psi: 0.2}
' "bad.yml:4:31: checks[0].reference: nowhere.csv: no such file"

case_ "a text column where range needs numbers, known from the HDF5 dtype"
bad 'kind: validate
data: {path: data.h5}
checks:
  - {check: range, column: customer_id, min: 0}
' "bad.yml:4:28: checks[0].column: column 'customer_id' of data.h5 is string; range needs numbers"

case_ "a feature store with a view that does not exist"
bad 'kind: validate
data: {path: store.h5, view: nope}
checks:
  - {check: row_count}
' "bad.yml:2:30: data.view: "

finish
