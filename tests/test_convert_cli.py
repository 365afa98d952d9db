"""The convert command as a user meets it: what it prints, and what it does when it cannot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gt_helpers import det_line, make_image, write_manifest

from tfrecord_lite.tools.cli import main


def surrogate_job(root: Path) -> Path:
    """A class name with a lone surrogate, as a manifest's ``\\ud800`` escape gives one."""
    lines = []
    for name in ("a", "b", "c"):
        make_image(root / "images" / f"{name}.jpg", 64, 48)
        ref = f"s3://bucket/images/{name}.jpg"
        line = det_line(ref, [(0, 1, 1, 10, 10)], {0: "bad\ud800name"}, (64, 48))
        lines.append(json.dumps(line))  # ASCII, the surrogate as its escape
    return write_manifest(root / "output.manifest", lines)


@pytest.mark.parametrize("fmt", ["tfrecord", "json", "tfod"])
def test_a_class_name_with_a_lone_surrogate_converts_and_prints(tmp_path, capsys, fmt) -> None:
    manifest = surrogate_job(tmp_path / "job")
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "out"), "-f", fmt]) == 0
    captured = capsys.readouterr()
    assert "bad\\ud800name" in captured.out and "Traceback" not in captured.err
    if fmt == "json":
        docs = [json.loads(p.read_text("utf-8")) for p in (tmp_path / "out").rglob("*.json")]
        assert docs and {b[4] for d in docs for b in d["boxes"]} == {0}  # names: in the yaml
    if fmt == "tfod":  # the name as its escape, the same in the records and the label map
        assert "name: 'bad\\\\ud800name'" in (tmp_path / "out" / "label_map.pbtxt").read_text()
        assert main(["verify", str(tmp_path / "out")]) == 0


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


# --- images that would break training later (issue 13 §4) ----------------------------------------


def _noise(width: int, height: int):
    import random

    from PIL import Image

    return Image.frombytes("RGB", (width, height), random.Random(5).randbytes(width * height * 3))


def _bomb_png(path: Path, side: int) -> None:
    """A 1-bit PNG of side x side black pixels: a few KB on disk, side**2 pixels decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = (b"\x00" + b"\x00" * ((side + 7) // 8)) * side
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def broken_images_job(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Four good images and one of each kind of damage; name -> the reason it is skipped for."""
    import io

    from PIL import Image

    root = tmp_path / "job"
    images = root / "images"
    lines = []
    for name in ("good1.jpg", "good2.jpg", "good3.png", "good4.jpg"):
        make_image(images / name, 64, 48)
    jpeg = io.BytesIO()
    _noise(200, 150).save(jpeg, "JPEG", quality=85)
    (images / "cut.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    png = io.BytesIO()
    _noise(200, 150).save(png, "PNG")
    (images / "cut.png").write_bytes(png.getvalue()[:-300])
    exif = Image.Exif()
    exif[0x0112] = 6  # needs re-encoding upright, which used to fail the whole run
    rotated = io.BytesIO()
    _noise(200, 150).save(rotated, "JPEG", exif=exif.tobytes())
    (images / "cut-rotated.jpg").write_bytes(rotated.getvalue()[:-2000])
    _bomb_png(images / "bomb.png", 10_000)  # 100 M pixels, over Pillow's 89.5 M
    sizes = {"cut.jpg": (200, 150), "cut.png": (200, 150), "cut-rotated.jpg": (150, 200),
             "bomb.png": (10_000, 10_000)}
    for name in ("good1.jpg", "good2.jpg", "good3.png", "good4.jpg", *sizes):
        size = sizes.get(name, (64, 48))
        lines.append(det_line(f"s3://bucket/images/{name}", [(0, 1, 1, 10, 10)], {0: "cat"}, size))
    reasons = {"cut.jpg": "truncated", "cut.png": "truncated", "cut-rotated.jpg": "truncated",
               "bomb.png": "too-many-pixels"}
    return write_manifest(root / "output.manifest", lines), reasons


def test_truncated_images_and_bombs_stop_the_run_naming_the_file(tmp_path, capsys) -> None:
    manifest, reasons = broken_images_job(tmp_path)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "cut.jpg" in err and "truncated" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_skip_invalid_skips_and_counts_each_broken_image(tmp_path, capsys) -> None:
    manifest, reasons = broken_images_job(tmp_path)
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "--skip-invalid", "--json"]) == 0
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["skipped"] == {"too-many-pixels": 1, "truncated": 3}
    assert sum(s["samples"] for s in doc["splits"].values()) == 4
    for name in reasons:
        assert name in captured.err  # each skip named on stderr
    assert main(["verify", str(out)]) == 0


def test_the_pixel_limit_can_be_raised(tmp_path) -> None:
    manifest, _ = broken_images_job(tmp_path)
    args = ["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "--skip-invalid", "--json"]
    assert main([*args, "--max-pixels", "100000000"]) == 0


def test_full_decode_finds_damage_the_end_check_cannot(tmp_path, capsys) -> None:
    import io

    root = tmp_path / "job"
    make_image(root / "images" / "good.jpg", 64, 48)
    png = io.BytesIO()
    _noise(200, 150).save(png, "PNG")
    data = png.getvalue()
    cut = data[: data.index(b"IDAT") + 1000] + data[-12:]  # pixels cut, IEND kept
    (root / "images" / "hollow.png").write_bytes(cut)
    lines = [det_line(f"s3://bucket/images/{n}", [(0, 1, 1, 10, 10)], {0: "cat"}, s)
             for n, s in (("good.jpg", (64, 48)), ("hollow.png", (200, 150)))]
    manifest = write_manifest(root / "output.manifest", lines)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "a"), "-q"]) == 0
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "b"), "-q",
                 "--full-decode"]) == 1
    assert "hollow.png" in capsys.readouterr().err


# --- labels that silently vanish or leak (issue 13 §5) --------------------------------------------


def test_a_classification_job_is_refused_as_tfrecord_and_kept_as_json(tmp_path, capsys) -> None:
    from gt_helpers import cls_line

    root = tmp_path / "job"
    for name in ("a", "b", "c"):
        make_image(root / "images" / f"{name}.jpg", 32, 32)
    lines = [cls_line(f"s3://bucket/images/{n}.jpg", i % 2, ("cat", "dog")[i % 2])
             for i, n in enumerate("abc")]
    manifest = write_manifest(root / "output.manifest", lines)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "t"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "image-classification" in err and "-f json" in err
    assert not (tmp_path / "t").exists()
    args = ["convert", "-a", str(manifest), "-o", str(tmp_path / "j"), "-q", "-f", "json"]
    assert main(args) == 0
    tags = {t for p in (tmp_path / "j").rglob("*.json") for t in json.loads(p.read_text())["tags"]}
    assert tags == {"cat", "dog"}


def test_one_file_named_by_two_source_refs_stays_on_one_side(tmp_path, capsys) -> None:
    # the same key under two buckets (a mirror): one file, so one split, whatever the hashes say
    root = tmp_path / "job"
    lines = []
    for i in range(30):
        make_image(root / "images" / f"x{i}.jpg", 32, 32)
        for bucket in ("bucket", "mirror"):
            lines.append(det_line(f"s3://{bucket}/images/x{i}.jpg", [(0, 1, 1, 5, 5)], {0: "c"},
                                  (32, 32)))
    manifest = write_manifest(root / "output.manifest", lines)
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-s", "0.5", "-f", "json"]) == 0
    assert "lines naming an image an earlier line named (kept on its side): 30" in \
        capsys.readouterr().out
    sides = {}
    for split in ("train", "val"):
        for doc in (out / f"json_{split}").glob("*.json"):
            image = json.loads(doc.read_text())["image"]
            sides.setdefault(image.split("~")[0].rsplit(".", 1)[0], set()).add(split)
    assert len(sides) == 30 and all(len(s) == 1 for s in sides.values()), sides
    assert {next(iter(s)) for s in sides.values()} == {"train", "val"}


def test_names_equal_after_unicode_normalisation_stay_distinct(tmp_path) -> None:
    import unicodedata

    root = tmp_path / "job"
    nfc, nfd = unicodedata.normalize("NFC", "été.jpg"), unicodedata.normalize("NFD", "été.jpg")
    make_image(root / "images" / "a" / nfc, 32, 32)
    make_image(root / "images" / "b" / nfd, 32, 32, color=(200, 0, 0))
    lines = [det_line(f"s3://bucket/images/{folder}/{name}", [(0, 1, 1, 5, 5)], {0: "c"},
                      (32, 32)) for folder, name in (("a", nfc), ("b", nfd))]
    manifest = write_manifest(root / "output.manifest", lines)
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "-q", "-s", "0"]) == 0
    from tfrecord_lite import decode_example, tf_record_iterator

    names = [decode_example(r)["image_name"][0].decode() for p in
             sorted((tmp_path / "o" / "tfrecord_train").glob("*.tfrecord"))
             for r in tf_record_iterator(p)]
    assert len({unicodedata.normalize("NFC", n).casefold() for n in names}) == 2, names


def test_overflowing_boxes_and_nul_bytes_are_named_with_their_value(tmp_path, capsys) -> None:
    manifest = sample_job(tmp_path)
    lines = manifest.read_text().splitlines()
    first, second = json.loads(lines[0]), json.loads(lines[1])
    first["source-ref"] = first["source-ref"].replace(".jpg", "\x00.jpg")
    second["job"]["annotations"][0].update(left=1e308, width=1e308)
    manifest.write_text("\n".join([json.dumps(first), json.dumps(second), *lines[2:]]) + "\n")
    args = ["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "--dry-run"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert ":1: source-ref contains a NUL character" in out and "\\x00.jpg" in out
    assert ":2: box reaches beyond any image" in out and "1e+308" in out


# --- class maps that disagree between lines, small things (issue 16 §3, §4) ----------------------


def test_a_rekognition_style_manifest_keeps_every_box_with_its_name(tmp_path, capsys) -> None:
    # made after a Rekognition Custom Labels export: ids are per line (4 is dog, then cat)
    root = tmp_path / "job"
    maps = [{0: "animal", 4: "dog", 5: "cat"}, {2: "lady", 3: "dog", 4: "cat"}, {1: "baby"}]
    boxes = [[(4, 1, 1, 10, 10), (5, 20, 20, 10, 10)], [(4, 1, 1, 10, 10), (3, 5, 5, 10, 10)],
             [(1, 2, 2, 10, 10)]]
    lines = []
    for k, (cmap, bxs) in enumerate(zip(maps, boxes)):
        make_image(root / "images" / f"{k}.jpg", 64, 48)
        lines.append(det_line(f"s3://b/images/{k}.jpg", bxs, cmap, (64, 48)))
    manifest = write_manifest(root / "output.manifest", lines)
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-s", "0"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("warning: class ids mean different classes") == 1
    assert "id 4 is 'dog' (line 1), 'cat' (line 2)" in captured.out
    import yaml

    from tfrecord_lite import decode_example, tf_record_iterator

    classes = yaml.safe_load((out / "dataset_info.yaml").read_text())["classes"]
    assert classes == ["animal", "baby", "lady", "dog", "cat"]
    got = {}
    for path in (out / "tfrecord_train").glob("*.tfrecord"):
        for record in tf_record_iterator(path):
            ex = decode_example(record)
            got[ex["image_name"][0].decode()] = sorted(classes[k] for k in ex["objects"])
    assert got == {"0.jpg": ["cat", "dog"], "1.jpg": ["cat", "dog"], "2.jpg": ["baby"]}


def test_an_empty_json_split_lists_no_file(tmp_path, capsys) -> None:
    manifest = sample_job(tmp_path)
    out = tmp_path / "o"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-f", "json", "-s", "0"]) == 0
    text = capsys.readouterr().out
    assert "validation       0 images  in json_val/" in text and "file(s)" not in text


def test_classes_seen_only_on_skipped_lines_are_named_in_the_summary(tmp_path, capsys) -> None:
    bad = det_line("s3://bucket/images/gone.jpg", [(1, 1, 1, 5, 5)], {0: "cat", 1: "dog"},
                   (64, 48))
    manifest = sample_job(tmp_path, (bad,))
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "o"), "--skip-invalid"]) == 0
    out = capsys.readouterr().out
    assert "classes kept without objects (only on skipped lines, or unused): dog" in out


# --- warnings never hide the error; --json gives each its field (issue 27 §2) -------------------


def bad_job(root: Path) -> Path:
    """One good line, then one naming an image that is not there."""
    make_image(root / "images" / "a.jpg", 64, 48)
    good = det_line("s3://bucket/images/a.jpg", [(0, 1, 1, 10, 10)], {0: "cat"}, (64, 48))
    gone = det_line("s3://bucket/images/gone.jpg", [(0, 1, 1, 10, 10)], {0: "cat"}, (64, 48))
    return write_manifest(root / "output.manifest", [json.dumps(good), json.dumps(gone)])


def test_a_failing_run_ends_with_its_one_error_line_after_the_warnings(tmp_path, capsys) -> None:
    manifest = bad_job(tmp_path / "job")
    out = tmp_path / "out"
    assert main(["convert", "-a", str(manifest), "-o", str(out), "-s", "0"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert "warning: --split 0 leaves validation empty" in err[0]
    assert [n for n, line in enumerate(err) if ": error: " in line] == [len(err) - 1], err
    assert "output.manifest:2: image not found" in err[-1]
    assert not out.exists()


def test_json_carries_warnings_and_the_error_in_fields_of_their_own(tmp_path, capsys) -> None:
    manifest = bad_job(tmp_path / "job")
    args = ["convert", "-a", str(manifest), "-o", str(tmp_path / "out"), "-s", "0", "--json"]
    assert main(args) == 1
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["warnings"] == ["--split 0 leaves validation empty: ModelPack refuses a dataset "
                               "without validation samples"]
    error = doc["error"]
    assert (error["file"], error["line"], error["reason"]) == (str(manifest), 2, "missing-image")
    assert error["value"] == "s3://bucket/images/gone.jpg" and error["kind"] == "InputError"
    assert captured.err.splitlines()[-1] == f"tfrecord-lite convert: error: {error['message']}"
    # a usage error too, and a dry run's warnings
    assert main(["convert", "-a", str(manifest), "-o", " ", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["error"]["kind"] == "UsageError"
    assert main([*args, "--dry-run", "--skip-invalid"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == doc["warnings"]


def test_the_edgefirst_and_empty_output_checks_say_the_same_in_the_cli_and_the_api(
    tmp_path, capsys, monkeypatch
) -> None:
    import tfrecord_lite
    from tfrecord_lite.pipeline.formats import edgefirst_format

    monkeypatch.setattr(edgefirst_format, "available", lambda: False)
    manifest = bad_job(tmp_path / "job")
    for output, fmt, said in (("out", "edgefirst", "needs Au-Zone's edgefirst-client: pip "
                                                   "install 'tfrecord-lite-tools[edgefirst]'"),
                              ("  ", "tfrecord", "-o/--output is empty")):
        assert main(["convert", "-a", str(manifest), "-o", output, "-f", fmt]) == 2
        assert said in capsys.readouterr().err
        with pytest.raises(ValueError, match=said.replace("[", r"\[").replace("]", r"\]")):
            tfrecord_lite.convert(manifest, output, format=fmt)
    assert not (tmp_path / "out").exists() and not Path("out").exists()
