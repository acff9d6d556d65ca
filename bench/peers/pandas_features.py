#!/usr/bin/python3
"""pandas_features.py - the pandas peer of bench/features.sh.

The same 30 windowed features as bench/features_materialize.yml (amount and qty x windows 1h,
1d, 7d x count, sum, mean, max, std) and the same point-in-time join as
bench/features_dataset.yml, on the same files, the fastest way pandas 1.5 offers:

  * materialisation: sort the events once by (entity, event_ts, created_ts); per window, one
    un-grouped rolling over the whole frame with a custom BaseIndexer whose bounds come from
    np.searchsorted on a composite int64 key entity_code * stride + (ts - t0). The bounds give
    Maestro's semantics (docs/spec.md "kind: materialize"): the window of the event at t holds
    the entity's events with t - w < ts <= t, ties included (equal timestamps share features),
    so start = searchsorted(key, key - w, 'right'), end = searchsorted(key, key, 'right'). One
    rolling per (window, aggregation) covers both value columns; groupby().rolling() would do
    the same work per entity in Python-level groups and is several times slower.
  * point-in-time: pd.merge_asof(labels, features, on=ts, by=entity code, direction='backward',
    tolerance=7 days): the latest feature row with ts - 7d <= event_ts <= ts, the last in
    (event_ts, created_ts) order on ties (Feast's rule, and Maestro's kind: dataset).

Times (wall, time.perf_counter) per phase go to stdout as one JSON line; --sample writes the
rows of some entities and some label rows for bench/features.sh to compare with Maestro.
"""
import argparse
import json
import resource
import sys
import time

import h5py
import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

WINDOWS = [("1h", 3600 * 1000), ("1d", 86400 * 1000), ("7d", 7 * 86400 * 1000)]
AGGS = ["count", "sum", "mean", "max", "std"]
COLUMNS = ["amount", "qty"]
TTL_MS = 7 * 86400 * 1000


def feature_names():
    """In the order of bench/features_materialize.yml: column, then window, then aggregation."""
    return [f"{c}_{a}_{w}" for c in COLUMNS for w, _ in WINDOWS for a in AGGS]


class Bounds(BaseIndexer):
    """Precomputed [start, end) of every row's window (int64 arrays)."""

    def get_window_bounds(self, num_values=0, min_periods=None, center=None, closed=None,
                          step=None):
        return self.start, self.end


def load_events(path):
    """The keys (a numpy bytes array: a column of 10M Python bytes objects would cost more
    than everything else) and a frame of the numeric columns."""
    with h5py.File(path, "r") as f:
        keys = f["customer_id"][()]  # fixed-length bytes
        ev = pd.DataFrame({
            "event_ts": f["event_ts"][()],  # epoch ms
            "created_ts": f["created_ts"][()],
            "amount": f["amount"][()],
            "qty": f["qty"][()],
        })
    return keys, ev


def entity_codes(keys):
    """Codes in key order (so the sort below is Maestro's export order) and the unique keys.
    Fixed-width keys of at most 8 bytes are factorized as big-endian integers (same order;
    pandas hashes integers far faster than bytes objects); others as objects."""
    if keys.dtype.kind == "S" and keys.dtype.itemsize <= 8:
        ints = keys.astype("S8").view(">u8").astype(np.uint64)
        codes, uniq = pd.factorize(ints, sort=True)
        return codes, np.asarray(uniq, dtype=np.uint64).astype(">u8").view("S8")
    codes, uniq = pd.factorize(keys.astype(object), sort=True)
    return codes, np.asarray(uniq, dtype="S")


def materialise(keys, ev):
    """Features for every event: returns (sorted events with codes, features DataFrame,
    unique keys, phase times)."""
    t = {}
    t0 = time.perf_counter()
    codes, uniques = entity_codes(keys)
    ev["code"] = codes
    # np.lexsort, not sort_values(["code", "event_ts", "created_ts"]): with several columns
    # pandas factorizes each into a Categorical first, ~5x slower on 10M rows. Same order.
    order = np.lexsort((ev["created_ts"].to_numpy(), ev["event_ts"].to_numpy(), codes))
    ev = ev.take(order).reset_index(drop=True)
    t["sort_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ts = ev["event_ts"].to_numpy()
    t_min, span = int(ts.min()), int(ts.max() - ts.min())
    stride = span + max(w for _, w in WINDOWS) + 1
    if (len(uniques) + 1) * stride >= 2**62:
        raise SystemExit("pandas_features: entity x time key does not fit in int64")
    key = ev["code"].to_numpy(np.int64) * stride + (ts - t_min)
    end = np.searchsorted(key, key, side="right").astype(np.int64)
    values = ev[COLUMNS]
    parts = {}
    for wname, w in WINDOWS:
        start = np.searchsorted(key, key - w, side="right").astype(np.int64)
        roll = values.rolling(Bounds(start=start, end=end), min_periods=0)
        for agg in AGGS:
            out = getattr(roll, agg)()
            for c in COLUMNS:
                parts[f"{c}_{agg}_{wname}"] = out[c].to_numpy()
    feats = pd.DataFrame({name: parts[name] for name in feature_names()})
    t["windows_s"] = time.perf_counter() - t0
    return ev, feats, uniques, t


def point_in_time(ev, feats, uniques, labels_path):
    """merge_asof of the label rows against the feature table; returns (joined, phase times)."""
    t = {}
    t0 = time.perf_counter()
    lab = pd.read_csv(labels_path, dtype={"customer_id": str, "label": str})
    lab["ts"] = pd.to_datetime(lab["event_ts"], format="%Y-%m-%dT%H:%M:%SZ").to_numpy() \
        .astype("datetime64[ms]").astype(np.int64)
    t["labels_read_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # The label keys as the events' codes (-1: an entity without events, never matched).
    lab["code"] = pd.Index(uniques).get_indexer(lab["customer_id"].str.encode("ascii"))
    lab["row"] = np.arange(len(lab))
    left = lab[["ts", "code", "row"]].sort_values("ts", kind="stable")
    # The join needs only (ts, entity, feature row); the 30 feature columns are taken by the
    # matched row afterwards, instead of being sorted and carried through merge_asof. Stable
    # by ts from (entity, ts, created) order: among equal ts the last row has the greatest
    # created_ts, and merge_asof 'backward' takes the last such row (Maestro's tie rule).
    ts = ev["event_ts"].to_numpy()
    by_ts = np.argsort(ts, kind="stable")
    right = pd.DataFrame({"ts": ts[by_ts], "code": ev["code"].to_numpy()[by_ts],
                          "frow": by_ts})
    joined = pd.merge_asof(left, right, on="ts", by="code", direction="backward",
                           tolerance=TTL_MS, allow_exact_matches=True)
    joined = joined.sort_values("row", kind="stable")
    frow = joined["frow"].to_numpy()
    hit = ~np.isnan(frow)
    out = np.full((len(joined), feats.shape[1]), np.nan)
    out[hit] = feats.to_numpy()[frow[hit].astype(np.int64)]
    joined = pd.DataFrame(out, columns=feats.columns)
    t["merge_asof_s"] = time.perf_counter() - t0
    return lab, joined, t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", required=True, help="events table (HDF5, maestro data events)")
    ap.add_argument("--labels", required=True, help="entity rows (CSV, maestro data events)")
    ap.add_argument("--sample", help="write sampled rows here (.npz) for the correctness check")
    ap.add_argument("--sample-entities", type=int, default=300)
    ap.add_argument("--sample-labels", type=int, default=2000)
    a = ap.parse_args()

    rec = {"run": "pandas", "pandas": pd.__version__, "numpy": np.__version__}
    t_all = time.perf_counter()
    t0 = time.perf_counter()
    c0 = time.process_time()
    keys, ev = load_events(a.events)
    rec["load_s"] = time.perf_counter() - t0
    rec["events"] = len(ev)
    ev, feats, uniques, t = materialise(keys, ev)
    del keys
    rec.update(t)
    rec["materialise_s"] = rec["load_s"] + rec["sort_s"] + rec["windows_s"]
    rec["materialise_cpu_s"] = time.process_time() - c0
    c0 = time.process_time()
    rec["entities"] = len(uniques)
    lab, joined, t = point_in_time(ev, feats, uniques, a.labels)
    rec.update(t)
    rec["labels"] = len(lab)
    rec["point_in_time_cpu_s"] = time.process_time() - c0  # label CSV read included
    rec["matched"] = int(joined["amount_count_1h"].notna().sum())
    rec["total_s"] = time.perf_counter() - t_all
    ru = resource.getrusage(resource.RUSAGE_SELF)
    rec["peak_rss_mb"] = ru.ru_maxrss / 1024
    rec["cpu_s"] = ru.ru_utime + ru.ru_stime  # load-independent: what the work cost

    if a.sample:
        # Every k-th entity in key order plus the most active one (its windows are the longest).
        k = max(1, len(uniques) // a.sample_entities)
        pick = set(range(0, len(uniques), k))
        pick.add(int(np.bincount(ev["code"].to_numpy()).argmax()))
        rows = np.flatnonzero(np.isin(ev["code"].to_numpy(), np.array(sorted(pick))))
        step = max(1, len(lab) // a.sample_labels)
        lrows = np.arange(0, len(lab), step)
        np.savez(a.sample,
                 keys=np.asarray(uniques)[ev["code"].to_numpy()[rows]],
                 event_ts=ev["event_ts"].to_numpy()[rows],
                 created_ts=ev["created_ts"].to_numpy()[rows],
                 features=feats.to_numpy()[rows],
                 names=np.array(feature_names()),
                 label_rows=lrows,
                 label_features=joined[feature_names()].to_numpy()[lrows],
                 label_y=lab["label"].to_numpy()[lrows].astype("U"))
        rec["sampled_entities"] = len(pick)
        rec["sampled_rows"] = int(len(rows))
    print(json.dumps(rec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
