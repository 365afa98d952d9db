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
from tfrecord_lite.format.crc import masked_crc
from tfrecord_lite.tools.cli import main
from tfrecord_lite.tools.inspection import readable_bytes
from tfrecord_lite.tools.layout import detect_compression, resolve


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


def test_sizes_are_in_the_binary_units_partition_uses(tmp_path, capsys) -> None:
    path = tmp_path / "big.tfrecord"
    with TFRecordWriter(str(path)) as w:
        w.write(b"x" * (3 << 20))  # 3 MiB and 16 bytes of framing
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3.0 MiB" in out and " MB" not in out and "kB" not in out


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
    assert code == 0  # not an Example: inspect names the payload, verify is the one that objects
    assert report["splits"][0]["files"][0]["payload"] == "not protobuf"
    assert report["splits"][0]["features"] == {}
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


# -- payload kinds, feature lists, lossless records, what a folder skips ------------------


def _write(path, records, options=None):
    with TFRecordWriter(path, options) as w:
        w.write_many(records)
    return path


def test_sequence_examples_show_their_feature_lists(tmp_path, capsys) -> None:
    from tfrecord_lite import encode_sequence_example

    records = [
        encode_sequence_example({"id": i}, {"tokens": [[1, 2]] * (i + 1), "frames": [b"a"]})
        for i in range(3)
    ]
    path = _write(tmp_path / "seq.tfrecord", records, "GZIP")
    code, report = inspect_json(capsys, path, "--show", "1")
    assert code == 0
    split = report["splits"][0]
    assert split["files"][0]["payload"] == "SequenceExample"
    assert split["features"]["id"]["records"] == 3
    assert split["feature_lists"]["tokens"] == {
        "type": "int64", "records": 3, "steps_min": 1, "steps_max": 3
    }
    shown = report["shown"][0]
    assert shown["feature_lists"]["tokens"] == [{"type": "int64", "values": [1, 2]}]
    assert main(["inspect", str(path), "--show", "1"]) == 0
    out = capsys.readouterr().out
    assert "feature lists:" in out and "tokens  int64  1..3 steps per record" in out
    block = json.loads("{" + out.split("\n{", 1)[1])
    assert block["feature_lists"]["frames"] == [{"type": "bytes", "values": ["a"]}]


def test_other_payloads_are_named_not_counted_as_features(tmp_path, capsys) -> None:
    path = _write(tmp_path / "raw.tfrecord", [b"\xff\xfe raw", b"\x08\x01"])
    code, report = inspect_json(capsys, path, "--show", "1")
    assert code == 0
    assert report["splits"][0]["files"][0]["payload"] == "not protobuf"
    assert report["splits"][0]["features"] == {}
    assert report["shown"][0]["bytes"] == "<6 bytes: fffe20726177>"


def test_full_is_lossless(tmp_path, capsys) -> None:
    import base64

    from tfrecord_lite import FloatValues, decode_example

    values = {
        "blob": bytes(range(256)) * 2,
        "text": "x" * 500,
        "floats": FloatValues([0.1 + i / 3 for i in range(100)]),
        "ints": list(range(100)),
    }
    record = encode_example(values)
    path = _write(tmp_path / "one.tfrecord", [record])
    _, report = inspect_json(capsys, path, "--show", "1", "--full")
    feats = report["shown"][0]["features"]
    want = decode_example(record)
    assert base64.b64decode(feats["blob"]["values"][0]["base64"]) == values["blob"]
    assert feats["text"]["values"] == ["x" * 500]
    assert feats["floats"]["values"] == want["floats"]  # every float32 exactly, none cut
    assert feats["ints"]["values"] == values["ints"]
    _, short = inspect_json(capsys, path, "--show", "1")
    assert len(short["shown"][0]["features"]["ints"]["values"]) < 100  # without --full: cut


def test_folder_finds_records_by_broad_names_and_first_bytes(tmp_path, capsys) -> None:
    one = [encode_example({"a": 1})]
    names = {
        "x.tfr": None,
        "data_tfrecord-00000.gz": "GZIP",
        "toy.tfe-tfrecord-00000-of-00002": "GZIP",
        "no_hint_at_all.gz": "GZIP",
        "no_hint_at_all.bin": None,
        "events.out.tfevents.123": None,
    }
    for name, kind in names.items():
        _write(tmp_path / name, one, kind)
    (tmp_path / "readme.txt").write_text("not records")
    (tmp_path / "blob.bin2").write_bytes(b"\x00" * 40)
    code, report = inspect_json(capsys, tmp_path)
    assert code == 0
    split = report["splits"][0]
    found = sorted(f["path"].rsplit("/", 1)[1] for f in split["files"])
    assert found == sorted(names)
    assert sorted(p.rsplit("/", 1)[1] for p in split["skipped"]) == ["blob.bin2", "readme.txt"]


def test_folder_without_records_says_what_it_skipped(tmp_path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    assert main(["inspect", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no TFRecord files" in err and "skipped notes.txt" in err


def test_a_json_lines_file_is_named_not_misread(tmp_path, capsys) -> None:
    path = tmp_path / "output.manifest.tfrecord"
    path.write_text("".join(json.dumps({"source-ref": f"s3://b/{i}"}) + "\n" for i in range(9)))
    assert main(["inspect", str(path)]) == 1
    captured = capsys.readouterr()
    assert "not a TFRecord file: it looks like JSON Lines text" in captured.out + captured.err
    assert "length field reads" not in captured.out + captured.err
