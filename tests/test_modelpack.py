"""The ModelPack record encoder: the same bytes as the generic encoder, and it reads back."""

from __future__ import annotations

import random
from array import array

import pytest
from dataset_helpers import encode_sample
from hypothesis import given, settings
from hypothesis import strategies as st

from tfrecord_lite import ExampleError, FloatValues, IntValues, encode_example
from tfrecord_lite.format._accel import ext
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


def _parts_outcome(args: tuple) -> tuple[str, object]:
    try:
        return "parts", modelpack.record_parts(*args)
    except Exception as exc:  # the error is what is compared
        return type(exc).__name__, str(exc)


_INTS = st.one_of(st.integers(-(1 << 63), (1 << 63) - 1), st.integers(-(1 << 65), 1 << 65),
                  st.integers(0, 300), st.booleans())
_FLOATS = st.one_of(st.floats(), st.floats(width=32), st.sampled_from([3.4028235e38, 3.5e38]))


@pytest.mark.skipif(ext is None, reason="the C speedups are not in use")
@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.integers(0, 1 << 22), st.sampled_from([0, 127, 128, 16_384, -1, True])),
    st.one_of(st.text(max_size=30), st.just("\ud800"), st.binary(max_size=4)),
    _INTS, _INTS,
    st.lists(_INTS, max_size=12),
    st.tuples(st.sampled_from([list, tuple, "array"]),
              st.lists(st.one_of(_FLOATS, _INTS), max_size=24)),
)
def test_c_record_parts_are_the_reference(image_len, name, width, height, objects, bboxes):
    """The C core's parts (encode_example_parts) are the pure builder's, or the same error."""
    kind, values = bboxes
    if kind == "array":
        try:
            values = array("d", values)
        except OverflowError:  # ints past a double
            return
    else:
        values = kind(values)
    args = (image_len, name, width, height, objects, values)
    got = _parts_outcome(args)
    saved, modelpack._encode_parts = modelpack._encode_parts, None
    try:
        want = _parts_outcome(args)
    finally:
        modelpack._encode_parts = saved
    assert got == want


@pytest.mark.skipif(ext is None, reason="the C speedups are not in use")
def test_c_record_parts_take_the_converter_values_themselves() -> None:
    fields = {"bboxes": FloatValues([0.5] * 8), "height": IntValues((480,)), "image": 60_000,
              "image_name": "a.jpg", "objects": IntValues([1, 2]), "width": IntValues((640,))}
    prefix, suffix = ext.encode_example_parts(fields, "image")
    image = RNG.randbytes(60_000)
    assert prefix + image + suffix == encode_example({**fields, "image": image})
    assert ext.encode_example_parts(fields, "absent") is None
    for hole in (-1, 1.0, True, "x", 1 << 64):
        assert ext.encode_example_parts({**fields, "image": hole}, "image") is None
    assert ext.encode_example_parts({"image": 0}, "image") == (encode_example({"image": b""}),
                                                                b"")
