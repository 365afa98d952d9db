"""Sample <-> tf.train.Example in the ModelPack schema.

``image`` (the stored image bytes), ``image_name`` (bytes), ``width`` and ``height`` (int64, of
the image as stored), ``objects`` (int64 indices into ``classes``) and ``bboxes`` (float32 YOLO
``cx, cy, w, h`` normalised, flattened, 4 per object).
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tfrecord_lite.format._accel import ext
from tfrecord_lite.format.errors import ExampleError
from tfrecord_lite.format.wire import (
    FloatValues,
    IntValues,
    bytes_entry_head,
    field,
    field_head,
    int64_feature,
    map_entry,
    varint,
)
from tfrecord_lite.pipeline.sample import Box, Sample, class_indices, yolo_values

#: feature name -> the kind of list it must hold
SCHEMA: Mapping[str, type] = {
    "image": bytes,
    "image_name": bytes,
    "width": int,
    "height": int,
    "objects": int,
    "bboxes": float,
}


_K = {k: field(0x0A, k) for k in (b"bboxes", b"height", b"image_name", b"image", b"objects",
                                  b"width")}


_SIZES: dict[tuple[bytes, int], bytes] = {}  # (key, value) -> map entry; image sizes repeat


def _size_entry(key: bytes, value: int) -> bytes:
    entry = map_entry(_K[key], field(0x1A, field(0x0A, varint(value))))
    if len(_SIZES) < 4096:
        _SIZES[key, value] = entry
    return entry


def record_parts(
    image_len: int,
    name: str,
    width: int,
    height: int,
    objects: Sequence[int],
    bboxes: Sequence[float],
) -> tuple[bytes, bytes]:
    """``(prefix, suffix)`` of the ModelPack Example whose image is ``image_len`` bytes: the
    record is ``prefix + image + suffix``.  Its size is known before the image is read, which
    lets the converter lay out shards first and write them in parallel.  Keys are in protobuf's
    deterministic order (a key sorts after the longer keys it prefixes)."""
    if _encode_parts is not None and type(name) is str and type(bboxes) in _LISTS:
        parts = _encode_parts({
            "bboxes": FloatValues(bboxes), "height": IntValues((height,)), "image": image_len,
            "image_name": name, "objects": IntValues(objects), "width": IntValues((width,)),
        }, "image")
        if parts is not None:
            return parts
    n = len(bboxes)
    try:
        floats = field(0x0A, struct.pack(f"<{n}f", *bboxes)) if n else b""
    except (OverflowError, struct.error) as exc:
        raise ExampleError(f"bboxes {bboxes[:8]!r}: not float32 values ({exc})") from None
    head = b"".join(
        (
            map_entry(_K[b"bboxes"], field(0x12, floats)),
            _SIZES.get((b"height", height)) or _size_entry(b"height", height),
            map_entry(_K[b"image_name"], field(0x0A, field(0x0A, name.encode("utf-8")))),
            bytes_entry_head(_K[b"image"], image_len),  # the image follows
        )
    )
    tail = map_entry(_K[b"objects"], int64_feature(objects)) + (
        _SIZES.get((b"width", width)) or _size_entry(b"width", width)
    )
    total = len(head) + image_len + len(tail)
    return field_head(0x0A, total) + head, tail


_LISTS = (list, tuple, array)  # the bboxes the C path takes (others: the code below decides)
# The C core's encoder of an Example around one bytes value (the image), where it is built:
# the parts the code after the call makes, or None (it then makes them, or raises its error)
_encode_parts = ext.encode_example_parts if ext is not None else None


def encode_record(
    image: bytes, name: str, width: int, height: int, objects: list[int], bboxes: list[float]
) -> bytes:
    """The ModelPack Example with the field order written out (the converter's hot path): the
    same bytes as ``encode_example`` on the same values, without its type dispatch."""
    prefix, suffix = record_parts(len(image), name, width, height, objects, bboxes)
    return b"".join((prefix, image, suffix))


def sample_parts(sample: Sample, image_len: int) -> tuple[bytes, bytes]:
    """``record_parts`` for a sample."""
    return record_parts(
        image_len,
        sample.name,
        sample.width,
        sample.height,
        class_indices(sample.boxes),
        yolo_values(sample.boxes),
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
    from tfrecord_lite.format.example import (
        decode_example,  # protobuf: loaded only by those who read records
    )

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
