"""``--engine beam`` on Beam's FnApiRunner (pinned: the DirectRunner would first try Prism,
which downloads a binary): the same bytes as the single-machine converter, the same counts,
the same one-line errors and the same publishing rules.  Runs in ``.venv-beam`` (make beam)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the unit suite's job makers

from gt_helpers import det_line, make_image, write_manifest  # noqa: E402

from tfrecord_lite.pipeline.groundtruth import reader  # noqa: E402
from tfrecord_lite.tools.cli import main  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"
CLASSES = {0: "cat", 1: "dog", 2: "bird"}


def files(folder: Path) -> dict[str, str]:
    """Every file's SHA-256, dataset_info.yaml and the inventory included."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def both(tmp_path: Path, capsys, args: list, beam_args: list = ()) -> tuple[dict, dict]:
    """Convert with each engine into the same output path (the yaml names it); returns each
    run's files and --json summary."""
    out = tmp_path / "out"
    seen = []
    for engine in ("local", "beam"):
        extra = ["--engine", "beam", *(["--", *beam_args] if beam_args else [])] \
            if engine == "beam" else []
        shutil.rmtree(out, ignore_errors=True)
        code = main(["convert", *map(str, args), "-o", str(out), "--json", *extra])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        summary = json.loads(captured.out)
        summary.pop("seconds")
        seen.append((files(out), summary, captured.err.splitlines()))
    (plain, plain_summary, plain_err), (beam, beam_summary, beam_err) = seen
    assert beam_summary == plain_summary
    assert beam == plain
    assert beam_err == plain_err  # the same warnings: one line per skipped item, in order
    return plain, plain_summary


def job(root: Path, n: int, bad: bool = False) -> Path:
    """n small JPEGs (every 4th a PNG, every 9th EXIF-rotated) and their manifest; with
    ``bad``, also a malformed line, a missing image, a truncated image and a box of an unknown
    class."""
    lines = []
    for i in range(n):
        ext = "png" if i % 4 == 3 else "jpg"
        name = f"img{i:04d}.{ext}"
        make_image(root / "images" / name, 40 + i % 13, 30 + i % 7, color=(i % 250, 60, 90),
                   exif_orientation=6 if i % 9 == 5 and ext == "jpg" else None)
        boxes = [(i % 3, 2, 3, 10 + i % 5, 8), ((i + 1) % 3, 5, 1, 6, 6)][: 1 + i % 2]
        lines.append(det_line(f"s3://bucket/images/{name}", boxes if i % 11 else [], CLASSES))
    if bad:
        lines.insert(3, "{not json")
        lines.append(det_line("s3://bucket/images/missing.jpg", [(0, 1, 1, 5, 5)], CLASSES))
        cut = root / "images" / "cut.jpg"
        make_image(cut, 50, 40)
        cut.write_bytes(cut.read_bytes()[:-40])
        lines.append(det_line("s3://bucket/images/cut.jpg", [(0, 1, 1, 5, 5)], CLASSES))
        lines.append(det_line("s3://bucket/images/img0001.jpg", [(7, 1, 1, 5, 5)], CLASSES))
    return write_manifest(root / "output.manifest", lines)


@pytest.mark.parametrize("split,partition,seed", [
    ("0.25", "0.05", "0"),  # several shards a split
    ("0.5", "100", "7"),  # one shard a split
    ("0", "0.03", "3"),  # an empty validation split: no shard, its folder still there
])
def test_sample_same_bytes_as_plain_converter(tmp_path, capsys, split, partition, seed) -> None:
    plain, summary = both(tmp_path, capsys, ["-a", SAMPLE / "output.manifest", "-i", SAMPLE,
                                             "-s", split, "-p", partition, "--seed", seed])
    shards = [f for f in plain if f.endswith(".tfrecord")]
    assert len(shards) == sum(s["files"] for s in summary["splits"].values()) >= 1
    if partition == "0.05":
        assert summary["splits"]["train"]["files"] > 1
    assert summary["fixes"]["JPEGs re-encoded upright (EXIF)"] == 3  # via the upright cache


@pytest.mark.parametrize("fmt", ["json", "darknet"])
def test_per_image_formats_same_bytes(tmp_path, capsys, fmt) -> None:
    plain, summary = both(tmp_path, capsys, ["-a", SAMPLE / "output.manifest", "-i", SAMPLE,
                                             "-s", "0.3", "--seed", "4", "-f", fmt])
    assert summary["splits"]["validation"]["samples"] >= 1
    assert sum(1 for f in plain if f.endswith(".json" if fmt == "json" else ".txt")) >= 13


def test_many_spans_two_worker_processes_same_bytes(tmp_path, capsys, monkeypatch) -> None:
    # spans of ~2 KB: the census, class table and index merge many spans read by two processes
    monkeypatch.setattr(reader, "SPAN_BYTES", 2000)
    manifest = job(tmp_path / "job", 120)
    plain, summary = both(tmp_path, capsys, ["-a", manifest, "-i", tmp_path / "job", "-s", "0.3",
                                             "-p", "0.02", "--seed", "5", "--workers", "2"])
    assert summary["splits"]["train"]["samples"] + summary["splits"]["validation"]["samples"] \
        == 120
    assert summary["splits"]["train"]["files"] >= 3


@pytest.mark.parametrize("fmt", ["tfrecord", "json"])
def test_skip_invalid_counts_equal(tmp_path, capsys, fmt) -> None:
    manifest = job(tmp_path / "job", 30, bad=True)
    _, summary = both(tmp_path, capsys, ["-a", manifest, "-i", tmp_path / "job", "-p", "0.01",
                                         "--skip-invalid", "-f", fmt])
    assert sum(summary["skipped"].values()) == 4, summary["skipped"]
    assert summary["skipped"]["bad-json"] == 1


def test_explicit_runner_option_after_double_dash(tmp_path, capsys) -> None:
    both(tmp_path, capsys, ["-a", SAMPLE / "output.manifest", "-i", SAMPLE, "-p", "0.1"],
         ["--runner=FnApiRunner", "--direct_num_workers=1"])


def test_bad_line_is_one_line_and_nothing_is_left(tmp_path, capfd) -> None:
    manifest = job(tmp_path / "job", 8, bad=True)
    out = tmp_path / "out"
    code = main(["convert", "-a", str(manifest), "-i", str(tmp_path / "job"), "-o", str(out),
                 "--engine", "beam", "--workers", "2"])
    err = capfd.readouterr().err
    assert code == 1
    assert err.startswith(f"tfrecord-lite convert: error: {manifest}:4: malformed JSON"), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job"]  # no output, no stage


def test_missing_image_stops_like_the_plain_converter(tmp_path, capfd) -> None:
    root = tmp_path / "job"
    job(root, 4)
    lines = (root / "output.manifest").read_text().splitlines()
    lines.append(json.dumps(det_line("s3://bucket/images/gone.jpg", [(0, 1, 1, 5, 5)], CLASSES)))
    (root / "output.manifest").write_text("\n".join(lines) + "\n")
    errors = []
    for engine in ("local", "beam"):
        code = main(["convert", "-a", str(root / "output.manifest"), "-i", str(root), "-o",
                     str(tmp_path / engine), "--engine", engine, "-q"])
        assert code == 1
        errors.append(capfd.readouterr().err)
    assert errors[0] == errors[1] and "gone.jpg" in errors[0]
    assert not (tmp_path / "beam").exists()


def test_overwrite_replaces_only_our_dataset(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    args = ["convert", "-a", str(SAMPLE / "output.manifest"), "-i", str(SAMPLE), "-o", str(out),
            "-q", "--engine", "beam"]
    assert main(args) == 0
    first = files(out)
    assert main(args) == 1  # a dataset is there: refused without --overwrite
    assert files(out) == first
    assert main([*args, "-p", "0.05", "--overwrite"]) == 0
    assert files(out) != first
    assert not [p for p in tmp_path.iterdir() if p.name != "out"]  # no stage left beside it
    (out / "mine.txt").write_text("not the converter's")
    assert main([*args, "--overwrite"]) == 1  # a foreign file: refused even with --overwrite
    assert (out / "mine.txt").exists()
    err = capsys.readouterr().err
    assert "mine.txt" in err


def test_python_entry_point(tmp_path) -> None:
    import tfrecord_lite

    opts = dict(partition_mb=0.05, seed=2, skip_invalid=True)
    manifest = job(tmp_path / "job", 12, bad=True)
    told: dict[str, list] = {"local": [], "beam": []}
    results = {}
    for engine in ("local", "beam"):
        shutil.rmtree(tmp_path / "out", ignore_errors=True)
        results[engine] = tfrecord_lite.convert(
            manifest, tmp_path / "out", engine=engine, on_skip=told[engine].append, **opts,
            **({"pipeline_args": ["--direct_num_workers=1"]} if engine == "beam" else {}))
        if engine == "local":
            os.rename(tmp_path / "out", tmp_path / "kept")
    assert files(tmp_path / "out") == files(tmp_path / "kept")
    plain, beam = results["local"], results["beam"]
    assert beam.splits == plain.splits and beam.report == plain.report
    assert beam.objects == plain.objects and beam.bytes == plain.bytes
    assert [str(e) for e in told["beam"]] == [str(e) for e in told["local"]]
    assert len(told["local"]) == 4


def test_a_source_told_from_its_layout_is_refused_not_read_as_a_manifest(tmp_path, capsys):
    """Without --from the input is told only after the CLI's own checks: beam.convert refuses a
    YOLO folder there too (it used to read data.yaml as a manifest and fail on its first line)."""
    from source_helpers import dataset, write_yolo

    config = write_yolo(tmp_path / "y", dataset(3))
    assert main(["convert", "-a", str(config), "-o", str(tmp_path / "o"), "--engine", "beam"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--engine beam reads Ground Truth manifests only" in err, err
    assert not (tmp_path / "o").exists()
