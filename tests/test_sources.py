"""The inputs together: which one ``-a`` names (``detect``), and every input written as every
output format with the same images, boxes and sides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from gt_helpers import det_line, make_image, write_manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from source_helpers import (
    CLASSES,
    assert_boxes,
    dataset,
    expected_boxes,
    records,
    stored_boxes,
    write_coco,
    write_voc,
    write_yolo,
)

from tfrecord_lite.pipeline.errors import InputError
from tfrecord_lite.pipeline.formats.darknet_format import read_labels
from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions
from tfrecord_lite.pipeline.sources import detect, read_source
from tfrecord_lite.tools.cli import main

WRITERS = {"coco": write_coco, "yolo": write_yolo, "voc": write_voc}


def run(*args) -> int:
    return main(["convert", *map(str, args)])


def test_each_layout_is_told_apart(tmp_path):
    assert detect(write_coco(tmp_path / "c", dataset(3))) == "coco"  # a folder of files
    assert detect(write_coco(tmp_path / "c1", dataset(3), split=False)) == "coco"
    config = write_yolo(tmp_path / "y", dataset(3))
    assert detect(config) == "yolo" and detect(config.parent) == "yolo"
    root = write_voc(tmp_path / "v", dataset(3))
    assert detect(root) == "voc" and detect(root / "Annotations") == "voc"
    make_image(tmp_path / "g" / "a.jpg", 64, 48)
    manifest = write_manifest(tmp_path / "g" / "output.manifest", [
        det_line("s3://b/a.jpg", [(0, 1, 1, 5, 5)], {0: "cat"})])
    assert detect(manifest) == "groundtruth"
    (tmp_path / "notes.txt").write_text("hello\n")
    assert detect(tmp_path / "notes.txt") == "groundtruth"  # its reader names the bad line


def test_a_folder_of_two_layouts_is_one_error_asking_for_from(tmp_path, capsys):
    root = write_voc(tmp_path / "both", dataset(3))
    write_yolo(root, dataset(3))
    with pytest.raises(InputError, match="could be voc or yolo"):
        detect(root)
    assert run("-a", root, "-o", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pass --from" in err and str(root) in err
    assert run("--from", "voc", "-a", root, "-o", tmp_path / "out", "-q") == 0


def test_a_folder_of_no_layout_is_one_error_asking_for_from(tmp_path, capsys):
    (tmp_path / "plain").mkdir()
    assert run("-a", tmp_path / "plain", "-o", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an input tfrecord-lite recognises" in err
    assert "pass --from" in err


def test_beam_and_s3_inputs_stay_with_ground_truth(tmp_path, capsys):
    """(An s3:// output of these inputs: tests/test_s3store.py.)"""
    config = write_yolo(tmp_path / "y", dataset(3))
    assert run("--from", "yolo", "-a", config, "-o", tmp_path / "o", "--engine", "beam") == 2
    assert "--engine beam reads Ground Truth manifests only" in capsys.readouterr().err
    assert run("--from", "yolo", "-a", "s3://bucket/data.yaml", "-o", tmp_path / "o") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "s3:// inputs go with Ground Truth manifests" in err
    assert run("--from", "coco", "-a", write_coco(tmp_path / "c", dataset(3)), "-i",
               "s3://bucket/images", "-o", tmp_path / "o") == 2
    assert "copy the dataset here first" in capsys.readouterr().err


def _read_back(out: Path, fmt: str) -> dict[str, tuple[str, list]]:
    """Each image of a written dataset (by stem): its side and its boxes (name, cx, cy, w, h)."""
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    classes = info["classes"]
    found = {}
    for side, key in (("train", "train"), ("val", "validation")):
        folder = Path(info[key].get("path") or info[key]["images"])
        if fmt == "tfrecord":
            for rec in records(folder):
                stem = rec["image_name"][0].decode().rsplit(".", 1)[0]
                found[stem] = (side, stored_boxes(rec, classes))
        elif fmt == "json":
            for doc_path in folder.glob("*.json"):
                doc = json.loads(doc_path.read_text())
                found[doc_path.stem] = (side, sorted((classes[int(b[4])], *b[:4])
                                                     for b in doc["boxes"]))
        elif fmt == "darknet":
            for txt in folder.glob("*.txt"):
                found[txt.stem] = (side, sorted((classes[k], *v)
                                                for k, *v in read_labels(txt)))
        else:  # coco: every annotation (a source's segmentation rides on its own box's)
            doc = json.loads((out / info[key]["annotations"]).read_text())
            names = {c["id"]: c["name"] for c in doc["categories"]}
            for im in doc["images"]:
                w, h = im["width"], im["height"]
                boxes = sorted((names[a["category_id"]], (a["bbox"][0] + a["bbox"][2] / 2) / w,
                                (a["bbox"][1] + a["bbox"][3] / 2) / h, a["bbox"][2] / w,
                                a["bbox"][3] / h) for a in doc["annotations"]
                               if a["image_id"] == im["id"])
                found[im["file_name"].rsplit(".", 1)[0]] = (side, boxes)
    return found


@pytest.mark.parametrize("fmt", ["tfrecord", "json", "darknet", "coco"])
@pytest.mark.parametrize("source", sorted(WRITERS))
def test_every_input_goes_to_every_output_format(tmp_path, source, fmt):
    images = dataset(7)
    target = WRITERS[source](tmp_path / "in", images)
    out = tmp_path / "out"
    assert run("-a", target, "-o", out, "-f", fmt, "-q") == 0
    found = _read_back(out, fmt)
    assert sorted(found) == sorted(im.name.rsplit(".", 1)[0] for im in images)
    for im in images:
        side, boxes = found[im.name.rsplit(".", 1)[0]]
        assert side == im.side
        # darknet and coco write six / a few decimals; YOLO's input has six
        assert_boxes(boxes, expected_boxes(im), tol=2e-6)
    assert yaml.safe_load((out / "dataset_info.yaml").read_text())["classes"] == CLASSES


def test_a_coco_output_reads_back_as_the_same_dataset(tmp_path):
    """COCO in, COCO out, COCO in again: the same images, sides and boxes, segmentation and
    all (the mask's regions were once written as annotations of their own, so twice the
    objects came back)."""
    out, again = tmp_path / "out", tmp_path / "again"
    assert run("-a", write_coco(tmp_path / "in", dataset(7)), "-o", out, "-f", "coco",
               "-q") == 0
    assert run("--from", "coco", "-a", out / "annotations", "-i", out, "-o", again,
               "-q") == 0
    first = _read_back(out, "coco")
    second = _read_back(again, "tfrecord")
    assert sorted(first) == sorted(second)
    for stem, (side, boxes) in first.items():
        assert second[stem][0] == side
        assert_boxes(second[stem][1], boxes, tol=1e-6)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats()
                    | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=6)
                    | st.dictionaries(st.sampled_from(["id", "size", "counts", "name", "x"]),
                                      inner, max_size=4), max_leaves=12)
_FIELDS = [("images", "id"), ("images", "file_name"), ("images", "width"),
           ("annotations", "bbox"), ("annotations", "segmentation"),
           ("annotations", "category_id"), ("annotations", "image_id"),
           ("annotations", "iscrowd"), ("categories", "id"), ("categories", "name")]


def _only_input_errors(read) -> None:
    """A bad entry is an InputError (one line), never another exception (a traceback)."""
    try:
        read()
    except InputError as error:
        assert "\n" not in str(error)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(_FIELDS), n=st.integers(0, 5), value=JSON)
def test_any_value_in_a_coco_file_is_read_or_one_error(tmp_path, field, n, value):
    ann = write_coco(tmp_path / "c", dataset(3), split=False)
    doc = json.loads(ann.read_text())
    entries = doc[field[0]]
    entries[n % len(entries)][field[1]] = value
    ann.write_text(json.dumps(doc))
    _only_input_errors(lambda: read_source("coco", ann, ReadOptions(images_dir=tmp_path / "c")))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label=st.text(alphabet="0123456789 .-e\nnaif", max_size=40),
       names=st.sampled_from([None, "[a, b, c]", "{0: a, 2: b}", "[]", "a", "{x: 1}",
                              "[a, a]"]))
def test_any_yolo_label_or_names_is_read_or_one_error(tmp_path, label, names):
    config = write_yolo(tmp_path / "y", dataset(3))
    (tmp_path / "y" / "labels" / "train" / "img00.txt").write_text(label)
    if names is not None:
        config.write_text(f"path: .\ntrain: images/train\nval: images/val\nnames: {names}\n")
    _only_input_errors(lambda: read_source("yolo", config, ReadOptions(images_dir=config.parent)))


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tag=st.sampled_from(["xmin", "ymax", "name", "width", "difficult", "filename"]),
       value=st.text(alphabet="0123456789.-e<>&x ", max_size=8))
def test_any_voc_value_is_read_or_one_error(tmp_path, tag, value):
    root = write_voc(tmp_path / "v", dataset(3))
    xml = root / "Annotations" / "img00.xml"
    text = xml.read_text()
    start, end = text.index(f"<{tag}>") + len(tag) + 2, text.index(f"</{tag}>")
    xml.write_text(text[:start] + value + text[end:])
    _only_input_errors(lambda: read_source("voc", root, ReadOptions(images_dir=root)))


def test_the_python_call_takes_input_and_keeps_a_split_unless_given(tmp_path):
    import tfrecord_lite

    config = write_yolo(tmp_path / "y", dataset(9))
    kept = tfrecord_lite.convert(config, tmp_path / "a")
    assert kept.source_split and kept.splits["validation"].samples == 3
    hashed = tfrecord_lite.convert(config, tmp_path / "b", input="yolo", split=0.0)
    assert not hashed.source_split and hashed.splits["validation"].samples == 0
    with pytest.raises(ValueError, match="input must be one of"):
        tfrecord_lite.convert(config, tmp_path / "c", input="labelme")
    with pytest.raises(ValueError, match="Ground Truth manifests only"):
        tfrecord_lite.convert(config, tmp_path / "d", engine="beam")
