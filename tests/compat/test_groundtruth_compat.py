"""Ground Truth as people really have it, read back by TensorFlow: labels drawn on raw EXIF
frames, video frame jobs, class maps that disagree between lines (issue 16).

The jobs are the unit suite's generated ones (tests/test_groundtruth_*.py); here TensorFlow's
own ``decode_jpeg`` (which ignores EXIF) and ``parse_single_example`` check the result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from compat_util import modelpack_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the unit suite's job makers

from gt_helpers import det_line, make_image, write_manifest
from test_groundtruth_exif import RAW, RED_RAW, rotated_jpeg
from test_groundtruth_video import video_job

from tfrecord_lite.tools.cli import main


def parsed(tf: Any, out: Path, split: str = "train") -> list[dict[str, Any]]:
    files = sorted(str(p) for p in (out / f"tfrecord_{split}").glob("*.tfrecord"))
    spec = modelpack_spec(tf)
    return [tf.io.parse_single_example(r, spec) for r in tf.data.TFRecordDataset(files)]


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("frame", ["raw", "upright"])
def test_exif_boxes_land_on_their_objects_in_tensorflow(tf: Any, tmp_path: Path,
                                                        orientation: int, frame: str) -> None:
    path = tmp_path / "job" / "images" / "photo.jpg"
    upright_box = rotated_jpeg(path, orientation)
    swapped = orientation >= 5
    box, size = (RED_RAW, RAW) if frame == "raw" else (
        upright_box, (RAW[1], RAW[0]) if swapped else RAW)
    date = "2019-03-01T10:00:00.000000" if frame == "raw" else "2021-03-01T10:00:00.000000"
    line = det_line("s3://bucket/images/photo.jpg", [(0, *box)], {0: "object"}, size, date=date)
    manifest = write_manifest(tmp_path / "job" / "output.manifest", [line])
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-s", "0", "-q"]) == 0
    (record,) = parsed(tf, out)
    image = tf.io.decode_jpeg(record["image"], channels=0).numpy()
    height, width, channels = image.shape
    assert (width, height, channels) == (int(record["width"]), int(record["height"]), 3)
    cx, cy, w, h = record["bboxes"].values.numpy().tolist()
    x1, y1 = int((cx - w / 2) * width) + 2, int((cy - h / 2) * height) + 2
    x2, y2 = int((cx + w / 2) * width) - 2, int((cy + h / 2) * height) - 2
    inside = image[y1:y2, x1:x2].reshape(-1, 3)
    red = ((inside[:, 0] > 150) & (inside[:, 1] < 100)).mean()
    assert red > 0.9, (orientation, frame, red)


def test_video_frames_read_in_tensorflow_one_split_per_sequence(tf: Any, tmp_path: Path) -> None:
    manifest = video_job(tmp_path / "job", videos=10)
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-i", str(tmp_path / "job" / "images"),
                 "-o", str(out), "-s", "0.5", "-q"]) == 0
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    sides: dict[str, set[str]] = {}
    total = 0
    for split in ("train", "val"):
        for record in parsed(tf, out, split):
            total += 1
            name = record["image_name"].numpy().decode()
            sides.setdefault(name.split("_frame_")[0], set()).add(split)
            image = tf.io.decode_jpeg(record["image"], channels=0)
            assert tuple(image.shape) == (int(record["height"]), int(record["width"]), 3)
            objects = record["objects"].values.numpy().tolist()
            assert all(0 <= k < len(info["classes"]) for k in objects)
    assert total == 40 and all(len(s) == 1 for s in sides.values())
    assert {next(iter(s)) for s in sides.values()} == {"train", "val"}


def test_clashing_class_ids_keep_their_names_in_tensorflow(tf: Any, tmp_path: Path) -> None:
    root = tmp_path / "job"
    maps = [{0: "animal", 4: "dog", 5: "cat"}, {2: "lady", 3: "dog", 4: "cat"}]
    lines = []
    for k, cmap in enumerate(maps):
        make_image(root / "images" / f"{k}.jpg", 64, 48)
        lines.append(det_line(f"s3://b/images/{k}.jpg", [(4, 1, 1, 10, 10)], cmap, (64, 48)))
    manifest = write_manifest(root / "output.manifest", lines)
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-s", "0", "-q"]) == 0
    classes = yaml.safe_load((out / "dataset_info.yaml").read_text())["classes"]
    got = {r["image_name"].numpy().decode(): [classes[k] for k in r["objects"].values.numpy()]
           for r in parsed(tf, out)}
    assert got == {"0.jpg": ["dog"], "1.jpg": ["cat"]}, json.dumps(got)
