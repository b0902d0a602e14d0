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
    """
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    options = PipelineOptions(list(pipeline_args or []))
    runner = options.view_as(StandardOptions).runner
    if runner in _LOCAL_RUNNERS or str(runner).lower() == "directrunner":
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return beam.Pipeline(runner=FnApiRunner(), options=options)
    return beam.Pipeline(options=options)
