"""COCO instances JSON as an input: boxes, iscrowd, polygon and RLE masks, categories by id,
the source's split kept, and one error line for each kind of bad entry."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import yaml
from gt_helpers import make_image
from PIL import Image
from source_helpers import (
    CLASSES,
    Img,
    Obj,
    assert_boxes,
    assert_sides,
    convert,
    dataset,
    expected_boxes,
    records,
    stored_boxes,
)
from source_helpers import write_coco as write

from tfrecord_lite import decode_example, tf_record_iterator
from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions
from tfrecord_lite.pipeline.sources import read_source
from tfrecord_lite.pipeline.sources.common import decode_rle_string


def test_a_split_coco_dataset_keeps_its_sides_boxes_and_category_names(tmp_path, capsys):
    images = dataset(9)
    ann = write(tmp_path / "coco", images)
    out = tmp_path / "out"
    assert convert("--from", "coco", "-a", ann, "-o", out) == 0
    assert "split: the source's own train/val, kept" in capsys.readouterr().out
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["classes"] == CLASSES  # category ids 3, 7, 11 in id order
    assert info["tfrecord_lite"]["split"] == "source"
    assert info["tfrecord_lite"]["input"] == "coco"
    assert_sides(out, images)


def test_split_given_splits_anew_by_hash(tmp_path):
    ann = write(tmp_path / "coco", dataset(12))
    out = tmp_path / "out"
    assert convert("-a", ann, "-o", out, "-s", "0.5", "--seed", "3") == 0  # detected as COCO
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["tfrecord_lite"]["split"] == 0.5
    val = {r["image_name"][0].decode() for r in records(out / "tfrecord_val")}
    assert val != {im.name for im in dataset(12) if im.side == "val"}


def test_one_file_has_no_split_of_its_own_and_finds_its_images_beside_it(tmp_path):
    ann = write(tmp_path / "coco", dataset(10), split=False)
    out = tmp_path / "out"
    assert convert("-a", ann, "-o", out) == 0
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["tfrecord_lite"]["split"] == 0.2
    assert info["train"]["samples"] + info["validation"]["samples"] == 10


def _read(ann: Path, root: Path, **options):
    return read_source("coco", ann, ReadOptions(images_dir=root, **options))


def _doc(ann: Path) -> dict:
    return json.loads(ann.read_text())


def _rewrite(ann: Path, change) -> None:
    doc = _doc(ann)
    change(doc)
    ann.write_text(json.dumps(doc))


def test_iscrowd_marks_its_box_and_an_image_without_annotations_is_a_negative(tmp_path):
    images = [Img("a.jpg", 64, 48, "train", [Obj(0, 2, 2, 10, 10), Obj(1, 20, 20, 8, 8, True)]),
              Img("b.jpg", 64, 48, "train")]
    ann = write(tmp_path, images, split=False)
    read = _read(ann, tmp_path)
    a, b = read.samples
    assert a.crowd == (False, True) and a.difficult == ()
    assert b.boxes == () and b.crowd == ()
    assert read.report.negatives == 1 and read.source_split is None


def test_polygons_and_rle_become_the_class_index_mask(tmp_path):
    images = [Img("a.jpg", 6, 4, "train", [Obj(0, 0, 0, 2, 2), Obj(2, 3, 1, 2, 2)])]
    ann = write(tmp_path, images, split=False)

    def change(doc):
        doc["annotations"][0]["segmentation"] = [[0, 0, 2, 0, 2, 2, 0, 2]]
        # class 2 (id 11): rows 1-2 of column 4, as COCO's uncompressed run lengths
        doc["annotations"][1]["segmentation"] = {"size": [4, 6], "counts": [17, 2, 5]}

    _rewrite(ann, change)
    read_mask = _read(ann, tmp_path).samples[0].read_mask
    mask = Image.open(io.BytesIO(read_mask()))
    assert mask.mode == "L" and mask.size == (6, 4)
    assert read_mask.pixels() == mask.tobytes()  # what -f json traces, unencoded
    assert mask.getpixel((4, 1)) == mask.getpixel((4, 2)) == 3
    assert mask.getpixel((4, 0)) == mask.getpixel((4, 3)) == 0
    assert mask.getpixel((1, 1)) == 1 and mask.getpixel((5, 3)) == 0


@pytest.mark.parametrize("text, counts", [
    ("324", [3, 2, 4]),
    ("11104", [1, 1, 1, 1, 5]),  # from the fourth run on, each is the change to two before
    ("141M1", [1, 4, 1, 1, 2]),  # 'M': a negative change (-3)
    ("X1", [40]),  # a run over 31 spans two characters
])
def test_compressed_rle_strings_decode_as_coco_writes_them(text, counts):
    assert decode_rle_string(text) == counts


def _bad_run(tmp_path, capsys, change, *extra) -> tuple[int, str, str]:
    ann = write(tmp_path / "coco", dataset(4), split=False)
    _rewrite(ann, change)
    out = tmp_path / "out"
    code = convert("-a", ann, "-o", out, *extra)
    printed = capsys.readouterr()
    if code:
        assert not out.exists()
    return code, printed.err, printed.out


def _move_box(doc, n, bbox):
    doc["annotations"][n]["bbox"] = bbox


@pytest.mark.parametrize("change, words", [
    (lambda d: _move_box(d, 1, [100, 5, 10, 10]), ["annotations[1] (id 2)", "wholly outside"]),
    (lambda d: d["annotations"][2].update(category_id=99), ["annotations[2] (id 3)",
                                                            "unknown category id 99"]),
    (lambda d: d["annotations"][0].update(image_id=42), ["annotations[0] (id 1)",
                                                         "image id 42 is not in 'images'"]),
    (lambda d: _move_box(d, 0, [1, 2, -3, 4]), ["annotations[0]", "bbox"]),
    (lambda d: d["images"][3].update(file_name="gone.jpg"), ["image not found", "gone.jpg"]),
])
def test_a_bad_entry_is_one_line_naming_file_and_entry(tmp_path, capsys, change, words):
    code, err, _ = _bad_run(tmp_path, capsys, change)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "instances_default.json" in err
    for word in words:
        assert word in err


def test_skip_invalid_leaves_the_bad_image_out_and_counts_it(tmp_path, capsys):
    code, err, out = _bad_run(tmp_path, capsys, lambda d: _move_box(d, 1, [100, 5, 10, 10]),
                              "--skip-invalid", "--json")
    assert code == 0 and err.count("skipped:") == 1 and "wholly outside" in err
    summary = json.loads(out)
    assert summary["skipped"] == {"box-outside": 1}
    assert sum(s["samples"] for s in summary["splits"].values()) == 3


def test_a_box_partly_outside_is_clipped_and_counted(tmp_path, capsys):
    ann = write(tmp_path / "coco", dataset(4), split=False)
    _rewrite(ann, lambda d: _move_box(d, 0, [50, 40, 30, 30]))  # image 0 is 64x48
    out = tmp_path / "out"
    assert convert("-a", ann, "-o", out, "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["fixes"]["boxes clipped to the image"] == 1
    recs = records(out / "tfrecord_train") + records(out / "tfrecord_val")
    rec = next(r for r in recs if r["image_name"][0] == b"img00.jpg")
    cx, cy, w, h = rec["bboxes"][:4]
    assert (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2) == \
        pytest.approx((50 / 64, 40 / 48, 1.0, 1.0))


def test_a_folder_whose_files_cannot_be_told_apart_is_one_error(tmp_path, capsys):
    ann = write(tmp_path / "coco", dataset(4))
    (ann / "instances_val.json").rename(ann / "extra.json")
    assert convert("--from", "coco", "-a", ann, "-o", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot tell the COCO files" in err


@pytest.mark.parametrize("declared, size, frame", [
    ((64, 48), (64, 48), "exif_raw_frame"),  # the size as stored: labels on the raw pixels
    ((48, 64), (48, 64), "exif_upright_frame"),  # the rotated size: labels on the upright view
    (None, (48, 64), "exif_upright_frame"),  # no size: the upright view, as tools show it
])
def test_an_exif_rotated_image_is_taken_in_the_frame_its_size_names(tmp_path, declared, size,
                                                                    frame):
    ann = write(tmp_path, [Img("a.jpg", 64, 48, "train", [Obj(0, 2, 2, 10, 10)])], split=False)
    make_image(tmp_path / "images" / "default" / "a.jpg", 64, 48, exif_orientation=6)

    def change(doc):
        if declared is None:
            del doc["images"][0]["width"], doc["images"][0]["height"]
        else:
            doc["images"][0]["width"], doc["images"][0]["height"] = declared

    _rewrite(ann, change)
    read = _read(ann, tmp_path)
    sample = read.samples[0]
    assert (sample.width, sample.height) == size
    assert getattr(read.report, frame) == 1
    with Image.open(io.BytesIO(sample.read_image())) as image:
        assert image.size == size  # the bytes stored show the frame the boxes were drawn on


def test_a_classes_file_orders_the_classes_and_refuses_others(tmp_path, capsys):
    ann = write(tmp_path / "coco", dataset(4), split=False)
    classes = tmp_path / "classes.txt"
    classes.write_text("person\ndog\ncat\nbird\n")
    out = tmp_path / "out"
    assert convert("-a", ann, "-o", out, "--classes", classes, "-q") == 0
    assert yaml.safe_load((out / "dataset_info.yaml").read_text())["classes"] == \
        ["person", "dog", "cat", "bird"]
    recs = records(out / "tfrecord_train") + records(out / "tfrecord_val")
    img = dataset(4)[0]
    rec = next(r for r in recs if r["image_name"][0] == b"img00.jpg")
    assert_boxes(stored_boxes(rec, ["person", "dog", "cat", "bird"]), expected_boxes(img))
    classes.write_text("cat\nperson\n")
    assert convert("-a", ann, "-o", tmp_path / "out2", "--classes", classes) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'dog' is not in the classes file" in err


def test_segmentation_reaches_the_json_output_as_polygons(tmp_path):
    ann = write(tmp_path / "coco", dataset(3), split=False)
    out = tmp_path / "out"
    assert convert("-a", ann, "-o", out, "-f", "json", "-q") == 0
    docs = {p.stem: json.loads(p.read_text()) for p in out.rglob("img*.json")}
    img = dataset(3)[1]  # 80x60, a dog and a person
    segments = docs["img01"]["segment"]
    assert sorted(s["class"] for s in segments) == sorted(o.cls for o in img.objects)
    for seg in segments:
        o = next(o for o in img.objects if o.cls == seg["class"])
        xs = [x * img.width for x, _ in seg["polygon"]]
        ys = [y * img.height for _, y in seg["polygon"]]
        assert min(xs) == pytest.approx(o.x, abs=1) and max(xs) == pytest.approx(o.x + o.w, abs=1)
        assert min(ys) == pytest.approx(o.y, abs=1) and max(ys) == pytest.approx(o.y + o.h, abs=1)
    assert docs["img02"]["segment"] == [] and docs["img02"]["boxes"] == []


def test_coco_s_own_layout_finds_each_split_s_image_in_its_folder(tmp_path):
    """annotations/instances_{train,val}2017.json with train2017/ and val2017/ beside: the same
    file name in both splits is two images, each found in its split's folder."""
    for side, size in (("train2017", (64, 48)), ("val2017", (80, 60))):
        make_image(tmp_path / side / "000001.jpg", *size)
        doc = {"images": [{"id": 1, "file_name": "000001.jpg", "width": size[0],
                           "height": size[1]}],
               "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                                "bbox": [1, 2, 30, 20]}],
               "categories": [{"id": 1, "name": "cat"}]}
        (tmp_path / "annotations").mkdir(exist_ok=True)
        (tmp_path / "annotations" / f"instances_{side}.json").write_text(json.dumps(doc))
    read = _read(tmp_path / "annotations", tmp_path)
    assert [(s.width, s.height) for s in read.samples] == [(64, 48), (80, 60)]
    assert read.source_split == [False, True]
    assert sorted(s.name for s in read.samples) == ["train2017_000001.jpg", "val2017_000001.jpg"]


def test_iscrowd_survives_a_conversion_to_coco(tmp_path):
    images = [Img("a.jpg", 64, 48, "train", [Obj(0, 2, 2, 10, 10), Obj(1, 20, 20, 8, 8, True)]),
              Img("b.jpg", 64, 48, "train", [Obj(2, 5, 5, 9, 9)])]
    ann = write(tmp_path / "coco", images, split=False, segments=False)
    out = tmp_path / "out"
    assert convert("-a", ann, "-o", out, "-f", "coco", "-s", "0", "-q") == 0
    doc = json.loads((out / "annotations" / "instances_train.json").read_text())
    names = {c["id"]: c["name"] for c in doc["categories"]}
    assert sorted((names[a["category_id"]], a["iscrowd"]) for a in doc["annotations"]) == \
        [("cat", 0), ("dog", 1), ("person", 0)]


def test_segmented_objects_come_back_one_each_from_coco_to_coco_and_tfod(tmp_path):
    """A COCO source's mask paints its boxes' own objects: -f coco writes each annotation once,
    with its polygon, and -f tfod one object per annotation (regions were written as more)."""
    images = [Img("a.jpg", 64, 48, "train", [Obj(0, 2, 2, 10, 10), Obj(1, 20, 20, 8, 8)]),
              Img("b.jpg", 64, 48, "train", [Obj(2, 5, 5, 9, 9), Obj(2, 30, 5, 9, 9)])]
    ann = write(tmp_path / "coco", images, split=False)
    out = tmp_path / "out"
    assert convert("-a", ann, "-o", out, "-f", "coco", "-s", "0", "-q") == 0
    doc = json.loads((out / "annotations" / "instances_train.json").read_text())
    source = _doc(ann)
    assert len(doc["annotations"]) == len(source["annotations"]) == 4
    assert [(a["bbox"], a["segmentation"]) for a in doc["annotations"]] == \
        [([float(v) for v in a["bbox"]], [[float(v) for v in a["segmentation"][0]]])
         for a in source["annotations"]]
    for masks in ((), ("--masks",)):
        tfod = tmp_path / f"tfod{len(masks)}"
        assert convert("-a", ann, "-o", tfod, "-f", "tfod", "-s", "0", "-q", *masks) == 0
        recs = [decode_example(r) for p in sorted((tfod / "tfod_train").glob("*.tfrecord"))
                for r in tf_record_iterator(p)]
        assert sorted(len(r["image/object/class/label"]) for r in recs) == [2, 2]
        assert sorted(a for r in recs for a in r["image/object/area"]) == [64.0, 81.0, 81.0,
                                                                          100.0]
