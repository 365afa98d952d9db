"""Segmentation masks: Ground Truth PNG -> 8-bit class-index PNG (0 = background, k+1 = class k).

Ground Truth writes palette PNGs whose pixel index is the ``internal-color-map`` key; masks that
went through an RGB conversion are mapped back by ``hex-color``.  The header is checked while
reading the manifest; pixels are decoded only when the converter asks (``Sample.read_mask``).
"""

from __future__ import annotations

from PIL import Image, ImageChops

from tfrecord_lite.pipeline.errors import InputError, problem
from tfrecord_lite.pipeline.sample import grey_png

#: Masks above this many pixels are refused (PIL itself refuses decompression bombs above ~179M).
MAX_MASK_PIXELS = 100_000_000

_INDEX_MODES = ("P", "PA", "L", "LA")
_COLOR_MODES = ("RGB", "RGBA")

#: (internal-color-map key, output value, 0xRRGGBB or None)
ColorEntry = tuple[int, int, "int | None"]


def check_mask(file: str, ref: str, width: int, height: int) -> None:
    """Refuse, from the header alone, a mask that is not a PNG, is huge or has the wrong size."""
    try:
        with Image.open(file) as mask:
            fmt, size, mode = mask.format, mask.size, mask.mode
    except Image.DecompressionBombError as exc:
        raise problem(f"mask is too large: {file}", value=ref,
                      hint=f"masks above {MAX_MASK_PIXELS} pixels are refused",
                      reason="mask-too-large") from exc
    except Exception as exc:
        raise problem(f"mask is not a readable image: {file} ({exc})", value=ref,
                      hint="Ground Truth masks are PNG files", reason="bad-mask") from exc
    if fmt != "PNG":
        raise problem(f"mask is {fmt or 'not an image'}, not PNG: {file}",
                      value=ref, hint="Ground Truth masks are PNG files", reason="bad-mask")
    if size[0] * size[1] > MAX_MASK_PIXELS:
        raise problem(f"mask is too large ({size[0]}x{size[1]}): {file}",
                      value=ref, hint=f"masks above {MAX_MASK_PIXELS} pixels are refused",
                      reason="mask-too-large")
    if mode not in _INDEX_MODES + _COLOR_MODES:
        raise problem(f"mask has unsupported pixel mode {mode}: {file}",
                      value=ref, hint="expected a palette, grayscale or RGB PNG",
                      reason="bad-mask")
    if size != (width, height):
        raise problem(f"mask is {size[0]}x{size[1]} but the image is "
                      f"{width}x{height}: {file}", value=ref,
                      hint="the mask must match the (upright) image", reason="mask-size")


class MaskReader:
    """``Sample.read_mask``: decode the mask and map its values to class indices."""

    __slots__ = ("file", "ref", "entries", "manifest", "line")

    def __init__(self, file: str, ref: str, entries: tuple[ColorEntry, ...], manifest: str,
                 line: int) -> None:
        self.file = file
        self.ref = ref
        self.entries = entries
        self.manifest = manifest
        self.line = line

    def _error(self, message: str, value: object = None) -> InputError:
        return InputError(self.manifest, self.line, f"mask {self.file}: {message}",
                          value=self.ref if value is None else value,
                          hint="every mask value must be a key (palette/grayscale) or hex-color "
                          "(RGB) of the line's internal-color-map", reason="bad-mask")

    def __call__(self) -> bytes:
        (width, height), pixels = self._decoded()
        return grey_png(pixels, width, height)

    def pixels(self) -> bytes:
        """The class-index mask as ``width * height`` bytes, row by row: what the tracer
        takes, without a PNG encoded only to be decoded again."""
        return self._decoded()[1]

    def _decoded(self) -> tuple[tuple[int, int], bytes]:
        try:
            with Image.open(self.file) as mask:
                mask.load()
                if mask.mode in _INDEX_MODES:
                    return mask.size, self._from_index(mask)
                out = self._from_color(mask.convert("RGB"))
                return out.size, out.tobytes()
        except InputError:
            raise
        except Exception as exc:
            raise self._error(f"cannot decode ({exc})") from exc

    def _from_index(self, mask: Image.Image) -> bytes:
        """The palette index or grey level of each pixel, mapped by ``bytes.translate`` (one
        pass each to check and to map, where Pillow's histogram and point took twice as long)."""
        plane = (mask.getchannel(0) if mask.mode in ("PA", "LA") else mask).tobytes()
        keys = bytes(sorted({key for key, _, _ in self.entries}))
        stray = plane.translate(None, keys)  # the pixels whose value is no key
        if stray:
            unknown = sorted(set(stray))[:10]
            raise self._error(f"pixel values {unknown} are in no internal-color-map entry",
                              unknown)
        if all(key == value for key, value, _ in self.entries):
            return plane  # every pixel is a key (checked above) that maps to itself
        lut = bytearray(256)
        for key, value, _ in self.entries:
            lut[key] = value
        return plane.translate(lut)

    def _from_color(self, rgb: Image.Image) -> Image.Image:
        colors = rgb.getcolors(maxcolors=256)
        if colors is None:
            raise self._error("more than 256 colours; not a label mask")
        value_of: dict[int, int] = {}
        for _, value, color in self.entries:  # sorted by key: the lowest key wins a shared colour
            if color is not None:
                value_of.setdefault(color, value)
        packed = [(r << 16 | g << 8 | b) for _, (r, g, b) in colors]
        unknown = [f"#{c:06x}" for c in packed if c not in value_of]
        if unknown:
            raise self._error(f"colours {unknown[:10]} are in no internal-color-map hex-color",
                              unknown[:10])
        out = Image.new("L", rgb.size, 0)
        bands = rgb.split()
        for color in packed:
            value = value_of[color]
            if value == 0:
                continue
            hit = None
            for band, level in zip(bands, ((color >> 16) & 255, (color >> 8) & 255, color & 255)):
                match = band.point([255 if i == level else 0 for i in range(256)])
                hit = match if hit is None else ImageChops.multiply(hit, match)
            out.paste(value, mask=hit)
        return out

    def __repr__(self) -> str:
        return f"MaskReader({self.file!r})"
