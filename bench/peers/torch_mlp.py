#!/usr/bin/python3
"""torch_mlp.py - the PyTorch CPU peer of bench/train_throughput.sh

Trains the benchmark MLP (128-256-256-10, ReLU, SGD momentum 0.9, lr 0.05, global batch 256)
on a Maestro dataset (/X float32 [n, d], /y int32 [n], read with h5py), one warm-up epoch and
one timed epoch, each epoch shuffled with torch.randperm from a seeded generator. Prints one
JSON line: {peer, omp_threads, blas_threads, samples_per_s, epoch_s, final_loss, ...}.

Threads. Debian's python3-torch does its matrix products in OpenBLAS (pthreads build, its own
thread pool) and everything else in torch's OpenMP pool. The two pools are sized separately,
from OPENBLAS_NUM_THREADS and OMP_NUM_THREADS, and both are fixed when torch is imported; a
run that sets only OMP_NUM_THREADS=2 gets two spinning pools of two threads on two cores. So
this script refuses to start unless both variables are set, checks them before importing
torch, calls torch.set_num_threads(OMP) to match, and reports both, plus the number of threads
OpenBLAS itself says it will use (asked through ctypes from the library torch loaded).

Batches. A step takes the next 256 indices of the epoch's permutation; the last partial batch
is dropped (200,000 rows give 781 steps of 256), as Maestro's trainer does. samples/s counts
the samples of the timed epoch over its wall time, batch gathering included.

--ddp: torch.distributed with gloo, NPROC processes (default 2) started with
torch.multiprocessing.spawn on 127.0.0.1. Every process reads the file, draws the same global
permutation and takes its share of each global batch of 256 the way DistributedSampler splits
indices (rank r takes positions r, r+P, r+2P, ...), so 128 rows per process per step; the
model is wrapped in DistributedDataParallel, which averages gradients, so each step equals one
global-batch-256 step. The epoch time is the slowest rank's; samples/s is the global figure.

usage: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peers/torch_mlp.py \
           --data synth.h5 [--ddp [--nproc 2]] [--seed 42]
"""
import argparse
import json
import os
import socket
import sys
import time


def die(msg, code=2):
    """Bad input or environment: one line on stderr, exit 2 like maestro's bad input."""
    print(f"torch_mlp: {msg}", file=sys.stderr)
    sys.exit(code)


def env_threads(name):
    v = os.environ.get(name)
    if v is None:
        die(f"{name} is not set; set both OMP_NUM_THREADS and "
                 f"OPENBLAS_NUM_THREADS (torch's OpenMP pool and OpenBLAS's own pool) "
                 f"before starting, e.g. OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=2")
    try:
        n = int(v)
    except ValueError:
        n = 0
    if n < 1:
        die(f"{name} must be a positive integer, got '{v}'")
    return n


# Checked at import time on purpose: torch must not be imported before both pools are sized.
OMP_THREADS = env_threads("OMP_NUM_THREADS")
BLAS_THREADS = env_threads("OPENBLAS_NUM_THREADS")
if __name__ == "__main__" and "torch" in sys.modules:
    die("torch was imported before the thread settings were checked")

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402


def blas_threads_effective():
    """Threads OpenBLAS reports, from the copy torch loaded (same soname, same handle)."""
    import ctypes
    for name in ("libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name)
            return int(lib.openblas_get_num_threads())
        except (OSError, AttributeError):
            continue
    return None


def load(path):
    with h5py.File(path, "r") as f:
        X = np.asarray(f["X"][...], dtype=np.float32)
        y = np.asarray(f["y"][...])
    if X.ndim != 2 or y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        die(f"{path}: expected /X [n, d] and integer /y [n] "
                 f"(a classification dataset), got {X.shape} {y.dtype}{y.shape}")
    return torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))


def build(d, hidden, classes):
    layers, prev = [], d
    for h in hidden:
        layers += [nn.Linear(prev, h), nn.ReLU()]
        prev = h
    layers.append(nn.Linear(prev, classes))
    return nn.Sequential(*layers)


def epoch(model, opt, loss_fn, X, y, perm, batch, rank, world):
    """One epoch over full global batches; returns (steps, local rows, last local loss)."""
    steps = perm.numel() // batch
    rows = 0
    loss = None
    for s in range(steps):
        idx = perm[s * batch:(s + 1) * batch]
        if world > 1:
            idx = idx[rank::world]
        xb = X.index_select(0, idx)
        yb = y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        rows += idx.numel()
    return steps, rows, (loss.item() if loss is not None else float("nan"))


def train(args, rank=0, world=1):
    torch.set_num_threads(OMP_THREADS)
    X, y = load(args.data)
    n, d = X.shape
    classes = int(y.max().item()) + 1
    if n < args.batch:
        die(f"{args.data} has {n} rows, fewer than one batch of {args.batch}")
    torch.manual_seed(args.seed)
    model = build(d, args.hidden, classes)
    if world > 1:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP
        model = DDP(model)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(args.seed)  # same on every rank: one global order

    results = []
    for e in range(args.warmup_epochs + 1):
        perm = torch.randperm(n, generator=gen)
        if world > 1:
            dist.barrier()
        t0 = time.perf_counter()
        steps, rows, last = epoch(model, opt, loss_fn, X, y, perm, args.batch, rank, world)
        el = time.perf_counter() - t0
        if world > 1:
            t = torch.tensor([el, last * rows, rows], dtype=torch.float64)
            mx = t[:1].clone()
            dist.all_reduce(mx, op=dist.ReduceOp.MAX)
            dist.all_reduce(t[1:], op=dist.ReduceOp.SUM)
            el, last, rows = mx.item(), (t[1] / t[2]).item(), int(t[2].item())
        results.append((steps, rows, el, last))

    steps, rows, el, last = results[-1]
    out = {
        "peer": "pytorch-ddp-gloo" if world > 1 else "pytorch",
        "omp_threads": OMP_THREADS,
        "blas_threads": BLAS_THREADS,
        "blas_threads_effective": blas_threads_effective(),
        "processes": world,
        "rows_per_process_per_step": args.batch // world,
        "samples_per_s": round(rows / el, 1),
        "epoch_s": round(el, 4),
        "warmup_epoch_s": round(results[0][2], 4) if args.warmup_epochs else None,
        "steps": steps,
        "samples": rows,
        "final_loss": round(last, 6),
        "torch": torch.__version__,
        "data": args.data,
    }
    if rank == 0:
        print(json.dumps(out), flush=True)


def ddp_worker(rank, args, world, port):
    import torch.distributed as dist
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        train(args, rank, world)
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="Maestro dataset (HDF5, /X and /y)")
    p.add_argument("--ddp", action="store_true", help="torch.distributed DDP over gloo")
    p.add_argument("--nproc", type=int, default=2, help="DDP processes (default 2)")
    p.add_argument("--batch", type=int, default=256, help="global batch (default 256)")
    p.add_argument("--hidden", type=lambda s: [int(v) for v in s.split(",")],
                   default=[256, 256], help="hidden widths (default 256,256)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--warmup-epochs", type=int, default=1)
    args = p.parse_args()
    if args.ddp and (args.nproc < 2 or args.batch % args.nproc):
        die(f"--nproc must be >= 2 and divide --batch {args.batch}")
    if not os.path.exists(args.data):
        die(f"{args.data}: no such file")
    if not args.ddp:
        train(args)
        return
    # gloo picks its interface from the host name, which need not resolve in a container;
    # everything here is on one host, so the loopback interface is the right one.
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    import torch.multiprocessing as mp
    mp.spawn(ddp_worker, args=(args, args.nproc, free_port()), nprocs=args.nproc, join=True)


if __name__ == "__main__":
    main()
