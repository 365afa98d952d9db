"""One parser per Ground Truth task type: a label pair in, plain validated values out.

Parsers never look at images; they check shapes and numbers and raise :class:`InputError` with
the line so the reader can apply the error policy.  Geometry that needs the real image size
(clipping, normalising) is in :func:`to_yolo`.
"""

from __future__ import annotations

import math
import re
from array import array
from dataclasses import dataclass

from tfrecord_lite.pipeline.errors import InputError, problem
from tfrecord_lite.pipeline.groundtruth.classes import (
    ClassMaps,
    ClassTable,
    class_id,
    class_name,
    parse_class_map,
)
from tfrecord_lite.pipeline.groundtruth.manifest import (
    SUPPORTED_TYPES,
    VERIFICATION_TYPE,
    LabelPair,
)
from tfrecord_lite.pipeline.groundtruth.video import VideoLabel
from tfrecord_lite.pipeline.sample import Box, Boxes

#: (class id, left, top, width, height) in pixels, as validated from the manifest
RawBox = tuple[int, float, float, float, float]


@dataclass(frozen=True)
class DetectionLabel:
    boxes: tuple[RawBox, ...]
    class_map: dict[int, str]
    image_size: tuple[int, int] | None   # (width, height) the labelling UI reported


@dataclass(frozen=True)
class TagLabel:
    tags: tuple[str, ...]


@dataclass(frozen=True)
class SegmentationLabel:
    mask_ref: str
    #: (internal-color-map key, class name, RGB as 0xRRGGBB or None); key 0 is background
    colors: tuple[tuple[int, str, int | None], ...]


Label = DetectionLabel | TagLabel | SegmentationLabel | VideoLabel


def task_of(pair: LabelPair) -> str | None:
    """The short task name of a pair ("object-detection", ...), None for other types."""
    return SUPPORTED_TYPES.get(pair.type)


def parse_label(pair: LabelPair, maps: ClassMaps | None = None) -> Label:
    """Validate the value of a supported label pair and return its plain form."""
    task = task_of(pair)
    if task == "object-detection":
        return parse_detection(pair, maps)
    if task == "semantic-segmentation":
        return parse_segmentation(pair)
    if task == "image-classification":
        cid, name = _single_class(pair)
        return TagLabel((name,))
    if task == "image-classification-multilabel":
        return parse_multilabel(pair, maps)
    if task == "video-object-detection":
        if isinstance(pair.value, dict):  # a per-frame line derived from a video job
            return parse_detection(pair, maps)
        if not isinstance(pair.value, str) or not pair.value.strip():
            raise _bad(f"{pair.attribute!r} is not a SeqLabel.json reference",
                       pair.value, "a video job's <name>-ref names its SeqLabel.json")
        return VideoLabel(pair.value, class_map_of(pair, maps))
    raise problem(f"label type {pair.type!r} is not supported", value=pair.type,
                  reason=f"other-type:{pair.type}")


def class_map_of(pair: LabelPair, maps: ClassMaps | None = None) -> dict[int, str]:
    """The id -> name pairs a line contributes to the class table (background excluded);
    ``maps``: the read's class-map parser (consecutive lines' equal maps parsed once)."""
    task = task_of(pair)
    if task in ("object-detection", "image-classification-multilabel", "video-object-detection"):
        return _class_map(pair, maps)
    if task == "image-classification":
        cid, name = _single_class(pair)
        return {cid: name}
    if task == "semantic-segmentation":
        return {key: name for key, name, _ in _color_map(pair) if key != 0}
    return {}


def _bad(message: str, value: object, hint: str = "",
         reason: str = "bad-label") -> InputError:
    return problem(message, value=value, hint=hint, reason=reason)


def _number(value: object, what: str) -> float:
    if type(value) is int and value >= 0:
        return float(value)
    if type(value) is float and 0.0 <= value < math.inf:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"box {what} is not a number", value,
                   "left/top/width/height are pixel numbers", "bad-box")
    number = float(value)
    if not math.isfinite(number):
        raise _bad(f"box {what} is not finite", value,
                   "NaN or Infinity cannot be a coordinate; fix or drop the line", "bad-box")
    if number < 0:
        raise _bad(f"box {what} is negative", value,
                   "coordinates and sizes are non-negative pixels", "bad-box")
    return number


_EDGES = ("left", "top", "width", "height")
_NUMERIC = frozenset((int, float))  # not bool: type(True) is bool
_INF = math.inf


def _class_map(pair: LabelPair, maps: ClassMaps | None) -> dict[int, str]:
    raw = pair.metadata.get("class-map", pair.metadata.get("class_map"))
    return parse_class_map(raw) if maps is None else maps.parse(raw)


def parse_detection(pair: LabelPair, maps: ClassMaps | None = None) -> DetectionLabel:
    value = pair.value
    if not isinstance(value, dict) or not isinstance(value.get("annotations"), list):
        raise _bad(f"{pair.attribute!r} is not an object-detection label", value,
                   'expected {"annotations": [...], "image_size": [...]}')
    class_map = _class_map(pair, maps)
    boxes = []
    for ann in value["annotations"]:
        if not isinstance(ann, dict):
            raise _bad("annotation is not an object", ann)
        cid = class_id(ann.get("class_id", ann.get("class-id")))
        if cid is None:
            raise _bad("annotation has no valid class_id", ann,
                       "class_id is a non-negative integer")
        if cid not in class_map:
            raise _bad(f"class_id {cid} is not in this line's class-map", cid,
                       f"class-map has {sorted(class_map)}; fix the line or its class-map",
                       "unknown-class")
        left, top, w, h = ann.get("left"), ann.get("top"), ann.get("width"), ann.get("height")
        if (
            type(left) in _NUMERIC and type(top) in _NUMERIC
            and type(w) in _NUMERIC and type(h) in _NUMERIC
            and 0 <= left < _INF and 0 <= top < _INF and 0 <= w < _INF and 0 <= h < _INF
        ):
            boxes.append((cid, float(left), float(top), float(w), float(h)))
        else:  # the slow path names the bad coordinate
            box = (left, top, w, h)
            boxes.append((cid, *(_number(v, k) for v, k in zip(box, _EDGES))))
        _, x, y, bw, bh = boxes[-1]
        if x + bw >= _INF or y + bh >= _INF:
            raise _bad("box reaches beyond any image (left + width or top + height "
                       "overflows)", ann, "left/top/width/height are pixel numbers of the image")
    return DetectionLabel(tuple(boxes), class_map, _image_size(value.get("image_size")))


def _image_size(raw: object) -> tuple[int, int] | None:
    """The (width, height) of ``image_size: [{...}]``; None when absent or not readable."""
    if isinstance(raw, list) and raw:
        raw = raw[0]
    if not isinstance(raw, dict):
        return None
    width, height = raw.get("width"), raw.get("height")
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
           for v in (width, height)):
        return int(width), int(height)
    return None


def _single_class(pair: LabelPair) -> tuple[int, str]:
    cid = class_id(pair.value)
    name = class_name(pair.metadata.get("class-name"))
    if cid is None or name is None:
        raise _bad(f"{pair.attribute!r} is not an image-classification label",
                   {"value": pair.value, "class-name": pair.metadata.get("class-name")},
                   "expected an integer class id and metadata class-name")
    return cid, name


def parse_multilabel(pair: LabelPair, maps: ClassMaps | None = None) -> TagLabel:
    if not isinstance(pair.value, list):
        raise _bad(f"{pair.attribute!r} is not a multi-label value", pair.value,
                   "expected a list of class ids")
    raw = pair.metadata.get("class-map")
    class_map = parse_class_map(raw) if maps is None else maps.parse(raw)
    tags: dict[str, None] = {}
    for item in pair.value:
        cid = class_id(item)
        if cid is None:
            raise _bad("multi-label class id is not an integer", item)
        if cid not in class_map:
            raise _bad(f"class id {cid} is not in this line's class-map", cid,
                       f"class-map has {sorted(class_map)}", "unknown-class")
        tags.setdefault(class_map[cid], None)
    return TagLabel(tuple(tags))


_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def _color_map(pair: LabelPair) -> tuple[tuple[int, str, int | None], ...]:
    raw = pair.metadata.get("internal-color-map")
    if not isinstance(raw, dict) or not raw:
        raise _bad("semantic-segmentation metadata has no internal-color-map", raw,
                   'expected {"0": {"class-name": "BACKGROUND", "hex-color": "#ffffff"}, ...}')
    colors = []
    for key, entry in raw.items():
        cid = class_id(key)
        if cid is None or cid > 255 or not isinstance(entry, dict):
            raise _bad("internal-color-map entry is not '<index 0-255>: {...}'",
                       {key: entry})
        name = class_name(entry.get("class-name"))
        if name is None:
            raise _bad(f"internal-color-map entry {cid} has no class-name", entry)
        hex_color = entry.get("hex-color")
        match = _HEX.fullmatch(hex_color.strip()) if isinstance(hex_color, str) else None
        if hex_color is not None and match is None:
            raise _bad(f"internal-color-map entry {cid} has a bad hex-color",
                       hex_color, "expected '#rrggbb'")
        colors.append((cid, name, int(match.group(1), 16) if match else None))
    return tuple(sorted(colors))


def parse_segmentation(pair: LabelPair) -> SegmentationLabel:
    if not isinstance(pair.value, str) or not pair.value.strip():
        raise _bad(f"{pair.attribute!r} is not a mask reference", pair.value,
                   "expected the mask PNG's URI")
    return SegmentationLabel(pair.value, _color_map(pair))


_REJECT_WORDS = frozenset({
    "bad", "wrong", "incorrect", "invalid", "reject", "rejected", "no", "not", "inaccurate",
    "poor", "fail", "failed", "unacceptable", "false", "needs", "needs-work",
})


def is_rejection(pair: LabelPair) -> bool:
    """Whether a label-verification pair says the label is wrong.

    Verification categories are user-defined, so this reads the chosen ``class-name`` and treats
    it as a rejection when its first word is a negative one ("bad", "wrong", "incorrect", ...).
    """
    if pair.type != VERIFICATION_TYPE:
        return False
    name = pair.metadata.get("class-name")
    if not isinstance(name, str):
        return False
    words = re.findall(r"[^\W_]+", name.lower())
    return bool(words) and words[0] in _REJECT_WORDS


def to_yolo(boxes: tuple[RawBox, ...], class_map: dict[int, str], table: ClassTable,
            width: int, height: int) -> tuple[tuple[Box, ...], int, int]:
    """Pixel boxes -> YOLO boxes of the (upright) image; returns (boxes, clipped, dropped).

    Edges are rounded to whole pixels (half up), clipped to the image, and zero-area results
    are dropped.
    """
    values: list[float] = []
    clipped = dropped = 0
    floor = math.floor
    indices: dict[int, int] = {}  # class id -> index, looked up once per line
    for cid, left, top, box_w, box_h in boxes:
        # edges rounded half up (not to even, not truncated), inlined: this runs for every box
        x1, y1 = floor(left + 0.5), floor(top + 0.5)
        x2, y2 = floor(left + box_w + 0.5), floor(top + box_h + 0.5)
        cx1 = x1 if x1 < width else width
        cy1 = y1 if y1 < height else height
        cx2 = x2 if x2 < width else width
        cy2 = y2 if y2 < height else height
        if cx1 != x1 or cy1 != y1 or cx2 != x2 or cy2 != y2:
            clipped += 1
        if cx2 <= cx1 or cy2 <= cy1:
            dropped += 1
            continue
        index = indices.get(cid)
        if index is None:
            index = indices[cid] = table.index(class_map[cid])
        values += (index, (cx1 + cx2) / 2 / width, (cy1 + cy2) / 2 / height,
                   (cx2 - cx1) / width, (cy2 - cy1) / height)
    return Boxes._of(array("d", values)), clipped, dropped
