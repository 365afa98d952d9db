"""Which path the format library runs: the optional C core (``_speedups``, built by setup.py
where a compiler works) or the pure-Python reference it mirrors.  The converter's mask tracer
(``pipeline/formats/_tracer.c``) is chosen the same way, by :func:`load`.

``TFRECORD_LITE_PURE=1`` forces the pure path (read once at import for the format library, at
each :func:`load`): the unit suite runs both ways, and a user who suspects the extension can
rule it out without reinstalling.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from dataclasses import dataclass
from types import ModuleType

PURE_ENV = "TFRECORD_LITE_PURE"
TRACER = "tfrecord_lite.pipeline.formats._tracer"  # named, not imported: it is a layer above


@dataclass(frozen=True)
class Speedups:
    """What ``tfrecord_lite.speedups`` and ``tfrecord-lite --version`` report."""

    compiled: bool
    detail: str

    def __str__(self) -> str:
        return self.detail


def _pure() -> bool:
    return os.environ.get(PURE_ENV, "").strip() not in ("", "0")


def load(name: str) -> ModuleType | None:
    """The C extension ``name`` (dotted), or None on the pure path: ``TFRECORD_LITE_PURE`` set,
    or the extension not built."""
    if _pure():
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _load() -> tuple[ModuleType | None, Speedups]:
    if _pure():
        return None, Speedups(False, f"pure Python, {PURE_ENV} is set")
    tracer = "C mask tracer" if importlib.util.find_spec(TRACER) else "mask tracer not built"
    _speedups = load("tfrecord_lite.format._speedups")
    if _speedups is None:
        return None, Speedups(False, f"pure Python, the C speedups are not built, {tracer}")
    return _speedups, Speedups(True, f"C speedups, {_speedups.CRC_KIND} CRC-32C, {tracer}")


ext, speedups = _load()
"""The extension module (None on the pure path), and the description of the path in use."""
