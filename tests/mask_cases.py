"""Segmentation masks like annotators make, generated (no real data is copied): blobs, thin
roads of 1 to 8 pixels, holes (background and other classes inside a region), regions touching
the image border, one-pixel specks, and diagonal pixel chains; plus helpers to fill polygons
back and compare them with the mask."""

from __future__ import annotations

import random

from PIL import Image, ImageChops, ImageDraw


def realistic_mask(width: int, height: int, seed: int) -> Image.Image:
    """An 8-bit class-index mask (0 background, 1..4 classes)."""
    rng = random.Random(seed)
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    for _ in range(5):  # blobs, some cut by the border
        cx, cy = rng.randrange(-width // 8, width + width // 8), rng.randrange(height)
        r = rng.randrange(max(4, width // 40), max(8, width // 6))
        points = [(cx + r * _jitter(rng) * c,
                   cy + r * _jitter(rng) * s)
                  for c, s in _circle(12)]
        draw.polygon(points, fill=1)
    for _ in range(3):  # roads
        points = [(rng.randrange(width), rng.randrange(height)) for _ in range(4)]
        draw.line(points, fill=2, width=rng.choice([1, 2, 3, 5, 8]))
    for _ in range(4):  # holes: background, or another class, inside whatever is there
        cx, cy = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(2, max(3, width // 30))
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=rng.choice([0, 0, 3]))
    draw.rectangle([0, height - height // 10, width // 5, height - 1], fill=3)  # in a corner
    draw.rectangle([width // 3, height // 3, width // 3 + 12, height // 3 + 12], fill=4)
    draw.rectangle([width // 3 + 4, height // 3 + 4, width // 3 + 8, height // 3 + 8], fill=0)
    for _ in range(25):  # one-pixel specks, of every class
        mask.putpixel((rng.randrange(width), rng.randrange(height)), rng.randrange(1, 5))
    for i in range(6):  # a chain of pixels touching only at corners
        mask.putpixel((width - 10 + i, 2 + i), 4)
    return mask


def _jitter(rng: random.Random) -> float:
    return 0.6 + 0.4 * rng.random()


def _circle(n: int):
    import math

    return [(math.cos(2 * math.pi * k / n), math.sin(2 * math.pi * k / n)) for k in range(n)]


def plane(mask: Image.Image, value: int) -> Image.Image:
    """255 where the mask holds ``value``, else 0."""
    return mask.point([255 if v == value else 0 for v in range(256)])


def filled(polygons, size, value: int, scale=(1.0, 1.0)) -> Image.Image:
    """Pillow's ``ImageDraw.polygon`` fill of the polygons of ``value`` (255 inside)."""
    out = Image.new("L", size, 0)
    draw = ImageDraw.Draw(out)
    for v, polygon in polygons:
        if v == value:
            draw.polygon([(x * scale[0], y * scale[1]) for x, y in polygon], fill=255)
    return out


def iou(a: Image.Image, b: Image.Image) -> float:
    inter = ImageChops.multiply(a, b).histogram()[255]
    union = ImageChops.lighter(a, b).histogram()[255]
    return inter / union if union else 1.0
