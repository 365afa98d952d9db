"""The Sample: the one thing the Ground Truth side hands to the dataset side.

Both are named tuples, not dataclasses: a 100,000-line manifest holds 100,000 samples and
several times as many boxes, and a tuple is about a third of the size of an object with a dict.
"""

from __future__ import annotations

from typing import Callable, NamedTuple


class Box(NamedTuple):
    """One object: an index into the dataset's class list and a YOLO box normalised to [0, 1]."""

    class_index: int
    cx: float
    cy: float
    w: float
    h: float


class Sample(NamedTuple):
    """One labelled image, ready to encode.

    ``name`` is the output file name (unique in the dataset, extension kept), ``width`` and
    ``height`` are those of the bytes ``read_image()`` returns (the upright image when it was
    re-encoded for EXIF).  ``read_mask`` (segmentation only) returns an 8-bit single-channel PNG
    of the same size: 0 = background, k + 1 = classes[k].  Loading is deferred so images stream;
    both callables are picklable, so samples can cross to worker processes.  ``image_bytes``
    lets the converter lay out shards before reading any image.
    """

    source_ref: str
    line: int
    name: str
    width: int
    height: int
    read_image: Callable[[], bytes]
    boxes: tuple[Box, ...] = ()
    tags: tuple[str, ...] = ()
    read_mask: Callable[[], bytes] | None = None
    image_bytes: int | None = None  # len(read_image()) when known without reading it
