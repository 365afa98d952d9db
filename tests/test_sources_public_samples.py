"""Real public samples (tests/fixtures/*/SOURCES.md) through the CLI into every output format
(-f edgefirst, which needs Au-Zone's client, in tests/edgefirst): the boxes, labels and image
each format holds are the ones the sample's own file gives, and ``verify`` holds each output to
its readers' rules."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
import yaml
from PIL import Image

from tfrecord_lite import decode_example, tf_record_iterator
from tfrecord_lite.tools.cli import main

TERRAIN = Path(__file__).parent / "fixtures" / "sahi-terrain2"
EMPTY_VALIDATION = "split 'validation' has no samples: ModelPack refuses empty train or " \
    "validation samples"


def _truth() -> tuple[int, int, list[tuple[str, list[float], list[list[float]]]]]:
    """The sample's image size and, per annotation, its class name, bbox and polygons, read
    straight from its JSON."""
    doc = json.loads((TERRAIN / "terrain2_coco.json").read_text())
    names = {c["id"]: c["name"] for c in doc["categories"]}
    (image,) = doc["images"]
    return image["width"], image["height"], [
        (names[a["category_id"]], a["bbox"], a["segmentation"]) for a in doc["annotations"]]


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB").tobytes()


def _yolo(width: int, height: int) -> list[tuple[float, float, float, float]]:
    return sorted(((x + w / 2) / width, (y + h / 2) / height, w / width, h / height)
                  for _, (x, y, w, h), _ in _truth()[2])


def _close(got, want, tol: float) -> None:
    assert len(got) == len(want), (got, want)
    for g, w in zip(got, want):
        assert all(abs(a - b) <= tol for a, b in zip(g, w)), (got, want)


def _convert(out: Path, fmt: str, capsys, *extra: str) -> str:
    """Convert the COCO sample (one image: all of it to train) and verify the output; returns
    what verify said."""
    return _convert_verified(["--from", "coco", "-a", str(TERRAIN / "terrain2_coco.json"),
                              *extra], out, fmt, capsys)


def _convert_verified(args: list[str], out: Path, fmt: str, capsys) -> str:
    """Convert with ``args``, all to train, and verify; returns what verify said."""
    assert main(["convert", *args, "-o", str(out), "-f", fmt, "-s", "0", "-q"]) == 0
    capsys.readouterr()
    code = main(["verify", str(out)])
    said = capsys.readouterr().out
    # one image cannot fill two splits: ModelPack's formats are refused for that alone, and
    # -f tfod (the Object Detection API evaluates in a job of its own) passes
    if fmt == "tfod":
        assert code == 0, said
    else:
        assert code == 1 and EMPTY_VALIDATION in said and "FAILED: 1 problem" in said, said
    return said


def test_the_real_sample_reads_as_its_file_says(tmp_path, capsys):
    out = tmp_path / "tfrecord"
    _convert(out, "tfrecord", capsys)
    width, height, truth = _truth()
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["classes"] == ["car"]
    (rec,) = [decode_example(r) for p in sorted((out / "tfrecord_train").glob("*.tfrecord"))
              for r in tf_record_iterator(p)]
    assert (rec["width"], rec["height"]) == ([width], [height]) == ([1024], [682])
    assert rec["objects"] == [0] * len(truth) == [0] * 5
    b = rec["bboxes"]
    _close(sorted(tuple(b[4 * j : 4 * j + 4]) for j in range(len(truth))), _yolo(width, height),
           1e-6)
    # the palette PNG is stored as RGB (tf.io.decode_jpeg needs 3 channels), losslessly
    image = rec["image"][0]
    with Image.open(io.BytesIO(image)) as im:
        assert (im.format, im.mode, im.size) == ("PNG", "RGB", (width, height))
    assert _pixels(image) == _pixels((TERRAIN / "terrain2.png").read_bytes())


def test_the_real_sample_to_json_and_darknet(tmp_path, capsys):
    width, height, truth = _truth()
    _convert(tmp_path / "json", "json", capsys)
    (doc_path,) = (tmp_path / "json" / "json_train").glob("*.json")
    doc = json.loads(doc_path.read_text())
    assert doc["dimension"] == [width, height]
    assert [b[4] for b in doc["boxes"]] == [0] * len(truth)
    _close(sorted(tuple(b[:4]) for b in doc["boxes"]), _yolo(width, height), 1e-9)
    assert doc["segment"] and {s["class"] for s in doc["segment"]} == {0}
    _convert(tmp_path / "darknet", "darknet", capsys)
    rows = [line.split() for line in (tmp_path / "darknet" / "darknet_train" /
                                      "terrain2.txt").read_text().splitlines()]
    assert [r[0] for r in rows] == ["0"] * len(truth)
    _close(sorted(tuple(map(float, r[1:])) for r in rows), _yolo(width, height), 1e-6)


def test_the_real_sample_comes_back_from_coco_as_it_went_in(tmp_path, capsys):
    """Each annotation once, its bbox and polygon as given, its area the box's (the file's
    own areas are the whole image's)."""
    width, height, truth = _truth()
    out = tmp_path / "coco"
    _convert(out, "coco", capsys)
    doc = json.loads((out / "annotations" / "instances_train.json").read_text())
    names = {c["id"]: c["name"] for c in doc["categories"]}
    assert doc["images"] == [{"id": 1, "file_name": "terrain2.png", "width": width,
                              "height": height}]
    got = [(names[a["category_id"]], a["bbox"], a["segmentation"]) for a in doc["annotations"]]
    assert got == truth
    assert [a["area"] for a in doc["annotations"]] == [w * h for _, (_, _, w, h), _ in truth]
    assert _pixels((out / "train" / "terrain2.png").read_bytes()) == \
        _pixels((TERRAIN / "terrain2.png").read_bytes())


@pytest.mark.parametrize("masks", [False, True])
def test_the_real_sample_to_tfod(tmp_path, capsys, masks):
    width, height, truth = _truth()
    out = tmp_path / "tfod"
    _convert(out, "tfod", capsys, *(["--masks"] if masks else []))
    (rec,) = [decode_example(r) for p in sorted((out / "tfod_train").glob("*.tfrecord"))
              for r in tf_record_iterator(p)]
    assert rec["image/object/class/label"] == [1] * len(truth)
    assert rec["image/object/class/text"] == [b"car"] * len(truth)
    got = sorted(zip(rec["image/object/bbox/xmin"], rec["image/object/bbox/ymin"],
                     rec["image/object/bbox/xmax"], rec["image/object/bbox/ymax"]))
    want = sorted((x / width, y / height, (x + w) / width, (y + h) / height)
                  for _, (x, y, w, h), _ in truth)
    _close(got, want, 1e-6)
    assert sorted(rec["image/object/area"]) == sorted(float(w * h)
                                                      for _, (_, _, w, h), _ in truth)
    image = rec["image/encoded"][0]
    assert rec["image/key/sha256"] == [hashlib.sha256(image).hexdigest().encode()]
    assert rec["image/format"] == [b"png"]
    assert _pixels(image) == _pixels((TERRAIN / "terrain2.png").read_bytes())
    if masks:  # each object's mask is its own rectangle (its polygon)
        for png, (_, (x, y, w, h), _) in zip(rec["image/object/mask"], truth):
            with Image.open(io.BytesIO(png)) as m:
                assert m.getbbox() == (int(x), int(y), int(x + w), int(y + h))



# tests/fixtures/deepforest: a real VOC file with its PNG (SOAP_061: 9 Alive, 28 Dead trees) and
# the YOLO layout we made from another real one (OSBS_029: 61 Trees); see its SOURCES.md
DEEPFOREST = Path(__file__).parent / "fixtures" / "deepforest"
SAMPLES = {
    "voc": (["--from", "voc", "-a", str(DEEPFOREST / "voc")], DEEPFOREST / "voc" /
            "Annotations" / "SOAP_061.xml", DEEPFOREST / "voc" / "JPEGImages" / "SOAP_061.png"),
    "yolo": (["--from", "yolo", "-a", str(DEEPFOREST / "yolo" / "data.yaml")],
             DEEPFOREST / "OSBS_029.xml", DEEPFOREST / "yolo" / "images" / "train" /
             "OSBS_029.png"),
}


def _voc_truth(xml: Path) -> tuple[int, int, list[tuple[str, float, float, float, float]]]:
    """Size and (name, x0, y0, x1, y1) pixel boxes from the VOC file itself: its 1-based
    inclusive corners cover xmin - 1 to xmax."""
    import xml.etree.ElementTree as ET

    root = ET.parse(xml).getroot()
    boxes = [(o.findtext("name"), *(float(o.findtext(f"bndbox/{k}")) - d for k, d in
                                    (("xmin", 1), ("ymin", 1), ("xmax", 0), ("ymax", 0))))
             for o in root.iter("object")]
    return int(root.findtext("size/width")), int(root.findtext("size/height")), boxes


def _deepforest(kind: str, out: Path, fmt: str, capsys, *extra: str):
    """Convert one DeepForest sample (all of it to train) and verify it; returns the sample's
    size, sorted class names, truth boxes and image path."""
    args, xml, image = SAMPLES[kind]
    _convert_verified([*args, *extra], out, fmt, capsys)
    width, height, boxes = _voc_truth(xml)
    return width, height, sorted({b[0] for b in boxes}), boxes, image


def _as_yolo(width: int, height: int, boxes) -> list[tuple[float, ...]]:
    return sorted(((x0 + x1) / 2 / width, (y0 + y1) / 2 / height, (x1 - x0) / width,
                   (y1 - y0) / height) for _, x0, y0, x1, y1 in boxes)


def test_the_yolo_labels_are_the_voc_files_boxes():
    """The YOLO sample's label file is OSBS_029.xml's 61 boxes, each once, as it says."""
    width, height, boxes = _voc_truth(DEEPFOREST / "OSBS_029.xml")
    rows = [line.split() for line in (DEEPFOREST / "yolo" / "labels" / "train" /
                                      "OSBS_029.txt").read_text().splitlines()]
    assert len(rows) == len(boxes) == 61 and {r[0] for r in rows} == {"0"}
    _close(sorted(tuple(map(float, r[1:])) for r in rows), _as_yolo(width, height, boxes), 1e-9)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_deepforest_samples_to_tfrecord(tmp_path, capsys, kind):
    out = tmp_path / "tfrecord"
    width, height, names, boxes, image = _deepforest(kind, out, "tfrecord", capsys)
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["classes"] == names == (["Alive", "Dead"] if kind == "voc" else ["Tree"])
    (rec,) = [decode_example(r) for p in sorted((out / "tfrecord_train").glob("*.tfrecord"))
              for r in tf_record_iterator(p)]
    assert (rec["width"], rec["height"]) == ([width], [height]) == ([400], [400])
    b = rec["bboxes"]
    got = sorted((*b[4 * j : 4 * j + 4], names[k]) for j, k in enumerate(rec["objects"]))
    want = sorted((*_as_yolo(width, height, [bx])[0], bx[0]) for bx in boxes)
    assert [g[4] for g in got] == [w[4] for w in want]
    _close([g[:4] for g in got], [w[:4] for w in want], 1e-6)
    assert _pixels(rec["image"][0]) == _pixels(image.read_bytes())


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_deepforest_samples_to_json_and_darknet(tmp_path, capsys, kind):
    width, height, names, boxes, image = _deepforest(kind, tmp_path / "json", "json", capsys)
    (doc_path,) = (tmp_path / "json" / "json_train").glob("*.json")
    doc = json.loads(doc_path.read_text())
    assert doc["dimension"] == [width, height]
    want = sorted((*_as_yolo(width, height, [bx])[0], names.index(bx[0])) for bx in boxes)
    got = sorted(tuple(b[:5]) for b in doc["boxes"])
    assert [g[4] for g in got] == [w[4] for w in want]
    _close([g[:4] for g in got], [w[:4] for w in want], 1e-9)
    _deepforest(kind, tmp_path / "darknet", "darknet", capsys)
    rows = [line.split() for line in (tmp_path / "darknet" / "darknet_train" /
                                      f"{image.stem}.txt").read_text().splitlines()]
    got = sorted((*map(float, r[1:]), int(r[0])) for r in rows)
    assert [g[4] for g in got] == [w[4] for w in want]
    _close([g[:4] for g in got], [w[:4] for w in want], 1e-6)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_deepforest_samples_to_coco(tmp_path, capsys, kind):
    out = tmp_path / "coco"
    width, height, names, boxes, image = _deepforest(kind, out, "coco", capsys)
    doc = json.loads((out / "annotations" / "instances_train.json").read_text())
    ids = {c["id"]: c["name"] for c in doc["categories"]}
    assert sorted(ids.values()) == names
    assert doc["images"] == [{"id": 1, "file_name": image.name, "width": width,
                              "height": height}]
    got = sorted((ids[a["category_id"]], *a["bbox"]) for a in doc["annotations"])
    want = sorted((n, x0, y0, x1 - x0, y1 - y0) for n, x0, y0, x1, y1 in boxes)
    assert [g[0] for g in got] == [w[0] for w in want]
    _close([g[1:] for g in got], [w[1:] for w in want], 1e-6)
    assert _pixels((out / "train" / image.name).read_bytes()) == _pixels(image.read_bytes())


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_the_deepforest_samples_to_tfod(tmp_path, capsys, kind):
    out = tmp_path / "tfod"
    width, height, names, boxes, image = _deepforest(kind, out, "tfod", capsys)
    (rec,) = [decode_example(r) for p in sorted((out / "tfod_train").glob("*.tfrecord"))
              for r in tf_record_iterator(p)]
    got = sorted(zip(rec["image/object/class/text"], rec["image/object/class/label"],
                     rec["image/object/bbox/xmin"], rec["image/object/bbox/ymin"],
                     rec["image/object/bbox/xmax"], rec["image/object/bbox/ymax"]))
    want = sorted((n.encode(), names.index(n) + 1, x0 / width, y0 / height, x1 / width,
                   y1 / height) for n, x0, y0, x1, y1 in boxes)
    assert [g[:2] for g in got] == [w[:2] for w in want]
    _close([g[2:] for g in got], [w[2:] for w in want], 1e-6)
    assert sorted(rec["image/object/area"]) == pytest.approx(sorted(
        (x1 - x0) * (y1 - y0) for _, x0, y0, x1, y1 in boxes))
    assert rec["image/format"] == [b"png"]
    assert _pixels(rec["image/encoded"][0]) == _pixels(image.read_bytes())
