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
