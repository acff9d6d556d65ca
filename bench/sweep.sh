#!/usr/bin/env bash
# sweep.sh - `kind: sweep` end to end: sampler quality, controller overhead with the journal,
# hyperband against random search on a training workload, and trial groups against one group.
#
#   1. Quality: bench/sweep_samplers.sh as it is (Branin and Hartmann6, Maestro TPE/random vs
#      Optuna 3.1), its quality rows copied here. Its own overhead part is run on Hartmann6 at
#      OVERHEAD_TRIALS, so its Optuna in-memory figure is section 2's first peer (one 2-minute
#      Optuna run, not two) and its Maestro figures are the sampler alone, without a journal.
#      SKIP_QUALITY=1 skips the quality runs and runs only those two overhead figures.
#   2. Overhead: `maestro run bench/sweep_overhead.yml` (trial: {objective: hartmann6}),
#      OVERHEAD_TRIALS trials, TPE then random, 1 rank, the journal written before every event
#      is acted on as in any sweep (this fast, sweep.h5 plus its appended event log
#      sweep.h5.log, rewritten whole every 0.5 s and at the end). trials/s from the sweep's own
#      summary line ("in X s"), or from the journal's span when that line says under 10 s (its
#      0.1 s steps are too coarse there), and the command's wall time. Peers: Optuna 3.1 TPESampler, same objective, same trial count, in memory
#      (from 1.) and on JournalStorage(JournalFileStorage), which fsyncs every append as
#      sweep.h5's rewrite does (bench/peers/optuna_samplers.py --journal).
#   3. Hyperband vs random: `maestro data synth` (ROWS x 32, 2 classes, --class-sep CLASS_SEP),
#      bench/sweep_train_search.yml over bench/sweep_train.yml, 2 ranks, parallel_trials 2, one
#      pair of sweeps per seed in HB_SEEDS (one seed's time to reach is luck: which trial
#      happens to be drawn early). Random: RANDOM_TRIALS trials of EPOCHS epochs. Hyperband
#      (ASHA, min_resource 1, max_resource EPOCHS, eta 3): HB_TRIALS trials, by default as many
#      as make about the same number of epochs (see "budget" below); the epochs each sweep
#      trained are counted from its journal's reports (one per epoch) and printed beside the
#      times. The threshold is random's final best val_loss; "time to reach" is the end
#      (start_time + duration, from sweep.h5) of the first completed trial at or below it,
#      from the command's start. Only completed trials count: a pruned trial's value is an
#      epoch-1 or epoch-3 value, not a model the sweep would hand over.
#   4. Groups: GROUP_TRIALS random trials (same seed) on 1 rank/1 group, 2 ranks/1 and 2
#      groups, 4 ranks/1 and 4 groups, GROUP_REPEATS times each; the median wall time and the
#      4-group / 1-group ratio. 4 ranks on a 2-core machine are oversubscribed: the 2-rank rows
#      say what the cores alone give.
# Raw JSON lines go to $OUT/results.jsonl, logs and sweep outputs under $OUT, the Markdown
# report to stdout and $OUT/report.md. Every Maestro rank runs 1 BLAS thread.
#
# Budget (section 3): an ASHA trial always trains 1 epoch; it reaches epoch 3 if it is in the
# top 1/3 of rung 1, and EPOCHS if also in the top 1/3 of rung 3, so one costs about
# 1 + 2/3 + 6/9 = 2.3 epochs against random's 9 (EPOCHS 9, eta 3). Early trials are promoted
# more often (with fewer than eta values at a rung a trial goes on only if it is the best so
# far, and the first one always is), which measured about 2.5 epochs a trial, so the default
# HB_TRIALS is 3.5 x RANDOM_TRIALS: about 9 x RANDOM_TRIALS epochs, the same as random's.
#
# usage: bench/sweep.sh [OUT]          (default out/bench/sweep-<time>)
# env:   BUILD (default build), SECTIONS (default "1 2 3 4"), SKIP_QUALITY=1 (SECTIONS less 1),
#        OVERHEAD_TRIALS (2000), OPTUNA_JOURNAL=0 (skip the journaled Optuna peer), ROWS
#        (20000), CLASS_SEP (0.5), EPOCHS (9), RANDOM_TRIALS (24), HB_TRIALS (3.5 x
#        RANDOM_TRIALS), HB_SEEDS ("3 4 5 6 7"), GROUP_TRIALS (16), GROUP_REPEATS (3),
#        BENCH_TIMEOUT_S (per run, 600), MPIRUN_ARGS (extra mpirun arguments)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmdline="bench/sweep.sh $*"
out=${1:-out/bench/sweep-$(date -u +%Y%m%dT%H%M%SZ)}
build=${BUILD:-build}
otrials=${OVERHEAD_TRIALS:-2000}
rows=${ROWS:-20000}
sep=${CLASS_SEP:-0.5}
epochs=${EPOCHS:-9}
ntrials=${RANDOM_TRIALS:-24}
hbtrials=${HB_TRIALS:-$((7 * ntrials / 2))}
seeds=${HB_SEEDS:-3 4 5 6 7}
gtrials=${GROUP_TRIALS:-16}
greps=${GROUP_REPEATS:-3}
limit=${BENCH_TIMEOUT_S:-600}
py=/usr/bin/python3 # Debian's interpreter: the one that sees python3-optuna and python3-h5py
maestro="$build/maestro"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# One BLAS thread per rank: two groups of one rank each must not fight over the two cores.
export OPENBLAS_NUM_THREADS=1
# shellcheck disable=SC2206 # MPIRUN_ARGS is a list of words on purpose
mpirun_extra=(${MPIRUN_ARGS:-})

step() { printf '== %s\n' "$*" >&2; }
# has N: section N is to run (SECTIONS, less 1 under SKIP_QUALITY=1)
sections=" ${SECTIONS:-1 2 3 4} "
[[ "${SKIP_QUALITY:-0}" == 1 ]] && sections=${sections// 1 / }
has() { [[ "$sections" == *" $1 "* ]]; }

[[ -x "$maestro" ]] || { echo "sweep.sh: build $maestro first (make)" >&2; exit 2; }
if ! "$py" -c 'import optuna, h5py' 2>/dev/null; then
    echo "sweep.sh: needs Debian's python3-optuna, python3-h5py (scripts/install-deps.sh bench)" >&2
    exit 2
fi

mkdir -p "$out/logs" "$out/runs"
out=$(cd "$out" && pwd) # absolute: it goes into specs (the data path) and the report
res="$out/results.jsonl"
: >"$res"
t_bench0=$EPOCHREALTIME
load0=$(cut -d' ' -f1-3 /proc/loadavg) # other work on the machine shows in every figure

# ---- the Python half: one record per sweep from its log and journal, and the report ---------
read -r -d '' PYHELPER <<'PY' || true
import json, math, os, re, statistics as st, sys

SUMMARY = re.compile(r"sweep: (\d+) trials \((\d+) completed, (\d+) pruned, (\d+) failed\) "
                     r"in ([0-9.]+) s; best: trial (\d+), \S+ ([-0-9.eE+naif]+)")

def record(section, name, ranks, groups, rc, t0, t1, outdir, log, extra):
    """A results.jsonl line for one `maestro run` of a sweep: the summary line of its log, and
    from sweep.h5 the trials' end times (Unix seconds, as t0) and the epochs reported."""
    import h5py
    rec = {"section": section, "run": name, "ranks": ranks, "groups": groups, "exit_code": rc,
           "wall_s": t1 - t0, "log": log, **json.loads(extra)}
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    m = None
    for m in SUMMARY.finditer(text):
        pass
    if m:
        rec.update(trials=int(m[1]), completed=int(m[2]), pruned=int(m[3]), failed=int(m[4]),
                   summary_s=float(m[5]), best_trial=int(m[6]), best=float(m[7]))
    path = os.path.join(outdir, "sweep.h5")
    if os.path.exists(path):
        rec["journal_bytes"] = os.path.getsize(path)
        with h5py.File(path, "r") as f:
            t = f["trials"]
            status, obj = t["status"][()], t["objective"][()]
            start, dur = t["start_time"][()], t["duration"][()]
            rec["epochs"] = int(f["reports/step"].shape[0])
            done = [float(obj[i]) for i in range(len(status))
                    if status[i] == 1 and math.isfinite(obj[i])]
            # the exact best (the summary line rounds it to 6 digits)
            rec["best_journal"] = min(done) if done else None
            if len(start):
                rec["journal_span_s"] = float((start + dur).max() - start.min())
            # completed trials as (seconds from the command's start to the trial's end, value)
            rec["completed_at"] = sorted([float(start[i] + dur[i] - t0), float(obj[i])]
                                         for i in range(len(status))
                                         if status[i] == 1 and math.isfinite(obj[i]))
    try:
        rec["cpu_s"] = sum(float(x) for x in open(log[:-4] + ".time").read().split()[-2:])
    except (OSError, ValueError):
        pass
    rec["status"] = "ok" if rc == 0 and m else f"failed (exit {rc})"
    if rc != 0:
        errs = [l for l in text.splitlines() if " error " in l or l.startswith("maestro:")]
        rec["error"] = (errs or text.splitlines() or [""])[-1][:300]
    return rec

def reach(rec, thr):
    """Seconds from the command's start to the first completed trial at or below thr."""
    ts = [t for t, v in rec.get("completed_at", []) if v <= thr]
    return min(ts) if ts else None

def f(v, fmt="{:.2f}", none="-"):
    return none if v is None else fmt.format(v)

def quality(rows):
    q = [r for r in rows if r.get("section") == "quality"]
    if not q:
        return ["### 1. Sampler quality: not run (SKIP_QUALITY=1 or SECTIONS)", ""]
    opt = {"branin": 0.397887357729739, "hartmann6": -3.32236801141551}
    L = [f"### 1. Sampler quality (bench/sweep_samplers.sh): {q[0]['trials']} trials x "
         f"{len({r['seed'] for r in q})} seeds; best value, regret = best - global minimum", "",
         "| objective | sampler | mean best | std | median | mean regret |",
         "|---|---|---:|---:|---:|---:|"]
    for obj in ("branin", "hartmann6"):
        for impl, smp in (("maestro", "tpe"), ("optuna", "tpe"), ("maestro", "random"),
                          ("optuna", "random")):
            v = [r["best"] for r in q if (r["impl"], r["sampler"], r["objective"]) ==
                 (impl, smp, obj)]
            if len(v) > 1:
                L.append(f"| {obj} | {impl} {smp} | {st.mean(v):.3f} | {st.stdev(v):.3f} | "
                         f"{st.median(v):.3f} | {st.mean(v) - opt[obj]:.3f} |")
    return L + [""]

def overhead(rows):
    ov = {r["run"]: r for r in rows if r.get("section") == "overhead"}
    if not ov:
        return []
    def rate(r):
        secs = r.get("summary_s", r.get("seconds")) if r else None
        # "in 0.2 s" is 0.15 to 0.25 s: the journal's span (first start to last end) instead
        if secs is not None and secs < 10 and r.get("journal_span_s"):
            secs = r["journal_span_s"]
        return r["trials"] / secs if secs else None
    def cpu(r):
        return (r.get("cpu_s", r.get("cpu_seconds")) or None) if r else None
    n = next(iter(ov.values()))["trials"]
    L = [f"### 2. Controller overhead: {n} trials of Hartmann6, 1 rank, one after another", "",
         "Seconds: the sweep's summary line (\"in X s\", 0.1 s steps) or the peer's own timing; "
         "journal span: first trial's start to last trial's end in sweep.h5; trials/s from the "
         "journal span where the summary says under 10 s.", "",
         "| run | storage | seconds | trials/s | journal span s | command wall s (trials/s) | "
         "CPU s (trials/CPU s) | journal bytes |",
         "|---|---|---:|---:|---:|---:|---:|---:|"]
    lab = [("maestro-tpe", "Maestro TPE, `maestro run`", "sweep.h5 + event log"),
           ("maestro-random", "Maestro random, `maestro run`", "sweep.h5 + event log"),
           ("sampler-tpe", "Maestro TPE, sampler alone (sweep_samplers)", "none"),
           ("sampler-random", "Maestro random, sampler alone (sweep_samplers)", "none"),
           ("optuna-tpe-memory", "Optuna 3.1 TPESampler", "in memory"),
           ("optuna-tpe-journal", "Optuna 3.1 TPESampler", "JournalFileStorage, fsync per append")]
    for run, label, stor in lab:
        r = ov.get(run)
        if not r:
            continue
        if r.get("status") != "ok":
            L.append(f"| {label} | {stor} | {r.get('status')} | - | - | - | - | - |")
            continue
        wall = f"{r['wall_s']:.2f} ({r['trials'] / r['wall_s']:,.0f})" if "wall_s" in r else "-"
        c = cpu(r)
        c = f"{c:.2f} ({r['trials'] / c:,.0f})" if c else "-"
        L.append(f"| {label} | {stor} | {f(r.get('summary_s', r.get('seconds')), '{:.3f}')} | "
                 f"{f(rate(r), '{:,.0f}')} | {f(r.get('journal_span_s'), '{:.3f}')} | {wall} | "
                 f"{c} | {f(r.get('journal_bytes'), '{:,}')} |")
    L += ["", "| target | measured | goal | met |", "|---|---:|---:|:-:|"]
    mt, mr = rate(ov.get("maestro-tpe")), rate(ov.get("maestro-random"))
    for peer, label in (("optuna-tpe-memory", "Optuna TPE in memory"),
                        ("optuna-tpe-journal", "Optuna TPE on JournalFileStorage")):
        p = rate(ov.get(peer))
        if mt and p:
            L.append(f"| Maestro TPE with its journal / {label}, trials/s | {mt / p:.1f}x | "
                     f">= 10x | {'yes' if mt / p >= 10 else 'no'} |")
        cm, cp = cpu(ov.get("maestro-tpe")), cpu(ov.get(peer))
        # Maestro's whole command (start-up included) against Optuna's loop: its worst case
        if cm and cp:
            L.append(f"| the same, CPU seconds (Maestro's whole command) | {cp / cm:.1f}x | "
                     f">= 10x | {'yes' if cp / cm >= 10 else 'no'} |")
    if mr:
        L.append(f"| Maestro random with its journal, trials/s | {mr:,.0f} | >= 1,000 | "
                 f"{'yes' if mr >= 1000 else 'no'} |")
    return L + [""]

def hyperband(rows):
    s3 = [r for r in rows if r.get("section") == "hyperband"]
    if not s3:
        return []
    L = ["### 3. Hyperband (ASHA) vs random search, same epoch budget, 2 ranks, "
         "parallel_trials 2", "",
         "Threshold per seed: random's final best val_loss (* where hyperband never reached "
         "it: the worse of the two finals). Time to reach: seconds from the command's start to "
         "the end of the first completed trial at or below the threshold.", "",
         "| seed | sweep | trials (completed / pruned) | epochs | wall s | best val_loss | "
         "threshold | time to reach s | random / hyperband |",
         "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    ratios, walls = [], []
    for seed in sorted({r["seed"] for r in s3}):
        by = {r["run"].split("-")[0]: r for r in s3 if r["seed"] == seed}
        rnd, hb = by.get("random"), by.get("hyperband")
        if not rnd or not hb or rnd.get("best_journal") is None:
            continue
        thr, star = rnd["best_journal"], ""
        if reach(hb, thr) is None and hb.get("best_journal") is not None:
            thr, star = max(thr, hb["best_journal"]), "*"
        a, b = reach(rnd, thr), reach(hb, thr)
        ratio = a / b if a and b else None
        if ratio:
            ratios.append(ratio)
        walls.append(rnd["wall_s"] / hb["wall_s"])
        for name, r, t in (("random", rnd, a), ("hyperband", hb, b)):
            L.append(f"| {seed} | {name} | {r.get('trials', '-')} ({r.get('completed', '-')} / "
                     f"{r.get('pruned', '-')}) | {r.get('epochs', '-')} | {f(r['wall_s'])} | "
                     f"{f(r.get('best_journal'), '{:.5f}')} | {f(thr, '{:.5f}')}{star} | {f(t)} "
                     f"| {f(ratio, '{:.2f}x') if name == 'hyperband' else ''} |")
    if ratios:
        ep = lambda kind: sum(r.get("epochs", 0) for r in s3 if r["run"].startswith(kind))
        L += ["", f"Time to reach, random / hyperband: median **{st.median(ratios):.2f}x** over "
              f"{len(ratios)} seeds ({min(ratios):.2f}x to {max(ratios):.2f}x); whole sweep wall "
              f"time, random / hyperband: median {st.median(walls):.2f}x. Epochs trained, random "
              f"/ hyperband, all seeds: {ep('random')} / {ep('hyperband')}."]
    return L + [""]

def groups(rows):
    g4 = [r for r in rows if r.get("section") == "groups"]
    if not g4:
        return []
    def med(run, key):
        v = [r[key] for r in g4 if r["run"] == run and r.get("status") == "ok" and key in r]
        return st.median(v) if v else None
    L = [f"### 4. Trial groups: {g4[0].get('trials', '?')} random trials (same seed) of the "
         f"training template, median of {len({r['rep'] for r in g4})} runs (each run's wall in "
         f"brackets)", "",
         "| ranks | groups | ranks per trial | wall s | sweep s (summary) | CPU s, all ranks | "
         "wall, 1 group / this, same ranks | wall, 1 rank / this |",
         "|---:|---:|---:|---|---:|---:|---:|---:|"]
    base = med("r1g1", "wall_s")
    for run in ("r1g1", "r2g1", "r2g2", "r4g1", "r4g4"):
        rs = [r for r in g4 if r["run"] == run]
        if not rs:
            continue
        r, w = rs[0], med(run, "wall_s")
        one = med(f"r{r['ranks']}g1", "wall_s")
        each = ", ".join(f(x["wall_s"]) if x.get("status") == "ok" else x["status"] for x in rs)
        L.append(f"| {r['ranks']} | {r['groups']} | {r['ranks'] // r['groups']} | {f(w)} ({each}) "
                 f"| {f(med(run, 'summary_s'), '{:.1f}')} | {f(med(run, 'cpu_s'), '{:.1f}')} | "
                 f"{f(one / w if one and w and r['groups'] > 1 else None, '{:.2f}x')} | "
                 f"{f(base / w if base and w else None, '{:.2f}x')} |")
    return L + [""]

def report(res, cmdline, machine):
    rows = [json.loads(l) for l in open(res) if l.strip()]
    m = json.loads(machine)
    L = quality(rows) + overhead(rows) + hyperband(rows) + groups(rows)
    for r in rows:
        if r.get("status", "ok") != "ok":
            L.append(f"- {r.get('section')} {r.get('run')}: {r['status']}: {r.get('error', '')}")
    L.append(f"Machine: {m['cpu']}, {m['cores']} cores ({m['cpus']} CPUs online); Optuna "
             f"{m['optuna']}; Maestro {m['commit']}; {m['date']}; the whole bench took "
             f"{m['bench_s']:.0f} s; load average (1, 5, 15 min) {m['load'][0]} at the start, "
             f"{m['load'][1]} at the end.  ")
    L.append(f"Command: `{cmdline}`; raw results: `{res}`.")
    return "\n".join(L)

if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "record":
        print(json.dumps(record(a[1], a[2], int(a[3]), int(a[4]), int(a[5]), float(a[6]),
                                float(a[7]), a[8], a[9], a[10])))
    elif a[0] == "tag":  # JSON lines on stdin -> the same lines with section and run added
        for line in sys.stdin:
            if line.strip().startswith("{"):
                r = json.loads(line)
                run = a[2] if len(a) > 2 else None
                print(json.dumps({"section": a[1], **({"run": run} if run else {}), **r,
                                  "status": "ok"}))
    elif a[0] == "report":
        print(report(a[1], a[2], a[3]))
PY
pyhelper() { "$py" -c "$PYHELPER" "$@"; }

# sweep SECTION NAME RANKS GROUPS TAGS [maestro run args...]: one sweep into $out/runs/NAME,
# timed from before mpirun (or the singleton binary, RANKS 0) to its exit; appends its record
# with TAGS (a JSON object: seed, repeat) merged in.
sweep() {
    local section=$1 name=$2 np=$3 groups=$4 tags=$5
    shift 5
    local dir="$out/runs/$name" log="$out/logs/$name.log" rc=0 t0 t1
    local -a launch=(mpirun -np "$np" --oversubscribe "${mpirun_extra[@]}")
    # A 1-rank sweep needs no mpirun: a singleton MPI process is what `maestro run` alone is.
    [[ $np -eq 0 ]] && { launch=(); np=1; }
    rm -rf "$dir"
    step "$section $name: $np rank(s), $groups group(s)"
    t0=$EPOCHREALTIME
    # /usr/bin/time for the CPU seconds of the whole tree (mpirun reaps its ranks): steadier
    # than wall time on a shared machine, and it shows ranks that spin while they wait.
    timeout --kill-after=10 "$limit" /usr/bin/time -o "$out/logs/$name.time" -f '%U %S' \
        "${launch[@]}" "$maestro" run "$@" --output "$dir" >"$log" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    [[ $rc -eq 0 ]] || echo "   $name: exit $rc (see $log)" >&2
    pyhelper record "$section" "${name%%.*}" "$np" "$groups" "$rc" "$t0" "$t1" "$dir" "$log" \
        "$tags" >>"$res"
}

# ---- 1. sampler quality (and the no-journal overhead figures) -------------------------------
if has 1; then
    step "1. bench/sweep_samplers.sh -> $out/samplers"
    BUILD="$build" OVERHEAD_TRIALS="$otrials" OVERHEAD_OBJECTIVE=hartmann6 \
        bench/sweep_samplers.sh "$out/samplers" >"$out/logs/sweep_samplers.out"
    "$py" -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["kind"] == "quality":
        r["section"] = "quality"
    else:  # the overhead rows: the sampler alone (Maestro) or in memory (Optuna)
        r["section"] = "overhead"
        r["run"] = ("sampler-" if r["impl"] == "maestro" else "optuna-") + r["sampler"] + \
            ("-memory" if r["impl"] == "optuna" else "")
    r["status"] = "ok"
    print(json.dumps(r))' "$out/samplers/results.jsonl" >>"$res"
elif has 2; then
    step "2. overhead without a journal: sweep_samplers driver and Optuna in memory"
    driver="$build/sweep_samplers"
    [[ -x "$driver" ]] || { echo "sweep.sh: build $driver first (make)" >&2; exit 2; }
    for smp in tpe random; do
        "$driver" "$smp" hartmann6 "$otrials" 1 | pyhelper tag overhead "sampler-$smp" >>"$res"
    done
    "$py" bench/peers/optuna_samplers.py tpe hartmann6 "$otrials" 1 |
        pyhelper tag overhead optuna-tpe-memory >>"$res"
fi

# ---- 2. controller overhead with the journal ------------------------------------------------
if has 2; then
    for smp in tpe random; do
        sweep overhead "maestro-$smp" 0 1 '{}' bench/sweep_overhead.yml \
            --set "algorithm.name=$smp" --set "max_trials=$otrials"
    done
    if [[ "${OPTUNA_JOURNAL:-1}" != 0 ]]; then
        step "2. Optuna TPE on JournalFileStorage, $otrials trials"
        "$py" bench/peers/optuna_samplers.py --journal "$out/runs/optuna-journal.log" tpe \
            hartmann6 "$otrials" 1 | pyhelper tag overhead optuna-tpe-journal >>"$res"
    fi
fi

# ---- 3. hyperband vs random at about the same epoch budget ----------------------------------
if has 3 || has 4; then
    step "3, 4. data: $rows x 32, 2 classes, class-sep $sep -> $out/synth.h5"
    "$maestro" data synth --rows "$rows" --features 32 --classes 2 --class-sep "$sep" \
        -o "$out/synth.h5" >&2
    export SWEEP_BENCH_DATA="$out/synth.h5" SWEEP_BENCH_EPOCHS="$epochs"
fi
if has 3; then
    for seed in $seeds; do
        sweep hyperband "random-s$seed" 2 2 "{\"seed\": $seed}" bench/sweep_train_search.yml \
            --set parallel_trials=2 --set "max_trials=$ntrials" \
            --set "algorithm.settings.seed=$seed"
        sweep hyperband "hyperband-s$seed" 2 2 "{\"seed\": $seed}" bench/sweep_train_search.yml \
            --set parallel_trials=2 --set "max_trials=$hbtrials" --set algorithm.name=hyperband \
            --set "algorithm.settings={seed: $seed, min_resource: 1, max_resource: $epochs, eta: 3}"
    done
fi

# ---- 4. trial groups ------------------------------------------------------------------------
if has 4; then
    # Repeats interleaved (all five, then again): a slow minute on a shared VM hits every row.
    for rep in $(seq 1 "$greps"); do
        for rg in "1 1" "2 1" "2 2" "4 1" "4 4"; do
            read -r np g <<<"$rg"
            sweep groups "r${np}g$g.$rep" "$np" "$g" "{\"rep\": $rep}" \
                bench/sweep_train_search.yml --set "parallel_trials=$g" --set "max_trials=$gtrials"
        done
    done
fi

# ---- report ---------------------------------------------------------------------------------
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
sockets=$(lscpu | sed -n 's/^Socket(s):[[:space:]]*//p' | head -1)
per=$(lscpu | sed -n 's/^Core(s) per socket:[[:space:]]*//p' | head -1)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
bench_s=$("$py" -c 'import sys; print(float(sys.argv[2]) - float(sys.argv[1]))' \
    "$t_bench0" "$EPOCHREALTIME")
machine=$("$py" -c 'import json, sys, optuna
print(json.dumps({"cpu": sys.argv[1], "cores": int(sys.argv[2]) * int(sys.argv[3]),
                  "cpus": int(sys.argv[4]), "commit": sys.argv[5], "date": sys.argv[6],
                  "bench_s": float(sys.argv[7]), "optuna": optuna.__version__,
                  "load": [sys.argv[8], sys.argv[9]]}))' \
    "${cpu:-unknown}" "${sockets:-1}" "${per:-$(nproc)}" "$(nproc)" "$commit" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$bench_s" \
    "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)")
echo "{\"section\": \"machine\", \"machine\": $machine}" >>"$res"
pyhelper report "$res" "$cmdline" "$machine" | tee "$out/report.md"
