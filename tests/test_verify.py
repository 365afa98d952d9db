"""verify: clean data passes; each kind of damage is reported with file, record and byte offset."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from dataset_helpers import (
    Item,
    convert_sample,
    default_items,
    jpeg,
    record,
    write_json_dataset,
    write_modelpack,
)
from PIL import Image

from tfrecord_lite import TFRecordWriter, encode_example, tf_record_iterator
from tfrecord_lite.pipeline.sample import Box
from tfrecord_lite.tools.cli import main


def verify(capsys, *args: str) -> tuple[int, str]:
    code = main(["verify", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out + err


def offsets(path: Path) -> list[int]:
    out, at = [], 0
    for data in tf_record_iterator(path, verify=False):
        out.append(at)
        at += len(data) + 16
    return out


def replace_record(path: Path, index: int, new: bytes) -> None:
    records = list(tf_record_iterator(path))
    records[index] = new
    with TFRecordWriter(path) as w:
        w.write_many(records)


def flip(path: Path, at: int, bits: int) -> None:
    """Flip ``bits`` of the byte at offset ``at`` of a file."""
    raw = bytearray(path.read_bytes())
    raw[at] ^= bits
    path.write_bytes(bytes(raw))


def first_shard(root: Path) -> Path:
    return sorted((root / "tfrecord_train").iterdir())[0]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_modelpack(tmp_path / "ds")


@pytest.mark.parametrize("compression", [None, "GZIP", "ZLIB"])
def test_clean_dataset_ok(tmp_path, capsys, compression) -> None:
    root = write_modelpack(tmp_path / "ds", compression=compression)
    code, out = verify(capsys, root)
    assert code == 0, out
    assert out.startswith("OK: 13 records in ")
    assert "(train 10, validation 3)" in out
    assert out.count("\n") == 1
    # the yaml itself, and a split folder or one file given alone
    assert verify(capsys, root / "dataset_info.yaml")[0] == 0
    assert verify(capsys, root / "tfrecord_val")[0] == 0
    assert verify(capsys, next((root / "tfrecord_val").iterdir()))[0] == 0


def test_flipped_data_byte_reports_record_and_offset_and_goes_on(dataset, capsys) -> None:
    shard = first_shard(dataset)
    at = offsets(shard)
    flip(shard, at[2] + 100, 0x40)
    code, out = verify(capsys, dataset)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        f"{shard}: record 2 at byte {at[2]}: data CRC mismatch: "
        + lines[0].split("data CRC mismatch: ", 1)[1]
    )
    assert "stopped reading this file" in lines[0]
    assert lines[-1].startswith("FAILED: 1 problem; ")
    assert "11 records in 4 files" in lines[-1]  # 2 read from the broken file, then the others


def test_flipped_length_byte(dataset, capsys) -> None:
    shard = first_shard(dataset)
    at = offsets(shard)
    flip(shard, at[1] + 1, 0x01)
    code, out = verify(capsys, dataset)
    assert code == 1
    assert f"{shard}: record 1 at byte {at[1]}: length CRC mismatch" in out


def test_truncated_tail(dataset, capsys) -> None:
    shard = first_shard(dataset)
    at = offsets(shard)
    shard.write_bytes(shard.read_bytes()[:-7])
    code, out = verify(capsys, dataset)
    assert code == 1
    last = len(at) - 1
    assert f"{shard}: record {last} at byte {at[last]}: truncated record" in out
    # a damaged split's count is not compared with dataset_info.yaml (it would only repeat it)
    assert "samples is" not in out


def test_truncated_gzip_file(tmp_path, capsys) -> None:
    root = write_modelpack(tmp_path / "ds", compression="GZIP")
    shard = first_shard(root)
    shard.write_bytes(shard.read_bytes()[:-30])
    code, out = verify(capsys, root)
    assert code == 1
    assert f"{shard}: record " in out and "data loss" in out and "cut short" in out


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(boxes=(Box(0, 1.2, 0.5, 0.1, 0.1),)), "bbox 0 value 1.2 outside [0, 1] (cx)"),
        (dict(width=99), "width x height is 99x48 but the image is 64x48"),
    ],
)
def test_record_problems(dataset, capsys, change, message) -> None:
    shard = first_shard(dataset)
    at = offsets(shard)
    item = Item("bad.jpg", 64, 48, [(0, 0.5, 0.5, 0.2, 0.2)])
    replace_record(shard, 1, record(item, **change))
    code, out = verify(capsys, dataset)
    assert code == 1
    assert f"{shard}: record 1 at byte {at[1]}: {message}\n" in out


def test_class_id_and_bbox_count(dataset, capsys) -> None:
    shard = first_shard(dataset)
    data = jpeg(64, 48)
    bad = encode_example(
        {
            "image": data,
            "image_name": "odd.jpg",
            "width": 64,
            "height": 48,
            "objects": [1, 7],
            "bboxes": [0.5, 0.5, 0.1, 0.1, 0.5],
        }
    )
    replace_record(shard, 0, bad)
    code, out = verify(capsys, dataset)
    assert code == 1
    assert f"{shard}: record 0 at byte 0: 5 bboxes values for 2 objects (expected 8)" in out
    assert f"{shard}: record 0 at byte 0: object 1 class id 7 not in [0, 4)" in out


def test_wrong_schema(dataset, capsys) -> None:
    shard = first_shard(dataset)
    bad = encode_example(
        {"image": jpeg(64, 48), "image_name": "x.jpg", "width": 64.0, "height": [48, 48]}
    )
    replace_record(shard, 3, bad)
    at = offsets(shard)
    code, out = verify(capsys, dataset)
    assert code == 1
    prefix = f"{shard}: record 3 at byte {at[3]}: "
    assert prefix + "missing feature 'objects'" in out
    assert prefix + "missing feature 'bboxes'" in out
    assert prefix + "feature 'width' is float, expected int64" in out
    assert prefix + "feature 'height' has 2 values, expected 1" in out


def test_not_an_example_and_duplicate_names(dataset, capsys) -> None:
    shard = first_shard(dataset)
    records = list(tf_record_iterator(shard))
    records[0] = b"\xff\xff not protobuf"
    records[2] = records[1]
    with TFRecordWriter(shard) as w:
        w.write_many(records)
    code, out = verify(capsys, dataset)
    assert code == 1
    assert f"{shard}: record 0 at byte 0: not a tf.train.Example" in out
    assert f"image_name 'img-001.jpg' already used by {shard} record 1" in out


def test_samples_mismatch(dataset, capsys) -> None:
    info_path = dataset / "dataset_info.yaml"
    info = yaml.safe_load(info_path.read_text())
    info["train"]["samples"] = 11
    info_path.write_text(yaml.safe_dump(info))
    code, out = verify(capsys, dataset)
    assert code == 1
    assert out.splitlines()[0] == (
        f"{info_path}: split 'train': samples is 11 but {dataset / 'tfrecord_train'} holds 10"
    )


def test_shard_gap_and_missing_split(dataset, capsys) -> None:
    folder = dataset / "tfrecord_train"
    (folder / "train-00001-of-00003.tfrecord").unlink()
    shutil.rmtree(dataset / "tfrecord_val")
    code, out = verify(capsys, dataset)
    assert code == 1
    assert f"{folder}: train shard names say -of-00003 but there are 2 files" in out
    assert f"{folder}: missing shard train-00001-of-00003.tfrecord" in out
    assert "split 'validation': folder" in out and "not found" in out


def test_moved_dataset_resolves_folders_by_name(tmp_path, capsys) -> None:
    root = write_modelpack(tmp_path / "ds", prefix="/data/elsewhere")
    code, out = verify(capsys, root)
    assert code == 0, out


def test_folder_alone_uses_classes_from_parent_yaml(dataset, capsys) -> None:
    shard = first_shard(dataset)
    replace_record(shard, 0, record(Item("c.jpg", 64, 48, [(9, 0.5, 0.5, 0.2, 0.2)])))
    code, out = verify(capsys, dataset / "tfrecord_train")
    assert code == 1
    assert "object 0 class id 9 not in [0, 4)" in out


def test_plain_examples_and_schema_flag(tmp_path, capsys) -> None:
    path = tmp_path / "plain.tfrecord"
    with TFRecordWriter(path) as w:
        for i in range(5):
            w.write(encode_example({"x": i, "y": [1.0, 2.0], "s": "abc"}))
    assert verify(capsys, path)[0] == 0
    code, out = verify(capsys, path, "--schema", "modelpack")
    assert code == 1
    assert f"{path}: record 4 at byte " in out and "missing feature 'image'" in out


def test_max_problems(dataset, capsys) -> None:
    shard = first_shard(dataset)
    records = [b"junk"] * 5
    with TFRecordWriter(shard) as w:
        w.write_many(records)
    code, out = verify(capsys, dataset, "--max-problems", "2")
    lines = out.splitlines()
    assert code == 1
    assert len(lines) == 4
    assert lines[2].startswith("... more problems not shown")
    assert lines[3].startswith("FAILED: 6 problems; ")  # 5 junk records + the samples count


def test_nothing_there(tmp_path, capsys) -> None:
    code, out = verify(capsys, tmp_path / "nope")
    assert code == 1 and "no such file or folder" in out


# -- JSON format ----------------------------------------------------------------------------


def test_json_clean(tmp_path, capsys) -> None:
    root = write_json_dataset(tmp_path / "js")
    code, out = verify(capsys, root)
    assert code == 0, out
    assert out.startswith("OK: 8 records in 8 files (train 6, validation 2)")


def test_json_problems(tmp_path, capsys) -> None:
    root = write_json_dataset(tmp_path / "js")
    folder = root / "json_train"
    doc = json.loads((folder / "img-003.json").read_text())
    doc["boxes"][0][2] = 1.5
    doc["boxes"][1][4] = 4
    doc["dimension"] = [65, 48]
    doc["segment"][0]["polygon"][1][0] = -0.25
    doc["segment"][1]["polygon"] = [[0.5, 0.5]]
    (folder / "img-003.json").write_text(json.dumps(doc))
    (folder / "img-002.json").write_text("{not json")
    (folder / "img-001.jpg").unlink()
    Image.new("L", (64, 48)).save(folder / "img-005.jpg")  # grey: decode_jpeg gives 1 channel
    code, out = verify(capsys, root)
    assert code == 1
    j = folder / "img-003.json"
    assert f"{j}: box 0 value 1.5 is outside [0, 1]" in out
    assert f"{j}: box 1 class 4 is not an index into classes [0, 4)" in out
    assert f"{j}: dimension is 65x48 but the image is 64x48" in out
    assert f"{j}: segment 0 polygon value -0.25 is outside [0, 1]" in out
    assert f"{j}: segment 1 polygon must be 3 or more [x, y] points" in out
    assert f"{folder / 'img-002.json'}: not valid JSON" in out
    assert f"{folder / 'img-001.json'}: image 'img-001.jpg' not found" in out
    assert f"{folder / 'img-005.json'}: image is grey: ModelPack decodes images with " in out


# -- end to end on the converter's output ---------------------------------------------------


def _convert(tmp_path: Path, *extra: str) -> Path:
    return convert_sample(tmp_path / "out", *extra)


@pytest.mark.parametrize("fmt", ["tfrecord", "json", "darknet", "tfod"])
def test_converted_sample_verifies(tmp_path, capsys, fmt) -> None:
    out = _convert(tmp_path, "-f", fmt)
    capsys.readouterr()
    code, text = verify(capsys, out)
    assert code == 0, text
    assert "13 records" in text


def test_converted_sample_damage_found(tmp_path, capsys) -> None:
    out = _convert(tmp_path, "-p", "0.05")
    capsys.readouterr()
    shard = first_shard(out)
    shard.write_bytes(shard.read_bytes()[:-5])
    code, text = verify(capsys, out)
    assert code == 1
    assert f"{shard}: record " in text and "truncated record" in text


def test_converted_sample_listed_files_checked(tmp_path, capsys) -> None:
    out = _convert(tmp_path, "-p", "0.05")
    capsys.readouterr()
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    if not isinstance(info.get("tfrecord_lite", {}).get("files"), dict):
        pytest.skip("the converter does not list its files")
    shards = sorted((out / "tfrecord_train").iterdir())
    assert len(shards) > 1
    shards[-1].unlink()
    code, text = verify(capsys, out)
    assert code == 1
    assert f"split 'train': listed file {shards[-1].name} is missing" in text
    assert f"missing shard {shards[-1].name}" in text


def test_default_items_are_valid(tmp_path, capsys) -> None:
    # guards the helpers: a dataset with every box shape they make verifies clean
    items = {"train": default_items(20), "validation": default_items(2, "val", 20)}
    root = write_modelpack(tmp_path / "big", items, max_bytes=1 << 20)
    assert verify(capsys, root)[0] == 0


# -- one file of a set, payloads that are not Examples, --schema none, --json -------------


def _write(path: Path, records, options=None) -> Path:
    with TFRecordWriter(path, options) as w:
        w.write_many(records)
    return path


def test_one_file_of_a_shard_set_is_checked_alone(tmp_path, capsys) -> None:
    first = _write(tmp_path / "data-00000-of-00512", [encode_example({"a": 1})])
    code, out = verify(capsys, first)
    assert code == 0, out
    assert "OK: 1 records in 1 file" in out and "missing shard" not in out
    # the folder is where the whole set is held to its names
    code, out = verify(capsys, tmp_path)
    assert code == 1 and "shard names say -of-00512 but there are 1 files" in out


def test_other_payloads_get_a_note_not_a_problem_per_record(tmp_path, capsys) -> None:
    path = _write(tmp_path / "notes.tfrecord", [b"\x08\x96\x01\x12\x03abc"] * 5)
    code, out = verify(capsys, path)
    assert code == 0, out
    assert out.count("note:") == 1 and "protobuf messages of another type" in out
    raw = _write(tmp_path / "raw.tfrecord", [b"\xff\xfe"] * 3)
    code, out = verify(capsys, raw)
    assert code == 0 and "holds raw bytes" in out
    # asking for Examples makes each record protobuf refuses a problem
    code, out = verify(capsys, raw, "--schema", "example")
    assert code == 1 and out.count("not a tf.train.Example") == 3


def test_sequence_examples_are_parsed(tmp_path, capsys) -> None:
    from tfrecord_lite import encode_sequence_example

    good = encode_sequence_example({"a": 1}, {"s": [[1], [2, 3]]})
    path = _write(tmp_path / "seq.tfrecord", [good, good[:-1]])
    code, out = verify(capsys, path)
    assert code == 1
    assert "holds tf.train.SequenceExample records" in out
    assert "record 1 at byte" in out and "not a tf.train.SequenceExample" in out


def test_schema_none_checks_framing_and_crcs_only(tmp_path, capsys) -> None:
    path = _write(tmp_path / "raw.tfrecord", [b"\xff\xfe", b"\x0a\x05ab", b"x" * 30])
    code, out = verify(capsys, path, "--schema", "none")
    assert code == 0 and "note:" not in out and "OK: 3 records" in out
    flip(path, 16 + 2 + 12 + 1, 0x01)  # inside the second record's payload
    code, out = verify(capsys, path, "--schema", "none")
    assert code == 1 and "record 1 at byte 18: data CRC mismatch" in out


def test_json_result(tmp_path, capsys) -> None:
    path = _write(tmp_path / "x.tfrecord", [encode_example({"a": 1})] * 2)
    code = main(["verify", "--json", str(path)])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["ok"] is True and result["records"] == 2
    assert result["problems"] == [] and result["files"] == 1
    flip(path, 5, 0x01)
    code = main(["verify", "--json", str(path)])
    result = json.loads(capsys.readouterr().out)
    assert code == 1 and result["ok"] is False
    assert result["problems"][0]["offset"] == 0 and "length CRC" in result["problems"][0]["message"]


def test_a_jpeg_is_named_not_misread(tmp_path, capsys) -> None:
    path = tmp_path / "photo.tfrecord"
    Image.new("RGB", (8, 8)).save(path, "JPEG")
    code, out = verify(capsys, path)
    assert code == 1
    assert f"{path}: not a TFRecord file: it looks like a JPEG image" in out
    assert "length field reads" not in out
