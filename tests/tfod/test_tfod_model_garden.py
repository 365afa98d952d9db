"""TF Model Garden's own decoders read what -f tfod writes (run by `make tfod` in .venv-tfod,
with tf-models-official and the TensorFlow it pins; test-only).

Every record of each converted dataset goes through ``tf.data.TFRecordDataset`` and
``TfExampleDecoder`` (with ``include_mask=True`` for a --masks dataset) and
``TfExampleDecoderLabelMap`` (classes looked up by ``class/text`` in a label map made from our
``label_map.pbtxt``); what they give must be the boxes, labels, areas, crowd flags, images and
masks we wrote, and those must be the manifest's.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
import tensorflow as tf
from official.vision.dataloaders import tf_example_decoder, tf_example_label_map_decoder
from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the unit suite's job makers

from dataset_helpers import SAMPLE
from test_tfod_format import NAMES, boxes_job, seg_job

from tfrecord_lite import decode_example, tf_record_iterator
from tfrecord_lite.pipeline.formats import tfod_format
from tfrecord_lite.tools.cli import main


def convert(manifest: Path, out: Path, *extra: str) -> Path:
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-f", "tfod", "-q",
                 "-s", "0.5", *extra]) == 0
    return out


def shards(out: Path) -> list[str]:
    found = sorted(str(p) for p in out.glob("tfod_*/*.tfrecord"))
    assert found
    return found


def decoded_all(out: Path, decoder) -> list[dict]:
    """Every record through tf.data and the decoder, as numpy; beside our own reading."""
    ds = tf.data.TFRecordDataset(shards(out)).map(decoder.decode)
    got = [{k: v.numpy() for k, v in d.items()} for d in ds]
    raw = [r for p in shards(out) for r in tf_record_iterator(p)]
    for r in raw:  # TensorFlow's own protobuf gives our very bytes back
        assert tf.train.Example.FromString(r).SerializeToString(deterministic=True) == r
    ours = [decode_example(r) for r in raw]
    assert len(got) == len(ours)
    return list(zip(got, ours))


def check_against_ours(d: dict, f: dict, masks: bool) -> None:
    """Model Garden's tensors are the values we wrote."""
    n = len(f["image/object/class/label"])
    assert d["source_id"] == f["image/source_id"][0]
    assert int(d["source_id"]) >= 1  # Model Garden's parsers turn it into an int64 id
    assert (d["height"], d["width"]) == (f["image/height"][0], f["image/width"][0])
    assert d["image"].shape == (f["image/height"][0], f["image/width"][0], 3)
    assert d["image"].dtype == np.uint8
    want = np.array([[f[f"image/object/bbox/{k}"][j] for k in ("ymin", "xmin", "ymax", "xmax")]
                     for j in range(n)], np.float32).reshape(n, 4)
    np.testing.assert_array_equal(d["groundtruth_boxes"], want)
    np.testing.assert_array_equal(d["groundtruth_classes"], f["image/object/class/label"])
    np.testing.assert_array_equal(d["groundtruth_area"],
                                  np.array(f["image/object/area"], np.float32))
    np.testing.assert_array_equal(d["groundtruth_is_crowd"],
                                  np.array(f["image/object/is_crowd"], bool))
    if masks:
        got = d["groundtruth_instance_masks"]
        assert got.shape == (n, f["image/height"][0], f["image/width"][0])
        for j, png in enumerate(f["image/object/mask"]):
            with Image.open(io.BytesIO(png)) as m:
                np.testing.assert_array_equal(got[j], np.asarray(m, np.float32))
        assert list(d["groundtruth_instance_masks_png"]) == list(f["image/object/mask"])


def pil_image(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def test_detection_job_boxes_labels_areas_images(tmp_path: Path) -> None:
    manifest, truth = boxes_job(tmp_path / "job", n=12)
    out = convert(manifest, tmp_path / "o")
    pairs = decoded_all(out, tf_example_decoder.TfExampleDecoder())
    seen = set()
    for d, f in pairs:
        check_against_ours(d, f, masks=False)
        name = f["image/filename"][0].decode()
        seen.add(name)
        width, height, boxes = truth[name]
        original = (tmp_path / "job" / "images" / name).read_bytes()
        if name.endswith(".png"):  # lossless: the very pixels
            np.testing.assert_array_equal(d["image"], pil_image(original))
        else:  # JPEG decoders may differ by a level or two
            assert np.abs(d["image"].astype(int) - pil_image(original)).max() <= 3
        pixels = d["groundtruth_boxes"] * np.array([height, width, height, width], np.float32)
        want = np.array([[y, x, y + h, x + w] for _, x, y, w, h in boxes], np.float32)
        np.testing.assert_allclose(pixels.reshape(-1, 4), want.reshape(-1, 4), atol=1e-3)
        np.testing.assert_array_equal(d["groundtruth_classes"], [c + 1 for c, *_ in boxes])
        np.testing.assert_allclose(d["groundtruth_area"], [w * h for *_, w, h in boxes],
                                   rtol=1e-6)
        assert not d["groundtruth_is_crowd"].any()
    assert seen == set(truth)


def label_map_csv(out: Path, to: Path) -> Path:
    """Model Garden's label-map decoder reads ``id,name`` CSV: made from our pbtxt."""
    labels = tfod_format.read_label_map((out / tfod_format.LABEL_MAP).read_text())
    to.write_text("".join(f"{k},{name}\n" for k, name in sorted(labels.items())))
    return to


def test_label_map_decoder_finds_our_labels_by_name(tmp_path: Path) -> None:
    manifest, truth = boxes_job(tmp_path / "job", n=8)
    out = convert(manifest, tmp_path / "o")
    csv = label_map_csv(out, tmp_path / "labels.csv")
    assert csv.read_text() == "".join(f"{k + 1},{n}\n" for k, n in sorted(NAMES.items()))
    decoder = tf_example_label_map_decoder.TfExampleDecoderLabelMap(str(csv))
    pairs = decoded_all(out, decoder)
    assert sum(len(f["image/object/class/label"]) for _, f in pairs) > 0
    for d, f in pairs:
        np.testing.assert_array_equal(d["groundtruth_classes"], f["image/object/class/label"])


def test_segmentation_job_masks(tmp_path: Path) -> None:
    manifest = seg_job(tmp_path / "job")
    out = convert(manifest, tmp_path / "o", "-i", str(tmp_path / "job"), "--masks")
    pairs = decoded_all(out, tf_example_decoder.TfExampleDecoder(include_mask=True))
    assert len(pairs) == 2
    for d, f in pairs:
        check_against_ours(d, f, masks=True)
        m = d["groundtruth_instance_masks"]
        assert m.shape[0] == 3 and set(np.unique(m)) == {0.0, 1.0}
        # each instance's mask fills its box exactly and its area is its pixel count
        for j in range(m.shape[0]):
            ys, xs = np.nonzero(m[j])
            box = d["groundtruth_boxes"][j] * np.array([24, 32, 24, 32])
            np.testing.assert_allclose(box, [ys.min(), xs.min(), ys.max() + 1, xs.max() + 1],
                                       atol=1e-4)
            assert d["groundtruth_area"][j] == m[j].sum()


def test_box_masks_and_the_sample_dataset(tmp_path: Path) -> None:
    """The built-in sample (EXIF-rotated JPEGs among them) with --masks: decoded images are
    upright and of the stated size, masks are the boxes."""
    out = convert(SAMPLE / "output.manifest", tmp_path / "o", "-i", str(SAMPLE), "--masks")
    pairs = decoded_all(out, tf_example_decoder.TfExampleDecoder(include_mask=True))
    assert len(pairs) == 13
    for d, f in pairs:
        check_against_ours(d, f, masks=True)
        with Image.open(io.BytesIO(f["image/encoded"][0])) as im:
            assert ImageOps.exif_transpose(im).size == im.size  # stored upright
        for j, mask in enumerate(d["groundtruth_instance_masks"]):
            ymin, xmin, ymax, xmax = d["groundtruth_boxes"][j]
            ys, xs = np.nonzero(mask)
            h, w = mask.shape
            assert abs(ys.min() - ymin * h) <= 1 and abs(ys.max() + 1 - ymax * h) <= 1
            assert abs(xs.min() - xmin * w) <= 1 and abs(xs.max() + 1 - xmax * w) <= 1


@pytest.mark.parametrize("workers", ["2"])
def test_many_shards_read_as_one_dataset(tmp_path: Path, workers: str) -> None:
    manifest, truth = boxes_job(tmp_path / "job", n=40)
    out = convert(manifest, tmp_path / "o", "-p", "0.01", "--workers", workers)
    assert len(shards(out)) > 4
    pairs = decoded_all(out, tf_example_decoder.TfExampleDecoder())
    assert sorted(f["image/filename"][0].decode() for _, f in pairs) == sorted(truth)
    assert len({d["source_id"] for d, _ in pairs}) == len(truth)


@pytest.mark.parametrize("masks", [False, True])
def test_the_real_coco_sample(tmp_path: Path, masks: bool) -> None:
    """tests/fixtures/sahi-terrain2 (a palette PNG, five polygon-segmented cars): Model
    Garden gets the file's five boxes, each once, its pixels, and each car's rectangle as its
    mask."""
    import json

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "sahi-terrain2"
    doc = json.loads((fixture / "terrain2_coco.json").read_text())
    out = tmp_path / "o"
    assert main(["convert", "-a", str(fixture / "terrain2_coco.json"), "-o", str(out),
                 "-f", "tfod", "-q", "-s", "0", *(["--masks"] if masks else [])]) == 0
    decoder = tf_example_decoder.TfExampleDecoder(include_mask=masks)
    ((d, f),) = decoded_all(out, decoder)
    check_against_ours(d, f, masks)
    width, height = doc["images"][0]["width"], doc["images"][0]["height"]
    want = np.array([[y, x, y + h, x + w] for x, y, w, h in (a["bbox"] for a in
                                                             doc["annotations"])], np.float32)
    pixels = d["groundtruth_boxes"] * np.array([height, width, height, width], np.float32)
    np.testing.assert_allclose(pixels, want, atol=1e-3)
    np.testing.assert_array_equal(d["groundtruth_classes"], [1] * 5)
    np.testing.assert_array_equal(d["image"], pil_image((fixture / "terrain2.png").read_bytes()))
    if masks:
        for m, (y0, x0, y1, x1) in zip(d["groundtruth_instance_masks"], want.astype(int)):
            rows, cols = np.nonzero(m)
            assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == (y0, x0, y1, x1)


DEEPFOREST = Path(__file__).resolve().parents[1] / "fixtures" / "deepforest"


@pytest.mark.parametrize("masks", [False, True])
@pytest.mark.parametrize("kind", ["voc", "yolo"])
def test_the_real_voc_and_yolo_samples(tmp_path: Path, kind: str, masks: bool) -> None:
    """tests/fixtures/deepforest (VOC: SOAP_061, 37 Alive and Dead trees; YOLO: OSBS_029's 61
    Trees): Model Garden gets the VOC file's boxes (1-based corners: xmin - 1 to xmax), their
    classes by name through the label map, the PNG's pixels and each box as its mask."""
    import xml.etree.ElementTree as ET

    if kind == "voc":
        args, xml = ["-a", str(DEEPFOREST / "voc")], DEEPFOREST / "voc" / "Annotations" / \
            "SOAP_061.xml"
        image = DEEPFOREST / "voc" / "JPEGImages" / "SOAP_061.png"
    else:
        args, xml = ["-a", str(DEEPFOREST / "yolo" / "data.yaml")], DEEPFOREST / "OSBS_029.xml"
        image = DEEPFOREST / "yolo" / "images" / "train" / "OSBS_029.png"
    root = ET.parse(xml).getroot()
    truth = sorted((o.findtext("name"), *(int(o.findtext(f"bndbox/{k}")) - d for k, d in
                                          (("ymin", 1), ("xmin", 1), ("ymax", 0), ("xmax", 0))))
                   for o in root.iter("object"))
    out = tmp_path / "o"
    assert main(["convert", "--from", kind, *args, "-o", str(out), "-f", "tfod", "-q",
                 "-s", "0", *(["--masks"] if masks else [])]) == 0
    ((d, f),) = decoded_all(out, tf_example_decoder.TfExampleDecoder(include_mask=masks))
    check_against_ours(d, f, masks)
    csv = label_map_csv(out, tmp_path / "labels.csv")
    ((by_name, _),) = decoded_all(
        out, tf_example_label_map_decoder.TfExampleDecoderLabelMap(str(csv)))
    np.testing.assert_array_equal(by_name["groundtruth_classes"], d["groundtruth_classes"])
    ids = {int(k): n for k, n in (line.split(",") for line in csv.read_text().split())}
    assert sorted(ids.values()) == sorted({t[0] for t in truth})
    height, width = d["height"], d["width"]
    pixels = d["groundtruth_boxes"] * np.array([height, width, height, width], np.float32)
    got = sorted((ids[int(c)], *p) for c, p in zip(d["groundtruth_classes"], pixels.tolist()))
    assert [g[0] for g in got] == [t[0] for t in truth]
    np.testing.assert_allclose([g[1:] for g in got], [t[1:] for t in truth], atol=1e-3)
    np.testing.assert_array_equal(d["image"], pil_image(image.read_bytes()))
    if masks:
        for m, (y0, x0, y1, x1) in zip(d["groundtruth_instance_masks"],
                                       np.round(pixels).astype(int)):
            rows, cols = np.nonzero(m)
            assert (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1) == (y0, x0, y1, x1)
