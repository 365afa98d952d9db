"""inspect: counts per split and file, feature types, ModelPack statistics, --show, --json."""

from __future__ import annotations

import json
import struct

import pytest
from dataset_helpers import (
    CLASSES,
    SAMPLE,
    convert_sample,
    default_items,
    write_json_dataset,
    write_modelpack,
)

from tfrecord_lite import TFRecordWriter, encode_example
from tfrecord_lite.cli import main
from tfrecord_lite.crc import masked_crc
from tfrecord_lite.dataset.layout import detect_compression, resolve
from tfrecord_lite.inspect import readable_bytes


def inspect_json(capsys, *args) -> tuple[int, dict]:
    code = main(["inspect", "--json", *map(str, args)])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _expected(items):
    objects = {name: 0 for name in CLASSES}
    sizes: dict[str, int] = {}
    for item in items:
        for box in item.boxes:
            objects[CLASSES[box[0]]] += 1
        key = f"{item.width}x{item.height}"
        sizes[key] = sizes.get(key, 0) + 1
    counts = [len(i.boxes) for i in items]
    return objects, sizes, counts


@pytest.mark.parametrize("compression", [None, "GZIP", "ZLIB"])
def test_json_report_counts(tmp_path, capsys, compression) -> None:
    root = write_modelpack(tmp_path / "ds", compression=compression)
    code, report = inspect_json(capsys, root)
    assert code == 0
    assert report["kind"] == "dataset" and report["format"] == "tfrecord"
    assert report["classes"] == CLASSES
    assert report["records"] == 13
    train, val = report["splits"]
    assert (train["name"], train["records"], train["samples_declared"]) == ("train", 10, 10)
    assert (val["name"], val["records"]) == ("validation", 3)
    expected_compression = (compression or "none").lower()
    assert {f["compression"] for f in train["files"] + val["files"]} == {expected_compression}
    assert sum(f["records"] for f in train["files"]) == 10
    assert train["bytes"] == sum(p.stat().st_size for p in (root / "tfrecord_train").iterdir())
    feats = train["features"]
    assert feats["image"] == {"type": "bytes", "records": 10, "values_min": 1, "values_max": 1}
    assert feats["width"]["type"] == "int64"
    assert feats["bboxes"]["type"] == "float"
    assert (feats["objects"]["values_min"], feats["objects"]["values_max"]) == (0, 3)
    assert feats["bboxes"]["values_max"] == 12
    objects, sizes, counts = _expected(default_items(10))
    mp = train["modelpack"]
    assert mp["images"] == 10
    assert mp["objects_per_class"] == objects
    assert mp["image_sizes"] == sizes
    assert mp["boxes_per_image"] == {
        "min": min(counts),
        "mean": round(sum(counts) / len(counts), 3),
        "max": max(counts),
    }
    assert report["errors"] == []


def test_text_report(tmp_path, capsys) -> None:
    root = write_modelpack(tmp_path / "ds", compression="GZIP")
    assert main(["inspect", str(root)]) == 0
    out = capsys.readouterr().out
    assert "classes (4): hearts, diamonds, clubs, spades" in out
    assert "split train: 10 records in 1 file," in out
    assert "train-00000-of-00001.tfrecord" in out and "gzip" in out
    assert "image_name  bytes  1 value per record" in out
    assert "objects per class: hearts " in out
    assert "image sizes: 64x48 x8, 48x64 x2" in out


def test_show_records(tmp_path, capsys) -> None:
    root = write_modelpack(tmp_path / "ds")
    assert main(["inspect", str(root / "tfrecord_val"), "--show", "2"]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n{")[1:]
    shown = [json.loads("{" + b) for b in blocks]
    assert len(shown) == 2
    first = shown[0]
    assert first["record"] == 0 and first["offset"] == 0
    assert first["features"]["image_name"] == {"type": "bytes", "values": ["val-010.jpg"]}
    image = first["features"]["image"]["values"][0]
    assert image.startswith("<") and " bytes: ffd8ffe0" in image and image.endswith("...>")
    assert shown[1]["offset"] > 0
    item = default_items(3, "val", 10)[1]
    expected = [v for b in item.boxes for v in b[1:]]
    assert shown[1]["features"]["bboxes"]["values"] == pytest.approx(expected, abs=1e-6)
    assert shown[1]["features"]["objects"]["values"] == [b[0] for b in item.boxes]


def test_show_in_json(tmp_path, capsys) -> None:
    root = write_modelpack(tmp_path / "ds")
    code, report = inspect_json(capsys, root, "--show", "3")
    assert code == 0
    assert [s["record"] for s in report["shown"]] == [0, 1, 2]


def test_readable_bytes() -> None:
    assert readable_bytes(b"hello") == "hello"
    assert readable_bytes(b"\xff\xd8\xff\xe0" * 100) == "<400 bytes: ffd8ffe0ffd8ffe0...>"
    assert readable_bytes(b"\x00\x01") == "<2 bytes: 0001>"
    assert readable_bytes(b"x" * 65) == "<65 bytes: 7878787878787878...>"


def test_generic_examples(tmp_path, capsys) -> None:
    path = tmp_path / "data.tfrecords"
    with TFRecordWriter(path) as w:
        for i in range(6):
            feats = {"label": i, "scores": [0.5] * (i + 1), "text": "t" * i}
            if i % 2:
                feats["extra"] = [b"a", b"b"]
            w.write(encode_example(feats))
    code, report = inspect_json(capsys, path)
    assert code == 0
    assert report["kind"] == "file"
    (split,) = report["splits"]
    f = split["features"]
    assert f["label"] == {"type": "int64", "records": 6, "values_min": 1, "values_max": 1}
    assert (f["scores"]["values_min"], f["scores"]["values_max"]) == (1, 6)
    assert f["extra"]["records"] == 3
    assert "modelpack" not in split


def test_corrupt_file_reports_error_and_exit_1(tmp_path, capsys) -> None:
    path = tmp_path / "x.tfrecord"
    with TFRecordWriter(path) as w:
        for i in range(4):
            w.write(encode_example({"i": i}))
    path.write_bytes(path.read_bytes()[:-3])
    code = main(["inspect", str(path)])
    captured = capsys.readouterr()
    assert code == 1
    assert "3 records" in captured.out
    assert "record 3 at byte" in captured.err and "truncated record" in captured.err


def _plain_with_length(n: int) -> bytes:
    header = struct.pack("<Q", n)
    return header + struct.pack("<I", masked_crc(header))


def test_detect_compression() -> None:
    assert detect_compression(b"") is None
    assert detect_compression(b"\x1f\x8b\x08\x00") == "GZIP"
    assert detect_compression(b"\x78\x9c\x00\x00") == "ZLIB"
    assert detect_compression(b"\x78\xda") == "ZLIB"
    # an uncompressed record whose length bytes look like a zlib / gzip header stays plain
    assert _plain_with_length(0x9C78)[:2] == b"\x78\x9c"
    assert detect_compression(_plain_with_length(0x9C78)) is None
    assert detect_compression(_plain_with_length(0x8B1F)) is None


def test_plain_file_starting_like_zlib(tmp_path, capsys) -> None:
    path = tmp_path / "z.tfrecord"
    with TFRecordWriter(path) as w:
        w.write(b"\x00" * 0x9C78)
    assert path.read_bytes()[:2] == b"\x78\x9c"
    layout = resolve(path)
    assert layout.splits[0].files[0].compression is None
    code, report = inspect_json(capsys, path)
    assert code == 0  # not an Example: inspect counts it, verify is the one that objects
    assert report["splits"][0]["features"]["(not an Example)"]["records"] == 1
    assert report["splits"][0]["files"][0]["records"] == 1
    assert report["splits"][0]["files"][0]["compression"] == "none"


def test_json_format(tmp_path, capsys) -> None:
    root = write_json_dataset(tmp_path / "js")
    code, report = inspect_json(capsys, root, "--show", "1")
    assert code == 0
    assert report["format"] == "json"
    train = report["splits"][0]
    assert train["records"] == 6 and train["format"] == "json"
    objects, sizes, _ = _expected(default_items(6))
    assert train["modelpack"]["objects_per_class"] == objects
    assert train["modelpack"]["image_sizes"] == sizes
    assert train["modelpack"]["masks"] == sum(1 for item in default_items(6) if item.boxes)
    assert report["shown"][0]["json"]["image"] == "img-000.jpg"


@pytest.mark.parametrize("fmt", ["tfrecord", "darknet"])
def test_converted_sample(tmp_path, capsys, fmt) -> None:
    out = convert_sample(tmp_path / "out", "-f", fmt)
    capsys.readouterr()
    code, report = inspect_json(capsys, out)
    assert code == 0
    assert report["classes"] == ["hearts", "diamonds", "clubs", "spades"]
    assert report["records"] == 13
    total = sum(sum(s["modelpack"]["objects_per_class"].values()) for s in report["splits"])
    manifest_boxes = sum(
        len(json.loads(line)["cards"]["annotations"])
        for line in (SAMPLE / "output.manifest").read_text().splitlines()
        if line.strip()
    )
    assert total == manifest_boxes
