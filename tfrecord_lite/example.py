"""Plain Python mappings <-> tf.train.Example bytes.

Encoding writes the protobuf wire format directly (keys sorted, as protobuf's deterministic
serialisation does), which is both faster than building messages and the same bytes in every
process.  Decoding uses the generated ``Example`` class.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

from ._protos.example_pb2 import Example, SequenceExample
from ._protos.feature_pb2 import BytesList, Feature, Features, FloatList, Int64List
from .errors import ExampleError
from .wire import field_head, varint

__all__ = [
    "Example",
    "SequenceExample",
    "Feature",
    "Features",
    "BytesList",
    "FloatList",
    "Int64List",
    "BytesValues",
    "FloatValues",
    "IntValues",
    "encode_example",
    "decode_example",
]


class BytesValues(tuple):
    """A typed list of byte strings (``()`` is an empty bytes_list, not a kindless feature)."""


class FloatValues(tuple):
    """A typed list of floats; ints are converted (``FloatValues()`` is an empty float_list)."""


class IntValues(tuple):
    """A typed list of int64 values (``IntValues()`` is an empty int64_list)."""


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_FLOAT32_MAX = 3.4028234663852886e38


# Each encoder returns the parts of a serialised ``Feature`` and their total length, so that
# large byte strings are copied once, by the final join, not once per nesting level.
Parts = tuple[list, int]


def _bytes_list(key: str, values) -> Parts:
    parts: list = []
    size = 0
    for v in values:
        if type(v) is not bytes:
            if isinstance(v, str):
                v = v.encode("utf-8")
            elif isinstance(v, (bytes, bytearray, memoryview)):
                v = bytes(v)
            else:
                raise ExampleError(
                    f"feature {key!r}: mixed value types: {type(v).__name__} {v!r} "
                    "in a list of bytes/str"
                )
        n = len(v)
        h = bytes((0x0A, n)) if n < 0x80 else b"\x0a" + varint(n)
        parts += (h, v)
        size += len(h) + n
    head = field_head(0x0A, size)  # Feature.bytes_list = 1
    return [head, *parts], size + len(head)


def _int64_list(key: str, values) -> Parts:
    parts = []
    for v in values:
        if not isinstance(v, int):  # bool is an int
            raise ExampleError(
                f"feature {key!r}: mixed value types: {type(v).__name__} {v!r} in a list of ints"
            )
        if 0 <= v < 0x80:
            parts.append(bytes((v,)))
            continue
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise ExampleError(f"feature {key!r}: {v} does not fit in int64")
        parts.append(varint(int(v)))
    packed = b"".join(parts)
    body = field_head(0x0A, len(packed)) + packed if packed else b""
    out = field_head(0x1A, len(body)) + body  # Feature.int64_list = 3
    return [out], len(out)


def _float_list(key: str, values) -> Parts:
    for v in values:
        if type(v) is not float or (abs(v) > _FLOAT32_MAX and math.isfinite(v)):
            if isinstance(v, float):
                if abs(v) <= _FLOAT32_MAX or not math.isfinite(v):
                    continue  # a float subclass
                raise ExampleError(f"feature {key!r}: {v!r} is outside float32's range")
            raise ExampleError(
                f"feature {key!r}: mixed value types: {type(v).__name__} {v!r} in a list of floats"
            )
    n = len(values)
    body = field_head(0x0A, 4 * n) + struct.pack(f"<{n}f", *values) if n else b""
    out = field_head(0x12, len(body)) + body  # Feature.float_list = 2
    return [out], len(out)


def _typed_floats(key: str, value) -> Parts:
    return _float_list(key, [float(v) if type(v) is int else v for v in value])


def _sequence(key: str, value) -> Parts:
    if not value:
        return [], 0  # no kind: TensorFlow reads it as an empty list of any type
    first = value[0]
    if isinstance(first, (bytes, bytearray, memoryview, str)):
        return _bytes_list(key, value)
    if isinstance(first, float):
        return _float_list(key, value)
    if isinstance(first, int):
        if any(isinstance(v, float) for v in value):
            raise ExampleError(
                f"feature {key!r}: mixed ints and floats {list(value)[:8]!r}; "
                "make them all float to store a float_list"
            )
        return _int64_list(key, value)
    return _unsupported(key, value)


def _unsupported(key: str, value) -> Parts:
    raise ExampleError(
        f"feature {key!r}: unsupported value {type(value).__name__} {value!r:.80}; use bytes, "
        "str, int, bool, float or a list/tuple of one of those (or BytesValues/FloatValues/"
        "IntValues for a typed list)"
    )


def _message(key: str, value) -> Parts:
    if isinstance(value, BytesList):
        return _bytes_list(key, value.value)
    if isinstance(value, FloatList):
        return _float_list(key, list(value.value))
    if isinstance(value, Int64List):
        return _int64_list(key, value.value)
    data = value.SerializeToString(deterministic=True)  # a Feature
    return [data], len(data)


_BY_TYPE = {
    bytes: lambda k, v: _bytes_list(k, (v,)),
    str: lambda k, v: _bytes_list(k, (v,)),
    bytearray: lambda k, v: _bytes_list(k, (v,)),
    memoryview: lambda k, v: _bytes_list(k, (v,)),
    int: lambda k, v: _int64_list(k, (v,)),
    bool: lambda k, v: _int64_list(k, (v,)),
    float: lambda k, v: _float_list(k, (v,)),
    BytesValues: _bytes_list,
    IntValues: _int64_list,
    FloatValues: _typed_floats,
    list: _sequence,
    tuple: _sequence,
    BytesList: _message,
    FloatList: _message,
    Int64List: _message,
    Feature: _message,
}


def _feature(key: str, value: Any) -> Parts:
    """The serialised ``Feature`` (as parts) for one plain value (scalar or sequence)."""
    encode = _BY_TYPE.get(type(value))
    if encode is None:  # subclasses of the supported types
        encode = next((f for t, f in _BY_TYPE.items() if isinstance(value, t)), _unsupported)
    return encode(key, value)


_KEYS: dict[str, bytes] = {}  # feature name -> its encoded map-entry key field


def _key_head(key: str) -> bytes:
    k = key.encode("utf-8")
    head = field_head(0x0A, len(k)) + k
    if len(_KEYS) < 4096:
        _KEYS[key] = head
    return head


def _key_order(key: str) -> bytes:
    """Protobuf's deterministic map order: a key sorts *after* the longer keys it is a prefix of
    (``image_name`` before ``image``), i.e. bytewise order with an end marker above every byte."""
    return key.encode("utf-8") + b"\xff"


def encode_example(features: Mapping[str, Any]) -> bytes:
    """Serialise a mapping as a ``tf.train.Example``; same input, same bytes, in every process.

    ``bytes``/``str`` -> bytes_list, ``int``/``bool`` -> int64_list, ``float`` -> float_list,
    and lists/tuples of one of those.  An empty list has no kind (TensorFlow parses it as empty
    for any type); wrap values in ``FloatValues``/``IntValues``/``BytesValues`` to fix the type
    (typed empty lists, ints stored as floats).  Keys are in protobuf's deterministic order, so
    the bytes equal TensorFlow's ``SerializeToString(deterministic=True)``.
    """
    if not isinstance(features, Mapping):
        raise ExampleError(
            f"encode_example needs a mapping of name -> values, not {type(features).__name__}"
        )
    for key in features:
        if not isinstance(key, str):
            raise ExampleError(f"feature names must be str, not {type(key).__name__} {key!r}")
    out: list = []
    total = 0
    for key in sorted(features, key=_key_order):
        parts, size = _feature(key, features[key])
        # map entry {key = 1; value = 2}, itself field 1 of Features
        head = (_KEYS.get(key) or _key_head(key)) + (
            bytes((0x12, size)) if size < 0x80 else field_head(0x12, size)
        )
        n = len(head) + size
        entry = bytes((0x0A, n)) if n < 0x80 else field_head(0x0A, n)
        out += (entry, head, *parts)
        total += len(entry) + n
    return b"".join((field_head(0x0A, total), *out))  # Example.features = 1


def decode_example(data: bytes) -> dict[str, list]:
    """Parse ``tf.train.Example`` bytes into ``{name: [values]}`` (bytes, int or float lists)."""
    try:
        example = Example.FromString(data)
    except Exception as exc:  # protobuf raises DecodeError, or others on hostile bytes
        raise ExampleError(f"not a tf.train.Example: {exc}") from exc
    out: dict[str, list] = {}
    for key, feature in sorted(example.features.feature.items()):
        kind = feature.WhichOneof("kind")
        out[key] = list(getattr(feature, kind).value) if kind else []
    return out
