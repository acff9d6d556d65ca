#!/usr/bin/env bash
# features.sh - feature materialisation and point-in-time joins: Maestro against pandas on the
# same data, in one run.
#
# Workload (defaults; EVENTS etc. below shrink it for quick runs): 10,000,000 events of
# 1,000,000 entities over 30 days, written by `maestro data events` as HDF5 (skewed activity,
# ties, ~1% missing amounts), and 1,000,000 label rows (one per entity) as CSV. Two value
# columns (amount, qty) x windows 1h, 1d, 7d x count, sum, mean, max, std = 30 features.
# Runs, one after another (each figure is a wall time of the whole machine):
#   1. data: maestro data events (timed: the generator's own throughput);
#   2. pandas (bench/peers/pandas_features.py on Debian's python3-pandas 1.5): load, sort,
#      one custom-indexer rolling per window and aggregation; then merge_asof of the label rows
#      (by entity, backward, tolerance 7d). It writes no store: its materialisation time is
#      compute only, Maestro's includes writing the offline store;
#   3. Maestro at NP ranks (default 2): `maestro run bench/features_materialize.yml` (reads the
#      HDF5 events, shuffles, computes, writes the offline store with parallel HDF5), then
#      `maestro run bench/features_dataset.yml` (the point-in-time training set from that
#      store, ttl 7d). Peak RSS of every rank from /usr/bin/time, against the rank's share of
#      the raw events (rows x bytes of one row's columns in memory, / NP);
#   4. correctness: the rows of SAMPLE_ENTITIES entities (every k-th key and the most active
#      one) in Maestro's store equal pandas' within 1e-9 (|a - b| <= 1e-9 + 1e-9 |b|, NaN
#      equal NaN); about 2,000 label rows of Maestro's training set equal pandas' merge_asof result
#      (as float32, the dataset's type) and labels.
# Raw results, one JSON object a line, go to $OUT/results.jsonl, logs to $OUT/logs/; the
# Markdown section (times, events/s, ratios against the targets, RSS, correctness, machine,
# command) goes to stdout and $OUT/report.md.
#
# usage: bench/features.sh [OUT]        (default out/bench/features-<time>)
# env:   BUILD (default build), EVENTS (10000000), ENTITIES (EVENTS / 10), LABELS (ENTITIES),
#        DAYS (30), SEED (42), NP (2), SAMPLE_ENTITIES (300), BENCH_TIMEOUT_S (per run, 1800),
#        MPIRUN_ARGS (extra mpirun arguments), KEEP=1 (keep events, store and training set),
#        REPEAT (runs of each, alternating; the report keeps each one's fastest; default 1)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmdline="bench/features.sh $*"
for v in REPEAT EVENTS; do
    [[ -z "${!v:-}" ]] || cmdline="$v=${!v} $cmdline"
done
out=${1:-out/bench/features-$(date -u +%Y%m%dT%H%M%SZ)}
build=${BUILD:-build}
events=${EVENTS:-10000000}
entities=${ENTITIES:-$((events / 10 > 0 ? events / 10 : 1))}
labels=${LABELS:-$entities}
days=${DAYS:-30}
seed=${SEED:-42}
np=${NP:-2}
sample=${SAMPLE_ENTITIES:-300}
repeat=${REPEAT:-1}
limit=${BENCH_TIMEOUT_S:-1800}
py=/usr/bin/python3 # Debian's interpreter: the one that sees python3-pandas and python3-h5py
maestro="$build/maestro"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# shellcheck disable=SC2206 # MPIRUN_ARGS is a list of words on purpose
mpirun_extra=(${MPIRUN_ARGS:-})

step() { printf '== %s\n' "$*" >&2; }

# ---- the Python half: correctness against pandas' sample, and the report -------------------
read -r -d '' PYREPORT <<'PY' || true
import json, os, re, sys
import h5py
import numpy as np

results, out, cmdline = sys.argv[1:4]
runs = {}
for line in open(results):
    if line.strip():
        r = json.loads(line)
        runs.setdefault(r["run"], []).append(r)

def best(name):
    """The fastest successful run of `name` (all of them when none succeeded)."""
    ok = [r for r in runs.get(name, []) if r.get("exit_code", 0) == 0 and
          r.get("status", "ok") == "ok" and "wall_s" in r]
    key = "materialise_s" if name == "pandas" else "wall_s"
    return min(ok, key=lambda r: r.get(key, r["wall_s"])) if ok else \
        (runs.get(name) or [{}])[-1]

rs = {name: best(name) for name in runs}

def log_msgs(name):
    """The msg of every JSON log line of a Maestro run (its fastest repetition)."""
    rep = rs.get({"materialize": "maestro-materialize", "dataset": "maestro-dataset"}[name],
                 {}).get("rep", 1)
    name = f"{name}-{rep}"
    msgs = []
    for f in (f"{out}/logs/{name}.out", f"{out}/logs/{name}.err"):
        if os.path.exists(f):
            for line in open(f, errors="replace"):
                try:
                    msgs.append(str(json.loads(line).get("msg", "")))
                except ValueError:
                    pass
    return msgs

def phase(name, pattern):
    for m in log_msgs(name):
        g = re.search(pattern, m)
        if g:
            return float(g.group(1))
    return None

def check_store(sample, store):
    """Maestro's rows of the sampled entities against pandas': (entities, values, bad, worst)."""
    s = np.load(sample)
    keys, names = s["keys"], [str(n) for n in s["names"]]
    bad = n = 0
    worst = 0.0
    with h5py.File(store, "r") as f:
        v = f["views/customer"]
        ikey = v["index/key"][()]
        first, count = v["index/first"][()], v["index/count"][()]
        order = np.argsort(ikey)
        ukeys = np.unique(keys)
        for k in ukeys:
            j = order[np.searchsorted(ikey[order], k)]
            m = keys == k
            if ikey[j] != k or count[j] != m.sum():
                bad += int(m.sum()) * len(names)
                continue
            a, c = int(first[j]), int(count[j])
            if not ((v["event_ts"][a:a + c] // 1000 == s["event_ts"][m]).all() and
                    (v["created_ts"][a:a + c] // 1000 == s["created_ts"][m]).all()):
                bad += c * len(names)
                continue
            M = np.stack([v[nm][a:a + c] for nm in names], axis=1)
            P = s["features"][m]
            both = np.isnan(M) & np.isnan(P)
            diff = np.abs(M - P)
            ok = both | (diff <= 1e-9 + 1e-9 * np.abs(P))
            bad += int((~ok).sum())
            rel = np.where(both, 0, diff / np.maximum(np.abs(P), 1))
            worst = max(worst, float(np.nan_to_num(rel, nan=np.inf).max()))
            n += M.size
    return len(ukeys), n, bad, worst

def check_train(sample, train):
    """Maestro's training set rows against pandas' merge_asof: (rows, bad values, bad labels)."""
    s = np.load(sample)
    rows = s["label_rows"]
    with h5py.File(train, "r") as f:
        X = f["X"][()][rows]
        names = [c.decode() if isinstance(c, bytes) else str(c) for c in f.attrs["class_names"]]
        y = np.array(names)[f["y"][()][rows]]
    P = s["label_features"].astype(np.float32)
    ok = (np.isnan(X) & np.isnan(P)) | np.isclose(X, P, rtol=1e-6, atol=1e-6)
    return len(rows), int((~ok).sum()), int((y != s["label_y"]).sum())

d, pd_, mat, ds, mach = (rs.get(k, {}) for k in
                         ("data", "pandas", "maestro-materialize", "maestro-dataset", "machine"))
N, npr = d.get("events", 0), mach.get("np", 2)
m_ok, ds_ok = mat.get("exit_code") == 0, ds.get("exit_code") == 0
p_ok = "materialise_s" in pd_
m_read = phase("materialize", r"events read in ([0-9.]+) s")
m_sort = phase("materialize", r"shuffled and sorted by entity in ([0-9.]+) s")
m_job = phase("materialize", r"new rows of .* in ([0-9.]+) s")
d_job = phase("dataset", r"rows x [0-9]+ features .* in ([0-9.]+) s$")
corr = {}
sample = f"{out}/pandas-sample.npz"
if p_ok and m_ok and os.path.exists(sample):
    corr["store"] = check_store(sample, f"{out}/store.h5")
if p_ok and ds_ok and os.path.exists(sample):
    corr["train"] = check_train(sample, f"{out}/train.h5")
with open(results, "a") as f:
    f.write(json.dumps({"run": "correctness", **{k: list(v) for k, v in corr.items()}}) + "\n")

def t(v):
    return "-" if v is None else f"{v:.2f} s"

def rate(v):
    return "-" if not v else f"{N / v / 1e6:.2f} M/s"

# One row of raw events in memory: the key (fixed-length) + event_ts, created_ts, amount, qty.
key_bytes = len(str(max(d.get("entities", 1) - 1, 0))) + 1
key_bytes = max(key_bytes, 8)
raw = N * (key_bytes + 32)
share = raw / npr
L = []
L.append("## Feature materialisation (`bench/features.sh`)\n")
L.append(f"{N:,} events of {d.get('entities', 0):,} entities over {d.get('days')} days "
         f"(`maestro data events`, HDF5, {d.get('events_bytes', 0) / 2**20:,.0f} MiB), "
         f"{d.get('labels', 0):,} label rows; 2 value columns x windows 1h/1d/7d x count, sum, "
         f"mean, max, std = 30 features. Maestro at {npr} ranks "
         f"(`mpirun -np {npr} --oversubscribe`); pandas {pd_.get('pandas', '?')} in one "
         f"process. Generating the data took {d.get('wall_s', 0):.2f} s "
         f"({rate(d.get('wall_s'))}).\n")
L.append("| step | Maestro | pandas | Maestro / pandas speed | target | met |")
L.append("|---|---:|---:|---:|---:|:-:|")
def ratio(a, b):
    return b / a if a and b else None
mw = mat.get("wall_s") if m_ok else None
pw = pd_.get("materialise_s") if p_ok else None
r1 = ratio(mw, pw)
L.append(f"| materialise: events -> 30 features (Maestro: + offline store written) | {t(mw)} "
         f"({rate(mw)}) | {t(pw)} ({rate(pw)}) | {'-' if r1 is None else f'{r1:.2f}x'} "
         f"| >= 10x | {'-' if r1 is None else ('yes' if r1 >= 10 else 'no')} |")
dw = ds.get("wall_s") if ds_ok else None
pms = [r["merge_asof_s"] for r in runs.get("pandas", []) if "merge_asof_s" in r]
pm = min(pms) if pms else None
r2 = ratio(dw, pm)
L.append(f"| point-in-time: {d.get('labels', 0):,} rows x 30 features (Maestro: store read, "
         f"training set written) | {t(dw)} | {t(pm)} | {'-' if r2 is None else f'{r2:.2f}x'} "
         f"| >= 5x | {'-' if r2 is None else ('yes' if r2 >= 5 else 'no')} |")
if max(len(runs.get(k, [])) for k in ("pandas", "maestro-materialize")) > 1:
    def walls(name, key):
        return ", ".join(f"{r[key]:.1f}" for r in runs.get(name, []) if key in r)
    L.append(f"\nBest of {len(runs.get('pandas', []))} alternating runs each; all of them (s): "
             f"Maestro materialise {walls('maestro-materialize', 'wall_s')}; pandas "
             f"materialise {walls('pandas', 'materialise_s')}; Maestro point-in-time "
             f"{walls('maestro-dataset', 'wall_s')}; merge_asof "
             f"{walls('pandas', 'merge_asof_s')}.")
L.append("")
L.append("| phase | Maestro | pandas |")
L.append("|---|---:|---:|")
L.append(f"| read events | {t(m_read)} | {t(pd_.get('load_s'))} |")
L.append(f"| shuffle + sort by (entity, ts) | {t(m_sort)} | {t(pd_.get('sort_s'))} |")
rest = m_job - m_read - m_sort if None not in (m_job, m_read, m_sort) else None
L.append(f"| windows (+ Maestro: write store, {mat.get('store_bytes', 0) / 2**20:,.0f} MiB) "
         f"| {t(rest)} | {t(pd_.get('windows_s'))} |")
def cpu(r):
    return sum(rk[2] + rk[3] for rk in r.get("ranks", [])) or None
L.append(f"| materialise job / process (wall) | {t(m_job)} / {t(mw)} | - |")
L.append(f"| materialise CPU (user + sys, all ranks) | {t(cpu(mat))} | "
         f"{t(pd_.get('materialise_cpu_s'))} |")
L.append(f"| point-in-time job / process (wall) | {t(d_job)} / {t(dw)} | merge_asof {t(pm)} "
         f"(label CSV read {t(pd_.get('labels_read_s'))}, not counted) |")
L.append(f"| point-in-time CPU (user + sys, all ranks) | {t(cpu(ds))} | "
         f"{t(pd_.get('point_in_time_cpu_s'))} (label CSV read included) |")
L.append("")
L.append(f"Peak RSS per rank against its share of the raw events ({N:,} x {key_bytes + 32} B "
         f"/ {npr} = {share / 2**20:,.0f} MiB; target <= 3x):\n")
L.append("| run | rank | peak RSS | / share | met |")
L.append("|---|---:|---:|---:|:-:|")
for name, key in (("materialise", "maestro-materialize"), ("point-in-time", "maestro-dataset")):
    # The largest peak over the repetitions, rank by rank.
    peaks = {}
    for r in runs.get(key, []):
        for i, rk in enumerate(r.get("ranks", [])):
            peaks[i] = max(peaks.get(i, [0]), rk, key=lambda v: v[0])
    for i, rk in sorted(peaks.items()):
        x = rk[0] * 1024 / share if share else 0
        L.append(f"| {name} | {i} | {rk[0] / 2**20:.2f} GiB | {x:.1f}x | "
                 f"{'yes' if x <= 3 else 'no'} |")
if p_ok:
    L.append(f"| pandas (1 process) | - | {pd_.get('peak_rss_mb', 0) / 1024:.2f} GiB | "
             f"{pd_.get('peak_rss_mb', 0) * 2**20 / raw:.1f}x of all events | - |")
L.append("")
if "store" in corr:
    e, n, bad, worst = corr["store"]
    L.append(f"Correctness: {e} entities' rows ({n:,} feature values) of Maestro's store equal "
             f"pandas' within 1e-9: {'yes' if bad == 0 else f'NO, {bad} differ'} (largest "
             f"difference {worst:.1e}, relative to max(|value|, 1)).  ")
if "train" in corr:
    rows, bad, badl = corr["train"]
    L.append(f"{rows:,} training-set rows equal merge_asof's (float32): "
             f"{'yes' if bad == 0 and badl == 0 else f'NO, {bad} values and {badl} labels differ'}.")
for name, key in (("pandas", "pandas"), ("materialise", "maestro-materialize"),
                  ("point-in-time", "maestro-dataset")):
    for r in runs.get(key, []):
        if r.get("status", "ok") != "ok" or r.get("exit_code", 0) != 0:
            L.append(f"\n{name} run {r.get('rep')}: "
                     f"{r.get('status') or 'exit ' + str(r.get('exit_code'))} "
                     f"(logs in `{out}/logs/`).")
L.append("")
loads = ", ".join(f"{k} {'/'.join(str(r['load1']) for r in runs.get(k, []) if 'load1' in r)}"
                  for k in ("pandas", "maestro-materialize", "maestro-dataset"))
L.append(f"Machine: {mach.get('cpu')}, {mach.get('cpus')} CPUs, {mach.get('mem_gib')} GiB; "
         f"Maestro {mach.get('commit')}; {mach.get('date')}; 1-minute load average at the "
         f"start of each run: {loads}.  ")
L.append(f"Command: `{cmdline}`; raw results: `{results}`.")
print("\n".join(L))
PY

# ---- setup ----------------------------------------------------------------------------------
step "dependencies"
scripts/install-deps.sh # the build group has python3-h5py and python3-numpy
# python3-pandas is the peer of this benchmark only (the bench group would add PyTorch and
# Optuna, which it does not need); installed here from Debian, like the rest.
if ! "$py" -c 'import pandas, h5py, numpy' 2>/dev/null; then
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        python3-pandas python3-h5py python3-numpy >&2
fi

step "build ($build)"
[[ -f "$build/CMakeCache.txt" ]] || cmake -S . -B "$build" >&2
cmake --build "$build" --target maestro -j"$(nproc)" >&2 ||
    { echo "features: the build in $build failed; nothing measured" >&2; exit 1; }

mkdir -p "$out/logs"
results="$out/results.jsonl"
: >"$results"
ev_h5="$out/events.h5" lab_csv="$out/labels.csv" store="$out/store.h5" train="$out/train.h5"

# record JSON - append one line to results.jsonl
record() { printf '%s\n' "$1" >>"$results"; }
now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# timed NAME CMD... - run with the time limit, output to logs/NAME.{out,err}; sets $rc, $wall
timed() {
    local name=$1 t0
    shift
    step "$name: $*"
    rc=0
    t0=$(now)
    timeout --kill-after=10 "$limit" "$@" >"$out/logs/$name.out" 2>"$out/logs/$name.err" || rc=$?
    wall=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }')
    [[ $rc -eq 0 ]] || echo "   $name: exit $rc (see $out/logs/$name.err)" >&2
}

# Every rank under /usr/bin/time: its peak RSS (KiB), wall and CPU seconds to logs/rss-NAME.R.
cat >"$out/logs/rank-time.sh" <<'SH'
#!/usr/bin/env bash
exec /usr/bin/time -f "%M %e %U %S" -o "$RSS_PREFIX.${OMPI_COMM_WORLD_RANK:-0}" "$@"
SH
chmod +x "$out/logs/rank-time.sh"

# No platform services (metrics, logs, secrets plugins of ./cluster.yml): the job alone.
printf 'name: bench-features\n' >"$out/cluster.yml"

# maestro_run NAME ARGS... - `maestro run` at $np ranks, each rank timed; sets $rc, $wall
maestro_run() {
    local name=$1
    shift
    rm -f "$out/logs/rss-$name".*
    timed "$name" env RSS_PREFIX="$out/logs/rss-$name" \
        mpirun -np "$np" --oversubscribe -x RSS_PREFIX "${mpirun_extra[@]}" \
        "$out/logs/rank-time.sh" "$maestro" run --cluster "$out/cluster.yml" "$@"
}

# ranks_json NAME - [[rss_kib, wall, user, sys], ...] of the ranks of run NAME
ranks_json() {
    local f sep="" s="["
    for f in "$out/logs/rss-$1".*; do
        [[ -f "$f" ]] || continue
        s+="${sep}[$(tail -1 "$f" | tr ' ' ',')]"
        sep=","
    done
    printf '%s]' "$s"
}

# ---- 1. data --------------------------------------------------------------------------------
timed data "$maestro" data events --events "$events" --entities "$entities" --days "$days" \
    --seed "$seed" --labels "$labels" --labels-out "$lab_csv" -o "$ev_h5"
[[ $rc -eq 0 ]] || { cat "$out/logs/data.err" >&2; exit 1; }
record "{\"run\": \"data\", \"events\": $events, \"entities\": $entities, \"labels\": $labels, \
\"days\": $days, \"seed\": $seed, \"wall_s\": $wall, \"events_bytes\": $(stat -c %s "$ev_h5")}"

# ---- 2, 3. pandas and Maestro, REPEAT times, alternating -----------------------------------
# On a shared machine the load of other processes changes from minute to minute; alternating
# the two and keeping each one's best run compares them under similar conditions.
for rep in $(seq 1 "$repeat"); do
    load=$(load1)
    timed "pandas-$rep" "$py" bench/peers/pandas_features.py --events "$ev_h5" \
        --labels "$lab_csv" --sample "$out/pandas-sample.npz" --sample-entities "$sample"
    if [[ $rc -eq 0 ]]; then
        record "$(tail -1 "$out/logs/pandas-$rep.out" |
            sed "s/}\$/, \"rep\": $rep, \"wall_s\": $wall, \"load1\": $load}/")"
    else
        record "{\"run\": \"pandas\", \"rep\": $rep, \"status\": \"failed (exit $rc)\", \"wall_s\": $wall}"
    fi

    rm -rf "$out/runs" "$store" "$train"
    load=$(load1)
    maestro_run "materialize-$rep" bench/features_materialize.yml --log-format json \
        --set "source.path=$ev_h5" --set "offline.path=$store" --output "$out/runs/materialize"
    record "{\"run\": \"maestro-materialize\", \"rep\": $rep, \"exit_code\": $rc, \
\"wall_s\": $wall, \"load1\": $load, \"ranks\": $(ranks_json "materialize-$rep"), \
\"store_bytes\": $(stat -c %s "$store" 2>/dev/null || echo 0)}"
    # kind: dataset's output is the training-set file (--output would name that file).
    load=$(load1)
    maestro_run "dataset-$rep" bench/features_dataset.yml --log-format json \
        --set "entities.path=$lab_csv" --set "store=$store" --set "output=$train"
    record "{\"run\": \"maestro-dataset\", \"rep\": $rep, \"exit_code\": $rc, \
\"wall_s\": $wall, \"load1\": $load, \"ranks\": $(ranks_json "dataset-$rep")}"
done

# ---- 4. correctness, 5. report ----------------------------------------------------------------
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
record "$("$py" -c 'import json, sys
print(json.dumps({"run": "machine", "cpu": sys.argv[1], "cpus": int(sys.argv[2]),
                  "mem_gib": round(int(sys.argv[3]) / 2**20, 1), "commit": sys.argv[4],
                  "date": sys.argv[5], "np": int(sys.argv[6])}))' \
    "${cpu:-unknown}" "$(nproc)" "$(sed -n 's/^MemTotal:[[:space:]]*\([0-9]*\).*/\1/p' /proc/meminfo)" \
    "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$np")"
step "correctness and report"
"$py" -c "$PYREPORT" "$results" "$out" "$cmdline" | tee "$out/report.md"
[[ "${KEEP:-0}" == 1 ]] || rm -f "$ev_h5" "$store" "$train"
