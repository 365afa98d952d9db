"""-f darknet end to end: yaml (type, classes, both keys per split), image + <stem>.txt."""

from __future__ import annotations

import yaml
from test_convert import make_job, run

from tfrecord_lite.pipeline.formats.darknet_format import label_text
from tfrecord_lite.pipeline.sample import Box, Sample


def test_label_text_has_one_line_per_box_with_six_decimals() -> None:
    sample = Sample("r", 1, "a.jpg", 10, 10, bytes, (Box(2, 0.5, 0.25, 1 / 3, 0.1),))
    assert label_text(sample) == "2 0.500000 0.250000 0.333333 0.100000\n"
    assert label_text(sample._replace(boxes=())) == ""


def test_darknet_dataset_layout(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 12)  # 12 boxed images and one without boxes
    out = tmp_path / "out"
    assert run("-a", manifest, "-o", out, "-q", "-f", "darknet", "-s", "0.3") == 0
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["type"] == "darknet" and info["classes"] == ["no", "null", "1e3"]
    total = 0
    for split, folder in (("train", "darknet_train"), ("validation", "darknet_val")):
        assert info[split]["images"] == info[split]["annotations"] == str(out / folder)
        images = sorted(p for p in (out / folder).iterdir() if p.suffix == ".jpg")
        labels = sorted((out / folder).glob("*.txt"))
        assert [p.stem for p in images] == [p.stem for p in labels]
        assert info[split]["samples"] == len(images) > 0
        total += len(images)
        for image in images:
            src = tmp_path / "job" / "images" / image.name
            assert image.read_bytes() == src.read_bytes()
            lines = (out / folder / f"{image.stem}.txt").read_text().splitlines()
            if image.stem == "empty":
                assert lines == []
                continue
            i = int(image.stem[3:7])
            left, top = 10 + i % 7, 8 + i % 5
            expect = [i % 3, (left + 20) / 96, (top + 15) / 64, 40 / 96, 30 / 64]
            fields = lines[0].split()
            assert len(lines) == 1 and int(fields[0]) == expect[0]
            assert all(len(f.split(".")[1]) >= 6 for f in fields[1:])
            assert [abs(float(f) - e) < 1e-6 for f, e in zip(fields[1:], expect[1:])] == [True] * 4
    assert total == 13
