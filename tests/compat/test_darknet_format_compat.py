"""`-f darknet` read by Au-Zone's own darknet reader (``deepview-datasets``, AGPL-3.0: a
test-only oracle installed into the compat venv, never imported by tfrecord_lite): every sample
of both splits comes back with its boxes, through the same ``dataset_info.yaml``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_convert_compat import draw_dataset


def test_deepview_reads_every_sample_with_its_boxes(tmp_path: Path) -> None:
    from deepview.datasets.generators.detection import ObjectDetectionGenerator

    truth = draw_dataset(tmp_path / "gt", count=30)
    out = tmp_path / "dataset"
    cmd = [sys.executable, "-m", "tfrecord_lite", "convert", "-f", "darknet", "-q",
           "-a", str(tmp_path / "gt" / "output.manifest"), "-i", str(tmp_path / "gt" / "images"),
           "-o", str(out), "-s", "0.25"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr

    generator = ObjectDetectionGenerator(from_config=str(out / "dataset_info.yaml"))
    classes = list(generator.config["classes"])
    seen: dict[str, int] = {}
    for split, make in (("train", generator.get_train_generator),
                        ("validation", generator.get_val_generator)):
        samples = make()
        reader = samples.reader
        assert len(samples) == generator.config[split]["samples"] > 0, split
        for k in range(len(samples)):
            image, boxes = samples[k]
            name = Path(reader.__storage__[k][0]).name
            assert name in truth and name not in seen, name
            seen[name] = 1
            want = truth[name]
            assert image.shape == (want["height"], want["width"], 3)
            got = sorted((classes[int(b[4])], *map(float, b[:4]))
                         for b in np.asarray(boxes).reshape(-1, 5))
            w, h = want["width"], want["height"]
            expect = sorted((cls, (a["left"] + a["width"] / 2) / w,
                             (a["top"] + a["height"] / 2) / h, a["width"] / w, a["height"] / h)
                            for cls, a in want["boxes"])
            assert [g[0] for g in got] == [e[0] for e in expect], name
            for g, e in zip(got, expect):
                assert g[1:] == pytest.approx(e[1:], abs=2e-6), name
    assert sorted(seen) == sorted(truth)  # every image, each once
