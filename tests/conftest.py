"""Shared test fixtures: quiet TensorFlow, fixed seeds, the shared Planetoid data."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pathlib

import pytest


def _data_dir() -> pathlib.Path | None:
    env = os.environ.get("GRAPHNSL_DATA_DIR")
    candidates = [pathlib.Path(env)] if env else []
    candidates.append(pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "planetoid" / "ind.cora.graph").exists():
            return candidate
    return None


@pytest.fixture(scope="session")
def planetoid_dir() -> pathlib.Path:
    """The folder with the `ind.<name>.<part>` files; skips when the shared data is absent."""
    root = _data_dir()
    if root is None:
        pytest.skip("Planetoid data not found: set GRAPHNSL_DATA_DIR to ../shared/data")
    return root / "planetoid"


@pytest.fixture(autouse=True)
def _seed():
    import keras

    keras.utils.set_random_seed(0)


@pytest.fixture(scope="session")
def load_example():
    """`load_example(name)`: imports `examples/<name>.py` by path (its flags stay undefined)."""
    import importlib.util

    examples = pathlib.Path(__file__).resolve().parents[1] / "examples"
    loaded = {}

    def load(name: str):
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(name, examples / f"{name}.py")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
        return loaded[name]

    return load
