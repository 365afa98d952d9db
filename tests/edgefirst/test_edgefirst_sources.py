"""COCO, YOLO and VOC inputs written as -f edgefirst: Au-Zone's own reader finds every image
with its boxes and its source's side (run by `make edgefirst` in .venv-edgefirst)."""

from __future__ import annotations

import sys
from pathlib import Path

import edgefirst_client
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the unit suite's helpers

from source_helpers import dataset, expected_boxes, write_coco, write_voc, write_yolo
from test_edgefirst_oracle import rows_by_image, same_boxes

from tfrecord_lite.tools.cli import main

WRITERS = {"coco": write_coco, "yolo": write_yolo, "voc": write_voc}
TERRAIN = Path(__file__).resolve().parents[1] / "fixtures" / "sahi-terrain2"


@pytest.mark.parametrize("source", sorted(WRITERS))
def test_every_input_reaches_edgefirst_with_its_boxes_and_sides(tmp_path, source):
    images = dataset(9)
    target = WRITERS[source](tmp_path / "in", images)
    out = tmp_path / "cards"
    assert main(["convert", "-a", str(target), "-o", str(out), "-f", "edgefirst", "-q"]) == 0
    edgefirst_client.read_dataset_metadata(str(out / "cards.arrow"))
    boxes, groups = rows_by_image(out / "cards.arrow")
    want = {im.name.rsplit(".", 1)[0]: expected_boxes(im) for im in images}
    assert same_boxes(boxes, want), boxes
    assert groups == {im.name.rsplit(".", 1)[0]: im.side for im in images}


def test_the_real_coco_sample_reaches_edgefirst_with_its_boxes(tmp_path):
    """tests/fixtures/sahi-terrain2: five cars on a palette PNG, each box once (its polygon
    rides on it), normalised by the image's size."""
    import json

    doc = json.loads((TERRAIN / "terrain2_coco.json").read_text())
    out = tmp_path / "cards"
    assert main(["convert", "-a", str(TERRAIN / "terrain2_coco.json"), "-o", str(out),
                 "-f", "edgefirst", "-s", "0", "-q"]) == 0
    edgefirst_client.read_dataset_metadata(str(out / "cards.arrow"))
    boxes, groups = rows_by_image(out / "cards.arrow")
    width, height = Image.open(TERRAIN / "terrain2.png").size
    want = {"terrain2": sorted(("car", (x + w / 2) / width, (y + h / 2) / height, w / width,
                                h / height) for x, y, w, h in
                               (a["bbox"] for a in doc["annotations"]))}
    assert len(want["terrain2"]) == 5
    assert same_boxes(boxes, want), boxes
    assert groups == {"terrain2": "train"}


DEEPFOREST = Path(__file__).resolve().parents[1] / "fixtures" / "deepforest"


@pytest.mark.parametrize("kind", ["voc", "yolo"])
def test_the_real_voc_and_yolo_samples_reach_edgefirst_with_their_boxes(tmp_path, kind):
    """tests/fixtures/deepforest: the VOC file's boxes (1-based corners: xmin - 1 to xmax),
    each once, normalised by the image's size; YOLO's are made from OSBS_029.xml."""
    import xml.etree.ElementTree as ET

    if kind == "voc":
        target, xml = DEEPFOREST / "voc", DEEPFOREST / "voc" / "Annotations" / "SOAP_061.xml"
    else:
        target, xml = DEEPFOREST / "yolo" / "data.yaml", DEEPFOREST / "OSBS_029.xml"
    out = tmp_path / "cards"
    assert main(["convert", "--from", kind, "-a", str(target), "-o", str(out),
                 "-f", "edgefirst", "-s", "0", "-q"]) == 0
    edgefirst_client.read_dataset_metadata(str(out / "cards.arrow"))
    boxes, groups = rows_by_image(out / "cards.arrow")
    root = ET.parse(xml).getroot()
    size = int(root.findtext("size/width")), int(root.findtext("size/height"))
    corners = [(o.findtext("name"), *(int(o.findtext(f"bndbox/{k}")) for k in
                                      ("xmin", "ymin", "xmax", "ymax")))
               for o in root.iter("object")]
    want = {xml.stem: sorted((n, (x0 - 1 + x1) / 2 / size[0], (y0 - 1 + y1) / 2 / size[1],
                              (x1 - x0 + 1) / size[0], (y1 - y0 + 1) / size[1])
                             for n, x0, y0, x1, y1 in corners)}
    assert len(want[xml.stem]) == (37 if kind == "voc" else 61)
    # each box matched to one of the file's (float32 may sort two that tie on cx either way)
    assert list(boxes) == [xml.stem] and len(boxes[xml.stem]) == len(want[xml.stem])
    left = list(boxes[xml.stem])
    for w in want[xml.stem]:
        match = [g for g in left if same_boxes({"b": [g]}, {"b": [w]})]
        assert match, (w, left)
        left.remove(match[0])
    assert groups == {xml.stem: "train"}
