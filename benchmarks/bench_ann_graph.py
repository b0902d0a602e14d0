"""Approximate graph building (faiss HNSW/IVF, NSL's LSH) against the exact graph: recall, time, RSS.

Writes N clustered embeddings (N / 50 Gaussian centres, noise 0.3 per coordinate, the
workload of `shared/peers/nsl_build_graph.py`) as sharded TFRecords
WORK/emb_N_DIM-SSSSS-of-NNNNN, then runs `graphnsl.data.build_graph.build_graph` once per
mode, each in its own process (time measured around the call; peak RSS from `os.wait4`).
Recall is the share of the exact threshold graph's edges that a mode finds: against the
exact mode's whole output when `exact` is among the modes, else on a random sample of
`--sample` nodes whose exact neighbours are computed here (every line whose source is a
sampled node). Precision is 1 by construction (every candidate is re-weighed exactly); the
benchmark checks it.

Usage:
  nice -n 5 /work/venv/bin/python benchmarks/bench_ann_graph.py --n=100000 --dim=64 \\
      --modes=exact,hnsw,ivf,lsh [--threshold=0.9] [--work_dir=/tmp/graphnsl_bench_ann] \\
      [--output_json=FILE]
  nice -n 5 /work/venv/bin/python benchmarks/bench_ann_graph.py --n=1000000 --dim=128 \\
      --modes=hnsw --sample=2000
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from peers import run_measured  # noqa: E402

_RUN = """
import json, sys, time
from graphnsl.data.build_graph import build_graph
pattern, out, threshold, settings = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
t0 = time.perf_counter()
r = build_graph(pattern, out, similarity_threshold=threshold, **json.loads(settings))
r['call_seconds'] = round(time.perf_counter() - t0, 2)
# VmHWM: this process's own peak (ru_maxrss would include the parent's at fork).
status = open('/proc/self/status').read().split('VmHWM:')[1]
r['vm_hwm_mb'] = round(int(status.split()[0]) / 1024, 1)
print(json.dumps(r))
"""

MODES = {
    "exact": {},
    "hnsw": {"ann": "faiss", "faiss_options": {"index": "hnsw"}},
    "ivf": {"ann": "faiss", "faiss_options": {"index": "ivf"}},
    "ivf1": {"ann": "faiss", "faiss_options": {"index": "ivf", "threads": 1}},
    # NSL's rule of thumb: splits >= log2(n / 1000); rounds from NSL's recall table.
    "lsh": {"ann": "lsh", "lsh_splits": 7, "lsh_rounds": 11, "random_seed": 0},
}


def write_workload(work: str, n: int, dim: int, shard_size: int = 125_000) -> str:
    """Writes the embeddings once (sharded); returns their glob pattern."""
    from graphnsl.data import examples as ex

    shards = -(-n // shard_size)
    pattern = f"{work}/emb_{n}_{dim}-*-of-{shards:05d}"
    if len(glob.glob(pattern)) == shards:
        return pattern
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(max(n // 50, 1), dim))
    start = time.perf_counter()
    for s in range(shards):
        lo, hi = s * shard_size, min((s + 1) * shard_size, n)
        emb = centers[rng.integers(0, len(centers), hi - lo)]
        emb = emb + 0.3 * rng.normal(size=(hi - lo, dim))
        emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
        ex.write_examples(
            f"{work}/emb_{n}_{dim}-{s:05d}-of-{shards:05d}",
            ({"id": str(lo + i), "embedding": emb[i]} for i in range(hi - lo)),
        )
    print(f"wrote {n} x {dim} embeddings in {time.perf_counter() - start:.0f} s", flush=True)
    return pattern


def read_pairs(path: str, sources=None) -> tuple[np.ndarray, dict]:
    """Directed lines of a graph TSV (ids are ints here) as int64 keys, and key -> weight.

    With `sources`, only lines whose source is one of them (a sample of a large graph).
    """
    keys, weights = [], []
    wanted = None if sources is None else {str(x) for x in sources.tolist()}
    with open(path) as f:
        for line in f:
            s, t, w = line.split("\t")
            if wanted is not None and s not in wanted:
                continue
            keys.append(int(s) << 32 | int(t))
            weights.append(w)
    keys = np.array(keys, dtype=np.int64)
    return keys, dict(zip(keys.tolist(), weights, strict=True))


def sampled_exact(pattern: str, sample: np.ndarray, threshold: float) -> np.ndarray:
    """Exact directed lines (as keys) whose source is a sampled node, NSL's arithmetic."""
    from graphnsl.data import build_graph as bg

    ids, embeddings = bg.read_embeddings(bg.expand_inputs(pattern))
    numbers = np.array([int(x) for x in ids])
    unit = bg._normalize_like_nsl(embeddings)
    del embeddings
    rows = np.searchsorted(numbers, sample) if np.all(np.diff(numbers) > 0) else None
    if rows is None:
        where = {x: i for i, x in enumerate(numbers.tolist())}
        rows = np.array([where[x] for x in sample.tolist()])
    keys = []
    band = 1e-6 + 2.0 * unit.shape[1] * 2.0**-24
    for lo in range(0, len(rows), 256):
        block = rows[lo : lo + 256]
        similarity = unit[block] @ unit.T
        r, c = np.nonzero(similarity >= float(np.float32(threshold)) - band)
        sources, targets = block[r], c
        keep = sources != targets
        sources, targets = sources[keep], targets[keep]
        weights = np.vecdot(unit[sources], unit[targets])
        keep = weights >= threshold
        keys.append(numbers[sources[keep]] << 32 | numbers[targets[keep]])
    return np.concatenate(keys)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work_dir", default="/tmp/graphnsl_bench_ann")
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--modes", default="exact,hnsw,ivf,lsh")
    parser.add_argument("--sample", type=int, default=2000, help="nodes for sampled recall")
    parser.add_argument("--max_nbrs_per_node", type=int, default=None)
    parser.add_argument("--keep_graphs", action="store_true")
    parser.add_argument("--output_json", default=None)
    args = parser.parse_args()

    os.makedirs(args.work_dir, exist_ok=True)
    pattern = write_workload(args.work_dir, args.n, args.dim)
    modes = args.modes.split(",")
    results = {}
    for mode in modes:
        settings = dict(MODES[mode], max_nbrs_per_node=args.max_nbrs_per_node)
        out = f"{args.work_dir}/graph_{mode}_{args.n}_{args.dim}.tsv"
        command = [sys.executable, "-c", _RUN, pattern, out, str(args.threshold)]
        run = run_measured(command + [json.dumps(settings)], env={"PYTHONPATH": os.getcwd()})
        results[mode] = {"settings": settings, **run}
        print(f"{mode}: {json.dumps(results[mode])}", flush=True)

    rng = np.random.default_rng(1)
    sample = np.sort(rng.choice(args.n, size=min(args.sample, args.n), replace=False))
    truth = None
    if "exact" in modes:
        truth_keys, truth_weights = read_pairs(
            f"{args.work_dir}/graph_exact_{args.n}_{args.dim}.tsv"
        )
        truth = set(truth_keys.tolist())
    elif args.max_nbrs_per_node is None:
        truth = set(sampled_exact(pattern, sample, args.threshold).tolist())
        truth_weights = None
    for mode in modes:
        if mode == "exact" or truth is None:
            continue
        graph = f"{args.work_dir}/graph_{mode}_{args.n}_{args.dim}.tsv"
        # Sampled (no exact mode run): only the lines whose source is a sampled node.
        keys, weights = read_pairs(graph, None if "exact" in modes else sample)
        found = set(keys.tolist())
        extra = len(found - truth)
        results[mode]["recall"] = round(len(found & truth) / max(len(truth), 1), 4)
        results[mode]["lines_not_in_exact"] = extra
        results[mode]["recall_over"] = (
            f"all {len(truth)} exact lines"
            if "exact" in modes
            else f"{len(truth)} exact lines of {len(sample)} sampled nodes"
        )
        if truth_weights is not None:
            results[mode]["weights_differing"] = sum(
                weights[k] != truth_weights[k] for k in found & truth
            )
        print(
            f"{mode}: recall {results[mode]['recall']} ({results[mode]['recall_over']}), "
            f"{extra} lines not in the exact graph",
            flush=True,
        )
    if not args.keep_graphs:
        for mode in modes:
            os.remove(f"{args.work_dir}/graph_{mode}_{args.n}_{args.dim}.tsv")
    if args.output_json:
        with open(args.output_json, "w") as f:
            json.dump(
                {"n": args.n, "dim": args.dim, "threshold": args.threshold, "results": results},
                f,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
