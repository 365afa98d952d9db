"""Fuzz target: decode_example on arbitrary bytes may only raise ExampleError, and whatever it
decodes re-encodes to bytes that decode to the same values; where the C speedups are built,
their decoder gives the pure-Python one's answer on every input (the same values, or None)."""

from __future__ import annotations

import math
import struct
import sys

import atheris

with atheris.instrument_imports():
    from tfrecord_lite.format._accel import ext
    from tfrecord_lite.format.errors import ExampleError
    from tfrecord_lite.format.example import (
        BytesValues,
        FloatValues,
        IntValues,
        _decode_plain_py,
        decode_example,
        encode_example,
    )


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)) for x, y in zip(a, b)
    )


def _exact(decoded: dict | None) -> object:
    """A decoded Example with its floats by their bits (NaN payloads, -0.0) and list types."""
    if decoded is None:
        return None
    return [(k, type(v), [struct.pack("<d", x) if isinstance(x, float) else x for x in v])
            for k, v in decoded.items()]


def _plain_py(data: bytes) -> dict | None:
    try:
        return _decode_plain_py(data)
    except (IndexError, ValueError, struct.error):  # decode_example: protobuf decides
        return None


def test_one_input(data: bytes) -> None:
    if ext is not None:  # differential: the C fast path gives the pure one's answer
        assert _exact(ext.decode_plain(data)) == _exact(_plain_py(data))
    try:
        values = decode_example(data)
    except ExampleError:
        return
    typed = {}
    for key, v in values.items():
        if v and isinstance(v[0], bytes):
            typed[key] = BytesValues(v)
        elif v and isinstance(v[0], float):
            typed[key] = FloatValues(v)
        else:
            typed[key] = IntValues(v)
    again = decode_example(encode_example(typed))
    assert again.keys() == values.keys()
    for key in values:
        assert _same(again[key], values[key]), key


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
