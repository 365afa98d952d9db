"""source-ref resolution, path safety, headers, EXIF and output names (groundtruth.images)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from gt_helpers import make_image, symlink
from PIL import Image

from tfrecord_lite.pipeline.errors import InputError
from tfrecord_lite.pipeline.groundtruth.images import (
    ImageIndex,
    ImageReader,
    assign_names,
    read_header,
)


@pytest.fixture()
def images(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    for rel in ("raw/train/a.jpg", "b.jpg", "x/dup.jpg", "y/dup.jpg", "sp ace/130919 blue%20.jpg",
                "한국/국어_page_00.png"):
        make_image(root / rel, 8, 6)
    return root


def rel_of(index: ImageIndex, ref: str) -> str:
    return index.resolve(ref)[0]


def test_longest_key_suffix_wins(images: Path) -> None:
    index = ImageIndex(images)
    assert rel_of(index, "s3://bucket/raw/train/a.jpg") == "raw/train/a.jpg"
    assert rel_of(index, "s3://bucket/deep/prefix/raw/train/a.jpg") == "raw/train/a.jpg"
    assert rel_of(index, "s3://bucket/elsewhere/b.jpg") == "b.jpg"
    assert rel_of(index, "https://bucket.s3.amazonaws.com/train/a.jpg") == "raw/train/a.jpg"
    assert rel_of(index, "s3://bucket/p/y/dup.jpg") == "y/dup.jpg"
    rel, stored = index.resolve("s3://b/raw/train/a.jpg")
    full = index.full(stored)
    assert Path(full) == images / "raw/train/a.jpg"


def test_file_name_anywhere_when_unique_else_ambiguous(images: Path) -> None:
    index = ImageIndex(images)
    assert rel_of(index, "s3://bucket/other/a.jpg") == "raw/train/a.jpg"
    with pytest.raises(InputError) as err:
        index.resolve("s3://bucket/z/dup.jpg")
    assert err.value.reason == "ambiguous-image" and "x/dup.jpg" in err.value.hint


def test_refs_are_opaque_spaces_percent_unicode(images: Path) -> None:
    index = ImageIndex(images)
    assert rel_of(index, "s3://b/sp ace/130919 blue%20.jpg") == "sp ace/130919 blue%20.jpg"
    with pytest.raises(InputError, match="not found"):
        index.resolve("s3://b/sp ace/130919 blue .jpg")  # never URL-decoded
    assert rel_of(index, "s3://b/raw-images/한국/국어_page_00.png") == "한국/국어_page_00.png"


def test_local_paths_relative_and_absolute(images: Path) -> None:
    index = ImageIndex(images)
    assert rel_of(index, "raw/train/a.jpg") == "raw/train/a.jpg"
    assert rel_of(index, str(images / "b.jpg")) == "b.jpg"
    assert rel_of(index, "file://" + str(images / "b.jpg")) == "b.jpg"


def test_missing_image_names_the_ref(images: Path) -> None:
    with pytest.raises(InputError) as err:
        ImageIndex(images).resolve("s3://b/nothere.jpg")
    assert err.value.reason == "missing-image"
    assert "nothere.jpg" in str(err.value)


@pytest.mark.parametrize(
    "ref", ["../secret.jpg", "s3://b/../../secret.jpg", "raw/../../secret.jpg"])
def test_dotdot_is_refused(images: Path, ref: str) -> None:
    make_image(images.parent / "secret.jpg", 4, 4)
    with pytest.raises(InputError) as err:
        ImageIndex(images).resolve(ref)
    assert err.value.reason == "path-escape"


def test_absolute_path_outside_is_refused(images: Path) -> None:
    secret = make_image(images.parent / "secret.jpg", 4, 4)
    for ref in (str(secret), "file://" + str(secret)):
        with pytest.raises(InputError) as err:
            ImageIndex(images).resolve(ref)
        assert err.value.reason == "path-escape"


def test_symlinks_cannot_escape(images: Path) -> None:
    outside = images.parent / "outside"
    make_image(outside / "s.jpg", 4, 4)
    symlink(outside / "s.jpg", images / "link.jpg")
    symlink(outside, images / "linkdir")
    symlink(images / "b.jpg", images / "inner.jpg")
    index = ImageIndex(images)
    for ref in ("s3://b/link.jpg", "s3://b/linkdir/s.jpg"):
        with pytest.raises(InputError) as err:
            index.resolve(ref)
        assert err.value.reason == "path-escape"
    rel, full = index.resolve("s3://b/inner.jpg")  # a link that stays inside is fine
    assert rel == "inner.jpg" and full == os.path.realpath(images / "b.jpg")


def test_missing_images_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="images folder"):
        ImageIndex(tmp_path / "nope")


def test_header_size_and_corrupt_files(tmp_path: Path) -> None:
    png = make_image(tmp_path / "a.png", 30, 20)
    assert read_header(str(png), "r").width == 30
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    text = tmp_path / "t.jpg"
    text.write_text("hello")
    for path in (bad, text):
        with pytest.raises(InputError) as err:
            read_header(str(path), "s3://b/x.jpg")
        assert err.value.reason == "bad-image" and "x.jpg" in str(err.value)
    with pytest.raises(InputError) as err:
        read_header(str(tmp_path / "gone.jpg"), "r")
    assert err.value.reason == "missing-image"


@pytest.mark.parametrize(("orientation", "swapped"), [(1, False), (3, False), (6, True),
                                                       (8, True), (0, False), (42, False)])
def test_exif_header_decision(tmp_path: Path, orientation: int, swapped: bool) -> None:
    path = make_image(tmp_path / "e.jpg", 40, 30, exif_orientation=orientation)
    header = read_header(str(path), "r")
    assert (header.width, header.height) == ((30, 40) if swapped else (40, 30))
    assert bool(header.reencode) is (2 <= orientation <= 8 and orientation != 1)


def test_reader_passes_bytes_through_unless_rotated(tmp_path: Path) -> None:
    plain = make_image(tmp_path / "p.jpg", 40, 30)
    assert ImageReader(str(tmp_path), "p.jpg", False, "m", 1)() == plain.read_bytes()
    rotated = make_image(tmp_path / "r.jpg", 40, 30, exif_orientation=6)
    data = ImageReader("", str(rotated), True, "m", 1)()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG" and image.size == (30, 40)
        assert image.getexif().get(0x0112) in (None, 1)
    gone = ImageReader(str(tmp_path), "gone.jpg", False, "m", 5)
    with pytest.raises(InputError, match="m:5"):
        gone()


def test_names_keep_unique_basenames_and_disambiguate_collisions() -> None:
    rels = ["a/x.jpg", "b/x.jpg", "c/y.png", "x.jpg", "p/q/z.jpg", "r/q/z.jpg", "a/x.jpg",
            "d/Y.PNG", "k/v/a_x.jpg"]
    names = assign_names(rels)
    assert names == ["a_x.jpg", "b_x.jpg", "c_y.png", "x.jpg", "p_q_z.jpg", "r_q_z.jpg",
                     "a_x~2.jpg", "d_Y.PNG", "v_a_x.jpg"]
    assert len({n.casefold() for n in names}) == len(names)
    assert assign_names(rels) == names  # deterministic


def test_names_are_safe_file_names() -> None:
    names = assign_names(["..hidden.jpg", "a:b*c?.jpg", "tab\there.jpg", "x" * 300 + ".jpg",
                          "00390379.jpg\u200b.jpg", "raw\udcff.jpg", "画" * 70 + ".jpg",
                          "画" * 79 + ".jpg", "😀" * 60 + "x"])
    assert names[0] == "_.hidden.jpg" and names[1] == "a_b_c_.jpg" and names[2] == "tab_here.jpg"
    assert names[3].endswith(".jpg") and len(names[3].encode()) <= 240
    assert names[4] == "00390379.jpg\u200b.jpg"  # Unicode is kept
    # a file name that was not UTF-8 (listed with surrogate escapes) still gets a UTF-8 name
    assert names[5] == "raw_.jpg"
    assert names[6] == "画" * 70 + ".jpg"  # 214 bytes: kept
    assert names[7] == "画" * 78 + ".jpg"  # 241 bytes: cut to 238
    assert names[8] == "😀" * 59 + "x"  # 61 characters, 241 bytes: cut to 237
    assert all("/" not in n and "\\" not in n for n in names)


def test_read_file_reads_the_whole_file_whatever_its_size(tmp_path) -> None:
    from tfrecord_lite.pipeline.groundtruth.images import read_file

    for n in (0, 1, 4095, 65536, 3 << 20):
        path = tmp_path / f"f{n}"
        data = bytes(range(256)) * (n // 256) + b"x" * (n % 256)
        path.write_bytes(data)
        assert read_file(str(path)) == data


def test_read_file_sees_a_file_that_grew_after_its_size_was_taken(tmp_path, monkeypatch) -> None:
    """The size from fstat is only a first guess: bytes past it are read too."""
    import os

    from tfrecord_lite.pipeline.groundtruth import images

    path = tmp_path / "grows"
    path.write_bytes(b"a" * 5000)
    real_fstat = os.fstat

    def stale_fstat(fd):  # the size before the file grew
        result = real_fstat(fd)
        return os.stat_result((*result[:6], 100, *result[7:]))

    monkeypatch.setattr(images.os, "fstat", stale_fstat)
    assert images.read_file(str(path)) == b"a" * 5000


@pytest.mark.parametrize("kind", ["JPEG", "PNG"])
def test_head_of_a_scanned_format_is_the_files_own_start_without_opening_it(tmp_path, kind):
    """-f tfod names ``image/format`` from ``head``: where the header scan found the format,
    the reader gives the bytes every such file starts with, and opens nothing for them."""
    from tfrecord_lite.pipeline.formats.tfod_format import HEAD, image_format

    path = tmp_path / f"p.{kind.lower()}"
    Image.new("RGB", (8, 6), "red").save(path, kind)
    data = path.read_bytes()
    scanned = ImageReader(str(tmp_path), path.name, False, "m", 1, fmt=kind)
    unscanned = ImageReader(str(tmp_path), path.name, False, "m", 1)
    head = scanned.head(HEAD)
    assert data.startswith(head) and unscanned.head(HEAD) == data[:HEAD]
    assert image_format(head, "x") == image_format(data, "x") == kind.lower().encode()
    path.unlink()  # nothing opened: the scan's bytes still name it; the unscanned one fails
    assert scanned.head(HEAD) == head
    with pytest.raises(InputError):
        unscanned.head(HEAD)
