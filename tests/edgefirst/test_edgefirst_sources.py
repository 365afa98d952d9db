"""COCO, YOLO and VOC inputs written as -f edgefirst: Au-Zone's own reader finds every image
with its boxes and its source's side (run by `make edgefirst` in .venv-edgefirst)."""

from __future__ import annotations

import sys
from pathlib import Path

import edgefirst_client
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the unit suite's helpers

from source_helpers import dataset, expected_boxes, write_coco, write_voc, write_yolo
from test_edgefirst_oracle import rows_by_image, same_boxes

from tfrecord_lite.tools.cli import main

WRITERS = {"coco": lambda root, images: write_coco(root, images, segments=False),
           "yolo": write_yolo, "voc": write_voc}


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
