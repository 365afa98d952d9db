"""Per-task label parsing and box geometry (tfrecord_lite.pipeline.groundtruth.labels)."""

from __future__ import annotations

import json

import pytest
from gt_helpers import cls_line, det_line, seg_line

from tfrecord_lite.pipeline.errors import InputError
from tfrecord_lite.pipeline.groundtruth.classes import ClassTable, ClassUnion
from tfrecord_lite.pipeline.groundtruth.labels import (
    DetectionLabel,
    SegmentationLabel,
    TagLabel,
    class_map_of,
    is_rejection,
    parse_label,
    to_yolo,
)
from tfrecord_lite.pipeline.groundtruth.manifest import find_pairs
from tfrecord_lite.pipeline.sample import Box


def pair(line: dict, attr: str | None = None):
    pairs = find_pairs(line)
    return next(p for p in pairs if attr is None or p.attribute == attr)


def test_detection_int_float_and_string_class_ids() -> None:
    line = det_line("s3://b/k.jpg", [(0, 10, 20, 30, 40), (3, 0.2, 164.60000000000002, 5.5, 6)],
                    {3: "b", 0: "a"}, size=(100, 200))
    line["job"]["annotations"][1]["class_id"] = "3"
    label = parse_label(pair(line))
    assert isinstance(label, DetectionLabel)
    assert label.boxes == ((0, 10.0, 20.0, 30.0, 40.0), (3, 0.2, 164.60000000000002, 5.5, 6.0))
    assert label.class_map == {0: "a", 3: "b"} and label.image_size == (100, 200)


def test_empty_annotations_are_a_labelled_negative() -> None:
    label = parse_label(pair(det_line("s3://b/k.jpg", [], {})))
    assert isinstance(label, DetectionLabel) and label.boxes == ()


@pytest.mark.parametrize(("box", "reason", "shown"), [
    ((0, float("nan"), 1, 2, 3), "bad-box", "nan"),
    ((0, 1, float("inf"), 2, 3), "bad-box", "inf"),
    ((0, -1, 1, 2, 3), "bad-box", "-1"),
    ((0, 1, 1, -2, 3), "bad-box", "-2"),
    ((0, 1, 1, "2", 3), "bad-box", "'2'"),
    ((7, 1, 1, 2, 3), "unknown-class", "7"),
    ((None, 1, 1, 2, 3), "bad-label", "class_id"),
])
def test_bad_boxes_name_the_value(box, reason, shown) -> None:
    line = json.loads(json.dumps(det_line("s3://b/k.jpg", [box], {0: "a"})))
    with pytest.raises(InputError) as err:
        parse_label(pair(line))
    assert err.value.reason == reason and shown in str(err.value)


def test_label_value_of_the_wrong_shape_is_bad_label() -> None:
    line = det_line("s3://b/k.jpg", [], {})
    line["job"] = "s3://not/a/box.json"
    with pytest.raises(InputError, match="not an object-detection label"):
        parse_label(pair(line))


def test_classification_single_and_multilabel_give_tags() -> None:
    single = cls_line("s3://b/k.jpg", "0", "dog")
    assert parse_label(pair(single)) == TagLabel(("dog",))
    assert class_map_of(pair(single)) == {0: "dog"}
    multi = {"source-ref": "s3://b/k.jpg", "t": [1, 0, 8, 1], "t-metadata": {
        "class-map": {"1": "bicycle", "0": "person", "8": "clothing"},
        "confidence-map": {"0": 0.7}, "type": "groundtruth/image-classification-multilabel"}}
    assert parse_label(pair(multi)) == TagLabel(("bicycle", "person", "clothing"))
    multi["t"].append(5)
    with pytest.raises(InputError, match="class id 5"):
        parse_label(pair(multi))


def test_segmentation_color_map() -> None:
    line = seg_line("s3://b/k.png", "s3://b/m.png", {0: ("BACKGROUND", "#ffffff"),
                                                     2: ("b", "#1F77B4"), 1: ("a", "#2ca02c")})
    label = parse_label(pair(line))
    assert isinstance(label, SegmentationLabel) and label.mask_ref == "s3://b/m.png"
    assert label.colors == ((0, "BACKGROUND", 0xFFFFFF), (1, "a", 0x2CA02C), (2, "b", 0x1F77B4))
    assert class_map_of(pair(line)) == {1: "a", 2: "b"}  # background is not a class
    line["seg-ref-metadata"]["internal-color-map"]["1"]["hex-color"] = "green"
    with pytest.raises(InputError, match="bad hex-color"):
        parse_label(pair(line))


@pytest.mark.parametrize(("name", "rejected"), [
    ("bad", True), ("Bad label", True), ("incorrect", True), ("Wrong", True), ("no", True),
    ("good", False), ("correct", False), ("Label is good", False), ("", False)])
def test_verification_rejection_words(name: str, rejected: bool) -> None:
    line = {"v": "1", "v-metadata": {"class-name": name, "type": "groundtruth/label-verification"}}
    assert is_rejection(pair(line)) is rejected


def _table(*names: str) -> ClassTable:
    union = ClassUnion()
    union.add(dict(enumerate(names)), 1)
    return ClassTable.build(union)


@pytest.mark.parametrize(
    "left,edge", [(0.5, 1), (1.5, 2), (2.5, 3), (164.60000000000002, 165), (0.2, 0), (95.4, 95)]
)
def test_to_yolo_rounds_edges_half_up_not_banker_and_not_truncate(left, edge) -> None:
    out, _, _ = to_yolo(((0, left, 0, 10, 10),), {0: "a"}, _table("a"), 1000, 100)
    assert out[0].cx * 1000 == pytest.approx(edge + 5)  # both edges moved by the same rounding


def test_to_yolo_rounds_clips_and_drops() -> None:
    table = _table("a", "b")
    boxes = ((1, 9.6, 19.5, 20.2, 10), (0, 90, 90, 30, 30), (0, 50, 50, 0.3, 5),
             (0, 120, 0, 5, 5))
    out, clipped, dropped = to_yolo(boxes, {0: "a", 1: "b"}, table, 100, 100)
    # box 1: edges 10..30 x 20..30; box 2 clipped to 90..100; box 3 rounds to zero width;
    # box 4 lies outside the image (clipped to zero width, dropped)
    assert out == (Box(1, 0.2, 0.25, 0.2, 0.1), Box(0, 0.95, 0.95, 0.1, 0.1))
    assert (clipped, dropped) == (2, 2)
