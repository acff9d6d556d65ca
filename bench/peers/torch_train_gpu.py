#!/usr/bin/env python3
"""torch_train_gpu.py - the PyTorch GPU peer of bench/train_gpu.sh

Trains the benchmark MLP (512-1024-1024-10, ReLU, SGD momentum 0.9, lr 0.05, global batch
4096, cross-entropy) on a Maestro dataset (/X float32 [n, d], /y int32 [n]; docs/formats.md)
on one GPU: fp32 throughout (TF32 off for matmuls and cuDNN, matmul precision "highest"), no
torch.compile, eager mode as users run it. Each epoch is a fresh permutation from a seeded
generator; a step takes the next `batch` indices of it and the last partial batch of an epoch
is dropped, so every step has the same shapes. Prints one JSON line: {peer, feed,
samples_per_second, steps, final_loss, device, ...}.

Feeding (--feed):
  host    the dataset sits in pinned host memory. Each step gathers the next batch's rows on
          the CPU into one of two pinned staging buffers and copies it to the GPU with
          .to('cuda', non_blocking=True) on a side stream, while the GPU still runs the current
          step: the double-buffered host -> device pipeline Maestro's trainer uses. A staging
          buffer is refilled only after its previous copy has finished (a CUDA event).
  device  the whole dataset is moved to the GPU once; batches are gathered there
          (index_select with a permutation drawn on the GPU).

Timing: --warmup-steps steps first (cuBLAS heuristics, allocator, clocks), then --steps timed
steps (default: one epoch, n // batch); samples/s = steps * batch / wall time of the timed
steps, batch gathering and copies included, loading excluded. The loss is read on the host
(loss.item(), a device synchronisation) once per step, because Maestro reads every step's loss
to stop on NaN/Inf; a peer that never synchronised would measure something Maestro cannot do.

Exit: 0 measured; 1 training diverged; 2 bad input; 77 no CUDA device (nothing measured).
--device cpu exists only to check this script on a machine without a GPU.

usage: python3 bench/peers/torch_train_gpu.py --data synth.h5 --feed host|device
           [--batch 4096] [--hidden 1024,1024] [--lr 0.05] [--momentum 0.9] [--seed 42]
           [--warmup-steps 50] [--steps N]
"""
import argparse
import json
import math
import sys
import time


def die(msg, code=2):
    print(f"torch_train_gpu: {msg}", file=sys.stderr, flush=True)
    sys.exit(code)


def load(path, pin):
    """/X and /y, read straight into (pinned when `pin`) torch tensors; y as int64 for
    cross_entropy."""
    import h5py
    import numpy as np
    import torch
    with h5py.File(path, "r") as f:
        if "X" not in f or "y" not in f:
            die(f"{path}: expected /X and /y (a Maestro dataset, docs/formats.md)")
        dx, dy = f["X"], f["y"]
        if dx.ndim != 2 or dx.dtype != np.float32 or dy.shape != (dx.shape[0],) \
                or not np.issubdtype(dy.dtype, np.integer):
            die(f"{path}: expected /X float32 [n, d] and integer /y [n] (classification), "
                f"got /X {dx.dtype}{dx.shape}, /y {dy.dtype}{dy.shape}")
        n, d = dx.shape
        X = torch.empty((n, d), dtype=torch.float32, pin_memory=pin)
        dx.read_direct(X.numpy())
        y32 = np.empty((n,), dtype=np.int32)
        dy.read_direct(y32)
        classes = int(f.attrs.get("n_classes", 0)) or int(y32.max()) + 1
    y = torch.empty((n,), dtype=torch.int64, pin_memory=pin)
    y.copy_(torch.from_numpy(y32))
    return X, y, classes


def build(d, hidden, classes):
    import torch.nn as nn
    layers, prev = [], d
    for h in hidden:
        layers += [nn.Linear(prev, h), nn.ReLU()]
        prev = h
    layers.append(nn.Linear(prev, classes))
    return nn.Sequential(*layers)


class Order:
    """Batches of indices: each epoch a fresh permutation, partial batches dropped."""

    def __init__(self, n, batch, gen, device):
        self.n, self.batch, self.gen, self.device = n, batch, gen, device
        self.steps_per_epoch = n // batch
        self.perm, self.pos = None, self.steps_per_epoch

    def next(self):
        import torch
        if self.pos == self.steps_per_epoch:
            self.perm = torch.randperm(self.n, generator=self.gen, device=self.device)
            self.pos = 0
        s = self.pos * self.batch
        self.pos += 1
        return self.perm[s:s + self.batch]


class HostFeed:
    """Host-resident data, two pinned staging slots, copies on a side stream."""

    def __init__(self, X, y, batch, dev):
        import torch
        self.X, self.y, self.dev = X, y, dev
        self.cuda = dev.type == "cuda"
        self.bx = [torch.empty((batch, X.shape[1]), dtype=X.dtype, pin_memory=self.cuda)
                   for _ in range(2)]
        self.by = [torch.empty((batch,), dtype=y.dtype, pin_memory=self.cuda) for _ in range(2)]
        self.copied = [None, None]
        self.stream = torch.cuda.Stream() if self.cuda else None
        self.slot = 0

    def stage(self, idx):
        """Gathers rows `idx` on the CPU and starts their copy; returns the device tensors."""
        import torch
        k = self.slot
        self.slot ^= 1
        if self.copied[k] is not None:
            self.copied[k].synchronize()  # the slot's previous copy must be done
        torch.index_select(self.X, 0, idx, out=self.bx[k])
        torch.index_select(self.y, 0, idx, out=self.by[k])
        if not self.cuda:
            return self.bx[k], self.by[k]
        with torch.cuda.stream(self.stream):
            xb = self.bx[k].to(self.dev, non_blocking=True)
            yb = self.by[k].to(self.dev, non_blocking=True)
            ev = torch.cuda.Event()
            ev.record(self.stream)
            self.copied[k] = ev
        return xb, yb

    def take(self, staged):
        """Makes the compute stream wait for a staged batch's copy, then hands it over."""
        import torch
        xb, yb = staged
        if self.cuda:
            cur = torch.cuda.current_stream()
            cur.wait_stream(self.stream)
            xb.record_stream(cur)  # allocated on the side stream, used on this one
            yb.record_stream(cur)
        return xb, yb


class DeviceFeed:
    """The whole dataset on the device; batches gathered there."""

    def __init__(self, X, y):
        self.X, self.y = X, y

    def stage(self, idx):
        return self.X.index_select(0, idx), self.y.index_select(0, idx)

    def take(self, staged):
        return staged


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="Maestro dataset (HDF5, /X and /y)")
    p.add_argument("--feed", choices=("host", "device"), required=True)
    p.add_argument("--batch", type=int, default=4096, help="global batch (default 4096)")
    p.add_argument("--hidden", type=lambda s: [int(v) for v in s.split(",")],
                   default=[1024, 1024], help="hidden widths (default 1024,1024)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--warmup-steps", type=int, default=50)
    p.add_argument("--steps", type=int, default=0, help="timed steps (default: one epoch)")
    p.add_argument("--device", default="cuda", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.batch < 1 or args.warmup_steps < 0 or args.steps < 0:
        die("--batch must be >= 1, --warmup-steps and --steps >= 0")

    import torch
    import torch.nn as nn
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        die("no CUDA device visible to PyTorch "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); nothing measured",
            77)
    # fp32 means fp32: no TF32 in matmuls or convolutions, full-precision float32 matmuls.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if hasattr(torch, "set_float32_matmul_precision"):
        torch.set_float32_matmul_precision("highest")

    t_load = time.perf_counter()
    X, y, classes = load(args.data, pin=dev.type == "cuda" and args.feed == "host")
    n, d = X.shape
    if n < args.batch:
        die(f"{args.data} has {n} rows, fewer than one batch of {args.batch}")
    torch.manual_seed(args.seed)
    if args.feed == "device":
        X, y = X.to(dev), y.to(dev)
        feed = DeviceFeed(X, y)
        gen = torch.Generator(device=dev).manual_seed(args.seed)
        order = Order(n, args.batch, gen, dev)
    else:
        feed = HostFeed(X, y, args.batch, dev)
        gen = torch.Generator().manual_seed(args.seed)
        order = Order(n, args.batch, gen, "cpu")
    if dev.type == "cuda":
        torch.cuda.synchronize()
    load_s = time.perf_counter() - t_load

    model = build(d, args.hidden, classes).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    loss_fn = nn.CrossEntropyLoss()
    steps = args.steps or order.steps_per_epoch
    total = args.warmup_steps + steps

    # The next batch is staged (gathered, copy started) right after the current step's work is
    # queued, so the CPU gather overlaps the GPU's compute; one batch is staged past the end,
    # so the timed window holds exactly `steps` stagings and `steps` updates.
    staged = feed.stage(order.next())
    t0, last = time.perf_counter(), float("nan")
    for s in range(total):
        if s == args.warmup_steps:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
        xb, yb = feed.take(staged)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        staged = feed.stage(order.next())
        # Once per step, like Maestro, which reads every step's loss to stop on NaN/Inf.
        last = loss.item()
        if not math.isfinite(last):
            die(f"loss is {last} at step {s + 1}: training diverged", 1)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - t0

    print(json.dumps({
        "peer": "torch",
        "feed": args.feed,
        "samples_per_second": round(steps * args.batch / elapsed, 1),
        "steps": steps,
        "warmup_steps": args.warmup_steps,
        "batch": args.batch,
        "elapsed_s": round(elapsed, 4),
        "final_loss": round(last, 6),
        "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "allow_tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        "matmul_precision": torch.get_float32_matmul_precision()
        if hasattr(torch, "get_float32_matmul_precision") else None,
        "rows": n,
        "features": d,
        "classes": classes,
        "hidden": args.hidden,
        "load_s": round(load_s, 2),
        "data": args.data,
    }), flush=True)


if __name__ == "__main__":
    main()
