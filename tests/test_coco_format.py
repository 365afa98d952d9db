"""-f coco through the CLI: the extracted COCO layout, boxes in pixels equal to the manifest's,
tags on images, and everything the other formats promise (dataset.coco_format)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from gt_helpers import cls_line, det_line, make_image, write_manifest

from tfrecord_lite.tools.cli import main


def boxes_job(root: Path, n: int = 10) -> tuple[Path, dict[str, list[tuple]]]:
    """n images with integer boxes; returns the manifest and file name -> (class, x, y, w, h)."""
    truth: dict[str, list[tuple]] = {}
    lines = []
    names = {0: "cat", 1: "dog"}
    for i in range(n):
        name = f"img{i:02d}.jpg"
        make_image(root / "images" / name, 100 + i, 80)
        boxes = [(i % 2, 3 + i, 4, 20, 10 + i)] + ([(1, 50, 30, 30, 40)] if i % 3 else [])
        if i == 0:
            boxes = []
        truth[name] = [(names[c], x, y, w, h) for c, x, y, w, h in boxes]
        lines.append(det_line(f"s3://b/images/{name}", boxes, names, (100 + i, 80)))
    return write_manifest(root / "output.manifest", lines), truth


def test_coco_layout_and_boxes_equal_the_manifest(tmp_path: Path) -> None:
    manifest, truth = boxes_job(tmp_path / "job")
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-f", "coco", "-q"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".tfrecord-lite-files", "annotations", "dataset_info.yaml", "train", "val"]
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["train"]["annotations"].endswith("annotations/instances_train.json")
    assert info["validation"]["images"].endswith("/val")
    seen = {}
    for split, folder in (("train", "train"), ("val", "val")):
        doc = json.loads((out / "annotations" / f"instances_{split}.json").read_text())
        cats = {c["id"]: c["name"] for c in doc["categories"]}
        assert cats == {1: "cat", 2: "dog"}
        by_image = {im["id"]: im for im in doc["images"]}
        assert len({a["id"] for a in doc["annotations"]}) == len(doc["annotations"])
        for im in doc["images"]:
            assert (out / folder / im["file_name"]).is_file()
            seen[im["file_name"]] = []
        for a in doc["annotations"]:
            im = by_image[a["image_id"]]
            x, y, w, h = a["bbox"]
            assert 0 <= x and 0 <= y and x + w <= im["width"] and y + h <= im["height"]
            assert a["area"] == w * h and a["iscrowd"] == 0
            seen[im["file_name"]].append((cats[a["category_id"]], x, y, w, h))
    assert {k: sorted(v) for k, v in seen.items()} == {k: sorted(v) for k, v in truth.items()}
    docs = [json.loads(p.read_text()) for p in sorted((out / "annotations").glob("*.json"))]
    image_ids = [im["id"] for d in docs for im in d["images"]]
    ann_ids = [a["id"] for d in docs for a in d["annotations"]]
    assert len(set(image_ids)) == len(image_ids) and len(set(ann_ids)) == len(ann_ids)
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-f", "coco", "-q",
                 "--overwrite"]) == 0  # the inventory covers COCO too


def test_classification_tags_go_on_the_image_entries(tmp_path: Path) -> None:
    root = tmp_path / "job"
    lines = []
    for i, tag in enumerate(["cat", "dog", "cat"]):
        make_image(root / "images" / f"{i}.jpg", 32, 32)
        lines.append(cls_line(f"s3://b/images/{i}.jpg", int(tag == "dog"), tag))
    manifest = write_manifest(root / "output.manifest", lines)
    out = tmp_path / "o"
    args = ["convert", "-a", str(manifest), "-o", str(out), "-f", "coco", "-q", "-s", "0"]
    assert main(args) == 0
    doc = json.loads((out / "annotations" / "instances_train.json").read_text())
    assert sorted(t for im in doc["images"] for t in im["tags"]) == ["cat", "cat", "dog"]
    assert doc["annotations"] == []


def test_edgefirst_without_the_extra_is_a_usage_error(tmp_path: Path, capsys) -> None:
    import importlib.util

    manifest, _ = boxes_job(tmp_path / "job", 3)
    code = main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "-f", "edgefirst"])
    if importlib.util.find_spec("edgefirst_client") is None:
        assert code == 2
        assert "pip install 'tfrecord-lite-tools[edgefirst]'" in capsys.readouterr().err
        assert not (tmp_path / "o").exists()
    else:  # in the oracle venv the extra is there: tests/edgefirst proves what it makes
        assert code == 0


def test_verify_checks_the_coco_schema_and_boxes_inside_images(tmp_path: Path, capsys) -> None:
    manifest, _ = boxes_job(tmp_path / "job")
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-f", "coco", "-q"]) == 0
    assert main(["verify", str(out)]) == 0
    capsys.readouterr()
    path = out / "annotations" / "instances_train.json"
    doc = json.loads(path.read_text())
    doc["annotations"][0]["bbox"][0] = 10_000  # off the image
    doc["images"][0]["file_name"] = "gone.jpg"
    path.write_text(json.dumps(doc))
    assert main(["verify", str(out)]) == 1
    err = capsys.readouterr().out
    assert "is not inside its" in err and "'gone.jpg'" in err
