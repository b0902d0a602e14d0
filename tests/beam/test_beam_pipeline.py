"""The local runner graphnsl picks: Beam's Python runner, never a downloaded Prism binary."""

import pytest

pytest.importorskip("apache_beam")

from apache_beam.runners.portability.fn_api_runner import FnApiRunner  # noqa: E402

from graphnsl.beam._pipeline import make_pipeline  # noqa: E402


@pytest.mark.parametrize("args", [[], ["--runner=DirectRunner"], ["--runner=direct"]])
def test_local_runner_is_the_python_fn_api_runner(args):
    assert isinstance(make_pipeline(args).runner, FnApiRunner)


def test_other_runners_pass_through():
    pipeline = make_pipeline(["--runner=BundleBasedDirectRunner"])
    assert not isinstance(pipeline.runner, FnApiRunner)
    assert type(pipeline.runner).__name__ == "BundleBasedDirectRunner"


def test_direct_options_reach_the_runner():
    from apache_beam.options.pipeline_options import DirectOptions

    pipeline = make_pipeline(["--direct_num_workers=2", "--direct_running_mode=multi_processing"])
    direct = pipeline.options.view_as(DirectOptions)
    assert (direct.direct_num_workers, direct.direct_running_mode) == (2, "multi_processing")


def test_local_runner_data_plane_flushes_by_size_only(monkeypatch):
    """Beam 2.77's time-based data-plane flush drops what is written between its get() and
    _clear() (it lost ~10 MB chunks of pack_nbrs' 100k run with 2 workers): the local runner
    must build no timed stream, on the runner's side nor the in-process workers', and put
    Beam's constant back after the run."""
    import apache_beam as beam
    from apache_beam.runners.portability.fn_api_runner import worker_handlers
    from apache_beam.runners.worker import data_plane
    from apache_beam.testing.util import assert_that, equal_to

    limits = []
    create = data_plane.ClosableOutputStream.create

    def recording_create(close_callback, flush_callback, data_buffer_time_limit_ms):
        limits.append(data_buffer_time_limit_ms)
        return create(close_callback, flush_callback, data_buffer_time_limit_ms)

    monkeypatch.setattr(data_plane.ClosableOutputStream, "create", staticmethod(recording_create))
    before = worker_handlers.DATA_BUFFER_TIME_LIMIT_MS
    args = ["--direct_num_workers=2", "--direct_running_mode=multi_threading"]
    with make_pipeline(args) as pipeline:
        sums = (
            pipeline
            | beam.Create([(i % 3, i) for i in range(30)])
            | beam.GroupByKey()
            | beam.MapTuple(lambda key, values: (key, sum(values)))
        )
        assert_that(sums, equal_to([(0, 135), (1, 145), (2, 155)]))
    assert limits, "the data plane built no output stream: the test checks nothing"
    assert set(limits) == {0}
    assert worker_handlers.DATA_BUFFER_TIME_LIMIT_MS == before == 1000
