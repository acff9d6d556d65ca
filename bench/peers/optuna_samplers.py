#!/usr/bin/python3
"""optuna_samplers.py - Optuna's TPESampler / RandomSampler on Branin and Hartmann6.

Peer of bench/sweep_samplers.c: same objectives, same box, same trial counts, one JSON line per
seed. Samplers run with their defaults (TPESampler(seed=s), RandomSampler(seed=s)); the study is
in memory and optimised with n_jobs=1, so the timing is Optuna's own controller cost per trial.

usage: optuna_samplers.py SAMPLER OBJECTIVE TRIALS SEEDS [FIRST_SEED]
"""
import json
import math
import sys
import time

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


def main():
    sampler_name, objective = sys.argv[1], sys.argv[2]
    trials, seeds = int(sys.argv[3]), int(sys.argv[4])
    first = int(sys.argv[5]) if len(sys.argv) > 5 else 0
    fn = {"branin": branin, "hartmann6": hartmann6}[objective]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for seed in range(first, first + seeds):
        t0 = time.perf_counter()
        sampler = (optuna.samplers.TPESampler(seed=seed) if sampler_name == "tpe"
                   else optuna.samplers.RandomSampler(seed=seed))
        study = optuna.create_study(sampler=sampler)
        study.optimize(fn, n_trials=trials)
        dt = time.perf_counter() - t0
        print(json.dumps({"impl": "optuna", "sampler": sampler_name, "objective": objective,
                          "seed": seed, "trials": trials, "best": study.best_value,
                          "seconds": dt}), flush=True)


if __name__ == "__main__":
    main()
