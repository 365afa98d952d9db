"""CRC-32C (Castagnoli) and TFRecord's masked form.

The ``crc32c`` package (hardware accelerated) is the normal backend.  Where it cannot be imported
we fall back to ``google-crc32c``, then to a pure-Python table, warning once: slow but correct.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

MASK_DELTA = 0xA282EAD8


def _table_crc32c() -> Callable[..., int]:
    poly = 0x82F63B78  # reversed Castagnoli polynomial
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)

    def crc(data: bytes, value: int = 0) -> int:
        c = value ^ 0xFFFFFFFF
        for b in memoryview(data).cast("B"):
            c = table[(c ^ b) & 0xFF] ^ (c >> 8)
        return c ^ 0xFFFFFFFF

    return crc


def _choose() -> tuple[str, Callable[[bytes], int]]:
    try:
        import crc32c as _crc32c

        return "crc32c", _crc32c.crc32c
    except ImportError:
        pass
    try:
        import google_crc32c

        warnings.warn(
            "tfrecord_lite: the 'crc32c' package is not installed; using google-crc32c",
            RuntimeWarning,
            stacklevel=3,
        )
        return "google-crc32c", google_crc32c.value
    except ImportError:
        pass
    warnings.warn(
        "tfrecord_lite: neither 'crc32c' nor 'google-crc32c' is installed; using a slow "
        "pure-Python CRC-32C (pip install crc32c)",
        RuntimeWarning,
        stacklevel=3,
    )
    return "python", _table_crc32c()


BACKEND, crc32c = _choose()
"""The backend name and ``crc32c(data) -> int`` over any bytes-like object."""


def _unlocked() -> Callable[..., int]:
    if BACKEND == "crc32c":
        from crc32c import crc32c as c

        def crc32c_unlocked(data: bytes, value: int = 0) -> int:
            return c(data, value, 1)  # gil_release_mode=1: always release

        return crc32c_unlocked
    if BACKEND == "google-crc32c":
        import google_crc32c

        def crc32c_google(data: bytes, value: int = 0) -> int:
            return google_crc32c.extend(value, data)

        return crc32c_google
    return crc32c


crc32c_unlocked = _unlocked()
"""``crc32c_unlocked(data, value=0)``: the CRC of ``data`` continuing from ``value`` (the CRC of
what came before), letting other threads run while it reads (where the backend can): for
data of a kilobyte or more, when a helper thread has work to do meanwhile."""


def mask(crc: int) -> int:
    """TFRecord stores CRCs rotated and offset, so a CRC of data that holds CRCs stays strong."""
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    """The masked CRC-32C that TFRecord framing stores after the length and after the data.
    (``mask`` inlined: the reader calls this twice a record.)"""
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + MASK_DELTA) & 0xFFFFFFFF
