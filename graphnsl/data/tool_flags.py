"""absl flags shared by the data tools (`graphnsl build-graph`, `graphnsl pack-nbrs`)."""

from __future__ import annotations

from typing import Any


def define_once(kind: str, name: str, default: Any, help_text: str) -> None:
    """Defines `--name` with `flags.DEFINE_<kind>` unless a tool already defined it."""
    from absl import flags

    if name not in flags.FLAGS:
        getattr(flags, f"DEFINE_{kind}")(name, default, help_text)


def define_id_feature_flag() -> None:
    """`--id_feature_name`, the node-id feature both tools read (NSL's flag)."""
    define_once(
        "string", "id_feature_name", "id", "Bytes feature that holds each Example's node id."
    )
