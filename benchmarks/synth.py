"""Synthetic Ground Truth datasets for the converter benchmark, generated once and cached.

Encoding 20,000 JPEGs would take minutes, so a handful of noise images (noise keeps JPEGs near
the ~60 KB of real photos) are encoded once and each file is a copy with its own JPEG comment
segment: every file differs, every file is a valid JPEG of the size the manifest states.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
from pathlib import Path

from PIL import Image

CLASSES = ["cat", "dog", "bird"]
JOB = "bench-boxes"


def _noise_jpegs(count: int, width: int, height: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        img = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=70)
        out.append(buf.getvalue())
    return out


def _with_comment(jpeg: bytes, text: str) -> bytes:
    """Insert a COM segment after SOI: a distinct, still valid file."""
    payload = text.encode()
    return jpeg[:2] + b"\xff\xfe" + (len(payload) + 2).to_bytes(2, "big") + payload + jpeg[2:]


def manifest_line(name: str, width: int, height: int, rng: random.Random) -> str:
    """One object-detection line in the Ground Truth output format, 1-5 boxes."""
    annotations = []
    for _ in range(rng.randint(1, 5)):
        w, h = rng.randint(10, width // 2), rng.randint(10, height // 2)
        annotations.append({
            "class_id": rng.randrange(len(CLASSES)),
            "left": rng.randint(0, width - w), "top": rng.randint(0, height - h),
            "width": w, "height": h,
        })
    return json.dumps({
        "source-ref": f"s3://bench-bucket/images/{name}",
        JOB: {"annotations": annotations,
              "image_size": [{"width": width, "height": height, "depth": 3}]},
        f"{JOB}-metadata": {
            "objects": [{"confidence": 0.9} for _ in annotations],
            "class-map": {str(i): c for i, c in enumerate(CLASSES)},
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": "2024-01-01T00:00:00.000000",
            "job-name": f"labeling-job/{JOB}",
        },
    })


def make_dataset(root: Path, count: int, *, width: int = 384, height: int = 288,
                 hardlink: bool = False) -> Path:
    """``root/images/*.jpg`` + ``root/output.manifest`` with ``count`` images; cached by marker.

    ``hardlink`` makes every image a link to one of a few small files: for manifests of 100,000
    lines, where what is measured is memory, not image bytes.
    """
    marker = root / f".done-{count}-{width}x{height}-{int(hardlink)}"
    if marker.exists():
        return root
    if root.exists():
        shutil.rmtree(root)
    images = root / "images"
    images.mkdir(parents=True)
    seeds = _noise_jpegs(6, width, height, seed=count)
    rng = random.Random(count)
    if hardlink:
        bases = []
        for i, data in enumerate(seeds):
            base = root / f"base-{i}.jpg"
            base.write_bytes(data)
            bases.append(base)
    with open(root / "output.manifest", "w", encoding="utf-8") as manifest:
        for i in range(count):
            name = f"img_{i:06d}.jpg"
            if hardlink:
                os.link(bases[i % len(bases)], images / name)
            else:
                (images / name).write_bytes(_with_comment(seeds[i % len(seeds)], f"bench {i}"))
            manifest.write(manifest_line(name, width, height, rng) + "\n")
    marker.touch()
    return root


def average_image_bytes(root: Path, sample: int = 20) -> int:
    files = sorted((root / "images").iterdir())[:sample]
    return sum(f.stat().st_size for f in files) // max(1, len(files))


def coco_file(root: Path) -> Path:
    """``root/instances.json``: the manifest's images and boxes as one COCO instances file
    (category ids 1..n in class order), what the COCO rows of ``make bench`` convert."""
    path = root / "instances.json"
    if path.exists() and path.stat().st_mtime >= (root / "output.manifest").stat().st_mtime:
        return path
    images, annotations = [], []
    with open(root / "output.manifest", encoding="utf-8") as manifest:
        for image_id, raw in enumerate(manifest, 1):
            line = json.loads(raw)
            size = line[JOB]["image_size"][0]
            images.append({"id": image_id, "file_name": line["source-ref"].rsplit("/", 1)[-1],
                           "width": size["width"], "height": size["height"]})
            for box in line[JOB]["annotations"]:
                annotations.append({
                    "id": len(annotations) + 1, "image_id": image_id,
                    "category_id": box["class_id"] + 1, "iscrowd": 0,
                    "bbox": [box["left"], box["top"], box["width"], box["height"]],
                    "area": box["width"] * box["height"], "segmentation": []})
    doc = {"images": images, "annotations": annotations,
           "categories": [{"id": k + 1, "name": c, "supercategory": ""}
                          for k, c in enumerate(CLASSES)]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
