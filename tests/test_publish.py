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

from tfrecord_lite.pipeline.publish import INVENTORY, Stage
from tfrecord_lite.tools.cli import main

DATASET = [INVENTORY, "dataset_info.yaml", "tfrecord_train", "tfrecord_val"]


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
    if info["tfrecord_lite"]["format"] == "json":
        train, val = (list((out / f"json_{s}").glob("*.json")) for s in ("train", "val"))
    else:
        train, val = records(out / "tfrecord_train"), records(out / "tfrecord_val")
    assert (info["train"]["samples"], info["validation"]["samples"]) == (len(train), len(val))
    assert len(train) + len(val) == expected
    assert main(["verify", str(out)]) == 0  # and `tfrecord-lite verify` passes it
    return True


@pytest.mark.parametrize("inside", [False, True], ids=["beside-the-job", "inside-images"])
def test_sigkill_at_random_moments_leaves_nothing_or_a_whole_dataset(tmp_path, inside) -> None:
    manifest = make_job(tmp_path / "job", 150, size=(200, 150))
    where = tmp_path / "job" / "images" if inside else tmp_path
    extra = ("-f", "json") if inside else ()  # images in the dataset, beside the job's own
    start = time.monotonic()
    subprocess.run(convert_cmd(manifest, tmp_path / "timing", *extra), check=True)
    duration = time.monotonic() - start
    rng = random.Random(7)
    complete = 0
    out = where / "out"
    for _ in range(8 if not inside else 5):
        proc = subprocess.Popen(convert_cmd(manifest, out, "--overwrite", *extra))
        time.sleep(rng.uniform(0.05, duration * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        complete += assert_whole_or_absent(out, 151)
        leftovers = [p.name for p in where.iterdir() if p.name.startswith(".")]
        # a killed run may leave its hidden stage (never read as images); the next run removes it
        subprocess.run(convert_cmd(manifest, where / "again", "--overwrite", *extra), check=True)
        assert not [p.name for p in where.iterdir() if p.name.startswith(".")], leftovers
    # rerunning into the same output works without manual cleanup
    subprocess.run(convert_cmd(manifest, out, "--overwrite", *extra), check=True)
    assert assert_whole_or_absent(out, 151)
    if inside:
        assert len(list(where.glob("*.jpg"))) == 151


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
    import tfrecord_lite.format.records as records

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
    assert sorted(os.listdir(out)) == DATASET
    assert assert_whole_or_absent(out, 11)
    # a second run is refused while a first holds the lock
    stage = Stage(out, overwrite=True)
    assert stage.in_place
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-q", "--overwrite"]) == 1
    stage.discard()
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-q", "--overwrite"]) == 0
    assert sorted(os.listdir(out)) == DATASET


# --- --overwrite replaces a dataset, never anything else (issue 13 §1) ---------------------------


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` with its bytes: what must survive a refused run."""
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def convert(*args: object) -> int:
    return main(["convert", *map(str, args), "-q"])


def test_output_that_is_or_holds_the_jobs_folders_is_refused_even_with_overwrite(
    tmp_path, capsys
) -> None:
    manifest = make_job(tmp_path / "job", 13)
    before = snapshot(tmp_path)
    images = tmp_path / "job" / "images"
    for out, extra, relation in [
        (tmp_path / "job", (), "is the manifest's folder"),  # (and -i's default)
        (tmp_path / "job", ("-i", images), "is the manifest's folder"),
        (images, ("-i", images), "is the images folder"),
        (tmp_path, ("-i", images), "holds the manifest's folder"),
        (tmp_path / "job" / "images", (), "holds the images folder"),  # -i images/ below
        (manifest, (), "is the manifest's folder"),  # a file: no folder ever stands there
    ]:
        if out == tmp_path / "job" / "images" and not extra:
            extra = ("-i", images / "sub")
            (images / "sub").mkdir(exist_ok=True)
            before = snapshot(tmp_path)
        assert convert("-a", manifest, "-o", out, "--overwrite", *extra) == 1, out
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error: " in err, err
        if out != manifest:
            assert relation in err, err
        assert snapshot(tmp_path) == before, out


def test_a_dataset_inside_the_jobs_folders_is_written_and_replaced(
    tmp_path, monkeypatch, capsys
) -> None:
    """The most natural command (``cd job; convert -a output.manifest -o dataset``) works, and
    so does a dataset inside the images folder: a later run never reads it back as images."""
    job = tmp_path / "job"
    make_job(job, 13)
    (job / "images" / "sub").mkdir()  # a unique file name found anywhere is matched by name
    (job / "images" / "img0003.jpg").rename(job / "images" / "sub" / "img0003.jpg")
    images_before = snapshot(job / "images")
    monkeypatch.chdir(job)
    assert convert("-a", "output.manifest", "-o", "dataset") == 0
    first = snapshot(job / "dataset")
    assert convert("-a", "output.manifest", "-o", "dataset") == 1
    assert "pass --overwrite" in capsys.readouterr().err
    assert convert("-a", "output.manifest", "-o", "dataset", "--overwrite") == 0
    assert snapshot(job / "dataset") == first
    assert_whole_or_absent(job / "dataset", 14)
    for fmt in ("json", "darknet", "coco", "tfrecord"):
        out = job / "images" / f"dataset-{fmt}"
        assert convert("-a", "output.manifest", "-o", out, "-f", fmt) == 0, fmt
        made = snapshot(out)
        assert made and any(name.endswith("img0003.jpg") for name in made) or fmt == "tfrecord"
        assert convert("-a", "output.manifest", "-o", out, "-f", fmt, "--overwrite") == 0, \
            capsys.readouterr().err
        assert snapshot(out) == made, fmt  # the same bytes: nothing of the first run read back
    assert "ambiguous" not in capsys.readouterr().err
    # the images folder holds what it held, and our datasets beside them
    after = snapshot(job / "images")
    assert {k: v for k, v in after.items() if not k.startswith("dataset-")} == images_before
    assert not [p.name for p in (job / "images").iterdir() if p.name.startswith(".")]


def test_an_image_reference_into_our_dataset_is_not_found(tmp_path, capsys) -> None:
    """A reference that only a dataset of ours holds is a missing image, not a silent re-read
    of what the converter wrote (also through a key that names the dataset's folder)."""
    job = tmp_path / "job"
    manifest = make_job(job, 4)
    assert convert("-a", manifest, "-o", job / "images" / "ds", "-f", "json") == 0
    moved = sorted((job / "images" / "ds" / "json_train").glob("*.jpg"))[0]
    original = job / "images" / moved.name
    original.unlink()
    for ref in (f"s3://bucket/job/images/{moved.name}",
                f"s3://bucket/job/images/ds/json_train/{moved.name}", str(moved)):
        text = manifest.read_text().replace(f"s3://bucket/job/images/{moved.name}", ref)
        lone = tmp_path / "lone.manifest"
        lone.write_text(text)
        assert convert("-a", lone, "-i", job / "images", "-o", tmp_path / "again") == 1, ref
        err = capsys.readouterr().err
        assert "not found" in err and err.count("\n") == 1, err
    assert not (tmp_path / "again").exists()


# --- an output that is a symlink: written through, never moved (issue 30) ----------------------


def test_an_output_link_to_an_empty_folder_gets_the_dataset_in_its_target(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 6)
    real = tmp_path / "disk" / "real"
    real.mkdir(parents=True)
    link = tmp_path / "out"
    link.symlink_to(real)
    assert convert("-a", manifest, "-o", link) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert sorted(os.listdir(real)) == DATASET
    assert_whole_or_absent(real, 7)
    assert sorted(os.listdir(tmp_path)) == ["disk", "job", "out"]  # nothing hidden left
    assert os.listdir(tmp_path / "disk") == ["real"]


def test_overwrite_through_a_link_replaces_the_dataset_in_its_target(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 6)
    real = tmp_path / "real"
    assert convert("-a", manifest, "-o", real, "-p", "0.001") == 0
    old = snapshot(real)
    link = tmp_path / "out"
    link.symlink_to("real")  # relative, as ln -s writes it
    assert convert("-a", manifest, "-o", link) == 1  # holds a dataset: --overwrite asked for
    assert convert("-a", manifest, "-o", link, "--overwrite", "--seed", "3") == 0
    assert link.is_symlink() and os.readlink(link) == "real"
    assert sorted(os.listdir(tmp_path)) == ["job", "out", "real"]
    assert snapshot(real) != old and sorted(os.listdir(real)) == DATASET
    assert yaml.safe_load((real / "dataset_info.yaml").read_text())["tfrecord_lite"]["seed"] == 3
    assert_whole_or_absent(real, 7)


def test_an_output_link_to_nothing_or_to_a_file_is_one_line_before_any_work(
    tmp_path, capsys
) -> None:
    manifest = make_job(tmp_path / "job", 3)
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "to-file").symlink_to(tmp_path / "notes.txt")
    before = snapshot(tmp_path)
    for link, said in (("dangling", "which does not exist"), ("to-file", "not a folder")):
        for extra in ((), ("--overwrite",), ("--dry-run",)):
            assert convert("-a", manifest, "-o", tmp_path / link, *extra) == 1
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "is a symlink to" in err and said in err, err
            assert snapshot(tmp_path) == before
    assert sorted(os.listdir(tmp_path)) == ["dangling", "job", "notes.txt", "to-file"]


def test_an_output_link_to_the_jobs_folder_is_refused(tmp_path, capsys) -> None:
    manifest = make_job(tmp_path / "job", 3)
    (tmp_path / "out").symlink_to(tmp_path / "job" / "images")
    before = snapshot(tmp_path)
    for extra in ((), ("-i", tmp_path / "job" / "images")):
        assert convert("-a", manifest, "-o", tmp_path / "out", "--overwrite", *extra) == 1
        err = capsys.readouterr().err
        assert ("is the images folder" if extra else "holds no dataset written") in err, err
        assert snapshot(tmp_path) == before


def test_overwrite_of_the_current_folder_with_other_files_is_refused(
    tmp_path, monkeypatch, capsys
) -> None:
    manifest = make_job(tmp_path / "job", 5)
    (tmp_path / "other_stuff").mkdir()
    (tmp_path / "other_stuff" / "thesis.tex").write_text("years of work")
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert convert("-a", "job/output.manifest", "-o", ".", "--overwrite") == 1
    assert snapshot(tmp_path) == before
    # an output beside the job, not holding it: refused because it is no dataset of ours
    monkeypatch.chdir(tmp_path / "other_stuff")
    assert convert("-a", manifest, "-o", ".", "--overwrite") == 1
    err = capsys.readouterr().err
    assert "holds no dataset written by tfrecord-lite" in err and "thesis.tex" in err
    assert snapshot(tmp_path) == before


def test_an_empty_output_argument_is_a_usage_error(tmp_path, monkeypatch, capsys) -> None:
    manifest = make_job(tmp_path / "job", 3)
    monkeypatch.chdir(tmp_path / "job")
    before = snapshot(tmp_path)
    for value in ("", "  "):
        assert convert("-a", manifest, "-o", value, "--overwrite") == 2
        assert "-o/--output is empty" in capsys.readouterr().err
    monkeypatch.setenv("TFRECORD_LITE_OUTPUT", "")
    assert main(["convert", "-a", str(manifest), "--overwrite", "-q"]) == 2
    assert snapshot(tmp_path) == before


def test_a_folder_that_is_not_our_dataset_is_never_replaced(tmp_path, capsys) -> None:
    manifest = make_job(tmp_path / "job", 4)
    out = tmp_path / "out"
    (out / "notes").mkdir(parents=True)
    (out / "notes" / "a.txt").write_text("mine")
    (out / "b.txt").write_text("mine too")
    # a yaml of someone else's (no tfrecord_lite block) does not make it ours
    (out / "dataset_info.yaml").write_text("classes: [a]\n")
    before = snapshot(out)
    for extra in ((), ("--overwrite",)):
        assert convert("-a", manifest, "-o", out, *extra) == 1
        err = capsys.readouterr().err
        assert "not empty (3 entries: b.txt, dataset_info.yaml, notes)" in err, err
        assert snapshot(out) == before


def test_overwrite_keeps_a_dataset_with_foreign_files_in_it(tmp_path, capsys) -> None:
    manifest = make_job(tmp_path / "job", 4)
    out = tmp_path / "out"
    assert convert("-a", manifest, "-o", out) == 0
    (out / "tfrecord_train" / "my-notes.md").write_text("keep me")
    before = snapshot(out)
    assert convert("-a", manifest, "-o", out, "--overwrite") == 1
    err = capsys.readouterr().err
    assert "not part of it (tfrecord_train/my-notes.md)" in err, err
    assert snapshot(out) == before


def test_overwrite_removes_exactly_the_old_datasets_files(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 30, size=(160, 120))
    out = tmp_path / "out"
    assert convert("-a", manifest, "-o", out, "-p", "0.01") == 0
    old_shards = sorted(p.name for p in (out / "tfrecord_train").iterdir())
    assert len(old_shards) > 2
    assert convert("-a", manifest, "-o", out, "-p", "1", "--overwrite") == 0
    assert sorted(os.listdir(out)) == DATASET
    assert [p.name for p in (out / "tfrecord_train").iterdir()] == ["train-00000-of-00001.tfrecord"]
    assert_whole_or_absent(out, 31)
    # JSON replaced by TFRecord and back: the inventory covers every format
    assert convert("-a", manifest, "-o", out, "-f", "json", "--overwrite") == 0
    assert not (out / "tfrecord_train").exists()
    assert convert("-a", manifest, "-o", out, "--overwrite") == 0
    assert sorted(os.listdir(out)) == DATASET
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_dataset_from_before_the_inventory_is_replaced_by_its_yaml(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 8)
    out = tmp_path / "out"
    assert convert("-a", manifest, "-o", out) == 0
    (out / INVENTORY).unlink()  # as an earlier tfrecord-lite wrote it
    assert convert("-a", manifest, "-o", out, "--overwrite", "--seed", "1") == 0
    assert sorted(os.listdir(out)) == DATASET


def test_nothing_is_deleted_before_the_new_dataset_is_complete(tmp_path) -> None:
    manifest = make_job(tmp_path / "job", 8)
    out = tmp_path / "out"
    assert convert("-a", manifest, "-o", out) == 0
    before = snapshot(out)
    with open(manifest, "a", encoding="utf-8") as f:
        f.write("{not json\n")
    assert convert("-a", manifest, "-o", out, "--overwrite") == 1
    assert snapshot(out) == before


def test_unwritable_output_is_a_one_line_error(tmp_path, capsys) -> None:
    manifest = make_job(tmp_path / "job", 3)
    for out in (Path("/proc/tfrecord-lite-test"), Path("/proc/self/x/y")):
        assert convert("-a", manifest, "-o", out) == 1
        err = capsys.readouterr().err
        assert err.startswith("tfrecord-lite convert: error: ") and err.count("\n") == 1, err
        assert "Traceback" not in err


# --- Ctrl-C and SIGTERM at random moments (issue 13 §2) ------------------------------------------

TRIES = int(os.environ.get("TFRECORD_LITE_INTERRUPT_TRIES", "10"))


def _group_gone(pgid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.01)
    return False


def _wait_for_our_handler(pid: int) -> None:
    """Until the converter catches SIGTERM, i.e. ``main`` runs.  Before that it is the
    interpreter starting up (about 50 ms: site, runpy, our package's import), whose answer to a
    signal, a traceback or a silent exit, is Python's own and out of our reach."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:"))[7:],
                     16)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.002)


def _interrupt_many(tmp_path: Path, out: Path, extra: tuple[str, ...], tries: int) -> None:
    manifest = make_job(tmp_path / "job", 150, size=(200, 150))
    start = time.monotonic()
    subprocess.run(convert_cmd(manifest, tmp_path / "timing", *extra), check=True)
    duration = time.monotonic() - start
    rng = random.Random(13)
    for k in range(tries):
        sig = (signal.SIGINT, signal.SIGTERM)[k % 2]
        cmd = convert_cmd(manifest, out, "--overwrite", *extra)
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, start_new_session=True)
        _wait_for_our_handler(proc.pid)
        time.sleep(rng.uniform(0.0, duration * 1.05))
        sent = time.monotonic()
        if sig == signal.SIGINT:
            os.killpg(proc.pid, sig)  # what a terminal's Ctrl-C does: the whole group
        else:
            proc.send_signal(sig)  # what `docker stop` or a scheduler does: the converter only
        try:
            rc = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"try {k}: {sig.name} hung the converter")
        err = proc.stderr.read()
        assert _group_gone(proc.pid, 3.0), f"try {k}: processes left after {sig.name}"
        assert time.monotonic() - sent < 5.0
        assert "Traceback" not in err and "Error" not in err, err
        if rc != 0:  # a run that finished before the signal is fine too
            assert rc == (130 if sig == signal.SIGINT else 143), (rc, err)
            assert err.count("\n") == 1 and "interrupted" in err, err
        if out.name != "mnt":
            assert_whole_or_absent(out, 151)
        assert not [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
        assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
        if out.is_dir():  # a mount point: no stage or lock left inside
            assert not [n for n in os.listdir(out) if "-stage-" in n or n.endswith(".lock")]
    # and the next run works
    subprocess.run(convert_cmd(manifest, out, "--overwrite", *extra), check=True)


@pytest.mark.parametrize(
    "extra", [("--workers", "1"), ("--workers", "2"), ("--workers", "2", "-f", "json")]
)
def test_ctrl_c_and_sigterm_stop_every_process_and_leave_no_partial_dataset(
    tmp_path, extra
) -> None:
    _interrupt_many(tmp_path, tmp_path / "out", extra, TRIES)


def test_interrupts_with_the_output_inside_the_images_folder(tmp_path) -> None:
    """Interrupted runs into job/images/dataset leave the images as they were, and a whole
    dataset or none, which the next run neither reads back nor refuses to replace."""
    images = tmp_path / "job" / "images"
    _interrupt_many(tmp_path, images / "dataset", ("--workers", "2", "-f", "json"),
                    max(4, TRIES // 2))
    assert sorted(p.name for p in images.iterdir() if p.is_dir()) == ["dataset"]
    assert len(list(images.glob("*.jpg"))) == 151


@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="needs root to mount")
def test_interrupts_with_a_mount_point_output(tmp_path) -> None:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        _interrupt_many(tmp_path, mnt, ("--workers", "2"), max(4, TRIES // 2))
        assert sorted(os.listdir(mnt)) == DATASET
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="needs root to mount")
def test_a_read_only_output_is_a_one_line_error(tmp_path, capsys) -> None:
    manifest = make_job(tmp_path / "job", 3)
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(ro)]).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        for out in (ro, ro / "dataset"):  # the mount point itself (in place), and inside it
            assert main(["convert", "-a", str(manifest), "-o", str(out), "-q"]) == 1
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and "Read-only file system" in err, err
            assert "Traceback" not in err
        assert "--user" in err or "cannot create" in err
    finally:
        subprocess.run(["umount", str(ro)], check=True)
