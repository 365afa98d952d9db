"""Width, height, EXIF orientation and pixel layout of a JPEG or PNG from its first bytes.

Opening each image with Pillow just to learn its size costs ~100-300 us; walking the JPEG
markers ourselves costs a few.  Anything unusual returns None and the caller asks Pillow, so
this is only ever a shortcut, never a second opinion.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, NamedTuple

_PNG = b"\x89PNG\r\n\x1a\n"
# start-of-frame markers that carry the size (not DHT C4, JPG C8, DAC CC)
_SOF = frozenset((0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF))
_STANDALONE = frozenset((0x01, *range(0xD0, 0xD8)))
_READ = 1 << 13  # most JPEGs have their frame header in the first 8 KiB


class Header(NamedTuple):
    format: str  # "JPEG" or "PNG"
    width: int
    height: int
    orientation: int  # EXIF orientation, 1 when absent
    mode: str = "RGB"  # Pillow's name of the pixel layout; 16-bit PNGs are "I;16", "RGB;16"...
    transparency: bool = False  # a PNG tRNS chunk (a transparent colour or palette alpha)


_PNG_MODES = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}  # IHDR colour type -> mode
_JPEG_MODES = {1: "L", 3: "RGB", 4: "CMYK"}  # frame components -> mode (CMYK or YCCK)


def sniff(handle: BinaryIO) -> Header | None:
    """The header of the open file, or None when it is not a plain JPEG/PNG we can read fast."""
    head = handle.read(_READ)
    if head.startswith(_PNG):
        return _png(head)
    if head[:2] == b"\xff\xd8":
        try:
            return _jpeg(handle, head)
        except (struct.error, IndexError, ValueError):
            return None
    return None


def _png(head: bytes) -> Header | None:
    """IHDR, then the chunks up to the first IDAT, for a tRNS; None when they do not fit in
    ``head`` (a large text or ICC chunk first: Pillow judges)."""
    if len(head) < 26 or head[12:16] != b"IHDR":
        return None
    width, height, bits, colour = struct.unpack(">IIBB", head[16:26])
    mode = _PNG_MODES.get(colour)
    if mode is None:
        return None
    if bits == 16:
        mode = "I;16" if mode == "L" else f"{mode};16"
    pos, transparency = 8, False
    while pos + 8 <= len(head):
        length, kind = struct.unpack(">I4s", head[pos : pos + 8])
        if kind == b"IDAT":
            return Header("PNG", width, height, 1, mode, transparency)
        transparency |= kind == b"tRNS"
        pos += 12 + length
    return None


def _jpeg(handle: BinaryIO, buf: bytes) -> Header | None:
    pos = 2
    base = 0  # file offset of buf[0]
    orientation = 1
    while True:
        if pos + 4 > len(buf):  # refill: keep what is left, read on
            handle.seek(base + pos)
            base += pos
            buf = handle.read(_READ)
            pos = 0
            if len(buf) < 4:
                return None
        if buf[pos] != 0xFF:
            return None
        marker = buf[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            return None
        length = (buf[pos + 2] << 8) | buf[pos + 3]
        if length < 2:
            return None
        if marker == 0xE2 and (pos + 8 > len(buf) or buf[pos + 4 : pos + 8] == b"MPF\x00"):
            return None  # a multi-picture file (MPO), or unsure: Pillow names it
        if marker in _SOF or (marker == 0xE1 and orientation == 1):
            if pos + 2 + length > len(buf):
                handle.seek(base + pos)
                base += pos
                buf = handle.read(length + 2 + 4)
                pos = 0
                if len(buf) < length + 2:
                    return None
            segment = buf[pos + 4 : pos + 2 + length]
            if marker in _SOF:
                if len(segment) < 5:
                    return None
                height, width = struct.unpack(">HH", segment[1:5])
                mode = _JPEG_MODES.get(segment[5]) if len(segment) > 5 else None
                if segment[0] != 8 or mode is None:
                    return None  # 12-bit or odd components: Pillow judges
                return Header("JPEG", width, height, orientation, mode)
            if segment[:6] == b"Exif\x00\x00":
                found = _orientation(segment[6:])
                if found is None:
                    return None  # let Pillow judge a strange EXIF block
                orientation = found
        pos += 2 + length


def _orientation(tiff: bytes) -> int | None:
    """Orientation (tag 0x0112) from IFD0 of a TIFF block; 1 when absent, None when unsure."""
    if tiff[:4] == b"II*\x00":
        order = "<"
    elif tiff[:4] == b"MM\x00*":
        order = ">"
    else:
        return None
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for i in range(count):
        at = ifd + 2 + 12 * i
        tag, kind = struct.unpack(order + "HH", tiff[at : at + 4])
        if tag == 0x0112:
            if kind != 3:  # SHORT
                return None
            (value,) = struct.unpack(order + "H", tiff[at + 8 : at + 10])
            return value
    return 1


def clear_orientation(data: bytes) -> bytes | None:
    """The JPEG with its EXIF orientation set to 1 (as stored), the same length and otherwise
    the same bytes: every decoder then shows the raw frame.  None when the tag is not where a
    plain APP1 Exif block keeps it."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xD9, 0xDA) or marker in _SOF:
            return None
        length = (data[pos + 2] << 8) | data[pos + 3]
        start = pos + 4
        if marker == 0xE1 and data[start : start + 6] == b"Exif\x00\x00":
            at = _orientation_at(data, start + 6, pos + 2 + length)
            if at is not None:
                order = "<" if data[start + 6 : start + 8] == b"II" else ">"
                return data[:at] + struct.pack(order + "H", 1) + data[at + 2 :]
        pos += 2 + length
    return None


def _orientation_at(data: bytes, tiff: int, end: int) -> int | None:
    """The offset in ``data`` of the orientation value in the TIFF block at ``tiff``."""
    head = data[tiff : tiff + 4]
    order = "<" if head == b"II*\x00" else ">" if head == b"MM\x00*" else None
    if order is None:
        return None
    try:
        (ifd,) = struct.unpack_from(order + "I", data, tiff + 4)
        (count,) = struct.unpack_from(order + "H", data, tiff + ifd)
        for i in range(count):
            at = tiff + ifd + 2 + 12 * i
            tag, kind = struct.unpack_from(order + "HH", data, at)
            if tag == 0x0112 and kind == 3 and at + 10 <= end:
                return at + 8
    except struct.error:
        return None
    return None
