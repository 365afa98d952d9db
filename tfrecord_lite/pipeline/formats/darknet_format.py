"""darknet_train/ and darknet_val/: per image the image file and ``<stem>.txt``.

One line per box, ``k cx cy w h``: the 0-based class index and the YOLO box normalised to
[0, 1], six decimals; an image without boxes gets an empty file (a labelled negative).  Images
and labels share their split folder, and ``dataset_info.yaml`` (``type: darknet``) points both
``images`` and ``annotations`` at it: the layout ModelPack's darknet reader, Au-Zone's
``deepview-datasets`` and most YOLO tools read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tfrecord_lite.pipeline.formats.per_image import image_file
from tfrecord_lite.pipeline.sample import Sample

FOLDERS = {"train": "darknet_train", "validation": "darknet_val"}


def label_text(sample: Sample) -> str:
    """The ``<stem>.txt`` text of one sample."""
    return "".join(
        f"{b.class_index} {b.cx:.6f} {b.cy:.6f} {b.w:.6f} {b.h:.6f}\n" for b in sample.boxes
    )


def read_labels(path: Path) -> list[tuple[int, float, float, float, float]]:
    """The boxes of a ``<stem>.txt`` as ``(k, cx, cy, w, h)``, lines that are not skipped
    (``verify`` reports them); none when the file is missing."""
    boxes = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return boxes
    for line in text.splitlines():
        fields = line.split()
        try:
            k, cx, cy, w, h = int(fields[0]), *map(float, fields[1:])
        except (ValueError, IndexError, TypeError):
            continue
        boxes.append((k, cx, cy, w, h))
    return boxes


def write_sample(
    folder: Path, sample: Sample, stem: str, image: bytes, classes: Sequence[str]
) -> int:
    """Write one sample's image and label file; returns the bytes written."""
    (folder / image_file(stem, sample.name)).write_bytes(image)
    text = label_text(sample).encode("ascii")
    (folder / f"{stem}.txt").write_bytes(text)
    return len(image) + len(text)
