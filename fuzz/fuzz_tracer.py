"""Fuzz target: the C mask tracer (pipeline/formats/_tracer.c) gives the pure-Python tracer's
outlines, point for point and type for type, on every mask (the first bytes pick the width,
height, number of values, tolerance and corner/centre mode, the rest are the pixels), and the
same normalised coordinates for -f json.

Masks are at most SIDE x SIDE (260 input bytes): room for holes in holes, saddles and borders,
small enough for a million inputs under the sanitizers (big masks are the unit tests' job).
Under scripts/asan.sh (FUZZ_C_COVERAGE=1) the C tracer carries its own coverage counters and the
pure reference is not instrumented: instrumented, it ran about 40 inputs a second, not 300."""

from __future__ import annotations

import importlib
import os
import sys
from contextlib import nullcontext

import atheris

with atheris.instrument_imports() if not os.environ.get("FUZZ_C_COVERAGE") else nullcontext():
    from tfrecord_lite.format._accel import TRACER, load
    from tfrecord_lite.pipeline.formats.polygons import normalised_py, region_outlines_py

SIDE = 16
TOLERANCES = (0.0, 0.4, 0.9, 2.5)


def _typed(outlines: list) -> list:
    return [(v, [tuple((type(c), c) for c in p) for p in polygon]) for v, polygon in outlines]


def test_one_input(data: bytes, tracer=None) -> None:
    if len(data) < 4:
        return
    width, height = 1 + data[0] % SIDE, 1 + data[1] % SIDE
    values, flags = data[2], data[3]
    pixels = data[4:4 + width * height].ljust(width * height, b"\x00")
    if values % 8:  # few values (most masks), else the bytes as they are: up to 255 classes
        pixels = bytes(b % (1 + values % 8) for b in pixels)
    tolerance, on_edges = TOLERANCES[flags % 4], bool(flags & 4)
    expected = _typed(region_outlines_py(pixels, width, height, tolerance, on_edges))
    outlines = tracer.region_outlines(pixels, width, height, tolerance, on_edges)
    assert _typed(outlines) == expected, (width, height, pixels, tolerance, on_edges)
    if not on_edges:
        for _, polygon in outlines:
            assert tracer.normalised(polygon, width, height) == normalised_py(
                polygon, width, height)


if __name__ == "__main__":
    module = load(TRACER) or importlib.import_module(TRACER)  # differential: needs the C side
    # inputs past the mask's bytes would be ignored: libFuzzer is told (a later -max_len wins)
    argv = [sys.argv[0], f"-max_len={4 + SIDE * SIDE}", *sys.argv[1:]]
    atheris.Setup(argv, lambda data: test_one_input(data, module))
    atheris.Fuzz()
