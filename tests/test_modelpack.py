"""The ModelPack record encoder: the same bytes as the generic encoder, and it reads back."""

from __future__ import annotations

import random

import pytest
from dataset_helpers import encode_sample

from tfrecord_lite import ExampleError, FloatValues, IntValues, encode_example
from tfrecord_lite.pipeline.formats import modelpack
from tfrecord_lite.pipeline.sample import Box, Sample

RNG = random.Random(3)


@pytest.mark.parametrize("image_len", [0, 5, 127, 128, 60_000, 300_000])
@pytest.mark.parametrize("objects", [[], [1, 2, 3, 4, 0], [200, 5], [-1], list(range(130))])
@pytest.mark.parametrize("name", ["a", "x" * 200, "caf\u00e9 \u732b.jpg"])
@pytest.mark.parametrize("size", [(640, 480), (1, 1), (100_000, 3), (0, 1 << 40)])
def test_same_bytes_as_encode_example(image_len, objects, name, size) -> None:
    image = RNG.randbytes(image_len)
    bboxes = [RNG.random() for _ in range(4 * len(objects))]
    width, height = size
    generic = encode_example(
        {
            "image": image,
            "image_name": name,
            "width": width,
            "height": height,
            "objects": IntValues(objects),
            "bboxes": FloatValues(bboxes),
        }
    )
    assert modelpack.encode_record(image, name, width, height, objects, bboxes) == generic


def test_sample_round_trip() -> None:
    boxes = (Box(2, 0.5, 0.25, 0.1, 0.2), Box(0, 0.9, 0.9, 0.05, 0.05))
    sample = Sample("s3://b/k.jpg", 7, "k.jpg", 64, 48, lambda: b"", boxes)
    record = modelpack.decode(encode_sample(sample, b"\xff\xd8img"))
    assert (record.image, record.image_name, record.width, record.height) == (
        b"\xff\xd8img",
        "k.jpg",
        64,
        48,
    )
    assert [b.class_index for b in record.boxes] == [2, 0]
    assert record.boxes[0].cx == pytest.approx(0.5) and record.boxes[1].h == pytest.approx(0.05)


def test_out_of_range_float_is_an_example_error() -> None:
    with pytest.raises(ExampleError, match="float32"):
        modelpack.encode_record(b"", "a", 1, 1, [0], [1e300, 0.0, 0.0, 0.0])
