"""Which path the format library runs: the optional C core (``_speedups``, built by setup.py
where a compiler works) or the pure-Python reference it mirrors.

``TFRECORD_LITE_PURE=1`` forces the pure path, read once at import: the unit suite runs both
ways, and a user who suspects the extension can rule it out without reinstalling.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType

PURE_ENV = "TFRECORD_LITE_PURE"


@dataclass(frozen=True)
class Speedups:
    """What ``tfrecord_lite.speedups`` and ``tfrecord-lite --version`` report."""

    compiled: bool
    detail: str

    def __str__(self) -> str:
        return self.detail


def _load() -> tuple[ModuleType | None, Speedups]:
    if os.environ.get(PURE_ENV, "").strip() not in ("", "0"):
        return None, Speedups(False, f"pure Python, {PURE_ENV} is set")
    try:
        from tfrecord_lite.format import _speedups
    except ImportError:
        return None, Speedups(False, "pure Python, the C speedups are not built")
    return _speedups, Speedups(True, f"C speedups, {_speedups.CRC_KIND} CRC-32C")


ext, speedups = _load()
"""The extension module (None on the pure path), and the description of the path in use."""
