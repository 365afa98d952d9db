"""json_train/ and json_val/: one image, one JSON and (for segmentation) one mask per sample.

``<stem>.json`` = ``{"image", "width", "height", "objects": [{"class_id", "label", "bbox"}],
"mask"?, "tags"?}``; ``<stem>_mask.png`` is 8-bit single channel, 0 = background,
k + 1 = classes[k].  Unlike TFRecords this format carries segmentation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .per_image import image_file
from .sample import Sample

FOLDERS = {"train": "json_train", "validation": "json_val"}


def write_sample(
    folder: Path, sample: Sample, stem: str, image: bytes, classes: Sequence[str]
) -> int:
    """Write one sample's files; returns the bytes written."""
    image_name = image_file(stem, sample.name)
    doc: dict = {
        "image": image_name,
        "width": sample.width,
        "height": sample.height,
        "objects": [
            {
                "class_id": b.class_index,
                "label": classes[b.class_index],
                "bbox": [b.cx, b.cy, b.w, b.h],
            }
            for b in sample.boxes
        ],
    }
    size = len(image)
    (folder / image_name).write_bytes(image)
    if sample.read_mask is not None:
        mask = sample.read_mask()
        doc["mask"] = f"{stem}_mask.png"
        (folder / doc["mask"]).write_bytes(mask)
        size += len(mask)
    if sample.tags:
        doc["tags"] = list(sample.tags)
    text = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    (folder / f"{stem}.json").write_bytes(text)
    return size + len(text)
