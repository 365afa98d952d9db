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
    doc: dict = {
        "image": image_name,
        "dimension": [sample.width, sample.height],
        "boxes": [[b.cx, b.cy, b.w, b.h, b.class_index] for b in sample.boxes],
        "segment": [] if sample.read_mask is None
        else segments(sample.read_mask(), sample.width, sample.height),
    }
    if sample.tags:
        doc["tags"] = list(sample.tags)
    if sample.tracks:  # video jobs: each box's object, in the order of ``boxes``
        doc["tracks"] = list(sample.tracks)
    return doc


def write_sample(
    folder: Path, sample: Sample, stem: str, image: bytes, classes: Sequence[str]
) -> int:
    """Write one sample's image and JSON; returns the bytes written."""
    image_name = image_file(stem, sample.name)
    (folder / image_name).write_bytes(image)
    text = dump(document(sample, image_name))
    (folder / f"{stem}.json").write_bytes(text)
    return len(image) + len(text)


def dump(doc: object) -> bytes:
    """Compact UTF-8 JSON (polygons are long); a string that UTF-8 cannot hold (a lone
    surrogate from a manifest's escapes) is written as its ``\\uXXXX`` escape instead, which
    JSON readers take back as it was."""
    try:
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(doc, ensure_ascii=True, separators=(",", ":")).encode("ascii")
