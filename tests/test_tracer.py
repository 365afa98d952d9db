"""The C mask tracer (tfrecord_lite/pipeline/formats/_tracer.c) against the pure-Python
reference it mirrors (``polygons.region_outlines_py``): the same outlines, point for point and
type for type, on generated masks of every awkward shape (holes in holes, saddles, lines one
pixel wide, the image's edges, many classes, empty, full, one pixel, one row, one column), on
random ones, and through the command line, where ``-f json`` and ``-f coco`` datasets are the
same bytes with and without ``TFRECORD_LITE_PURE=1``."""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from gt_helpers import seg_line, write_manifest
from hypothesis import given, settings
from hypothesis import strategies as st
from mask_cases import realistic_mask
from PIL import Image
from test_convert import digest

from tfrecord_lite.format._accel import TRACER
from tfrecord_lite.pipeline.formats import polygons

BUILT = importlib.util.find_spec(TRACER) is not None
needs_c = pytest.mark.skipif(not BUILT, reason="the C mask tracer is not built")


def _typed(outlines: list) -> list:
    """Outlines with each coordinate's type: the pure path has ints on the edges but floats for
    a cut's x, and JSON writes ``1`` and ``1.0`` differently."""
    return [(value, [tuple((type(v), v) for v in p) for p in polygon])
            for value, polygon in outlines]


def _both(mask: bytes, width: int, height: int, tolerance: float, on_edges: bool):
    tracer = importlib.import_module(TRACER)
    c = tracer.region_outlines(mask, width, height, tolerance, on_edges)
    py = polygons.region_outlines_py(mask, width, height, tolerance, on_edges)
    return _typed(c), _typed(py)


def _grid(rows: list[str]) -> tuple[bytes, int, int]:
    """A mask drawn as text, one character a pixel: ``.`` is 0, a digit its value."""
    return (bytes(0 if ch == "." else int(ch) for row in rows for ch in row),
            len(rows[0]), len(rows))


def _concentric(size: int, values: list[int]) -> tuple[bytes, int, int]:
    """Squares inside squares, each of the next value: holes in holes in holes."""
    data = bytearray(size * size)
    for y in range(size):
        for x in range(size):
            ring = min(x, y, size - 1 - x, size - 1 - y)
            data[y * size + x] = values[ring % len(values)]
    return bytes(data), size, size


def _cases() -> dict[str, tuple[bytes, int, int]]:
    rng = random.Random(28)
    out = {
        "empty": (bytes(20), 5, 4),
        "full": (b"\x01" * 21, 7, 3),
        "full 255": (b"\xff" * 12, 4, 3),
        "1x1 background": (b"\x00", 1, 1),
        "1x1": (b"\x07", 1, 1),
        "one column": (bytes(rng.choice([0, 1, 1, 2]) for _ in range(40)), 1, 40),
        "one row": (bytes(rng.choice([0, 1, 1, 2]) for _ in range(40)), 40, 1),
        "checkerboard": (bytes((x + y) % 2 for y in range(9) for x in range(11)), 11, 9),
        "checkerboard of two classes": (
            bytes(1 + (x + y) % 2 for y in range(8) for x in range(8)), 8, 8),
        "nested holes": _concentric(15, [1, 0]),
        "nested classes": _concentric(17, [1, 2, 0, 3]),
        "border ring": _grid(["11111", "1...1", "1.2.1", "1...1", "11111"]),
        "saddles": _grid(["1.1.", ".1.1", "1..1", ".11.", "1..1"]),
        "diagonal chain": _grid(["1....", ".1...", "..1..", "...1.", "....1"]),
        "lines one pixel wide": _grid(["1111111", ".......", "2.2.3.3", "2.2.3.3",
                                       ".......", "4444444"]),
        "hole under a hole": _grid(["11111", "1.111", "11111", "1.111", "11111", "1.1.1",
                                    "11111"]),
        "holes side by side": _grid(["1111111", "1.1.1.1", "1111111"]),
        "holes touching at a corner": _grid(["11111", "1.111", "11.11", "11111"]),
        "hole reaching the cut's column": _grid(["111111", "1....1", "1.11.1", "1.1..1",
                                                 "1.1111", "111111"]),
        "many classes": (bytes(rng.randrange(256) for _ in range(40 * 30)), 40, 30),
        "every value in stripes": (bytes(v for v in range(256) for _ in range(3)), 3, 256),
        "sparse noise": (bytes(rng.choice([0] * 6 + [1, 2]) for _ in range(33 * 21)), 33, 21),
        "dense noise": (bytes(rng.choice([0, 1, 1, 1]) for _ in range(33 * 21)), 33, 21),
    }
    for seed, (w, h) in enumerate([(64, 48), (320, 180), (181, 97), (1280, 720)]):
        out[f"realistic {w}x{h}"] = (realistic_mask(w, h, seed).tobytes(), w, h)
    return out


CASES = _cases()


@needs_c
@pytest.mark.parametrize("on_edges", [False, True])
@pytest.mark.parametrize("tolerance", [0.0, polygons.TOLERANCE, 1.5])
@pytest.mark.parametrize("name", sorted(CASES))
def test_the_c_tracer_gives_the_pure_outlines(name, tolerance, on_edges) -> None:
    mask, width, height = CASES[name]
    c, py = _both(mask, width, height, tolerance, on_edges)
    assert c == py
    if name.startswith("realistic"):
        assert len(c) > 10  # the case exercises something


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.integers(1, 14), st.integers(1, 14), st.lists(st.integers(0, 3), min_size=1),
       st.integers(0, 2**32), st.booleans(), st.sampled_from([0.0, 0.4, 0.9]))
def test_random_masks_trace_the_same(width, height, palette, seed, on_edges, tolerance) -> None:
    rng = random.Random(seed)
    mask = bytes(rng.choice(palette) for _ in range(width * height))
    c, py = _both(mask, width, height, tolerance, on_edges)
    assert c == py


@needs_c
def test_a_mask_longer_than_its_pixels_is_read_to_its_size() -> None:
    mask, width, height = CASES["dense noise"]
    assert _both(mask + b"\x05" * 9, width, height, 0.4, False) == _both(
        mask, width, height, 0.4, False)


@needs_c
def test_the_c_tracer_refuses_what_it_cannot_trace_exactly() -> None:
    tracer = importlib.import_module(TRACER)
    for mask, width, height in [(b"\x01" * 8, 3, 3), (b"", 0, 5), (b"", 5, -1),
                                (b"\x01" * 4, tracer.MAX_PIXELS + 1, 1)]:
        with pytest.raises(ValueError):
            tracer.region_outlines(mask, width, height, 0.4, False)


def test_region_outlines_falls_back_to_the_pure_tracer_where_the_c_one_refuses() -> None:
    short = b"\x01" * 7  # 3x3 wants 9 bytes: the pure path reads what there is
    assert polygons.region_outlines(short, 3, 3) == polygons.region_outlines_py(short, 3, 3)
    assert polygons.region_outlines(b"", 0, 0) == [] == polygons.region_outlines(b"", 4, -2)


def _near_ties(rng: random.Random) -> list[tuple[float, float]]:
    """Points whose ``x + 0.002`` is within two ulps of a 7-decimal tie (``k + 0.5`` over 10^7),
    where ``round(v, 7)`` is decided by the last bits."""
    out = []
    for _ in range(3000):
        v = (rng.randrange(10**7) + 0.5) / 1e7
        for steps in (-2, -1, 0, 1, 2):
            u = v
            for _ in range(abs(steps)):
                u = math.nextafter(u, math.copysign(math.inf, steps))
            out.append((u - 0.002, 1.0 - u))
    out += [(m / 256 - 0.002, m / 512) for m in range(4000)]  # exact binary ties
    return out


@needs_c
def test_normalised_in_c_rounds_as_python_does() -> None:
    tracer = importlib.import_module(TRACER)
    rng = random.Random(7)
    for w, h in [(1, 1), (3, 7), (181, 97), (640, 480), (1280, 720), (1920, 1080), (4096, 3)]:
        grid = [(x / 2, rng.randrange(2 * h) / 2) for x in range(-2, 2 * w + 2)]
        loose = [(rng.uniform(-5, w + 5), rng.uniform(-5, h + 5)) for _ in range(2000)]
        for points in (grid, loose):
            assert tracer.normalised(points, w, h) == polygons.normalised_py(points, w, h)
    ties = _near_ties(rng)
    assert tracer.normalised(ties, 1, 1) == polygons.normalised_py(ties, 1, 1)


@needs_c
def test_normalised_leaves_to_python_what_is_not_float_pairs() -> None:
    tracer = importlib.import_module(TRACER)
    for points, w, h in [([(1, 2.0)], 4, 4), ([(1.0, 2.0, 3.0)], 4, 4), ([[1.0, 2.0]], 4, 4),
                         ([(1.0, 2.0)], 0, 4), ([(math.nan, 1.0)], 4, 4)]:
        assert tracer.normalised(points, w, h) is None
    for points in ([(1, 2)], ((0.5, 1.5),)):
        assert polygons.normalised(points, 4, 4) == polygons.normalised_py(points, 4, 4)


def _run(args: list, pure: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "TFRECORD_LITE_PURE"}
    if pure is not None:
        env["TFRECORD_LITE_PURE"] = pure
    return subprocess.run([sys.executable, *map(str, args)], env=env, capture_output=True,
                          text=True, check=True).stdout.strip()


def test_tfrecord_lite_pure_forces_the_pure_tracer_and_version_says_which() -> None:
    code = ["-c", "from tfrecord_lite.format._accel import TRACER, load; "
            "print(load(TRACER) is not None)"]
    assert _run(code, "1") == "False"
    assert _run(code, None) == str(BUILT) == _run(code, "0")
    version = ["-m", "tfrecord_lite", "--version"]
    assert "mask tracer" not in _run(version, "1")
    version = _run(version, None)
    assert ("C mask tracer" in version) == BUILT, version


_COLOURS = {0: ("BACKGROUND", "#ffffff"), 1: ("road", "#ff0000"), 2: ("sky", "#0000ff"),
            3: ("car", "#00ff00"), 4: ("sign", "#ffff00")}
_PALETTE = [255, 255, 255, 255, 0, 0, 0, 0, 255, 0, 255, 0, 255, 255, 0] + [0] * 741


def _segmentation_job(root: Path) -> Path:
    """Palette PNG masks as Ground Truth writes them, of the tests' generated kinds."""
    (root / "images").mkdir(parents=True)
    lines = []
    for i, (w, h) in enumerate([(320, 180), (181, 97), (64, 48), (1, 9), (9, 1)]):
        Image.new("RGB", (w, h), (200, 200, 200)).save(root / "images" / f"p{i}.jpg", "JPEG")
        mask = realistic_mask(w, h, 40 + i) if min(w, h) > 1 else Image.frombytes(
            "L", (w, h), bytes(j % 3 for j in range(w * h)))
        mask.putpalette(_PALETTE)
        mask.save(root / f"p{i}_mask.png")
        lines.append(seg_line(f"s3://b/images/p{i}.jpg", f"s3://b/p{i}_mask.png", _COLOURS))
    return write_manifest(root / "output.manifest", lines)


@needs_c
@pytest.mark.parametrize("fmt", ["json", "coco"])
def test_the_cli_writes_the_same_bytes_with_and_without_the_c_tracer(tmp_path, fmt) -> None:
    manifest = _segmentation_job(tmp_path / "job")
    digests = []
    for pure in ("1", None):
        out = tmp_path / f"out-{pure}"
        _run(["-m", "tfrecord_lite", "convert", "-a", manifest, "-o", out, "-q", "-f", fmt,
              "-s", "0.4"], pure)
        digests.append(digest(out))
    assert digests[0] == digests[1]
    assert len(digests[0]) >= 5
