"""Sample <-> tf.train.Example in the ModelPack schema.

``image`` (the stored image bytes), ``image_name`` (bytes), ``width`` and ``height`` (int64, of
the image as stored), ``objects`` (int64 indices into ``classes``) and ``bboxes`` (float32 YOLO
``cx, cy, w, h`` normalised, flattened, 4 per object).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import ExampleError
from ..example import _hdr, _varint, decode_example
from .sample import Box, Sample

_F32 = 3.4028234663852886e38
_K_IMAGE = b"\x0a\x05image"

#: feature name -> the kind of list it must hold
SCHEMA: Mapping[str, type] = {
    "image": bytes,
    "image_name": bytes,
    "width": int,
    "height": int,
    "objects": int,
    "bboxes": float,
}


def _entry(key: bytes, feature: bytes) -> bytes:
    """A Features map entry {key, value} (field 1), key and serialised Feature given."""
    body = _hdr(0x0A, len(key)) + key + _hdr(0x12, len(feature)) + feature
    return _hdr(0x0A, len(body)) + body


def _ints(values) -> bytes:
    packed = b"".join(_varint(v) for v in values)
    return _hdr(0x1A, len(packed) + len(_hdr(0x0A, len(packed))) if packed else 0) + (
        _hdr(0x0A, len(packed)) + packed if packed else b""
    )


def encode_record(
    image: bytes, name: str, width: int, height: int, objects: list[int], bboxes: list[float]
) -> bytes:
    """The ModelPack Example with the field order written out (the converter's hot path): the
    same bytes as ``encode_example`` on the same values, without its type dispatch."""
    for v in bboxes:
        if not -_F32 <= v <= _F32:
            raise ExampleError(f"bbox value {v!r} is not a finite float32")
    n = len(bboxes)
    packed = _hdr(0x0A, 4 * n) + struct.pack(f"<{n}f", *bboxes) if n else b""
    name_b = name.encode("utf-8")
    name_list = _hdr(0x0A, len(name_b)) + name_b
    image_head = _hdr(0x0A, len(image))  # the image is never copied before the final join
    image_list_len = len(image_head) + len(image)
    image_feature_head = _hdr(0x0A, image_list_len)
    image_feature_len = len(image_feature_head) + image_list_len
    image_body_head = _K_IMAGE + _hdr(0x12, image_feature_len)
    image_entry_head = _hdr(0x0A, len(image_body_head) + image_feature_len)
    parts = [
        _entry(b"bboxes", _hdr(0x12, len(packed)) + packed),  # protobuf's deterministic order:
        _entry(b"height", _ints((height,))),  # a key sorts after longer keys it prefixes
        _entry(b"image_name", _hdr(0x0A, len(name_list)) + name_list),
        image_entry_head + image_body_head + image_feature_head + image_head,
        image,
        _entry(b"objects", _ints(objects)),
        _entry(b"width", _ints((width,))),
    ]
    total = sum(map(len, parts))
    return b"".join((_hdr(0x0A, total), *parts))


def encode(sample: Sample, image: bytes) -> bytes:
    """The serialised Example for one sample, given the bytes to store as ``image``."""
    bboxes: list[float] = []
    for b in sample.boxes:
        bboxes += (b.cx, b.cy, b.w, b.h)
    return encode_record(
        image,
        sample.name,
        sample.width,
        sample.height,
        [b.class_index for b in sample.boxes],
        bboxes,
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
