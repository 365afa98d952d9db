"""Example encoding: TF's wire format, deterministic bytes, clear errors, protobuf agrees."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from tfrecord_lite import (
    BytesList,
    Example,
    ExampleError,
    Feature,
    Features,
    FloatList,
    Int64List,
    decode_example,
    encode_example,
)

VALUES = {
    "image": b"\xff\xd8 jpeg bytes",
    "name": "caf\u00e9 \u732b",
    "width": 640,
    "flag": True,
    "objects": [0, 3, -1, (1 << 63) - 1, -(1 << 63)],
    "bboxes": [0.5, 0.25, 1e-3, 1.0],
    "special": [float("inf"), float("-inf")],
    "texts": ["a", b"b"],
    "empty": [],
    "typed_empty": FloatList(),
}


def _by_protobuf(values) -> bytes:
    """The same Example built the TensorFlow way, through protobuf messages."""
    feats = {}
    for k, v in values.items():
        if isinstance(v, FloatList):
            feats[k] = Feature(float_list=v)
            continue
        v = v if isinstance(v, list) else [v]
        if not v:
            feats[k] = Feature()
        elif isinstance(v[0], (bytes, str)):
            feats[k] = Feature(
                bytes_list=BytesList(value=[x.encode() if isinstance(x, str) else x for x in v])
            )
        elif isinstance(v[0], float):
            feats[k] = Feature(float_list=FloatList(value=v))
        else:
            feats[k] = Feature(int64_list=Int64List(value=[int(x) for x in v]))
    return Example(features=Features(feature=feats)).SerializeToString(deterministic=True)


def test_bytes_equal_protobuf_deterministic() -> None:
    assert encode_example(VALUES) == _by_protobuf(VALUES)


def test_decode_round_trip() -> None:
    out = decode_example(encode_example(VALUES))
    assert out["image"] == [VALUES["image"]]
    assert out["name"] == [VALUES["name"].encode()]
    assert out["width"] == [640] and out["flag"] == [1]
    assert out["objects"] == VALUES["objects"]
    assert out["bboxes"] == pytest.approx(VALUES["bboxes"], rel=1e-6)
    assert out["special"] == [math.inf, -math.inf]
    assert out["empty"] == [] and out["typed_empty"] == []
    assert list(out) == sorted(VALUES)


def test_nan_survives() -> None:
    assert math.isnan(decode_example(encode_example({"x": float("nan")}))["x"][0])


def test_large_bytes() -> None:
    big = bytes(range(256)) * 40000
    assert decode_example(encode_example({"b": big}))["b"] == [big]


def test_same_bytes_in_every_process() -> None:
    code = (
        "from tfrecord_lite import encode_example;"
        "import sys; values = {k: i for i, k in enumerate('zyxwvutsrq')};"
        "sys.stdout.write(encode_example(values).hex())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": str(seed)},
            check=True,
        ).stdout
        for seed in (1, 2, 3)
    }
    assert len(runs) == 1


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"x": [1, "a"]}, "mixed"),
        ({"x": [1, 2.5]}, "mixed ints and floats"),
        ({"x": [1.5, 2]}, "mixed"),
        ({"x": None}, "unsupported"),
        ({"x": {"a": 1}}, "unsupported"),
        ({"x": 1 << 64}, "int64"),
        ({"x": 1e300}, "float32"),
        ({1: 2}, "names must be str"),
    ],
)
def test_clear_errors(bad, match) -> None:
    with pytest.raises(ExampleError, match=match):
        encode_example(bad)


def test_decode_garbage_is_typed() -> None:
    with pytest.raises(ExampleError, match="not a tf.train.Example"):
        decode_example(b"\xff\xff\xff")


def test_core_imports_without_pillow_and_yaml() -> None:
    code = (
        "import sys; sys.modules['PIL'] = None; sys.modules['yaml'] = None\n"
        "import tfrecord_lite as t, io\n"
        "b = io.BytesIO(); w = t.TFRecordWriter(b)\n"
        "w.write(t.encode_example({'a': 1})); w.flush()\n"
        "print(t.decode_example(next(t.tf_record_iterator(io.BytesIO(b.getvalue())))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "{'a': [1]}"
