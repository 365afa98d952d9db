"""``tfrecord_lite.convert``: the converter as a Python call, with the CLI's defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from gt_helpers import det_line, make_image, write_manifest

import tfrecord_lite
from tfrecord_lite.tools.cli import main


def _job(root: Path, n: int = 6) -> Path:
    lines = []
    for k in range(n):
        make_image(root / f"{k}.jpg", 64, 48)
        lines.append(det_line(f"s3://b/job/{k}.jpg", [(0, 4, 4, 20, 20)], {0: "cat"}, (64, 48)))
    return write_manifest(root / "output.manifest", lines)


def test_convert_defaults_to_the_cli_defaults_and_returns_its_json_summary(tmp_path, capsys):
    manifest = _job(tmp_path / "job")
    result = tfrecord_lite.convert(manifest, tmp_path / "api")  # images: the manifest's folder
    assert isinstance(result, tfrecord_lite.ConvertResult)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "cli"), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    got = result.to_dict()
    for data in (got, printed):
        data.pop("seconds"), data.pop("output")
    assert got == printed
    assert got["splits"]["train"]["samples"] + got["splits"]["validation"]["samples"] == 6
    api, cli = tmp_path / "api", tmp_path / "cli"  # the same dataset, file for file
    files = sorted(p.relative_to(api) for p in api.rglob("*.tfrecord"))
    assert files == sorted(p.relative_to(cli) for p in cli.rglob("*.tfrecord"))
    assert all((api / f).read_bytes() == (cli / f).read_bytes() for f in files)
    info = yaml.safe_load((tmp_path / "api" / "dataset_info.yaml").read_text())
    assert info["classes"] == ["cat"]


def test_convert_takes_the_options_by_name(tmp_path) -> None:
    manifest = _job(tmp_path / "job")
    result = tfrecord_lite.convert(str(manifest), str(tmp_path / "o"), format="json", split=0.5,
                                   seed=3, workers=2)
    assert result.to_dict()["splits"]["validation"]["folder"] == "json_val"
    assert (tmp_path / "o" / "json_train").is_dir()


def test_skipped_items_reach_the_callback_and_the_summary(tmp_path) -> None:
    manifest = _job(tmp_path / "job")
    (tmp_path / "job" / "2.jpg").unlink()
    told = []
    result = tfrecord_lite.convert(manifest, tmp_path / "o", skip_invalid=True,
                                   on_skip=told.append)
    assert [e.reason for e in told] == ["missing-image"]
    assert result.to_dict()["skipped"] == {"missing-image": 1}
    with pytest.raises(tfrecord_lite.InputError, match="2.jpg"):
        tfrecord_lite.convert(manifest, tmp_path / "o2")
    assert not (tmp_path / "o2").exists()


@pytest.mark.parametrize("bad, match", [
    ({"format": "csv"}, "format must be one of"),
    ({"split": 20}, "outside \\[0, 1\\]"),
    ({"partition_mb": 0}, "positive"),
    ({"workers": 0}, "workers"),
    ({"exif_frame": "sideways"}, "exif_frame"),
])
def test_bad_arguments_are_named(tmp_path, bad, match) -> None:
    manifest = _job(tmp_path / "job", 1)
    with pytest.raises(ValueError, match=match):
        tfrecord_lite.convert(manifest, tmp_path / "o", **bad)
    assert not (tmp_path / "o").exists()


def test_a_missing_manifest_is_an_input_error(tmp_path) -> None:
    with pytest.raises(tfrecord_lite.InputError, match="does not exist"):
        tfrecord_lite.convert(tmp_path / "nope.manifest", tmp_path / "o")
    with pytest.raises(tfrecord_lite.OutputError):
        manifest = _job(tmp_path / "job", 1)
        (tmp_path / "taken").mkdir()
        (tmp_path / "taken" / "thesis.tex").write_text("mine")
        tfrecord_lite.convert(manifest, tmp_path / "taken")
    assert (tmp_path / "taken" / "thesis.tex").read_text() == "mine"
