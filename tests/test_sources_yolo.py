"""YOLO / Ultralytics folders as an input: data.yaml names (list or dict), train/val kept,
box and polygon rows, negatives counted, and one error line for each kind of bad label."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from PIL import Image
from source_helpers import (
    CLASSES,
    assert_sides,
    convert,
    dataset,
    draw,
)
from source_helpers import write_yolo as write

from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions
from tfrecord_lite.pipeline.sources import read_source


@pytest.mark.parametrize("as_dict", [False, True])
def test_train_and_val_are_kept_with_their_boxes(tmp_path, capsys, as_dict):
    images = dataset(9)
    config = write(tmp_path / "yolo", images, names_as_dict=as_dict)
    out = tmp_path / "out"
    assert convert("-a", config.parent, "-o", out, "--json") == 0  # the folder, detected
    summary = json.loads(capsys.readouterr().out)
    assert summary["split_from_source"] and summary["images_without_objects"] == 1
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["classes"] == CLASSES and info["tfrecord_lite"]["input"] == "yolo"
    assert_sides(out, images)


def test_a_polygon_row_gives_its_bounds_as_box_and_paints_the_mask(tmp_path):
    config = write(tmp_path, dataset(3))
    label = tmp_path / "labels" / "train" / "img00.txt"
    label.write_text("1 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75\n")  # image 0 is 64x48
    read = read_source("yolo", config, ReadOptions(images_dir=tmp_path))
    sample = next(s for s in read.samples if s.name == "img00.jpg")
    assert [tuple(b) for b in sample.boxes] == [(1, 0.5, 0.5, 0.5, 0.5)]
    mask = Image.open(io.BytesIO(sample.read_mask()))
    assert mask.getpixel((32, 24)) == 2 and mask.getpixel((4, 4)) == 0


def test_a_polygon_row_is_one_coco_annotation_with_its_polygon(tmp_path):
    """The row's mask belongs to its box: -f coco writes the object once (the mask's region
    used to become a second annotation)."""
    config = write(tmp_path / "yolo", dataset(3))
    label = tmp_path / "yolo" / "labels" / "train" / "img00.txt"
    label.write_text("1 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75\n")  # image 0 is 64x48
    out = tmp_path / "out"
    assert convert("-a", config, "-o", out, "-f", "coco", "-q") == 0
    doc = json.loads((out / "annotations" / "instances_train.json").read_text())
    (image,) = [im for im in doc["images"] if im["file_name"] == "img00.jpg"]
    (ann,) = [a for a in doc["annotations"] if a["image_id"] == image["id"]]
    assert ann["bbox"] == [16.0, 12.0, 32.0, 24.0] and ann["category_id"] == 2
    assert ann["segmentation"] == [[16.0, 12.0, 48.0, 12.0, 48.0, 36.0, 16.0, 36.0]]


def test_a_list_file_as_split_and_the_same_list_for_both_means_no_split(tmp_path):
    config = write(tmp_path, dataset(6))
    listing = tmp_path / "all.txt"
    listing.write_text("".join(f"./images/{p.parent.name}/{p.name}\n"
                               for p in sorted((tmp_path / "images").rglob("*.jpg"))))
    config.write_text(yaml.safe_dump({"train": "all.txt", "val": "all.txt", "names": CLASSES}))
    read = read_source("yolo", config, ReadOptions(images_dir=tmp_path))
    assert len(read.samples) == 6 and read.source_split is None


def _bad_run(tmp_path, capsys, change, *extra) -> tuple[int, str, str]:
    config = write(tmp_path / "yolo", dataset(4))
    change(config.parent)
    out = tmp_path / "out"
    code = convert("-a", config, "-o", out, *extra)
    printed = capsys.readouterr()
    if code:
        assert not out.exists()
    return code, printed.err, printed.out


def _label(root, text, stem="img01", side="train"):
    (root / "labels" / side / f"{stem}.txt").write_text(text)


@pytest.mark.parametrize("change, words", [
    (lambda r: _label(r, "0 0.5 0.5 0.2 0.2\n2 1.5 1.5 0.1 0.1\n"),
     ["img01.txt:2", "wholly outside"]),
    (lambda r: _label(r, "7 0.5 0.5 0.2 0.2\n"), ["img01.txt:1", "unknown class id 7"]),
    (lambda r: _label(r, "0 0.5 0.5\n"), ["img01.txt:1", "neither a box"]),
    (lambda r: _label(r, "0 0.5 x 0.2 0.2\n"), ["img01.txt:1", "not a number"]),
    (lambda r: _label(r, "0 0.5 0.5 0.2 0.2\n", stem="ghost"),
     ["ghost.txt", "label file without its image"]),
    (lambda r: (r / "data.yaml").write_text("names: [a, b]\nnc: 3\ntrain: images/train\n"),
     ["data.yaml", "nc is 3"]),
    (lambda r: (r / "data.yaml").write_text("names: [a\n"), ["data.yaml", "not YAML"]),
])
def test_a_bad_label_is_one_line_naming_file_and_line(tmp_path, capsys, change, words):
    code, err, _ = _bad_run(tmp_path, capsys, change)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err


def test_skip_invalid_counts_a_label_without_its_image(tmp_path, capsys):
    code, err, out = _bad_run(tmp_path, capsys, lambda r: _label(r, "0 .5 .5 .1 .1\n", "ghost"),
                              "--skip-invalid", "--json")
    assert code == 0 and err.count("skipped:") == 1
    summary = json.loads(out)
    assert summary["skipped"] == {"label-without-image": 1}
    assert sum(s["samples"] for s in summary["splits"].values()) == 4


def test_a_box_partly_outside_is_clipped_and_counted(tmp_path, capsys):
    def change(root):
        _label(root, "0 0.95 0.5 0.2 0.2\n")

    code, _, out = _bad_run(tmp_path, capsys, change, "--json")
    assert code == 0
    assert json.loads(out)["fixes"]["boxes clipped to the image"] == 1


def test_a_roboflow_layout_with_path_and_names_dict_reads(tmp_path):
    """``train/images`` + ``train/labels`` (Roboflow's export), ``path:`` pointing elsewhere,
    data.yaml outside the dataset."""
    images = dataset(6)
    data = tmp_path / "data"
    for im in images:
        side = "valid" if im.side == "val" else "train"
        draw(data / side / "images" / im.name, im)
        rows = "".join(f"{o.cls} {(o.x + o.w / 2) / im.width} {(o.y + o.h / 2) / im.height} "
                       f"{o.w / im.width} {o.h / im.height}\n" for o in im.objects)
        label = data / side / "labels" / (im.name[:-4] + ".txt")
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text(rows)
    config = tmp_path / "configs" / "mine.yaml"
    config.parent.mkdir()
    config.write_text(f"path: {data}\ntrain: train/images\nval: valid/images\nnc: 3\n"
                      "names:\n  0: cat\n  1: dog\n  2: person\n")
    out = tmp_path / "out"
    assert convert("--from", "yolo", "-a", config, "-o", out, "-q") == 0
    assert_sides(out, images)


def test_a_dataset_written_inside_an_images_folder_is_not_read_back(tmp_path):
    """-o inside the job's folders is allowed (issue 27); a darknet dataset holds images, and
    one written into images/train must not become training images of the next run."""
    config = write(tmp_path / "yolo", dataset(6))
    out = tmp_path / "yolo" / "images" / "train" / "dataset"
    assert convert("-a", config, "-o", out, "-f", "darknet", "-q") == 0
    first = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert any(p.suffix == ".jpg" for p in first)
    assert convert("-a", config, "-o", out, "-f", "darknet", "-q", "--overwrite") == 0
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
