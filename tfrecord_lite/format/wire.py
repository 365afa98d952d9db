"""Protobuf wire-format pieces written by hand: what the Example encoder and the ModelPack
record builder share, without importing protobuf (the converter never needs it).  The typed
lists are here too (example.py exports them): the C core's encoder and decoder know them."""

from __future__ import annotations

from tfrecord_lite.format._accel import ext as _ext


class BytesValues(list):
    """A typed list of byte strings: ``BytesValues()`` is an empty bytes_list, not a feature
    without a kind.  ``decode_example`` returns these typed lists too, so types survive."""

    __slots__ = ()


class FloatValues(list):
    """A typed list of floats; ints and numpy values are converted (``FloatValues()`` is an
    empty float_list; ``FloatValues(array)`` of a 1-D numpy array is packed in C)."""

    __slots__ = ()


class IntValues(list):
    """A typed list of int64 values (``IntValues()`` is an empty int64_list)."""

    __slots__ = ()


if _ext is not None:
    _ext.set_value_types(BytesValues, FloatValues, IntValues)


def varint(n: int) -> bytes:
    """Unsigned LEB128; negative int64 values are written as their 64-bit two's complement."""
    if n < 0:
        n += 1 << 64
    if n < 0x80:
        return bytes((n,))
    if n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    if n < 0x200000:  # up to 2 MiB: the size of an image, and of the fields holding it
        return bytes(((n & 0x7F) | 0x80, (n >> 7 & 0x7F) | 0x80, n >> 14))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def field_head(tag: int, n: int) -> bytes:
    """Tag byte and varint length of a length-delimited field of n bytes (the field's bytes
    follow it: kept apart so that a large value is copied once, by the final join)."""
    return bytes((tag, n)) if n < 0x80 else bytes((tag,)) + varint(n)


def field(tag: int, data: bytes) -> bytes:
    """A whole length-delimited field: its head, then ``data`` (the head written out, not a
    call to field_head: the record builder makes a dozen of these per record)."""
    n = len(data)
    return (bytes((tag, n)) if n < 0x80 else bytes((tag,)) + varint(n)) + data


def map_entry(key_field: bytes, feature: bytes) -> bytes:
    """A Features map entry {key = 1, value = 2} (field 1): the key's field given, then the
    Feature."""
    body = key_field + field_head(0x12, len(feature)) + feature
    return field_head(0x0A, len(body)) + body


def bytes_entry_head(key_field: bytes, n: int) -> bytes:
    """The head of a map entry holding one bytes value of ``n`` bytes: the entry is this head,
    then the value, so that a large value (an image) is never copied to build its record."""
    value_head = field_head(0x0A, n)  # BytesList.value = 1
    feature = field_head(0x0A, n + len(value_head)) + value_head  # Feature.bytes_list = 1
    n += len(feature)
    body = key_field + field_head(0x12, n)
    return field_head(0x0A, n + len(body)) + body + feature


def int64_feature(values) -> bytes:
    """A Feature holding an int64_list (= 3) of ``values``, packed."""
    if not values:
        return b"\x1a\x00"
    if min(values) >= 0 and max(values) < 0x80:
        packed = bytes(values)  # one-byte varints are the values themselves
    else:
        packed = b"".join([varint(v) for v in values])
    return field(0x1A, field(0x0A, packed))  # Feature.int64_list = 3, its packed value = 1
