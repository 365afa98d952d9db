"""Plain Python mappings <-> tf.train.Example bytes.

Encoding writes the protobuf wire format directly (keys sorted, as protobuf's deterministic
serialisation does), which is both faster than building messages and the same bytes in every
process.  Decoding uses the generated ``Example`` class.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any, Union

from ._protos.example_pb2 import Example, SequenceExample
from ._protos.feature_pb2 import BytesList, Feature, Features, FloatList, Int64List
from .errors import ExampleError

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

FeatureValue = Union[bytes, str, int, float, bool, list, tuple, BytesList, FloatList, Int64List]


class BytesValues(tuple):
    """A typed list of byte strings (``()`` is an empty bytes_list, not a kindless feature)."""


class FloatValues(tuple):
    """A typed list of floats; ints are converted (``FloatValues()`` is an empty float_list)."""


class IntValues(tuple):
    """A typed list of int64 values (``IntValues()`` is an empty int64_list)."""


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_FLOAT32_MAX = 3.4028234663852886e38


def _varint(n: int) -> bytes:
    """Unsigned LEB128; negative int64 values are written as their 64-bit two's complement."""
    if n < 0:
        n += 1 << 64
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    """A length-delimited field: tag byte, varint length, payload."""
    n = len(payload)
    return b"".join((bytes((tag,)), bytes((n,)) if n < 0x80 else _varint(n), payload))


def _bytes_list(key: str, values: list) -> bytes:
    out = []
    for v in values:
        if isinstance(v, str):
            v = v.encode("utf-8")
        elif not isinstance(v, (bytes, bytearray, memoryview)):
            raise ExampleError(
                f"feature {key!r}: mixed value types: {type(v).__name__} {v!r} "
                "in a list of bytes/str"
            )
        out.append(_field(0x0A, bytes(v)))
    return _field(0x0A, b"".join(out))  # Feature.bytes_list = 1


def _int64_list(key: str, values: list) -> bytes:
    parts = []
    for v in values:
        if not isinstance(v, int):  # bool is an int
            raise ExampleError(
                f"feature {key!r}: mixed value types: {type(v).__name__} {v!r} in a list of ints"
            )
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise ExampleError(f"feature {key!r}: {v} does not fit in int64")
        parts.append(_varint(int(v)))
    packed = b"".join(parts)
    return _field(0x1A, _field(0x0A, packed) if packed else b"")  # Feature.int64_list = 3


def _float_list(key: str, values: list) -> bytes:
    for v in values:
        if not isinstance(v, float) or (abs(v) > _FLOAT32_MAX and math.isfinite(v)):
            if isinstance(v, float):
                raise ExampleError(f"feature {key!r}: {v!r} is outside float32's range")
            raise ExampleError(
                f"feature {key!r}: mixed value types: {type(v).__name__} {v!r} in a list of floats"
            )
    packed = struct.pack(f"<{len(values)}f", *values) if values else b""
    return _field(0x12, _field(0x0A, packed) if packed else b"")  # Feature.float_list = 2


def _feature(key: str, value: Any) -> bytes:
    """The serialised ``Feature`` for one plain value (scalar or sequence)."""
    if isinstance(value, (bytes, bytearray, memoryview, str)):
        return _bytes_list(key, [value])
    if isinstance(value, float):
        return _float_list(key, [value])
    if isinstance(value, int):
        return _int64_list(key, [value])
    if isinstance(value, FloatValues):
        return _float_list(key, [float(v) if isinstance(v, int) else v for v in value])
    if isinstance(value, IntValues):
        return _int64_list(key, list(value))
    if isinstance(value, BytesValues):
        return _bytes_list(key, list(value))
    if isinstance(value, BytesList):
        return _bytes_list(key, list(value.value))
    if isinstance(value, FloatList):
        return _float_list(key, list(value.value))
    if isinstance(value, Int64List):
        return _int64_list(key, list(value.value))
    if isinstance(value, Feature):
        return value.SerializeToString(deterministic=True)
    if isinstance(value, (list, tuple)):
        if not value:
            return b""  # no kind: TensorFlow reads it as an empty list of any type
        first = value[0]
        if isinstance(first, (bytes, bytearray, memoryview, str)):
            return _bytes_list(key, list(value))
        if isinstance(first, float):
            return _float_list(key, list(value))
        if isinstance(first, int):
            if any(isinstance(v, float) for v in value):
                raise ExampleError(
                    f"feature {key!r}: mixed ints and floats {list(value)[:8]!r}; "
                    "make them all float to store a float_list"
                )
            return _int64_list(key, list(value))
    raise ExampleError(
        f"feature {key!r}: unsupported value {type(value).__name__} {value!r:.80}; use bytes, "
        "str, int, bool, float or a list/tuple of one of those (or BytesList/FloatList/Int64List "
        "for a typed empty list)"
    )


def encode_example(features: Mapping[str, Any]) -> bytes:
    """Serialise a mapping as a ``tf.train.Example``; same input, same bytes, in every process.

    ``bytes``/``str`` -> bytes_list, ``int``/``bool`` -> int64_list, ``float`` -> float_list,
    and lists/tuples of one of those.  An empty list has no kind (TensorFlow parses it as empty
    for any type); wrap values in ``FloatValues``/``IntValues``/``BytesValues`` to fix the type
    (typed empty lists, ints stored as floats).
    """
    if not isinstance(features, Mapping):
        raise ExampleError(
            f"encode_example needs a mapping of name -> values, not {type(features).__name__}"
        )
    entries = []
    for key in sorted(features):
        if not isinstance(key, str):
            raise ExampleError(f"feature names must be str, not {type(key).__name__} {key!r}")
        feature = _feature(key, features[key])
        # map entry: key = 1 (string), value = 2 (Feature); Features.feature = 1
        entries.append(_field(0x0A, _field(0x0A, key.encode("utf-8")) + _field(0x12, feature)))
    return _field(0x0A, b"".join(entries))  # Example.features = 1


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
