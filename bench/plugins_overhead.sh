#!/usr/bin/env bash
# plugins_overhead.sh - what reporting to the platform costs a training run: throughput with the
# prometheus, loki and mlflow plugins on (services on 127.0.0.1) against all plugins off.
#
# Workload: the training benchmark's (bench/train_throughput.yml): 200,000 x 128 synthetic rows,
# 10 classes, MLP 128-256-256-10 ReLU, SGD momentum 0.9, global batch 256, one warm-up epoch and
# one timed epoch, 2 ranks x 1 BLAS thread. "on" adds
#   plugins: [prometheus, loki, {name: mlflow, experiment: plugins-overhead}]
# with cluster.yml pointing at a real Pushgateway (scripts/services/pushgateway.sh), the Loki fake
# (tests/fakes/loki_fake.py) and a real MLflow server (scripts/services/mlflow.sh), all started
# here and stopped on exit; "off" runs the spec as it is (no plugins). The two alternate, PAIRS
# times, first on-off then off-on, so a drift of the machine falls on both. The figure is the
# timed epoch's samples/s from rank 0's progress line; the verdict is on the median of the
# pairs' on/off ratios (target: >= 0.98, i.e. at most 2% slower).
#
# Each "on" run is also checked for delivery: nothing left in its spool, no warning logged.
# Raw results go to $OUT/results.jsonl, logs to $OUT/logs/; the Markdown report goes to stdout
# and $OUT/report.md.
#
# usage: bench/plugins_overhead.sh [OUT]      (default out/bench/plugins-overhead-<time>)
# env:   BUILD (default build), ROWS (default 200000), PAIRS (default 10),
#        BENCH_TIMEOUT_S (per run, default 600), MPIRUN_ARGS (extra mpirun arguments)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cmdline="bench/plugins_overhead.sh $*"
out=${1:-out/bench/plugins-overhead-$(date -u +%Y%m%dT%H%M%SZ)}
build=${BUILD:-build}
rows=${ROWS:-200000}
pairs=${PAIRS:-10}
limit=${BENCH_TIMEOUT_S:-600}
py=/usr/bin/python3
maestro="$build/maestro"

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export MAESTRO_PLUGIN_PATH="$root/$build/plugins"
unset MAESTRO_CLUSTER MLFLOW_TRACKING_TOKEN
# shellcheck disable=SC2206 # MPIRUN_ARGS is a list of words on purpose
mpirun_extra=(${MPIRUN_ARGS:-})

step() { printf '== %s\n' "$*" >&2; }

mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
svc="$out/services"
loki_pid=""
cleanup() {
    set +e # stop everything, whatever fails on the way
    [[ -n "$loki_pid" ]] && kill "$loki_pid" 2>/dev/null && wait "$loki_pid" 2>/dev/null
    scripts/services/pushgateway.sh stop "$svc/pg" >/dev/null 2>&1
    scripts/services/mlflow.sh stop "$svc/mlflow" >/dev/null 2>&1
}
trap cleanup EXIT

# ---- the Python half: the log parser and the report -----------------------------------------
read -r -d '' PYHELPER <<'PY' || true
import json, re, statistics, sys

def record(mode, pair, rc, log_path, spooled, svc_cpu0, svc_cpu1):
    """One results.jsonl line: the timed (last) epoch's samples/s from rank 0's JSON log."""
    rec = {"mode": mode, "pair": int(pair), "exit_code": int(rc), "log": log_path,
           "spooled_left": int(spooled),
           "services_cpu_s": round(float(svc_cpu1) - float(svc_cpu0), 2)}
    warns, best = 0, None
    for line in open(log_path, errors="replace"):
        s = line.strip()
        if not s.startswith("{"):
            continue
        try:
            obj = json.loads(s)
        except ValueError:
            continue
        if obj.get("level") in ("warn", "error"):
            warns += 1
        m = re.search(r"epoch (\d+)/(\d+) .*?([0-9.]+) samples/s", str(obj.get("msg", "")))
        if m and int(m.group(1)) == 1:
            rec["warmup_samples_per_s"] = float(m.group(3))
        if m and (best is None or int(m.group(1)) >= best[0]):
            best = (int(m.group(1)), int(m.group(2)), float(m.group(3)))
    rec["warnings"] = warns
    if int(rc) != 0:
        rec["status"] = f"failed (exit {rc})"
    elif not best or best[0] != best[1] or best[0] < 2:
        rec["status"] = "no timed epoch in log"
    else:
        rec.update(status="ok", epoch=best[0], samples_per_s=best[2])
    return rec

def report(results, cmdline):
    rs = [json.loads(l) for l in open(results) if l.strip()]
    mach = next((r for r in rs if r.get("mode") == "machine"), {})
    runs = [r for r in rs if r.get("mode") in ("on", "off")]
    by = {}
    for r in runs:
        by.setdefault(r["pair"], {})[r["mode"]] = r
    L = ["## Plugins overhead: prometheus + loki + mlflow on vs off\n",
         f"Workload of bench/train_throughput.sh: {int(mach.get('rows', 0)):,} x 128 rows, 10 classes, "
         "MLP 128-256-256-10 ReLU, SGD momentum 0.9, global batch 256, 2 ranks x 1 BLAS thread; "
         "samples/s of the timed (second) epoch; the warm-up epoch, which overlaps the MLflow run's "
         "creation, is shown for reference. On: Pushgateway, Loki fake and MLflow server on "
         "127.0.0.1, on the same machine as the ranks.\n",
         "| pair | order | off samples/s | on samples/s | on / off | warm-up epoch off / on | on: spooled left, warnings, services' CPU s |",
         "|---:|---|---:|---:|---:|---:|---|"]
    ratios = []
    for p in sorted(by):
        off, on = by[p].get("off", {}), by[p].get("on", {})
        fo, fn = off.get("samples_per_s"), on.get("samples_per_s")
        ratio = fn / fo if fo and fn else None
        if ratio:
            ratios.append(ratio)
        order = "on, off" if p % 2 == 1 else "off, on"
        L.append(f"| {p} | {order} | {f'{fo:,.0f}' if fo else off.get('status', '-')} | "
                 f"{f'{fn:,.0f}' if fn else on.get('status', '-')} | "
                 f"{f'{ratio:.3f}' if ratio else '-'} | "
                 f"{off.get('warmup_samples_per_s', 0):,.0f} / {on.get('warmup_samples_per_s', 0):,.0f} | "
                 f"{on.get('spooled_left', '-')}, {on.get('warnings', '-')}, "
                 f"{on.get('services_cpu_s', '-')} |")
    offs = [r["samples_per_s"] for r in runs if r["mode"] == "off" and "samples_per_s" in r]
    ons = [r["samples_per_s"] for r in runs if r["mode"] == "on" and "samples_per_s" in r]
    L.append("")
    L.append("| summary | off | on | on / off |")
    L.append("|---|---:|---:|---:|")
    if offs and ons:
        mo, mn = statistics.median(offs), statistics.median(ons)
        L.append(f"| median samples/s | {mo:,.0f} | {mn:,.0f} | {mn / mo:.3f} |")
        L.append(f"| mean samples/s | {statistics.mean(offs):,.0f} | {statistics.mean(ons):,.0f} | "
                 f"{statistics.mean(ons) / statistics.mean(offs):.3f} |")
        L.append(f"| best (least disturbed run) | {max(offs):,.0f} | {max(ons):,.0f} | "
                 f"{max(ons) / max(offs):.3f} |")
        L.append(f"| spread (min-max) | {min(offs):,.0f}-{max(offs):,.0f} | "
                 f"{min(ons):,.0f}-{max(ons):,.0f} | |")
    L.append("")
    clean = all(r.get("spooled_left") == 0 and r.get("warnings") == 0
                for r in runs if r["mode"] == "on")
    if ratios:
        med = statistics.median(ratios)
        met = "yes" if med >= 0.98 else "no"
        L.append("| target | measured | goal | met |")
        L.append("|---|---:|---:|:-:|")
        how = f"{(1 - med) * 100:.1f}% slower" if med <= 1 else f"{(med - 1) * 100:.1f}% faster"
        L.append(f"| plugins on / off, median of {len(ratios)} pairs | {med:.3f} ({how}) "
                 f"| >= 0.980 (at most 2% slower) | {met} |")
        L.append("")
        L.append(f"Pair ratios: {', '.join(f'{r:.3f}' for r in ratios)}. "
                 f"Every 'on' run delivered everything (no spool left, no warning): "
                 f"{'yes' if clean else 'NO: see the table'}.")
    else:
        L.append("No complete pair: nothing to compare (see the logs).")
    L.append("")
    L.append(f"Machine: {mach.get('cpu', '?')}, {mach.get('cpus', '?')} CPUs online; load average "
             f"{mach.get('load_before', '?')} before, {mach.get('load_after', '?')} after; "
             f"Maestro {mach.get('commit', '?')}; {mach.get('date', '?')}.  ")
    L.append(f"Command: `{cmdline}`; raw results: `{results}`.")
    return "\n".join(L)

if __name__ == "__main__":
    if sys.argv[1] == "record":
        print(json.dumps(record(*sys.argv[2:9])))
    elif sys.argv[1] == "report":
        print(report(sys.argv[2], sys.argv[3]))
PY
pyhelper() { "$py" -c "$PYHELPER" "$@"; }

# ---- setup ----------------------------------------------------------------------------------
step "dependencies"
scripts/install-deps.sh

step "build ($build)"
[[ -f "$build/CMakeCache.txt" ]] || cmake -S . -B "$build" >&2
cmake --build "$build" --target maestro maestro-prometheus maestro-loki maestro-mlflow \
    -j"$(nproc)" >&2 ||
    { echo "plugins_overhead: the build in $build failed; nothing measured" >&2; exit 1; }

results="$out/results.jsonl"
: >"$results"

step "data: $rows x 128, 10 classes -> $out/synth.h5"
"$maestro" data synth --rows "$rows" --features 128 --classes 10 -o "$out/synth.h5" >&2

step "services on 127.0.0.1"
pg_port=$(scripts/services/pushgateway.sh start "$svc/pg")
ml_port=$(scripts/services/mlflow.sh start "$svc/mlflow")
# The fake exits when its parent does; its parent is this script.
"$py" tests/fakes/loki_fake.py --port-file "$svc/loki.port" >/dev/null 2>"$svc/loki.err" &
loki_pid=$!
for _ in $(seq 100); do [[ -s "$svc/loki.port" ]] && break; sleep 0.1; done
[[ -s "$svc/loki.port" ]] || { echo "plugins_overhead: the Loki fake did not start" >&2; exit 1; }
loki_port=$(cat "$svc/loki.port")
step "pushgateway :$pg_port, loki fake :$loki_port, mlflow :$ml_port"
cat >"$out/cluster.yml" <<EOF
name: plugins-overhead
services:
  pushgateway: {url: "http://127.0.0.1:$pg_port"}
  loki: {url: "http://127.0.0.1:$loki_port"}
  mlflow: {url: "http://127.0.0.1:$ml_port"}
EOF

# CPU seconds the services have used so far (each runs in its own session: setsid), so that an
# "on" run can say how much of the machine the services themselves took.
svc_cpu() {
    "$py" -c 'import glob, os, sys
sessions, pid = {int(sys.argv[1]), int(sys.argv[2])}, int(sys.argv[3])
ticks = 0
for f in glob.glob("/proc/[0-9]*/stat"):
    try:
        rest = open(f).read().rsplit(")", 1)[1].split()
    except OSError:
        continue
    if int(rest[3]) in sessions or int(f.split("/")[2]) == pid:
        ticks += int(rest[11]) + int(rest[12])  # utime + stime
print("%.2f" % (ticks / os.sysconf("SC_CLK_TCK")))' \
        "$(cat "$svc/pg/PID")" "$(cat "$svc/mlflow/PID")" "$loki_pid"
}

# measure MODE PAIR: one run, its record appended to results.jsonl
measure() {
    local mode=$1 pair=$2 rc=0 name="$1-$2"
    local plugins=()
    [[ "$mode" == on ]] &&
        plugins=(--set 'plugins=[prometheus, loki, {name: mlflow, experiment: plugins-overhead}]')
    rm -rf "${out:?}/$name"
    step "$name"
    local cpu0; cpu0=$(svc_cpu)
    timeout --kill-after=10 "$limit" env OPENBLAS_NUM_THREADS=1 \
        mpirun -np 2 --oversubscribe "${mpirun_extra[@]}" \
        "$maestro" --log-format json run bench/train_throughput.yml --cluster "$out/cluster.yml" \
        --set "data.path=$out/synth.h5" --output "$out/$name" "${plugins[@]}" \
        >"$out/logs/$name.out" 2>"$out/logs/$name.err" || rc=$?
    cat "$out/logs/$name.out" "$out/logs/$name.err" >"$out/logs/$name.log"
    local spooled=0
    [[ -d "$out/$name/spool" ]] &&
        spooled=$(find "$out/$name/spool" -type f ! -name 'delivered-rank*' | wc -l)
    pyhelper record "$mode" "$pair" "$rc" "$out/logs/$name.log" "$spooled" "$cpu0" \
        "$(svc_cpu)" >>"$results"
    [[ $rc -eq 0 ]] || echo "   $name: exit $rc (see $out/logs/$name.err)" >&2
}

# ---- measure: on/off pairs, alternating the order ---------------------------------------------
# The machine's load before and after goes in the report: anything else running on the cores
# moves these figures far more than the plugins do.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for p in $(seq 1 "$pairs"); do
    if ((p % 2 == 1)); then
        measure on "$p"
        measure off "$p"
    else
        measure off "$p"
        measure on "$p"
    fi
done

# ---- report ---------------------------------------------------------------------------------
cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || commit="$commit+dirty"
"$py" -c 'import json, sys
keys = ["mode", "cpu", "cpus", "commit", "date", "rows", "load_before", "load_after"]
print(json.dumps(dict(zip(keys, sys.argv[1:]))))' \
    machine "${cpu:-unknown}" "$(nproc)" "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$rows" \
    "$load_before" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results"

pyhelper report "$results" "$cmdline" | tee "$out/report.md"
