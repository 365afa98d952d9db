"""``tfrecord-lite preview PATH -o preview.png``: see what the labels say, on the pictures.

Draws N samples of a split (the first N, or a seeded random N) as a contact sheet: each image
scaled to fit a square cell, every box outlined in its class colour and labelled, masks tinted,
the image name underneath.  Only N samples are ever held, so any dataset size works.
"""

from __future__ import annotations

import argparse
import colorsys
import io
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tfrecord_lite.pipeline.errors import InputError, OutputError
from tfrecord_lite.tools.layout import (
    PATH_HELP,
    Layout,
    Split,
    display,
    iter_records,
    read_json_sample,
    resolve,
)

PAD = 8  # px between cells and around the sheet
CAPTION = 16  # px under each cell for the image name
OUTLINE = 3  # box outline width, px
TINT = 110  # mask overlay opacity, 0-255
BACKGROUND = (32, 32, 32)
TEXT = (235, 235, 235)

Box = tuple[int, float, float, float, float]


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "preview",
        help="draw samples with their boxes into a contact-sheet PNG",
        description="Draw N samples of a split (any format the converter writes but coco and "
        "edgefirst) as a contact-sheet PNG: "
        "boxes outlined and labelled in a colour per class, masks tinted, image names under "
        "the tiles.  Takes the first N samples, or a random N with --seed.",
    )
    p.add_argument("path", help=PATH_HELP)
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="where to write the PNG")
    p.add_argument("-n", type=int, default=16, metavar="N", help="samples to draw (default 16)")
    p.add_argument("--split", help="split to draw (default: train, else the first split)")
    p.add_argument("--seed", type=int, help="draw a reproducible random N instead of the first N")
    p.add_argument("--columns", type=int, default=4, metavar="C", help="tiles per row (default 4)")
    p.add_argument(
        "--size",
        type=int,
        default=320,
        metavar="PX",
        help="each image is scaled to fit PX x PX (default 320)",
    )
    return p


def class_color(index: int) -> tuple[int, int, int]:
    """A saturated colour per class; golden-ratio hue steps keep neighbours far apart."""
    hue = (index * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 1.0, 1.0)
    return round(r * 255), round(g * 255), round(b * 255)


@dataclass
class Tile:
    """One sample to draw: the decoded picture (None if unreadable), its boxes and mask."""

    name: str
    image: Any  # PIL.Image.Image | None
    boxes: tuple[Box, ...] = ()
    mask: Any = None  # PIL.Image.Image (mode L) | None


def tile_geometry(
    index: int, width: int, height: int, columns: int, size: int
) -> tuple[int, int, int, int]:
    """Where tile ``index`` puts an image of ``width`` x ``height``: (left, top, w, h) on the
    sheet.  Images are scaled to fit the ``size`` square and centred in it."""
    col, row = index % columns, index // columns
    scale = min(size / max(width, 1), size / max(height, 1))
    tw, th = max(1, round(width * scale)), max(1, round(height * scale))
    x0 = PAD + col * (size + PAD)
    y0 = PAD + row * (size + CAPTION + PAD)
    return x0 + (size - tw) // 2, y0 + (size - th) // 2, tw, th


def box_rect(box: Box, left: int, top: int, tw: int, th: int) -> tuple[int, int, int, int]:
    """A normalised ``cx, cy, w, h`` box as sheet pixel corners (inclusive)."""
    _, cx, cy, w, h = box
    x0 = left + round((cx - w / 2) * tw)
    y0 = top + round((cy - h / 2) * th)
    x1 = left + round((cx + w / 2) * tw) - 1
    y1 = top + round((cy + h / 2) * th) - 1
    return x0, y0, max(x0, x1), max(y0, y1)


def _font() -> Any:
    from PIL import ImageFont

    return ImageFont.load_default()


def render(tiles: list[Tile], classes: list[str] | None, columns: int = 4, size: int = 320) -> Any:
    """The contact sheet for ``tiles`` as a PIL image."""
    from PIL import Image, ImageDraw

    columns = max(1, min(columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    sheet = Image.new(
        "RGB",
        (PAD + columns * (size + PAD), PAD + rows * (size + CAPTION + PAD)),
        BACKGROUND,
    )
    draw = ImageDraw.Draw(sheet)
    font = _font()
    for index, tile in enumerate(tiles):
        x0 = PAD + (index % columns) * (size + PAD)
        y0 = PAD + (index // columns) * (size + CAPTION + PAD)
        if tile.image is None:
            draw.rectangle([x0, y0, x0 + size - 1, y0 + size - 1], outline=TEXT)
            draw.text((x0 + 6, y0 + 6), "unreadable image", fill=TEXT, font=font)
        else:
            left, top, tw, th = tile_geometry(index, *tile.image.size, columns, size)
            thumb = _fit(tile.image, size, Image.Resampling.BILINEAR)
            if tile.mask is not None:
                mask = _fit(tile.mask, size, Image.Resampling.NEAREST)
                thumb = _tint(thumb, mask, len(classes) if classes else 255)
            sheet.paste(thumb, (left, top))
            for box in tile.boxes:
                _draw_box(draw, box, box_rect(box, left, top, tw, th), classes, font)
        _caption(draw, tile.name, x0, y0 + size + 2, size, font)
    return sheet


def _tint(thumb: Any, mask: Any, n_classes: int) -> Any:
    """Alpha-blend each class's colour over its mask pixels (value k + 1 = class k)."""
    from PIL import Image

    luts: list[list[int]] = [[0] * 256, [0] * 256, [0] * 256]
    for v in range(1, 256):
        color = class_color(v - 1) if v <= n_classes else (255, 255, 255)
        for ch in range(3):
            luts[ch][v] = color[ch]
    colored = Image.merge("RGB", [mask.point(lut) for lut in luts])
    alpha = mask.point([0] + [TINT] * 255)
    return Image.composite(colored, thumb, alpha)


def _draw_box(
    draw: Any, box: Box, rect: tuple[int, int, int, int], classes: list[str] | None, font: Any
) -> None:
    cls = box[0]
    color = class_color(cls)
    draw.rectangle(rect, outline=color, width=OUTLINE)
    label = classes[cls] if classes is not None and 0 <= cls < len(classes) else f"#{cls}"
    tl, tt, tr, tb = draw.textbbox((0, 0), label, font=font)
    w, h = tr - tl + 4, tb - tt + 2
    x, y = rect[0], rect[1] - h  # above the box, inside it when there is no room
    if y < 0:
        y = rect[1]
    draw.rectangle([x, y, x + w - 1, y + h - 1], fill=color)
    dark = (0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]) > 140
    draw.text(
        (x + 2 - tl, y + 1 - tt), label, fill=(0, 0, 0) if dark else (255, 255, 255), font=font
    )


def _caption(draw: Any, name: str, x: int, y: int, width: int, font: Any) -> None:
    text = name
    while text and draw.textlength(text, font=font) > width:
        text = text[:-2]
    if text != name:
        text = text[:-3] + "..." if len(text) > 3 else text
    shown = draw.textlength(text, font=font)
    draw.text((x + (width - shown) / 2, y), text, fill=TEXT, font=font)


# -- choosing and loading samples -----------------------------------------------------------


def _pick_split(layout: Layout, name: str | None) -> Split:
    if name:
        return layout.split(name)
    for split in layout.splits:
        if split.name == "train" and (split.files or split.json_files or split.images):
            return split
    for split in layout.splits:
        if split.files or split.json_files or split.images:
            return split
    raise InputError(display(layout.given), 0, "no samples to preview (every split is empty)")


def _choose(items: Iterator[tuple[int, Any]], n: int, seed: int | None) -> list[Any]:
    """The first n items, or (with a seed) a uniform random n by reservoir sampling, in order."""
    if seed is None:
        out = []
        for _, item in items:
            if len(out) >= n:
                break
            out.append(item)
        return out
    rng = random.Random(seed)
    reservoir: list[tuple[int, Any]] = []
    for count, (key, item) in enumerate(items):
        if len(reservoir) < n:
            reservoir.append((key, item))
        else:
            j = rng.randrange(count + 1)
            if j < n:
                reservoir[j] = (key, item)
    return [item for _, item in sorted(reservoir, key=lambda t: t[0])]


def _records(split: Split) -> Iterator[tuple[int, tuple[str, int, bytes]]]:
    count = 0
    for data_file in split.files:
        for index, _offset, data in iter_records(data_file):
            yield count, (display(data_file.path), index, data)
            count += 1


def _open_image(data: bytes | Path, size: int) -> Any:
    """The picture scaled to fit ``size`` (JPEGs decoded at a reduced scale), or None."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data) if isinstance(data, bytes) else data) as im:
            im.draft("RGB", (size, size))
            return _fit(im.convert("RGB"), size, Image.Resampling.BILINEAR)
    except (OSError, ValueError, SyntaxError):
        return None


def _fit(im: Any, size: int, resample: Any) -> Any:
    _, _, tw, th = tile_geometry(0, im.width, im.height, 1, size)
    return im if (tw, th) == im.size else im.resize((tw, th), resample)


def _tfrecord_tile(where: str, index: int, data: bytes, size: int) -> Tile:
    from tfrecord_lite.pipeline.formats import modelpack

    try:
        rec = modelpack.decode(data)
    except Exception as exc:  # ExampleError, or a non-ModelPack schema
        raise InputError(
            where,
            0,
            f"record {index} is not a ModelPack record: {exc}",
            hint="preview draws ModelPack data only; use inspect --show for other records",
        ) from exc
    boxes = tuple((b.class_index, b.cx, b.cy, b.w, b.h) for b in rec.boxes)
    return Tile(rec.image_name, _open_image(rec.image, size), boxes)


def _tfod_tile(where: str, index: int, data: bytes, size: int) -> Tile:
    """A TF Object Detection record (-f tfod): corner boxes, 1-based labels, and with
    ``--masks`` each object's mask tinted in its class's colour."""
    from PIL import Image

    from tfrecord_lite import decode_example

    try:
        rec = decode_example(data)
        image = rec["image/encoded"][0]
        corners = zip(rec.get("image/object/class/label", []),
                      rec["image/object/bbox/xmin"], rec["image/object/bbox/ymin"],
                      rec["image/object/bbox/xmax"], rec["image/object/bbox/ymax"])
        boxes = tuple((int(k) - 1, (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0)
                      for k, x0, y0, x1, y1 in corners)
    except Exception as exc:  # ExampleError, or keys missing: not a tfod record
        raise InputError(where, 0, f"record {index} is not a TF Object Detection record: "
                         f"{exc!r}", hint="verify says what it lacks") from exc
    names = rec.get("image/filename") or [b"record %d" % index]
    thumb = _open_image(image, size)
    mask = None
    if rec.get("image/object/mask") and thumb is not None:
        mask = Image.new("L", thumb.size, 0)
        for (k, *_), png in zip(boxes, rec["image/object/mask"]):
            try:
                with Image.open(io.BytesIO(png)) as m:
                    one = m.convert("L").resize(thumb.size, Image.Resampling.NEAREST)
            except (OSError, ValueError, SyntaxError):
                continue  # verify reports these; preview draws what it can
            mask.paste(k + 1, mask=one.point([0] + [255] * 255))
    return Tile(names[0].decode("utf-8", "replace"), thumb, boxes, mask)


def _json_tile(path: Path, size: int) -> Tile:
    from PIL import Image

    sample = read_json_sample(path)
    if sample.error is not None:
        raise InputError(str(path), 0, f"not valid JSON: {sample.error}") from sample.error
    doc = sample.doc
    name = str(doc.get("image", path.stem))
    boxes = []
    for box in doc.get("boxes") or ():
        try:
            cx, cy, w, h = (float(v) for v in box[:4])
            boxes.append((int(box[4]), cx, cy, w, h))
        except (IndexError, TypeError, ValueError):
            continue  # verify reports these; preview draws what it can
    image = _open_image(path.parent / name, size)
    mask = None
    if doc.get("segment") and image is not None:
        from PIL import ImageDraw

        mask = Image.new("L", image.size, 0)  # the polygons filled at the thumbnail's scale
        draw = ImageDraw.Draw(mask)
        for seg in doc["segment"]:
            try:
                points = [(float(x) * image.width, float(y) * image.height)
                          for x, y in seg["polygon"]]
                draw.polygon(points, fill=int(seg["class"]) + 1)
            except (KeyError, TypeError, ValueError):
                continue
    return Tile(name, image, tuple(boxes), mask)


def collect(split: Split, n: int, seed: int | None, size: int = 320) -> list[Tile]:
    """The N tiles to draw, holding no more than N samples (as thumbnails) at a time."""
    if split.format == "json":
        chosen = _choose(enumerate(split.json_files), n, seed)
        return [_json_tile(p, size) for p in chosen]
    if split.format == "darknet":
        from tfrecord_lite.pipeline.formats.darknet_format import read_labels

        chosen = _choose(enumerate(split.images), n, seed)
        return [Tile(p.name, _open_image(p, size), tuple(read_labels(p.with_suffix(".txt"))))
                for p in chosen]
    chosen = _choose(_records(split), n, seed)
    tile = _tfod_tile if split.format == "tfod" else _tfrecord_tile
    return [tile(where, index, data, size) for where, index, data in chosen]


def run(args: argparse.Namespace) -> int:
    from tfrecord_lite.tools.cli import UsageError

    if args.n < 1:
        raise UsageError("-n must be at least 1")
    if args.columns < 1 or args.size < 16:
        raise UsageError("--columns must be at least 1 and --size at least 16")
    out = Path(args.output)
    if not out.parent.is_dir():
        raise OutputError(f"{out}: folder {out.parent} does not exist")
    layout = resolve(args.path)
    split = _pick_split(layout, args.split)
    tiles = collect(split, args.n, args.seed, args.size)
    if not tiles:
        raise InputError(
            display(split.folder or layout.given),
            0,
            f"split {split.name!r} has no samples to preview",
        )
    sheet = render(tiles, layout.classes, args.columns, args.size)
    try:
        sheet.save(out, "PNG")
    except OSError as exc:
        raise OutputError(f"{out}: cannot write: {exc.strerror or exc}") from exc
    columns = max(1, min(args.columns, len(tiles)))
    rows = math.ceil(len(tiles) / columns)
    print(
        f"wrote {out}: {len(tiles)} samples from split {split.name} "
        f"({columns}x{rows} tiles, {sheet.width}x{sheet.height} px)"
    )
    return 0
