"""Plain Python mappings <-> tf.train.Example and tf.train.SequenceExample bytes.

Encoding writes the protobuf wire format directly (keys sorted, as protobuf's deterministic
serialisation does), which is both faster than building messages and the same bytes in every
process.  Decoding uses the generated classes.  numpy values are accepted without importing
numpy: arrays and scalars are recognised by their type's module and read through their own
methods (``tobytes``, ``tolist``, ``item``).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping
from typing import Any

from tfrecord_lite._protos.example_pb2 import Example, SequenceExample
from tfrecord_lite._protos.feature_pb2 import BytesList, Feature, Features, FloatList, Int64List
from tfrecord_lite.format._accel import ext as _ext
from tfrecord_lite.format.errors import ExampleError
from tfrecord_lite.format.wire import (  # the typed lists: there for the record builder
    BytesValues,
    FloatValues,
    IntValues,
    field,
    field_head,
    varint,
)

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
    "encode_sequence_example",
    "decode_sequence_example",
    "payload_kind",
]


def _is_numpy(value: Any) -> bool:
    """A numpy array or scalar, told by its type's module (numpy is never imported here)."""
    return type(value).__module__ == "numpy"


_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_FLOAT32_MAX = 3.4028234663852886e38
_FLOAT32_TIE = float.fromhex("0x1.ffffffp+127")
"""Halfway from float32's largest value to 2**128: a double below it rounds to a finite float32
(as ``struct.pack('<f')`` packs it), one at or above it would round to infinity."""


# Each encoder returns the parts of a serialised ``Feature`` and their total length, so that
# large byte strings are copied once, by the final join, not once per nesting level.
Parts = tuple[list, int]


_SHORT_BYTES_HEADS = [field_head(0x0A, n) for n in range(0x80)]  # BytesList.value heads


def _bytes_list(key: str, values) -> Parts:
    parts: list = []
    size = 0
    head_of = field_head  # a local: this loop runs once per value, and
    short = _SHORT_BYTES_HEADS  # most values are short: their head is a lookup, not a call
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
        h = short[n] if n < 0x80 else head_of(0x0A, n)
        parts += (h, v)
        size += len(h) + len(v)
    head = field_head(0x0A, size)  # Feature.bytes_list = 1
    return [head, *parts], size + len(head)


def _small_ints(values) -> Parts | None:
    """The int64_list of values all in 0..127 (each its own one-byte varint: packed by
    ``bytes()`` in C), or None when they are not all such ints."""
    try:
        packed = bytes(values)
    except (TypeError, ValueError):
        return None
    if packed and max(packed) >= 0x80:
        return None
    out = field(0x1A, field(0x0A, packed) if packed else b"")  # Feature.int64_list = 3
    return [out], len(out)


def _int64_list(key: str, values) -> Parts:
    if type(values) in (list, tuple, IntValues):
        fast = _small_ints(values)
        if fast is not None:
            return fast
    parts = []
    for v in values:
        if not isinstance(v, int):  # bool is an int
            if _is_numpy(v) and type(v.item()) in (int, bool):
                v = v.item()  # np.int64, np.bool_, ...
            else:
                raise ExampleError(
                    f"feature {key!r}: mixed value types: {type(v).__name__} {v!r} "
                    "in a list of ints"
                )
        if 0 <= v < 0x80:
            parts.append(bytes((v,)))
            continue
        if not _INT64_MIN <= v <= _INT64_MAX:
            raise ExampleError(f"feature {key!r}: {v} does not fit in int64")
        parts.append(varint(int(v)))
    packed = b"".join(parts)
    out = field(0x1A, field(0x0A, packed) if packed else b"")  # Feature.int64_list = 3
    return [out], len(out)


def _float_list(key: str, values) -> Parts:
    n = len(values)
    if n and set(map(type, values)) == _ONLY_FLOAT and -_FLOAT32_TIE < min(values):
        if max(values) < _FLOAT32_TIE:  # (NaN compares false: it goes the checking way)
            out = field(0x12, field(0x0A, struct.pack(f"<{n}f", *values)))  # float_list = 2
            return [out], len(out)
    for v in values:
        if type(v) is not float or (abs(v) >= _FLOAT32_TIE and math.isfinite(v)):
            if isinstance(v, float):
                if abs(v) < _FLOAT32_TIE or not math.isfinite(v):
                    continue  # a float subclass
                raise ExampleError(f"feature {key!r}: {v!r} is outside float32's range")
            raise ExampleError(
                f"feature {key!r}: mixed value types: {type(v).__name__} {v!r} in a list of floats"
            )
    out = field(0x12, field(0x0A, struct.pack(f"<{n}f", *values)) if n else b"")  # float_list
    return [out], len(out)


_ONLY_FLOAT = {float}


def _as_float(key: str, v: Any) -> Any:
    """An int or numpy number of a ``FloatValues`` as a float (anything else as it is, for
    ``_float_list`` to name); an int too large for any float is this feature's error."""
    if not (isinstance(v, int) or _is_numpy(v)):
        return v
    try:
        return float(v)
    except OverflowError:
        digits = str(v)
        shown = digits if len(digits) <= 24 else f"{digits[:12]}... ({len(digits)} digits)"
        raise ExampleError(f"feature {key!r}: {shown} is outside float32's range") from None


def _typed_floats(key: str, value) -> Parts:
    """A ``FloatValues``: any numbers (ints, numpy scalars), packed in one C call; the checking
    loop only runs to say what is wrong."""
    n = len(value)
    if not n:
        return _float_list(key, value)
    try:
        packed = struct.pack(f"<{n}f", *value)
    except (struct.error, OverflowError, TypeError):
        return _float_list(key, [_as_float(key, v) for v in value])
    out = field(0x12, field(0x0A, packed))
    return [out], len(out)


def _array(key: str, value) -> Parts:
    """A numpy array or scalar: floating arrays are packed by numpy itself (``astype`` and
    ``tobytes``, no Python loop); other kinds go through their Python values."""
    kind = getattr(getattr(value, "dtype", None), "kind", "")
    if not hasattr(value, "ndim") or value.ndim == 0:
        return _feature(key, value.item())
    if kind == "f":
        if value.dtype.itemsize > 4:
            big = value[abs(value) >= _FLOAT32_TIE].reshape(-1).tolist()
            bad = [v for v in big if math.isfinite(v)]
            if bad:
                raise ExampleError(f"feature {key!r}: {bad[0]!r} is outside float32's range")
        packed = value.astype("<f4").tobytes()
        out = field(0x12, field(0x0A, packed) if packed else b"")
        return [out], len(out)
    flat = value.reshape(-1).tolist()
    if kind in "iub":
        return _int64_list(key, flat)
    if kind in "SU":
        return _bytes_list(key, flat)
    if kind == "O":
        return _sequence(key, flat)
    return _unsupported(key, value)


def _sequence(key: str, value) -> Parts:
    if not value:
        return [], 0  # no kind: TensorFlow reads it as an empty list of any type
    first = value[0]
    if _is_numpy(first) and not isinstance(first, (bytes, str, float)):
        value = [v.item() if _is_numpy(v) else v for v in value]  # np.int64, np.float32, ...
        first = value[0]
    if isinstance(first, (bytes, bytearray, memoryview, str)):
        return _bytes_list(key, value)
    if isinstance(first, float):
        return _float_list(key, value)
    if isinstance(first, int):
        fast = _small_ints(value)
        if fast is not None:
            return fast
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


_SCALAR_INTS: dict[int, Parts] = {}  # int value -> its Feature (widths, heights, labels repeat)


def _one_int(key: str, value: int) -> Parts:
    parts = _SCALAR_INTS.get(value)
    if parts is None:
        parts = _int64_list(key, (value,))
        if len(_SCALAR_INTS) < 4096:
            _SCALAR_INTS[value] = parts
    return parts


def _one_bytes(key: str, value: bytes) -> Parts:
    n = len(value)
    h = field_head(0x0A, n)
    head = field_head(0x0A, len(h) + n)  # Feature.bytes_list = 1, its one value
    return [head, h, value], len(head) + len(h) + n


_BY_TYPE = {
    bytes: _one_bytes,
    str: lambda k, v: _one_bytes(k, v.encode("utf-8")),
    bytearray: lambda k, v: _bytes_list(k, (v,)),
    memoryview: lambda k, v: _bytes_list(k, (v,)),
    int: _one_int,
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
    if encode is None:  # subclasses of the supported types, numpy values
        if _is_numpy(value) and hasattr(value, "dtype"):
            return _array(key, value)
        encode = next((f for t, f in _BY_TYPE.items() if isinstance(value, t)), _unsupported)
    return encode(key, value)


_KEYS: dict[str, bytes] = {}  # feature name -> its encoded map-entry key field


def _key_head(key: str) -> bytes:
    head = field(0x0A, key.encode("utf-8"))
    if len(_KEYS) < 4096:
        _KEYS[key] = head
    return head


def _key_order(key: str) -> bytes:
    """Protobuf's deterministic map order: a key sorts *after* the longer keys it is a prefix of
    (``image_name`` before ``image``), i.e. bytewise order with an end marker above every byte."""
    return key.encode("utf-8") + b"\xff"


_ORDERS: dict[tuple, list[tuple[str, bytes]]] = {}  # a mapping's keys -> (key, head) sorted


def _order(items: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """The keys of ``items`` in deterministic order with their encoded key fields; the same key
    sets come back record after record, so the sort is done once per set."""
    keys = tuple(items)
    order = _ORDERS.get(keys)
    if order is None:
        for key in keys:
            if not isinstance(key, str):
                raise ExampleError(f"feature names must be str, not {type(key).__name__} {key!r}")
        order = [(k, _KEYS.get(k) or _key_head(k)) for k in sorted(keys, key=_key_order)]
        if len(_ORDERS) < 1024:
            _ORDERS[keys] = order
    return order


def _map_entries(items: Mapping[str, Any], encode) -> Parts:
    """The entries of a protobuf ``map<string, V>`` field 1 in deterministic key order, each
    ``V`` given by ``encode(key, value)`` as parts."""
    out: list = []
    total = 0
    by_type = _BY_TYPE if encode is _feature else {}  # _feature's first step, without a call
    head_of = field_head  # a local: this loop runs once per feature
    for key, key_head in _order(items):
        value = items[key]
        direct = by_type.get(type(value))
        parts, size = direct(key, value) if direct is not None else encode(key, value)
        # map entry {key = 1; value = 2}
        head = key_head + head_of(0x12, size)
        n = len(head) + size
        entry = head_of(0x0A, n)
        out += (entry, head, *parts)
        total += len(entry) + n
    return out, total


def _need_mapping(value: Any, what: str) -> None:
    if type(value) is not dict and not isinstance(value, Mapping):
        raise ExampleError(f"{what} needs a mapping of name -> values, not {type(value).__name__}")


def encode_example(features: Mapping[str, Any]) -> bytes:
    """Serialise a mapping as a ``tf.train.Example``; same input, same bytes, in every process.

    ``bytes``/``str`` -> bytes_list, ``int``/``bool`` -> int64_list, ``float`` -> float_list,
    and lists/tuples of one of those; numpy scalars and arrays by their dtype (arrays are
    flattened).  An empty list has no kind (TensorFlow parses it as empty for any type); wrap
    values in ``FloatValues``/``IntValues``/``BytesValues`` to fix the type (typed empty lists,
    ints stored as floats).  Keys are in protobuf's deterministic order, so the bytes equal
    TensorFlow's ``SerializeToString(deterministic=True)``.
    """
    if _encode_plain is not None:
        data = _encode_plain(features)
        if data is not None:
            return data
    _need_mapping(features, "encode_example")
    try:
        out, total = _map_entries(features, _feature)
    except UnicodeEncodeError:
        raise ExampleError(_not_text(features)) from None
    return b"".join((field_head(0x0A, total), *out))  # Example.features = 1


def _not_text(items: Mapping[str, Any], what: str = "feature") -> str:
    """What a UnicodeEncodeError was about: the first name or str value (alone, in a list, or in
    a feature list's steps) that UTF-8 cannot encode, a lone surrogate for one."""
    def bad(text: Any) -> bool:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False

    for key, value in items.items():
        if isinstance(key, str) and bad(key):
            return f"{what} name {key!r} is not valid text (UTF-8 cannot encode it)"
        steps = value if what == "feature list" and isinstance(value, (list, tuple)) else [value]
        for step in steps:
            for v in step if isinstance(step, (list, tuple)) else [step]:
                if isinstance(v, str) and bad(v):
                    return (f"{what} {key!r}: {v!r} is not valid text (UTF-8 cannot encode it); "
                            "pass bytes for binary values")
    return f"a {what} name or value is not valid text (UTF-8 cannot encode it)"


def _feature_list(key: str, values: Any) -> Parts:
    """A ``FeatureList``: one ``Feature`` per element of ``values`` (each element follows the
    Example rules: a scalar is a one-value feature, a list a list feature)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ExampleError(
            f"feature list {key!r}: needs a list of feature values (one per step), "
            f"not {type(values).__name__}"
        )
    out: list = []
    total = 0
    head_of = field_head  # a local: this loop runs once per step
    for value in values:
        parts, size = _feature(key, value)
        head = head_of(0x0A, size)
        out += (head, *parts)
        total += len(head) + size
    return out, total


def encode_sequence_example(
    context: Mapping[str, Any] | None = None, feature_lists: Mapping[str, Any] | None = None
) -> bytes:
    """Serialise a ``tf.train.SequenceExample``: ``context`` as an Example's features, and
    ``feature_lists`` as ``{name: [value per step, ...]}`` with each step's value following the
    same rules.  Empty parts are left out, as protobuf leaves out unset messages."""
    if _encode_sequence_plain is not None:
        data = _encode_sequence_plain(context, feature_lists)
        if data is not None:
            return data
    pieces: list = []
    for tag, mapping, encode, what in (
        (0x0A, context, _feature, "context"),
        (0x12, feature_lists, _feature_list, "feature_lists"),
    ):
        if mapping is None:
            continue
        _need_mapping(mapping, f"encode_sequence_example's {what}")
        if not mapping:
            continue
        try:  # entries of field 1 of Features/FeatureLists
            out, total = _map_entries(mapping, encode)
        except UnicodeEncodeError:
            raise ExampleError(_not_text(
                mapping, "feature" if encode is _feature else "feature list")) from None
        pieces += (field_head(tag, total), *out)
    return b"".join(pieces)


_TYPED = {"bytes_list": BytesValues, "float_list": FloatValues, "int64_list": IntValues}


def _values(feature: Feature) -> list:
    """A feature's values as a typed list; a feature with no kind set is a plain ``[]``."""
    kind = feature.WhichOneof("kind")
    return _TYPED[kind](getattr(feature, kind).value) if kind else []


def decode_example(data: bytes) -> dict[str, list]:
    """Parse ``tf.train.Example`` bytes into ``{name: values}``.

    Values are lists typed by the feature's kind (``BytesValues``, ``IntValues``,
    ``FloatValues``: they compare equal to plain lists), and a feature with no kind set is a
    plain ``[]``, so an empty float_list and a kindless feature stay apart and re-encode to the
    same bytes.
    """
    if type(data) is bytes:
        try:
            fast = _decode_plain(data)
        except (IndexError, ValueError, struct.error):  # hostile bytes: protobuf decides
            fast = None
        if fast is not None:
            return fast
    try:
        example = Example.FromString(data)
    except Exception as exc:  # protobuf raises DecodeError, or others on hostile bytes
        raise ExampleError(f"not a tf.train.Example: {exc}") from exc
    return {key: _values(f) for key, f in sorted(example.features.feature.items())}


def _varint_at(data: bytes, i: int) -> tuple[int, int]:
    """The varint at ``data[i]`` and where it ends; ValueError when it is not one (the direct
    decoder then leaves the bytes to protobuf)."""
    result = shift = 0
    n = len(data)
    while i < n and shift < 64:
        b = data[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result & 0xFFFFFFFFFFFFFFFF, i  # bits past 64 are dropped, as protobuf does
        shift += 7
    raise ValueError("not a varint")


def _decode_plain_py(data: bytes) -> dict[str, list] | None:
    """``decode_example`` for Examples laid out as serialisers write them (one value field per
    feature, packed numbers, a key and a value in every entry), without building messages: the
    bytes values are sliced out once, numbers unpacked in C.  Returns None (or raises
    IndexError/ValueError) for any other layout (unknown fields, unpacked numbers, bad bytes),
    which protobuf then decodes or refuses, so both ways give the same result.

    One loop, few checks: positions only move forward, so every part of an entry is proved to
    lie inside it by its feature and list ending exactly where the entry does; lengths under
    128 (one byte) are read inline, as a call per length would cost more than the rest.  Those
    five-line length reads repeat on purpose: the duplicate-code check lists them as one pair,
    the one intentional speed copy in the package."""
    out: dict[str, list] = {}
    n = len(data)
    i = 0
    while i < n:  # Example.features = 1 (several are merged, as protobuf does)
        if data[i] != 0x0A:
            return None
        size, i = _varint_at(data, i + 1)
        end = i + size
        if end > n:
            return None
        while i < end:  # Features.feature = 1: map entries {key = 1, value = 2}
            if data[i] != 0x0A:
                return None
            size = data[i + 1]
            if size < 0x80:
                i += 2
            else:
                size, i = _varint_at(data, i + 1)
            entry_end = i + size
            if entry_end > end or data[i] != 0x0A:
                return None
            size = data[i + 1]
            if size < 0x80:
                i += 2
            else:
                size, i = _varint_at(data, i + 1)
            key = data[i : i + size].decode()  # not UTF-8: a ValueError
            i += size
            if data[i] != 0x12:
                return None
            size = data[i + 1]
            if size < 0x80:
                i += 2
            else:
                size, i = _varint_at(data, i + 1)
            if i + size != entry_end:
                return None
            if not size:
                out[key] = []  # a Feature with no kind set
                continue
            kind = data[i]  # the Feature's one list field
            size = data[i + 1]
            if size < 0x80:
                i += 2
            else:
                size, i = _varint_at(data, i + 1)
            if i + size != entry_end:
                return None
            if kind == 0x0A:  # bytes_list: repeated bytes value = 1
                values = BytesValues()
                add = values.append
                while i < entry_end:
                    if data[i] != 0x0A:
                        return None
                    size = data[i + 1]
                    if size < 0x80:
                        i += 2
                    else:
                        size, i = _varint_at(data, i + 1)
                    add(data[i : i + size])
                    i += size
                if i != entry_end:
                    return None
                out[key] = values
                continue
            if kind != 0x12 and kind != 0x1A:
                return None
            if i == entry_end:
                out[key] = FloatValues() if kind == 0x12 else IntValues()
                continue
            if data[i] != 0x0A:  # packed value = 1
                return None
            size = data[i + 1]
            if size < 0x80:
                i += 2
            else:
                size, i = _varint_at(data, i + 1)
            if i + size != entry_end:
                return None
            if kind == 0x12:  # float_list
                if size & 3:
                    return None
                out[key] = FloatValues(struct.unpack_from(f"<{size >> 2}f", data, i))
            else:
                out[key] = _packed_ints(data[i:entry_end])
            i = entry_end
    return dict(sorted(out.items()))


# The C core's encoders where it is built: the bytes of the pure encoders for plain values
# (exact dicts of str to bytes, str, int, float, lists of them, typed lists), None for anything
# else, which the pure code after the call then encodes or refuses with its own error; the pure
# code stays the reference (None here runs it alone: the tests and bench_speedups switch these)
_encode_plain = _ext.encode_example if _ext is not None else None
_encode_sequence_plain = _ext.encode_sequence_example if _ext is not None else None
# The C core's decoder where it is built: the same result as _decode_plain_py, or None where
# that gives None or raises (it never raises on bad bytes); _decode_plain_py stays the reference
_decode_plain = _ext.decode_plain if _ext is not None else _decode_plain_py


def _packed_ints(packed: bytes) -> IntValues:
    """The int64 values of a packed field's varints."""
    if not packed or max(packed) < 0x80:
        return IntValues(packed)  # one byte each: the bytes are the values
    ints = IntValues()
    j = 0
    while j < len(packed):
        v, j = _varint_at(packed, j)
        ints.append(v - (1 << 64) if v >= 1 << 63 else v)
    return ints


def decode_sequence_example(data: bytes) -> tuple[dict[str, list], dict[str, list[list]]]:
    """Parse ``tf.train.SequenceExample`` bytes into ``(context, feature_lists)``: the context
    as ``decode_example`` gives features, each feature list as a list of such value lists."""
    try:
        seq = SequenceExample.FromString(data)
    except Exception as exc:
        raise ExampleError(f"not a tf.train.SequenceExample: {exc}") from exc
    context = {key: _values(f) for key, f in sorted(seq.context.feature.items())}
    lists = {
        key: [_values(f) for f in fl.feature]
        for key, fl in sorted(seq.feature_lists.feature_list.items())
    }
    return context, lists


def payload_kind(data: bytes) -> str:
    """What a record holds: ``"Example"``, ``"SequenceExample"``, ``"other"`` (bytes that read
    as some other protobuf message: a NoteSequence, a Waymo Frame...) or ``"not protobuf"``.

    Told by the wire structure, not by parsing (protobuf keeps unknown fields, so nearly any
    message "parses" as an Example): an Example is field 1 holding name -> Feature entries; a
    SequenceExample adds field 2 holding name -> list-of-Feature entries.  An empty record is
    an empty Example, and a SequenceExample with a context only reads as an Example.
    """
    top = _fields(data)
    if top is None:
        return "not protobuf"
    numbers = {(number, wire) for number, wire, _ in top}
    if numbers <= {(1, 2), (2, 2)}:
        ok = all(
            _is_map(value, _is_feature if number == 1 else _is_feature_list)
            for number, _, value in top
        )
        if ok:
            return "SequenceExample" if (2, 2) in numbers else "Example"
    return "other"


def _fields(data) -> list[tuple[int, int, memoryview]] | None:
    """The top-level ``(number, wire type, payload)`` of a message, or None when the bytes are
    not protobuf (a bad tag or varint, a field running past the end)."""
    mv = memoryview(data)
    n = len(mv)
    out = []
    i = 0
    while i < n:
        key, i = _read_varint(mv, i, n)
        if key is None or key >> 3 == 0:
            return None
        number, wire = key >> 3, key & 7
        start = i
        if wire == 0:
            value, i = _read_varint(mv, i, n)
            if value is None:
                return None
        elif wire == 1:
            i += 8
        elif wire == 2:
            size, i = _read_varint(mv, i, n)
            if size is None:
                return None
            start = i
            i += size
        elif wire == 5:
            i += 4
        else:
            return None
        if i > n:
            return None
        out.append((number, wire, mv[start:i]))
    return out


def _is_map(data, value_ok) -> bool:
    """A ``map<string, V>`` message: field 1 entries of ``{1: utf-8 key, 2: V}``."""
    entries = _fields(data)
    if entries is None:
        return False
    for number, wire, entry in entries:
        parts = _fields(entry) if (number, wire) == (1, 2) else None
        if parts is None:
            return False
        seen = set()
        for part_number, part_wire, value in parts:
            if part_wire != 2 or part_number not in (1, 2):
                return False
            if part_number == 1:
                try:
                    str(value, "utf-8")  # a proto3 string key
                except UnicodeDecodeError:
                    return False
            elif not value_ok(value):
                return False
            seen.add(part_number)
        if seen != {1, 2}:  # protobuf writes both key and value of every entry
            return False
    return True


def _is_feature(data) -> bool:
    """A ``Feature``: at most the bytes/float/int64 list fields, each a list message."""
    fields = _fields(data)
    return fields is not None and all(
        wire == 2 and number in (1, 2, 3) and _fields(value) is not None
        for number, wire, value in fields
    )


def _is_feature_list(data) -> bool:
    fields = _fields(data)
    return fields is not None and all(
        (number, wire) == (1, 2) and _is_feature(value) for number, wire, value in fields
    )


def _read_varint(mv: memoryview, i: int, n: int) -> tuple[int | None, int]:
    result = shift = 0
    while i < n and shift < 70:
        b = mv[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7
    return None, i
