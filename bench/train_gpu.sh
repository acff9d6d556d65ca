#!/usr/bin/env bash
# train_gpu.sh - GPU training throughput of Maestro against PyTorch on the same GPU (issue 8).
#
# Workload: 2,000,000 x 512 synthetic rows, 10 classes, MLP 512-1024-1024-10 ReLU, SGD momentum
# 0.9 lr 0.05, global batch 4096, fp32 (no TF32), one GPU. Runs, one after another (each
# figure is a throughput of the whole GPU, so nothing runs beside them):
#   1. gemm_gpu_bound: cublasSgemm at one step's 8 GEMM shapes (bench/gemm_gpu_bound.cu), the
#      fp32 SGEMM rate Maestro's achieved TFLOP/s is measured against;
#   2. the PyTorch peer (bench/peers/torch_train_gpu.py), eager fp32, no torch.compile, once
#      per feed mode: host (pinned host data, double-buffered copies: what Maestro does) and
#      device (the dataset on the GPU, the fastest a PyTorch user gets); warm-up steps, then
#      one epoch's worth of steps timed;
#   3. Maestro at 1 rank, device cuda (bench/train_gpu.yml): two epochs, the first a warm-up,
#      the second timed (its epoch-end progress record carries the samples/s).
# Achieved TFLOP/s = the GEMM FLOP per sample (from gemm_gpu_bound's JSON) x samples/s; the
# targets are Maestro >= 1.0x PyTorch and >= 50% of the SGEMM rate.
#
# Nothing is built here (the GPU machine may have no compilers): the binaries come from the
# environment. The dataset (4 GB at full size) goes OUTSIDE the output folder, to
# $DATA_DIR/train-gpu-synth-<rows>.h5, and is reused when it is already there (Maestro writes it
# atomically, so a file that exists is complete); DATA=path uses a given dataset instead.
# `maestro data synth` writes from rank 0 only, so it runs on 1 rank: more ranks would not help.
# Raw results, one JSON object a line, go to $OUT/results.jsonl, logs to $OUT/logs/; the
# Markdown table (samples/s, TFLOP/s, ratios to the targets, machine, command) goes to stdout
# and $OUT/report.md. A run that fails is a row "failed (exit N)"; the script exits non-zero
# only when the setup fails (no maestro, no python with torch and h5py, no dataset).
#
# usage: bench/train_gpu.sh [OUT]      (default out/bench/train-gpu-<time>)
# env:   MAESTRO (build/maestro), GEMM_GPU (build/gemm_gpu_bound), PY (python3),
#        MPIRUN (mpirun), MPIRUN_ARGS (extra mpirun words), ROWS (2000000), DATA (a dataset to
#        use instead of synthesizing), DATA_DIR (${TMPDIR:-/tmp}), EPOCHS (Maestro, 2),
#        PEER_WARMUP (50 steps), FEEDS ("host device"), GEMM_REPS (50),
#        BENCH_TIMEOUT_S (per run, 600)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmdline="bench/train_gpu.sh $*"
out=${1:-out/bench/train-gpu-$(date -u +%Y%m%dT%H%M%SZ)}
maestro=${MAESTRO:-build/maestro}
gemm_gpu=${GEMM_GPU:-build/gemm_gpu_bound}
py=${PY:-python3}
mpirun=${MPIRUN:-mpirun}
rows=${ROWS:-2000000}
data_dir=${DATA_DIR:-${TMPDIR:-/tmp}}
epochs=${EPOCHS:-2}
peer_warmup=${PEER_WARMUP:-50}
feeds=${FEEDS:-host device}
gemm_reps=${GEMM_REPS:-50}
limit=${BENCH_TIMEOUT_S:-600}
batch=4096
features=512
classes=10
layers="$features,1024,1024,$classes"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
# shellcheck disable=SC2206 # MPIRUN_ARGS is a list of words on purpose
mpirun_extra=(${MPIRUN_ARGS:-})

step() { printf '== %s\n' "$*" >&2; }
die() {
    echo "train_gpu: $*" >&2
    exit 1
}

# ---- the Python half: Maestro's log parser and the report -----------------------------------
read -r -d '' PYHELPER <<'PY' || true
import json, re, sys

SPS = re.compile(r"([0-9][0-9,]*(?:\.[0-9]+)?)\s*([kKM]?)\s*samples/s")

def maestro_record(name, rc, log_path):
    """One results.jsonl record from a Maestro run's exit status and its log (JSON lines,
    human lines tolerated). Rank 0 logs a progress record at each epoch's end and every 10 s
    whose msg holds 'N samples/s' (the epoch's samples over its wall time so far); the
    epoch-end one (it carries train_loss or a val_ metric) of the last epoch is the timed
    figure. A record with a numeric samples_per_second field is taken as is."""
    rec = {"run": name, "ranks": 1, "exit_code": rc, "log": log_path}
    try:
        text = open(log_path, errors="replace").read()
    except OSError:
        text = ""
    if rc == 2 and "not built" in text:
        rec["status"] = "not built yet"
        return rec
    found = []
    for line in text.splitlines():
        msg, obj = line, {}
        s = line.strip()
        if s.startswith("{"):
            try:
                obj = json.loads(s)
                msg = str(obj.get("msg", ""))
            except ValueError:
                obj = {}
        v = None
        for k in ("samples_per_second", "samples_per_s"):
            if isinstance(obj.get(k), (int, float)):
                v = float(obj[k])
        m = SPS.search(msg)
        if v is None and m:
            v = float(m.group(1).replace(",", ""))
            v *= {"k": 1e3, "K": 1e3, "M": 1e6}.get(m.group(2), 1)
        if v is None:
            continue
        e = {"samples_per_s": v, "msg": msg,
             "epoch_end": bool(re.search(r"\b(train_loss|val_\w+)\s", msg))}
        m = re.search(r"epoch\s+(\d+)\s*/\s*(\d+)", msg)
        if m:
            e["epoch"], e["epochs"] = int(m.group(1)), int(m.group(2))
        m = re.search(r"step\s+(\d+)\s*/\s*(\d+)", msg)
        if m:
            e["step"], e["steps"] = int(m.group(1)), int(m.group(2))
        m = re.search(r"\bloss\s+([0-9.eE+-]+)", msg)
        if m:
            try:
                e["loss"] = float(m.group(1))
            except ValueError:
                pass
        found.append(e)
    if rc != 0:
        rec["status"] = "timed out" if rc in (124, 137) else f"failed (exit {rc})"
        lines = text.splitlines()
        errs = [l for l in lines if '"level":"error"' in l.replace(" ", "")
                or l.startswith("maestro:")] or [l for l in lines if l.strip()]
        if errs:
            rec["error"] = errs[-1][:300]
        return rec
    if not found:
        rec["status"] = "no samples/s in log"
        return rec
    ends = [e for e in found if e["epoch_end"]] or found
    last = max(ends, key=lambda e: (e.get("epoch", 0), e.get("step", 0)))
    rec.update(status="ok", samples_per_s=last["samples_per_s"], log_msg=last["msg"],
               timed="epoch end" if last["epoch_end"] else "last progress record")
    for k in ("loss", "epoch", "epochs", "step", "steps"):
        if k in last:
            rec[k] = last[k]
    return rec

def tag(name, rc):
    """Adds the run name and a status to a program's last JSON line on stdin."""
    lines = [l for l in sys.stdin.read().splitlines() if l.strip().startswith("{")]
    try:
        rec = json.loads(lines[-1]) if lines else {}
    except ValueError:
        rec = {}
    rec = {"run": name, **rec, "exit_code": rc}
    if "samples_per_second" in rec:
        rec["samples_per_s"] = rec["samples_per_second"]
    ok = rc == 0 and ("samples_per_s" in rec or "tflops" in rec)
    rec["status"] = "ok" if ok else "skipped (no GPU)" if rc == 77 else \
        "timed out" if rc in (124, 137) else f"failed (exit {rc})"
    return rec

def report(results, cmdline):
    rs = {}
    for line in open(results):
        if line.strip():
            r = json.loads(line)
            rs[r["run"]] = r
    mach = rs.get("machine", {})
    def ok(run):
        r = rs.get(run)
        return r is not None and r.get("status") == "ok"
    def sps(run):
        return rs[run].get("samples_per_s") if ok(run) else None
    def status(run):
        return rs[run].get("status", "?") if run in rs else "not run"
    g = rs.get("gemm_gpu_bound", {})
    sgemm = g.get("tflops") if ok("gemm_gpu_bound") else None
    fps = g.get("flops_per_sample") if ok("gemm_gpu_bound") else None
    if not fps and mach.get("layers"):  # no SGEMM run: the same sum from the widths
        w = [int(x) for x in mach["layers"].split(",")]
        pairs = list(zip(w, w[1:]))
        fps = 2 * (2 * sum(a * b for a, b in pairs) + sum(a * b for a, b in pairs[1:]))
    def tflops(v):
        return v * fps * 1e-12 if v and fps else None
    L = ["## GPU training throughput: Maestro vs PyTorch on one GPU\n"]
    L.append(f"MLP {mach.get('layers', '?').replace(',', '-')} ReLU, SGD momentum 0.9 lr 0.05, "
             f"global batch {mach.get('batch', '?')}, fp32 (no TF32), "
             f"{int(mach.get('rows', 0)):,} x {mach.get('features', '?')} rows, "
             f"{mach.get('classes', '?')} classes. GEMM FLOP per sample "
             f"{fps:,.0f}.\n" if fps else "GEMM FLOP per sample: unknown (no SGEMM run).\n")
    L.append("| run | samples/s | achieved TFLOP/s | share of SGEMM rate | timed |")
    L.append("|---|---:|---:|---:|---|")
    if sgemm:
        L.append(f"| cuBLAS SGEMM, the step's GEMMs only ({g.get('gemms_per_step', '?')} "
                 f"products) | {g.get('samples_per_second', 0):,.0f} | {sgemm:.2f} | 100% | "
                 f"{g.get('trials', '?')} trials x {g.get('reps', '?')} steps, median |")
    else:
        L.append(f"| cuBLAS SGEMM step | {status('gemm_gpu_bound')} | - | - | - |")
    runs = [("torch-host", "PyTorch, host feed (pinned, double-buffered)"),
            ("torch-device", "PyTorch, dataset on the GPU"),
            ("maestro-np1", "Maestro, 1 rank, rows cached on the GPU (default)"),
            ("maestro-np1-host", "Maestro, 1 rank, fed from host memory (device_cache: off)")]
    for run, label in runs:
        if run not in rs:
            continue
        v = sps(run)
        t = tflops(v)
        share = f"{t / sgemm:.0%}" if t and sgemm else "-"
        r = rs[run]
        if run.startswith("torch"):
            timed = f"{r.get('steps', '?')} steps after {r.get('warmup_steps', '?')}"
        else:
            timed = f"epoch {r.get('epoch', '?')}/{r.get('epochs', '?')} ({r.get('timed', '')})"
        L.append(f"| {label} | {f'{v:,.0f}' if v else status(run)} | "
                 f"{f'{t:.2f}' if t else '-'} | {share} | {timed if v else '-'} |")
    L.append("")
    L.append("| target | measured | goal | met |")
    L.append("|---|---:|---:|:-:|")
    m = sps("maestro-np1")
    mt = tflops(m)
    targets = [("Maestro (cached) / PyTorch dataset on the GPU", m, sps("torch-device"), 1.0, "x"),
               ("Maestro (host feed) / PyTorch host feed", sps("maestro-np1-host"),
                sps("torch-host"), 1.0, "x"),
               ("Maestro TFLOP/s / cuBLAS SGEMM rate", mt, sgemm, 0.5, "%")]
    for label, a, b, goal, unit in targets:
        if a and b:
            r = a / b
            meas, gl = (f"{r:.2f}x", f">= {goal:.2f}x") if unit == "x" else \
                (f"{r:.0%}", f">= {goal:.0%}")
            L.append(f"| {label} | {meas} | {gl} | {'yes' if r >= goal else 'no'} |")
        else:
            L.append(f"| {label} | - | {'>= %.2fx' % goal if unit == 'x' else '>= %d%%' % (goal * 100)} | - |")
    L.append("")
    L.append(f"Machine: {g.get('device') or mach.get('gpu', '?')} (driver "
             f"{mach.get('driver', '?')}, cuBLAS {g.get('cublas', '?')}), {mach.get('cpu', '?')}, "
             f"{mach.get('cpus', '?')} CPUs; PyTorch {mach.get('torch', '?')}; "
             f"{mach.get('maestro', '?')}, commit {mach.get('commit', '?')}; {mach.get('date', '?')}.  ")
    L.append(f"Command: `{cmdline}`; raw results: `{results}`.")
    return "\n".join(L)

if __name__ == "__main__":
    if sys.argv[1] == "maestro":
        print(json.dumps(maestro_record(sys.argv[2], int(sys.argv[3]), sys.argv[4])))
    elif sys.argv[1] == "report":
        print(report(sys.argv[2], sys.argv[3]))
    elif sys.argv[1] == "tag":
        print(json.dumps(tag(sys.argv[2], int(sys.argv[3]))))
PY
pyhelper() { "$py" -c "$PYHELPER" "$@"; }

# ---- setup: the binaries, python, the dataset -----------------------------------------------
step "setup"
[[ -x "$maestro" ]] || die "MAESTRO=$maestro is not an executable (build it, or set MAESTRO)"
command -v "$mpirun" >/dev/null || die "MPIRUN=$mpirun not found (Open MPI; scripts/gpu-unpack.sh installs one)"
command -v "$py" >/dev/null || die "PY=$py not found"
"$py" -c 'import torch, h5py, numpy' 2>/dev/null ||
    die "$py cannot import torch, h5py and numpy; set PY to a python that can"
[[ "$rows" =~ ^[0-9]+$ && "$rows" -ge "$batch" ]] || die "ROWS=$rows: need an integer >= $batch"
[[ "$epochs" =~ ^[1-9][0-9]*$ ]] || die "EPOCHS=$epochs: need an integer >= 1"
[[ -x "$gemm_gpu" ]] || echo "train_gpu: GEMM_GPU=$gemm_gpu is not an executable; the SGEMM" \
    "rate and every TFLOP/s figure will be missing" >&2

mkdir -p "$out/logs"
results="$out/results.jsonl"
: >"$results"

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

if [[ -n "${DATA:-}" ]]; then
    data=$DATA
    [[ -f "$data" ]] || die "DATA=$data: no such file"
    rows=$("$py" -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r")["X"].shape[0])' "$data") ||
        die "DATA=$data: cannot read /X"
    step "data: $data (given, $rows rows)"
else
    mkdir -p "$data_dir"
    data="$data_dir/train-gpu-synth-$rows.h5"
    if [[ -f "$data" ]]; then
        step "data: $data (already there, reused)"
    else
        step "data: $rows x $features, $classes classes -> $data"
        s0=$(date +%s)
        "$mpirun" -np 1 "${mpirun_extra[@]}" "$maestro" data synth --rows "$rows" \
            --features "$features" --classes "$classes" -o "$data" >&2 ||
            die "maestro data synth failed; nothing measured"
        echo "   synthesized in $(($(date +%s) - s0)) s" >&2
    fi
fi

# ---- 1. the SGEMM rate at the step's shapes --------------------------------------------------
rc=0
if [[ -x "$gemm_gpu" ]]; then
    run gemm_gpu_bound "$gemm_gpu" --batch "$batch" --layers "$layers" --reps "$gemm_reps" || rc=$?
else
    rc=127
    echo "{}" >"$out/logs/gemm_gpu_bound.out"
fi
pyhelper tag gemm_gpu_bound "$rc" <"$out/logs/gemm_gpu_bound.out" >>"$results"

# ---- 2. the PyTorch peer, per feed mode -----------------------------------------------------
for feed in $feeds; do
    rc=0
    run "torch-$feed" "$py" bench/peers/torch_train_gpu.py --data "$data" --feed "$feed" \
        --batch "$batch" --hidden 1024,1024 --lr 0.05 --momentum 0.9 --seed 42 \
        --warmup-steps "$peer_warmup" || rc=$?
    pyhelper tag "torch-$feed" "$rc" <"$out/logs/torch-$feed.out" >>"$results"
done

# ---- 3. Maestro: rows cached on the device (the default when they fit), then fed from host
# memory (data.device_cache: off), the like-for-like pair of the two PyTorch feeds -----------
for mode in np1:auto np1-host:off; do
    name=maestro-${mode%%:*}
    rc=0
    rm -rf "${out:?}/$name"
    run "$name" "$mpirun" -np 1 "${mpirun_extra[@]}" "$maestro" run bench/train_gpu.yml \
        --log-format json --set "data.path=$data" --set "training.epochs=$epochs" \
        --set "data.device_cache=${mode#*:}" --output "$out/$name" || rc=$?
    cat "$out/logs/$name.out" "$out/logs/$name.err" >"$out/logs/$name.log"
    pyhelper maestro "$name" "$rc" "$out/logs/$name.log" >>"$results"
done

# ---- report ---------------------------------------------------------------------------------
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
gpu=$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | sed -n 1p || true)
torchv=$("$py" -c 'import torch; print(f"{torch.__version__} (CUDA {torch.version.cuda})")' \
    2>/dev/null || echo "?")
mver=$("$maestro" version 2>/dev/null | sed -n 1p || true)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [[ "$commit" != unknown ]] && ! git diff --quiet HEAD 2>/dev/null; then
    commit="$commit+dirty"
fi
"$py" -c 'import json, sys
keys = ["cpu", "cpus", "gpu", "torch", "maestro", "commit", "date", "rows", "features",
        "classes", "batch", "layers"]
m = dict(zip(keys, sys.argv[1:]))
name, _, drv = m["gpu"].partition(",")
m["gpu"], m["driver"] = name.strip() or "?", drv.strip() or "?"
print(json.dumps({"run": "machine", **m}))' \
    "${cpu:-unknown}" "$(nproc)" "${gpu:-}" "$torchv" "${mver:-maestro ?}" "$commit" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$rows" "$features" "$classes" "$batch" "$layers" \
    >>"$results"

pyhelper report "$results" "$cmdline" | tee "$out/report.md"
