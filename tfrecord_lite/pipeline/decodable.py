"""Images ModelPack decodes: ``tf.io.decode_jpeg(data, channels=0)`` must give (H, W, 3).

That op reads JPEG, PNG (and single-frame GIF) with the file's own channel count, so only
8-bit RGB JPEGs and 8-bit RGB PNGs without transparency pass through byte for byte.  Every other
image is converted once: to RGB, alpha composited on :data:`BACKGROUND`, 16-bit samples scaled
to 8 bits, the first frame of a multi-frame file; JPEG-coded sources (JPEG, MPO) become JPEG at
:data:`JPEG_QUALITY`, everything else lossless PNG.  The stored name's extension follows the
stored format.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

JPEG_QUALITY = 95  # conversions of JPEG sources (Pillow's default 4:2:0 chroma, as most JPEGs)
BACKGROUND = (255, 255, 255)  # what transparent pixels become (white, as most viewers show)
_EXTENSIONS = {"JPEG": ("jpg", "jpeg"), "PNG": ("png",)}
_LOSSY = frozenset({"JPEG", "MPO"})

_REASONS = {
    "L": "grey", "1": "grey", "I;16": "16-bit", "I;16B": "16-bit", "I": "16-bit",
    "LA": "grey+alpha", "La": "grey+alpha", "RGBA": "RGBA", "RGBa": "RGBA", "PA": "RGBA",
    "CMYK": "CMYK/YCCK", "RGB;16": "16-bit", "RGBA;16": "16-bit", "LA;16": "16-bit",
}


def reason(fmt: str | None, mode: str, transparency: bool = False, frames: int = 1) -> str | None:
    """Why an image of this format and pixel mode must be converted; None when it decodes to
    three channels as it is."""
    if fmt not in ("JPEG", "PNG"):
        return f"animated {fmt}" if frames > 1 and fmt != "MPO" else f"{fmt or 'unknown'} format"
    if mode == "RGB":
        return "transparency" if transparency else None
    if mode == "P":
        return "palette+transparency" if transparency else "palette"
    return _REASONS.get(mode, f"{mode} pixels")


def of_image(image: Image.Image) -> str | None:
    """:func:`reason` for an image Pillow opened."""
    transparency = "transparency" in image.info
    return reason(image.format, image.mode, transparency, getattr(image, "n_frames", 1))


def of_bytes(data: bytes) -> str | None:
    """:func:`reason` for stored bytes (what ``verify`` asks); "unreadable" when Pillow cannot
    open them."""
    from tfrecord_lite.pipeline.groundtruth.headers import sniff

    fast = sniff(io.BytesIO(data))
    if fast is not None:
        return reason(fast.format, fast.mode, fast.transparency)
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            return of_image(image)
    except Exception:
        return "unreadable"


def stored_format(source_format: str | None) -> str:
    """What a converted image is stored as: JPEG for JPEG-coded sources, else PNG."""
    return "JPEG" if source_format in _LOSSY else "PNG"


def renamed(name: str, fmt: str) -> str:
    """``name`` with the extension of ``fmt`` (kept when it already is one of its own)."""
    stem, dot, ext = name.rpartition(".")
    if not dot or "/" in ext:
        stem = name
    if dot and ext.lower() in _EXTENSIONS.get(fmt, ()):
        return name
    return f"{stem}.{_EXTENSIONS[fmt][0]}"


def to_rgb(image: Image.Image) -> Image.Image:
    """The image as 8-bit RGB: alpha composited on :data:`BACKGROUND`, 16 bits scaled to 8."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        scale = 1 / 256 if image.mode != "I" or image.getextrema()[1] > 255 else 1
        image = image.convert("I").point(lambda v: v * scale).convert("L")
    elif image.mode == "F":
        image = image.convert("L")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        out = Image.new("RGB", image.size, BACKGROUND)
        out.paste(rgba, mask=rgba.getchannel("A"))
        return out
    return image if image.mode == "RGB" else image.convert("RGB")


def encode(image: Image.Image, source_format: str | None, icc: bytes | None = None) -> bytes:
    """Store ``image`` in the format :func:`stored_format` names, keeping the source's colour
    profile only when it is an RGB one (a grey or CMYK profile no longer fits the pixels)."""
    out = io.BytesIO()
    extra = {"icc_profile": icc} if icc and icc[16:20] == b"RGB " else {}
    if stored_format(source_format) == "JPEG":
        image.save(out, "JPEG", quality=JPEG_QUALITY, **extra)
    else:
        image.save(out, "PNG", **extra)
    return out.getvalue()
