"""What the builders share: finding the local folder (manual folder, then graphnsl's defaults)."""

from __future__ import annotations

import pathlib


def manual_folder(dl_manager) -> pathlib.Path | None:
    """The TFDS manual folder when one is set and not empty, else None."""
    try:
        return pathlib.Path(dl_manager.manual_dir)
    except AssertionError:  # TFDS's way of saying: none set, or missing, or empty
        return None
