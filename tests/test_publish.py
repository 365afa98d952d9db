"""Never half-written: SIGKILL at random moments, two runs racing, a full disk, mount points."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from test_convert import make_job, records

from tfrecord_lite.cli import main
from tfrecord_lite.publish import Stage


def convert_cmd(manifest: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tfrecord_lite",
        "convert",
        "-a",
        str(manifest),
        "-o",
        str(out),
        "-q",
        "-p",
        "0.02",
        *extra,
    ]


def assert_whole_or_absent(out: Path, expected: int) -> bool:
    """The output folder does not exist, or it holds a complete dataset. True if complete."""
    if not out.exists():
        return False
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    train, val = records(out / "tfrecord_train"), records(out / "tfrecord_val")
    assert (info["train"]["samples"], info["validation"]["samples"]) == (len(train), len(val))
    assert len(train) + len(val) == expected
    assert main(["verify", str(out)]) == 0  # and `tfrecord-lite verify` passes it
    return True


def test_sigkill_at_random_moments_leaves_nothing_or_a_whole_dataset(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 150, size=(200, 150))
    start = time.monotonic()
    subprocess.run(convert_cmd(manifest, tmp_path / "timing"), check=True)
    duration = time.monotonic() - start
    rng = random.Random(7)
    complete = 0
    out = tmp_path / "out"
    for _ in range(8):
        proc = subprocess.Popen(convert_cmd(manifest, out, "--overwrite"))
        time.sleep(rng.uniform(0.05, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        complete += assert_whole_or_absent(out, 151)
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
        # a killed run may leave its hidden stage; the next run removes it
        subprocess.run(convert_cmd(manifest, tmp_path / "again", "--overwrite"), check=True)
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], leftovers
    # rerunning into the same output works without manual cleanup
    subprocess.run(convert_cmd(manifest, out, "--overwrite"), check=True)
    assert assert_whole_or_absent(out, 151)


def test_two_runs_racing_for_one_output(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 80)
    out = tmp_path / "out"
    procs = [
        subprocess.Popen(convert_cmd(manifest, out), stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 1], results
    loser = next(err for rc, err in results if rc == 1)
    assert "nothing was published" in loser or "not empty" in loser
    assert assert_whole_or_absent(out, 81)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def _failing_writes(monkeypatch, after: int) -> None:
    """The disk fills up after ``after`` of the writers' system calls."""
    import tfrecord_lite.records as records

    real = records._WRITEV
    count = {"n": 0}

    def writev(fd, pieces):
        count["n"] += 1
        if count["n"] > after:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, pieces)

    monkeypatch.setattr(records, "_WRITEV", writev)


def test_disk_full_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch, capsys) -> None:
    manifest = make_job(tmp_path / "job", 20)
    _failing_writes(monkeypatch, after=1)  # the first shard is written, the second is not
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "out"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "no space left on device" in err and "nothing was published" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job"]


@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="needs root to mount")
def test_disk_full_on_a_real_small_filesystem(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 60, size=(320, 240))
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        proc = subprocess.run(convert_cmd(manifest, small / "out"), capture_output=True, text=True)
        assert proc.returncode == 1, proc.stderr
        assert "no space left on device" in proc.stderr
        assert os.listdir(small) == []
        # a mount point as output (a container's /data_out): staged inside, info written last
        proc = subprocess.run(convert_cmd(manifest, small), capture_output=True, text=True)
        assert proc.returncode == 1 and "no space left" in proc.stderr
        assert os.listdir(small) == []
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_in_place_publish_for_mount_points(tmp_path, monkeypatch) -> None:
    manifest = make_job(tmp_path / "job", 10)
    out = tmp_path / "mnt"
    out.mkdir()
    monkeypatch.setattr(os.path, "ismount", lambda p: Path(p) == out)
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-q"]) == 0
    assert sorted(os.listdir(out)) == ["dataset_info.yaml", "tfrecord_train", "tfrecord_val"]
    assert assert_whole_or_absent(out, 11)
    # a second run is refused while a first holds the lock
    stage = Stage(out, overwrite=True)
    assert stage.in_place
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-q", "--overwrite"]) == 1
    stage.discard()
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-q", "--overwrite"]) == 0
    assert sorted(os.listdir(out)) == ["dataset_info.yaml", "tfrecord_train", "tfrecord_val"]
