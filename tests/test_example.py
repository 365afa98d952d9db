"""Example encoding: TF's wire format, deterministic bytes, clear errors, protobuf agrees."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfrecord_lite import (
    BytesList,
    Example,
    ExampleError,
    Feature,
    Features,
    FloatList,
    FloatValues,
    Int64List,
    IntValues,
    decode_example,
    encode_example,
    encode_sequence_example,
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


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"x": "\ud800"}, r"feature 'x': '\\ud800' is not valid text .*pass bytes"),
        ({"x": ["a", "b\udfff"]}, r"feature 'x': 'b\\udfff' is not valid text"),
        ({"\ud800": 1}, r"feature name '\\ud800' is not valid text"),
        ({"x": FloatValues([1 << 1100])}, r"feature 'x': \d{12}\.\.\. \(332 digits\) is outside"),
        ({"x": [float.fromhex("0x1.ffffffp+127")]}, "outside float32's range"),
    ],
)
def test_text_and_huge_numbers_are_example_errors(bad, match) -> None:
    """A lone surrogate (no UTF-8 form) and an int too big for a double are named like every
    other bad value, not raised as Python's own UnicodeEncodeError / OverflowError."""
    with pytest.raises(ExampleError, match=match):
        encode_example(bad)


def test_sequence_example_names_the_value_that_is_not_text() -> None:
    with pytest.raises(ExampleError, match=r"feature list 'steps': '\\udfff' is not valid"):
        encode_sequence_example(None, {"steps": [["a", "\udfff"]]})
    with pytest.raises(ExampleError, match=r"feature 'id': '\\ud800' is not valid"):
        encode_sequence_example({"id": "\ud800"}, None)


def test_floats_that_round_to_float32s_largest_are_kept() -> None:
    """Up to halfway past float32's largest value a double rounds to it (struct, numpy and
    protobuf's own cast agree); a plain list and a FloatValues take the same values."""
    below_tie = float.fromhex("0x1.fffffefffffffp+127")
    for value in (3.4028235e38, below_tie, -3.4028235e38):
        want = encode_example({"x": FloatValues([math.copysign(3.4028234663852886e38, value)])})
        assert encode_example({"x": [value]}) == encode_example({"x": FloatValues([value])}) == want


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


# -- typed values on decode ----------------------------------------------------------------


def test_empty_float_list_and_kindless_feature_stay_apart() -> None:
    from tfrecord_lite import BytesValues, FloatValues, IntValues

    data = encode_example(
        {"none": [], "f": FloatValues(), "i": IntValues(), "b": BytesValues(), "x": [1.5]}
    )
    got = decode_example(data)
    assert type(got["none"]) is list and got["none"] == []
    assert type(got["f"]) is FloatValues and type(got["i"]) is IntValues
    assert type(got["b"]) is BytesValues and type(got["x"]) is FloatValues
    assert got["x"] == [1.5] and got["f"] == []  # still compare as plain lists
    assert encode_example(got) == data  # and come back as the same bytes


# -- SequenceExample -----------------------------------------------------------------------


def _sequence_by_protobuf(context, lists) -> bytes:
    from tfrecord_lite import SequenceExample

    seq = SequenceExample()
    for k, v in context.items():
        seq.context.feature[k].CopyFrom(Feature.FromString(_one_feature(v)))
    for k, steps in lists.items():
        fl = seq.feature_lists.feature_list[k]
        for v in steps:
            fl.feature.add().CopyFrom(Feature.FromString(_one_feature(v)))
    return seq.SerializeToString(deterministic=True)


def _one_feature(value) -> bytes:
    feature = Example.FromString(encode_example({"k": value})).features.feature["k"]
    return feature.SerializeToString()


SEQ_CONTEXT = {"id": b"seq-1", "length": 3, "f": []}
SEQ_LISTS = {
    "tokens": [[1, 2], [3], []],
    "frames": [b"a", b"bb", "c"],
    "scores": [[0.5], [0.25, 0.125]],
    "empty_list": [],
}


def test_sequence_example_bytes_equal_protobuf() -> None:
    from tfrecord_lite import encode_sequence_example

    data = encode_sequence_example(SEQ_CONTEXT, SEQ_LISTS)
    assert data == _sequence_by_protobuf(SEQ_CONTEXT, SEQ_LISTS)
    assert encode_sequence_example({}, {}) == b"" == _sequence_by_protobuf({}, {})
    assert encode_sequence_example(None, {"a": [1]}) == _sequence_by_protobuf({}, {"a": [1]})


def test_sequence_example_round_trip() -> None:
    from tfrecord_lite import decode_sequence_example, encode_sequence_example

    data = encode_sequence_example(SEQ_CONTEXT, SEQ_LISTS)
    context, lists = decode_sequence_example(data)
    assert context == {"f": [], "id": [b"seq-1"], "length": [3]}
    assert lists["tokens"] == [[1, 2], [3], []] and lists["frames"] == [[b"a"], [b"bb"], [b"c"]]
    assert lists["empty_list"] == []
    assert encode_sequence_example(context, lists) == data


def test_sequence_example_errors() -> None:
    from tfrecord_lite import decode_sequence_example, encode_sequence_example

    with pytest.raises(ExampleError, match="feature list 'x': needs a list"):
        encode_sequence_example({}, {"x": 3})
    with pytest.raises(ExampleError, match="feature 'x': mixed"):
        encode_sequence_example({}, {"x": [[1, "a"]]})
    with pytest.raises(ExampleError, match="feature_lists needs a mapping"):
        encode_sequence_example({}, [1])
    with pytest.raises(ExampleError, match="not a tf.train.SequenceExample"):
        decode_sequence_example(b"\x0a\xff")


def test_payload_kind() -> None:
    from tfrecord_lite import encode_sequence_example
    from tfrecord_lite.format.example import payload_kind

    assert payload_kind(encode_example(VALUES)) == "Example"
    assert payload_kind(b"") == "Example"
    assert payload_kind(encode_sequence_example(SEQ_CONTEXT, SEQ_LISTS)) == "SequenceExample"
    assert payload_kind(encode_sequence_example({"a": 1})) == "Example"  # context only
    # a list of Examples (as TF-Ranking's ExampleListWithContext) is another message
    example = encode_example({"a": 1})
    assert payload_kind(b"\x0a" + bytes([len(example)]) + example) == "other"
    assert payload_kind(b"\x08\x96\x01\x12\x03abc") == "other"  # {1: 150, 2: "abc"}
    assert payload_kind(b"\xff\xff\xff") == "not protobuf"
    assert payload_kind(b"\x0a\x05ab") == "not protobuf"  # a field running past the end


# -- numpy ---------------------------------------------------------------------------------


def test_numpy_scalars_and_arrays_encode_as_python_values() -> None:
    np = pytest.importorskip("numpy")
    from tfrecord_lite import FloatValues, IntValues

    plain = {
        "f": [0.1, 0.2],
        "f64": [1.5, -2.0],
        "i": [1, -5, 1 << 40],
        "b": [1, 0],
        "s": [b"ab", b"c"],
        "u": ["x", "yz"],
        "one_f": 0.1,
        "one_i": 7,
        "one_b": True,
        "grid": [1, 2, 3, 4],
    }
    want = encode_example(
        {**plain, "f": FloatValues([float(np.float32(v)) for v in plain["f"]]),
         "one_f": float(np.float32(0.1))}
    )
    numpy_values = {
        "f": np.array([0.1, 0.2], np.float32),
        "f64": np.array([1.5, -2.0]),
        "i": np.array([1, -5, 1 << 40], np.int64),
        "b": np.array([True, False]),
        "s": np.array([b"ab", b"c"]),
        "u": np.array(["x", "yz"]),
        "one_f": np.float32(0.1),
        "one_i": np.int64(7),
        "one_b": np.bool_(True),
        "grid": np.arange(1, 5, dtype=np.int32).reshape(2, 2),
    }
    assert encode_example(numpy_values) == want
    typed = {k: v for k, v in numpy_values.items()}
    typed["f"] = FloatValues(np.array([0.1, 0.2], np.float32))
    typed["i"] = IntValues(np.array([1, -5, 1 << 40]))
    assert encode_example(typed) == want
    lists = {**numpy_values, "f": list(numpy_values["f"]), "i": list(numpy_values["i"])}
    assert encode_example(lists) == want


def test_numpy_float64_outside_float32_is_refused() -> None:
    np = pytest.importorskip("numpy")

    with pytest.raises(ExampleError, match="outside float32's range"):
        encode_example({"x": np.array([1.0, 1e39])})
    assert decode_example(encode_example({"x": np.array([np.inf, np.nan])}))["x"][0] == math.inf


def test_float32_array_is_packed_without_a_python_loop(monkeypatch) -> None:
    np = pytest.importorskip("numpy")
    import tfrecord_lite.format.example as ex

    def no_loop(*_args):
        raise AssertionError("float32 arrays must not go through the per-value path")

    monkeypatch.setattr(ex, "_float_list", no_loop)
    monkeypatch.setattr(ex.struct, "pack", no_loop)
    values = np.linspace(0, 1, 10_000, dtype=np.float32)
    data = encode_example({"x": values})
    got = Example.FromString(data).features.feature["x"].float_list.value
    assert len(got) == 10_000 and got[-1] == 1.0


# -- the direct decoder agrees with protobuf -----------------------------------------------


def _by_messages(data: bytes):
    """decode_example's answer the protobuf way (what the direct decoder must equal)."""
    from tfrecord_lite.format.example import _values

    example = Example.FromString(data)
    return {k: _values(f) for k, f in sorted(example.features.feature.items())}


_VALUE = st.one_of(
    st.binary(max_size=300),
    st.lists(st.binary(max_size=20), max_size=5),
    st.integers(-(1 << 63), (1 << 63) - 1),
    st.lists(st.integers(-(1 << 63), (1 << 63) - 1), max_size=40),
    st.lists(st.integers(0, 127), max_size=40),
    st.floats(width=32),
    st.lists(st.floats(width=32), max_size=40).map(lambda v: FloatValues(v)),
    st.just([]),
    st.just(FloatValues()),
    st.just(IntValues()),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=12), _VALUE, max_size=8))
def test_direct_decoder_equals_protobuf(features) -> None:
    from tfrecord_lite.format.example import _decode_plain

    data = encode_example(features)
    direct = _decode_plain(data)
    assert direct is not None
    by_messages = _by_messages(data)
    assert repr(direct) == repr(by_messages)  # repr: NaN equal to NaN, -0.0 apart from 0.0
    assert [type(v) for v in direct.values()] == [type(v) for v in by_messages.values()]


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _VALUE, min_size=1, max_size=4), st.data())
def test_damaged_bytes_decode_as_protobuf_does(features, data) -> None:
    raw = bytearray(encode_example(features))
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255))
    try:
        want = repr(_by_messages(bytes(raw)))
    except Exception:
        want = "error"
    try:
        got = repr(decode_example(bytes(raw)))
    except ExampleError:
        got = "error"
    assert got == want


def test_direct_decoder_on_empty_packed_fields() -> None:
    # int64_list and float_list whose packed field is there but empty, as some writers leave it
    for kind in (b"\x1a", b"\x12"):
        data = b"\x0a\x0b\x0a\x09\x0a\x01k\x12\x04" + kind + b"\x02\x0a\x00"
        assert repr(decode_example(data)) == repr(_by_messages(data))
