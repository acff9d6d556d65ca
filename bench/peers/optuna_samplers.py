#!/usr/bin/python3
"""optuna_samplers.py - Optuna's TPESampler / RandomSampler on Branin and Hartmann6.

Peer of bench/sweep_samplers.c: same objectives, same box, same trial counts, one JSON line per
seed. Samplers run with their defaults (TPESampler(seed=s), RandomSampler(seed=s)); the study is
optimised with n_jobs=1, so the timing is Optuna's own controller cost per trial. The study is
in memory unless --journal FILE is given: then it lives in Optuna's JournalStorage over a
JournalFileStorage (an append-only log, what Optuna offers for a file on a shared disk), the
peer of a Maestro sweep that journals every event to sweep.h5 (bench/sweep.sh). Each seed gets
FILE.<seed>, removed first; the line then also says the log's size in bytes. Each line has
the loop's wall seconds and its CPU seconds (process time).

usage: optuna_samplers.py [--journal FILE] SAMPLER OBJECTIVE TRIALS SEEDS [FIRST_SEED]
"""
import json
import math
import os
import sys
import time
import warnings

import optuna

A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
     [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]
ALPHA = [1.0, 1.2, 3.0, 3.2]


def branin(trial):
    x0 = trial.suggest_float("x0", -5, 10)
    x1 = trial.suggest_float("x1", 0, 15)
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x1 - b * x0 ** 2 + c * x0 - 6) ** 2 + 10 * (1 - t) * math.cos(x0) + 10


def hartmann6(trial):
    x = [trial.suggest_float(f"x{j}", 0, 1) for j in range(6)]
    return -sum(ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - 1e-4 * P[i][j]) ** 2
                                         for j in range(6))) for i in range(4))


def journal_storage(path):
    # JournalStorage is marked experimental in 3.1; its warning would only clutter the log.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if os.path.exists(path):
        os.remove(path)
    return optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(path))


def main():
    args = sys.argv[1:]
    journal = None
    if args and args[0] == "--journal":
        journal, args = args[1], args[2:]
    sampler_name, objective = args[0], args[1]
    trials, seeds = int(args[2]), int(args[3])
    first = int(args[4]) if len(args) > 4 else 0
    fn = {"branin": branin, "hartmann6": hartmann6}[objective]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for seed in range(first, first + seeds):
        path = f"{journal}.{seed}" if journal else None
        t0, c0 = time.perf_counter(), time.process_time()
        sampler = (optuna.samplers.TPESampler(seed=seed) if sampler_name == "tpe"
                   else optuna.samplers.RandomSampler(seed=seed))
        storage = journal_storage(path) if path else None
        study = optuna.create_study(sampler=sampler, storage=storage)
        study.optimize(fn, n_trials=trials)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        # CPU seconds beside wall seconds: on a shared machine the CPU figure is the steadier one
        rec = {"impl": "optuna", "sampler": sampler_name, "objective": objective,
               "seed": seed, "trials": trials, "best": study.best_value, "seconds": dt,
               "cpu_seconds": cpu, "storage": "journal" if path else "memory"}
        if path:
            rec["journal_bytes"] = os.path.getsize(path)
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
