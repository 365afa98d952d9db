"""Stems of the formats with files per image: unique in a folder, letter case included."""

from __future__ import annotations

from tfrecord_lite.pipeline.formats.per_image import image_file, stems


def test_stems_are_unique_ignoring_case_and_keep_plain_names() -> None:
    names = ["a.jpg", "a.png", "A.jpeg", "b.jpg", "a_png.jpg", "noext"]
    got = stems(names)
    assert got[0] == "a" and got[3] == "b" and got[5] == "noext"
    assert len({s.casefold() for s in got}) == len(names)


def test_image_file_keeps_the_extension() -> None:
    assert image_file("x_2", "x.PNG") == "x_2.PNG"
    assert image_file("y", "y") == "y.img"
