"""json_train/ and json_val/: ModelPack's JSON format, one image and one ``<stem>.json`` each.

``{"image": "<stem>.<ext>", "dimension": [W, H], "boxes": [[cx, cy, w, h, k], ...],
"segment": [{"polygon": [[x, y], ...], "class": k}, ...], "tags"?: [...], "tracks"?: [...]}``
(``tracks``: each box's object in a video job), all coordinates
normalised by the image's width and height, ``k`` the 0-based index into ``classes``.  A
segmentation mask becomes one polygon per connected region of each class (``polygons``): what
ModelPack rasterises itself; it reads no PNG mask, so none is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain, cycle
from pathlib import Path

from tfrecord_lite.pipeline.formats import polygons
from tfrecord_lite.pipeline.formats.per_image import image_file
from tfrecord_lite.pipeline.sample import Sample

FOLDERS = {"train": "json_train", "validation": "json_val"}


def segments(mask_png: bytes, width: int, height: int) -> list[dict]:
    """ModelPack's ``segment`` list from a class-index mask (0 = background, k + 1 = class k)."""
    return [
        {"polygon": polygons.normalised(outline, width, height), "class": value - 1}
        for value, outline in polygons.mask_outlines(mask_png, width, height)
    ]


def document(sample: Sample, image_name: str) -> dict:
    """The JSON of one sample."""
    doc = _head(sample, image_name)
    doc["segment"] = [] if sample.read_mask is None \
        else segments(sample.read_mask(), sample.width, sample.height)
    doc.update(_tail(sample))
    return doc


def _head(sample: Sample, image_name: str) -> dict:
    return {"image": image_name, "dimension": [sample.width, sample.height],
            "boxes": [[b.cx, b.cy, b.w, b.h, b.class_index] for b in sample.boxes]}


def _tail(sample: Sample) -> dict:
    tail: dict = {}
    if sample.tags:
        tail["tags"] = list(sample.tags)
    if sample.tracks:  # video jobs: each box's object, in the order of ``boxes``
        tail["tracks"] = list(sample.tracks)
    return tail


def text(sample: Sample, image_name: str) -> bytes:
    """``dump(document(sample, image_name))``, the segment list written from the mask's pixels
    (``polygons.mask_pixels``) and each coordinate's text taken from :func:`_coordinates`."""
    doc = _head(sample, image_name)
    doc["segment"] = []
    doc.update(_tail(sample))
    out = dump(doc)
    if sample.read_mask is None:
        return out
    # the first '"segment":[]' is the key: what precedes it is numbers and a string, in which
    # every '"' is escaped
    at = out.index(b'"segment":[]') + len(b'"segment":[')
    width, height = sample.width, sample.height
    tables = (_coordinates(width, "["), _coordinates(height, "]"))
    parts = []
    for value, outline in polygons.region_outlines(
            polygons.mask_pixels(sample.read_mask), width, height):
        # x, y, x, y, ...: a cycle of its own, as map takes one more table than it uses
        pairs = ",".join(map(dict.__getitem__, cycle(tables), chain.from_iterable(outline)))
        parts.append(f'{{"polygon":[{pairs}],"class":{value - 1}}}')
    return out[:at] + ",".join(parts).encode("ascii") + out[at:]


class _Coordinates(dict):
    """Pixel coordinate -> the JSON of ``polygons.normalised``'s value for it, made when first
    asked (the same function and ``repr`` that ``json.dumps`` writes a float with), an x with
    its pair's ``[`` before it, a y with the ``]`` after it."""

    def __init__(self, size: int, bracket: str) -> None:
        super().__init__()
        self.size, self.bracket = size, bracket

    def __missing__(self, v: float) -> str:
        text = repr(polygons.normalised([(v, v)], self.size, self.size)[0][0])
        out = self[v] = "[" + text if self.bracket == "[" else text + "]"
        return out


@lru_cache(maxsize=32)  # a dataset of many sizes: the memory stays bounded
def _coordinates(size: int, bracket: str) -> _Coordinates:
    return _Coordinates(size, bracket)


def write_sample(
    folder: Path, sample: Sample, stem: str, image: bytes, classes: Sequence[str]
) -> int:
    """Write one sample's image and JSON; returns the bytes written."""
    image_name = image_file(stem, sample.name)
    (folder / image_name).write_bytes(image)
    data = text(sample, image_name)
    (folder / f"{stem}.json").write_bytes(data)
    return len(image) + len(data)


def dump(doc: object) -> bytes:
    """Compact UTF-8 JSON (polygons are long); a string that UTF-8 cannot hold (a lone
    surrogate from a manifest's escapes) is written as its ``\\uXXXX`` escape instead, which
    JSON readers take back as it was."""
    try:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(doc, ensure_ascii=True, separators=(",", ":")).encode("ascii")
