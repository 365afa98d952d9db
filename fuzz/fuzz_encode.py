"""Fuzz target, differential: the C core's Example encoders (encode_example,
encode_sequence_example, and the record builder's encode_example_parts through
modelpack.record_parts) against the pure-Python reference on mappings built from arbitrary
bytes: the same bytes, or the same error (type and message), on every input.  The values are
of every kind the encoders take or refuse: bytes, str (lone surrogates too), ints in and past
int64, bools, floats (NaN, inf, past float32), lists, tuples, typed lists, mixed lists."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from tfrecord_lite.format import example
    from tfrecord_lite.format._accel import ext
    from tfrecord_lite.format.example import BytesValues, FloatValues, IntValues
    from tfrecord_lite.pipeline.formats import modelpack

_SPECIAL_FLOATS = [float("nan"), float("inf"), -float("inf"), -0.0, 3.4028234663852886e38,
                   3.4028235e38, 3.5e38, 1e-46, 1e300]
_SPECIAL_INTS = [0, 127, 128, -1, (1 << 63) - 1, -(1 << 63), 1 << 63, 1 << 64, True, False]


def _scalar(fdp: atheris.FuzzedDataProvider) -> object:
    kind = fdp.ConsumeIntInRange(0, 7)
    if kind == 0:
        return fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 300))
    if kind == 1:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 20))  # surrogates included
    if kind == 2:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 9))  # signed, past int64 at 9 bytes
    if kind == 3:
        return fdp.PickValueInList(_SPECIAL_INTS)
    if kind == 4:
        return fdp.ConsumeRegularFloat()
    if kind == 5:
        return fdp.PickValueInList(_SPECIAL_FLOATS)
    if kind == 6:
        return fdp.ConsumeFloat()
    return fdp.PickValueInList([None, bytearray(b"ab"), [[1]], {"a": 1}])


def _value(fdp: atheris.FuzzedDataProvider, depth: int = 0) -> object:
    kind = fdp.ConsumeIntInRange(0, 5)
    if kind == 0:
        return _scalar(fdp)
    items = [_scalar(fdp) for _ in range(fdp.ConsumeIntInRange(0, 12))]
    if kind == 1 and items:  # one kind all through (the plain case)
        first = type(items[0])
        items = [v for v in items if type(v) is first]
    if kind == 5 and depth == 0:
        return [_value(fdp, 1) for _ in range(fdp.ConsumeIntInRange(0, 4))]
    return [list, tuple, BytesValues, FloatValues, IntValues, list][kind](items)


def _mapping(fdp: atheris.FuzzedDataProvider) -> dict:
    return {fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 6)): _value(fdp)
            for _ in range(fdp.ConsumeIntInRange(0, 8))}


def _outcome(fn, *args) -> tuple[str, object]:
    try:
        return "ok", fn(*args)
    except Exception as exc:  # the error is what is compared
        return type(exc).__name__, str(exc)


def _both(fn, *args) -> None:
    got = _outcome(fn, *args)
    saved = example._encode_plain, example._encode_sequence_plain, modelpack._encode_parts
    example._encode_plain = example._encode_sequence_plain = modelpack._encode_parts = None
    try:
        want = _outcome(fn, *args)
    finally:
        example._encode_plain, example._encode_sequence_plain, modelpack._encode_parts = saved
    assert got == want, (args, got, want)


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    what = fdp.ConsumeIntInRange(0, 2)
    if what == 0:
        _both(example.encode_example, _mapping(fdp))
    elif what == 1:
        context = _mapping(fdp) if fdp.ConsumeBool() else None
        lists = _mapping(fdp) if fdp.ConsumeBool() else None
        _both(example.encode_sequence_example, context, lists)
    else:
        image_len, name, width, height = (fdp.ConsumeIntInRange(0, 1 << 22), _scalar(fdp),
                                          _scalar(fdp), _scalar(fdp))
        objects = [_scalar(fdp) for _ in range(fdp.ConsumeIntInRange(0, 6))]
        bboxes = [_scalar(fdp) for _ in range(fdp.ConsumeIntInRange(0, 24))]
        _both(modelpack.record_parts, image_len, name, width, height, objects, bboxes)


if __name__ == "__main__":
    if ext is None:
        sys.exit("fuzz_encode: the C speedups are not built (nothing to compare)")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
