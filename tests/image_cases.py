"""One small image per pixel layout and file format the converter meets (made here with Pillow,
and one 16-bit RGB PNG written by hand, which Pillow cannot save), each with the reason it must
be converted for ``tf.io.decode_jpeg`` and the RGB colours its two halves must come out as.

Left half and right half differ, so a conversion that drops a channel, forgets alpha or
mis-scales 16 bits shows.  Transparent halves must come out white (``decodable.BACKGROUND``).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image

W, H = 24, 16
RED, BLUE, WHITE = (200, 40, 40), (40, 40, 200), (255, 255, 255)


@dataclass(frozen=True)
class Case:
    name: str  # file name in the job (stems differ: a converted name keeps the stem)
    data: bytes
    reason: str | None  # None: stored byte for byte
    stored: str  # the stored format: "JPEG" or "PNG"
    left: tuple[int, int, int]
    right: tuple[int, int, int]


def _halves(mode: str, left, right) -> Image.Image:
    image = Image.new(mode, (W, H), left)
    image.paste(right, (W // 2, 0, W, H))
    return image


def _save(image: Image.Image, fmt: str, **kwargs) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def _png16_rgb() -> bytes:
    """A 16-bit RGB PNG, chunk by chunk: red left, blue right (values x 257)."""
    row = b"".join(struct.pack(">HHH", *(257 * c for c in (RED if x < W // 2 else BLUE)))
                   for x in range(W))
    raw = b"".join(b"\x00" + row for _ in range(H))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", W, H, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + \
        chunk(b"IEND", b"")


def cases() -> list[Case]:
    rgb = _halves("RGB", RED, BLUE)
    grey = _halves("L", 200, 60)
    rgba = _halves("RGBA", (*RED, 255), (*BLUE, 0))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    blue_index = palette.getpixel((W - 1, 0))
    trns_rgb = _save(rgb, "PNG", transparency=BLUE)
    still = _save(palette, "GIF")
    frames = [palette, _halves("RGB", BLUE, RED).convert("P", palette=Image.Palette.ADAPTIVE)]
    grey16 = Image.new("I;16", (W, H), 200 * 257)
    grey16.paste(60 * 257, (W // 2, 0, W, H))
    grey_rgb, dark = (200, 200, 200), (60, 60, 60)
    return [
        Case("rgbjpeg.jpg", _save(rgb, "JPEG", quality=90), None, "JPEG", RED, BLUE),
        Case("rgbpng.png", _save(rgb, "PNG"), None, "PNG", RED, BLUE),
        Case("jpeg-named.png", _save(rgb, "JPEG", quality=90), None, "JPEG", RED, BLUE),
        Case("greyjpeg.jpg", _save(grey, "JPEG", quality=95), "grey", "JPEG", grey_rgb, dark),
        Case("greypng.png", _save(grey, "PNG"), "grey", "PNG", grey_rgb, dark),
        Case("greyalpha.png", _save(_halves("LA", (200, 255), (60, 0)), "PNG"), "grey+alpha",
             "PNG", grey_rgb, WHITE),
        Case("rgba.png", _save(rgba, "PNG"), "RGBA", "PNG", RED, WHITE),
        Case("palette.png", _save(palette, "PNG"), "palette", "PNG", RED, BLUE),
        Case("palette-t.png", _save(palette, "PNG", transparency=blue_index),
             "palette+transparency", "PNG", RED, WHITE),
        Case("rgb-trns.png", trns_rgb, "transparency", "PNG", RED, WHITE),
        Case("cmyk.jpg", _save(_halves("CMYK", (55, 215, 215, 0), (215, 215, 55, 0)), "JPEG",
                               quality=95), "CMYK/YCCK", "JPEG", RED, BLUE),
        Case("grey16.png", _save(grey16, "PNG"), "16-bit", "PNG", grey_rgb, dark),
        Case("rgb16.png", _png16_rgb(), "16-bit", "PNG", RED, BLUE),
        Case("bmp.bmp", _save(rgb, "BMP"), "BMP format", "PNG", RED, BLUE),
        Case("webp.webp", _save(rgb, "WEBP", lossless=True), "WEBP format", "PNG", RED, BLUE),
        Case("tiff.tiff", _save(rgb, "TIFF"), "TIFF format", "PNG", RED, BLUE),
        Case("mpo.mpo", _save(rgb, "MPO", save_all=True, append_images=[grey], quality=95),
             "MPO format", "JPEG", RED, BLUE),
        Case("still.gif", still, "GIF format", "PNG", RED, BLUE),
        Case("anim.gif", _save(frames[0], "GIF", save_all=True, append_images=frames[1:]),
             "animated GIF", "PNG", RED, BLUE),
    ]
