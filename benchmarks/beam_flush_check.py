"""Does a local Beam runner deliver every element? A pure-Beam pipeline, no graphnsl steps.

The shape of `graphnsl.beam.pack_nbrs`' last join: one stage makes N (key, value) pairs, a
GroupByKey spreads them into N values of ~350 bytes under new keys, and a CoGroupByKey joins
them with N / 50 others; the joined values are summed through the data itself (a global sum
written to a file) and by a counter. Beam 2.77's stock FnApiRunner with 2 workers lost
elements here (its data plane's time-based flush races the sending thread); graphnsl's local
runner (`graphnsl.beam._pipeline.make_pipeline`) turns that flush off.

Usage:
  python benchmarks/beam_flush_check.py --runner=stock|graphnsl [--n=1000000] \\
      [--mode=multi_threading --workers=2]

Prints one JSON line; exits 1 when any element was lost.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", choices=["stock", "graphnsl"], required=True)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument(
        "--mode",
        default="multi_threading",
        choices=["in_memory", "multi_threading", "multi_processing"],
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    import apache_beam as beam
    from apache_beam.metrics import Metrics
    from apache_beam.metrics.metric import MetricsFilter
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner

    from graphnsl.beam._pipeline import make_pipeline

    n, keys = args.n, max(1, args.n // 10)
    options = [f"--direct_num_workers={args.workers}", f"--direct_running_mode={args.mode}"]

    def generate(_):
        for i in range(n):
            yield b"%08d" % (i % keys), b"%08d" % i

    def spread(item):
        key, values = item
        for value in values:
            Metrics.counter("check", "spread").inc()
            yield value[::-1], (0.5, key, value + b"x" * 330)

    def joined(item):
        count = len(list(item[1]["many"]))
        Metrics.counter("check", "joined").inc(count)
        return count

    out = os.path.join(tempfile.mkdtemp(prefix="beam_flush_check_"), "sum")
    if args.runner == "stock":
        pipeline = beam.Pipeline(runner=FnApiRunner(), options=PipelineOptions(options))
    else:
        pipeline = make_pipeline(options)
    start = time.perf_counter()
    with pipeline as p:
        many = (
            p
            | "One" >> beam.Create([0])
            | "Generate" >> beam.FlatMap(generate)
            | "Group" >> beam.GroupByKey()
            | "Spread" >> beam.FlatMap(spread)
        )
        few = (
            p
            | "Other" >> beam.Create([0])
            | "Few" >> beam.FlatMap(lambda _: [(b"%08d" % i, b"s" * 300) for i in range(0, n, 50)])
        )
        _ = (
            {"few": few, "many": many}
            | "Join" >> beam.CoGroupByKey()
            | "Joined" >> beam.Map(joined)
            | "Sum" >> beam.CombineGlobally(sum)
            | "Write" >> beam.io.WriteToText(out, num_shards=1)
        )
    query = pipeline.result.metrics().query(MetricsFilter().with_namespace("check"))
    counters = {c.key.metric.name: c.committed for c in query["counters"]}
    (path,) = glob.glob(out + "*")
    with open(path) as f:
        through_data = int(f.read())
    os.remove(path)
    result = {
        "runner": args.runner,
        "mode": args.mode,
        "workers": args.workers,
        "elements": n,
        "spread_counter": counters.get("spread", 0),
        "joined_counter": counters.get("joined", 0),
        "joined_through_data": through_data,
        "lost": n - through_data,
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(json.dumps(result))
    return 0 if result["lost"] == 0 and result["spread_counter"] == n else 1


if __name__ == "__main__":
    sys.exit(main())
