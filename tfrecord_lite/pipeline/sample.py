"""The Sample: the one thing the Ground Truth side hands to the dataset side.

Samples are named tuples and a sample's boxes one array of doubles: a 100,000-line manifest
holds 100,000 samples and several times as many boxes until their images are written.
"""

from __future__ import annotations

import io
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import NamedTuple, overload


class Box(NamedTuple):
    """One object: an index into the dataset's class list and a YOLO box normalised to [0, 1]."""

    class_index: int
    cx: float
    cy: float
    w: float
    h: float


class Boxes(Sequence[Box]):
    """An immutable sequence of Box kept as one array of doubles (40 bytes a box, not ~150)."""

    __slots__ = ("_v",)

    def __init__(self, boxes: Iterable[Box] = ()) -> None:
        self._v = array("d", [v for box in boxes for v in box])

    @classmethod
    def _of(cls, values: array) -> Boxes:
        new = cls.__new__(cls)
        new._v = values
        return new

    def __len__(self) -> int:
        return len(self._v) // 5

    @overload
    def __getitem__(self, i: int) -> Box: ...
    @overload
    def __getitem__(self, i: slice) -> tuple[Box, ...]: ...
    def __getitem__(self, i: int | slice) -> Box | tuple[Box, ...]:
        if isinstance(i, slice):
            return tuple(self)[i]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("box index out of range")
        v = self._v
        return Box(int(v[5 * i]), v[5 * i + 1], v[5 * i + 2], v[5 * i + 3], v[5 * i + 4])

    def __iter__(self) -> Iterator[Box]:
        v = self._v
        for j in range(0, len(v), 5):
            yield Box(int(v[j]), v[j + 1], v[j + 2], v[j + 3], v[j + 4])

    def class_indices(self) -> list[int]:
        """Every box's class index, in order (without making a Box per box)."""
        return list(map(int, self._v[0::5]))

    def yolo_values(self) -> array:
        """Every box's ``cx, cy, w, h``, flattened: ModelPack's ``bboxes`` feature."""
        v = self._v
        out = array("d", bytes(len(v) // 5 * 32))
        for k in range(4):
            out[k::4] = v[k + 1 :: 5]
        return out

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Boxes, tuple, list)):
            return tuple(self) == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"Boxes({list(self)!r})"

    def __reduce__(self):
        return (Boxes._of, (self._v,))


class Sample(NamedTuple):
    """One labelled image, ready to encode.

    ``name`` is the output file name (unique in the dataset, extension kept), ``width`` and
    ``height`` are those of the bytes ``read_image()`` returns (the upright image when it was
    re-encoded for EXIF).  ``read_mask`` (segmentation only) returns an 8-bit single-channel PNG
    of the same size: 0 = background, k + 1 = classes[k]; the readers here also have a
    ``pixels()`` giving those pixels unencoded (``polygons.mask_pixels`` takes either).
    Loading is deferred so images stream;
    both callables are picklable, so samples can cross to worker processes.  ``image_bytes``
    lets the converter lay out shards before reading any image.
    """

    source_ref: str
    line: int
    name: str
    width: int
    height: int
    read_image: Callable[[], bytes]
    boxes: Sequence[Box] = ()  # a Boxes, or any sequence of Box
    tags: tuple[str, ...] = ()
    read_mask: Callable[[], bytes] | None = None
    image_bytes: int | None = None  # len(read_image()) when known without reading it
    tracks: tuple[str, ...] = ()  # per box, the object's track in a video job (else empty)
    crowd: tuple[bool, ...] = ()  # per box, COCO iscrowd (empty: none is)
    difficult: tuple[bool, ...] = ()  # per box, Pascal VOC difficult (empty: none is)
    truncated: tuple[bool, ...] = ()  # per box, Pascal VOC truncated (empty: none is)
    # the mask paints the boxes' own objects (a COCO or YOLO source's segmentation), so its
    # regions are no objects of their own: -f coco and -f tfod write the boxes alone
    mask_of_boxes: bool = False


def grey_png(pixels: bytes | bytearray, width: int, height: int) -> bytes:
    """``width * height`` bytes, row by row, as the 8-bit single-channel PNG ``read_mask``
    returns (and -f tfod stores per object): one encoder, so every mask PNG is made alike."""
    from PIL import Image  # only segmentation and tfod masks need it

    out = io.BytesIO()
    Image.frombytes("L", (width, height), bytes(pixels)).save(out, "PNG")
    return out.getvalue()


def class_indices(boxes: Sequence[Box]) -> list[int]:
    """The class index of each box, from a Boxes or any sequence of Box."""
    if isinstance(boxes, Boxes):
        return boxes.class_indices()
    return [b.class_index for b in boxes]


def yolo_values(boxes: Sequence[Box]) -> Sequence[float]:
    """``cx, cy, w, h`` of each box, flattened, from a Boxes or any sequence of Box."""
    if isinstance(boxes, Boxes):
        return boxes.yolo_values()
    return [x for b in boxes for x in (b.cx, b.cy, b.w, b.h)]


def box_flags(flags: Sequence[bool], n: int) -> list[int]:
    """A per-box flag (``Sample.crowd``, ``Sample.difficult``, ...) as 0/1 for each of ``n`` boxes;
    an empty tuple means no box has it."""
    return [int(bool(flags[j])) if j < len(flags) else 0 for j in range(n)] if flags else [0] * n
