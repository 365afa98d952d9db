"""Segmentation masks -> polygons, what ModelPack's JSON format carries (it reads no PNG mask).

Per class, each 8-connected region is traced along its pixel edges over run-length rows (no
per-pixel Python loop, no numpy), then moved half a pixel inwards: the vertices are the centres
of the region's boundary pixels, OpenCV's ``findContours`` convention, so ``(0, 0)`` is the
top-left pixel and filling the polygon with its edges included (``cv2.fillPoly``, Pillow's
``ImageDraw.polygon``) gives the region back; a one-pixel-wide line or a single pixel becomes a
polygon of no area that such a fill still draws.

A region's holes (other classes or background inside it) are kept: each is joined to the
region's outline by a zero-width cut down a pixel column of the region, so one polygon per
region carries them and an even-odd or non-zero fill leaves them empty (the cut's pixels belong
to the region anyway).  Outlines are then simplified with Douglas-Peucker at
:data:`TOLERANCE` pixels: no edge moves further than that.

``region_outlines`` runs in C (``_tracer.c``, chosen by ``format._accel.load``) where it is
built; the Python functions here are its reference and give the same outlines, type for type.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tfrecord_lite.format._accel import TRACER, load

TOLERANCE = 0.4  # pixels an outline may move when simplified (0.5 loses thin lines' pixels)
_RUNS = re.compile(rb"(.)\1*", re.DOTALL)

Point = tuple[float, float]


def class_runs(data: bytes, width: int, height: int) -> dict[int, list[list[tuple[int, int]]]]:
    """value -> rows -> ``[start, end)`` runs of that value, for every non-zero value."""
    out: dict[int, list[list[tuple[int, int]]]] = {}
    for y in range(height):
        row = data[y * width : (y + 1) * width]
        if not row.strip(b"\x00"):
            continue
        for m in _RUNS.finditer(row):
            value = row[m.start()]
            if value:
                rows = out.get(value)
                if rows is None:
                    rows = out[value] = [[] for _ in range(height)]
                rows[y].append(m.span())
    return out


def _components(rows: list[list[tuple[int, int]]]) -> list[list[int]]:
    """An 8-connected component label per run, row by row (union-find over touching runs)."""
    parent: list[int] = []

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    labels: list[list[int]] = []
    previous: list[tuple[int, int]] = []
    prev_labels: list[int] = []
    for runs in rows:
        here = []
        j = 0
        for a, b in runs:
            label = len(parent)
            parent.append(label)
            while j < len(previous) and previous[j][1] < a:  # ends before a-1: cannot touch
                j += 1
            k = j
            while k < len(previous) and previous[k][0] <= b:  # [pa, pb) touches [a, b) 8-wise
                ra, rb = find(prev_labels[k]), find(label)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
                k += 1
            here.append(label)
        labels.append(here)
        previous, prev_labels = runs, here
    return [[find(i) for i in row] for row in labels]


#: one 8-connected region of a mask: its value and its pixels as ``(y, start, end)`` runs
Region = tuple[int, list[tuple[int, int, int]]]


def mask_regions(mask: bytes, width: int, height: int) -> list[Region]:
    """Each 8-connected region of each non-zero value of an 8-bit mask (``width * height``
    bytes, row by row) with its pixel runs: the instances ``-f tfod`` makes of a class mask,
    in the order ``region_outlines`` gives their polygons."""
    out = []
    for value, rows in sorted(class_runs(mask, width, height).items()):
        labels = _components(rows)
        regions: dict[int, list[tuple[int, int, int]]] = {}
        for y, (runs, row_labels) in enumerate(zip(rows, labels)):
            for (a, b), label in zip(runs, row_labels):
                regions.setdefault(label, []).append((y, a, b))
        out += [(value, runs) for _, runs in sorted(regions.items())]
    return out


def _minus(a: int, b: int, others: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[a, b)`` without the runs of ``others`` (sorted): the pixels with no run beside them."""
    pieces = []
    for c, d in others:
        if d <= a:
            continue
        if c >= b:
            break
        if c > a:
            pieces.append((a, c))
        a = max(a, d)
        if a >= b:
            return pieces
    if a < b:
        pieces.append((a, b))
    return pieces


def _edges(rows: list[list[tuple[int, int]]], labels: list[list[int]]) -> dict[int, list]:
    """label -> the region's directed boundary edges ``(x0, y0, x1, y1)``, the region on the
    right of the direction of travel (y down): outlines run clockwise, holes anticlockwise."""
    out: dict[int, list] = {}
    none: list[tuple[int, int]] = []
    last = len(rows) - 1
    for y, runs in enumerate(rows):
        above = rows[y - 1] if y else none
        below = rows[y + 1] if y < last else none
        for (a, b), label in zip(runs, labels[y]):
            edges = out.get(label)
            if edges is None:
                edges = out[label] = []
            edges.append((a, y + 1, a, y))
            edges.append((b, y, b, y + 1))
            for c, d in _minus(a, b, above):
                edges.append((c, y, d, y))
            for c, d in _minus(a, b, below):
                edges.append((d, y + 1, c, y + 1))
    return out


def _loops(edges: list, stride: int, saddles: set[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Chain edges into closed loops of vertices; where two pixels touch only at a corner (a
    saddle, added to ``saddles``) the walk turns to keep them in one region."""
    starts: dict[int, list[int]] = {}
    for i, (x0, y0, _, _) in enumerate(edges):
        starts.setdefault(y0 * stride + x0, []).append(i)
    used = [False] * len(edges)
    loops = []
    for key, out in starts.items():
        if len(out) > 1:
            saddles.add((key % stride, key // stride))
    # a walk starts away from saddles, so it arrives at each and takes the turn that joins
    order = [i for i in range(len(edges)) if len(starts[edges[i][1] * stride + edges[i][0]]) == 1]
    for first in order + list(range(len(edges))):
        if used[first]:
            continue
        loop = []
        e = first
        while not used[e]:
            used[e] = True
            x0, y0, x1, y1 = edges[e]
            loop.append((x0, y0))
            options = [i for i in starts[y1 * stride + x1] if not used[i]]
            if not options:
                break
            if len(options) > 1:  # a corner shared by two pixels: the turn that joins them
                dx, dy = x1 - x0, y1 - y0
                options.sort(key=lambda i: dx * (edges[i][3] - y1) - dy * (edges[i][2] - x1))
            e = options[0]
        loops.append(loop)
    return loops


def _area2(loop: Sequence[Point]) -> float:
    """Twice the signed area; positive for outlines (clockwise on screen, y down)."""
    n = len(loop)
    return sum(loop[i][0] * loop[(i + 1) % n][1] - loop[(i + 1) % n][0] * loop[i][1]
               for i in range(n))


class _Ring:
    """A loop as a linked list of vertices, so holes can be spliced in where they join."""

    def __init__(self) -> None:
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.nxt: list[int] = []
        self.rightward: dict[float, list[int]] = {}  # y -> nodes starting a rightward edge
        self.cut: dict[int, float] = {}  # node of a cut -> its half-pixel move (down or up)

    def add(self, loop: Sequence[tuple[int, int]]) -> int:
        base = len(self.xs)
        n = len(loop)
        for i, (x, y) in enumerate(loop):
            self.xs.append(x)
            self.ys.append(y)
            self.nxt.append(base + (i + 1) % n)
        for i in range(base, base + n):
            self._index(i)
        return base

    def _index(self, i: int) -> None:
        j = self.nxt[i]
        if self.ys[i] == self.ys[j] and self.xs[i] < self.xs[j]:
            self.rightward.setdefault(self.ys[i], []).append(i)

    def _node(self, x: float, y: float, nxt: int) -> int:
        self.xs.append(x)
        self.ys.append(y)
        self.nxt.append(nxt)
        return len(self.xs) - 1

    def join(self, hole: Sequence[tuple[int, int]], top: int, column: int) -> None:
        """Splice ``hole`` in by a zero-width cut at ``x = column + 0.5`` from its top edge up
        to the rightward edge at ``y = top`` already in the ring."""
        cx = column + 0.5
        start = self.add(hole)
        n = len(hole)
        ty = min(y for _, y in hole)
        # the hole's top-left corner (column, ty) ends a leftward edge (hole anticlockwise)
        q = start + next(i for i, p in enumerate(hole) if p == (column, ty))
        p = start + (q - start - 1) % n
        a = next(i for i in self.rightward[top] if self.xs[i] <= cx <= self.xs[self.nxt[i]])
        b = self.nxt[a]
        o2 = self._node(cx, top, b)
        h2 = self._node(cx, ty, o2)
        h1 = self._node(cx, ty, q)
        o1 = self._node(cx, top, h1)
        self.nxt[a] = o1
        self.nxt[p] = h2
        self.rightward[top].append(o2)
        self.cut.update({o1: 0.5, o2: 0.5, h1: -0.5, h2: -0.5})

    def corners(self, start: int) -> list[Point]:
        """The loop from ``start`` as traced: on the pixels' edges, where pixel ``(x, y)``
        spans ``[x, x + 1) x [y, y + 1)`` (COCO's coordinates)."""
        out = []
        i = start
        while True:
            out.append((self.xs[i], self.ys[i]))
            i = self.nxt[i]
            if i == start:
                return out

    def centres(self, start: int, saddles: set[tuple[int, int]]) -> list[Point]:
        """The loop from ``start``, each corner moved half a pixel into the region (onto the
        boundary pixels' centres: right of the way round, for both the edges meeting there),
        then by -0.5 so pixel centres are integers.  The cut's nodes move only along it; a
        saddle becomes the centres of its two pixels, joined diagonally."""
        prev = [0] * len(self.nxt)
        for i, j in enumerate(self.nxt):
            prev[j] = i
        out = []
        i = start
        xs, ys, nxt, cut = self.xs, self.ys, self.nxt, self.cut
        while True:
            x, y = xs[i], ys[i]
            if i in cut:
                out.append((x - 0.5, y + cut[i] - 0.5))
            else:
                p, n = prev[i], nxt[i]
                ax, ay = _sign(x - xs[p]), _sign(y - ys[p])
                bx, by = _sign(xs[n] - x), _sign(ys[n] - y)
                if (x, y) in saddles:
                    out.append((x - 0.5 * (ax + ay) - 0.5, y + 0.5 * (ax - ay) - 0.5))
                    out.append((x + 0.5 * (bx - by) - 0.5, y + 0.5 * (by + bx) - 0.5))
                else:
                    out.append((x - 0.5 * (ay + by) - 0.5, y + 0.5 * (ax + bx) - 0.5))
            i = nxt[i]
            if i == start:
                return out



def _sign(v: float) -> int:
    return (v > 0) - (v < 0)


_PIECE = 128  # vertices per Douglas-Peucker run: bounds its quadratic worst case


def _simplify(points: list[Point], tolerance: float) -> list[Point]:
    """Douglas-Peucker on a closed loop: split at the vertex farthest from the first, and into
    runs of at most :data:`_PIECE` vertices (their ends are kept)."""
    n = len(points)
    if n <= 4:
        return points
    x0, y0 = points[0]
    far = max(range(n), key=lambda i: (points[i][0] - x0) ** 2 + (points[i][1] - y0) ** 2)
    keep = [False] * (n + 1)
    ring = points + points[:1]
    ends = sorted({0, far, n, *range(0, n, _PIECE)})
    for i in ends:
        keep[i] = True
    stack = list(zip(ends, ends[1:]))
    tol2 = tolerance * tolerance
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    while stack:
        i, j = stack.pop()
        if j - i < 2:
            continue
        ax, ay, bx, by = xs[i], ys[i], xs[j], ys[j]
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        best, worst = -1.0, -1
        # distance to the segment, not the line: a spike running along it is kept
        for k, px, py in zip(range(i + 1, j), xs[i + 1 : j], ys[i + 1 : j]):
            ux, uy = px - ax, py - ay
            along = ux * dx + uy * dy
            if along <= 0.0:
                d2 = ux * ux + uy * uy
            elif along >= length2:
                d2 = (px - bx) ** 2 + (py - by) ** 2
            else:
                cross = ux * dy - uy * dx
                d2 = cross * cross / length2
            if d2 > best:
                best, worst = d2, k
        if best > tol2:
            keep[worst] = True
            stack.append((i, worst))
            stack.append((worst, j))
    return [points[i] for i in range(n) if keep[i]]


def _straight(loop: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop vertices in the middle of straight runs (unit vertical edges make many)."""
    n = len(loop)
    out = []
    for i in range(n):
        (ax, ay), (bx, by), (cx, cy) = loop[i - 1], loop[i], loop[(i + 1) % n]
        if (bx - ax) * (cy - by) != (by - ay) * (cx - bx):
            out.append(loop[i])
    return out


def _at_least_three(points: list[Point]) -> list[Point]:
    """Without repeated vertices, but never fewer than three (readers that want a polygon get
    one): a single pixel is its centre three times, a straight line goes there and back."""
    out = [p for i, p in enumerate(points) if p != points[i - 1]] or points[:1]
    while len(out) < 3:
        out.append(out[-1] if len(out) == 1 else out[0])
    return out


def _rows_of(mask: bytes, width: int, value: int, x: int, y: int) -> int:
    """The first row above ``y`` from which column ``x`` holds ``value`` down to ``y``."""
    while y > 0 and mask[(y - 1) * width + x] == value:
        y -= 1
    return y


def mask_outlines(mask_png: bytes, width: int, height: int, on_edges: bool = False
                  ) -> list[tuple[int, list[Point]]]:
    """``region_outlines`` of a class-index mask PNG (0 = background, k + 1 = class k)."""
    return region_outlines(mask_bytes(mask_png), width, height, on_edges=on_edges)


def mask_pixels(read_mask: Callable[[], bytes]) -> bytes:
    """``Sample.read_mask``'s mask as ``width * height`` bytes, row by row: its reader's own
    ``pixels()`` where it has one (the mask decoded once, no PNG made to be read back), else
    its PNG decoded."""
    pixels = getattr(read_mask, "pixels", None)
    return pixels() if pixels is not None else mask_bytes(read_mask())


def mask_bytes(mask_png: bytes) -> bytes:
    """A mask PNG's pixels, one byte each, row by row."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(mask_png)) as mask:
        return (mask if mask.mode == "L" else mask.convert("L")).tobytes()  # (L: no copy)


def region_outlines(
    mask: bytes, width: int, height: int, tolerance: float = TOLERANCE, on_edges: bool = False
) -> list[tuple[int, list[Point]]]:
    """``(value, polygon)`` per 8-connected region of each non-zero value of an 8-bit mask
    (``width * height`` bytes, row by row), vertices on boundary pixels' centres (``on_edges``:
    on the pixels' outer edges, for readers that rasterise areas, like COCO's), holes joined
    in; ordered by value, then by the region's first pixel.  By the C tracer where it is built
    and the mask is whole and within its size (where its arithmetic is exact)."""
    tracer = load(TRACER)
    if (tracer is not None and 0 < width and 0 < height
            and width * height <= tracer.MAX_PIXELS and len(mask) >= width * height):
        return tracer.region_outlines(mask, width, height, float(tolerance), on_edges)
    return region_outlines_py(mask, width, height, tolerance, on_edges)


def region_outlines_py(
    mask: bytes, width: int, height: int, tolerance: float = TOLERANCE, on_edges: bool = False
) -> list[tuple[int, list[Point]]]:
    """``region_outlines`` in pure Python: the reference the C tracer is tested against."""
    out = []
    stride = width + 1
    for value, rows in sorted(class_runs(mask, width, height).items()):
        labels = _components(rows)
        for _, edges in sorted(_edges(rows, labels).items()):
            saddles: set[tuple[int, int]] = set()
            loops = [_straight(loop) for loop in _loops(edges, stride, saddles)]
            outline = max(loops, key=_area2)
            ring = _Ring()
            start = ring.add(outline)
            holes = [loop for loop in loops if loop is not outline]
            for hole in sorted(holes, key=lambda h: min((y, x) for x, y in h)):
                ty, column = min((y, x) for x, y in hole)
                top = _rows_of(mask, width, value, column, ty)
                ring.join(hole, top, column)
            loop = ring.corners(start) if on_edges else ring.centres(start, saddles)
            out.append((value, _at_least_three(_simplify(loop, tolerance))))
    return out


_NUDGE = 0.002  # pixels past the centre: floor and round of x * W both land on pixel x


def normalised(polygon: Sequence[Point], width: int, height: int) -> list[list[float]]:
    """A polygon as ModelPack reads it: ``[[x / W, y / H], ...]``, pixel ``i``'s centre at
    ``i / W``, so every value is in [0, 1).  Each is written :data:`_NUDGE` pixels past the
    centre, with 7 decimals: a reader that truncates ``x * W`` (Pillow's fill, ``int()``) then
    finds the same pixel as one that rounds, where a value a hair below would land one short."""
    tracer = load(TRACER)
    out = None if tracer is None or type(polygon) is not list else tracer.normalised(
        polygon, width, height)
    return normalised_py(polygon, width, height) if out is None else out


def normalised_py(polygon: Sequence[Point], width: int, height: int) -> list[list[float]]:
    """``normalised`` in pure Python: the reference of the C one."""
    return [[round((x + _NUDGE) / width, 7), round((y + _NUDGE) / height, 7)]
            for x, y in polygon]
