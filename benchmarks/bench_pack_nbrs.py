"""Side by side: graphnsl's pack_nbrs against NSL 1.4.0's, on the same workload, in one run.

Each side runs in its own subprocess; its peak RSS comes from `os.wait4` for that process.
Times are those each side measures around the pack_nbrs call (imports excluded, as the NSL
peer script does), plus whole-process wall time. The outputs are then compared record by
record as parsed `tf.train.Example`s.

Usage:
  .venv/bin/python benchmarks/bench_pack_nbrs.py [--work_dir=/tmp/graphnsl_bench_pack]
      [--nodes=100000 --labeled_fraction=0.2 --degree=10 --dim=64 --max_nbrs=5]
      [--repeats=3] [--output_json=FILE]
  .venv/bin/python benchmarks/bench_pack_nbrs.py --mode=large --work_dir=/tmp/big \
      --nodes=10000000 [--num_shards=8]
      graphnsl alone on a workload of make_large_workload.py (written first if absent):
      time, peak RSS, records and neighbours written.
  .venv/bin/python benchmarks/bench_pack_nbrs.py --mode=beam --work_dir=/tmp/b100k \
      --nodes=100000 [--beam_workers=2]
      graphnsl.beam.pack_nbrs on the DirectRunner (multi_processing) beside the
      single-process tool on one workload; outputs compared record by record, parsed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import make_pack_workload, run_measured  # noqa: E402

_OURS = """
import json, sys, time
from graphnsl.data.pack_nbrs import pack_nbrs
d, k = sys.argv[1], int(sys.argv[2])
t0 = time.perf_counter()
r = pack_nbrs(f'{d}/labeled.tfr', f'{d}/unlabeled.tfr', f'{d}/graph.tsv',
              f'{d}/ours_packed.tfr', add_undirected_edges=True, max_nbrs=k)
dt = time.perf_counter() - t0
print(json.dumps({'seconds': round(dt, 3), 'records': r['seeds_written'],
                  'neighbours_packed': r['neighbours_packed'],
                  'missing_neighbours_skipped': r['missing_neighbours_skipped']}))
"""


_LARGE = """
import json, sys, time
from graphnsl.data.pack_nbrs import pack_nbrs
d, k, shards = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
r = pack_nbrs(f'{d}/labeled.tfr*', f'{d}/unlabeled.tfr*', f'{d}/graph.tsv',
              f'{d}/packed.tfr', add_undirected_edges=True, max_nbrs=k, num_shards=shards)
dt = time.perf_counter() - t0
print(json.dumps({'seconds': round(dt, 3), 'records': r['seeds_written'],
                  'neighbours_packed': r['neighbours_packed'], 'edges_read': r['edges_read'],
                  'work_shards': r['work_shards'], 'histogram': r['out_degree_histogram']}))
"""


_BEAM = """
import json, sys, time
from graphnsl.beam.pack_nbrs import run
d, k, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t0 = time.perf_counter()
r = run(f'{d}/labeled.tfr', f'{d}/unlabeled.tfr', f'{d}/graph.tsv', f'{d}/beam_packed',
        add_undirected_edges=True, max_nbrs=k, num_shards=4,
        pipeline_args=['--runner=DirectRunner', f'--direct_num_workers={workers}',
                       '--direct_running_mode=multi_processing'])
dt = time.perf_counter() - t0
print(json.dumps({'seconds': round(dt, 3), 'records': r['seeds_written'],
                  'neighbours_packed': r['neighbours_packed']}))
"""


def run_beam(args) -> int:
    """Beam's DirectRunner (multi-process) beside the single-process tool; same records?"""
    work = args.work_dir
    if not os.path.exists(f"{work}/graph.tsv"):
        make = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_large_workload.py")
        run_measured([sys.executable, make, f"--out_dir={work}", f"--nodes={args.nodes}"])
    single = run_measured([sys.executable, "-c", _LARGE, work, str(args.max_nbrs), "0"])
    beam = run_measured(
        [sys.executable, "-c", _BEAM, work, str(args.max_nbrs), str(args.beam_workers)]
    )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import glob

    import tensorflow as tf

    from graphnsl.data.examples import read_records

    def by_id(paths):
        parsed = [tf.train.Example.FromString(r) for p in paths for r in read_records(p)]
        return {e.features.feature["id"].bytes_list.value[0]: e for e in parsed}

    ours = by_id([f"{work}/packed.tfr"])
    theirs = by_id(sorted(glob.glob(f"{work}/beam_packed-*-of-*")))
    differ = sum(theirs.get(key) != value for key, value in ours.items())
    result = {
        "benchmark": "pack_nbrs_beam",
        "nodes": args.nodes,
        "single_process": single,
        "beam_direct_runner": {**beam, "workers": args.beam_workers},
        "beam_over_single_wall": round(beam["wall_seconds"] / single["wall_seconds"], 2),
        "records": {"single": len(ours), "beam": len(theirs), "differ_parsed": differ},
    }
    print(json.dumps(result, indent=2))
    if args.output_json:
        with open(args.output_json, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if differ == 0 and len(ours) == len(theirs) else 1


def run_large(args) -> int:
    """graphnsl alone on a make_large_workload.py workload: time and peak RSS."""
    work = args.work_dir
    if not os.path.exists(f"{work}/graph.tsv"):
        print(f"Writing the workload to {work} ...", flush=True)
        made = run_measured(
            [
                sys.executable,
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "make_large_workload.py"),
                f"--out_dir={work}",
                f"--nodes={args.nodes}",
                f"--labeled_fraction={args.labeled_fraction}",
                f"--degree={args.degree}",
                f"--dim={args.dim}",
            ]
        )
        print(f"workload: {made}", flush=True)
    ours = run_measured(
        [sys.executable, "-c", _LARGE, work, str(args.max_nbrs), str(args.num_shards)]
    )
    sizes = {
        name: round(os.path.getsize(os.path.join(work, name)) / 2**30, 2)
        for name in sorted(os.listdir(work))
        if not name.startswith(".")
    }
    result = {"benchmark": "pack_nbrs_large", "nodes": args.nodes, "ours": ours, "gib": sizes}
    print(json.dumps(result, indent=2))
    if args.output_json:
        with open(args.output_json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


def compare_outputs(ours: str, theirs: str) -> dict:
    """Parses both TFRecords and compares them record by record (features equal)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    from graphnsl.data.examples import read_records

    a = list(read_records(ours))
    b = list(read_records(theirs))
    mismatched = sum(
        tf.train.Example.FromString(x) != tf.train.Example.FromString(y)
        for x, y in zip(a, b, strict=False)
    )
    return {"records_ours": len(a), "records_nsl": len(b), "mismatched_records": mismatched}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nsl_python", default="/work/venvs/nsl/bin/python")
    parser.add_argument("--peers_dir", default="/work/shared/peers")
    parser.add_argument("--work_dir", default="/tmp/graphnsl_bench_pack")
    parser.add_argument("--nodes", type=int, default=100000)
    parser.add_argument("--labeled_fraction", type=float, default=0.2)
    parser.add_argument("--degree", type=int, default=10)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--max_nbrs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; best kept")
    parser.add_argument("--output_json", default=None)
    parser.add_argument("--mode", choices=["nsl", "large", "beam"], default="nsl")
    parser.add_argument("--beam_workers", type=int, default=2, help="DirectRunner processes")
    parser.add_argument("--num_shards", type=int, default=8, help="output shards (large)")
    args = parser.parse_args()
    if args.mode == "large":
        return run_large(args)
    if args.mode == "beam":
        return run_beam(args)

    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    if not os.path.exists(f"{work}/graph.tsv"):
        print(f"Writing the workload to {work} ...", flush=True)
        make_pack_workload(
            args.nsl_python,
            args.peers_dir,
            work,
            args.nodes,
            args.labeled_fraction,
            args.degree,
            args.dim,
        )
    nsl_command = [args.nsl_python, f"{args.peers_dir}/nsl_pack_nbrs.py", work, str(args.max_nbrs)]
    ours_command = [sys.executable, "-c", _OURS, work, str(args.max_nbrs)]
    nsl_runs, our_runs = [], []
    for repeat in range(args.repeats):  # alternate, so load changes hit both sides
        nsl_runs.append(run_measured(nsl_command, {"TF_USE_LEGACY_KERAS": "1"}))
        our_runs.append(run_measured(ours_command))
        print(f"run {repeat + 1}: nsl {nsl_runs[-1]} | ours {our_runs[-1]}", flush=True)
    nsl = min(nsl_runs, key=lambda r: r["seconds"])
    ours = min(our_runs, key=lambda r: r["seconds"])
    check = compare_outputs(f"{work}/ours_packed.tfr", f"{work}/nsl_packed.tfr")
    result = {
        "benchmark": "pack_nbrs",
        "workload": {
            "nodes": args.nodes,
            "labeled_fraction": args.labeled_fraction,
            "degree": args.degree,
            "dim": args.dim,
            "max_nbrs": args.max_nbrs,
            "add_undirected_edges": True,
        },
        "nsl": nsl,
        "ours": ours,
        "all_runs": {"nsl": nsl_runs, "ours": our_runs},
        "speedup_call": round(nsl["seconds"] / ours["seconds"], 1),
        "speedup_call_per_run": [
            round(a["seconds"] / b["seconds"], 1) for a, b in zip(nsl_runs, our_runs, strict=True)
        ],
        "speedup_process_wall": round(nsl["wall_seconds"] / ours["wall_seconds"], 1),
        "peak_rss_ratio": round(ours["peak_rss_mb"] / nsl["peak_rss_mb"], 3),
        "output_check": check,
    }
    print()
    print(f"{'':28}{'NSL 1.4.0':>12}{'graphnsl':>12}{'ratio':>10}")
    print(
        f"{'pack_nbrs call (s, best)':28}{nsl['seconds']:>12.2f}{ours['seconds']:>12.2f}"
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
    print(f"call speedup in each run (side by side): {result['speedup_call_per_run']}")
    print(
        f"output: {check['records_ours']} records (NSL {check['records_nsl']}), "
        f"{check['mismatched_records']} differ when parsed"
    )
    if args.output_json:
        with open(args.output_json, "w") as f:
            json.dump(result, f, indent=2)
    ok = check["mismatched_records"] == 0 and check["records_ours"] == check["records_nsl"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
