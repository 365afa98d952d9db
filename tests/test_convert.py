"""The converter end to end through the CLI: layout, every field, split, sizes, refusals."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from gt_helpers import det_line, write_manifest
from PIL import Image

from tfrecord_lite import decode_example, tf_record_iterator
from tfrecord_lite.format.shards import ShardName
from tfrecord_lite.tools.cli import main

COLORS = {0: (230, 30, 30), 1: (30, 200, 30), 2: (30, 30, 230)}
NAMES = {0: "no", 1: "null", 2: "1e3"}  # YAML would read these as bool, null, number


def make_job(root: Path, n: int, *, size=(96, 64), quality=90, start=0) -> Path:
    """n JPEGs with one coloured rectangle each (class i % 3), and their manifest."""
    lines = []
    for i in range(start, start + n):
        cls = i % 3
        w, h = size
        left, top, bw, bh = 10 + i % 7, 8 + i % 5, 40, 30
        img = Image.new("RGB", size, (250, 250, 250))
        img.paste(COLORS[cls], (left, top, left + bw, top + bh))
        path = root / "images" / f"img{i:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, "JPEG", quality=quality)
        ref = f"s3://bucket/job/images/img{i:04d}.jpg"
        lines.append(det_line(ref, [(cls, left, top, bw, bh)], {cls: NAMES[cls]}, (w, h)))
    if n and not start:
        lines.append(
            det_line("s3://bucket/job/images/img0000.jpg", [], {}, size)
            | {"source-ref": "s3://bucket/job/images/empty.jpg"}
        )
        Image.new("RGB", size, (0, 0, 0)).save(root / "images" / "empty.jpg", "JPEG")
    return write_manifest(root / "output.manifest", lines)


def records(folder: Path) -> list[dict]:
    out = []
    for path in sorted(folder.glob("*.tfrecord")):
        out += [decode_example(r) for r in tf_record_iterator(path)]
    return out


def run(*args) -> int:
    return main(["convert", *map(str, args)])


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "dataset_info.yaml"
    }


def test_tfrecord_layout_and_every_field(tmp_path, capsys) -> None:
    manifest = make_job(tmp_path / "job", 12)
    out = tmp_path / "out"
    assert run("-a", manifest, "-i", tmp_path / "job", "-o", out, "-s", "0.25", "-p", "1") == 0
    summary = capsys.readouterr().out
    assert "train" in summary and "images without objects: 1" in summary
    for name in NAMES.values():
        assert re.search(rf"\n +{name} +4 objects\n", summary)
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    assert info["classes"] == ["no", "null", "1e3"]  # strings, not False/None/1000.0
    assert info["type"] == "tfrecord"  # ModelPack 2.2 picks its reader by this key
    assert info["train"]["path"] == str(out / "tfrecord_train")
    assert info["validation"]["path"] == str(out / "tfrecord_val")
    assert info["train"]["annotations"] == str(out / "tfrecord_train")
    assert info["validation"]["images"] == str(out / "tfrecord_val")
    train, val = records(out / "tfrecord_train"), records(out / "tfrecord_val")
    assert info["train"]["samples"] == len(train) and info["validation"]["samples"] == len(val)
    assert len(train) + len(val) == 13
    for rec in train + val:
        assert set(rec) == {"image", "image_name", "width", "height", "objects", "bboxes"}
        name = rec["image_name"][0].decode()
        src = tmp_path / "job" / "images" / name
        assert rec["image"][0] == src.read_bytes()  # stored byte for byte
        assert rec["width"] == [96] and rec["height"] == [64]
        assert len(rec["bboxes"]) == 4 * len(rec["objects"])
        if name == "empty.jpg":
            assert rec["objects"] == [] and rec["bboxes"] == []
            continue
        i = int(name[3:7])
        assert rec["objects"] == [i % 3]
        left, top = 10 + i % 7, 8 + i % 5
        expect = [(left + 20) / 96, (top + 15) / 64, 40 / 96, 30 / 64]
        assert rec["bboxes"] == pytest.approx(expect, abs=1e-6)
        # the box lands on the drawn rectangle
        img = Image.open(io.BytesIO(rec["image"][0])).convert("RGB")
        cx, cy = rec["bboxes"][0] * 96, rec["bboxes"][1] * 64
        px = img.getpixel((int(cx), int(cy)))
        assert max(abs(a - b) for a, b in zip(px, COLORS[i % 3])) < 40


def test_reproducible_and_independent_of_workers(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 40)
    for name, workers in [("a", 1), ("b", 1), ("c", 2), ("d", 3)]:
        args = ("-a", manifest, "-o", tmp_path / name, "-q", "--workers", workers)
        assert run(*args, "-p", "0.01") == 0
    assert len(list((tmp_path / "a" / "tfrecord_train").iterdir())) > 3
    assert digest(tmp_path / "a") == digest(tmp_path / "b") == digest(tmp_path / "c")
    assert digest(tmp_path / "a") == digest(tmp_path / "d")


@pytest.mark.parametrize("range_bytes", [1, 5000])
def test_shards_written_in_byte_ranges_by_several_workers(tmp_path, monkeypatch,
                                                          range_bytes) -> None:
    # each shard is cut into ranges (one record each, or a few) that any worker may write
    from tfrecord_lite.pipeline import convert

    manifest = make_job(tmp_path / "job", 40)
    assert run("-a", manifest, "-o", tmp_path / "one", "-q", "-p", "0.01", "--workers", 1) == 0
    monkeypatch.setattr(convert, "_RANGE_BYTES", range_bytes)
    for workers in (2, 3):
        out = tmp_path / str(workers)
        assert run("-a", manifest, "-o", out, "-q", "-p", "0.01", "--workers", workers) == 0
        assert digest(out) == digest(tmp_path / "one")
    assert main(["verify", str(tmp_path / "3")]) == 0


def test_ranges_are_handed_out_a_shard_at_a_time_in_turn(tmp_path, monkeypatch) -> None:
    # workers writing at the same time then write different files, which the kernel fills one
    # write at a time: the first range of every shard, then every shard's second...
    from tfrecord_lite.pipeline import convert

    manifest = make_job(tmp_path / "job", 40)
    monkeypatch.setattr(convert, "_RANGE_BYTES", 5000)
    order: list[tuple[str, int]] = []
    write = convert._range_task

    def spy(job, task):
        order.append((task[0], task[1]))
        return write(job, task)

    monkeypatch.setattr(convert, "_range_task", spy)
    assert run("-a", manifest, "-o", tmp_path / "o", "-q", "-p", "0.01", "--workers", 1) == 0
    train = [(Path(p).name, offset) for p, offset in order if "tfrecord_train" in p]
    shard_count = len({name for name, _ in train})
    assert shard_count > 1 and len(train) > shard_count
    assert len({name for name, _ in train[:shard_count]}) == shard_count
    assert all(offset == 0 for _, offset in train[:shard_count])
    assert sorted(train) == sorted(set(train))  # each range once

@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("fmt", ["tfrecord", "json", "tfod"])
def test_progress_counts_every_image_of_each_split(tmp_path, monkeypatch, workers, fmt) -> None:
    from tfrecord_lite.pipeline import convert

    monkeypatch.setattr(convert, "_RANGE_BYTES", 5000)
    manifest = make_job(tmp_path / "job", 40)
    seen: dict[str, list[tuple[int, int]]] = {}
    options = convert.ConvertOptions(manifest, manifest.parent, tmp_path / "o", format=fmt,
                                     split=0.3, partition_mb=0.01, workers=workers)
    result = convert.convert(options, lambda split, done, total: seen.setdefault(
        split, []).append((done, total)))
    from tfrecord_lite.pipeline.progress import READ, SCAN

    size = manifest.stat().st_size
    for phase, calls in seen.items():
        split = phase.replace("measuring ", "")
        total = size if phase in (SCAN, READ) else result.splits[split].samples
        assert calls[-1] == (total, total), phase
        assert [d for d, _ in calls] == sorted({d for d, _ in calls})  # rising, no repeats
    measured = {"measuring train", "measuring validation"} if fmt != "json" else set()
    assert set(seen) == {SCAN, READ, "train", "validation"} | measured


def test_json_format_is_independent_of_workers(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 40)
    for name, workers in [("one", "1"), ("two", "2")]:
        assert run("-a", manifest, "-o", tmp_path / name, "-q", "-f", "json",
                   "--workers", workers) == 0
    assert digest(tmp_path / "one") == digest(tmp_path / "two")
    assert len(digest(tmp_path / "one")) > 40


def test_workers_with_exif_images_give_the_same_bytes(tmp_path, monkeypatch) -> None:
    from tfrecord_lite.pipeline import convert

    monkeypatch.setattr(convert, "_RANGE_BYTES", 20_000)  # several ranges a shard
    sample = Path(__file__).resolve().parents[1] / "examples" / "sample"
    for name, workers in [("one", "1"), ("two", "2")]:
        args = ["-a", sample / "output.manifest", "-i", sample, "-o", tmp_path / name, "-q"]
        assert run(*args, "-p", "0.04", "--workers", workers) == 0
    assert digest(tmp_path / "one") == digest(tmp_path / "two")
    assert len(digest(tmp_path / "one")) > 3
    assert main(["verify", str(tmp_path / "two")]) == 0
    hidden = [p.name for p in (tmp_path / "two").rglob(".*")]
    assert hidden == [".tfrecord-lite-files"]  # the inventory; no cache of upright images left


def test_converting_plain_jpegs_loads_neither_protobuf_nor_pillow(tmp_path) -> None:
    # both cost start-up time (about 50 ms together) and the converter needs neither: records
    # are written by hand and JPEG/PNG headers are read without Pillow
    manifest = make_job(tmp_path / "job", 6)
    code = ("import sys; from tfrecord_lite.tools.cli import main; "
            f"rc = main(['convert', '-a', {str(manifest)!r}, '-o', {str(tmp_path / 'out')!r}, "
            "'--quiet']); print(rc, sorted({m.split('.')[0] for m in sys.modules} & "
            "{'google', 'PIL'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split("\n")[-2] == "0 []", done.stdout + done.stderr


def test_split_is_stable_when_images_are_added(tmp_path) -> None:
    job = tmp_path / "job"
    manifest = make_job(job, 60)
    assert run("-a", manifest, "-o", tmp_path / "small", "-q", "-s", "0.3") == 0
    more = make_job(tmp_path / "job2", 60, start=60)
    for p in (tmp_path / "job2" / "images").iterdir():
        os.replace(p, job / "images" / p.name)
    manifest.write_text(manifest.read_text() + more.read_text())
    assert run("-a", manifest, "-o", tmp_path / "big", "-q", "-s", "0.3") == 0

    def names(out: Path, folder: str) -> set[str]:
        return {r["image_name"][0].decode() for r in records(out / folder)}

    small_val = names(tmp_path / "small", "tfrecord_val")
    assert small_val and small_val <= names(tmp_path / "big", "tfrecord_val")
    assert names(tmp_path / "small", "tfrecord_train") <= names(tmp_path / "big", "tfrecord_train")
    share = len(names(tmp_path / "big", "tfrecord_val")) / 121
    assert 0.15 < share < 0.45  # close to 0.3, binomial spread


@pytest.mark.parametrize("split,train,val", [("0", 13, 0), ("1", 0, 13)])
def test_split_ends_are_exact(tmp_path, split, train, val) -> None:
    manifest = make_job(tmp_path / "job", 12)
    assert run("-a", manifest, "-o", tmp_path / "o", "-q", f"--split={split}") == 0
    info = yaml.safe_load((tmp_path / "o" / "dataset_info.yaml").read_text())
    assert (info["train"]["samples"], info["validation"]["samples"]) == (train, val)
    assert len(records(tmp_path / "o" / "tfrecord_val")) == val


@pytest.mark.parametrize("n", [2, 3, 10])
@pytest.mark.parametrize("split", ["0.2", "0", "1"])
def test_split_rule_keeps_both_sides_or_warns(tmp_path, capsys, n, split) -> None:
    from dataset_helpers import unit_hash

    manifest = make_job(tmp_path / "job", n, start=1)  # exactly n lines, n images
    assert run("-a", manifest, "-o", tmp_path / "o", f"--split={split}") == 0
    captured = capsys.readouterr()
    info = yaml.safe_load((tmp_path / "o" / "dataset_info.yaml").read_text())
    train, val = info["train"]["samples"], info["validation"]["samples"]
    assert train + val == n
    assert len(records(tmp_path / "o" / "tfrecord_val")) == val
    if split == "0.2":
        assert train and val
        refs = [f"s3://bucket/job/images/img{i:04d}.jpg" for i in range(1, n + 1)]
        hashed_val = sum(unit_hash(r, 0) < 0.2 for r in refs)
        moved = hashed_val in (0, n)
        assert ("moved 1 image(s) so that neither split is empty" in captured.out) == moved
        assert val == (1 if hashed_val == 0 else n - 1 if hashed_val == n else hashed_val)
        assert "warning" not in captured.err + captured.out
    else:
        side = "validation" if split == "0" else "train"
        assert (val, train) == ((0, n) if split == "0" else (n, 0))
        assert f"--split {split} leaves {side} empty: ModelPack refuses" in captured.err  # start
        assert f"warning: --split {split} leaves {side} empty" in captured.out  # and summary
        assert "moved" not in captured.out


def test_partition_bounds_every_file_and_fills_shards(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 60, size=(160, 120), quality=95)
    limit_mb = 0.05
    assert (
        run("-a", manifest, "-o", tmp_path / "o", "-q", "-s", "0", f"--partition={limit_mb}") == 0
    )
    files = sorted((tmp_path / "o" / "tfrecord_train").iterdir())
    assert len(files) > 2
    limit = int(limit_mb * 1024 * 1024)
    sizes = [f.stat().st_size for f in files]
    assert all(s <= limit for s in sizes)
    assert sum(sizes) / len(files) > limit * 0.6  # filled, not many small ones
    parsed = [ShardName.parse(f.name) for f in files]
    assert [(p.prefix, p.index, p.count) for p in parsed] == [
        ("train", i, len(files)) for i in range(len(files))
    ]
    info = yaml.safe_load((tmp_path / "o" / "dataset_info.yaml").read_text())
    assert [f["bytes"] for f in info["tfrecord_lite"]["files"]["train"]] == sizes


def test_refuses_a_dataset_in_the_output_unless_overwrite(tmp_path, capsys) -> None:
    manifest = make_job(tmp_path / "job", 6)
    out = tmp_path / "out"
    assert run("-a", manifest, "-o", out, "-q") == 0
    first = (out / "dataset_info.yaml").read_bytes()
    assert run("-a", manifest, "-o", out, "-q", "--seed", "3") == 1
    err = capsys.readouterr().err
    assert "not empty" in err and "pass --overwrite" in err
    assert (out / "dataset_info.yaml").read_bytes() == first
    assert run("-a", manifest, "-o", out, "-q", "--seed", "3", "--overwrite") == 0
    assert sorted(p.name for p in out.iterdir()) == [
        ".tfrecord-lite-files",
        "dataset_info.yaml",
        "tfrecord_train",
        "tfrecord_val",
    ]
    assert "seed: 3" in (out / "dataset_info.yaml").read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_missing_parent_folders_are_created(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 3)
    out = tmp_path / "new" / "nested" / "out"
    assert run("-a", manifest, "-o", out, "-q") == 0
    assert (out / "dataset_info.yaml").exists()


def test_output_under_a_file_is_a_clear_error(tmp_path, capsys) -> None:
    manifest = make_job(tmp_path / "job", 3)
    (tmp_path / "afile").write_text("x")
    assert run("-a", manifest, "-o", tmp_path / "afile" / "out", "-q") == 1
    assert "cannot create the folder of --output" in capsys.readouterr().err


def test_empty_existing_output_is_used(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 6)
    (tmp_path / "out").mkdir()
    assert run("-a", manifest, "-o", tmp_path / "out", "-q") == 0
    assert (tmp_path / "out" / "dataset_info.yaml").exists()


def test_bad_input_writes_nothing(tmp_path, capsys) -> None:
    manifest = make_job(tmp_path / "job", 6)
    lines = manifest.read_text().splitlines()
    lines.insert(3, '{"source-ref": "s3://b/x.jpg", broken')
    manifest.write_text("\n".join(lines) + "\n")
    assert run("-a", manifest, "-o", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert f"{manifest}:4" in err
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["job"]  # no stage left behind
    assert run("-a", manifest, "-o", tmp_path / "out", "-q", "--skip-invalid") == 0
    info = yaml.safe_load((tmp_path / "out" / "dataset_info.yaml").read_text())
    assert info["train"]["samples"] + info["validation"]["samples"] == 7


@pytest.mark.parametrize(
    "args",
    [["-s", "1.5"], ["-s", "x"], ["-p", "0"], ["-p", "-3"], ["-f", "yolo"], ["--workers", "0"]],
)
def test_usage_errors_exit_2(tmp_path, args, capsys) -> None:
    manifest = make_job(tmp_path / "job", 1)
    assert run("-a", manifest, "-o", tmp_path / "o", *args) == 2
    assert "error" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_missing_manifest_exit_1(tmp_path, capsys) -> None:
    assert run("-a", tmp_path / "nope.manifest", "-o", tmp_path / "o") == 1
    assert "nope.manifest" in capsys.readouterr().err


def test_path_prefix_and_env_defaults(tmp_path, monkeypatch) -> None:
    manifest = make_job(tmp_path / "job", 4)
    monkeypatch.setenv("TFRECORD_LITE_IMAGES", str(tmp_path / "job"))
    monkeypatch.setenv("TFRECORD_LITE_OUTPUT", str(tmp_path / "envout"))
    assert main(["convert", f"--annotations={manifest}", "--path-prefix=/data/ds", "-q"]) == 0
    info = yaml.safe_load((tmp_path / "envout" / "dataset_info.yaml").read_text())
    assert info["train"]["annotations"] == "/data/ds/tfrecord_train"
    assert info["validation"]["images"] == "/data/ds/tfrecord_val"
    assert info["train"]["path"] == "/data/ds/tfrecord_train"


def test_workers_auto(tmp_path) -> None:
    from tfrecord_lite.pipeline.api import auto_workers

    small = make_job(tmp_path / "job", 3)
    assert auto_workers(small) == 1
    big = tmp_path / "big.manifest"
    big.write_bytes(small.read_bytes() * 400)
    assert 1 <= auto_workers(big) <= min(8, len(os.sched_getaffinity(0)))
    assert run("-a", small, "-o", tmp_path / "o", "-q", "--workers", "auto") == 0
