"""``--engine beam`` without the extra, with options it does not take, or a format it does not
write: one line and exit 2 before any work (the engine itself: tests/beam, make beam)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tfrecord_lite.tools.cli import main

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "sample"


def convert(tmp_path: Path, *extra: str) -> list[str]:
    return ["convert", "-a", str(SAMPLE / "output.manifest"), "-i", str(SAMPLE), "-o",
            str(tmp_path / "out"), *extra]


def refused(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


def test_without_the_extra_says_what_to_install(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "apache_beam", None)  # as if not installed
    err = refused(capsys, convert(tmp_path, "--engine", "beam"))
    assert "pip install 'tfrecord-lite-tools[beam]'" in err
    assert not (tmp_path / "out").exists()


def test_the_python_entry_point_without_the_extra(tmp_path, monkeypatch) -> None:
    from tfrecord_lite.pipeline import beam
    from tfrecord_lite.pipeline.convert import ConvertOptions
    from tfrecord_lite.pipeline.errors import OutputError

    monkeypatch.setitem(sys.modules, "apache_beam", None)
    with pytest.raises(OutputError, match=r"tfrecord-lite-tools\[beam\]"):
        beam.convert(ConvertOptions(SAMPLE / "output.manifest", SAMPLE, tmp_path / "out"))
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fmt", ["coco", "edgefirst"])
def test_other_formats_are_refused(tmp_path, capsys, fmt) -> None:
    err = refused(capsys, convert(tmp_path, "--engine", "beam", "-f", fmt))
    assert f"--engine beam writes -f tfrecord, json, darknet only; convert -f {fmt} without " \
        "--engine beam" in err


def test_beam_options_need_the_beam_engine(tmp_path, capsys) -> None:
    err = refused(capsys, convert(tmp_path, "--", "--runner=DataflowRunner"))
    assert "--runner=DataflowRunner" in err and "--engine beam" in err


def test_beam_options_come_after_a_lone_double_dash(tmp_path, capsys) -> None:
    err = refused(capsys, convert(tmp_path, "--engine", "beam", "stray"))
    assert "stray" in err and "after a lone --" in err


def test_the_api_takes_the_engine_by_name(tmp_path, monkeypatch) -> None:
    import tfrecord_lite
    from tfrecord_lite.pipeline.errors import OutputError

    manifest = SAMPLE / "output.manifest"
    with pytest.raises(ValueError, match="engine must be one of local, beam"):
        tfrecord_lite.convert(manifest, tmp_path / "out", engine="spark")
    with pytest.raises(ValueError, match="pipeline_args"):
        tfrecord_lite.convert(manifest, tmp_path / "out", pipeline_args=["--runner=X"])
    monkeypatch.setitem(sys.modules, "apache_beam", None)
    with pytest.raises(OutputError, match=r"tfrecord-lite-tools\[beam\]"):
        tfrecord_lite.convert(manifest, tmp_path / "out", engine="beam")
    assert not list(tmp_path.iterdir())
