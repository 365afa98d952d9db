"""Datumaro (Intel's dataset framework, test-only) imports the same COCO, YOLO and VOC samples
as our readers, and the real samples of tests/fixtures/sahi-terrain2 (COCO) and
tests/fixtures/deepforest (VOC, and YOLO made from a VOC file): every image, its size and
side, every box, its label and its crowd / difficult / truncated flag must be the same (run by
`make datumaro` in .venv-datumaro)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from datumaro.components.annotation import AnnotationType
from datumaro.components.dataset import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the unit suite's helpers

from source_helpers import dataset, write_coco, write_voc, write_yolo

from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions
from tfrecord_lite.pipeline.sources import default_images, read_source

#: pixels: Datumaro keeps coordinates as 32-bit floats and rounds what it reads (COCO's to two
#: decimals, YOLO's six-decimal fractions back to whole pixels here); we keep what the file says
TOL = 1e-4


def _images():
    images = dataset(12)
    images[0].objects[0].crowd = True
    images[4].objects[1].crowd = True
    images[1].objects[0].difficult = True
    images[8].objects[2].difficult = True
    images[4].objects[0].truncated = True
    images[7].objects[1].truncated = True
    return images


def ours(kind: str, target: Path) -> dict[str, dict]:
    """Each image we read, by stem: file, size, side and boxes in pixels with their flags."""
    read = read_source(kind, target, ReadOptions(images_dir=default_images(kind, target)))
    out = {}
    for i, s in enumerate(read.samples):
        boxes = []
        for j, b in enumerate(s.boxes):
            w, h = b.w * s.width, b.h * s.height
            boxes.append((read.classes[b.class_index], b.cx * s.width - w / 2,
                          b.cy * s.height - h / 2, w, h,
                          bool(s.crowd and s.crowd[j]), bool(s.difficult and s.difficult[j]),
                          bool(s.truncated and s.truncated[j])))
        side = None if read.source_split is None else \
            ("val" if read.source_split[i] else "train")
        out[s.name.rsplit(".", 1)[0]] = {"file": os.path.realpath(s.read_image.file),
                                         "size": (s.width, s.height), "side": side,
                                         "boxes": sorted(boxes)}
    return out


def theirs(path: Path, fmt: str, **options) -> dict[str, dict]:
    """The same from Datumaro's import: only its Bbox annotations (COCO's polygons come as
    Polygon annotations beside them)."""
    ds = Dataset.import_from(str(path), fmt, **options)
    labels = ds.categories()[AnnotationType.label]
    out = {}
    for item in ds:
        height, width = item.media.size
        boxes = sorted((labels[a.label].name, a.x, a.y, a.w, a.h,
                        bool(a.attributes.get("is_crowd", False)),
                        bool(a.attributes.get("difficult", False)),
                        bool(a.attributes.get("truncated", False)))
                       for a in item.annotations if a.type == AnnotationType.bbox)
        out[item.id] = {"file": os.path.realpath(item.media.path), "size": (width, height),
                        "side": item.subset, "boxes": boxes}
    return out


def same(mine: dict[str, dict], other: dict[str, dict]) -> None:
    assert sorted(mine) == sorted(other)
    for stem, want in other.items():
        got = mine[stem]
        assert (got["file"], got["size"], got["side"]) == \
            (want["file"], want["size"], want["side"]), stem
        assert len(got["boxes"]) == len(want["boxes"]), stem
        for g, w in zip(got["boxes"], want["boxes"]):
            assert (g[0], *g[5:]) == (w[0], *w[5:]), stem
            assert all(abs(a - b) <= TOL for a, b in zip(g[1:5], w[1:5])), (stem, g, w)


@pytest.mark.parametrize("split", [True, False])
def test_coco(tmp_path, split):
    target = write_coco(tmp_path, _images(), split=split)
    mine = ours("coco", target)
    if not split:  # Datumaro names a single file's subset after it; we have no side
        mine = {k: {**v, "side": "default"} for k, v in mine.items()}
    same(mine, theirs(tmp_path, "coco_instances"))


def test_coco_fractional_boxes_and_crowd_rle(tmp_path):
    target = write_coco(tmp_path, _images())
    doc_path = target / "instances_train.json"
    doc = json.loads(doc_path.read_text())
    for n, ann in enumerate(doc["annotations"]):
        ann["bbox"] = [ann["bbox"][0] + 0.25 * (n % 3), ann["bbox"][1] + 0.75,
                       ann["bbox"][2] - 0.5, ann["bbox"][3] + 0.25]
    crowd = doc["annotations"][0]  # an uncompressed RLE as COCO writes crowds
    image = next(im for im in doc["images"] if im["id"] == crowd["image_id"])
    h, w = image["height"], image["width"]
    crowd["segmentation"] = {"size": [h, w], "counts": [h * 2 + 3, 5, h * w - h * 2 - 8]}
    doc_path.write_text(json.dumps(doc))
    same(ours("coco", target), theirs(tmp_path, "coco_instances"))


@pytest.mark.parametrize("as_dict", [False, True])
def test_yolo(tmp_path, as_dict):
    images = _images()
    for im in images:  # Datumaro lists an image only when it has a label file
        if not im.objects:
            (tmp_path / "labels" / im.side).mkdir(parents=True, exist_ok=True)
            (tmp_path / "labels" / im.side / (im.name.rsplit(".", 1)[0] + ".txt")).touch()
    target = write_yolo(tmp_path, images, names_as_dict=as_dict)
    same(ours("yolo", target), theirs(tmp_path, "yolo"))


def test_yolo_negatives_without_label_files_are_ours_alone(tmp_path):
    target = write_yolo(tmp_path, _images())
    mine, other = ours("yolo", target), theirs(tmp_path, "yolo")
    extra = set(mine) - set(other)
    assert extra == {"img11"} and mine["img11"]["boxes"] == []
    same({k: v for k, v in mine.items() if k not in extra}, other)


@pytest.mark.parametrize("split", [True, False])
def test_voc(tmp_path, split):
    images = _images()
    target = write_voc(tmp_path, images, split=split)
    if not split:  # Datumaro needs a list; ours reads every file without train.txt and val.txt
        main = tmp_path / "ImageSets" / "Main"
        main.mkdir(parents=True)
        (main / "trainval.txt").write_text("".join(f"{im.name[:-4]}\n" for im in images))
    mine = ours("voc", target)
    if not split:
        mine = {k: {**v, "side": "trainval"} for k, v in mine.items()}
    # VOC's coordinates are 1-based: Datumaro's default mode reads them as 0-based
    same(mine, theirs(tmp_path, "voc_detection", coordinate_mode="voc-one-based"))


def test_the_real_coco_sample(tmp_path):
    """tests/fixtures/sahi-terrain2's file and image, laid out as Datumaro's COCO importer
    wants them (annotations/instances_default.json, images/default/)."""
    import shutil

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "sahi-terrain2"
    (tmp_path / "annotations").mkdir()
    (tmp_path / "images" / "default").mkdir(parents=True)
    target = tmp_path / "annotations" / "instances_default.json"
    shutil.copyfile(fixture / "terrain2_coco.json", target)
    shutil.copyfile(fixture / "terrain2.png", tmp_path / "images" / "default" / "terrain2.png")
    mine = {k: {**v, "side": "default"} for k, v in ours("coco", target).items()}
    other = theirs(tmp_path, "coco_instances")
    assert len(other["terrain2"]["boxes"]) == 5
    same(mine, other)


DEEPFOREST = Path(__file__).resolve().parents[1] / "fixtures" / "deepforest"


def test_the_real_voc_sample(tmp_path):
    """tests/fixtures/deepforest/voc (SOAP_061: a PNG, 37 Alive and Dead trees, boxes on the
    edges): Datumaro's VOC importer declares only VOC's 20 classes unless the dataset has a
    labelmap.txt, so the copy gets one naming the file's two."""
    import shutil

    root = tmp_path / "voc"
    shutil.copytree(DEEPFOREST / "voc", root)
    (root / "labelmap.txt").write_text("# label:color_rgb:parts:actions\nAlive:::\nDead:::\n")
    mine = {k: {**v, "side": "trainval"} for k, v in ours("voc", root).items()}
    other = theirs(root, "voc_detection", coordinate_mode="voc-one-based")
    assert len(other["SOAP_061"]["boxes"]) == 37
    same(mine, other)


def test_the_real_yolo_sample(tmp_path):
    """tests/fixtures/deepforest/yolo (OSBS_029: 61 Trees, data.yaml naming one folder for
    train and val): Datumaro lists the image once, in train; we give it no side."""
    import shutil

    root = tmp_path / "yolo"
    shutil.copytree(DEEPFOREST / "yolo", root)
    mine = ours("yolo", root / "data.yaml")
    assert [v["side"] for v in mine.values()] == [None]
    other = theirs(root, "yolo")
    assert len(other["OSBS_029"]["boxes"]) == 61
    same({k: {**v, "side": "train"} for k, v in mine.items()}, other)
