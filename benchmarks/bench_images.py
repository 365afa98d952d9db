"""The converter's image paths, as whole processes: ``-f json`` tracing 1,000 segmentation masks
of 1280x720 into polygons, and 1,000 grey JPEGs re-encoded to RGB for ``tf.io.decode_jpeg``
beside the same 1,000 images already RGB (stored byte for byte), in images per second.

Masks come from the tests' generator (blobs, thin roads, holes, border regions, specks); a few
dozen distinct ones are written and each file of the job is a copy, so making the job takes
seconds, not minutes.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import statistics
import sys
from pathlib import Path
from typing import Any

from bench_convert import run_child
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from mask_cases import realistic_mask

BIN = Path(sys.executable).parent
W, H = 1280, 720
_PALETTE = [255, 255, 255, 255, 0, 0, 0, 0, 255, 0, 255, 0, 255, 255, 0] + [0] * 741
_COLOURS = {"0": "#ffffff", "1": "#ff0000", "2": "#0000ff", "3": "#00ff00", "4": "#ffff00"}


def _segmentation_job(root: Path, count: int, distinct: int = 40) -> Path:
    if (root / "output.manifest").is_file():
        return root
    (root / "images").mkdir(parents=True, exist_ok=True)
    photo = io.BytesIO()
    rng = random.Random(5)
    Image.frombytes("RGB", (W, H), rng.randbytes(W * H * 3)).save(photo, "JPEG", quality=70)
    masks = []
    for seed in range(distinct):
        mask = realistic_mask(W, H, seed)
        mask.putpalette(_PALETTE)
        buf = io.BytesIO()
        mask.save(buf, "PNG")
        masks.append(buf.getvalue())
    colour_map = {k: {"class-name": "BACKGROUND" if k == "0" else f"class{k}", "hex-color": c,
                      "confidence": 0} for k, c in _COLOURS.items()}
    with open(root / "output.manifest", "w", encoding="utf-8") as manifest:
        for i in range(count):
            (root / "images" / f"s{i:05d}.jpg").write_bytes(photo.getvalue())
            (root / "images" / f"s{i:05d}_mask.png").write_bytes(masks[i % distinct])
            manifest.write(json.dumps({
                "source-ref": f"s3://b/images/s{i:05d}.jpg",
                "seg-ref": f"s3://b/images/s{i:05d}_mask.png",
                "seg-ref-metadata": {"internal-color-map": colour_map,
                                     "type": "groundtruth/semantic-segmentation",
                                     "creation-date": "2024-01-01T00:00:00.000000",
                                     "job-name": "labeling-job/seg"}}) + "\n")
    return root


def _detection_job(root: Path, count: int, mode: str) -> Path:
    """``count`` JPEGs of ``mode`` ("L" or "RGB") at 1280x720, one box each."""
    if (root / "output.manifest").is_file():
        return root
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    bands = 1 if mode == "L" else 3
    photos = []
    for _ in range(8):
        buf = io.BytesIO()
        Image.frombytes(mode, (W, H), rng.randbytes(W * H * bands)).save(buf, "JPEG", quality=80)
        photos.append(buf.getvalue())
    with open(root / "output.manifest", "w", encoding="utf-8") as manifest:
        for i in range(count):
            (root / "images" / f"g{i:05d}.jpg").write_bytes(photos[i % len(photos)])
            manifest.write(json.dumps({
                "source-ref": f"s3://b/images/g{i:05d}.jpg",
                "job": {"annotations": [{"class_id": 0, "left": 10, "top": 10, "width": 100,
                                         "height": 80}],
                        "image_size": [{"width": W, "height": H, "depth": 3}]},
                "job-metadata": {"class-map": {"0": "thing"}, "objects": [{}],
                                 "type": "groundtruth/object-detection",
                                 "creation-date": "2024-01-01T00:00:00.000000"}}) + "\n")
    return root


def _convert(job: Path, out: Path, workers: int, *extra: str,
             env: dict[str, str] | None = None) -> float:
    shutil.rmtree(out, ignore_errors=True)
    os.sync()
    launch = ["env", *(f"{k}={v}" for k, v in env.items())] if env else []
    cmd = [*launch, str(BIN / "tfrecord-lite"), "convert", "-a", str(job / "output.manifest"),
           "-i", str(job / "images"), "-o", str(out), "-q", "--workers", str(workers), *extra]
    return run_child(cmd)[0]


def image_benchmarks(work: Path, quick: bool = False) -> list[dict[str, Any]]:
    """Rows ``{case, images, seconds}``; the grey/RGB pair interleaved, medians of 3."""
    count = 100 if quick else 1000
    rows = []
    seg = _segmentation_job(work / f"seg-{count}", count)
    for workers in (1, 2):
        seconds = _convert(seg, work / "seg-out", workers, "-f", "json")
        rows.append({"case": f"-f json, {count:,} segmentation masks 1280x720 -> polygons, "
                     f"--workers {workers}", "images": count, "seconds": seconds})
    grey = _detection_job(work / f"grey-{count}", count, "L")
    rgb = _detection_job(work / f"rgb-{count}", count, "RGB")
    times: dict[str, list[float]] = {"grey": [], "rgb": []}
    for _ in range(3):
        times["grey"].append(_convert(grey, work / "grey-out", 1))
        times["rgb"].append(_convert(rgb, work / "rgb-out", 1))
    rows.append({"case": f"{count:,} grey JPEGs 1280x720, re-encoded RGB (JPEG q95), "
                 "--workers 1", "images": count, "seconds": statistics.median(times["grey"])})
    rows.append({"case": f"{count:,} RGB JPEGs 1280x720, stored byte for byte, --workers 1",
                 "images": count, "seconds": statistics.median(times["rgb"])})
    return rows


def image_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| case | wall time (whole process) | images/s |", "|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['case']} | {row['seconds']:.2f} s | "
                     f"{row['images'] / row['seconds']:,.0f} |")
    return lines
