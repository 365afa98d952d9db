"""`tfrecord-lite convert` output, read the way a TensorFlow training pipeline reads it.

Images are drawn with one solid colour per class, so the decoded pixel at each box centre proves
image, box and class index all line up, not just that the records parse.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from compat_util import modelpack_spec
from PIL import Image, ImageDraw

COLOURS = {"red": (220, 30, 30), "green": (30, 190, 40), "blue": (30, 40, 220),
           "yellow": (230, 220, 30)}
BACKGROUND = (128, 128, 128)
JOB = "shapes"


def draw_dataset(root: Path, count: int = 24, seed: int = 3) -> dict[str, dict[str, Any]]:
    """JPEGs of coloured rectangles plus a Ground Truth manifest; returns name -> truth."""
    rng = random.Random(seed)
    names = list(COLOURS)
    images = root / "images"
    images.mkdir(parents=True)
    truth: dict[str, dict[str, Any]] = {}
    with open(root / "output.manifest", "w", encoding="utf-8") as manifest:
        for i in range(count):
            width, height = rng.choice([(320, 240), (200, 300), (257, 129)])
            img = Image.new("RGB", (width, height), BACKGROUND)
            draw = ImageDraw.Draw(img)
            annotations = []
            # one box per cell of a 2x2 grid at most: no overlaps, so centres keep their colour
            cells = [(0, 0), (1, 0), (0, 1), (1, 1)]
            rng.shuffle(cells)
            for cx, cy in cells[: 0 if i == 0 else rng.randint(1, 4)]:
                cw, ch = width // 2, height // 2
                w, h = rng.randint(cw // 3, cw - 4), rng.randint(ch // 3, ch - 4)
                left = cx * cw + rng.randint(0, cw - w - 1)
                top = cy * ch + rng.randint(0, ch - h - 1)
                class_id = rng.randrange(len(names))
                colour = COLOURS[names[class_id]]
                draw.rectangle([left, top, left + w - 1, top + h - 1], fill=colour)
                annotations.append({"class_id": class_id, "left": left, "top": top,
                                    "width": w, "height": h})
            name = f"shape_{i:03d}.jpg"
            img.save(images / name, "JPEG", quality=92)
            line = {
                "source-ref": f"s3://test-bucket/raw/{name}",
                JOB: {"annotations": annotations,
                      "image_size": [{"width": width, "height": height, "depth": 3}]},
                f"{JOB}-metadata": {
                    "objects": [{"confidence": 0.95} for _ in annotations],
                    "class-map": {str(k): v for k, v in enumerate(names)},
                    "type": "groundtruth/object-detection",
                    "human-annotated": "yes",
                    "creation-date": "2024-05-01T10:00:00.000000",
                    "job-name": f"labeling-job/{JOB}",
                },
            }
            manifest.write(json.dumps(line) + "\n")
            truth[name] = {"width": width, "height": height,
                           "boxes": [(names[a["class_id"]], a) for a in annotations]}
    return truth


@pytest.mark.parametrize("workers", [1, 2])
def test_converted_dataset_reads_in_tensorflow(tf: Any, tmp_path: Path, workers: int) -> None:
    truth = draw_dataset(tmp_path / "gt")
    out = tmp_path / "dataset"
    cmd = [sys.executable, "-m", "tfrecord_lite", "convert",
           "-a", str(tmp_path / "gt" / "output.manifest"), "-i", str(tmp_path / "gt" / "images"),
           "-o", str(out), "-s", "0.25", "-p", "0.05", "--workers", str(workers)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr

    info = yaml.safe_load((out / "dataset_info.yaml").read_text(encoding="utf-8"))
    classes = info["classes"]
    assert sorted(classes) == sorted(COLOURS)
    train = sorted((out / "tfrecord_train").glob("train-*-of-*.tfrecord"))
    val = sorted((out / "tfrecord_val").glob("val-*-of-*.tfrecord"))
    assert len(train) > 1, "a 0.05 MB partition must split the training set over several files"
    assert val
    for files, prefix in ((train, "train"), (val, "val")):
        n = len(files)
        names = [f"{prefix}-{k:05d}-of-{n:05d}.tfrecord" for k in range(n)]
        assert [f.name for f in files] == names

    spec = modelpack_spec(tf)
    seen: dict[str, int] = {}
    for split, files in (("train", train), ("val", val)):
        dataset = tf.data.TFRecordDataset([str(f) for f in files])
        dataset = dataset.map(lambda r: tf.io.parse_single_example(r, spec))
        count = 0
        for parsed in dataset:
            count += 1
            name = parsed["image_name"].numpy().decode()
            assert name in truth and name not in seen, name
            seen[name] = 1
            expected = truth[name]
            image = tf.io.decode_image(parsed["image"], channels=3).numpy()
            height, width = image.shape[:2]
            assert (int(parsed["width"]), int(parsed["height"])) == (width, height)
            assert (width, height) == (expected["width"], expected["height"])
            objects = parsed["objects"].values.numpy().tolist()
            boxes = parsed["bboxes"].values.numpy().reshape(-1, 4).tolist()
            assert len(objects) == len(boxes) == len(expected["boxes"])
            got = sorted(zip([classes[k] for k in objects], [tuple(b) for b in boxes]),
                         key=lambda t: (t[1][0], t[1][1]))
            want = sorted(((cls, ((a["left"] + a["width"] / 2) / width,
                                  (a["top"] + a["height"] / 2) / height,
                                  a["width"] / width, a["height"] / height))
                           for cls, a in expected["boxes"]), key=lambda t: (t[1][0], t[1][1]))
            for (cls, box), (want_cls, want_box) in zip(got, want):
                assert cls == want_cls, name
                assert all(abs(g - w) < 1e-5 for g, w in zip(box, want_box)), (name, box, want_box)
                cx, cy = int(box[0] * width), int(box[1] * height)
                pixel = image[cy, cx].tolist()
                colour = COLOURS[cls]
                assert all(abs(p - c) <= 40 for p, c in zip(pixel, colour)), (name, cls, pixel)
        key = "train" if split == "train" else "validation"
        assert count == info[key]["samples"]
    assert sorted(seen) == sorted(truth)
