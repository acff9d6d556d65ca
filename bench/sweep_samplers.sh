#!/usr/bin/env bash
# sweep_samplers.sh - sweep sampler quality and controller overhead, Maestro against Optuna.
#
# Quality: Branin and Hartmann6, TRIALS (50) trials x SEEDS (20) seeds (0..19), sequential, for
# Maestro TPE, Maestro random, Optuna 3.1 TPESampler and RandomSampler with default settings
# (bench/peers/optuna_samplers.py on Debian's python3-optuna): mean, std and median of the best
# value, mean regret (best - known minimum) and its standard error (std / sqrt(seeds)): with 20
# seeds a gap of one or two standard errors between two samplers is seed noise; SEEDS=1000 runs
# the same comparison over seeds 0..999. Overhead: OVERHEAD_TRIALS (2000) trials on
# OVERHEAD_OBJECTIVE (branin), one seed, trials/s of the whole loop (suggest, objective, tell).
# Maestro's figures here are the sampler alone, without a journal: bench/sweep.sh measures a
# real sweep's controller (`maestro run`, its journal written before every event is acted on)
# against Optuna in memory and on its JournalFileStorage.
# Raw JSON lines go to $OUT/results.jsonl, the Markdown table to stdout and $OUT/report.md.
#
# usage: bench/sweep_samplers.sh [OUT]     (default out/bench/sweep-samplers-<time>)
# env:   BUILD (default build), TRIALS, SEEDS, OVERHEAD_TRIALS, OVERHEAD_OBJECTIVE
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-out/bench/sweep-samplers-$(date -u +%Y%m%dT%H%M%SZ)}
build=${BUILD:-build}
trials=${TRIALS:-50}
seeds=${SEEDS:-20}
otrials=${OVERHEAD_TRIALS:-2000}
oobj=${OVERHEAD_OBJECTIVE:-branin}
py=/usr/bin/python3 # Debian's interpreter: the one that sees python3-optuna
driver="$build/sweep_samplers"
mkdir -p "$out"
res="$out/results.jsonl"
: >"$res"

step() { printf '== %s\n' "$*" >&2; }

[ -x "$driver" ] || { echo "sweep_samplers.sh: build $driver first (cmake --build $build)" >&2; exit 2; }
have_optuna=1
"$py" -c 'import optuna' 2>/dev/null || { have_optuna=0; echo "sweep_samplers.sh: no python3-optuna (scripts/install-deps.sh bench); peer rows skipped" >&2; }

for obj in branin hartmann6; do
  for smp in tpe random; do
    step "quality maestro $smp $obj"
    "$driver" "$smp" "$obj" "$trials" "$seeds" | sed 's/}$/, "kind": "quality"}/' >>"$res"
    if [ $have_optuna = 1 ]; then
      step "quality optuna $smp $obj"
      "$py" bench/peers/optuna_samplers.py "$smp" "$obj" "$trials" "$seeds" |
        sed 's/}$/, "kind": "quality"}/' >>"$res"
    fi
  done
done
for smp in tpe random; do
  step "overhead maestro $smp $oobj $otrials"
  "$driver" "$smp" "$oobj" "$otrials" 1 | sed 's/}$/, "kind": "overhead"}/' >>"$res"
done
if [ $have_optuna = 1 ]; then
  step "overhead optuna tpe $oobj $otrials"
  "$py" bench/peers/optuna_samplers.py tpe "$oobj" "$otrials" 1 | sed 's/}$/, "kind": "overhead"}/' >>"$res"
fi

"$py" - "$res" "$trials" "$seeds" "$otrials" "$oobj" <<'PY' | tee "$out/report.md"
import json, platform, statistics as st, sys, os
res, trials, seeds, otrials, oobj = sys.argv[1:6]
rows = [json.loads(l) for l in open(res)]
opt = {"branin": 0.397887357729739, "hartmann6": -3.32236801141551}
print(f"Sampler quality: {trials} trials x {seeds} seeds (best value; regret = best - global min)\n")
print("| objective | sampler | mean best | std | median | mean regret | se |")
print("|---|---|---:|---:|---:|---:|---:|")
for obj in ("branin", "hartmann6"):
    for impl, smp in (("maestro", "tpe"), ("optuna", "tpe"), ("maestro", "random"), ("optuna", "random")):
        v = [r["best"] for r in rows if r["kind"] == "quality" and r["impl"] == impl
             and r["sampler"] == smp and r["objective"] == obj]
        if not v:
            continue
        print(f"| {obj} | {impl} {smp} | {st.mean(v):.3f} | {st.stdev(v):.3f} | "
              f"{st.median(v):.3f} | {st.mean(v) - opt[obj]:.3f} | {st.stdev(v) / len(v) ** 0.5:.3f} |")
print(f"\nController overhead: {otrials} trials of {oobj}, sequential, no journal yet\n")
print("| sampler | seconds | trials/s | vs Optuna TPE |")
print("|---|---:|---:|---:|")
ov = {(r["impl"], r["sampler"]): r for r in rows if r["kind"] == "overhead"}
base = ov.get(("optuna", "tpe"))
for key in (("maestro", "tpe"), ("maestro", "random"), ("optuna", "tpe")):
    r = ov.get(key)
    if not r:
        continue
    rate = r["trials"] / r["seconds"]
    ratio = f"{rate / (base['trials'] / base['seconds']):.1f}x" if base else "-"
    print(f"| {key[0]} {key[1]} | {r['seconds']:.3f} | {rate:.0f} | {ratio} |")
print(f"\nMachine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}; "
      f"command: bench/sweep_samplers.sh")
PY
