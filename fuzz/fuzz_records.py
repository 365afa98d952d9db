"""Fuzz target: the record reader on arbitrary bytes may only raise our typed RecordError, and
where the C speedups are built it is differential: the C path and the pure-Python reference
give the same records, then the same error (type, offset, message), and the C framing of what
was read is the pure framing's."""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports():
    from tfrecord_lite.format import records
    from tfrecord_lite.format._accel import ext
    from tfrecord_lite.format.errors import RecordError
    from tfrecord_lite.format.records import tf_record_iterator


def _read(payload: bytes, mode: str | None, compiled: bool) -> tuple[list[bytes], object]:
    records._walk = ext.walk if compiled else None
    records._frame_small = records._frame_small_c if compiled else records._frame_small_py
    got: list[bytes] = []
    try:
        for record in tf_record_iterator(io.BytesIO(payload), mode):
            got.append(record)
    except RecordError as exc:
        return got, (type(exc), exc.offset, str(exc))
    return got, None


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.PickValueInList([None, "GZIP", "ZLIB", "auto"])
    payload = fdp.ConsumeBytes(fdp.remaining_bytes())
    got, error = _read(payload, mode, compiled=False)
    if ext is None:
        return
    assert _read(payload, mode, compiled=True) == (got, error)
    small = [r for r in got if len(r) < 1024]
    if small:
        assert ext.frame(small) == records._frame_small_py(small)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
