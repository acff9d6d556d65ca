#!/usr/bin/env bash
# test_sweep.sh - `kind: sweep` (jobs/sweep: sweep.c, controller.c, worker.c, sweep_spec.c) as a
# user runs it: built-in objectives on 1 and 3 groups, the journal and `maestro inspect`,
# template trials with the median rule and hyperband, command trials (metrics on stdout,
# failures, timeouts), max_failed_trials, resume after SIGKILL, and every bad input.
. "$(dirname "$0")/../cli_lib.sh"
PY=/usr/bin/python3

# ---- built-in objectives: counts, groups, the journal, inspect --------------------------------
cat > h6.yml <<'YML'
kind: sweep
name: h6
objective: {metric: value, goal: minimize}
algorithm: {name: random, settings: {seed: 3}}
max_trials: 30
trial: {objective: hartmann6}
YML

case_ "a random sweep over hartmann6 on 1 rank runs max_trials trials"
maestro run h6.yml --output runs/h6-1
expect_exit 0
expect_file runs/h6-1/sweep.h5
expect_stderr "30 trials (30 completed, 0 pruned, 0 failed)"

case_ "3 groups on 3 ranks complete the same trials as 1 group (random is independent of groups)"
mpi 3 run h6.yml --set parallel_trials=3 --output runs/h6-3
expect_exit 0
maestro inspect runs/h6-1/sweep.h5 --json
printf '%s' "$OUT" > one.json
maestro inspect runs/h6-3/sweep.h5 --json
printf '%s' "$OUT" > three.json
run "$PY" -c "
import json
a, b = json.load(open('one.json')), json.load(open('three.json'))
assert len(a['trials']) == len(b['trials']) == 30, (len(a['trials']), len(b['trials']))
pa = {t['number']: (t['params'], t['objective']) for t in a['trials']}
pb = {t['number']: (t['params'], t['objective']) for t in b['trials']}
assert pa == pb, 'trials differ between 1 and 3 groups'
assert a['best']['objective'] == min(t['objective'] for t in a['trials'])
print('ok')"
expect_exit 0

case_ "inspect sweep.h5 prints the trials by objective and the best parameters"
maestro inspect runs/h6-1/sweep.h5
expect_exit 0
expect_stdout "sweep"
expect_stdout "x5"
best=$("$PY" -c "import json; print(json.load(open('one.json'))['best']['number'])")
run "$PY" -c "
import json, h5py
f = h5py.File('runs/h6-1/sweep.h5')
assert f.attrs['kind'] == 'sweep' and f.attrs['status'] == 'completed', dict(f.attrs)
assert f['trials/number'].shape == (30,), f['trials/number'].shape
print('ok')"
expect_exit 0

case_ "a grid sweep enumerates exactly the product"
cat > grid.yml <<'YML'
kind: sweep
name: grid
objective: {metric: value, goal: minimize}
algorithm: {name: grid}
parameters:
  - {name: x0, type: double, min: -5, max: 10, step: 5}
  - {name: x1, type: discrete, values: [0, 7.5, 15]}
trial: {objective: branin}
YML
mpi 2 run grid.yml --set parallel_trials=2 --output runs/grid
expect_exit 0
maestro inspect runs/grid/sweep.h5 --json
printf '%s' "$OUT" > grid.json
run "$PY" -c "
import json, itertools
d = json.load(open('grid.json'))
got = sorted((t['params']['x0'], t['params']['x1']) for t in d['trials'])
want = sorted((a, b) for a in ['-5', '0', '5', '10'] for b in ['0', '7.5', '15'])
assert got == want, got
print('ok')"
expect_exit 0

case_ "TPE with a target stops handing out trials once it is reached"
cat > target.yml <<'YML'
kind: sweep
name: target
objective: {metric: value, goal: minimize, target: 20}
algorithm: {name: tpe, settings: {seed: 1, n_startup_trials: 3}}
max_trials: 200
trial: {objective: branin}
YML
maestro run target.yml --output runs/target
expect_exit 0
expect_stderr "reached the target value <= 20"

# ---- bad input: exit 2, one line, nothing written ---------------------------------------------
bad() { # NAME EXPECTED-TEXT [NP] - the spec in bad.yml must be refused before any trial
  case_ "bad input: $1"
  rm -rf runs/bad
  if [ -n "${3:-}" ]; then mpi "$3" run bad.yml --output runs/bad; else maestro run bad.yml --output runs/bad; fi
  expect_exit 2
  expect_stderr "$2"
  expect_no_file runs/bad
}
cat > bad.yml <<'YML'
kind: sweep
name: bad
objective: {metric: value, goal: minimize}
algorithm: {name: random}
max_trials: 4
parallel_trials: 4
trial: {objective: branin}
YML
bad "parallel_trials larger than the ranks" "parallel_trials 4 is larger than the 2 ranks" 2

sed -i 's/parallel_trials: 4/parallel_trials: 1/' bad.yml
cat >> bad.yml <<'YML'
parameters:
  - {name: x0, type: double, min: 3, max: 3}
  - {name: x1, type: double, min: 0, max: 15}
YML
bad "min >= max" "bad.yml:9:5"

sed -i 's/min: 3, max: 3}/min: 0, max: 3, scale: log}/' bad.yml
bad "log scale with min <= 0" "log"

sed -i 's/{name: x0, type: double, min: 0, max: 3, scale: log}/{name: x0, type: categorical, values: []}/' bad.yml
bad "empty values" "values must not be empty"

cat > bad.yml <<'YML'
kind: sweep
name: bad
objective: {metric: value, goal: minimize}
algorithm: {name: grid}
parameters:
  - {name: x0, type: double, min: -5, max: 10}
  - {name: x1, type: double, min: 0, max: 15, step: 5}
trial: {objective: branin}
YML
bad "grid with an unbounded double" "step"

cat > bad.yml <<'YML'
kind: sweep
name: bad
objective: {metric: value, goal: minimize}
algorithm: {name: tpe, settings: {n_startup_trial: 3}}
max_trials: 4
trial: {objective: branin}
YML
bad "a misspelt setting" "did you mean 'n_startup_trials'"

cat > bad.yml <<'YML'
kind: sweep
name: bad
objective: {metric: value, goal: minimize}
algorithm: {name: random}
max_trials: 4
trial: {command: ["echo", "${x9}"]}
parameters:
  - {name: x0, type: double, min: 0, max: 1}
YML
bad "a command naming an unknown parameter" "x9"

# ---- template (train) trials: pruning, hyperband, the best model ------------------------------
"$MAESTRO" data synth --rows 3000 --features 8 --classes 2 --seed 4 -o d.h5 >/dev/null \
  || { echo "FAIL - setup: synth"; exit 1; }
cat > tmpl.yml <<'YML'
kind: train
name: tmpl
data: {path: d.h5, validation_split: 0.2}
model: {type: mlp, hidden: [16], activation: relu}
optimizer: {name: sgd, lr: 0.05, momentum: 0.5}
training: {epochs: 4, batch_size: 64, seed: 1, checkpoint_every: 0}
gates: {val_accuracy: ">= 0.6"}
YML
cat > tsweep.yml <<'YML'
kind: sweep
name: tsweep
objective: {metric: val_loss, goal: minimize}
algorithm: {name: random, settings: {seed: 11}}
parameters:
  - {name: optimizer.lr, type: double, min: 1e-4, max: 1.0, scale: log}
  - {name: model.hidden, type: categorical, values: [[8], [16, 16]]}
max_trials: 8
parallel_trials: 2
early_stopping: {name: median, min_trials_required: 2, start_step: 1}
trial: {template: tmpl.yml}
YML

case_ "template trials on 2 groups of 2 ranks: median pruning, run.h5 per trial, the best is the model"
mpi 4 run tsweep.yml --output runs/tsweep
expect_exit 0
expect_file runs/tsweep/run.h5
maestro inspect runs/tsweep/sweep.h5 --json
printf '%s' "$OUT" > tsweep.json
run "$PY" -c "
import json, h5py
d = json.load(open('tsweep.json'))
assert len(d['trials']) == 8 and d['counts']['failed'] == 0, d['counts']
for t in d['trials']:
    r = h5py.File('runs/tsweep/' + t['artifact'] + '/run.h5')
    want = 'pruned' if t['status'] == 'pruned' else ('ok', 'gate_failed')
    assert r.attrs['status'] in want, (t['number'], t['status'], r.attrs['status'])
    assert r['provenance'].attrs['ranks'] == '2', r['provenance'].attrs['ranks']
    if t['status'] == 'completed':
        assert abs(r['final_metrics'].attrs['val_loss'] - t['objective']) < 1e-12
best = d['best']
m = h5py.File('runs/tsweep/run.h5')
assert abs(m['final_metrics'].attrs['val_loss'] - best['objective']) < 1e-12, 'run.h5 is not the best trial'
print('ok', d['counts'])"
expect_exit 0

case_ "a parameter that is not a key of the template is bad input before any trial"
sed 's/optimizer.lr/optimizer.lrr/' tsweep.yml > bad.yml
rm -rf runs/bad
maestro run bad.yml --output runs/bad
expect_exit 2
expect_stderr "unknown key 'lrr' in optimizer; did you mean 'lr'?"
expect_one_line
expect_no_file runs/bad
maestro validate bad.yml
expect_exit 2

case_ "a value the template refuses (batch larger than the rows) is bad input before any trial"
sed 's/name: model.hidden, type: categorical, values: \[\[8\], \[16, 16\]\]/name: training.batch_size, type: discrete, values: [64, 100000]/' tsweep.yml > bad.yml
maestro run bad.yml --output runs/bad
expect_exit 2
expect_no_file runs/bad

case_ "an objective metric the trials do not report stops the sweep with exit 2"
sed 's/metric: val_loss/metric: val_losss/' tsweep.yml > bad.yml
mpi 2 run bad.yml --output runs/badmetric
expect_exit 2
expect_stderr "objective.metric 'val_losss' is not a metric of the trials"

case_ "hyperband stops trials at its rungs and promotes the best"
cat > hb.yml <<'YML'
kind: sweep
name: hb
objective: {metric: val_loss, goal: minimize}
algorithm: {name: hyperband, settings: {seed: 3, min_resource: 1, max_resource: 9, eta: 3}}
parameters:
  - {name: optimizer.lr, type: double, min: 1e-4, max: 1.0, scale: log}
max_trials: 9
trial: {template: tmpl.yml}
YML
maestro run hb.yml --output runs/hb
expect_exit 0
maestro inspect runs/hb/sweep.h5 --json
printf '%s' "$OUT" > hb.json
run "$PY" -c "
import json
d = json.load(open('hb.json'))
steps = sorted(t['steps'] for t in d['trials'])
assert d['counts']['pruned'] >= 1, d['counts']
assert all(t['steps'] in (1, 3) for t in d['trials'] if t['status'] == 'pruned'), steps
assert max(steps) == 9, steps  # someone was promoted through every rung
print('ok', steps)"
expect_exit 0

# ---- command trials: metrics on stdout, pruning, failures, timeouts, resume after SIGKILL -------
cat > obj.py <<'PY'
# obj.py X SLEEP [FAIL_ABOVE] - a Katib-style trial: epoch lines, then the final value
import sys, time
x, pause = float(sys.argv[1]), float(sys.argv[2])
if len(sys.argv) > 3 and x > float(sys.argv[3]):
    sys.exit(3)
for e in range(1, 4):
    time.sleep(pause)
    print(f"epoch={e} loss={(x - 0.3) ** 2 + 1.0 / e:.6f}", flush=True)
print(f"loss={(x - 0.3) ** 2:.6f}")
PY
cat > cmd.yml <<YML
kind: sweep
name: cmd
objective: {metric: loss, goal: minimize}
algorithm: {name: random, settings: {seed: 5}}
parameters: [{name: x, type: double, min: 0, max: 1}]
max_trials: 8
parallel_trials: 2
trial: {command: ["$PY", "obj.py", "\${x}", "0"]}
YML

case_ "command trials: the last loss= line is the objective, logs kept per trial"
mpi 2 run cmd.yml --output runs/cmd
expect_exit 0
expect_stderr "8 trials (8 completed, 0 pruned, 0 failed)"
expect_file runs/cmd/trials/0003/stdout.log
maestro inspect runs/cmd/sweep.h5 --json
printf '%s' "$OUT" > cmd.json
run "$PY" -c "
import json
d = json.load(open('cmd.json'))
for t in d['trials']:
    x = float(t['params']['x'])
    assert abs(t['objective'] - (x - 0.3) ** 2) < 1e-5, t
    assert t['steps'] == 3, t
assert {t['group'] for t in d['trials']} == {0, 1}, 'a group ran no trial'
print('ok')"
expect_exit 0

case_ "the median rule prunes command trials that are worse at the same epoch"
mpi 2 run cmd.yml --set max_trials=16 --set 'early_stopping={name: median, min_trials_required: 2, start_step: 1}' --output runs/cmd-median
expect_exit 0
maestro inspect runs/cmd-median/sweep.h5 --json
printf '%s' "$OUT" > median.json
run "$PY" -c "
import json
d = json.load(open('median.json'))
pruned = [t for t in d['trials'] if t['status'] == 'pruned']
assert d['counts']['pruned'] == len(pruned) > 0, d['counts']
assert all(t['steps'] < 3 or t['objective'] is not None for t in pruned)
print('ok', len(pruned))"
expect_exit 0

case_ "failing trials are recorded; past max_failed_trials the sweep stops with exit 1"
mpi 2 run cmd.yml --set 'trial.command=["'$PY'", "obj.py", "${x}", "0", "0.5"]' --set max_failed_trials=1 --output runs/cmd-fail
expect_exit 1
expect_stderr "more than max_failed_trials (1)"
expect_stderr "exit code 3"
maestro inspect runs/cmd-fail/sweep.h5 --json
printf '%s' "$OUT" > fail.json
run "$PY" -c "
import json
d = json.load(open('fail.json'))
# the second failure stops the sweep; trials already running on the other group finish
assert d['status'] == 'failed' and d['counts']['failed'] >= 2, (d['status'], d['counts'])
assert d['counts']['running'] == 0, d['counts']
assert all(t['error'] == 'exit code 3' for t in d['trials'] if t['status'] == 'failed')
print('ok')"
expect_exit 0

case_ "a trial past its timeout fails; the others go on"
mpi 2 run cmd.yml --set 'trial.command=["'$PY'", "obj.py", "${x}", "0.3"]' --set trial.timeout=0.5s --set max_trials=3 --set max_failed_trials=5 --output runs/cmd-timeout
expect_exit 1
expect_stderr "timed out"
expect_stderr "no trial finished"

case_ "resume after SIGKILL of the whole job keeps finished trials and reruns running ones"
cat > slow.yml <<YML
kind: sweep
name: slow
objective: {metric: loss, goal: minimize}
algorithm: {name: tpe, settings: {seed: 2, n_startup_trials: 4}}
parameters: [{name: x, type: double, min: 0, max: 1}]
max_trials: 10
parallel_trials: 2
trial: {command: ["$PY", "obj.py", "\${x}", "0.15"]}
YML
mpirun -np 2 --oversubscribe "$MAESTRO" run slow.yml --output runs/slow >kill.out 2>&1 &
pid=$!
for _ in $(seq 100); do  # until at least two trials have finished
  [ "$(grep -c ' completed in ' kill.out)" -ge 2 ] && break
  sleep 0.1
done
kill -9 $pid; pkill -9 -f "run slow.yml" ; wait $pid 2>/dev/null
"$PY" -c "
import h5py, json
f = h5py.File('runs/slow/sweep.h5')
st = list(f['trials/status'][:])
json.dump({'n': len(st), 'done': {int(n): float(o) for n, s, o in zip(f['trials/number'][:], st, f['trials/objective'][:]) if s == 1},
           'running': int(sum(1 for s in st if s == 0))}, open('before.json', 'w'))" 
mpi 2 run slow.yml --output runs/slow --resume
expect_exit 0
expect_stderr "resuming runs/slow/sweep.h5"
maestro inspect runs/slow/sweep.h5 --json
printf '%s' "$OUT" > after.json
run "$PY" -c "
import json
b, a = json.load(open('before.json')), json.load(open('after.json'))
assert b['running'] >= 1 and len(b['done']) >= 2, b
nums = sorted(t['number'] for t in a['trials'])
assert nums == list(range(10)), nums
objs = {t['number']: t['objective'] for t in a['trials']}
for n, o in b['done'].items():
    assert objs[int(n)] == o, (n, o, objs[int(n)])
assert a['status'] == 'completed' and a['counts']['completed'] == 10, a['counts']
print('ok', b)"
expect_exit 0

case_ "SIGTERM to the ranks stops the sweep (exit 143); --resume reruns the interrupted trials"
mpirun -np 2 --oversubscribe "$MAESTRO" run slow.yml --output runs/term >term.out 2>&1 &
pid=$!
for _ in $(seq 100); do  # until a trial has finished and others are mid-way (epoch lines)
  [ "$(grep -c ' completed in ' term.out)" -ge 1 ] && break
  sleep 0.1
done
sleep 0.2
pkill -TERM -f -- "^$MAESTRO run slow.yml --output runs/term"
wait $pid
RC=$?
expect_exit 143
run "$PY" -c "
import h5py
f = h5py.File('runs/term/sweep.h5')
st = list(f['trials/status'][:])
assert f.attrs['status'] == 'preempted' and st.count(0) >= 1, (f.attrs['status'], st)
running = set(int(n) for n, s in zip(f['trials/number'][:], st) if s == 0)
assert running & set(int(t) for t in f['reports/trial'][:]), 'no interrupted trial had reported'
print('ok')"
expect_exit 0
mpi 2 run slow.yml --output runs/term --resume
expect_exit 0
expect_stderr "10 trials (10 completed, 0 pruned, 0 failed)"

case_ "a fast sweep logs its events beside sweep.h5; after SIGKILL, inspect and --resume see them all"
# A built-in objective runs thousands of trials a second: the writer appends to sweep.h5.log
# and rewrites sweep.h5 every 0.5 s (io/sweep_journal_log.c). Kill it while the log is in use.
"$MAESTRO" run h6.yml --set max_trials=20000 --output runs/fast >fast.out 2>&1 &
pid=$!
for _ in $(seq 300); do  # until the log holds records
  [ -s runs/fast/sweep.h5.log ] && break
  sleep 0.02
done
sleep 0.2
kill -9 $pid; wait $pid 2>/dev/null
maestro inspect runs/fast/sweep.h5 --json
printf '%s' "$OUT" > fast-before.json
run "$PY" -c "
import json, h5py, os
b = json.load(open('fast-before.json'))
n = len(b['trials'])
# h5py sees sweep.h5 alone, which may lag its log by up to 0.5 s; inspect replays the log
f = h5py.File('runs/fast/sweep.h5')
assert os.path.getsize('runs/fast/sweep.h5.log') > 0, 'the fast sweep never used its log'
assert 0 < f.attrs['seq'] and f['trials/number'].shape[0] <= n < 20000, (f['trials/number'].shape, n)
assert b['status'] == 'running' and b['counts']['completed'] >= n - 1, b['counts']
print('ok', n)"
expect_exit 0
mpi 1 run h6.yml --set max_trials=20000 --output runs/fast --resume
expect_exit 0
expect_stderr "resuming runs/fast/sweep.h5"
expect_stderr "20000 trials (20000 completed, 0 pruned, 0 failed)"
expect_no_file runs/fast/sweep.h5.log
maestro run h6.yml --set max_trials=20000 --output runs/fast-clean
expect_exit 0
maestro inspect runs/fast/sweep.h5 --json
printf '%s' "$OUT" > fast-after.json
maestro inspect runs/fast-clean/sweep.h5 --json
printf '%s' "$OUT" > fast-clean.json
run "$PY" -c "
import json
b, a, c = (json.load(open(f)) for f in ('fast-before.json', 'fast-after.json', 'fast-clean.json'))
key = lambda d: {t['number']: (t['params'], t['objective']) for t in d['trials']}
ka, kc = key(a), key(c)
assert ka == kc, 'a killed and resumed random sweep differs from one run through'
for t in b['trials']:
    if t['status'] == 'completed':
        assert ka[t['number']] == (t['params'], t['objective']), t['number']
assert a['best'] == c['best'], (a['best'], c['best'])
print('ok')"
expect_exit 0

finish
