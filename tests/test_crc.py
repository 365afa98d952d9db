"""Known-answer vectors for CRC-32C and its mask, on every backend we can fall back to."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tfrecord_lite.format import crc


@pytest.mark.parametrize(
    "data,expected",
    [(b"", 0), (b"123456789", 0xE3069283), (b"\x00" * 32, 0x8A9136AA), (b"\xff" * 32, 0x62A8AB43)],
)
def test_crc32c_vectors(data: bytes, expected: int) -> None:
    assert crc.crc32c(data) == expected
    assert crc._table_crc32c()(data) == expected
    assert crc.crc32c_unlocked(data) == expected
    # continued over pieces, as the writer does for a record given in parts
    for cut in range(len(data) + 1):
        for fn in (crc.crc32c_unlocked, crc._table_crc32c()):
            assert fn(data[cut:], fn(data[:cut])) == expected


def test_masked_crc_of_foo() -> None:
    assert crc.masked_crc(b"foo") == 0xFEBE8A61
    assert crc.mask(crc.crc32c(b"foo")) == 0xFEBE8A61


def test_fallback_warns_once_and_agrees() -> None:
    code = (
        "import sys, warnings; sys.modules['crc32c'] = None; sys.modules['google_crc32c'] = None\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    from tfrecord_lite.format import crc\n"
        "    from tfrecord_lite.format import records\n"
        "print(crc.BACKEND, len(w), hex(crc.masked_crc(b'foo')),\n"
        "      hex(crc.crc32c_unlocked(b'56789', crc.crc32c_unlocked(b'1234'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["python", "1", "0xfebe8a61", "0xe3069283"]
