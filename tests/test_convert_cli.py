"""The convert command as a user meets it: what it prints, and what it does when it cannot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gt_helpers import det_line, make_image, write_manifest

from tfrecord_lite.cli import main


def surrogate_job(root: Path) -> Path:
    """A class name with a lone surrogate, as a manifest's ``\\ud800`` escape gives one."""
    lines = []
    for name in ("a", "b", "c"):
        make_image(root / "images" / f"{name}.jpg", 64, 48)
        ref = f"s3://bucket/images/{name}.jpg"
        line = det_line(ref, [(0, 1, 1, 10, 10)], {0: "bad\ud800name"}, (64, 48))
        lines.append(json.dumps(line))  # ASCII, the surrogate as its escape
    return write_manifest(root / "output.manifest", lines)


@pytest.mark.parametrize("fmt", ["tfrecord", "json"])
def test_a_class_name_with_a_lone_surrogate_converts_and_prints(tmp_path, capsys, fmt) -> None:
    manifest = surrogate_job(tmp_path / "job")
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "out"), "-f", fmt]) == 0
    captured = capsys.readouterr()
    assert "bad\\ud800name" in captured.out and "Traceback" not in captured.err
    if fmt == "json":
        docs = [json.loads(p.read_text("ascii")) for p in (tmp_path / "out").rglob("*.json")]
        assert docs and {o["label"] for d in docs for o in d["objects"]} == {"bad\ud800name"}


def test_a_summary_that_cannot_be_printed_does_not_fail_a_published_dataset(tmp_path) -> None:
    manifest = surrogate_job(tmp_path / "job")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "tfrecord_lite", "convert", "-a", str(manifest), "-o", str(out)]
    with open("/dev/full", "w") as full:
        proc = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("\n") == 1 and "summary could not be printed" in proc.stderr
    assert main(["verify", str(out)]) == 0


def sample_job(tmp_path: Path, bad_lines: tuple[str, ...] = ()) -> Path:
    root = tmp_path / "job"
    lines = []
    for name in ("a", "b", "c", "d"):
        make_image(root / "images" / f"{name}.jpg", 64, 48)
        lines.append(det_line(f"s3://bucket/images/{name}.jpg", [(0, 1, 1, 10, 10)], {0: "cat"},
                              (64, 48)))
    return write_manifest(root / "output.manifest", lines + list(bad_lines))


def test_typos_are_reported_by_convert_with_a_guess(tmp_path, capsys) -> None:
    manifest = sample_job(tmp_path)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "--partion", "5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: tfrecord-lite convert")
    assert "did you mean --partition?" in err


def test_abbreviated_options_are_not_taken_for_overwrite(tmp_path, capsys) -> None:
    manifest = sample_job(tmp_path)
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-q"]) == 0
    assert main(["convert", "-a", str(manifest), "-o", str(out), "--over"]) == 2
    assert "did you mean --overwrite?" in capsys.readouterr().err


def test_a_percentage_as_split_gets_the_fraction_it_meant(tmp_path, capsys) -> None:
    manifest = sample_job(tmp_path)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "-s", "20"]) == 2
    assert "20% is -s 0.2" in capsys.readouterr().err


def test_a_partition_too_large_to_count_is_a_usage_error(tmp_path, capsys) -> None:
    manifest = sample_job(tmp_path)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "-p", "1e308"]) == 2
    err = capsys.readouterr().err
    assert "at most 1048576" in err and "Traceback" not in err


def test_every_subcommand_has_version(capsys) -> None:
    from tfrecord_lite import __version__

    for command in ("convert", "inspect", "verify", "preview"):
        assert main([command, "--version"]) == 0
        assert capsys.readouterr().out.strip() == f"tfrecord-lite {__version__}"


def test_json_summary_for_scripts(tmp_path, capsys) -> None:
    manifest = sample_job(tmp_path)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["classes"] == [{"name": "cat", "objects": 4}]
    assert doc["splits"]["train"]["samples"] + doc["splits"]["validation"]["samples"] == 4
    assert doc["bytes"] == sum(p.stat().st_size for p in (tmp_path / "o").rglob("*.tfrecord"))


def test_dry_run_lists_every_problem_and_writes_nothing(tmp_path, capsys) -> None:
    bad = ('{"source-ref": "s3://bucket/images/gone.jpg", "job": {"annotations": []}, '
           '"job-metadata": {"type": "groundtruth/object-detection", "class-map": {}}}',
           "{broken")
    manifest = sample_job(tmp_path, bad)
    out = tmp_path / "o"
    before = sorted(tmp_path.rglob("*"))
    assert main(["convert", "-a", str(manifest), "-o", str(out), "--dry-run"]) == 1
    text = capsys.readouterr().out
    assert "4 images would be converted" in text and "nothing was written" in text
    assert "missing-image: 1" in text and "bad-json: 1" in text
    assert sorted(tmp_path.rglob("*")) == before
    # with --skip-invalid the same run would succeed
    args = ["convert", "-a", str(manifest), "-o", str(out), "--dry-run", "--skip-invalid", "--json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["invalid"] == 2 and doc["samples"] == 4 and not doc["would_fail"]
    # and a run that stops at the first bad line says how to see them all
    assert main(["convert", "-a", str(manifest), "-o", str(out)]) == 1
    assert "--dry-run lists every problem" in capsys.readouterr().err
    assert not out.exists()
