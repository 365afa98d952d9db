"""Pascal VOC folders as an input: 1-based boxes, difficult flags, ImageSets splits, classes by
name, and one error line for each kind of bad annotation."""

from __future__ import annotations

import json

import pytest
import yaml
from source_helpers import (
    CLASSES,
    Img,
    Obj,
    assert_sides,
    convert,
    dataset,
)
from source_helpers import write_voc as write

from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions
from tfrecord_lite.pipeline.sources import read_source


@pytest.mark.parametrize("named", ["root", "Annotations"])
def test_imagesets_split_and_boxes_are_kept(tmp_path, capsys, named):
    images = dataset(9)
    root = write(tmp_path / "voc", images)
    out = tmp_path / "out"
    target = root if named == "root" else root / "Annotations"
    assert convert("-a", target, "-o", out, "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["split_from_source"] and summary["images_without_objects"] == 1
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["classes"] == CLASSES and info["tfrecord_lite"]["input"] == "voc"
    assert_sides(out, images)


def test_difficult_and_truncated_mark_their_box_and_without_imagesets_every_file_is_read(
        tmp_path):
    images = [Img("a.jpg", 64, 48, "train", [Obj(2, 2, 2, 10, 10, difficult=True),
                                             Obj(0, 20, 20, 8, 8, truncated=True)]),
              Img("b.jpg", 64, 48, "val", [Obj(0, 1, 1, 5, 5)])]
    root = write(tmp_path, images, split=False)
    read = read_source("voc", root, ReadOptions(images_dir=root))
    assert read.classes == ["cat", "person"]  # the names used, sorted
    a, b = read.samples
    assert a.difficult == (True, False) and b.difficult == ()
    assert a.truncated == (False, True) and b.truncated == ()
    assert read.source_split is None


def test_only_the_listed_files_are_read(tmp_path):
    root = write(tmp_path, dataset(6))
    (root / "ImageSets" / "Main" / "val.txt").write_text("img02\n")  # img05 is in neither
    read = read_source("voc", root, ReadOptions(images_dir=root))
    assert sorted(s.name for s in read.samples) == ["img00.jpg", "img01.jpg", "img02.jpg",
                                                    "img03.jpg", "img04.jpg"]
    assert read.source_split == [s.name == "img02.jpg" for s in read.samples]


def _bad_run(tmp_path, capsys, change, *extra) -> tuple[int, str, str]:
    root = write(tmp_path / "voc", dataset(4))
    change(root)
    out = tmp_path / "out"
    code = convert("-a", root, "-o", out, *extra)
    printed = capsys.readouterr()
    if code:
        assert not out.exists()
    return code, printed.err, printed.out


def _edit(root, old, new, stem="img01"):
    path = root / "Annotations" / f"{stem}.xml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize("change, words", [
    (lambda r: _edit(r, "<xmin>6</xmin>", "<xmin>500</xmin>"), ["img01.xml", "object 1 (dog)",
                                                                "xmin <= xmax"]),
    (lambda r: _edit(r, "<xmin>6</xmin><ymin>6</ymin><xmax>26</xmax><ymax>19</ymax>",
                     "<xmin>90</xmin><ymin>6</ymin><xmax>95</xmax><ymax>19</ymax>"),
     ["img01.xml", "object 1 (dog)", "wholly outside"]),
    (lambda r: _edit(r, "</annotation>", ""), ["img01.xml", "not a readable XML"]),
    (lambda r: (r / "Annotations" / "img03.xml").unlink(), ["Main", "'img03' is listed"]),
    (lambda r: (r / "JPEGImages" / "img00.jpg").unlink(), ["img00.xml", "image not found"]),
])
def test_a_bad_annotation_is_one_line_naming_file_and_object(tmp_path, capsys, change, words):
    code, err, _ = _bad_run(tmp_path, capsys, change)
    assert code == 1
    assert err.count("\n") == 1 and "Traceback" not in err
    for word in words:
        assert word in err


def test_skip_invalid_leaves_the_bad_file_out(tmp_path, capsys):
    code, err, out = _bad_run(tmp_path, capsys,
                              lambda r: _edit(r, "<xmin>6</xmin>", "<xmin>500</xmin>"),
                              "--skip-invalid", "--json")
    assert code == 0 and err.count("skipped:") == 1
    summary = json.loads(out)
    assert summary["skipped"] == {"bad-box": 1}
    assert sum(s["samples"] for s in summary["splits"].values()) == 3


def test_a_dry_run_counts_entries_and_writes_nothing(tmp_path, capsys):
    code, _, out = _bad_run(tmp_path, capsys,
                            lambda r: _edit(r, "<xmin>6</xmin>", "<xmin>500</xmin>"),
                            "--dry-run")
    assert code == 1 and not (tmp_path / "out").exists()
    assert out.startswith("dry run: 4 entries, 3 images would be converted")
    assert "bad-box: 1" in out
