"""Sample <-> tf.train.Example in the ModelPack schema.

``image`` (the stored image bytes), ``image_name`` (bytes), ``width`` and ``height`` (int64, of
the image as stored), ``objects`` (int64 indices into ``classes``) and ``bboxes`` (float32 YOLO
``cx, cy, w, h`` normalised, flattened, 4 per object).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..example import BytesValues, FloatValues, IntValues, decode_example, encode_example
from .sample import Box, Sample

#: feature name -> the kind of list it must hold
SCHEMA: Mapping[str, type] = {
    "image": bytes,
    "image_name": bytes,
    "width": int,
    "height": int,
    "objects": int,
    "bboxes": float,
}


def encode(sample: Sample, image: bytes) -> bytes:
    """The serialised Example for one sample, given the bytes to store as ``image``."""
    bboxes: list[float] = []
    for b in sample.boxes:
        bboxes += (b.cx, b.cy, b.w, b.h)
    return encode_example(
        {
            "image": BytesValues((image,)),
            "image_name": BytesValues((sample.name.encode("utf-8"),)),
            "width": IntValues((sample.width,)),
            "height": IntValues((sample.height,)),
            "objects": IntValues(b.class_index for b in sample.boxes),
            "bboxes": FloatValues(bboxes),
        }
    )


@dataclass(frozen=True)
class Record:
    """One ModelPack record read back."""

    image: bytes
    image_name: str
    width: int
    height: int
    boxes: tuple[Box, ...]


def decode(data: bytes) -> Record:
    """Parse a ModelPack Example; raises ``ExampleError``/``KeyError``-free ``ValueError`` on bad
    schema (use ``verify`` for a full report)."""
    f = decode_example(data)
    missing = [k for k in SCHEMA if k not in f]
    if missing:
        raise ValueError(f"not a ModelPack record: missing feature(s) {', '.join(missing)}")
    objects, flat = f["objects"], f["bboxes"]
    if len(flat) != 4 * len(objects):
        raise ValueError(f"{len(flat)} bbox values for {len(objects)} objects (needs 4 each)")
    boxes = tuple(Box(int(c), *flat[4 * i : 4 * i + 4]) for i, c in enumerate(objects))
    return Record(
        image=f["image"][0] if f["image"] else b"",
        image_name=f["image_name"][0].decode("utf-8", "replace") if f["image_name"] else "",
        width=int(f["width"][0]) if f["width"] else 0,
        height=int(f["height"][0]) if f["height"] else 0,
        boxes=boxes,
    )
