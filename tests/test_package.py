"""`import graphnsl as gnsl` reaches every family lazily, NSL-style, without importing TensorFlow."""

import json
import pathlib
import subprocess
import sys
import types

import pytest

import graphnsl

PACKAGE_DIR = pathlib.Path(graphnsl.__file__).parent


def _on_disk() -> set:
    """Public subpackages (folders with __init__.py) and modules, read from the folder itself."""
    names = {p.parent.name for p in PACKAGE_DIR.glob("*/__init__.py")}
    names |= {p.stem for p in PACKAGE_DIR.glob("*.py")}
    return {n for n in names if not n.startswith("_")} - {"cli", "demo"}


def test_import_is_light_and_dir_lists_the_families():
    script = (
        "import json, sys, graphnsl\n"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'numpy', 'graph_nets') if m in sys.modules)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('graphnsl.'))\n"
        "print(json.dumps({'heavy': heavy, 'loaded': loaded, 'dir': dir(graphnsl)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    report = json.loads(result.stdout)
    assert report["heavy"] == [] and report["loaded"] == []
    listed = set(report["dir"])
    assert {"configs", "lib", "data", "graph_reg", "gnn", "gam", "__version__"} <= listed
    assert _on_disk() <= listed
    assert not listed & {"cli", "demo"}


def test_each_listed_family_resolves_as_an_attribute():
    import graphnsl.cli  # noqa: F401  (bound on the package now, still not listed)

    families = {name for name in dir(graphnsl) if not name.startswith("__")}
    assert families == _on_disk()
    for name in sorted(families):
        module = getattr(graphnsl, name)
        assert isinstance(module, types.ModuleType) and module.__name__ == f"graphnsl.{name}"
        assert sys.modules[f"graphnsl.{name}"] is module


def test_nsl_style_use_and_unknown_names():
    import graphnsl as gnsl

    config = gnsl.configs.make_graph_reg_config(max_neighbors=2, multiplier=0.5)
    assert config.neighbor_config.max_neighbors == 2 and config.multiplier == 0.5
    assert gnsl.graph_reg.GraphRegularization.__module__.startswith("graphnsl.graph_reg")
    with pytest.raises(AttributeError, match="'graphnsl' has no attribute 'tensorflow_models'"):
        getattr(gnsl, "tensorflow_models")  # noqa: B009


def test_data_submodules_are_lazy_attributes():
    import graphnsl.data as data

    listed = dir(data)
    for name in ("planetoid", "examples", "tfrecord", "graph_tsv", "make_dataset"):
        assert name in listed
    assert data.planetoid.__name__ == "graphnsl.data.planetoid"
    assert data.graph_tsv.write_graph_tsv is data.examples.write_graph_tsv
    with pytest.raises(AttributeError, match="no_such_module"):
        data.no_such_module  # noqa: B018
