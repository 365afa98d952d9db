"""Helpers for the Ground Truth reader tests: manifest lines and images made on the fly."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PIL import Image

FIXTURES = Path(__file__).parent / "fixtures" / "sagemaker"
DATE = "2024-01-01T00:00:00.000000"


def key_path(ref: str) -> str:
    """The relative path a test stores a reference under: the S3 key without the bucket."""
    if "://" in ref:
        return ref.split("://", 1)[1].split("/", 1)[1]
    return ref


def make_image(path: Path, width: int, height: int, color=(40, 90, 160), fmt: str | None = None,
               exif_orientation: int | None = None) -> Path:
    """Write an image of a given size; big ones are bilevel so the test stays fast."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = fmt or _format_for(path)
    if width * height > 2_000_000:
        image = Image.new("1", (width, height), 1)
        fmt = "PNG" if fmt == "JPEG" and path.suffix.lower() == ".png" else fmt
    else:
        image = Image.new("RGB", (width, height), color)
    kwargs = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    if fmt == "JPEG" and image.mode == "1":
        image = image.convert("L")
    image.save(path, fmt, **kwargs)
    return path


def _format_for(path: Path) -> str:
    ext = path.suffix.lower()
    return {".png": "PNG", ".gif": "GIF", ".bmp": "BMP"}.get(ext, "JPEG")


def det_line(ref: str, boxes: list[tuple], class_map: dict, size: tuple[int, int] | None = None,
             attr: str = "job", date: str = DATE, **extra) -> dict:
    """An object-detection line; boxes are (class_id, left, top, width, height)."""
    value: dict = {"annotations": [
        {"class_id": c, "left": x, "top": y, "width": w, "height": h} for c, x, y, w, h in boxes]}
    if size is not None:
        value["image_size"] = [{"width": size[0], "height": size[1], "depth": 3}]
    line = {"source-ref": ref, attr: value, f"{attr}-metadata": {
        "class-map": {str(k): v for k, v in class_map.items()}, "objects": [],
        "type": "groundtruth/object-detection", "human-annotated": "yes",
        "creation-date": date, "job-name": f"labeling-job/{attr}"}}
    line.update(extra)
    return line


def cls_line(ref: str, class_id, name: str, attr: str = "cls", date: str = DATE) -> dict:
    return {"source-ref": ref, attr: class_id, f"{attr}-metadata": {
        "class-name": name, "confidence": 0.9, "type": "groundtruth/image-classification",
        "human-annotated": "yes", "creation-date": date, "job-name": "labeling-job/x"}}


def seg_line(ref: str, mask_ref: str, colors: dict, attr: str = "seg-ref") -> dict:
    """colors: {key: (name, '#rrggbb')}."""
    return {"source-ref": ref, attr: mask_ref, f"{attr}-metadata": {
        "internal-color-map": {str(k): {"class-name": n, "hex-color": c, "confidence": 0}
                               for k, (n, c) in colors.items()},
        "type": "groundtruth/semantic-segmentation", "human-annotated": "yes",
        "creation-date": DATE, "job-name": "labeling-job/seg"}}


def write_manifest(path: Path, lines: list, newline: str = "\n", bom: bool = False) -> Path:
    """Lines may be dicts (dumped as JSON) or raw strings (written as they are)."""
    text = newline.join(ln if isinstance(ln, str) else json.dumps(ln, ensure_ascii=False)
                        for ln in lines) + newline
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def images_for_manifest(manifest: Path, images: Path) -> int:
    """Create an image (and mask) for every line of a real fixture so the reader runs end to end.

    Sizes come from ``image_size`` when a line has one; masks are palette PNGs using the line's
    internal-color-map keys.  Returns the number of images made.
    """
    made = 0
    for raw in manifest.read_text(encoding="utf-8-sig").splitlines():
        if not raw.strip():
            continue
        line = json.loads(raw)
        ref = line.get("source-ref")
        if not isinstance(ref, str) or ref.endswith(".json"):
            continue
        width, height = 64, 48
        for value in line.values():
            if isinstance(value, dict) and isinstance(value.get("image_size"), list):
                width, height = value["image_size"][0]["width"], value["image_size"][0]["height"]
        target = images / key_path(ref)
        if not target.exists():
            make_image(target, width, height)
            made += 1
        for key, meta in line.items():
            if key.endswith("-ref-metadata") and "internal-color-map" in meta:
                keys = sorted(int(k) for k in meta["internal-color-map"])
                make_palette_mask(images / key_path(line[key[:-9]]), width, height, keys)
    return made


def make_palette_mask(path: Path, width: int, height: int, values: list[int],
                      palette: list[int] | None = None) -> Path:
    """A palette PNG whose rows cycle through the given index values."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mask = Image.new("P", (width, height), values[0])
    for row in range(height):
        value = values[row * len(values) // height]
        mask.paste(value, (0, row, width, row + 1))
    mask.putpalette(palette or [255, 255, 255] * 256)
    mask.save(path, "PNG")
    return path


def symlink(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)
