"""End to end: manifest + images folder -> Samples, classes and report (groundtruth.reader)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from gt_helpers import (
    FIXTURES,
    cls_line,
    det_line,
    images_for_manifest,
    key_path,
    make_image,
    make_palette_mask,
    seg_line,
    symlink,
    write_manifest,
)
from PIL import Image

from tfrecord_lite.pipeline import decodable
from tfrecord_lite.pipeline.errors import RAISE, SKIP, ErrorPolicy, InputError
from tfrecord_lite.pipeline.groundtruth import reader
from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions, read_manifest

# video jobs' lines name sequence files and SeqLabel.json files: test_groundtruth_video.py
ALL_FIXTURES = sorted(p for p in FIXTURES.glob("*.manifest")
                      if not p.name.startswith("video-tracking-output"))
NOT_CONVERTED = {
    # label "normal" with metadata "auto-label-metadata": not a pair, reported as such
    "imgcls-mismatched-metadata-key.manifest": "metadata without its attribute",
}


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.mark.parametrize("fixture", ALL_FIXTURES, ids=lambda p: p.stem)
def test_every_real_fixture_end_to_end(tmp_path: Path, fixture: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    images_for_manifest(fixture, images)
    if fixture.name in NOT_CONVERTED:
        with pytest.raises(InputError) as err:
            read_manifest(fixture, ReadOptions(images))
        assert err.value.reason == "no-labels" and NOT_CONVERTED[fixture.name] in str(err.value)
        return
    result = read_manifest(fixture, ReadOptions(images))
    lines = _lines(fixture)
    report = result.report
    assert report.lines == len(lines)
    image_lines = [x for x in lines if "source-ref" in x]
    assert len(result.samples) == len(image_lines)
    assert sum(report.skipped.values()) == len(lines) - len(image_lines)
    assert [s.source_ref for s in result.samples] == [x["source-ref"] for x in image_lines]
    assert len({s.name for s in result.samples}) == len(result.samples)
    assert report.size_mismatches == 0 and report.clipped_boxes == 0
    for sample in result.samples:
        ext = sample.source_ref.rsplit(".", 1)[-1]
        if decodable.of_bytes((images / key_path(sample.source_ref)).read_bytes()) is not None:
            ext = "png" if ext.lower() not in ("jpg", "jpeg") else ext  # converted: the format's
        assert sample.name.endswith(ext)
        for box in sample.boxes:
            assert 0 <= box.class_index < len(result.classes)
            assert 0 < box.w <= 1 and 0 < box.h <= 1 and 0 <= box.cx <= 1 and 0 <= box.cy <= 1
        assert all(tag in result.classes for tag in sample.tags)
    first = result.samples[0]
    source = (images / key_path(first.source_ref)).read_bytes()
    if decodable.of_bytes(source) is None:  # ModelPack decodes it: stored byte for byte
        assert first.read_image() == source
    else:  # converted once to an RGB image of the same size
        assert decodable.of_bytes(first.read_image()) is None
        assert Image.open(io.BytesIO(first.read_image())).size == (first.width, first.height)
    if report.task == "semantic-segmentation":
        with Image.open(io.BytesIO(first.read_mask())) as mask:
            assert mask.mode == "L" and mask.size == (first.width, first.height)
            used = {v for v, n in enumerate(mask.histogram()) if n}
            assert used <= set(range(len(result.classes) + 1))


def test_mixed_text_line_is_skipped_not_crashed(tmp_path: Path) -> None:
    fixture = FIXTURES / "mixed-image-and-text-lines.manifest"
    images_for_manifest(fixture, tmp_path)
    result = read_manifest(fixture, ReadOptions(tmp_path))
    assert result.report.skipped == {"other-type:groundtruth/text-classification": 1}
    assert result.samples[0].tags == ("dog",) and result.classes == ["dog"]
    assert result.report.found_types == {"groundtruth/image-classification": 1,
                                         "groundtruth/text-classification": 1}


def test_chained_job_newest_attribute_wins_and_explicit_choice(tmp_path: Path) -> None:
    fixture = FIXTURES / "bbox-chained-adjustment-job.manifest"
    images_for_manifest(fixture, tmp_path)
    newest = read_manifest(fixture, ReadOptions(tmp_path))
    assert newest.report.label_attribute == "suneung-korean-layout-detection-v2-chain"
    assert "figure" in newest.classes
    original = read_manifest(fixture, ReadOptions(
        tmp_path, label_attribute="suneung-korean-layout-detection-v2"))
    assert original.report.label_attribute == "suneung-korean-layout-detection-v2"
    first = _lines(fixture)[0]
    assert len(original.samples[0].boxes) == len(
        first["suneung-korean-layout-detection-v2"]["annotations"])
    assert len(newest.samples[0].boxes) == len(
        first["suneung-korean-layout-detection-v2-chain"]["annotations"])


def test_float_coordinates_are_rounded(tmp_path: Path) -> None:
    make_image(tmp_path / "i" / "a.jpg", 100, 50)
    manifest = write_manifest(tmp_path / "m", [det_line(
        "s3://b/a.jpg", [(0, 0.2, 9.6, 19.5, 10.4)], {0: "a"}, size=(100, 50))])
    (box,) = read_manifest(manifest, ReadOptions(tmp_path / "i")).samples[0].boxes
    # edges: x 0..20 (19.7 rounds up), y 10..20
    assert (box.cx, box.cy, box.w, box.h) == pytest.approx((0.1, 0.3, 0.2, 0.2))


def test_clipping_dropping_and_size_mismatch_are_counted(tmp_path: Path) -> None:
    make_image(tmp_path / "i" / "a.jpg", 100, 50)
    manifest = write_manifest(tmp_path / "m", [det_line(
        "s3://b/a.jpg", [(0, 90, 40, 20, 20), (0, 5, 5, 0, 4), (0, 1, 1, 4, 4)], {0: "a"},
        size=(200, 100))])
    result = read_manifest(manifest, ReadOptions(tmp_path / "i"))
    report = result.report
    assert (report.clipped_boxes, report.dropped_boxes, report.size_mismatches) == (1, 1, 1)
    assert len(result.samples[0].boxes) == 2


def test_same_file_name_in_two_folders_both_survive(tmp_path: Path) -> None:
    images = tmp_path / "images"
    make_image(images / "cam1/0001.jpg", 10, 10, color=(255, 0, 0))
    make_image(images / "cam2/0001.jpg", 10, 10, color=(0, 0, 255))
    make_image(images / "cam2/0002.jpg", 10, 10)
    manifest = write_manifest(tmp_path / "m", [
        det_line("s3://b/cam1/0001.jpg", [], {}), det_line("s3://b/cam2/0001.jpg", [], {}),
        det_line("s3://b/cam2/0002.jpg", [], {})])
    samples = read_manifest(manifest, ReadOptions(images)).samples
    assert [s.name for s in samples] == ["cam1_0001.jpg", "cam2_0001.jpg", "0002.jpg"]
    assert samples[0].read_image() != samples[1].read_image()


# --- EXIF: labels are on the upright view ------------------------------------------------------

_STORE = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90,
          8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_rotated_jpeg_is_reencoded_upright(tmp_path: Path, orientation: int) -> None:
    upright = Image.new("RGB", (80, 40), (255, 255, 255))
    upright.paste((255, 0, 0), (8, 4, 24, 20))          # the object, as the labeller saw it
    stored = upright.transpose(_STORE[orientation])   # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = orientation
    (tmp_path / "i").mkdir()
    stored.save(tmp_path / "i" / "r.jpg", "JPEG", quality=95, exif=exif.tobytes())
    manifest = write_manifest(tmp_path / "m", [det_line(
        "s3://b/r.jpg", [(0, 8, 4, 16, 16)], {0: "obj"}, size=(80, 40))])
    result = read_manifest(manifest, ReadOptions(tmp_path / "i"))
    sample = result.samples[0]
    assert (sample.width, sample.height) == (80, 40)
    assert result.report.exif_reencoded == 1 and result.report.size_mismatches == 0
    with Image.open(io.BytesIO(sample.read_image())) as image:
        assert image.size == (80, 40) and image.getexif().get(0x0112) in (None, 1)
        rgb = image.convert("RGB")
        (box,) = sample.boxes
        red = rgb.getpixel((int(box.cx * 80), int(box.cy * 40)))
        assert red[0] > 200 and red[1] < 60 and red[2] < 60
        white = rgb.getpixel((60, 30))
        assert min(white) > 200


# --- segmentation masks -----------------------------------------------------------------------

COLORS = {0: ("BACKGROUND", "#ffffff"), 1: ("IC", "#2ca02c"), 3: ("resistor2", "#ff7f0e"),
          2: ("resistor1", "#1f77b4")}


def _seg(tmp_path: Path, mask_maker) -> tuple[Path, Path]:
    images = tmp_path / "images"
    make_image(images / "label/s10.png", 12, 8)
    mask_maker(images / "out/0_2022-09-09T17:25:31.918770.png")
    manifest = write_manifest(tmp_path / "m", [seg_line(
        "s3://pcb/label/s10.png", "s3://pcb/out/0_2022-09-09T17:25:31.918770.png", COLORS)])
    return manifest, images


def _mask_values(sample) -> list[int]:
    with Image.open(io.BytesIO(sample.read_mask())) as mask:
        assert mask.mode == "L" and mask.format == "PNG"
        return [v for v, n in enumerate(mask.histogram()) if n]


def test_palette_mask_indices_become_class_values(tmp_path: Path) -> None:
    manifest, images = _seg(tmp_path, lambda p: make_palette_mask(p, 12, 8, [0, 1, 2, 3]))
    result = read_manifest(manifest, ReadOptions(images))
    assert result.classes == ["IC", "resistor1", "resistor2"]
    assert _mask_values(result.samples[0]) == [0, 1, 2, 3]


def test_rgb_mask_is_mapped_by_hex_color(tmp_path: Path) -> None:
    def rgb_mask(path: Path) -> None:
        path.parent.mkdir(parents=True)
        mask = Image.new("RGB", (12, 8), (255, 255, 255))
        mask.paste((0xFF, 0x7F, 0x0E), (0, 0, 6, 4))   # resistor2 -> class 2 -> value 3
        mask.paste((0x2C, 0xA0, 0x2C), (6, 4, 12, 8))   # IC -> class 0 -> value 1
        mask.save(path, "PNG")
    manifest, images = _seg(tmp_path, rgb_mask)
    sample = read_manifest(manifest, ReadOptions(images)).samples[0]
    with Image.open(io.BytesIO(sample.read_mask())) as mask:
        assert mask.getpixel((0, 0)) == 3 and mask.getpixel((11, 7)) == 1
        assert mask.getpixel((11, 0)) == 0


def test_unknown_mask_colour_is_an_error_naming_the_mask(tmp_path: Path) -> None:
    def odd(path: Path) -> None:
        path.parent.mkdir(parents=True)
        Image.new("RGB", (12, 8), (1, 2, 3)).save(path, "PNG")
    manifest, images = _seg(tmp_path, odd)
    sample = read_manifest(manifest, ReadOptions(images)).samples[0]
    with pytest.raises(InputError) as err:
        sample.read_mask()
    assert "0_2022-09-09T17:25:31.918770.png" in str(err.value) and "#010203" in str(err.value)
    manifest, images = _seg(tmp_path / "p", lambda p: make_palette_mask(p, 12, 8, [0, 9]))
    with pytest.raises(InputError, match=r"pixel values \[9\]"):
        read_manifest(manifest, ReadOptions(images)).samples[0].read_mask()


@pytest.mark.parametrize(("maker", "reason"), [
    (lambda p: make_image(p, 12, 8, fmt="JPEG"), "bad-mask"),
    (lambda p: make_palette_mask(p, 13, 8, [0]), "mask-size"),
    (lambda p: None, "missing-mask")])
def test_bad_masks_raise_or_skip(tmp_path: Path, maker, reason: str) -> None:
    manifest, images = _seg(tmp_path, maker)
    with pytest.raises(InputError) as err:
        read_manifest(manifest, ReadOptions(images))
    assert err.value.reason == reason and err.value.line == 1


# --- policies and bad input -------------------------------------------------------------------

def _bad_case(tmp_path: Path, case: str) -> tuple[Path, Path, str]:
    """A two-line manifest whose second line has one problem; returns (manifest, images, value)."""
    images = tmp_path / "images"
    make_image(images / "good.jpg", 50, 50)
    good = det_line("s3://b/good.jpg", [(0, 1, 1, 5, 5)], {0: "a"})
    value = ""
    if case == "bad-json":
        bad, value = '{"source-ref": "s3://b/x.jpg", oops}', "oops"
    elif case == "missing-image":
        bad, value = det_line("s3://b/absent.jpg", [], {}), "absent.jpg"
    elif case == "bad-image":
        (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff garbage")
        bad, value = det_line("s3://b/corrupt.jpg", [], {}), "corrupt.jpg"
    elif case == "unknown-class":
        bad, value = det_line("s3://b/good.jpg", [(4, 1, 1, 5, 5)], {0: "a"}), "4"
    elif case == "bad-box":
        bad = '{"source-ref":"s3://b/good.jpg","job":{"annotations":[{"class_id":0,"left":NaN,' \
              '"top":1,"width":2,"height":2}]},"job-metadata":{"class-map":{"0":"a"},' \
              '"type":"groundtruth/object-detection"}}'
        value = "nan"
    elif case == "path-escape-dotdot":
        make_image(tmp_path / "secret.jpg", 5, 5)
        bad, value = det_line("../secret.jpg", [], {}), "../secret.jpg"
    elif case == "path-escape-absolute":
        secret = make_image(tmp_path / "secret.jpg", 5, 5)
        bad, value = det_line(str(secret), [], {}), str(secret)
    elif case == "path-escape-symlink":
        make_image(tmp_path / "secret.jpg", 5, 5)
        symlink(tmp_path / "secret.jpg", images / "innocent.jpg")
        bad, value = det_line("s3://b/innocent.jpg", [], {}), "innocent.jpg"
    manifest = write_manifest(tmp_path / "out.manifest", [good, bad])
    return manifest, images, value


CASES = ["bad-json", "missing-image", "bad-image", "unknown-class", "bad-box",
         "path-escape-dotdot", "path-escape-absolute", "path-escape-symlink"]


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("case", CASES)
def test_bad_input_raises_with_location_and_value(tmp_path: Path, case: str, workers) -> None:
    manifest, images, value = _bad_case(tmp_path, case)
    with pytest.raises(InputError) as err:
        read_manifest(manifest, ReadOptions(images, workers=workers))
    text = str(err.value)
    assert f"{manifest}:2:" in text and value in text
    assert err.value.reason == case.rsplit("-", 1)[0] if case.startswith("path") else case
    assert err.value.hint


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_skipped_and_counted(tmp_path: Path, case: str, workers) -> None:
    manifest, images, _ = _bad_case(tmp_path, case)
    result = read_manifest(manifest, ReadOptions(images, policy=SKIP, workers=workers))
    reason = "path-escape" if case.startswith("path") else case
    assert [s.line for s in result.samples] == [1]
    assert result.report.skipped == {reason: 1}
    assert ":2:" in result.report.examples[reason]


def test_a_skipping_policy_tells_its_callback_of_each_item(tmp_path: Path) -> None:
    manifest, images, _ = _bad_case(tmp_path, "missing-image")
    told: list[InputError] = []
    result = read_manifest(manifest, ReadOptions(images, policy=ErrorPolicy(True, told.append)))
    assert len(result.samples) == 1 and result.report.skipped == {"missing-image": 1}
    assert [e.reason for e in told] == ["missing-image"] and "absent.jpg" in str(told[0])


def test_crlf_bom_manifest_end_to_end(tmp_path: Path) -> None:
    make_image(tmp_path / "i/a.jpg", 20, 20)
    manifest = write_manifest(tmp_path / "m", [cls_line("s3://b/a.jpg", 0, "cat"), ""],
                              newline="\r\n", bom=True)
    result = read_manifest(manifest, ReadOptions(tmp_path / "i"))
    assert result.samples[0].tags == ("cat",) and result.report.lines == 1


def test_unlabelled_failed_and_other_types_are_reported(tmp_path: Path) -> None:
    make_image(tmp_path / "i/a.jpg", 20, 20)
    ok = det_line("s3://b/a.jpg", [], {})
    failed = det_line("s3://b/a.jpg", [], {})
    failed["job-metadata"]["failure-reason"] = "ClientError"
    no_type = det_line("s3://b/a.jpg", [], {})
    del no_type["job-metadata"]["type"]
    video = {"source-ref": "s3://b/s.json", "v-ref": "s3://b/SeqLabel.json",
             "v-ref-metadata": {"type": "groundtruth/point_cloud_object_tracking"}}
    custom = {"source-ref": "s3://b/a.jpg", "c": {}, "c-metadata": {"type": "groundTruth/custom"}}
    manifest = write_manifest(tmp_path / "m", [ok, {"source-ref": "s3://b/a.jpg"}, failed,
                                               no_type, video, custom])
    result = read_manifest(manifest, ReadOptions(tmp_path / "i"))
    assert len(result.samples) == 1 and result.report.lines == 6
    assert result.report.skipped == {"unlabelled": 1, "failed": 2,
                                     "other-type:groundtruth/point_cloud_object_tracking": 1,
                                     "other-type:groundtruth/custom": 1}


def test_drop_rejected_uses_label_verification(tmp_path: Path) -> None:
    make_image(tmp_path / "i/a.jpg", 20, 20)
    lines = []
    for verdict in ("good", "bad", None):
        line = det_line("s3://b/a.jpg", [(0, 1, 1, 5, 5)], {0: "a"})
        if verdict:
            line["check"] = "1"
            line["check-metadata"] = {"class-name": verdict,
                                      "type": "groundtruth/label-verification"}
        lines.append(line)
    manifest = write_manifest(tmp_path / "m", lines)
    assert len(read_manifest(manifest, ReadOptions(tmp_path / "i")).samples) == 3
    dropped = read_manifest(manifest, ReadOptions(tmp_path / "i", drop_rejected=True))
    assert [s.line for s in dropped.samples] == [1, 3]
    assert dropped.report.skipped == {"rejected": 1}
    assert [s.name for s in dropped.samples] == ["a.jpg", "a~2.jpg"]


def test_empty_and_label_free_manifests(tmp_path: Path) -> None:
    (tmp_path / "i").mkdir()
    empty = write_manifest(tmp_path / "empty", ["", "  "])
    with pytest.raises(InputError, match="no lines"):
        read_manifest(empty, ReadOptions(tmp_path / "i"))
    plain = write_manifest(tmp_path / "plain", [{"source-ref": "s3://b/a.jpg"}])
    with pytest.raises(InputError, match="no usable labels") as err:
        read_manifest(plain, ReadOptions(tmp_path / "i"))
    assert "no label pairs" in str(err.value)


def test_all_lines_bad_under_skip_is_still_an_error(tmp_path: Path) -> None:
    (tmp_path / "i").mkdir()
    manifest = write_manifest(tmp_path / "m", [det_line("s3://b/none.jpg", [], {})])
    with pytest.raises(InputError, match="no usable samples") as err:
        read_manifest(manifest, ReadOptions(tmp_path / "i", policy=SKIP))
    assert "missing-image 1" in str(err.value)


@pytest.mark.parametrize("fixture", [f for f in ALL_FIXTURES if f.name not in NOT_CONVERTED],
                         ids=lambda p: p.stem)
def test_workers_read_what_one_process_reads(tmp_path: Path, fixture: Path, monkeypatch) -> None:
    # with workers, lines are read from spans of the file in other processes and their results
    # cross a pipe in a lighter form; the first pass tallies each span and merges the tallies:
    # nothing may change, whatever the workers and however small the spans (one line each)
    images = tmp_path / "images"
    images.mkdir()
    images_for_manifest(fixture, images)
    one = read_manifest(fixture, ReadOptions(images))
    _same_reading(one, read_manifest(fixture, ReadOptions(images, workers=2)))
    monkeypatch.setattr(reader, "SPAN_BYTES", 1)
    for workers in (1, 2):
        _same_reading(one, read_manifest(fixture, ReadOptions(images, workers=workers)))


def _same_reading(one, other) -> None:
    def seen(result):
        return [(s.source_ref, s.line, s.name, s.width, s.height, tuple(s.boxes), s.tags,
                 s.image_bytes, s.read_image()) for s in result.samples]

    assert seen(one) == seen(other) and one.classes == other.classes
    assert one.report == other.report


@pytest.mark.parametrize("policy", [RAISE, SKIP], ids=["raise", "skip"])
def test_class_tables_are_the_same_in_one_span_or_many(tmp_path: Path, policy, monkeypatch
                                                        ) -> None:
    maps = [{0: "cat"}, {0: "dog", 1: "bird"}, {0: "dog", 1: "bird"}, {1: "bird"}, {0: "cat"},
            {2: "fish", 0: "dog"}]
    lines = [det_line(f"s3://b/{n}.jpg", [(0, 1, 1, 5, 5)] if 0 in m else [], m)
             for n, m in enumerate(maps)]
    manifest = write_manifest(tmp_path / "m.manifest", lines)
    images = tmp_path / "images"
    images.mkdir()
    for n in range(len(maps)):
        make_image(images / f"{n}.jpg", 20, 20)
    options = ReadOptions(images, policy=policy)

    def read():
        try:
            result = read_manifest(manifest, options)
        except InputError as error:
            return str(error)
        assert result.report.skipped == {}  # ids differ between lines: kept by name
        assert result.report.class_clashes == "id 0 is 'cat' (line 1), 'dog' (line 2)"
        return [s.line for s in result.samples], result.classes, result.report

    whole = read()
    monkeypatch.setattr(reader, "SPAN_BYTES", 1)
    assert read() == whole
    assert whole[1] == ["cat", "dog", "bird", "fish"]
