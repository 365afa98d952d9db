"""-f json end to end: ModelPack's JSON per image (image, dimension, boxes, segment polygons),
the polygons filled back against the Ground Truth mask they came from."""

from __future__ import annotations

import json

import yaml
from gt_helpers import cls_line, seg_line, write_manifest
from mask_cases import filled, iou, plane, realistic_mask
from PIL import Image
from test_convert import make_job, run

from tfrecord_lite.pipeline.formats import json_format, polygons
from tfrecord_lite.pipeline.formats.per_image import image_file
from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions, read_manifest

GT_COLOURS = {0: ("BACKGROUND", "#ffffff"), 1: ("road", "#ff0000"), 2: ("sky", "#0000ff"),
              3: ("car", "#00ff00"), 4: ("sign", "#ffff00")}


def test_segmentation_becomes_polygons_that_give_the_mask_back(tmp_path) -> None:
    job = tmp_path / "job"
    (job / "images").mkdir(parents=True)
    masks = {}
    lines = []
    for i in range(3):
        w, h = (320, 180) if i != 1 else (180, 320)
        Image.new("RGB", (w, h), (200, 200, 200)).save(job / "images" / f"p{i}.jpg", "JPEG")
        index = realistic_mask(w, h, 10 + i)  # values 0..4 are the colour map's keys
        palette = [255, 255, 255, 255, 0, 0, 0, 0, 255, 0, 255, 0, 255, 255, 0] + [0] * 741
        mask = index.copy()
        mask.putpalette(palette)
        mask.save(job / f"p{i}_mask.png")  # a palette PNG, as Ground Truth writes them
        masks[f"p{i}"] = index
        lines.append(seg_line(f"s3://b/images/p{i}.jpg", f"s3://b/p{i}_mask.png", GT_COLOURS))
    out = tmp_path / "out"
    assert run("-a", write_manifest(job / "output.manifest", lines), "-o", out, "-q",
               "-f", "json", "-s", "0.4") == 0
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert "type" not in info  # ModelPack's JSON reader is chosen without one
    classes = info["classes"]
    seen = 0
    for split, folder in (("train", "json_train"), ("validation", "json_val")):
        assert info[split]["annotations"] == info[split]["images"] == str(out / folder)
        for path in sorted((out / folder).glob("*.json")):
            doc = json.loads(path.read_text())
            assert set(doc) == {"image", "dimension", "boxes", "segment"}
            assert (out / folder / doc["image"]).is_file() and doc["boxes"] == []
            w, h = doc["dimension"]
            index = masks[path.stem]
            assert (w, h) == index.size
            polygons = [(seg["class"], seg["polygon"]) for seg in doc["segment"]]
            assert all(0 <= x < 1 and 0 <= y < 1 for _, p in polygons for x, y in p)
            for key in range(1, 5):
                k = classes.index(GT_COLOURS[key][0])
                back = filled(polygons, (w, h), k, scale=(w, h))
                assert iou(plane(index, key), back) >= 0.97, (path.name, key)
            seen += 1
    assert seen == 3


def test_detection_boxes_and_tags(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 4)
    out = tmp_path / "out"
    assert run("-a", manifest, "-o", out, "-q", "-f", "json") == 0
    docs = {p.stem: json.loads(p.read_text()) for p in out.glob("json_*/*.json")}
    assert len(docs) == 5 and docs["empty"]["boxes"] == [] and docs["empty"]["segment"] == []
    for i in range(4):
        doc = docs[f"img{i:04d}"]
        left, top = 10 + i % 7, 8 + i % 5
        (box,) = doc["boxes"]
        assert box[4] == i % 3 and doc["dimension"] == [96, 64]
        expect = [(left + 20) / 96, (top + 15) / 64, 40 / 96, 30 / 64]
        assert all(abs(a - b) < 1e-9 for a, b in zip(box[:4], expect))


def test_classification_tags_are_kept(tmp_path) -> None:
    job = tmp_path / "job"
    (job / "images").mkdir(parents=True)
    lines = []
    for i, name in enumerate(["cat", "dog"]):
        Image.new("RGB", (20, 10)).save(job / "images" / f"t{i}.jpg", "JPEG")
        lines.append(cls_line(f"s3://b/images/t{i}.jpg", i, name))
    out = tmp_path / "out"
    assert run("-a", write_manifest(job / "output.manifest", lines), "-o", out, "-q",
               "-f", "json") == 0
    docs = {p.stem: json.loads(p.read_text()) for p in out.glob("json_*/*.json")}
    assert docs["t0"]["tags"] == ["cat"] and docs["t1"]["tags"] == ["dog"]
    assert docs["t0"]["boxes"] == docs["t0"]["segment"] == []


def test_each_file_is_the_json_dumps_of_its_document(tmp_path) -> None:
    """The polygons' text is written from a table, not by ``json.dumps``: the bytes must be
    those ``dump(document(...))`` gives, for palette, grey and RGB masks, a reader with no
    ``pixels()``, tags that hold the ``"segment":[]`` the text is spliced after and a lone
    surrogate (written escaped)."""
    job = tmp_path / "job"
    (job / "images").mkdir(parents=True)
    lines = []
    for i, (w, h) in enumerate([(320, 180), (97, 181), (1, 7), (64, 48)]):
        Image.new("RGB", (w, h), (200, 200, 200)).save(job / "images" / f"p{i}.jpg", "JPEG")
        index = realistic_mask(w, h, 20 + i) if min(w, h) > 1 else Image.new("L", (w, h), 2)
        palette = [255, 255, 255, 255, 0, 0, 0, 0, 255, 0, 255, 0, 255, 255, 0] + [0] * 741
        mask = index.copy()
        mask.putpalette(palette)
        if i == 2:  # grey levels (with an alpha band) are the keys themselves
            mask = Image.merge("LA", (index, Image.new("L", (w, h), 255)))
        elif i == 3:  # mapped back by hex-color
            mask = mask.convert("RGB")
        mask.save(job / f"p{i}_mask.png")
        lines.append(seg_line(f"s3://b/images/p{i}.jpg", f"s3://b/p{i}_mask.png", GT_COLOURS))
    manifest = write_manifest(job / "output.manifest", lines)
    out = tmp_path / "out"
    assert run("-a", manifest, "-o", out, "-q", "-f", "json", "-s", "0") == 0
    samples = read_manifest(manifest, ReadOptions(job)).samples
    assert len(samples) == 4
    for sample in samples:
        stem = sample.name.rsplit(".", 1)[0]
        name = image_file(stem, sample.name)
        expect = json_format.dump(json_format.document(sample, name))
        assert (out / "json_train" / f"{stem}.json").read_bytes() == expect
        assert json_format.text(sample, name) == expect
        png = sample.read_mask()
        assert polygons.mask_pixels(sample.read_mask) == polygons.mask_bytes(png)
        plain = sample._replace(read_mask=lambda png=png: png)  # a reader without pixels()
        assert json_format.text(plain, name) == expect
        for tags in [('x "segment":[] é', "segment"), ("\ud800 a lone surrogate",)]:
            tagged = sample._replace(tags=tags, tracks=("t1",) * len(sample.boxes))
            assert json_format.text(tagged, name) == json_format.dump(
                json_format.document(tagged, name))


def test_a_mask_value_in_no_colour_map_entry_stops_the_conversion(tmp_path, capsys) -> None:
    job = tmp_path / "job"
    (job / "images").mkdir(parents=True)
    Image.new("RGB", (8, 6)).save(job / "images" / "p.jpg", "JPEG")
    mask = Image.new("P", (8, 6), 0)
    mask.putpalette([255, 255, 255] * 256)
    mask.paste(9, (2, 2, 4, 4))  # index 9: no internal-color-map key
    mask.save(job / "p_mask.png")
    manifest = write_manifest(job / "output.manifest", [
        seg_line("s3://b/images/p.jpg", "s3://b/p_mask.png", GT_COLOURS)])
    assert run("-a", manifest, "-o", tmp_path / "out", "-q", "-f", "json") != 0
    err = capsys.readouterr().err
    assert "p_mask.png" in err and "pixel values [9]" in err, err
