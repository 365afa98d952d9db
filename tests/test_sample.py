"""Boxes: a compact sequence that behaves like the tuple of Box it replaces."""

from __future__ import annotations

import pickle

import pytest

from tfrecord_lite.pipeline.sample import Box, Boxes, Sample, class_indices, yolo_values

BOXES = (Box(2, 0.5, 0.25, 0.1, 0.2), Box(0, 0.9, 0.8, 0.05, 0.04))


def test_sequence_behaviour() -> None:
    boxes = Boxes(BOXES)
    assert len(boxes) == 2 and bool(boxes) and not Boxes()
    assert list(boxes) == list(BOXES) and boxes == BOXES and boxes == Boxes(BOXES)
    assert boxes[1] == BOXES[1] and boxes[-1] == BOXES[1] and boxes[:1] == BOXES[:1]
    assert isinstance(boxes[0].class_index, int)
    with pytest.raises(IndexError):
        boxes[2]
    assert Boxes() == () and hash(boxes) == hash(Boxes(BOXES))


def test_pickles_with_a_sample() -> None:
    sample = Sample("s3://b/k.jpg", 3, "k.jpg", 10, 20, bytes, Boxes(BOXES))
    back = pickle.loads(pickle.dumps(sample))
    assert back.boxes == BOXES and back.name == "k.jpg"


@pytest.mark.parametrize("kind", [Boxes, tuple])
def test_columns_match_the_boxes(kind) -> None:
    # the encoder reads these columns instead of making a Box per box; any sequence of Box works
    boxes = kind(BOXES)
    assert class_indices(boxes) == [2, 0]
    assert all(type(i) is int for i in class_indices(boxes))
    assert list(yolo_values(boxes)) == [0.5, 0.25, 0.1, 0.2, 0.9, 0.8, 0.05, 0.04]
    assert class_indices(kind()) == [] and list(yolo_values(kind())) == []
