"""Fuzz target: the image header scan on arbitrary files.  ``read_header`` may only raise our
InputError, and where the C speedups are built it is differential: the C scan
(``_speedups.scan_image``) and the pure path (``headers.sniff`` and the end check) give the
same header, or the same error (type, message, reason), for the same file and checks."""

from __future__ import annotations

import os
import sys
import tempfile

import atheris

with atheris.instrument_imports():
    from tfrecord_lite.pipeline.errors import InputError
    from tfrecord_lite.pipeline.groundtruth import images

_SCAN = images._scan
_FILE = os.path.join(tempfile.mkdtemp(prefix="fuzz_headers."), "image")
_CHECKS = (images.ImageChecks(), images.ImageChecks(max_pixels=0),
           images.ImageChecks(max_pixels=4096))


def _header(checks: images.ImageChecks, compiled: bool) -> object:
    images._scan = _SCAN if compiled else None
    try:
        return images.read_header(_FILE, "s3://fuzz/image", checks)
    except InputError as exc:
        return type(exc), str(exc), exc.reason


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    checks = _CHECKS[fdp.ConsumeIntInRange(0, len(_CHECKS) - 1)]
    with open(_FILE, "wb") as f:
        f.write(fdp.ConsumeBytes(fdp.remaining_bytes()))
    pure = _header(checks, compiled=False)
    if _SCAN is not None:
        assert _header(checks, compiled=True) == pure


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
