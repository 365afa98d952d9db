"""tf.train.Example: our bytes parse in TensorFlow to what TensorFlow builds, and the reverse."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any

import pytest
from compat_util import modelpack_spec

from tfrecord_lite import BytesList, FloatList, Int64List, decode_example, encode_example

TEN_MB = bytes(range(256)) * (10 * 1024 * 1024 // 256)
SPECIAL_FLOATS = [math.nan, math.inf, -math.inf, -0.0, 0.0, 1e-45, 3.4028234663852886e38, 0.1]

# name -> (our plain value, TF feature builder taking the tf module, expected decode, TF dtype)
Case = tuple[Any, Callable[[Any], Any], list[Any], str]


def f32(values: list[float]) -> list[float]:
    """Values as a float_list gives them back: rounded to float32."""
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


def _b(values: list[bytes]) -> Callable[[Any], Any]:
    return lambda tf: tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def _i(values: list[int]) -> Callable[[Any], Any]:
    return lambda tf: tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def _f(values: list[float]) -> Callable[[Any], Any]:
    return lambda tf: tf.train.Feature(float_list=tf.train.FloatList(value=values))


CASES: dict[str, Case] = {
    "bytes_scalar": (b"abc", _b([b"abc"]), [b"abc"], "string"),
    "bytes_empty_value": (b"", _b([b""]), [b""], "string"),
    "bytes_list": ([b"a", b"", b"\x00\xff"], _b([b"a", b"", b"\x00\xff"]), [b"a", b"", b"\x00\xff"],
                   "string"),
    "unicode_str": ("h\u00e9llo \u2603 \u65e5\u672c \U0001f431",
                    _b(["h\u00e9llo \u2603 \u65e5\u672c \U0001f431".encode()]),
                    ["h\u00e9llo \u2603 \u65e5\u672c \U0001f431".encode()], "string"),
    "str_list": (["a", "\u00fc"], _b([b"a", "\u00fc".encode()]), [b"a", "\u00fc".encode()],
                 "string"),
    "bytes_10mb": (TEN_MB, _b([TEN_MB]), [TEN_MB], "string"),
    "int_zero": (0, _i([0]), [0], "int64"),
    "int_negative": (-1, _i([-1]), [-1], "int64"),
    "int_edges": ([2**63 - 1, -(2**63), 2**31, -(2**31) - 1, 127, 128, 300],
                  _i([2**63 - 1, -(2**63), 2**31, -(2**31) - 1, 127, 128, 300]),
                  [2**63 - 1, -(2**63), 2**31, -(2**31) - 1, 127, 128, 300], "int64"),
    "bool_scalar": (True, _i([1]), [1], "int64"),
    "bool_list": ([True, False, True], _i([1, 0, 1]), [1, 0, 1], "int64"),
    "int_many": (list(range(-500, 5000, 7)), _i(list(range(-500, 5000, 7))),
                 list(range(-500, 5000, 7)), "int64"),
    "float_scalar": (0.5, _f([0.5]), [0.5], "float32"),
    "float_special": (SPECIAL_FLOATS, _f(SPECIAL_FLOATS),
                      [math.nan, math.inf, -math.inf, -0.0, 0.0, 1.401298464324817e-45,
                       3.4028234663852886e38, 0.10000000149011612], "float32"),
    "float_many": ([i / 7 for i in range(1000)], _f([i / 7 for i in range(1000)]),
                   f32([i / 7 for i in range(1000)]), "float32"),
    "typed_empty_bytes": (BytesList(), _b([]), [], "string"),
    "typed_empty_int": (Int64List(), _i([]), [], "int64"),
    "typed_empty_float": (FloatList(), _f([]), [], "float32"),
}


def same_values(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, float) and math.isnan(x):
            if not (isinstance(y, float) and math.isnan(y)):
                return False
        elif x != y or (isinstance(x, float) and math.copysign(1, x) != math.copysign(1, y)):
            return False
    return True


def tf_example(tf: Any, features: dict[str, Any]) -> Any:
    return tf.train.Example(features=tf.train.Features(feature=features))


@pytest.mark.parametrize("name", list(CASES))
def test_one_feature_matches_tf(tf: Any, name: str) -> None:
    ours_value, build, expected, dtype = CASES[name]
    ours = encode_example({name: ours_value})
    theirs = tf_example(tf, {name: build(tf)})
    # 1. the very bytes TF's deterministic serialisation gives
    assert ours == theirs.SerializeToString(deterministic=True)
    # 2. TF's own proto class parses ours to the message TF built
    parsed = tf.train.Example.FromString(ours)
    assert parsed.SerializeToString(deterministic=True) == ours
    assert parsed.features.feature[name].WhichOneof("kind") == build(tf).WhichOneof("kind")
    got = list(getattr(parsed.features.feature[name], build(tf).WhichOneof("kind")).value)
    assert same_values(got, expected)
    # 3. TF's parsing op reads it (VarLen: every length, including empty)
    parsed_op = tf.io.parse_single_example(ours, {name: tf.io.VarLenFeature(getattr(tf, dtype))})
    values = parsed_op[name].values.numpy().tolist()
    if dtype == "float32":
        assert same_values([float(v) for v in values], [float(v) for v in got])
    else:
        assert values == got
    # 4. we decode what TF serialised (default, non-deterministic path too)
    decoded = decode_example(theirs.SerializeToString())
    assert list(decoded) == [name]
    assert same_values(list(decoded[name]), got)


def test_untyped_empty_list_parses_as_empty_for_every_dtype(tf: Any) -> None:
    """Our [] writes a Feature with no kind; TF's parser accepts it as an empty list of any type."""
    ours = encode_example({"e": []})
    assert ours == tf_example(tf, {"e": tf.train.Feature()}).SerializeToString(deterministic=True)
    for dtype in (tf.string, tf.int64, tf.float32):
        parsed = tf.io.parse_single_example(ours, {"e": tf.io.VarLenFeature(dtype)})
        assert parsed["e"].values.shape == (0,)
    assert decode_example(ours) == {"e": []}


def test_many_features_sorted_like_tf(tf: Any) -> None:
    """Key order equals protobuf's deterministic order, prefix keys included.

    The upb runtime (protobuf's default, used by TensorFlow) orders map keys by UTF-8 bytes and
    puts a key after the longer keys it prefixes: "image_name", "image", ..., "" last.  The
    ModelPack schema has such a pair (image / image_name), so this decides byte equality.
    """
    from google.protobuf.internal import api_implementation

    assert api_implementation.Type() == "upb", "this order is upb's; the python runtime differs"
    extra = {"Zeta": 1, "alpha": 2, "\u00e9t\u00e9": 3, "\U0001f431": 4, "a": 5, "": 6,
             "image": 7, "image_name": 8, "bool": 9}
    plain = {name: case[0] for name, case in CASES.items() if name != "bytes_10mb"}
    plain.update(extra)
    built = {name: case[1](tf) for name, case in CASES.items() if name != "bytes_10mb"}
    built.update({k: tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))
                  for k, v in extra.items()})
    ours = encode_example(plain)
    assert ours == tf_example(tf, built).SerializeToString(deterministic=True)
    assert encode_example(dict(reversed(list(plain.items())))) == ours


def test_modelpack_schema_round_trip(tf: Any) -> None:
    """The converter's record layout, parsed with the ModelPack feature spec."""
    image = bytes(range(256)) * 240
    boxes = [0.5, 0.5, 0.25, 0.25, 0.1, 0.9, 0.05, 0.1]
    ours = encode_example({
        "image": image, "image_name": "img_001.jpg", "width": 640, "height": 480,
        "objects": [0, 3], "bboxes": boxes,
    })
    spec = modelpack_spec(tf)
    parsed = tf.io.parse_single_example(ours, spec)
    assert parsed["image"].numpy() == image
    assert parsed["image_name"].numpy() == b"img_001.jpg"
    assert int(parsed["width"]) == 640 and int(parsed["height"]) == 480
    assert parsed["objects"].values.numpy().tolist() == [0, 3]
    got = parsed["bboxes"].values.numpy().tolist()
    assert all(abs(a - b) < 1e-7 for a, b in zip(got, boxes)) and len(got) == len(boxes)
    # batch parsing over a dataset as training code does
    ds = tf.data.Dataset.from_tensor_slices([ours, ours]).batch(2)
    batch = next(iter(ds.map(lambda x: tf.io.parse_example(x, spec))))
    assert batch["width"].numpy().tolist() == [640, 640]
