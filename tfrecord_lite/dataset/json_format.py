"""json_train/ and json_val/: one image, one JSON and (for segmentation) one mask per sample.

``<stem>.json`` = ``{"image", "width", "height", "objects": [{"class_id", "label", "bbox",
"track"?}], "mask"?, "tags"?}``; ``<stem>_mask.png`` is 8-bit single channel, 0 = background,
k + 1 = classes[k].  Unlike TFRecords this format carries segmentation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .sample import Sample

FOLDERS = {"train": "json_train", "validation": "json_val"}


def stems(names: Sequence[str]) -> list[str]:
    """A unique file stem per sample name (``a.jpg`` and ``a.png`` must not share ``a.json``)."""
    seen: set[str] = set()
    out = []
    for name in names:
        stem = name.rsplit(".", 1)[0] if "." in name else name
        if stem in seen:
            stem = name.replace(".", "_")
        n = 1
        base = stem
        while stem in seen:
            n += 1
            stem = f"{base}_{n}"
        seen.add(stem)
        out.append(stem)
    return out


def write_sample(
    folder: Path, sample: Sample, stem: str, image: bytes, classes: Sequence[str]
) -> int:
    """Write one sample's files; returns the bytes written."""
    ext = sample.name.rsplit(".", 1)[1] if "." in sample.name else "img"
    image_name = f"{stem}.{ext}"
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
    for obj, track in zip(doc["objects"], sample.tracks):  # video jobs: each box's object
        obj["track"] = track
    (folder / f"{stem}.json").write_bytes(text := dump(doc))
    return size + len(text)


def dump(doc: object) -> bytes:
    """UTF-8 JSON; a string that UTF-8 cannot hold (a lone surrogate from a manifest's escapes)
    is written as its ``\\uXXXX`` escape instead, which JSON readers take back as it was."""
    try:
        return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(doc, ensure_ascii=True, indent=1).encode("ascii")
