"""Video frame jobs end to end: sequence files, SeqLabel.json, one sample per frame, one split
per sequence (tfrecord_lite.pipeline.groundtruth.video, through the reader and the CLI).

The jobs are generated here after the real files in tests/fixtures/sagemaker (string
``frame-no`` and ``class-id``, ``frame-no`` a position unlike the number in the file name,
frames without annotations); the real SeqLabel fixtures are also read, with sequence files and
frames made for them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from gt_helpers import FIXTURES, key_path, make_image, write_manifest

from tfrecord_lite import decode_example, tf_record_iterator
from tfrecord_lite.pipeline.errors import InputError
from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions, read_manifest
from tfrecord_lite.tools.cli import main

TYPE = "groundtruth/video-object-tracking"


def video_line(seq_ref: str, label_ref: str, class_map: dict, attr: str = "vid") -> dict:
    return {"source-ref": seq_ref, f"{attr}-ref": label_ref, f"{attr}-ref-metadata": {
        "class-map": {str(k): v for k, v in class_map.items()}, "job-name": "labeling-job/v",
        "human-annotated": "yes", "creation-date": "2020-08-31T21:38:05.077000", "type": TYPE}}


def make_video(images: Path, video: str, frames: int, boxed: dict[int, list]) -> tuple[str, str]:
    """A sequence of ``frames`` small JPEGs named from 0238 on (``frame-no`` counts from 0), and
    a SeqLabel.json with ``boxed[position]`` boxes ``(class-id, left, top, w, h)``; frame 1
    also carries a polygon, which must be skipped."""
    prefix = f"s3://bucket/videos/{video}/"
    names = [f"frame_{238 + k:04d}.jpeg" for k in range(frames)]
    for k, name in enumerate(names):
        make_image(images / key_path(prefix + name), 80, 60, color=(20 * k % 250, 90, 160))
    seq = {"seq-no": 1, "prefix": prefix, "number-of-frames": frames,
           "frames": [{"frame-no": k, "unix-timestamp": 1598758660 + k, "frame": n}
                      for k, n in enumerate(names)]}
    seq_ref = f"s3://bucket/videos/{video}/{video}.mp4-sequence-1598758660.json"
    (images / key_path(seq_ref)).write_text(json.dumps(seq))
    entries = []
    for k, boxes in boxed.items():
        entry = {"frame-no": str(k), "frame": names[k], "annotations": [
            {"height": h, "width": w, "top": t, "left": left, "class-id": cid,
             "label-category-attributes": {}, "object-id": f"id-{i}", "object-name": f"obj:{i}"}
            for i, (cid, left, t, w, h) in enumerate(boxes)]}
        if k == 1:
            entry["polygons"] = [{"vertices": [{"x": 1, "y": 1}, {"x": 5, "y": 1}]}]
        entries.append(entry)
    label_ref = f"s3://bucket/jobs/{video}/annotations/consolidated-annotation/output/0/SeqLabel.json"
    target = images / key_path(label_ref)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"tracking-annotations": entries}))
    return seq_ref, label_ref


def video_job(root: Path, videos: int = 6, frames: int = 4) -> Path:
    images = root / "images"
    lines = []
    for v in range(videos):
        # string and int class ids; frame 2 listed with no boxes, frame 3 not in the SeqLabel
        boxed = {0: [("0", 5, 5, 20, 10), (1, 30, 20, 10, 10)], 1: [("1", 10, 10, 15, 15)],
                 2: []}
        seq_ref, label_ref = make_video(images, f"clip{v}", frames, boxed)
        lines.append(video_line(seq_ref, label_ref, {0: "helmet", 1: "ball"}))
    return write_manifest(root / "output.manifest", lines)


def test_every_frame_is_a_sample_with_its_boxes(tmp_path: Path) -> None:
    manifest = video_job(tmp_path / "job", videos=1)
    result = read_manifest(manifest, ReadOptions(tmp_path / "job" / "images"))
    assert result.classes == ["helmet", "ball"]
    assert [len(s.boxes) for s in result.samples] == [2, 1, 0, 0]  # frames 2 and 3: negatives
    names = [f"clip0.mp4_frame_{238 + k:04d}.jpeg" for k in range(4)]  # video and frame
    assert [s.name for s in result.samples] == names
    first = result.samples[0]
    assert [b.class_index for b in first.boxes] == [0, 1] and first.tracks == ("obj:0", "obj:1")
    box = first.boxes[0]
    assert (box.cx, box.cy, box.w, box.h) == pytest.approx((15 / 80, 10 / 60, 20 / 80, 10 / 60))
    r = result.report
    assert (r.sequences, r.frames, r.video_shapes_skipped, r.negatives) == (1, 4, 1, 2)
    assert r.task == "object-detection"
    assert len(set(result.split_keys)) == 1  # one sequence, one split key


def test_all_frames_of_a_sequence_go_to_one_split(tmp_path: Path, capsys) -> None:
    manifest = video_job(tmp_path / "job", videos=12)
    out = tmp_path / "o"
    images = str(tmp_path / "job" / "images")
    assert main(["convert", "-a", str(manifest), "-i", images, "-o", str(out), "-s", "0.5",
                 "-f", "json"]) == 0
    text = capsys.readouterr().out
    assert "video: 12 sequences, 48 frames" in text
    assert "video polygons, polylines and keypoints skipped: 12" in text
    side: dict[str, set[str]] = {}
    for split in ("train", "val"):
        for path in (out / f"json_{split}").glob("*.json"):
            doc = json.loads(path.read_text())
            side.setdefault(doc["image"].split("_frame_")[0], set()).add(split)
            assert len(doc.get("tracks", [])) == len(doc["boxes"])  # a track per box
            assert all(t.startswith("obj:") for t in doc.get("tracks", []))
    assert len(side) == 12 and all(len(s) == 1 for s in side.values()), side
    assert {next(iter(s)) for s in side.values()} == {"train", "val"}


def test_video_frames_as_tfrecords(tmp_path: Path) -> None:
    manifest = video_job(tmp_path / "job", videos=2)
    out = tmp_path / "o"
    images = str(tmp_path / "job" / "images")
    assert main(["convert", "-a", str(manifest), "-i", images, "-o", str(out), "-q",
                 "-s", "0.5"]) == 0
    records = [decode_example(r) for p in sorted(out.glob("tfrecord_*/*.tfrecord"))
               for r in tf_record_iterator(p)]
    assert len(records) == 8
    assert sorted(len(r["objects"]) for r in records) == [0, 0, 0, 0, 1, 1, 2, 2]
    assert main(["verify", str(out)]) == 0


def test_a_dataset_inside_the_images_folder_is_not_read_back_as_frames(tmp_path: Path) -> None:
    """A video job converted twice into images/dataset (issue 27): frames go through the same
    image index as stills, which skips our dataset, and the second run gives the same bytes."""
    manifest = video_job(tmp_path / "job", videos=2)
    images = tmp_path / "job" / "images"
    out = images / "dataset"
    args = ["convert", "-a", str(manifest), "-i", str(images), "-o", str(out), "-q", "-f", "json"]
    assert main(args) == 0
    first = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert any(p.suffix == ".jpeg" for p in first)
    assert main([*args, "--overwrite"]) == 0
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first


def test_a_missing_frame_or_seqlabel_is_named(tmp_path: Path) -> None:
    manifest = video_job(tmp_path / "job", videos=1)
    images = tmp_path / "job" / "images"
    next(images.rglob("frame_0239.jpeg")).unlink()
    with pytest.raises(InputError, match="frame_0239.jpeg") as err:
        read_manifest(manifest, ReadOptions(images))
    assert err.value.line == 1
    next(images.rglob("SeqLabel.json")).unlink()
    with pytest.raises(InputError, match="SeqLabel.json"):
        read_manifest(manifest, ReadOptions(images))


@pytest.mark.parametrize("manifest_name, seqlabel_name", [
    ("video-tracking-output.manifest", "video-tracking-seqlabel-helmets.json"),
    ("video-tracking-output-with-prelabel.manifest",
     "video-tracking-seqlabel-no-frame-attributes.json"),
])
def test_real_video_jobs(tmp_path: Path, manifest_name: str, seqlabel_name: str) -> None:
    # the real line and SeqLabel excerpt; the sequence file and the frames are made for them
    manifest = FIXTURES / manifest_name
    line = json.loads(manifest.read_text().splitlines()[0])
    seqlabel = json.loads((FIXTURES / seqlabel_name).read_text())["tracking-annotations"]
    images = tmp_path / "images"
    ref_key = next(k for k in line if k.endswith("-ref") and f"{k}-metadata" in line)
    target = images / key_path(line[ref_key])
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / seqlabel_name, target)
    prefix = line["source-ref"].rsplit("/", 1)[0] + "/"
    frames = [e["frame"] for e in seqlabel]
    seq = {"prefix": prefix, "frames": [{"frame-no": k, "frame": f} for k, f in enumerate(frames)]}
    (images / key_path(line["source-ref"])).parent.mkdir(parents=True, exist_ok=True)
    (images / key_path(line["source-ref"])).write_text(json.dumps(seq))
    for frame in frames:
        make_image(images / key_path(prefix + frame), 1280, 720)
    result = read_manifest(manifest, ReadOptions(images, label_attribute=ref_key))
    assert len(result.samples) == len(frames)
    assert [len(s.boxes) for s in result.samples] == [len(e["annotations"]) for e in seqlabel]
    assert result.report.clipped_boxes == 0 and len(result.classes) == 1
