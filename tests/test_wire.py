"""Protobuf wire-format pieces written by hand (tfrecord_lite.format.wire): known answers from the
protobuf encoding spec (https://protobuf.dev/programming-guides/encoding/)."""

from __future__ import annotations

import pytest

from tfrecord_lite.format.wire import field_head, varint


@pytest.mark.parametrize(("n", "encoded"), [
    (0, b"\x00"),
    (1, b"\x01"),
    (127, b"\x7f"),
    (128, b"\x80\x01"),
    (150, b"\x96\x01"),  # the spec's own example
    (300, b"\xac\x02"),
    (16383, b"\xff\x7f"),
    (16384, b"\x80\x80\x01"),
    (60_000, b"\xe0\xd4\x03"),
    ((1 << 21) - 1, b"\xff\xff\x7f"),
    (1 << 21, b"\x80\x80\x80\x01"),
    ((1 << 63) - 1, b"\xff" * 8 + b"\x7f"),
    (-1, b"\xff" * 9 + b"\x01"),  # int64 -1: ten bytes, its 64-bit two's complement
    (-(1 << 63), b"\x80" * 9 + b"\x01"),
])
def test_varint_known_answers(n: int, encoded: bytes) -> None:
    assert varint(n) == encoded


def test_field_head_is_tag_then_varint_length() -> None:
    assert field_head(0x0A, 5) == b"\x0a\x05"
    assert field_head(0x12, 127) == b"\x12\x7f"
    assert field_head(0x12, 128) == b"\x12\x80\x01"
    assert field_head(0x1A, 300) == b"\x1a\xac\x02"


def test_varint_every_width_is_the_loop() -> None:
    """Each inline width gives the bytes of the general loop, at both of its ends."""

    def loop(n: int) -> bytes:
        out = bytearray()
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        return bytes((*out, n))

    for bits in range(0, 64):
        for n in ((1 << bits) - 1, 1 << bits, (1 << bits) + 1):
            assert varint(n) == loop(n)
