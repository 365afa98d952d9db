"""Protobuf wire-format pieces written by hand: what the Example encoder and the ModelPack
record builder share, without importing protobuf (the converter never needs it)."""

from __future__ import annotations


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
