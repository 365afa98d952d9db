"""The mask tracer: one polygon per 8-connected region of each class, holes kept, filled back
with Pillow it gives the mask again (IoU >= 0.97 per class per image), simplified by no more than
its tolerance.  Masks are generated (``mask_cases``); OpenCV's outlines are compared in the
compat suite, where OpenCV is installed."""

from __future__ import annotations

import math
from collections import deque

import pytest
from mask_cases import filled, iou, plane, realistic_mask
from PIL import Image

from tfrecord_lite.pipeline.formats import polygons


def _regions(mask: Image.Image, value: int) -> int:
    """8-connected regions of ``value``, counted by a plain flood fill (an independent count)."""
    w, h = mask.size
    data = mask.tobytes()
    seen = bytearray(w * h)
    count = 0
    for start in range(w * h):
        if data[start] != value or seen[start]:
            continue
        count += 1
        seen[start] = 1
        todo = deque([start])
        while todo:
            i = todo.popleft()
            x, y = i % w, i // w
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    nx, ny = x + dx, y + dy
                    j = ny * w + nx
                    if 0 <= nx < w and 0 <= ny < h and data[j] == value and not seen[j]:
                        seen[j] = 1
                        todo.append(j)
    return count


def _outlines(mask: Image.Image, tolerance: float = polygons.TOLERANCE):
    return polygons.region_outlines(mask.tobytes(), *mask.size, tolerance)


@pytest.mark.parametrize("seed", range(6))
def test_filled_back_the_polygons_give_the_mask(seed) -> None:
    mask = realistic_mask(320, 180, seed)
    outlines = _outlines(mask)
    for value in sorted({v for v in mask.tobytes() if v}):
        got = iou(plane(mask, value), filled(outlines, mask.size, value))
        assert got >= 0.97, (seed, value, got)
        assert sum(v == value for v, _ in outlines) == _regions(mask, value), (seed, value)


@pytest.mark.parametrize("seed", range(3))
def test_unsimplified_outlines_are_exact(seed) -> None:
    mask = realistic_mask(200, 120, seed)
    outlines = _outlines(mask, 0.0)
    for value in sorted({v for v in mask.tobytes() if v}):
        assert iou(plane(mask, value), filled(outlines, mask.size, value)) == 1.0, (seed, value)


def _distance(p, a, b) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    if not dx and not dy:
        return math.hypot(px - ax, py - ay)
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def test_simplification_moves_no_vertex_further_than_the_tolerance() -> None:
    mask = realistic_mask(160, 90, 7)
    exact, simple = _outlines(mask, 0.0), _outlines(mask)
    assert [v for v, _ in exact] == [v for v, _ in simple]
    assert sum(map(len, (p for _, p in simple))) < sum(map(len, (p for _, p in exact)))
    for (_, full), (_, kept) in zip(exact, simple):
        edges = list(zip(kept, kept[1:] + kept[:1]))
        for point in full:
            assert min(_distance(point, a, b) for a, b in edges) <= polygons.TOLERANCE + 1e-9


def test_holes_stay_empty_and_the_region_is_one_polygon() -> None:
    mask = Image.new("L", (40, 30), 0)
    mask.paste(1, (5, 5, 35, 25))
    mask.paste(0, (10, 10, 15, 15))  # a background hole
    mask.paste(2, (20, 10, 30, 20))  # another class inside
    mask.paste(0, (24, 14, 26, 16))  # and a hole inside that
    outlines = _outlines(mask)
    assert [v for v, _ in outlines] == [1, 2]
    for value in (1, 2):
        assert iou(plane(mask, value), filled(outlines, mask.size, value)) == 1.0


def test_specks_diagonals_and_the_border() -> None:
    mask = Image.new("L", (8, 6), 0)
    for x, y in [(0, 0), (3, 2), (4, 3), (5, 4), (7, 5)]:  # a corner, a diagonal chain, a corner
        mask.putpixel((x, y), 1)
    outlines = _outlines(mask)
    assert len(outlines) == 3 and all(len(p) >= 3 for _, p in outlines)
    assert outlines[0][1] == [(0.0, 0.0)] * 3  # a single pixel: its centre
    assert iou(plane(mask, 1), filled(outlines, mask.size, 1)) == 1.0
    assert all(0 <= x <= 7 and 0 <= y <= 5 for _, p in outlines for x, y in p)


def test_normalised_is_inside_the_unit_square() -> None:
    mask = Image.new("L", (10, 4), 3)
    ((value, outline),) = _outlines(mask)
    assert value == 3
    points = polygons.normalised(outline, 10, 4)
    assert all(0 < v < 1 for p in points for v in p)
    # both truncating and rounding readers find the corner pixels again
    for fix in (int, round):
        assert sorted((fix(x * 10), fix(y * 4)) for x, y in points) == [
            (0, 0), (0, 3), (9, 0), (9, 3)]


def test_a_realistic_1280x720_mask_traces_faithfully() -> None:
    # speed is measured in make bench's masks section, not here
    mask = realistic_mask(1280, 720, 1)
    data = mask.tobytes()
    outlines = polygons.region_outlines(data, 1280, 720)
    for value in sorted(set(data) - {0}):
        assert iou(plane(mask, value), filled(outlines, mask.size, value)) >= 0.97
