"""Every stored image decodes to 3 channels: RGB JPEG/PNG byte for byte, the rest converted once
(by reason, in the summary), or kept as they came with --keep-image-bytes and one warning."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from gt_helpers import det_line, write_manifest
from image_cases import H, W, cases
from PIL import Image
from test_convert import records, run

from tfrecord_lite.pipeline import decodable


def _job(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    lines = []
    for case in cases():
        (root / "images" / case.name).write_bytes(case.data)
        lines.append(det_line(f"s3://b/images/{case.name}", [(0, 2, 2, 8, 8)], {0: "thing"},
                              (W, H)))
    return write_manifest(root / "output.manifest", lines)


def _stored(out: Path) -> dict[str, tuple[str, bytes]]:
    """image_name -> (image_name, bytes), both splits."""
    got = {}
    for folder in ("tfrecord_train", "tfrecord_val"):
        for rec in records(out / folder):
            name = rec["image_name"][0].decode()
            got[name.rsplit(".", 1)[0]] = (name, rec["image"][0])
            assert (rec["width"], rec["height"]) == ([W], [H])
    return got


def _close(a, b, tolerance: int) -> bool:
    return max(abs(x - y) for x, y in zip(a, b)) <= tolerance


def test_every_layout_is_stored_as_rgb_jpeg_or_png(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert run("-a", _job(tmp_path / "job"), "-o", out, "-s", "0.3") == 0
    summary = capsys.readouterr().out
    stored = _stored(out)
    converted = [c for c in cases() if c.reason]
    assert f"images converted to RGB for tf.io.decode_jpeg: {len(converted)}" in summary
    for reason in {c.reason for c in converted}:
        count = sum(c.reason == reason for c in converted)
        assert f"\n    {reason}: {count}\n" in summary + "\n"
    for case in cases():
        name, data = stored[case.name.rsplit(".", 1)[0]]
        assert decodable.of_bytes(data) is None, case.name
        ext = name.rsplit(".", 1)[1]
        assert ext == {"JPEG": "jpg", "PNG": "png"}[case.stored], case.name
        if case.reason is None:
            assert data == case.data, case.name  # byte for byte
            continue
        image = Image.open(io.BytesIO(data))
        assert image.format == case.stored and image.mode == "RGB", case.name
        tolerance = 24 if case.stored == "JPEG" else 0
        assert _close(image.getpixel((2, 8)), case.left, tolerance), case.name
        assert _close(image.getpixel((W - 3, 8)), case.right, tolerance), case.name


def test_keep_image_bytes_stores_them_as_they_came_with_one_warning(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert run("-a", _job(tmp_path / "job"), "-o", out, "--keep-image-bytes") == 0
    captured = capsys.readouterr()
    undecodable = sum(c.reason is not None for c in cases())
    warning = f"--keep-image-bytes: {undecodable} image(s) stored as they came"
    assert captured.err.count(warning) == 1 and warning in captured.out
    stored = _stored(out)
    for case in cases():
        name, data = stored[case.name.rsplit(".", 1)[0]]
        assert data == case.data, case.name
        if case.reason is not None:
            assert name == case.name  # not renamed either: it is what it was


@pytest.mark.parametrize(
    "name,fmt,want",
    [("a.JPG", "JPEG", "a.JPG"), ("a.jpeg", "JPEG", "a.jpeg"), ("a.png", "JPEG", "a.jpg"),
     ("d/a.bmp", "PNG", "d/a.png"), ("d.x/noext", "PNG", "d.x/noext.png"), ("a", "JPEG", "a.jpg")],
)
def test_renamed_follows_the_stored_format(name, fmt, want) -> None:
    assert decodable.renamed(name, fmt) == want


def test_to_rgb_composites_on_the_stated_background() -> None:
    image = Image.new("RGBA", (2, 1), (10, 20, 30, 0))
    image.putpixel((1, 0), (10, 20, 30, 255))
    rgb = decodable.to_rgb(image)
    assert rgb.mode == "RGB"
    assert [rgb.getpixel((0, 0)), rgb.getpixel((1, 0))] == [decodable.BACKGROUND, (10, 20, 30)]
