"""preview: boxes are drawn where they are, in their class colour; masks tinted; N chosen right."""

from __future__ import annotations

import pytest
import yaml
from dataset_helpers import (
    BACKGROUND,
    Item,
    convert_sample,
    write_json_dataset,
    write_modelpack,
)
from PIL import Image

from tfrecord_lite import TFRecordWriter, encode_example
from tfrecord_lite.tools.cli import main
from tfrecord_lite.tools.layout import resolve
from tfrecord_lite.tools.preview import OUTLINE, TINT, box_rect, class_color, collect, tile_geometry

BOXES = [(0, 0.25, 0.5, 0.3, 0.5), (2, 0.7, 0.4, 0.4, 0.4)]


def preview(capsys, *args) -> tuple[int, str]:
    code = main(["preview", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out + err


def close(a, b, tol: int = 2) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b))


def test_class_colours_are_distinct_and_saturated() -> None:
    colours = [class_color(i) for i in range(8)]
    assert len(set(colours)) == 8
    for c in colours:
        assert max(c) == 255 and min(c) == 0


@pytest.mark.parametrize("compression", [None, "GZIP"])
def test_box_outlines_drawn_in_class_colour(tmp_path, capsys, compression) -> None:
    item = Item("one.jpg", 320, 240, BOXES)
    root = write_modelpack(tmp_path / "ds", {"train": [item]}, compression, max_bytes=1 << 20)
    out = tmp_path / "p.png"
    code, text = preview(capsys, root, "-o", out, "-n", "4")
    assert code == 0, text
    assert text.strip().startswith(f"wrote {out}: 1 samples from split train")
    sheet = Image.open(out).convert("RGB")
    left, top, tw, th = tile_geometry(0, 320, 240, 1, 320)
    assert (tw, th) == (320, 240)
    for box in BOXES:
        color = class_color(box[0])
        x0, y0, x1, y1 = box_rect(box, left, top, tw, th)
        ym, xm = (y0 + y1) // 2, (x0 + x1) // 2
        for x, y in [(x0 + 1, ym), (x1 - 1, ym), (xm, y1 - 1), (x0, y1), (x1 - OUTLINE + 1, y0)]:
            assert sheet.getpixel((x, y)) == color, (box, x, y)
        # inside the outline the picture shows through: not the class colour
        assert sheet.getpixel((x0 + OUTLINE + 1, ym)) != color
        # the label sits above the box, filled with the class colour
        assert sheet.getpixel((x0 + 1, y0 - 2)) == color
    # away from the boxes, the picture itself (JPEG grey)
    assert close(sheet.getpixel((left + 3, top + th - 4)), BACKGROUND, 6)


def test_scaled_tiles_and_grid(tmp_path, capsys) -> None:
    items = [Item(f"i{k}.jpg", 64, 48, BOXES) for k in range(5)]
    root = write_modelpack(tmp_path / "ds", {"train": items}, max_bytes=1 << 20)
    out = tmp_path / "p.png"
    code, text = preview(capsys, root, "-o", out, "--columns", "2", "--size", "128")
    assert code == 0, text
    assert "5 samples" in text and "2x3 tiles" in text
    sheet = Image.open(out).convert("RGB")
    left, top, tw, th = tile_geometry(3, 64, 48, 2, 128)  # second column, second row
    assert (tw, th) == (128, 96)
    box = BOXES[1]
    x0, y0, x1, y1 = box_rect(box, left, top, tw, th)
    assert sheet.getpixel((x0 + 1, (y0 + y1) // 2)) == class_color(box[0])


def test_first_n_and_seeded_choice(tmp_path) -> None:
    items = [Item(f"s{k:02d}.jpg", 32, 24) for k in range(12)]
    root = write_modelpack(tmp_path / "ds", {"train": items}, max_bytes=1000)
    split = resolve(root).split("train")
    assert len(split.files) > 1  # the choice spans shards
    first = [f"s{k:02d}.jpg" for k in range(4)]
    assert [t.name for t in collect(split, 4, None, 64)] == first
    a = [t.name for t in collect(split, 4, 7, 64)]
    b = [t.name for t in collect(split, 4, 7, 64)]
    assert a == b and a == sorted(a) and len(set(a)) == 4
    assert any([t.name for t in collect(split, 4, seed, 64)] != first for seed in range(5))


def test_split_choice(tmp_path, capsys) -> None:
    root = write_modelpack(tmp_path / "ds")
    out = tmp_path / "p.png"
    code, text = preview(capsys, root, "-o", out, "--split", "validation", "-n", "2")
    assert code == 0 and "2 samples from split validation" in text
    code, text = preview(capsys, root, "-o", out, "--split", "val", "-n", "2")
    assert code == 0 and "split validation" in text
    code, text = preview(capsys, root, "-o", out, "--split", "test")
    assert code == 1 and "no split 'test'" in text


def test_json_mask_tinted(tmp_path, capsys) -> None:
    item = Item("m.jpg", 320, 240, [(1, 0.5, 0.5, 0.5, 0.5)])
    root = write_json_dataset(tmp_path / "js", {"train": [item]})
    out = tmp_path / "p.png"
    code, text = preview(capsys, root, "-o", out)
    assert code == 0, text
    sheet = Image.open(out).convert("RGB")
    left, top, tw, th = tile_geometry(0, 320, 240, 1, 320)
    x0, y0, x1, y1 = box_rect(item.boxes[0], left, top, tw, th)
    color = class_color(1)
    assert sheet.getpixel((x0 + 1, (y0 + y1) // 2)) == color
    # the mask covers the box: its inside is the picture blended with the class colour
    base = Image.open(root / "json_train" / "m.jpg").convert("RGB").getpixel((160, 120))
    a = TINT / 255
    expected = tuple(round(c * a + b * (1 - a)) for c, b in zip(color, base))
    assert close(sheet.getpixel(((x0 + x1) // 2, (y0 + y1) // 2)), expected, 3)
    # outside the mask, no tint
    assert close(sheet.getpixel((left + 3, top + 3)), BACKGROUND, 6)


def test_not_modelpack_and_bad_output(tmp_path, capsys) -> None:
    path = tmp_path / "plain.tfrecord"
    with TFRecordWriter(path) as w:
        w.write(encode_example({"x": 1}))
    code, text = preview(capsys, path, "-o", tmp_path / "p.png")
    assert code == 1 and "not a ModelPack record" in text
    root = write_modelpack(tmp_path / "ds")
    code, text = preview(capsys, root, "-o", tmp_path / "no" / "p.png")
    assert code == 1 and "does not exist" in text
    code, text = preview(capsys, root, "-o", tmp_path / "p.png", "-n", "0")
    assert code == 2


@pytest.mark.parametrize("fmt", ["tfrecord", "darknet"])
def test_converted_sample(tmp_path, capsys, fmt) -> None:
    out = convert_sample(tmp_path / "out", "-f", fmt)
    capsys.readouterr()
    png = tmp_path / "sheet.png"
    code, text = preview(capsys, out, "-o", png, "-n", "16")
    assert code == 0, text
    info = yaml.safe_load((out / "dataset_info.yaml").read_text())
    shown = min(16, info["train"]["samples"])
    assert f"{shown} samples from split train" in text
    assert Image.open(png).size[0] > 4 * 320


def test_tfod_records_are_drawn_as_their_modelpack_twins(tmp_path, capsys) -> None:
    """The real COCO sample (tests/fixtures/sahi-terrain2) as -f tfrecord and as -f tfod: the
    same sheet; with --masks each object's mask is tinted in its class colour."""
    from pathlib import Path

    from tfrecord_lite.tools.preview import CAPTION, PAD

    coco = Path(__file__).parent / "fixtures" / "sahi-terrain2" / "terrain2_coco.json"
    sheets = {}
    for fmt in ("tfrecord", "tfod", "tfod --masks"):
        out = tmp_path / fmt.replace(" --", "-")
        assert main(["convert", "-a", str(coco), "-o", str(out), "-s", "0", "-q", "-f",
                     *fmt.split()]) == 0
        png = tmp_path / f"{out.name}.png"
        code, text = preview(capsys, out, "-o", png)
        assert code == 0, text
        assert "1 samples from split train" in text
        sheets[fmt] = Image.open(png).convert("RGB")
    assert sheets["tfod"].tobytes() == sheets["tfrecord"].tobytes()
    left, top, tw, th = tile_geometry(0, 1024, 682, 1, 320)
    x0, y0, x1, y1 = box_rect((0, (218 + 111) / 1024, (448 + 80.5) / 682, 222 / 1024,
                               161 / 682), left, top, tw, th)  # the file's first car
    inside = ((x0 + x1) // 2, (y0 + y1) // 2)
    plain, tinted = sheets["tfod"].getpixel(inside), sheets["tfod --masks"].getpixel(inside)
    a = TINT / 255
    assert close(tinted, tuple(round(c * a + b * (1 - a))
                               for c, b in zip(class_color(0), plain)), 3)
    # outside every object, nothing tinted
    corner = (left + 2, top + 2)
    assert sheets["tfod --masks"].getpixel(corner) == sheets["tfod"].getpixel(corner)
    assert sheets["tfod"].size == (2 * PAD + 320, 2 * PAD + 320 + CAPTION)
