"""The Sample: the one thing the Ground Truth side hands to the dataset side."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass(frozen=True)
class Box:
    """One object: an index into the dataset's class list and a YOLO box normalised to [0, 1]."""

    class_index: int
    cx: float
    cy: float
    w: float
    h: float


@dataclass(frozen=True)
class Sample:
    """One labelled image, ready to encode.

    ``name`` is the output file name (unique in the dataset, extension kept), ``width`` and
    ``height`` are those of the bytes ``read_image()`` returns (the upright image when it was
    re-encoded for EXIF).  ``read_mask`` (segmentation only) returns an 8-bit single-channel PNG
    of the same size: 0 = background, k + 1 = classes[k].  Loading is deferred so images stream.
    """

    source_ref: str
    line: int
    name: str
    width: int
    height: int
    read_image: Callable[[], bytes] = field(repr=False, compare=False)
    boxes: tuple[Box, ...] = ()
    tags: tuple[str, ...] = ()
    read_mask: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
