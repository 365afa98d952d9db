"""Which frame were the labels drawn on? EXIF-rotated JPEGs, orientations 1-8, end to end
(groundtruth.images and the reader's frame rule, through the CLI).

After a real 2019 job (tests could not ship its photo): a phone picture with Orientation 6,
``image_size`` equal to the stored size and a box below the rotated image's bottom edge; the
worker labelled the raw frame, as browsers showed it before 2020."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from gt_helpers import det_line, write_manifest
from PIL import Image, ImageOps

from tfrecord_lite import decode_example, tf_record_iterator
from tfrecord_lite.tools.cli import main

RAW = (120, 80)  # the stored pixels
RED_RAW = (10, 50, 40, 25)  # left, top, width, height of the red object in the stored pixels


def rotated_jpeg(path: Path, orientation: int) -> tuple[int, int, int, int]:
    """A JPEG with the red object at RED_RAW and the EXIF orientation; returns where the
    object is in the upright view (left, top, width, height)."""
    image = Image.new("RGB", RAW, (250, 250, 250))
    left, top, w, h = RED_RAW
    image.paste((220, 20, 20), (left, top, left + w, top + h))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=95, exif=exif.tobytes())
    with Image.open(path) as stored:
        upright = ImageOps.exif_transpose(stored).convert("RGB")
    red = Image.new("L", upright.size)
    red.frombytes(bytes(255 if r > 150 and g < 100 else 0 for r, g, _ in rgb(upright)))
    x1, y1, x2, y2 = red.getbbox()
    return x1, y1, x2 - x1, y2 - y1


def rgb(image: Image.Image):
    """The RGB triples of an image (getdata is deprecated in Pillow 13)."""
    data = image.tobytes()
    return zip(data[0::3], data[1::3], data[2::3])


def red_share(data: bytes, box: tuple[float, float, float, float], transpose: bool) -> float:
    """How much of the normalised box is red in the stored image, decoded like TensorFlow
    (EXIF ignored) or like a browser (EXIF applied)."""
    with Image.open(io.BytesIO(data)) as image:
        view = ImageOps.exif_transpose(image) if transpose else image.copy()
    cx, cy, w, h = box
    W, H = view.size
    crop = view.convert("RGB").crop((int((cx - w / 2) * W) + 2, int((cy - h / 2) * H) + 2,
                                     int((cx + w / 2) * W) - 2, int((cy + h / 2) * H) - 2))
    pixels = list(rgb(crop))
    return sum(1 for r, g, b in pixels if r > 150 and g < 100) / len(pixels)


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("frame", ["raw", "upright"])
def test_boxes_land_on_their_objects_in_every_decoder(tmp_path: Path, orientation: int,
                                                      frame: str) -> None:
    path = tmp_path / "job" / "images" / "photo.jpg"
    upright_box = rotated_jpeg(path, orientation)
    swapped = orientation in (5, 6, 7, 8)
    upright_size = (RAW[1], RAW[0]) if swapped else RAW
    box, size = (RED_RAW, RAW) if frame == "raw" else (upright_box, upright_size)
    # image_size tells the frame when the orientation swaps; otherwise the job's date does
    date = "2019-03-01T10:00:00.000000" if frame == "raw" else "2021-03-01T10:00:00.000000"
    line = det_line("s3://bucket/images/photo.jpg", [(0, *box)], {0: "object"}, size, date=date)
    manifest = write_manifest(tmp_path / "job" / "output.manifest", [line])
    out = tmp_path / "o"
    args = ["convert", "-a", str(manifest), "-o", str(out), "-s", "0", "--json"]
    assert main(args) == 0
    (record,) = [decode_example(r) for p in (out / "tfrecord_train").glob("*.tfrecord")
                 for r in tf_record_iterator(p)]
    data = record["image"][0]
    stored_box = tuple(record["bboxes"])
    assert len(stored_box) == 4
    for transpose in (False, True):  # TensorFlow's decode_jpeg, and a browser
        assert red_share(data, stored_box, transpose) > 0.9, (orientation, frame, transpose)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (record["width"][0], record["height"][0])
    if frame == "raw" and orientation != 1:
        assert data[:2] == b"\xff\xd8" and len(data) == path.stat().st_size  # not re-encoded


def test_the_summary_says_which_frame_and_the_option_overrides(tmp_path: Path, capsys) -> None:
    path = tmp_path / "job" / "images" / "photo.jpg"
    rotated_jpeg(path, 6)
    line = det_line("s3://bucket/images/photo.jpg", [(0, *RED_RAW)], {0: "object"}, RAW,
                    date="2019-03-01T10:00:00.000000")
    manifest = write_manifest(tmp_path / "job" / "output.manifest", [line])
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "a"), "-s", "0"]) == 0
    text = capsys.readouterr().out
    assert "labelled on the raw frame (stored raw, tag cleared): 1" in text
    assert main(["convert", "-a", str(manifest), "-o", str(tmp_path / "b"), "-s", "0",
                 "--exif-frame", "upright"]) == 0
    text = capsys.readouterr().out
    assert "labelled on the upright view: 1" in text and "re-encoded upright (EXIF): 1" in text
