"""-f tfod: tf.train.Examples for the TF Object Detection API and TF Model Garden, written
without TensorFlow.

``tfod_train/train-00000-of-0000N.tfrecord`` and ``tfod_val/val-...`` (the converter's shard
plan, as -f tfrecord) plus ``label_map.pbtxt`` (``item { id: 1 name: 'cat' }`` per class,
1-based, in class order).  The keys are those the decoders read (Model Garden's
``TfExampleDecoder``, the OD API's ``TfExampleDecoder``):

- ``image/encoded``, ``image/format`` (``jpeg``/``png``/... from the bytes), ``image/height``,
  ``image/width``, ``image/filename`` (the sample's output name), ``image/source_id`` (the
  sample's 1-based number in manifest order, a decimal string: Model Garden's parsers turn it
  into an int64 image id for COCO evaluation), ``image/key/sha256`` (hex, of the image bytes);
- per object ``image/object/bbox/{xmin,xmax,ymin,ymax}`` (normalised to [0, 1]),
  ``image/object/class/label`` (1-based: 0 is the background class) and ``class/text``,
  ``image/object/area`` (COCO's convention, in pixels: the box's ``w * h`` for a box, the
  pixel count for a segmentation region), ``image/object/is_crowd`` and
  ``image/object/difficult`` (0/1, from ``Sample.crowd``/``Sample.difficult``);
- with ``masks``, ``image/object/mask``: one PNG per object, full image size, 1 on the object's
  pixels and 0 elsewhere (what ``TfExampleDecoder(include_mask=True)`` decodes).

Objects are the sample's boxes, then, for a segmentation sample, each 8-connected region of each
class of its mask (a semantic mask cannot tell touching instances of one class apart, so a
connected region is one instance), unless the mask paints the boxes' own objects
(``Sample.mask_of_boxes``: a COCO or YOLO source's segmentation), when the boxes are all.  A
box's mask, with ``masks``, is its class's mask pixels inside the box when the sample has a
mask, else the filled box.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tfrecord_lite.format.errors import ExampleError
from tfrecord_lite.format.wire import bytes_entry_head, field, field_head, int64_feature, map_entry
from tfrecord_lite.pipeline.formats.polygons import mask_pixels
from tfrecord_lite.pipeline.sample import (
    Sample,
    box_flags,
    class_indices,
    grey_png,
    yolo_values,
)

FOLDERS = {"train": ("tfod_train", "train"), "validation": ("tfod_val", "val")}
LABEL_MAP = "label_map.pbtxt"

#: feature name -> the kind of list it holds (``image/object/mask`` only with ``--masks``)
SCHEMA: dict[str, type] = {
    "image/encoded": bytes,
    "image/filename": bytes,
    "image/format": bytes,
    "image/height": int,
    "image/key/sha256": bytes,
    "image/object/area": float,
    "image/object/bbox/xmax": float,
    "image/object/bbox/xmin": float,
    "image/object/bbox/ymax": float,
    "image/object/bbox/ymin": float,
    "image/object/class/label": int,
    "image/object/class/text": bytes,
    "image/object/difficult": int,
    "image/object/is_crowd": int,
    "image/source_id": bytes,
    "image/width": int,
}
MASK = "image/object/mask"
PER_OBJECT = tuple(k for k in SCHEMA if k.startswith("image/object/")) + (MASK,)

_K = {k: field(0x0A, k.encode()) for k in (*SCHEMA, MASK)}

# leading bytes -> image/format (what tf.io.decode_image reads; others by the name's extension)
_MAGIC = ((b"\xff\xd8\xff", b"jpeg"), (b"\x89PNG\r\n\x1a\n", b"png"), (b"GIF8", b"gif"),
          (b"BM", b"bmp"))


@dataclass(frozen=True)
class TfodObject:
    """One object of a record: a 0-based class index, its normalised box and pixel area."""

    class_index: int
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    area: float
    crowd: bool = False
    difficult: bool = False
    mask: bytes | None = None  # PNG, with ``masks``


def class_text(name: str) -> str:
    """A class's name as ``class/text`` and the label map give it: a lone surrogate (no UTF-8
    for it) as its ``\\udXXX`` escape, the same in both so that name lookups match."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def image_format(image: bytes, name: str) -> bytes:
    """``image/format`` from the image's first bytes (its name's extension if unknown)."""
    for magic, kind in _MAGIC:
        if image.startswith(magic):
            return kind
    ext = name.rsplit(".", 1)[1].lower() if "." in name else ""
    return (b"jpeg" if ext == "jpg" else ext.encode("ascii", "replace")) or b"unknown"


def _clamp(v: float) -> float:
    return 0.0 if v < 0.0 else 1.0 if v > 1.0 else v


def objects(sample: Sample, masks: bool = False) -> list[TfodObject]:
    """The sample's boxes, then its mask's regions, as written (see the module docstring)."""
    width, height = sample.width, sample.height
    crowd = box_flags(sample.crowd, len(sample.boxes))
    difficult = box_flags(sample.difficult, len(sample.boxes))
    pixels = mask_pixels(sample.read_mask) if sample.read_mask is not None else None
    out = []
    for j, b in enumerate(sample.boxes):
        x0, x1 = _clamp(b.cx - b.w / 2), _clamp(b.cx + b.w / 2)
        y0, y1 = _clamp(b.cy - b.h / 2), _clamp(b.cy + b.h / 2)
        png = None
        if masks:
            png = _box_mask(pixels, b.class_index + 1, width, height, x0, y0, x1, y1)
        out.append(TfodObject(b.class_index, x0, y0, x1, y1, b.w * b.h * (width * height),
                              bool(crowd[j]), bool(difficult[j]), png))
    if pixels is not None and not sample.mask_of_boxes:
        from tfrecord_lite.pipeline.formats.polygons import mask_regions

        for value, runs in mask_regions(pixels, width, height):
            ys = [y for y, _, _ in runs]
            x0, x1 = min(a for _, a, _ in runs), max(b for _, _, b in runs)
            area = sum(b - a for _, a, b in runs)
            png = _region_png(runs, width, height) if masks else None
            out.append(TfodObject(value - 1, x0 / width, min(ys) / height, x1 / width,
                                  (max(ys) + 1) / height, float(area), mask=png))
    return out


@lru_cache(maxsize=16)
def _texts(classes: tuple[str, ...]) -> list[bytes]:
    return [class_text(name).encode("utf-8") for name in classes]


@lru_cache(maxsize=4096)
def _labels(indices: tuple[int, ...], classes: tuple[str, ...]) -> bytes:
    """``class/label`` and ``class/text`` of objects of these classes: a few objects of a few
    classes make the same few lists over and over."""
    texts = _texts(classes)
    return _ints("image/object/class/label", [k + 1 for k in indices]) + \
        _bytes("image/object/class/text", [texts[k] for k in indices])


def _box_columns(sample: Sample) -> tuple[list, ...]:
    """``objects``' values as columns for a sample of boxes alone (no mask, no --masks): the
    same numbers, without a TfodObject per box (``_clamp`` written out: a call per value was
    a third of a record's time)."""
    v = yolo_values(sample.boxes)
    cx, cy, w, h = v[0::4], v[1::4], v[2::4], v[3::4]
    n = len(cx)
    pixels = sample.width * sample.height
    return (class_indices(sample.boxes),
            [a * b * pixels for a, b in zip(w, h)],
            [0.0 if x < 0.0 else 1.0 if x > 1.0 else x for x in
             [c + d / 2 for c, d in zip(cx, w)]],
            [0.0 if x < 0.0 else 1.0 if x > 1.0 else x for x in
             [c - d / 2 for c, d in zip(cx, w)]],
            [0.0 if x < 0.0 else 1.0 if x > 1.0 else x for x in
             [c + d / 2 for c, d in zip(cy, h)]],
            [0.0 if x < 0.0 else 1.0 if x > 1.0 else x for x in
             [c - d / 2 for c, d in zip(cy, h)]],
            box_flags(sample.difficult, n), box_flags(sample.crowd, n))


def _region_png(runs: Sequence[tuple[int, int, int]], width: int, height: int) -> bytes:
    data = bytearray(width * height)
    for y, a, b in runs:
        data[y * width + a : y * width + b] = b"\x01" * (b - a)
    return grey_png(data, width, height)


def _box_mask(pixels: bytes | None, value: int, width: int, height: int,
              x0: float, y0: float, x1: float, y1: float) -> bytes:
    """A box's instance mask: the pixels whose centres it holds, restricted to its class's
    pixels of the sample's mask when there is one."""
    c0, c1 = round(x0 * width), round(x1 * width)
    r0, r1 = round(y0 * height), round(y1 * height)
    data = bytearray(width * height)
    ones = b"\x01" * (c1 - c0)
    for y in range(r0, r1):
        if pixels is None:
            data[y * width + c0 : y * width + c1] = ones
        else:
            row = pixels[y * width + c0 : y * width + c1]
            data[y * width + c0 : y * width + c1] = bytes(v == value for v in row)
    return grey_png(data, width, height)


@lru_cache(maxsize=256)
def _packer(n: int) -> struct.Struct:
    return struct.Struct(f"<{n}f")


def _floats(key: str, values: Sequence[float]) -> bytes:
    try:
        packed = field(0x0A, _packer(len(values)).pack(*values)) if values else b""
    except (OverflowError, struct.error) as exc:
        raise ExampleError(f"{key} {list(values[:8])!r}: not float32 values ({exc})") from None
    return map_entry(_K[key], field(0x12, packed))  # Feature.float_list = 2


def _bytes(key: str, values: Sequence[bytes]) -> bytes:
    return map_entry(_K[key], field(0x0A, b"".join([field(0x0A, v) for v in values])))


def _ints(key: str, values: Sequence[int]) -> bytes:
    return map_entry(_K[key], int64_feature(values))


@lru_cache(maxsize=4096)
def _same(key: str, kind: str, value: int | bytes, n: int = 1) -> bytes:
    """The entry of ``n`` times one value: image sizes, formats and all-zero flags repeat from
    record to record, so each is encoded once."""
    if kind == "int":
        assert isinstance(value, int)
        return _ints(key, [value] * n)
    assert isinstance(value, bytes)
    return _bytes(key, [value] * n)


def _flags(key: str, flags: list[int]) -> bytes:
    return _ints(key, flags) if any(flags) else _same(key, "int", 0, len(flags))


#: ``image/key/sha256`` until ``with_key`` puts the image's hash there (64 bytes, as the hash's
#: hex; no feature before it in the suffix can hold 64 NULs: a name, a format, a height)
UNKEYED = bytes(64)
HEAD = 16  # bytes of an image that tell its format


def with_key(suffix: bytes, image: bytes) -> bytes:
    """``record_parts``'s suffix with the image's hex SHA-256 in ``image/key/sha256``: computed
    by whoever writes the image, from the very bytes written, without reading it twice."""
    at = suffix.find(UNKEYED)
    if at < 0:
        raise ValueError("the suffix has no image/key/sha256 left to fill")
    key = hashlib.sha256(image).hexdigest().encode("ascii")
    return b"".join((suffix[:at], key, suffix[at + len(UNKEYED):]))


def encode_record(sample: Sample, image: bytes, source_id: int, classes: Sequence[str],
                  masks: bool = False) -> bytes:
    """The sample's whole Example with ``image``, keyed."""
    prefix, suffix = record_parts(sample, len(image), image[:HEAD], source_id, classes, masks)
    return b"".join((prefix, image, with_key(suffix, image)))


def record_parts(sample: Sample, image_len: int, head: bytes, source_id: int,
                 classes: Sequence[str], masks: bool = False) -> tuple[bytes, bytes]:
    """``(prefix, suffix)`` of the sample's Example, its image ``image_len`` bytes starting with
    ``head``: the record is ``prefix + image + with_key(suffix, image)`` (the image copied once,
    by the writer; its size is all the shard plan needs).  Keys in protobuf's deterministic
    order, so the bytes equal ``SerializeToString(deterministic=True)``; ``image/encoded`` sorts
    first."""
    if (sample.read_mask is None or sample.mask_of_boxes) and not masks:
        cols = _box_columns(sample)  # the common case, without an object per box
    else:
        objs = objects(sample, masks)
        cols = ([o.class_index for o in objs], [o.area for o in objs], [o.xmax for o in objs],
                [o.xmin for o in objs], [o.ymax for o in objs], [o.ymin for o in objs],
                [int(o.difficult) for o in objs], [int(o.crowd) for o in objs])
    indices, area, xmax, xmin, ymax, ymin, difficult, crowd = cols
    tail = [
        _bytes("image/filename", [class_text(sample.name).encode("utf-8")]),
        _same("image/format", "bytes", image_format(head, sample.name)),
        _same("image/height", "int", sample.height),
        _same("image/key/sha256", "bytes", UNKEYED),
        _floats("image/object/area", area),
        _floats("image/object/bbox/xmax", xmax),
        _floats("image/object/bbox/xmin", xmin),
        _floats("image/object/bbox/ymax", ymax),
        _floats("image/object/bbox/ymin", ymin),
        _labels(tuple(indices), tuple(classes)),
        _flags("image/object/difficult", difficult),
        _flags("image/object/is_crowd", crowd),
    ]
    if masks:
        tail.append(_bytes(MASK, [o.mask or b"" for o in objs]))
    tail += [_bytes("image/source_id", [str(source_id).encode("ascii")]),
             _same("image/width", "int", sample.width)]
    suffix = b"".join(tail)
    entry = bytes_entry_head(_K["image/encoded"], image_len)
    return field_head(0x0A, len(entry) + image_len + len(suffix)) + entry, suffix


def label_map_text(classes: Sequence[str]) -> str:
    """``label_map.pbtxt``: one ``item`` per class, ids 1-based in class order (the labels the
    records carry), names quoted as protobuf text format reads them."""
    return "".join(f"item {{\n  id: {k + 1}\n  name: '{_quoted(class_text(name))}'\n}}\n"
                   for k, name in enumerate(classes))


def _quoted(name: str) -> str:
    out = []
    for ch in name:
        if ch in "\\'\"":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):03o}")
        else:
            out.append(ch)
    return "".join(out)


def write_label_map(path: Path, classes: Sequence[str]) -> int:
    """Write ``label_map.pbtxt``; returns its size."""
    data = label_map_text(classes).encode("utf-8")
    path.write_bytes(data)
    return len(data)


def read_label_map(text: str) -> dict[int, str]:
    """id -> name of a ``label_map.pbtxt`` as ``label_map_text`` writes it (``verify``); raises
    ``ValueError`` on anything else."""
    import re

    out: dict[int, str] = {}
    item = re.compile(r"item\s*\{\s*id:\s*(\d+)\s*name:\s*'((?:[^'\\]|\\.)*)'\s*\}\s*")
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = item.match(text, pos)
        if not m:
            raise ValueError(f"not an item {{ id: N name: '...' }} at character {pos}")
        out[int(m[1])] = re.sub(r"\\([0-7]{3}|.)", _unescape, m[2])
        pos = m.end()
    return out


def _unescape(m) -> str:
    s = m[1]
    return chr(int(s, 8)) if len(s) == 3 else {"n": "\n"}.get(s, s)
