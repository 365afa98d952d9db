"""Every image the converter stores decodes with ``tf.io.decode_jpeg(data, channels=0)`` to
(height, width, 3), ModelPack's way, for every pixel layout and format of ``image_cases``; and
without the conversion (``--keep-image-bytes``) most of them do not, so the check has teeth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from compat_util import modelpack_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared image cases
from image_cases import H, W, cases


def _convert(tmp_path: Path, *extra: str) -> Path:
    import json

    images = tmp_path / "job" / "images"
    images.mkdir(parents=True, exist_ok=True)
    with open(tmp_path / "job" / "output.manifest", "w", encoding="utf-8") as manifest:
        for case in cases():
            (images / case.name).write_bytes(case.data)
            manifest.write(json.dumps({
                "source-ref": f"s3://b/images/{case.name}",
                "job": {"annotations": [{"class_id": 0, "left": 2, "top": 3, "width": 9,
                                         "height": 8}],
                        "image_size": [{"width": W, "height": H, "depth": 3}]},
                "job-metadata": {"class-map": {"0": "thing"}, "objects": [{}],
                                 "type": "groundtruth/object-detection",
                                 "creation-date": "2024-01-01T00:00:00.000000"},
            }) + "\n")
    out = tmp_path / f"out{len(extra)}"
    cmd = [sys.executable, "-m", "tfrecord_lite", "convert", "-q", "-a",
           str(tmp_path / "job" / "output.manifest"), "-o", str(out), "-s", "0.3", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out


def _decoded(tf: Any, out: Path) -> dict[str, Any]:
    """image_name -> (decode_jpeg shape or the error, width, height, boxes)."""
    spec = modelpack_spec(tf)
    files = [str(p) for p in sorted(out.glob("tfrecord_*/*.tfrecord"))]
    got = {}
    for raw in tf.data.TFRecordDataset(files):
        parsed = tf.io.parse_single_example(raw, spec)
        try:
            shape = tuple(tf.io.decode_jpeg(parsed["image"], channels=0).shape)
        except Exception as exc:  # InvalidArgumentError: not a format decode_jpeg reads
            shape = type(exc).__name__
        name = parsed["image_name"].numpy().decode()
        boxes = tf.sparse.to_dense(parsed["bboxes"]).numpy().reshape(-1, 4)
        got[name] = (shape, int(parsed["width"]), int(parsed["height"]), boxes)
    return got


def test_every_stored_image_decodes_to_three_channels(tf: Any, tmp_path: Path) -> None:
    got = _decoded(tf, _convert(tmp_path))
    assert len(got) == len(cases())
    for name, (shape, width, height, boxes) in got.items():
        assert shape == (height, width, 3) == (H, W, 3), name
        cx, cy, w, h = boxes.T  # ModelPack's xywhn2xyxy: inside the image
        assert ((cx - w / 2 >= 0) & (cx + w / 2 <= 1) & (cy - h / 2 >= 0)
                & (cy + h / 2 <= 1)).all(), name
        assert boxes[0].tolist() == pytest.approx([6.5 / W, 7 / H, 9 / W, 8 / H], abs=1e-6)


def test_kept_bytes_are_what_decode_jpeg_refuses_or_misreads(tf: Any, tmp_path: Path) -> None:
    got = _decoded(tf, _convert(tmp_path, "--keep-image-bytes"))
    wrong = {name for name, (shape, *_rest) in got.items() if shape != (H, W, 3)}
    expect_wrong = {c.name for c in cases() if c.reason is not None}
    # TensorFlow 2.21 reads a plain palette, an RGB tRNS, a 16-bit RGB PNG, CMYK and MPO JPEGs
    # and a still GIF as 3 channels (other builds and readers may not: they are converted
    # anyway); these it refuses, or gives 1, 2 or 4 channels or a 4-D stack
    assert {"greyjpeg.jpg", "greypng.png", "greyalpha.png", "rgba.png", "palette-t.png",
            "grey16.png", "bmp.bmp", "webp.webp", "tiff.tiff", "anim.gif"} <= wrong
    assert wrong <= expect_wrong
