"""Fuzz target: the manifest reader on arbitrary bytes may only raise InputError, with a line."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from tfrecord_lite.pipeline.errors import RAISE, SKIP, InputError
    from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions, read_manifest

_DIR = Path(tempfile.mkdtemp(prefix="fuzz-manifest-"))
_IMAGES = _DIR / "images"
_IMAGES.mkdir()
(_IMAGES / "a.jpg").write_bytes(b"\xff\xd8\xff\xc0\x00\x11\x08\x00\x10\x00\x10\x03" + b"\x00" * 9)
_MANIFEST = _DIR / "output.manifest"


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    policy = fdp.PickValueInList([RAISE, SKIP])
    _MANIFEST.write_bytes(fdp.ConsumeBytes(fdp.remaining_bytes()))
    try:
        read_manifest(_MANIFEST, ReadOptions(images_dir=_IMAGES, policy=policy))
    except InputError as error:
        assert error.path == str(_MANIFEST), error
        assert isinstance(error.line, int) and error.line >= 0, error


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
