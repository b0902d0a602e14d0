"""Side by side: graphnsl's build_graph against NSL 1.4.0's (exact, no LSH), in one run.

The NSL peer script writes N random clustered unit embeddings to WORK/emb_N_DIM.tfr and
builds WORK/nsl_graph.tsv; graphnsl then builds WORK/ours_graph.tsv from the same file in
its own subprocess. Times are those each side measures around the build_graph call
(imports excluded); peak RSS comes from `os.wait4` for each process. The two graphs are
compared as sets of directed edges, and their weight strings edge by edge.

With `--beam_workers=W` it instead compares graphnsl's single-process tool with the Beam
pipeline (`graphnsl.beam.build_graph.run`, DirectRunner in multi-process mode with W
workers) on the clustered workload of `bench_ann_graph.py` (sharded TFRecords), each in its
own process, and checks that both write the same set of lines. The Beam side's peak RSS is
that of its main process and, separately, the largest of its worker processes.

Usage:
  .venv/bin/python benchmarks/bench_build_graph.py [--work_dir=/tmp/graphnsl_bench_graph]
      [--n=10000 --dim=64 --threshold=0.9] [--output_json=FILE]
  nice -n 5 .venv/bin/python benchmarks/bench_build_graph.py --beam_workers=2 --n=100000 \
      [--ann=lsh --lsh_splits=7 --lsh_rounds=11] [--num_blocks=16]
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


_BEAM = """
import json, resource, sys, time
from graphnsl.beam.build_graph import run
pattern, out, threshold, settings, workers = sys.argv[1:6]
t0 = time.perf_counter()
r = run(pattern, out, similarity_threshold=float(threshold), num_shards=4,
        pipeline_args=['--runner=DirectRunner', '--direct_running_mode=multi_processing',
                       f'--direct_num_workers={workers}'], **json.loads(settings))
r['seconds'] = round(time.perf_counter() - t0, 3)
r['workers_peak_rss_mb'] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)
print(json.dumps(r))
"""

_SINGLE = """
import json, sys, time
from graphnsl.data.build_graph import build_graph
pattern, out, threshold, settings = sys.argv[1:5]
settings = json.loads(settings)
settings.pop('num_blocks', None)
t0 = time.perf_counter()
r = build_graph(pattern, out, similarity_threshold=float(threshold), **settings)
r['seconds'] = round(time.perf_counter() - t0, 3)
print(json.dumps(r))
"""


def _digest(paths: list[str]) -> tuple[int, int]:
    """(lines, order-free digest) of the lines of some files."""
    import zlib

    count, total = 0, 0
    for path in paths:
        with open(path, "rb") as f:
            for line in f:
                count += 1
                total = (total + zlib.crc32(line.rstrip(b"\n")) * 2654435761) % (1 << 61)
    return count, total


def beam_main(args) -> int:
    """The single-process tool beside the Beam pipeline (DirectRunner, multi-process)."""
    import glob

    from bench_ann_graph import write_workload

    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    pattern = write_workload(work, args.n, args.dim)
    settings = {"num_blocks": args.num_blocks}
    if args.ann == "lsh":
        settings.update(
            ann="lsh", lsh_splits=args.lsh_splits, lsh_rounds=args.lsh_rounds, random_seed=0
        )
    env = {"PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    single = run_measured(
        [
            sys.executable,
            "-c",
            _SINGLE,
            pattern,
            f"{work}/single.tsv",
            str(args.threshold),
            json.dumps(settings),
        ],
        env=env,
    )
    print(f"single: {single}", flush=True)
    for old in glob.glob(f"{work}/beam.tsv-*"):
        os.remove(old)
    beam = run_measured(
        [
            sys.executable,
            "-c",
            _BEAM,
            pattern,
            f"{work}/beam.tsv",
            str(args.threshold),
            json.dumps(settings),
            str(args.beam_workers),
        ],
        env=env,
    )
    print(f"beam: {beam}", flush=True)
    single_lines = _digest([f"{work}/single.tsv"])
    beam_lines = _digest(sorted(glob.glob(f"{work}/beam.tsv-*-of-*")))
    same = single_lines == beam_lines
    result = {
        "benchmark": "build_graph single process vs Beam DirectRunner",
        "workload": {"n": args.n, "dim": args.dim, "threshold": args.threshold, **settings},
        "single": single,
        "beam": beam,
        "beam_workers": args.beam_workers,
        "time_ratio_beam_over_single": round(beam["seconds"] / single["seconds"], 2),
        "same_lines": same,
        "lines": single_lines[0],
    }
    print(f"\n{'':30}{'single':>10}{'Beam':>10}{'ratio':>8}")
    print(
        f"{'call (s)':30}{single['seconds']:>10.1f}{beam['seconds']:>10.1f}"
        f"{result['time_ratio_beam_over_single']:>7.2f}x"
    )
    print(
        f"{'peak RSS, main process (MB)':30}{single['peak_rss_mb']:>10.0f}{beam['peak_rss_mb']:>10.0f}"
    )
    print(f"{'peak RSS, largest worker (MB)':30}{'':>10}{beam['workers_peak_rss_mb']:>10.0f}")
    print(f"lines: {single_lines[0]} single, {beam_lines[0]} Beam; same set: {same}")
    if args.output_json:
        with open(args.output_json, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if same else 1


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
    parser.add_argument("--beam_workers", type=int, default=0, help="> 0: single vs Beam")
    parser.add_argument("--num_blocks", type=int, default=16, help="Beam exact mode's blocks")
    parser.add_argument("--ann", default="exact", choices=["exact", "lsh"])
    parser.add_argument("--lsh_splits", type=int, default=7)
    parser.add_argument("--lsh_rounds", type=int, default=11)
    args = parser.parse_args()
    if args.beam_workers:
        return beam_main(args)

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
