"""The Beam pipeline both graph tools run in."""

from __future__ import annotations

# Names under which Beam's own default runner is asked for.
_LOCAL_RUNNERS = (None, "DirectRunner", "direct", "directrunner")


def make_pipeline(pipeline_args):
    """A `beam.Pipeline` for `pipeline_args` (Beam's command-line options).

    For the local runner (`--runner=DirectRunner`, or no runner) this is Beam's Python
    portable runner (FnApiRunner), which honours `--direct_num_workers` and
    `--direct_running_mode`. Beam 2.77's DirectRunner would first try its Go "Prism" runner,
    which downloads a binary from the network; graphnsl never starts a download, and the
    FnApiRunner is where DirectRunner lands for these batch pipelines anyway. Any other runner
    (Dataflow, Flink, Spark, Prism) is passed to Beam unchanged.

    The local runner runs without the data plane's time-based flush (see `_local_runner`).
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    options = PipelineOptions(list(pipeline_args or []))
    runner = options.view_as(StandardOptions).runner
    if runner in _LOCAL_RUNNERS or str(runner).lower() == "directrunner":
        return beam.Pipeline(runner=_local_runner(), options=options)
    return beam.Pipeline(options=options)


def _local_runner():
    """Beam's FnApiRunner, with the data plane flushing by size only while it runs.

    Beam 2.77's FnApiRunner gives its gRPC data plane a 1 s time-based flush
    (`worker_handlers.DATA_BUFFER_TIME_LIMIT_MS`): the runner's own side always (what it sends
    to the workers of `--direct_running_mode=multi_processing`) and both sides for
    `multi_threading`. `TimeBasedBufferingClosableOutputStream` flushes from a timer thread
    with `get()` then `_clear()`, while the sending thread keeps calling `write()` without that
    lock: whatever is written between the two is dropped without an error. So with
    `--direct_num_workers=2` on 100k nodes a stage's input lost a ~10 MB chunk now and then
    (29,854 candidates in one run; 6,386 and 9,324 of 20,026 packed records wrong in two),
    and `multi_threading` lost elements in every run of a pure-Beam pipeline of that shape. A size-only stream is
    flushed by its writing thread alone, so nothing races. The time-based flush only cuts the
    latency of streaming pipelines; these tools are batch. The constant is set to 0 for the
    run and restored after it.
    """
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner, worker_handlers

    class SizeFlushedFnApiRunner(FnApiRunner):
        """FnApiRunner whose data-plane streams flush by size only (no timer thread)."""

        def run_pipeline(self, pipeline, options):
            saved = worker_handlers.DATA_BUFFER_TIME_LIMIT_MS
            worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = 0
            try:
                return super().run_pipeline(pipeline, options)
            finally:
                worker_handlers.DATA_BUFFER_TIME_LIMIT_MS = saved

    return SizeFlushedFnApiRunner()


def output_shards(output: str) -> dict[str, int]:
    """The `OUTPUT-SSSSS-of-NNNNN` files now there, with their modification times (ns).

    Taken before and after a run, the two tell that run's shards (new or rewritten) from a
    stale set left by an earlier run with another shard count.
    """
    import glob
    import os
    import re

    pattern = re.compile(re.escape(os.path.basename(output)) + r"-\d{5}-of-\d{5}")
    return {
        p: os.stat(p).st_mtime_ns
        for p in glob.glob(glob.escape(output) + "-*-of-*")
        if pattern.fullmatch(os.path.basename(p))
    }


def lost_data_error(problems: list[str], output: str, shards: list[str]) -> RuntimeError:
    """Removes `shards` (a run's wrong output) and returns the error that says why."""
    import os

    for path in shards:
        os.remove(path)
    return RuntimeError(
        f"the Beam runner lost data: {'; '.join(problems)}. The output {output}-*-of-* was "
        "removed. The counts differ on the two sides of a shuffle, which graphnsl code does "
        "not touch: the runner dropped elements (Beam 2.77's stock FnApiRunner did so with "
        "--direct_num_workers=2; graphnsl's local runner turns off the flush that caused it). "
        "Rerun, or try --direct_num_workers=1."
    )


def unbalanced(counts: dict, balances) -> list[str]:
    """One line per `(what, sent, received)` of `balances` whose two counters differ.

    A pair with a name missing from `counts` is skipped.
    """
    return [
        f"{what}: {counts[sent]:,} sent, {counts[received]:,} received"
        for what, sent, received in balances
        if sent in counts and received in counts and counts[sent] != counts[received]
    ]
