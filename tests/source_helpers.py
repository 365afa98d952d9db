"""One small labelled dataset, written as COCO, YOLO (Ultralytics) and Pascal VOC: what the
source readers' tests and the Datumaro oracle (tests/datumaro) read."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from PIL import Image, ImageDraw

from tfrecord_lite import decode_example, tf_record_iterator

CLASSES = ["cat", "dog", "person"]
COLORS = [(220, 40, 40), (40, 200, 40), (40, 40, 220)]


@dataclass
class Obj:
    """A box in whole pixels: left, top, width, height."""

    cls: int
    x: int
    y: int
    w: int
    h: int
    crowd: bool = False
    difficult: bool = False
    truncated: bool = False


@dataclass
class Img:
    name: str
    width: int
    height: int
    side: str  # "train" or "val"
    objects: list[Obj] = field(default_factory=list)


def dataset(n: int = 6) -> list[Img]:
    """``n`` images of two sizes, one to three boxes each, the last one a negative; every
    third image in val."""
    out = []
    for i in range(n):
        width, height = (80, 60) if i % 2 else (64, 48)
        objects = [Obj((i + j) % 3, 4 + 9 * j + i % 3, 5 + 6 * j, 20 + i, 14 + j)
                   for j in range(1 + i % 3)]
        out.append(Img(f"img{i:02d}.jpg", width, height, "val" if i % 3 == 2 else "train",
                       [] if i == n - 1 else objects))
    return out


def draw(path: Path, img: Img) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (img.width, img.height), (128, 128, 128))
    pen = ImageDraw.Draw(image)
    for o in img.objects:
        pen.rectangle([o.x, o.y, o.x + o.w - 1, o.y + o.h - 1], fill=COLORS[o.cls])
    image.save(path, "JPEG", quality=92)


def write_coco(root: Path, images: list[Img], split: bool = True,
               category_ids: tuple[int, ...] = (3, 7, 11), segments: bool = True) -> Path:
    """``annotations/instances_{train,val}.json`` + ``images/{train,val}/`` (Datumaro's COCO
    layout), or one ``annotations/instances_default.json`` + ``images/default/``; returns the
    file, or the folder when split.  Categories get ids that are not 1..n; each box has its
    rectangle as polygon unless not ``segments``."""
    sides = ("train", "val") if split else ("default",)
    ann_id = 1
    for side in sides:
        mine = [(i, im) for i, im in enumerate(images, 1) if not split or im.side == side]
        anns = []
        for i, im in mine:
            draw(root / "images" / side / im.name, im)
            for o in im.objects:
                anns.append({"id": ann_id, "image_id": i, "category_id": category_ids[o.cls],
                             "bbox": [o.x, o.y, o.w, o.h], "area": o.w * o.h,
                             "iscrowd": int(o.crowd), "segmentation": [
                                 [o.x, o.y, o.x + o.w, o.y, o.x + o.w, o.y + o.h, o.x, o.y + o.h]
                             ] if segments else []})
                ann_id += 1
        doc = {"info": {}, "licenses": [],
               "images": [{"id": i, "file_name": im.name, "width": im.width,
                           "height": im.height} for i, im in mine],
               "annotations": anns,
               "categories": [{"id": c, "name": n, "supercategory": ""}
                              for c, n in zip(category_ids, CLASSES)]}
        target = root / "annotations" / f"instances_{side}.json"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(doc))
    return root / "annotations" if split else root / "annotations" / "instances_default.json"


def write_yolo(root: Path, images: list[Img], names_as_dict: bool = False) -> Path:
    """``data.yaml`` + ``images/{train,val}/`` + ``labels/{train,val}/`` (Ultralytics)."""
    for im in images:
        draw(root / "images" / im.side / im.name, im)
        rows = [f"{o.cls} {(o.x + o.w / 2) / im.width:.6f} {(o.y + o.h / 2) / im.height:.6f} "
                f"{o.w / im.width:.6f} {o.h / im.height:.6f}" for o in im.objects]
        if rows:
            label = root / "labels" / im.side / (im.name.rsplit(".", 1)[0] + ".txt")
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text("\n".join(rows) + "\n")
    names = dict(enumerate(CLASSES)) if names_as_dict else list(CLASSES)
    config = root / "data.yaml"
    config.write_text(yaml.safe_dump({"path": ".", "train": "images/train",
                                      "val": "images/val", "names": names}))
    return config


def write_voc(root: Path, images: list[Img], split: bool = True) -> Path:
    """``Annotations/``, ``JPEGImages/`` and ``ImageSets/Main/{train,val}.txt``; VOC's
    coordinates are 1-based and inclusive."""
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    for im in images:
        draw(root / "JPEGImages" / im.name, im)
        objects = "".join(
            f"<object><name>{CLASSES[o.cls]}</name><pose>Unspecified</pose>"
            f"<truncated>{int(o.truncated)}</truncated><difficult>{int(o.difficult)}</difficult><bndbox>"
            f"<xmin>{o.x + 1}</xmin><ymin>{o.y + 1}</ymin><xmax>{o.x + o.w}</xmax>"
            f"<ymax>{o.y + o.h}</ymax></bndbox></object>" for o in im.objects)
        stem = im.name.rsplit(".", 1)[0]
        (root / "Annotations" / f"{stem}.xml").write_text(
            f"<annotation><folder>VOC</folder><filename>{im.name}</filename><size>"
            f"<width>{im.width}</width><height>{im.height}</height><depth>3</depth></size>"
            f"<segmented>0</segmented>{objects}</annotation>")
    if split:
        main = root / "ImageSets" / "Main"
        main.mkdir(parents=True, exist_ok=True)
        for side in ("train", "val"):
            stems = [im.name.rsplit(".", 1)[0] for im in images if im.side == side]
            (main / f"{side}.txt").write_text("\n".join(stems) + "\n")
    return root


def records(folder: Path) -> list[dict]:
    out = []
    for path in sorted(folder.glob("*.tfrecord")):
        out += [decode_example(r) for r in tf_record_iterator(path)]
    return out


def expected_boxes(img: Img) -> list[tuple[str, float, float, float, float]]:
    """The image's boxes as the converter must store them: class name, YOLO cx, cy, w, h."""
    return sorted((CLASSES[o.cls], (o.x + o.w / 2) / img.width, (o.y + o.h / 2) / img.height,
                   o.w / img.width, o.h / img.height) for o in img.objects)


def stored_boxes(rec: dict, classes: list[str]) -> list[tuple[str, float, float, float, float]]:
    """A decoded ModelPack record's boxes, in the same shape."""
    b = rec["bboxes"]
    return sorted((classes[k], *b[4 * j : 4 * j + 4]) for j, k in enumerate(rec["objects"]))


def assert_boxes(got: list[tuple], want: list[tuple], tol: float = 1e-6) -> None:
    """Equal class names and boxes equal within ``tol`` (records hold 32-bit floats)."""
    assert [g[0] for g in got] == [w[0] for w in want], (got, want)
    for g, w in zip(got, want):
        assert all(abs(a - b) <= tol for a, b in zip(g[1:], w[1:])), (got, want)


def convert(*args: object) -> int:
    """``tfrecord-lite convert`` with these arguments; its exit code."""
    from tfrecord_lite.tools.cli import main

    return main(["convert", *map(str, args)])


def assert_sides(out: Path, images: list[Img], tol: float = 1e-6) -> None:
    """Each image on the side its source put it, with its size and its boxes (within ``tol``)."""
    by_name = {im.name: im for im in images}
    for folder, side in (("tfrecord_train", "train"), ("tfrecord_val", "val")):
        recs = records(out / folder)
        assert sorted(r["image_name"][0].decode() for r in recs) == \
            sorted(im.name for im in images if im.side == side)
        for rec in recs:
            img = by_name[rec["image_name"][0].decode()]
            assert (rec["width"], rec["height"]) == ([img.width], [img.height])
            assert_boxes(stored_boxes(rec, CLASSES), expected_boxes(img), tol=tol)
