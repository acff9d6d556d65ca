#!/usr/bin/env bash
# train_throughput.sh - training throughput of Maestro against PyTorch CPU on the same data.
#
# Workload: 200,000 x 128 synthetic rows, 10 classes, MLP 128-256-256-10 ReLU, SGD momentum
# 0.9, global batch 256; one warm-up epoch, one timed epoch. Runs, one after another (the
# figures are throughputs of the whole machine, so nothing runs beside them):
#   1. gemm_bound: cblas_sgemm at one step's shapes on 1 BLAS thread, the 1-thread bound;
#   2. the PyTorch peers (bench/peers/torch_mlp.py on Debian's python3-torch), each with both
#      thread pools set: 1 thread (OMP 1, BLAS 1), best 2 threads (OMP 1, BLAS 2), DDP over
#      gloo 2 processes x (OMP 1, BLAS 1); BENCH_NAIVE=1 adds the naive OMP 2, BLAS 2 run;
#   3. Maestro at 1 and 2 ranks, 1 BLAS thread per rank (bench/train_throughput.yml).
# Raw results, one JSON object a line, go to $OUT/results.jsonl, logs to $OUT/logs/; the
# Markdown table (samples/s, ratios to the targets, GEMM-bound share, machine, command) goes to
# stdout and $OUT/report.md. A Maestro without training prints its rows as "not built yet" and
# the peers still run.
#
# usage: bench/train_throughput.sh [OUT]      (default out/bench/train-throughput-<time>)
# env:   BUILD (default build), ROWS (default 200000), BENCH_NAIVE=1,
#        BENCH_TIMEOUT_S (per run, default 900), MPIRUN_ARGS (extra mpirun arguments)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmdline="bench/train_throughput.sh $*"
out=${1:-out/bench/train-throughput-$(date -u +%Y%m%dT%H%M%SZ)}
build=${BUILD:-build}
rows=${ROWS:-200000}
limit=${BENCH_TIMEOUT_S:-900}
py=/usr/bin/python3 # Debian's interpreter: the one that sees python3-torch and python3-h5py
maestro="$build/maestro"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# shellcheck disable=SC2206 # MPIRUN_ARGS is a list of words on purpose
mpirun_extra=(${MPIRUN_ARGS:-})

step() { printf '== %s\n' "$*" >&2; }

# ---- the Python half: Maestro's log parser and the report -----------------------------------
read -r -d '' PYHELPER <<'PY' || true
import json, re, sys

def maestro_record(name, np_, rc, log_path):
    """One results.jsonl record from a Maestro run's exit status and its log (JSON lines,
    human lines tolerated). The trainer logs one record per epoch whose msg holds
    'N samples/s' (and maybe 'allreduce X%'); the last epoch's is the timed one."""
    rec = {"run": name, "ranks": np_, "blas_threads_per_rank": 1, "exit_code": rc,
           "log": log_path}
    try:
        text = open(log_path, errors="replace").read()
    except OSError:
        text = ""
    if rc == 2 and "not built yet" in text:
        rec["status"] = "not built yet"
        return rec
    epochs = []
    for line in text.splitlines():
        msg = line
        s = line.strip()
        if s.startswith("{"):
            try:
                obj = json.loads(s)
                msg = str(obj.get("msg", ""))
            except ValueError:
                pass
        m = re.search(r"([0-9][0-9,]*(?:\.[0-9]+)?)\s*([kKM]?)\s*samples/s", msg)
        if not m:
            continue
        v = float(m.group(1).replace(",", ""))
        v *= {"k": 1e3, "K": 1e3, "M": 1e6}.get(m.group(2), 1)
        e = {"samples_per_s": v, "msg": msg}
        m = re.search(r"epoch\s+(\d+)\s*/\s*(\d+)", msg)
        if m:
            e["epoch"], e["epochs"] = int(m.group(1)), int(m.group(2))
        m = re.search(r"allreduce\s+([0-9.]+)\s*%", msg)
        if m:
            e["allreduce_share"] = float(m.group(1)) / 100
        m = re.search(r"\bloss\s+([0-9.eE+-]+)", msg)
        if m:
            try:
                e["loss"] = float(m.group(1))
            except ValueError:
                pass
        epochs.append(e)
    if rc != 0:
        rec["status"] = f"failed (exit {rc})"
        errs = [l for l in text.splitlines() if '"level":"error"' in l.replace(" ", "")
                or l.startswith("maestro:")] or [l for l in text.splitlines() if l.strip()]
        if errs:
            rec["error"] = errs[-1][:300]
        return rec
    if not epochs:
        rec["status"] = "no samples/s in log"
        return rec
    last = max(epochs, key=lambda e: e.get("epoch", 0)) if any("epoch" in e for e in epochs) \
        else epochs[-1]
    rec.update(status="ok", samples_per_s=last["samples_per_s"], log_msg=last["msg"],
               records_with_samples_per_s=len(epochs))
    for k in ("allreduce_share", "loss", "epoch", "epochs"):
        if k in last:
            rec[k] = last[k]
    return rec

def fmt(v, unit=""):
    return "-" if v is None else f"{v:,.0f}{unit}"

def report(results, cmdline):
    rs = {}
    for line in open(results):
        if line.strip():
            r = json.loads(line)
            rs[r["run"]] = r
    mach = rs.get("machine", {})
    def sps(run):
        r = rs.get(run)
        return r.get("samples_per_s") if r and r.get("status", "ok") == "ok" else None
    def status(run):
        r = rs.get(run)
        if r is None:
            return "not run"
        return r.get("status", "ok")
    g = rs.get("gemm_bound", {})
    bound = g.get("samples_per_s") if g.get("status", "ok") == "ok" else None
    L = []
    L.append("## Training throughput: Maestro vs PyTorch CPU\n")
    L.append(f"MLP 128-256-256-10 ReLU, SGD momentum 0.9, global batch 256, "
             f"{int(mach.get('rows', 0)):,} x 128 rows, 10 classes; one warm-up epoch, one timed epoch.\n")
    L.append("| run | threads | samples/s | share of 1-thread GEMM bound | allreduce share |")
    L.append("|---|---|---:|---:|---:|")
    if bound:
        L.append(f"| GEMM-step bound (cblas_sgemm, step shapes, {g.get('gflops', 0):.1f} GFLOP/s) "
                 f"| BLAS 1 | {fmt(bound)} | 100% | - |")
    else:
        L.append(f"| GEMM-step bound | BLAS 1 | {status('gemm_bound')} | - | - |")
    rows = [("pytorch-1t", "PyTorch 1 thread", "OMP 1, BLAS 1"),
            ("pytorch-2t-best", "PyTorch best 2 threads", "OMP 1, BLAS 2"),
            ("pytorch-2t-naive", "PyTorch naive 2 threads", "OMP 2, BLAS 2"),
            ("pytorch-ddp-2x1", "PyTorch DDP gloo 2 x 1", "2 procs x (OMP 1, BLAS 1)"),
            ("maestro-np1", "Maestro 1 rank", "1 rank x BLAS 1"),
            ("maestro-np2", "Maestro 2 ranks", "2 ranks x BLAS 1")]
    for run, label, th in rows:
        if run not in rs:
            continue
        v = sps(run)
        share = f"{v / bound:.0%}" if v and bound else "-"
        ar = rs[run].get("allreduce_share")
        ar = f"{ar:.1%}" if ar is not None else "-"
        L.append(f"| {label} | {th} | {fmt(v) if v else status(run)} | {share} | {ar} |")
    L.append("")
    L.append("| target | measured | goal | met |")
    L.append("|---|---:|---:|:-:|")
    m1, m2 = sps("maestro-np1"), sps("maestro-np2")
    targets = [("Maestro 1 rank / PyTorch 1 thread", m1, sps("pytorch-1t"), 1.15),
               ("Maestro 1 rank / GEMM-step bound", m1, bound, 0.80),
               ("Maestro 2 ranks / Maestro 1 rank", m2, m1, 1.6),
               ("Maestro 2 ranks / PyTorch DDP 2 x 1", m2, sps("pytorch-ddp-2x1"), 2.5),
               ("Maestro 2 ranks / PyTorch best 2 threads", m2, sps("pytorch-2t-best"), 1.0)]
    for label, a, b, goal in targets:
        if a and b:
            r = a / b
            L.append(f"| {label} | {r:.2f}x | >= {goal:.2f}x | {'yes' if r >= goal else 'no'} |")
        else:
            L.append(f"| {label} | - | >= {goal:.2f}x | - |")
    p1 = sps("pytorch-1t")
    if p1 and bound:
        L.append(f"\nFor reference, PyTorch 1 thread runs at {p1 / bound:.0%} of the GEMM-step "
                 f"bound; the 1.15x target asks Maestro for {1.15 * p1 / bound:.0%} of it.")
    L.append("")
    L.append(f"Machine: {mach['cpu']}, {mach['cores']} cores ({mach['cpus']} CPUs online); "
             f"{g.get('blas', 'OpenBLAS')}; PyTorch {mach.get('torch', '?')}; "
             f"Maestro {mach['commit']}; {mach['date']}.  ")
    L.append(f"Command: `{cmdline}`; raw results: `{results}`.")
    return "\n".join(L)

if __name__ == "__main__":
    if sys.argv[1] == "maestro":
        print(json.dumps(maestro_record(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                        sys.argv[5])))
    elif sys.argv[1] == "report":
        print(report(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "tag":  # add run name (and status) to a peer's JSON line on stdin
        line = [l for l in sys.stdin.read().splitlines() if l.strip().startswith("{")]
        rec = json.loads(line[-1]) if line else {}
        rec = {"run": sys.argv[2], **rec}
        rc = int(sys.argv[3])
        rec["status"] = "ok" if rc == 0 and "samples_per_s" in rec else \
            ("timed out" if rc in (124, 137) else f"failed (exit {rc})")
        print(json.dumps(rec))
PY
pyhelper() { "$py" -c "$PYHELPER" "$@"; }

# ---- setup ----------------------------------------------------------------------------------
step "dependencies"
scripts/install-deps.sh
scripts/install-bench-deps.sh

step "build ($build)"
[[ -f "$build/CMakeCache.txt" ]] || cmake -S . -B "$build" >&2
cmake --build "$build" --target maestro gemm_bound -j"$(nproc)" >&2 ||
    { echo "train_throughput: the build in $build failed; nothing measured" >&2; exit 1; }

mkdir -p "$out/logs"
results="$out/results.jsonl"
: >"$results"

step "data: $rows x 128, 10 classes -> $out/synth.h5"
"$maestro" data synth --rows "$rows" --features 128 --classes 10 -o "$out/synth.h5" >&2

# run NAME CMD...: one timed-out-able run, stdout and stderr kept; returns its exit status.
run() {
    local name=$1
    shift
    step "$name: $*"
    local rc=0
    timeout --kill-after=10 "$limit" "$@" >"$out/logs/$name.out" 2>"$out/logs/$name.err" || rc=$?
    [[ $rc -eq 0 ]] || echo "   $name: exit $rc (see $out/logs/$name.err)" >&2
    return $rc
}

# ---- 1. the GEMM-step bound -----------------------------------------------------------------
rc=0
run gemm_bound env OPENBLAS_NUM_THREADS=1 "$build/gemm_bound" || rc=$?
pyhelper tag gemm_bound "$rc" <"$out/logs/gemm_bound.out" >>"$results"

# ---- 2. the PyTorch peers -------------------------------------------------------------------
peer() { # NAME OMP BLAS [ARGS...]
    local name=$1 omp=$2 blas=$3 rc=0
    shift 3
    run "$name" env OMP_NUM_THREADS="$omp" OPENBLAS_NUM_THREADS="$blas" \
        "$py" bench/peers/torch_mlp.py --data "$out/synth.h5" "$@" || rc=$?
    pyhelper tag "$name" "$rc" <"$out/logs/$name.out" >>"$results"
}
peer pytorch-1t 1 1
peer pytorch-2t-best 1 2
[[ "${BENCH_NAIVE:-0}" == 1 ]] && peer pytorch-2t-naive 2 2
peer pytorch-ddp-2x1 1 1 --ddp --nproc 2

# ---- 3. Maestro -----------------------------------------------------------------------------
for np in 1 2; do
    rc=0
    rm -rf "$out/maestro-np$np"
    run "maestro-np$np" env OPENBLAS_NUM_THREADS=1 \
        mpirun -np "$np" --oversubscribe "${mpirun_extra[@]}" \
        "$maestro" run bench/train_throughput.yml --log-format json \
        --set "data.path=$out/synth.h5" --output "$out/maestro-np$np" || rc=$?
    cat "$out/logs/maestro-np$np.out" "$out/logs/maestro-np$np.err" >"$out/logs/maestro-np$np.log"
    pyhelper maestro "maestro-np$np" "$np" "$rc" "$out/logs/maestro-np$np.log" >>"$results"
done

# ---- report ---------------------------------------------------------------------------------
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
sockets=$(lscpu | sed -n 's/^Socket(s):[[:space:]]*//p' | head -1)
per=$(lscpu | sed -n 's/^Core(s) per socket:[[:space:]]*//p' | head -1)
torchv=$("$py" -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "?")
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
"$py" -c 'import json, sys
m = dict(zip(["cpu", "sockets", "cores_per_socket", "cpus", "torch", "commit", "date", "rows"],
             sys.argv[1:]))
m["cores"] = int(m["sockets"]) * int(m["cores_per_socket"])
print(json.dumps({"run": "machine", **m}))' \
    "${cpu:-unknown}" "${sockets:-1}" "${per:-$(nproc)}" "$(nproc)" "$torchv" "$commit" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$rows" >>"$results"

pyhelper report "$results" "$cmdline" | tee "$out/report.md"
