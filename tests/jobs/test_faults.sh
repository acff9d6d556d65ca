#!/usr/bin/env bash
# test_faults.sh - faults a batch job meets (issue 9), each injected deterministically with
# MAESTRO_FAULT (core/fault.c) or by the test itself:
#   a rank killed with SIGKILL during a gradient allreduce, and rank 0 during a checkpoint write
#     (jobs/train/trainer.c, io/checkpoint.c): every rank ends non-zero within 30 s, the last
#     complete checkpoint is intact, --resume ends bit for bit where an uninterrupted run does;
#   the job killed while writing run.h5 (io/run_file.c) and a feature store (io/feature_store.c):
#     no half-written file under the final name, a rerun recovers;
#   a damaged newest checkpoint (io/checkpoint_dir.c, io/h5_sum.c): --resume says so and takes
#     the one before, with the same end result;
#   preemption (SIGTERM to the ranks) at random points four times in a row, each followed by
#     --resume: the final result equals the uninterrupted one bit for bit;
#   a sweep whose trials crash, hang past their timeout and return NaN, mixed: it finishes and
#     sweep.h5 accounts for every trial with its reason (jobs/sweep/);
#   the disk filling up while a feature table is written (another writer takes the space
#     mid-write): exit 4 naming the path, no hang, no temp left (jobs/materialize/store.c);
#   rank 1 killed while writing a feature table (io/feature_store.c store_block): no store
#     under its name, a rerun writes the same table as an undisturbed run;
#   rank 1 failing (core/fault.c mo_fault_fail) while computing a block of a feature table
#     (jobs/materialize/materialize.c store_fill) or at its point-in-time lookups
#     (jobs/dataset/dataset.c dataset_lookup): every rank ends promptly with the failing rank's
#     one line, nothing under the output's name;
#   a TPE sweep killed inside a sweep.h5 rewrite (io/sweep_journal_file.c, io/atomic.c
#     mo_io_write_atomic_at) and in the middle of a sweep.h5.log record (io/sweep_journal_log.c,
#     core/fault.c mo_fault_due): --resume ends with the trials of an uninterrupted sweep;
#   disk full while checkpointing and while materialising (a 1 MiB tmpfs): one line naming the
#     path, exit 4, the previous checkpoint intact.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3

"$MAESTRO" data synth --rows 6000 --features 8 --classes 2 --seed 9 -o d.h5 >/dev/null ||
  { echo "FAIL - setup: synth"; exit 1; }
cat > t.yml <<'YML'
kind: train
name: t
data: {path: d.h5, validation_split: 0.1}
model: {type: mlp, hidden: [32], activation: tanh}
optimizer: {name: adam, lr: 0.003}
training: {epochs: 3, batch_size: 64, seed: 3, checkpoint_every: 20, checkpoint_keep: 5}
YML

# same RUN_A RUN_B - parameters, final metrics and history bit for bit
same() {
  run "$PY" -c "
import h5py
a, b = h5py.File('$1/run.h5'), h5py.File('$2/run.h5')
for l in a['model']:
    for k in a['model'][l]:
        assert a['model'][l][k][()].tobytes() == b['model'][l][k][()].tobytes(), (l, k)
assert dict(a['final_metrics'].attrs) == dict(b['final_metrics'].attrs)
print('bitwise identical')"
  [ "$RC" -eq 0 ] && ok "$2 equals $1 bit for bit" || fail "$2 differs from $1: $ERR"
}
# timed NP FAULT OUT - run with a fault, keep the exit code and the seconds it took
timed() {
  local t0 t1
  t0=$(date +%s)
  MAESTRO_FAULT=$2 run timeout 120 mpirun -np "$1" --oversubscribe "$MAESTRO" run t.yml --output "$3"
  t1=$(date +%s)
  SECS=$((t1 - t0))
}
ckpts() { ls "$1/checkpoints" 2>/dev/null | tr '\n' ' '; }

case_ "uninterrupted reference"
mpi 2 run t.yml --output runs/ref
expect_exit 0

case_ "rank 1 killed during the allreduce of step 50: every rank ends, promptly"
timed 2 allreduce:50:1 runs/ar
[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && ok "exit $RC (not a hang)" || fail "exit $RC"
[ "$SECS" -le 30 ] && ok "ended in ${SECS}s" || fail "took ${SECS}s (> 30 s)"
expect_stderr "MAESTRO_FAULT: killing this process at allreduce #50"
c=$(ckpts runs/ar)
case "$c" in *ckpt-000000000040.h5*) ok "checkpoints: $c" ;; *) fail "checkpoints: $c" ;; esac
expect_no_file runs/ar/run.h5
maestro inspect runs/ar/checkpoints/ckpt-000000000040.h5
expect_exit 0

case_ "--resume after it ends where the uninterrupted run does"
mpi 2 run t.yml --output runs/ar --resume
expect_exit 0
expect_stderr "resumed from runs/ar/checkpoints/ckpt-000000000040.h5"
same runs/ref runs/ar

case_ "rank 0 killed inside its 3rd checkpoint write: the temp stays a temp"
timed 2 checkpoint:3:0 runs/ck
[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && ok "exit $RC" || fail "exit $RC"
[ "$SECS" -le 30 ] && ok "ended in ${SECS}s" || fail "took ${SECS}s (> 30 s)"
c=$(ckpts runs/ck)
case "$c" in *ckpt-000000000060.h5\ *) fail "a ckpt-60 under its final name: $c" ;;
  *ckpt-000000000040.h5*) ok "checkpoints: $c" ;; *) fail "checkpoints: $c" ;; esac
ls runs/ck/checkpoints | grep -q '\.tmp\.' && ok "the half-written one is a temp file" ||
  fail "no temp file left: $c"
mpi 2 run t.yml --output runs/ck --resume
expect_exit 0
expect_stderr "resumed from runs/ck/checkpoints/ckpt-000000000040.h5"
same runs/ref runs/ck

case_ "killed while writing run.h5: no run.h5 at all, and a resume recovers"
timed 1 run_file:1 runs/rf
[ "$RC" -ne 0 ] && ok "exit $RC" || fail "exit $RC"
expect_no_file runs/rf/run.h5
mpi 1 run t.yml --output runs/rf --resume
expect_exit 0
expect_file runs/rf/run.h5
maestro inspect runs/rf/run.h5
expect_exit 0

case_ "a damaged newest checkpoint: resume says so and takes the one before"
mpi 2 run t.yml --set training.max_steps=60 --output runs/dm
expect_exit 0
f=runs/dm/checkpoints/ckpt-000000000060.h5
"$PY" -c "
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[len(b) // 2] ^= 0x40
open(p, 'wb').write(b)" "$f"
mpi 2 run t.yml --output runs/dm --resume
expect_exit 0
expect_stderr "skipping $f: damaged: checksum mismatch"
expect_stderr "resumed from runs/dm/checkpoints/ckpt-000000000040.h5"
same runs/ref runs/dm

case_ "preempted (SIGTERM) at random points four times in a row, resumed each time: same result"
"$MAESTRO" data synth --rows 20000 --features 16 --classes 2 --seed 8 -o p.h5 >/dev/null
cat > pre.yml <<'YML'
kind: train
name: pre
data: {path: p.h5, validation_split: 0.1}
model: {type: mlp, hidden: [256, 256], activation: tanh}
optimizer: {name: adam, lr: 0.001}
training: {epochs: 30, batch_size: 32, seed: 5, checkpoint_every: 500, eval_every: 1000}
YML
mpi 2 run pre.yml --output runs/pre-ref
expect_exit 0
stops=0
for i in 1 2 3 4; do
  resume=""
  [ "$i" -gt 1 ] && resume=--resume
  mpirun -np 2 --oversubscribe "$MAESTRO" run pre.yml --output runs/pre $resume >"pre-$i.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 200); do grep -q "training rows" "pre-$i.log" && break; sleep 0.05; done
  sleep "$((RANDOM % 2)).$((RANDOM % 8 + 2))" # 0.2-1.9 s into training (~6 s)
  pkill -TERM -f -- "^$MAESTRO run pre.yml --output runs/pre" 2>/dev/null
  wait "$pid"
  rc=$?
  [ "$rc" -eq 143 ] && stops=$((stops + 1))
  [ "$rc" -eq 143 ] || [ "$rc" -eq 0 ] || fail "round $i ended with exit $rc: $(tail -3 "pre-$i.log")"
done
[ "$stops" -ge 1 ] && ok "$stops of 4 rounds stopped mid-training (exit 143)" ||
  fail "no round was stopped mid-training: the run is too short for this machine"
mpi 2 run pre.yml --output runs/pre --resume
expect_exit 0
same runs/pre-ref runs/pre

case_ "a sweep whose trials crash, hang past their timeout and return NaN, mixed, finishes"
cat > obj.sh <<'SH'
#!/bin/bash
# $1: the trial number, $2: x. By trial number mod 4: a result, a crash, a hang, NaN.
case $(($1 % 4)) in
0) echo "value=$2" ;;
1) kill -SEGV $$ ;;
2) sleep 60 ;;
3) echo "value=nan" ;;
esac
SH
chmod +x obj.sh
cat > mixed.yml <<'YML'
kind: sweep
name: mixed
objective: {metric: value, goal: minimize}
algorithm: {name: random, settings: {seed: 5}}
parameters:
  - {name: x, type: double, min: 0, max: 1}
max_trials: 8
parallel_trials: 2
max_failed_trials: 8
trial:
  command: ["./obj.sh", "${trial}", "${x}"]
  timeout: 2s
output: runs/mixed
YML
mpi 2 run mixed.yml
expect_exit 0
expect_stderr "8 trials (2 completed, 0 pruned, 6 failed)"
maestro inspect runs/mixed/sweep.h5 --json
expect_exit 0
printf '%s' "$OUT" > mixed.json
run "$PY" -c "
import json
d = json.load(open('mixed.json'))
assert d['counts'] == {'running': 0, 'completed': 2, 'pruned': 0, 'failed': 6}, d['counts']
why = {t['number']: (t['status'], t.get('error')) for t in d['trials']}
assert sorted(why) == list(range(8)), why
for n, (st, err) in why.items():
    want = [('completed', None), ('failed', 'killed by signal 11'),
            ('failed', 'timed out after 2 s'), ('failed', 'objective is NaN')][n % 4]
    assert (st, err) == want, (n, st, err)
print('every trial accounted for')"
expect_stdout "every trial accounted for"

cat > fs.yml <<'YML'
kind: sweep
name: fs
objective: {metric: value, goal: minimize}
algorithm: {name: tpe, settings: {seed: 4, n_startup_trials: 5}}
max_trials: 1500
trial: {objective: branin}
YML
maestro run fs.yml --output runs/fs-ref
expect_exit 0
maestro inspect runs/fs-ref/sweep.h5 --json
printf '%s' "$OUT" > fs-ref.json
# same_sweep DIR - DIR's journal holds the reference's trials: numbers, params, objectives, best
same_sweep() {
  maestro inspect "$1/sweep.h5" --json
  printf '%s' "$OUT" > fs-got.json
  run "$PY" -c "
import json
a, b = json.load(open('fs-ref.json')), json.load(open('fs-got.json'))
key = lambda d: {t['number']: (t['status'], t['params'], t['objective']) for t in d['trials']}
ka, kb = key(a), key(b)
assert len(kb) == 1500 and ka == kb, [n for n in ka if ka[n] != kb.get(n)][:5]
assert a['best'] == b['best'], (a['best'], b['best'])
print('the resumed sweep equals the uninterrupted one')"
  expect_stdout "the resumed sweep equals the uninterrupted one"
}

case_ "a TPE sweep killed inside a sweep.h5 rewrite: the temp stays a temp; --resume = one run through"
MAESTRO_FAULT=sweep_journal:3 "$MAESTRO" run fs.yml --output runs/fsj >fsj.out 2>fsj.err
RC=$?
[ "$RC" -eq 137 ] && ok "killed (137)" || fail "exit $RC: $(tail -n 2 fsj.err)"
grep -q "killing this process at sweep_journal #3" fsj.err && ok "at the 3rd rewrite" || fail "fault point not reached"
ls runs/fsj/sweep.h5.tmp.* >/dev/null 2>&1 && ok "a temp left beside sweep.h5" || fail "no temp file"
maestro inspect runs/fsj/sweep.h5 --json
expect_exit 0
maestro run fs.yml --output runs/fsj --resume
expect_exit 0
expect_stderr "1500 trials (1500 completed, 0 pruned, 0 failed)"
same_sweep runs/fsj

case_ "a TPE sweep killed in the middle of a sweep.h5.log record: the torn record is dropped, --resume = one run through"
MAESTRO_FAULT=sweep_log:300 "$MAESTRO" run fs.yml --output runs/fsl >fsl.out 2>fsl.err
RC=$?
[ "$RC" -eq 137 ] && ok "killed (137)" || fail "exit $RC: $(tail -n 2 fsl.err)"
grep -q "killing this process at sweep_log #300" fsl.err && ok "at the 300th append" || fail "fault point not reached"
[ -s runs/fsl/sweep.h5.log ] && ok "the log was in use" || fail "no log"
maestro inspect runs/fsl/sweep.h5 --json
expect_exit 0
maestro run fs.yml --output runs/fsl --resume
expect_exit 0
expect_stderr "1500 trials (1500 completed, 0 pruned, 0 failed)"
expect_no_file runs/fsl/sweep.h5.log
same_sweep runs/fsl

case_ "rank 1 killed while writing a feature table: no store under its name; a rerun recovers"
"$MAESTRO" data events --events 20000 --entities 500 --days 3 --seed 1 -o ev.h5 >/dev/null
cat > matk.yml <<'YML'
kind: materialize
name: mk
source: {path: ev.h5, entity: customer_id, timestamp: event_ts, created: created_ts}
feature_views:
  - name: v
    entity: customer_id
    ttl: 7d
    features:
      - {name: s1d, column: amount, agg: sum, window: 1d}
      - {name: c1h, column: amount, agg: count, window: 1h}
offline: {path: storek.h5, block_rows: 1000}
YML
mpi 2 run matk.yml --output runs/matk-ref --set offline.path=store-ref.h5
expect_exit 0
MAESTRO_FAULT=store_block:3:1 timeout -k 5 60 mpirun -np 2 --oversubscribe "$MAESTRO" run matk.yml \
  --output runs/matk >matk.out 2>matk.err
RC=$?
[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && ok "the job ended, exit $RC" || fail "exit $RC (124: hung)"
grep -q "killing this process at store_block #3" matk.err && ok "killed at its 3rd block" || fail "fault point not reached: $(tail -n 2 matk.err)"
expect_no_file storek.h5
mpi 2 run matk.yml --output runs/matk
expect_exit 0
maestro features export storek.h5 --view v -o got.csv
maestro features export store-ref.h5 --view v -o ref.csv
run cmp got.csv ref.csv
expect_exit 0

case_ "rank 1 fails computing a block of the feature table: every rank ends, one line, no store"
MAESTRO_FAULT=store_fill:3:1 timeout -k 5 60 mpirun -np 2 --oversubscribe "$MAESTRO" run matk.yml \
  --output runs/matf --set offline.path=storef.h5 >matf.out 2>matf.err
RC=$?
[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && ok "the job ended, exit $RC" || fail "exit $RC (124: hung)"
grep -q "rank 1: MAESTRO_FAULT: failing at store_fill #3" matf.err && ok "says which rank and why" \
  || fail "no message: $(tail -n 2 matf.err)"
expect_no_file storef.h5
ls storef.h5.tmp.* >/dev/null 2>&1 && fail "a temp store was left" || ok "no temp store left"

case_ "rank 1 fails its point-in-time lookups: every rank ends, one line, no training set"
"$MAESTRO" data events --events 20000 --entities 500 --days 3 --seed 1 --labels 300 \
  --labels-out lab.csv -o evl.h5 >/dev/null
cat > dsf.yml <<'YML'
kind: dataset
name: dsf
entities: {path: lab.csv, entity: customer_id, timestamp: event_ts, label: label}
features: [v:s1d, v:c1h]
store: store-ref.h5
output: dsf.h5
YML
mpi 2 run dsf.yml --output dsf-ref.h5
expect_exit 0
MAESTRO_FAULT=dataset_lookup:1:1 timeout -k 5 60 mpirun -np 2 --oversubscribe "$MAESTRO" run \
  dsf.yml --output dsf.h5 >dsf.out 2>dsf.err
RC=$?
[ "$RC" -ne 0 ] && [ "$RC" -ne 124 ] && ok "the job ended, exit $RC" || fail "exit $RC (124: hung)"
grep -q "rank 1: MAESTRO_FAULT: failing at dataset_lookup #1" dsf.err && ok "says which rank and why" \
  || fail "no message: $(tail -n 2 dsf.err)"
expect_no_file dsf.h5

# ---- disk full --------------------------------------------------------------------------------
mkdir -p full
if ! mount -t tmpfs -o size=1m tmpfs full 2>/dev/null; then
  echo "skip: disk-full cases: cannot mount a tmpfs here (needs root with mount rights)"
else
  trap 'umount "$WORK/full" 2>/dev/null; rm -rf "$WORK"' EXIT
  cat > big.yml <<'YML'
kind: train
name: big
data: {path: d.h5, validation_split: 0.1}
model: {type: mlp, hidden: [256, 256], activation: tanh}
optimizer: {name: adam, lr: 0.001}
training: {epochs: 1, batch_size: 64, seed: 3, checkpoint_every: 10, checkpoint_keep: 3}
YML
  case_ "disk full while checkpointing: one line naming the path, exit 4, no damage"
  # ~0.3 MB a checkpoint (params + two Adam moments): the 1 MiB disk fills at the 3rd or 4th.
  mpi 1 run big.yml --output full/run
  expect_exit 4
  expect_stderr "full/run/checkpoints/ckpt-"
  grep -qi "no space left\|cannot" "$WORK/.err" && ok "says why" || fail "no reason: $ERR"
  for f in full/run/checkpoints/ckpt-*.h5; do
    maestro inspect "$f"
    expect_exit 0
  done
  ls full/run/checkpoints | grep -q '\.tmp\.' && fail "a temp file was left" || ok "no temp left"

  case_ "disk full while materialising: exit 4, no store under its name"
  umount full && mount -t tmpfs -o size=64k tmpfs full
  # the feature-table spec of the kill case above (ev.h5), its store on the small disk
  sed 's|offline: {path: storek.h5, block_rows: 1000}|offline: {path: full/store.h5}|' \
    matk.yml > mat.yml
  mpi 2 run mat.yml --output runs/mat
  expect_exit 4
  expect_stderr "full/store.h5"
  expect_no_file full/store.h5

  case_ "the disk fills up DURING the store write (another writer): exit 4, no hang, no temp"
  # The free-space check passes; once the temp file exists, dd takes every byte left. The write
  # is paced (MAESTRO_FAULT_DELAY, 100 ms a block of 4096 rows) so dd lands mid-write. Closing
  # a parallel HDF5 file after a failed write used to hang both ranks (jobs/materialize/store.c).
  umount full && mount -t tmpfs -o size=40m tmpfs full
  "$MAESTRO" data events --events 300000 --entities 30000 --days 3 --seed 2 -o ev3.h5 >/dev/null
  sed 's|ev.h5|ev3.h5|; s|offline: {path: full/store.h5}|offline: {path: full/store.h5, block_rows: 4096}|' \
    mat.yml > mat3.yml
  ( for _ in $(seq 600); do ls full/store.h5.tmp.* >/dev/null 2>&1 && break; sleep 0.02; done
    dd if=/dev/zero of=full/filler bs=1M count=64 2>/dev/null ) &
  FILLER=$!
  t0=$SECONDS
  MAESTRO_FAULT_DELAY=store_block:100 run timeout -k 5 90 mpirun -np 2 --oversubscribe \
    "$MAESTRO" run mat3.yml --output runs/mat3
  wait $FILLER
  [ "$RC" -ne 124 ] && [ "$RC" -ne 137 ] && ok "ended in $((SECONDS - t0)) s" || fail "hung (exit $RC)"
  expect_exit 4
  expect_stderr "full/store.h5"
  expect_stderr "its file system is full"
  expect_no_stderr "not enough disk space" # the write failed, not the check before it
  expect_no_file full/store.h5
  run sh -c 'ls full | grep -c "\.tmp\." || true'
  [ "$OUT" = 0 ] && ok "no temp left" || fail "temp left: $(ls full)"
  umount full
fi

finish
