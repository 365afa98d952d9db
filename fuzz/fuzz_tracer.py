"""Fuzz target: the C mask tracer (pipeline/formats/_tracer.c) gives the pure-Python tracer's
outlines, point for point and type for type, on every mask (the first bytes pick the width,
height, number of values, tolerance and corner/centre mode, the rest are the pixels), and the
same normalised coordinates for -f json."""

from __future__ import annotations

import importlib
import sys

import atheris

with atheris.instrument_imports():
    from tfrecord_lite.format._accel import TRACER, load
    from tfrecord_lite.pipeline.formats.polygons import normalised_py, region_outlines_py

TOLERANCES = (0.0, 0.4, 0.9, 2.5)


def _typed(outlines: list) -> list:
    return [(v, [tuple((type(c), c) for c in p) for p in polygon]) for v, polygon in outlines]


def test_one_input(data: bytes, tracer=None) -> None:
    if len(data) < 4:
        return
    width, height = 1 + data[0] % 24, 1 + data[1] % 24
    values, flags = data[2], data[3]
    pixels = data[4:4 + width * height].ljust(width * height, b"\x00")
    if values % 8:  # few values (most masks), else the bytes as they are: up to 255 classes
        pixels = bytes(b % (1 + values % 8) for b in pixels)
    tolerance, on_edges = TOLERANCES[flags % 4], bool(flags & 4)
    expected = _typed(region_outlines_py(pixels, width, height, tolerance, on_edges))
    got = _typed(tracer.region_outlines(pixels, width, height, tolerance, on_edges))
    assert got == expected, (width, height, pixels, tolerance, on_edges)
    if not on_edges:
        outlines = tracer.region_outlines(pixels, width, height, tolerance, False)
        for _, polygon in outlines:
            assert tracer.normalised(polygon, width, height) == normalised_py(
                polygon, width, height)


if __name__ == "__main__":
    module = load(TRACER) or importlib.import_module(TRACER)  # differential: needs the C side
    atheris.Setup(sys.argv, lambda data: test_one_input(data, module))
    atheris.Fuzz()
