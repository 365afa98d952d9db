"""Small ModelPack datasets (TFRecord and JSON format) for the inspect/verify/preview tests.

Built with the library itself (``ShardedWriter`` + ``modelpack.sample_parts``) and Pillow-made
JPEGs of coloured rectangles, plus a hand-written ``dataset_info.yaml`` in the layout the
converter writes.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from PIL import Image, ImageDraw

from tfrecord_lite.format.shards import ShardedWriter
from tfrecord_lite.pipeline.formats import modelpack
from tfrecord_lite.pipeline.sample import Box, Sample
from tfrecord_lite.pipeline.split import _unit_hasher

CLASSES = ["hearts", "diamonds", "clubs", "spades"]
FOLDER = {"train": "train", "validation": "val"}  # split key -> folder/shard suffix
BACKGROUND = (90, 90, 90)
FILLS = [(200, 40, 40), (40, 160, 40), (40, 40, 200), (200, 200, 40)]


@dataclass(frozen=True)
class Item:
    """One test image: its name, size and boxes ``(class_id, cx, cy, w, h)``."""

    name: str
    width: int
    height: int
    boxes: Sequence[tuple[int, float, float, float, float]] = field(default_factory=tuple)


def jpeg(width: int, height: int, boxes=(), fmt: str = "JPEG") -> bytes:
    """A grey picture with a filled rectangle where each box is."""
    im = Image.new("RGB", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(im)
    for cls, cx, cy, w, h in boxes:
        x0, y0 = (cx - w / 2) * width, (cy - h / 2) * height
        draw.rectangle(
            [x0 + 3, y0 + 3, x0 + w * width - 4, y0 + h * height - 4], fill=FILLS[cls % 4]
        )
    buf = io.BytesIO()
    im.save(buf, fmt, quality=80) if fmt == "JPEG" else im.save(buf, fmt)
    return buf.getvalue()


def default_items(n: int, prefix: str = "img", start: int = 0) -> list[Item]:
    """n landscape images with 0..3 boxes each, deterministic."""
    items = []
    for i in range(start, start + n):
        boxes = [
            (k % len(CLASSES), 0.2 + 0.2 * k, 0.3 + 0.1 * (i % 3), 0.15, 0.2) for k in range(i % 4)
        ]
        w, h = (64, 48) if i % 5 else (48, 64)
        items.append(Item(f"{prefix}-{i:03d}.jpg", w, h, boxes))
    return items


def record(item: Item, image: bytes | None = None, **overrides) -> bytes:
    """The ModelPack record for an item (``overrides`` change the Sample's fields)."""
    data = jpeg(item.width, item.height, item.boxes) if image is None else image
    fields = dict(
        source_ref=f"s3://bucket/{item.name}",
        line=1,
        name=item.name,
        width=item.width,
        height=item.height,
        read_image=lambda: data,
        boxes=tuple(Box(c, cx, cy, w, h) for c, cx, cy, w, h in item.boxes),
    )
    fields.update(overrides)
    return encode_sample(Sample(**fields), data)


def unit_hash(key: str, seed: int) -> float:
    """The split's hash of one key: below the validation fraction means validation."""
    return _unit_hasher(seed)(key)


def encode_sample(sample: Sample, image: bytes) -> bytes:
    """The ModelPack record for one sample storing ``image``, as the converter writes it."""
    prefix, suffix = modelpack.sample_parts(sample, len(image))
    return b"".join((prefix, image, suffix))


def write_info(
    root: Path,
    splits: dict[str, int],
    folder_kind: str = "tfrecord",
    classes: list[str] | None = CLASSES,
    prefix: str | None = None,
) -> Path:
    """``dataset_info.yaml`` for the split folders, in the keys the converter writes (ModelPack
    2.2's ``type`` and ``path`` for TFRecords); ``prefix`` rewrites the paths elsewhere."""
    info: dict = {"type": folder_kind} if folder_kind != "json" else {}
    if classes is not None:
        info["classes"] = list(classes)
    for split, samples in splits.items():
        base = Path(prefix) if prefix else root.resolve()
        folder = str(base / f"{folder_kind}_{FOLDER[split]}")
        info[split] = {"path": folder} if folder_kind == "tfrecord" else {}
        info[split].update({"annotations": folder, "images": folder, "samples": samples})
    info["tfrecord_lite"] = {"format": folder_kind, "seed": 0}
    path = root / "dataset_info.yaml"
    path.write_text(yaml.safe_dump(info, sort_keys=False))
    return path


def write_modelpack(
    root: Path,
    splits: dict[str, list[Item]] | None = None,
    compression: str | None = None,
    max_bytes: int = 4000,
    classes: list[str] | None = CLASSES,
    prefix: str | None = None,
) -> Path:
    """A TFRecord-format dataset under ``root``; returns ``root``."""
    if splits is None:
        splits = {"train": default_items(10), "validation": default_items(3, "val", 10)}
    root.mkdir(parents=True, exist_ok=True)
    for split, items in splits.items():
        folder = root / f"tfrecord_{FOLDER[split]}"
        folder.mkdir(exist_ok=True)
        with ShardedWriter(folder, FOLDER[split], max_bytes, compression) as writer:
            for item in items:
                writer.write(record(item))
    write_info(root, {k: len(v) for k, v in splits.items()}, "tfrecord", classes, prefix)
    return root


def box_polygon(item: Item, box) -> list[list[float]]:
    """A box's outline as a ModelPack ``segment`` polygon (normalised, pixel centres)."""
    _, cx, cy, w, h = box
    x0, y0 = round((cx - w / 2) * item.width), round((cy - h / 2) * item.height)
    x1, y1 = x0 + round(w * item.width) - 1, y0 + round(h * item.height) - 1
    return [[x / item.width, y / item.height] for x, y in ((x0, y0), (x1, y0), (x1, y1), (x0, y1))]


def write_json_dataset(
    root: Path,
    splits: dict[str, list[Item]] | None = None,
    masks: bool = True,
    classes: list[str] = CLASSES,
) -> Path:
    """A JSON-format dataset (image and ``<stem>.json`` with boxes and, when ``masks``, each
    box's outline as a segment) under ``root``."""
    if splits is None:
        splits = {"train": default_items(6), "validation": default_items(2, "val", 6)}
    root.mkdir(parents=True, exist_ok=True)
    for split, items in splits.items():
        folder = root / f"json_{FOLDER[split]}"
        folder.mkdir(exist_ok=True)
        for item in items:
            stem = Path(item.name).stem
            (folder / item.name).write_bytes(jpeg(item.width, item.height, item.boxes))
            doc: dict = {
                "image": item.name,
                "dimension": [item.width, item.height],
                "boxes": [[cx, cy, w, h, c] for c, cx, cy, w, h in item.boxes],
                "segment": [{"polygon": box_polygon(item, b), "class": b[0]} for b in item.boxes]
                if masks else [],
            }
            (folder / f"{stem}.json").write_text(json.dumps(doc))
    write_info(root, {k: len(v) for k, v in splits.items()}, "json", classes)
    return root


SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample"


def convert_sample(out: Path, *extra: str) -> Path:
    """The built-in sample dataset converted into ``out`` (through the CLI)."""
    from tfrecord_lite.tools.cli import main

    args = ["convert", "-a", str(SAMPLE / "output.manifest"), "-i", str(SAMPLE), "-o", str(out)]
    assert main([*args, "-q", *extra]) == 0
    return out
