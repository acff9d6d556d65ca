"""features_ref.py - brute-force references for the feature tests (tests/jobs/test_materialize.sh)

    features_ref.py events OUT.csv [--seed S] [--rows N] [--entities K] [--start ISO] [--days D]
        random events with ties, gaps, empty values, unsorted rows and created_ts
    features_ref.py materialize EVENTS.csv OUT.csv [--start US] [--end US]
        every feature of the test spec, O(n^2), in `maestro features export` layout
    features_ref.py labels OUT.csv EVENTS.csv [--seed S] [--rows N]
        entity rows (some unknown entities, times before, between and after events)
    features_ref.py pit LABELS.csv EXPORT.csv TTL_S OUT.json
        the point-in-time join, O(n*m): one list of feature values per label row

The semantics are docs/spec.md's, written independently of the C code: at event time t a
windowed feature aggregates the non-NaN values of the entity's events with t - w < ts <= t;
`last` is the value of the event with the greatest (ts, created) among ts <= t.
"""
import csv
import datetime as dt
import json
import math
import random
import statistics
import sys

# name, column, agg, window in seconds (0: none) -- keep in step with the spec in the test
FEATURES = [
    ("cnt_1h", "amount", "count", 3600),
    ("sum_1d", "amount", "sum", 86400),
    ("mean_7d", "amount", "mean", 7 * 86400),
    ("min_1d", "qty", "min", 86400),
    ("max_1d", "qty", "max", 86400),
    ("std_1d", "amount", "std", 86400),
    ("last_amount", "amount", "last", 0),
    ("distinct_qty", "qty", "distinct_count", 0),
    ("sum_all", "amount", "sum", 0),
]


def us(text):
    d = dt.datetime.strptime(text.replace("Z", ""), "%Y-%m-%dT%H:%M:%S")
    return int(d.replace(tzinfo=dt.timezone.utc).timestamp()) * 1_000_000


def iso(u):
    d = dt.datetime.fromtimestamp(u // 1_000_000, tz=dt.timezone.utc)
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    return s + ("." + "%06d" % (u % 1_000_000) if u % 1_000_000 else "") + "Z"


def fnum(v):
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else repr(float(v))


def events(out, seed=1, rows=1500, entities=40, start="2026-11-01T00:00:00Z", days=10):
    rng = random.Random(seed)
    t0 = us(start)
    rows_out = []
    for _ in range(rows):
        e = "c%03d" % rng.randrange(entities)
        # coarse times so ties happen; some bursts within an hour, some gaps of days
        ts = t0 + rng.randrange(days * 24 * 12) * 300 * 1_000_000
        created = ts + rng.randrange(3) * 1_000_000
        amount = "" if rng.random() < 0.05 else "%.2f" % rng.uniform(-50, 500)
        qty = str(rng.randrange(5))
        rows_out.append((e, iso(ts), iso(created), amount, qty))
    rng.shuffle(rows_out)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "event_ts", "created_ts", "amount", "qty"])
        w.writerows(rows_out)


def read_events(path):
    with open(path) as f:
        r = csv.DictReader(f)
        out = []
        for row in r:
            out.append({
                "e": row["customer_id"], "ts": us(row["event_ts"][:19]), "created": us(row["created_ts"][:19]),
                "amount": float(row["amount"]) if row["amount"] else math.nan,
                "qty": float(row["qty"]) if row["qty"] else math.nan,
            })
    return out


def aggregate(agg, vals_in_window, last_value):
    vals = [v for v in vals_in_window if not math.isnan(v)]
    if agg == "count":
        return float(len(vals))
    if agg == "sum":
        return float(sum(vals))
    if agg == "mean":
        return sum(vals) / len(vals) if vals else math.nan
    if agg == "min":
        return min(vals) if vals else math.nan
    if agg == "max":
        return max(vals) if vals else math.nan
    if agg == "std":
        return statistics.stdev(vals) if len(vals) >= 2 else math.nan
    if agg == "distinct_count":
        return float(len(set(vals)))
    if agg == "last":
        return last_value
    raise ValueError(agg)


def materialize(events_path, out, start=None, end=None):
    ev = read_events(events_path)
    by_e = {}
    for x in ev:
        by_e.setdefault(x["e"], []).append(x)
    rows = []
    for e, xs in by_e.items():
        for x in xs:
            if (start is not None and x["ts"] < start) or (end is not None and x["ts"] >= end):
                continue
            feats = []
            for _, col, agg, w in FEATURES:
                inw = [y for y in xs if y["ts"] <= x["ts"] and (w == 0 or y["ts"] > x["ts"] - w * 1_000_000)]
                # the greatest (ts, created); among equal ones the later in the source
                last = max(enumerate(inw), key=lambda p: (p[1]["ts"], p[1]["created"], p[0]))[1][col]
                feats.append(aggregate(agg, [y[col] for y in inw], last))
            rows.append((e, x["ts"], x["created"], feats))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "event_ts", "created_ts"] + [n for n, *_ in FEATURES])
        for e, ts, created, feats in rows:
            w.writerow([e, iso(ts), iso(created)] + [fnum(v) for v in feats])


def labels(out, events_path, seed=2, rows=300):
    rng = random.Random(seed)
    ev = read_events(events_path)
    ents = sorted({x["e"] for x in ev}) + ["nobody1", "nobody2"]
    lo, hi = min(x["ts"] for x in ev), max(x["ts"] for x in ev)
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "event_ts", "label"])
        for _ in range(rows):
            e = rng.choice(ents)
            if rng.random() < 0.3:  # exactly on an event time: ties must be included
                t = rng.choice([x["ts"] for x in ev if x["e"] == e] or [lo])
            else:
                t = lo - 86400_000_000 + rng.randrange((hi - lo) // 1_000_000 + 2 * 86400) * 1_000_000
            w.writerow([e, iso(t), rng.choice(["churn", "stay"])])


def pit(labels_path, export_path, ttl_s, out):
    with open(export_path) as f:
        r = csv.reader(f)
        header = next(r)
        table = [(row[0], us(row[1][:19]), us(row[2][:19]), [float(v) if v else math.nan for v in row[3:]]) for row in r]
    res = []
    with open(labels_path) as f:
        for row in csv.DictReader(f):
            e, t = row["customer_id"], us(row["event_ts"][:19])
            cand = [x for x in table if x[0] == e and x[1] <= t and (ttl_s == 0 or x[1] >= t - ttl_s * 1_000_000)]
            if cand:
                best = max(enumerate(cand), key=lambda p: (p[1][1], p[1][2], p[0]))[1]
                res.append([None if math.isnan(v) else v for v in best[3]])
            else:
                res.append(None)
    json.dump({"features": header[3:], "rows": res}, open(out, "w"))


def main(argv):
    cmd, args = argv[1], argv[2:]
    opts = {}
    pos = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            opts[args[i][2:]] = args[i + 1]
            i += 2
        else:
            pos.append(args[i])
            i += 1
    if cmd == "events":
        events(pos[0], int(opts.get("seed", 1)), int(opts.get("rows", 1500)), int(opts.get("entities", 40)),
               opts.get("start", "2026-11-01T00:00:00Z"), int(opts.get("days", 10)))
    elif cmd == "materialize":
        materialize(pos[0], pos[1], int(opts["start"]) if "start" in opts else None,
                    int(opts["end"]) if "end" in opts else None)
    elif cmd == "labels":
        labels(pos[0], pos[1], int(opts.get("seed", 2)), int(opts.get("rows", 300)))
    elif cmd == "pit":
        pit(pos[0], pos[1], int(pos[2]), pos[3])
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
