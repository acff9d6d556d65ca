#!/usr/bin/env bash
# test_cmd_data_events.sh - `maestro data events` (runner/cmd_data.c, io/events_synth.c) as a
# user runs it: the files it writes, reproducibility, labels, under mpirun, as a materialisation
# source (CSV and HDF5 give the same store), and usage errors.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3

# expect_usage TEXT - exit 2, the message on one line, then the --help hint, nothing written
expect_usage() {
  expect_exit 2
  expect_stderr "maestro data events: $1"
  local n; n=$(grep -c . "$WORK/.err")
  [ "$n" -eq 2 ] && [ "$(sed -n 2p "$WORK/.err")" = "Try 'maestro data events --help'." ] &&
    ok "one message line and the --help hint" || fail "expected the message and the hint, got $n lines"
}

case_ "writes a CSV table and says what it wrote"
maestro data events --events 1000 --entities 40 --seed 7 -o ev.csv
expect_exit 0
expect_stdout "ev.csv: 1000 events of 40 entities over 30 days from 2026-11-01T00:00:00Z (seed 7)"
run head -1 ev.csv
[ "$OUT" = "customer_id,event_ts,created_ts,amount,qty" ] && ok "header" || fail "header: $OUT"
run wc -l < ev.csv
[ "$OUT" -eq 1001 ] && ok "1000 rows" || fail "rows: $OUT"
run grep -c '^c00000[0-3][0-9],2026-1[12]-[0-9][0-9]T[0-9:]*Z,2026-' ev.csv
[ "$OUT" -eq 1000 ] && ok "keys and RFC 3339 times" || fail "$OUT rows look right"

case_ "the same seed gives the same bytes, another seed does not"
maestro data events --events 1000 --entities 40 --seed 7 -o ev2.csv
run cmp ev.csv ev2.csv
expect_exit 0
maestro data events --events 1000 --entities 40 --seed 8 -o ev3.csv
run cmp -s ev.csv ev3.csv
[ "$RC" -ne 0 ] && ok "seed 8 differs" || fail "seed 8 gave the same table"

case_ "a longer table starts with the same rows"
maestro data events --events 3000 --entities 40 --seed 7 -o ev4.csv
run bash -c "head -1001 ev4.csv | cmp - ev.csv"
expect_exit 0

case_ "HDF5: one dataset per column, epoch milliseconds, fixed-length keys"
maestro data events --events 1000 --entities 40 --seed 7 --days 2 --start 2026-01-01T00:00:00Z -o ev.h5
expect_exit 0
run "$PY" -c "
import h5py, numpy as np
f = h5py.File('ev.h5')
assert sorted(f) == ['amount', 'created_ts', 'customer_id', 'event_ts', 'qty'], list(f)
assert f['customer_id'].dtype == np.dtype('S8'), f['customer_id'].dtype
assert f['event_ts'].dtype == np.int64 and f['amount'].dtype == np.float64, f['event_ts'].dtype
ts = f['event_ts'][()]
assert ts.min() >= 1767225600000 and ts.max() < 1767225600000 + 2 * 86400000, (ts.min(), ts.max())
assert (f['created_ts'][()] >= ts).all() and len(ts) == 1000
print('ok')"
expect_exit 0

case_ "labels: one entity row each, churn or stay"
maestro data events --events 1000 --entities 40 --labels 30 --labels-out lab.csv -o ev5.h5
expect_exit 0
expect_stdout "lab.csv: 30 entity rows"
run head -1 lab.csv
[ "$OUT" = "customer_id,event_ts,label" ] && ok "header" || fail "header: $OUT"
run grep -cE '^c00000[0-3][0-9],2026-1[12]-[0-9T:]*Z,(churn|stay)$' lab.csv
[ "$OUT" -eq 30 ] && ok "30 label rows" || fail "$OUT label rows"
run bash -c "cut -d, -f1 lab.csv | sort | uniq -d | wc -l"
[ "$OUT" -eq 0 ] && ok "distinct entities" || fail "$OUT repeated entities"

case_ "under mpirun rank 0 writes the file once"
mpi 2 data events --events 500 --entities 10 -o mpi.h5
expect_exit 0
run bash -c "ls | grep -c '^mpi.h5'"
[ "$OUT" -eq 1 ] && ok "one file, no temp left" || fail "$OUT files named mpi.h5*"

case_ "the CSV and the HDF5 table materialise to the same features"
maestro data events --events 4000 --entities 60 --seed 3 -o src.csv
maestro data events --events 4000 --entities 60 --seed 3 -o src.h5
for f in csv h5; do
  cat > m_$f.yml <<YML
kind: materialize
name: ev-$f
source: {path: src.$f, entity: customer_id, timestamp: event_ts, created: created_ts}
feature_views:
  - name: act
    features:
      - {name: n_1h, column: amount, agg: count, window: 1h}
      - {name: sum_1d, column: amount, agg: sum, window: 1d}
      - {name: std_7d, column: amount, agg: std, window: 7d}
      - {name: qty_max_1d, column: qty, agg: max, window: 1d}
offline: {path: store_$f.h5}
YML
  maestro run m_$f.yml --output runs/$f
  expect_exit 0
  maestro features export store_$f.h5 --view act -o exp_$f.csv
  expect_exit 0
done
run cmp exp_csv.csv exp_h5.csv
expect_exit 0

case_ "into a missing folder: fails with one line, no temp file"
maestro data events --events 10 --entities 3 -o nowhere/e.csv
expect_exit 4
expect_one_line
expect_stderr "nowhere/e.csv"

case_ "--help"
maestro data events --help
expect_exit 0
expect_stdout "maestro data events --events N --entities K"

mkdir bad && cd bad || exit 1
for args in \
  "--entities 3 -o e.csv|--events, --entities and -o are required" \
  "--events 10 -o e.csv|--events, --entities and -o are required" \
  "--events 10 --entities 3|--events, --entities and -o are required" \
  "--events 0 --entities 3 -o e.csv|--events must be an integer >= 1, got \"0\"" \
  "--events ten --entities 3 -o e.csv|--events must be an integer >= 1, got \"ten\"" \
  "--events 10 --entities 2000000000 -o e.csv|--entities must be in 1..1000000000, got 2000000000" \
  "--events 10 --entities 3 --days 0 -o e.csv|--days must be an integer >= 1, got \"0\"" \
  "--events 10 --entities 3 --start 2026-13-01T00:00:00Z -o e.csv|--start: not a timestamp: '2026-13-01T00:00:00Z'" \
  "--events 10 --entities 3 --start 1960-01-01T00:00:00Z -o e.csv|--start must be a whole millisecond in 1970 or later" \
  "--events 10 --entities 3 -o e.txt|-o must name a .csv or .h5 file, got \"e.txt\"" \
  "--events 10 --entities 3 --labels 5 -o e.csv|--labels and --labels-out go together" \
  "--events 10 --entities 3 --labels-out l.csv -o e.csv|--labels and --labels-out go together" \
  "--events 10 --entities 3 --labels 5 --labels-out e.csv -o e.csv|--labels-out and -o name the same file" \
  "--events 10 --entities 3 --frob -o e.csv|unknown option '--frob'" \
  "--events 10 --entities 3 -o e.csv extra|unexpected argument 'extra'" \
  "--events 10 --entities 3 -o|option '-o' needs a value"; do
  case_ "usage error: ${args%%|*}"
  # shellcheck disable=SC2086 # the arguments are words on purpose
  maestro data events ${args%%|*}
  expect_usage "${args#*|}"
  expect_dir_empty .
done
cd .. || exit 1

finish
