"""Fuzz target: the record reader on arbitrary bytes may only raise our typed RecordError."""

from __future__ import annotations

import io
import sys

import atheris

with atheris.instrument_imports():
    from tfrecord_lite.format.errors import RecordError
    from tfrecord_lite.format.records import tf_record_iterator


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    mode = fdp.PickValueInList([None, "GZIP", "ZLIB", "auto"])
    payload = fdp.ConsumeBytes(fdp.remaining_bytes())
    try:
        for _ in tf_record_iterator(io.BytesIO(payload), mode):
            pass
    except RecordError:
        pass


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
