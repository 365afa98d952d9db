"""Fuzz target: decode_example on arbitrary bytes may only raise ExampleError, and whatever it
decodes re-encodes to bytes that decode to the same values."""

from __future__ import annotations

import math
import sys

import atheris

with atheris.instrument_imports():
    from tfrecord_lite.format.errors import ExampleError
    from tfrecord_lite.format.example import (
        BytesValues,
        FloatValues,
        IntValues,
        decode_example,
        encode_example,
    )


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        x == y or (isinstance(x, float) and math.isnan(x) and math.isnan(y)) for x, y in zip(a, b)
    )


def test_one_input(data: bytes) -> None:
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
