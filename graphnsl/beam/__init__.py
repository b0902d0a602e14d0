"""Apache Beam pipelines of graphnsl's graph tools: same outputs, any Beam runner.

`graphnsl.beam.pack_nbrs` (`PackNbrs`, `run`) and `graphnsl.beam.build_graph`
(`BuildGraph`, `run`) are imported on first use, so `import graphnsl.beam` stays fast. They
need Apache Beam, an optional extra: `pip install 'graphnsl[beam]'`.
"""

from __future__ import annotations

import importlib
import importlib.util

_SUBMODULES = ("pack_nbrs", "build_graph")

if importlib.util.find_spec("apache_beam") is None:
    raise ImportError(
        "graphnsl.beam needs Apache Beam, which is not installed: pip install 'graphnsl[beam]'"
    )

__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBMODULES))
