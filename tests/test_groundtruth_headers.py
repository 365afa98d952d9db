"""The fast header reader agrees with Pillow, and steps aside (None) when it is unsure."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from tfrecord_lite.pipeline.groundtruth.headers import sniff


def _jpeg(size=(37, 23), orientation=None, progressive=False, pad=0, big_endian=False) -> bytes:
    out = io.BytesIO()
    kwargs = {"progressive": progressive}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        raw = exif.tobytes()
        if big_endian:  # rewrite the TIFF block as Motorola order
            raw = b"Exif\x00\x00" + b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1) + \
                struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\x00\x00\x00\x00"
        kwargs["exif"] = raw
    Image.new("RGB", size, (10, 200, 30)).save(out, "JPEG", **kwargs)
    data = out.getvalue()
    if pad:  # a large APP2 segment before the frame header forces a second read
        chunk = b"\xff\xe2" + struct.pack(">H", 65000) + b"\x00" * 64998
        data = data[:2] + chunk * pad + data[2:]
    return data


@pytest.mark.parametrize(
    "data",
    [
        _jpeg(),
        _jpeg(orientation=6),
        _jpeg(orientation=3, progressive=True),
        _jpeg(orientation=8, big_endian=True),
        _jpeg((640, 480), orientation=5, pad=3),
    ],
)
def test_jpeg_agrees_with_pillow(data: bytes) -> None:
    got = sniff(io.BytesIO(data))
    image = Image.open(io.BytesIO(data))
    assert got is not None
    assert (got.width, got.height) == image.size
    assert got.orientation == image.getexif().get(0x0112, 1)


def test_png() -> None:
    out = io.BytesIO()
    Image.new("P", (300, 7)).save(out, "PNG")
    assert sniff(io.BytesIO(out.getvalue()))[1:3] == (300, 7)


@pytest.mark.parametrize(
    "data",
    [b"", b"GIF89a....", b"\xff\xd8\xff", b"\xff\xd8\xff\xda\x00\x02", b"\xff\xd8\x00\x00",
     b"\x89PNG\r\n\x1a\n\x00\x00"],
)
def test_unsure_returns_none(data: bytes) -> None:
    assert sniff(io.BytesIO(data)) is None
