"""Draw the built-in sample dataset: playing cards on a green table, labelled by suit.

Writes ``examples/sample/images/**.jpg`` and ``examples/sample/output.manifest``, a SageMaker
Ground Truth bounding-box output manifest (JSON Lines, compact separators, 2022+ key order).
Everything is seeded, so a rerun with the same Pillow/libjpeg writes the same bytes.

Run: ``python examples/make_sample.py`` (``--out DIR`` to write elsewhere).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

SEED = 20261125
BUCKET_PREFIX = "s3://tfrecord-lite-sample/cards-job"
LABEL = "cards"
JOB_NAME = "labeling-job/cards"
CLASSES = ("hearts", "diamonds", "clubs", "spades")
RANKS = ("A", "2", "3", "4", "5", "6", "7", "8", "9", "10", "J", "Q", "K")
RED = (200, 24, 36)
BLACK = (20, 20, 24)
CARD_W, CARD_H = 100, 140
JPEG_QUALITY = 85
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Shot:
    """One picture to draw: where it goes, its upright size, cards and EXIF orientation."""

    path: str
    width: int
    height: int
    cards: int
    orientation: int = 1


SHOTS: tuple[Shot, ...] = (
    Shot("table-01.jpg", 640, 480, 1),
    Shot("table-02.jpg", 640, 480, 2),
    Shot("table-03.jpg", 640, 480, 3),
    Shot("table-04.jpg", 640, 480, 2, orientation=3),  # stored upside down
    Shot("table-05.jpg", 640, 480, 4),
    Shot("table-06.jpg", 640, 480, 1),
    Shot("table-07.jpg", 480, 640, 3, orientation=6),  # portrait, stored turned 90 degrees
    Shot("table-08.jpg", 640, 480, 2),
    Shot("table-09.jpg", 480, 640, 2, orientation=8),  # portrait, stored turned -90 degrees
    Shot("table-10.jpg", 640, 480, 4),
    Shot("empty-table.jpg", 640, 480, 0),  # a labelled negative
    Shot("deck1/card.jpg", 640, 480, 1),  # same file name, two folders
    Shot("deck2/card.jpg", 640, 480, 2),
)

# Pixels as stored = upright picture turned by the inverse of what exif_transpose applies.
_STORE = {
    1: None,
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270,
}


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's bundled font at ``size`` (bitmap fallback without FreeType)."""
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()


def _suit(draw: ImageDraw.ImageDraw, suit: str, cx: float, cy: float, r: float) -> None:
    """Draw a suit symbol centred at (cx, cy) with half-size r, from plain shapes."""
    colour = RED if suit in ("hearts", "diamonds") else BLACK
    if suit == "diamonds":
        draw.polygon([(cx, cy - r), (cx + 0.75 * r, cy), (cx, cy + r), (cx - 0.75 * r, cy)],
                     fill=colour)
        return
    lobe = 0.5 * r
    if suit == "hearts":
        for dx in (-lobe, lobe):
            draw.ellipse([cx + dx - lobe, cy - r, cx + dx + lobe, cy - r + 2 * lobe], fill=colour)
        draw.polygon([(cx - 2 * lobe, cy - r + lobe), (cx + 2 * lobe, cy - r + lobe),
                      (cx, cy + r)], fill=colour)
        return
    stem = [(cx, cy), (cx - 0.45 * r, cy + r), (cx + 0.45 * r, cy + r)]
    if suit == "spades":
        draw.polygon([(cx, cy - r), (cx + 2 * lobe, cy + 0.2 * r), (cx - 2 * lobe, cy + 0.2 * r)],
                     fill=colour)
        for dx in (-lobe, lobe):
            draw.ellipse([cx + dx - lobe, cy - 0.3 * r, cx + dx + lobe, cy + 0.7 * r],
                         fill=colour)
    else:  # clubs
        small = 0.42 * r
        for px, py in ((cx, cy - 0.5 * r), (cx - 0.5 * r, cy + 0.15 * r),
                       (cx + 0.5 * r, cy + 0.15 * r)):
            draw.ellipse([px - small, py - small, px + small, py + small], fill=colour)
    draw.polygon(stem, fill=colour)


def _card(rank: str, suit: str) -> Image.Image:
    """One upright card face: rank and suit in two corners, a big pip in the middle."""
    card = Image.new("RGBA", (CARD_W, CARD_H), (0, 0, 0, 0))
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle([0, 0, CARD_W - 1, CARD_H - 1], radius=9, fill=(250, 250, 246),
                           outline=(150, 150, 150), width=1)
    colour = RED if suit in ("hearts", "diamonds") else BLACK
    corner = Image.new("RGBA", (30, 50), (0, 0, 0, 0))
    cdraw = ImageDraw.Draw(corner)
    cdraw.text((15, 12), rank, font=_font(20), fill=colour, anchor="mm")
    _suit(cdraw, suit, 15, 36, 8)
    card.alpha_composite(corner, (4, 4))
    card.alpha_composite(corner.rotate(180), (CARD_W - 34, CARD_H - 54))
    _suit(draw, suit, CARD_W / 2, CARD_H / 2, 24)
    return card


def _table(width: int, height: int) -> Image.Image:
    """A green felt table: a soft vertical gradient."""
    top, bottom = (30, 120, 62), (14, 84, 40)
    column = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(1, height - 1)
        column.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom)))
    return column.resize((width, height))


def _place(rng: random.Random, shot: Shot) -> list[tuple[int, int]]:
    """Top-left corners for the cards, inside the picture and not overlapping."""
    spots: list[tuple[int, int]] = []
    while len(spots) < shot.cards:
        x = rng.randrange(12, shot.width - CARD_W - 12)
        y = rng.randrange(12, shot.height - CARD_H - 12)
        if all(abs(x - sx) > CARD_W + 8 or abs(y - sy) > CARD_H + 8 for sx, sy in spots):
            spots.append((x, y))
    return spots


def draw_shot(rng: random.Random, shot: Shot) -> tuple[Image.Image, list[dict[str, int]]]:
    """The upright picture of one shot and its boxes in the upright frame."""
    picture = _table(shot.width, shot.height).convert("RGBA")
    shadow = Image.new("RGBA", (CARD_W, CARD_H), (0, 0, 0, 70))
    boxes = []
    for x, y in _place(rng, shot):
        suit = rng.choice(CLASSES)
        rank = rng.choice(RANKS)
        picture.alpha_composite(shadow, (x + 4, y + 4))
        picture.alpha_composite(_card(rank, suit), (x, y))
        boxes.append({"class_id": CLASSES.index(suit), "left": x, "top": y,
                      "width": CARD_W, "height": CARD_H})
    return picture.convert("RGB"), boxes


def save_jpeg(picture: Image.Image, path: Path, orientation: int) -> None:
    """Store ``picture`` so that ``ImageOps.exif_transpose`` gives it back upright."""
    path.parent.mkdir(parents=True, exist_ok=True)
    turn = _STORE[orientation]
    if turn is None:
        picture.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True)
        return
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = orientation
    picture.transpose(turn).save(path, "JPEG", quality=JPEG_QUALITY, optimize=True,
                                 exif=exif.tobytes())


def _check_upright(path: Path, picture: Image.Image) -> None:
    """Fail if the stored file does not decode (EXIF applied) to the upright picture."""
    with Image.open(path) as stored:
        upright = ImageOps.exif_transpose(stored).convert("RGB")
    if upright.size != picture.size:
        raise SystemExit(f"{path}: upright size {upright.size} != {picture.size}")
    diff = ImageChops.difference(upright, picture).convert("L").resize((1, 1), Image.BOX)
    if diff.getpixel((0, 0)) > 4:
        raise SystemExit(f"{path}: stored pixels do not turn back into the upright picture")


def manifest_line(shot: Shot, boxes: list[dict[str, int]], index: int) -> str:
    """One Ground Truth output-manifest line for a bounding-box job."""
    present = sorted({b["class_id"] for b in boxes})
    line = {
        "source-ref": f"{BUCKET_PREFIX}/images/{shot.path}",
        LABEL: {
            "image_size": [{"width": shot.width, "height": shot.height, "depth": 3}],
            "annotations": boxes,
        },
        f"{LABEL}-metadata": {
            "objects": [{"confidence": 0} for _ in boxes],
            "class-map": {str(i): CLASSES[i] for i in present},
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": f"2026-11-20T10:{15 + index:02d}:{(7 * index) % 60:02d}.{index:06d}",
            "job-name": JOB_NAME,
        },
    }
    return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


def make(out: Path) -> None:
    """Write the images and ``output.manifest`` under ``out``."""
    rng = random.Random(SEED)
    shutil.rmtree(out / "images", ignore_errors=True)
    lines = []
    for index, shot in enumerate(SHOTS):
        picture, boxes = draw_shot(rng, shot)
        path = out / "images" / shot.path
        save_jpeg(picture, path, shot.orientation)
        _check_upright(path, picture)
        lines.append(manifest_line(shot, boxes, index))
    (out / "output.manifest").write_text("\n".join(lines) + "\n", encoding="utf-8")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {len(lines)} images and {out / 'output.manifest'} ({size / 1e6:.2f} MB)")


def main() -> None:
    """Command line: ``make_sample.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "sample")
    make(parser.parse_args().out)


if __name__ == "__main__":
    main()
