"""-f tfod (pipeline.formats.tfod_format): every key of every record read back with our own
decoder, against the manifest's boxes, the images' bytes and the masks' pixels; the label map;
shards; the option's refusals."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest
import yaml
from gt_helpers import cls_line, det_line, make_image, seg_line, write_manifest
from PIL import Image

import tfrecord_lite
from tfrecord_lite import decode_example, tf_record_iterator
from tfrecord_lite.pipeline.formats import tfod_format
from tfrecord_lite.pipeline.sample import Box, Sample
from tfrecord_lite.tools.cli import main

NAMES = {0: "cat", 1: "dog"}


def boxes_job(root: Path, n: int = 10) -> tuple[Path, dict[str, tuple]]:
    """n images (JPEG and PNG) with integer boxes; returns the manifest and file name ->
    (width, height, [(class, x, y, w, h)])."""
    truth = {}
    lines = []
    for i in range(n):
        name = f"img{i:02d}.{'png' if i % 4 == 3 else 'jpg'}"
        width, height = 100 + i, 80
        make_image(root / "images" / name, width, height)
        boxes = [(i % 2, 3 + i, 4, 20, 10 + i)] + ([(1, 50, 30, 30, 40)] if i % 3 else [])
        if i == 0:
            boxes = []
        truth[name] = (width, height, boxes)
        lines.append(det_line(f"s3://b/images/{name}", boxes, NAMES, (width, height)))
    return write_manifest(root / "output.manifest", lines), truth


def records(out: Path, split: str = "*") -> list[dict[str, list]]:
    folders = {"train": "tfod_train", "val": "tfod_val", "*": "tfod_*"}
    return [decode_example(r) for p in sorted(out.glob(f"{folders[split]}/*.tfrecord"))
            for r in tf_record_iterator(p)]


def f32(v: float) -> float:
    import struct

    return struct.unpack("<f", struct.pack("<f", v))[0]


def test_every_key_of_every_record(tmp_path: Path) -> None:
    manifest, truth = boxes_job(tmp_path / "job")
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-f", "tfod", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".tfrecord-lite-files", "dataset_info.yaml", "label_map.pbtxt", "tfod_train", "tfod_val"]
    assert [p.name for p in (out / "tfod_train").iterdir()] == ["train-00000-of-00001.tfrecord"]
    assert [p.name for p in (out / "tfod_val").iterdir()] == ["val-00000-of-00001.tfrecord"]
    got = records(out)
    assert len(got) == len(truth)
    order = sorted(truth)  # the manifest's order: source_id counts from 1 in it
    for f in got:
        assert set(f) == set(tfod_format.SCHEMA)
        name = f["image/filename"][0].decode()
        width, height, boxes = truth[name]
        image = f["image/encoded"][0]
        assert image == (tmp_path / "job" / "images" / name).read_bytes()
        assert f["image/format"] == [b"png" if name.endswith(".png") else b"jpeg"]
        assert f["image/key/sha256"] == [hashlib.sha256(image).hexdigest().encode()]
        assert f["image/source_id"] == [str(order.index(name) + 1).encode()]
        assert (f["image/width"], f["image/height"]) == ([width], [height])
        assert f["image/object/class/label"] == [c + 1 for c, *_ in boxes]
        assert f["image/object/class/text"] == [NAMES[c].encode() for c, *_ in boxes]
        assert f["image/object/bbox/xmin"] == [f32(x / width) for _, x, _, _, _ in boxes]
        assert f["image/object/bbox/xmax"] == pytest.approx(
            [(x + w) / width for _, x, _, w, _ in boxes], abs=1e-6)
        assert f["image/object/bbox/ymin"] == pytest.approx(
            [y / height for _, _, y, _, _ in boxes], abs=1e-6)
        assert f["image/object/bbox/ymax"] == pytest.approx(
            [(y + h) / height for _, _, y, _, h in boxes], abs=1e-6)
        assert f["image/object/area"] == pytest.approx([w * h for *_, w, h in boxes], rel=1e-6)
        assert f["image/object/is_crowd"] == f["image/object/difficult"] == [0] * len(boxes)
    text = (out / "label_map.pbtxt").read_text()
    assert text == "item {\n  id: 1\n  name: 'cat'\n}\nitem {\n  id: 2\n  name: 'dog'\n}\n"
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["classes"] == ["cat", "dog"] and "type" not in info
    assert info["tfrecord_lite"]["format"] == "tfod"
    assert info["tfrecord_lite"]["label_map"] == "label_map.pbtxt"
    assert info["train"]["samples"] + info["validation"]["samples"] == len(truth)
    assert main(["verify", str(out)]) == 0


def test_shards_workers_and_the_python_call_agree(tmp_path: Path) -> None:
    manifest, truth = boxes_job(tmp_path / "job", n=40)
    one = tmp_path / "one"
    result = tfrecord_lite.convert(manifest, one, format="tfod", partition_mb=0.01, workers=1)
    shards = sorted(p.name for p in (one / "tfod_train").iterdir())
    assert len(shards) > 2 and shards[0] == f"train-00000-of-{len(shards):05d}.tfrecord"
    assert result.splits["train"].samples == len(records(one, "train"))
    two = tmp_path / "two"
    tfrecord_lite.convert(manifest, two, format="tfod", partition_mb=0.01, workers=2)
    for p in sorted(one.glob("tfod_*/*.tfrecord")):
        assert (two / p.relative_to(one)).read_bytes() == p.read_bytes()
    assert len(records(two)) == len(truth)


def test_the_encoder_gives_protobufs_bytes_and_the_flags(tmp_path: Path) -> None:
    """Crowd and difficult per box, a box over the edge clamped; the bytes are those of
    encode_example (protobuf's deterministic order)."""
    image = (tmp_path / "a.png")
    make_image(image, 40, 20)
    data = image.read_bytes()
    sample = Sample("s3://b/a.png", 1, "a.png", 40, 20, image.read_bytes,
                    (Box(1, 0.5, 0.5, 0.5, 0.5), Box(0, 0.05, 0.9, 0.2, 0.3)),
                    crowd=(True, False), difficult=(False, True))
    record = tfod_format.encode_record(sample, data, 7, ["a", "b"])
    f = decode_example(record)
    assert f["image/object/is_crowd"] == [1, 0] and f["image/object/difficult"] == [0, 1]
    assert f["image/object/bbox/xmin"] == [0.25, 0.0]
    assert f["image/object/bbox/ymax"] == [0.75, 1.0]
    assert f["image/object/class/label"] == [2, 1] and f["image/source_id"] == [b"7"]
    assert f["image/object/area"] == [200.0, f32(8 * 6)]
    assert f["image/format"] == [b"png"]
    typed = {k: tfrecord_lite.FloatValues(v) if tfod_format.SCHEMA[k] is float else v
             for k, v in f.items()}
    assert tfrecord_lite.encode_example(typed) == record


def seg_job(root: Path) -> Path:
    """Two images with palette masks: three regions (two of class 'road', apart) and a
    background; the mask's keys 1 = road, 2 = car."""
    lines = []
    for i in range(2):
        make_image(root / f"im{i}.jpg", 32, 24)
        mask = Image.new("P", (32, 24), 0)
        mask.paste(1, (2, 3, 10, 9))  # road, 8 x 6
        mask.paste(1, (20, 15, 30, 20))  # road again, 10 x 5, not touching
        mask.paste(2, (12, 2 + i, 16, 12))  # car, 4 x (10 - i)
        mask.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
        mask.save(root / f"m{i}.png")
        lines.append(seg_line(f"s3://b/im{i}.jpg", f"s3://b/m{i}.png",
                              {0: ("BACKGROUND", "#000000"), 1: ("road", "#ff0000"),
                               2: ("car", "#00ff00")}))
    return write_manifest(root / "output.manifest", lines)


def test_segmentation_regions_become_objects_with_masks(tmp_path: Path) -> None:
    manifest = seg_job(tmp_path / "job")
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-i", str(tmp_path / "job"), "-o", str(out),
                 "-f", "tfod", "--masks", "--split", "0.5", "-q"]) == 0
    labels = tfod_format.read_label_map((out / "label_map.pbtxt").read_text())
    assert sorted(labels.values()) == ["car", "road"]
    got = records(out)
    assert len(got) == 2
    for f in got:
        i = int(f["image/filename"][0].decode()[2])
        names = [labels[k] for k in f["image/object/class/label"]]
        assert [t.decode() for t in f["image/object/class/text"]] == names
        expected = {"road": [(2, 3, 10, 9), (20, 15, 30, 20)], "car": [(12, 2 + i, 16, 12)]}
        found: dict[str, list] = {}
        for k, name in enumerate(names):
            box = (round(f["image/object/bbox/xmin"][k] * 32),
                   round(f["image/object/bbox/ymin"][k] * 24),
                   round(f["image/object/bbox/xmax"][k] * 32),
                   round(f["image/object/bbox/ymax"][k] * 24))
            found.setdefault(name, []).append(box)
            x0, y0, x1, y1 = box
            assert f["image/object/area"][k] == (x1 - x0) * (y1 - y0)
            with Image.open(io.BytesIO(f["image/object/mask"][k])) as m:
                assert m.format == "PNG" and m.size == (32, 24) and m.mode == "L"
                pixels = m.tobytes()
            inside = {(x, y) for y in range(y0, y1) for x in range(x0, x1)}
            assert {(j % 32, j // 32) for j, v in enumerate(pixels) if v} == inside
            assert set(pixels) == {0, 1}
        assert {k: sorted(v) for k, v in found.items()} == expected


def test_box_masks_without_a_segmentation_mask(tmp_path: Path) -> None:
    manifest, truth = boxes_job(tmp_path / "job", n=4)
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-f", "tfod", "--masks",
                 "-q"]) == 0
    for f in records(out):
        width, height, boxes = truth[f["image/filename"][0].decode()]
        assert len(f["image/object/mask"]) == len(boxes)
        for png, (_, x, y, w, h) in zip(f["image/object/mask"], boxes):
            with Image.open(io.BytesIO(png)) as m:
                assert m.size == (width, height)
                assert m.getbbox() == (x, y, x + w, y + h)
                assert sum(m.tobytes()) == w * h


def test_label_map_names_that_need_escapes(tmp_path: Path) -> None:
    classes = ["it's", 'say "hi"', "back\\slash", "new\nline", "ünï"]
    text = tfod_format.label_map_text(classes)
    assert tfod_format.read_label_map(text) == dict(enumerate(classes, 1))
    assert "name: 'it\\'s'" in text
    with pytest.raises(ValueError, match="not an item"):
        tfod_format.read_label_map("item { id: 1 display_name: 'x' }")


def test_refusals_are_one_line(tmp_path: Path, capsys) -> None:
    manifest, _ = boxes_job(tmp_path / "job", n=3)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "--masks"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--masks is an option of -f tfod" in err[0]
    with pytest.raises(ValueError, match="masks"):
        tfrecord_lite.convert(manifest, tmp_path / "p", format="coco", masks=True)
    assert not (tmp_path / "o").exists() and not (tmp_path / "p").exists()


def test_image_classification_jobs_are_refused(tmp_path: Path, capsys) -> None:
    make_image(tmp_path / "job" / "a.jpg", 20, 20)
    manifest = write_manifest(tmp_path / "job" / "output.manifest",
                              [cls_line("s3://b/a.jpg", 0, "x")])
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "-f", "tfod"]) != 0
    assert "-f tfod has no place for image-level labels" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_json_summary_names_the_folders(tmp_path: Path, capsys) -> None:
    manifest, truth = boxes_job(tmp_path / "job", n=5)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "-f", "tfod",
                 "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {s["folder"] for s in doc["splits"].values()} == {"tfod_train", "tfod_val"}
    assert sum(s["samples"] for s in doc["splits"].values()) == len(truth)


def test_verify_holds_records_to_the_tfod_contract(tmp_path: Path, capsys) -> None:
    manifest, _ = boxes_job(tmp_path / "job", n=4)
    out = tmp_path / "o"
    tfrecord_lite.convert(manifest, out, format="tfod", split=0.5)
    shard = next((out / "tfod_train").iterdir())
    good = decode_example(next(iter(tf_record_iterator(shard))))
    bad = {k: tfrecord_lite.FloatValues(v) if tfod_format.SCHEMA[k] is float else v
           for k, v in good.items()}
    bad["image/object/bbox/xmin"] = tfrecord_lite.FloatValues([0.9, -0.5])
    bad["image/object/bbox/xmax"] = tfrecord_lite.FloatValues([0.5, 0.2])
    bad["image/object/class/label"] = [3, 1]
    bad["image/object/class/text"] = [b"cat", b"dog"]
    bad["image/key/sha256"] = [b"0" * 64]
    bad["image/source_id"] = [b"img1"]
    with tfrecord_lite.TFRecordWriter(shard) as w:
        w.write(tfrecord_lite.encode_example(bad))
    (out / "label_map.pbtxt").write_text("item {\n  id: 1\n  name: 'cat'\n}\n")
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    said = capsys.readouterr().out
    for message in ("label_map.pbtxt holds {1: 'cat'} but classes give {1: 'cat', 2: 'dog'}",
                    "objects' features disagree on the number of objects",
                    "object 1 xmin -0.5 outside [0, 1]",
                    "object 0 xmin 0.9 above xmax 0.5",
                    "object 0 label 3 not in the label map",
                    "object 1 label 1 is 'cat' in the label map, class/text says 'dog'",
                    "image/key/sha256 is not the hash of image/encoded",
                    "image/source_id b'img1' is not a decimal number"):
        assert message in said
    (out / "label_map.pbtxt").unlink()
    assert main(["verify", str(out)]) == 1
    assert "no label_map.pbtxt" in capsys.readouterr().out


def test_verify_applies_the_object_detection_apis_split_rule_not_modelpacks(
        tmp_path: Path, capsys) -> None:
    """Evaluation is a job of its own in the OD API: no validation records is fine, no train
    records is not (ModelPack refuses either)."""
    manifest, _ = boxes_job(tmp_path / "job", n=4)
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-f", "tfod", "-s", "0",
                 "-q"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert main(["verify", str(out)]) == 0
    assert capsys.readouterr().out.startswith("OK: 4 records")
    out1 = tmp_path / "o1"
    assert main(["convert", "-a", str(manifest), "-o", str(out1), "-f", "tfod", "-s", "1",
                 "-q"]) == 0
    assert "--split 1 leaves train empty: the Object Detection API" in capsys.readouterr().err
    assert main(["verify", str(out1)]) == 1
    said = capsys.readouterr().out
    assert "split 'train' has no samples: the Object Detection API's train input" in said
    assert "ModelPack" not in said


def test_inspect_lists_the_tfod_keys(tmp_path: Path, capsys) -> None:
    manifest, _ = boxes_job(tmp_path / "job", n=4)
    out = tmp_path / "o"
    tfrecord_lite.convert(manifest, out, format="tfod", split=0.5)
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = capsys.readouterr().out
    assert "dataset, tfod format, 4 records" in text.splitlines()[0]
    for key in tfod_format.SCHEMA:
        assert key in text


def test_the_key_is_put_in_once_and_only_where_it_belongs(tmp_path: Path) -> None:
    image = tmp_path / "a.jpg"
    make_image(image, 8, 8)
    sample = Sample("s3://b/a.jpg", 1, "a.jpg", 8, 8, image.read_bytes, (Box(0, .5, .5, .5, .5),))
    data = image.read_bytes()
    _, suffix = tfod_format.record_parts(sample, len(data), data[:16], 1, ["a"])
    keyed = tfod_format.with_key(suffix, data)
    assert len(keyed) == len(suffix) and tfod_format.UNKEYED not in keyed
    with pytest.raises(ValueError, match="no image/key/sha256 left"):
        tfod_format.with_key(keyed, data)


def test_the_columns_of_boxes_are_the_objects_values(tmp_path: Path) -> None:
    """Boxes alone take a faster path than ``objects``; the values must not differ."""
    from tfrecord_lite.pipeline.formats.tfod_format import _box_columns
    from tfrecord_lite.pipeline.sample import Boxes

    boxes = Boxes([Box(2, 0.3, 0.41, 0.2, 0.33), Box(0, 0.95, 0.05, 0.2, 0.2),
                   Box(1, 1 / 3, 2 / 3, 1 / 7, 1 / 9)])
    sample = Sample("r", 1, "a.jpg", 641, 479, bytes, boxes, crowd=(False, True),
                    difficult=(True,))
    objs = tfod_format.objects(sample)
    assert _box_columns(sample) == (
        [o.class_index for o in objs], [o.area for o in objs], [o.xmax for o in objs],
        [o.xmin for o in objs], [o.ymax for o in objs], [o.ymin for o in objs],
        [int(o.difficult) for o in objs], [int(o.crowd) for o in objs])
    assert [int(o.crowd) for o in objs] == [0, 1, 0] and [o.difficult for o in objs] == [
        True, False, False]
