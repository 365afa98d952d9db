"""The class table: union, clashes, compaction, classes file."""

from __future__ import annotations

from pathlib import Path

import pytest
from gt_helpers import det_line, make_image, write_manifest
from hypothesis import given, settings
from hypothesis import strategies as st

from tfrecord_lite.pipeline.errors import SKIP, InputError
from tfrecord_lite.pipeline.groundtruth.classes import (
    ClassMaps,
    ClassTable,
    ClassUnion,
    class_id,
    parse_class_map,
    read_classes_file,
)
from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions, read_manifest


def test_class_id_spellings() -> None:
    assert [class_id(v) for v in (0, "3", " 4 ", 2.0)] == [0, 3, 4, 2]
    assert [class_id(v) for v in (True, -1, "x", 1.5, "٣", None)] == [None] * 6


def test_parse_class_map_strips_names_and_rejects_garbage() -> None:
    assert parse_class_map({"5": "footer", "0": "设备 "}) == {5: "footer", 0: "设备"}
    assert parse_class_map(None) == {}
    for bad in ([1], {"a": "x"}, {"1": ""}, {"1": 3}):
        with pytest.raises(InputError) as err:
            parse_class_map(bad)
        assert err.value.reason == "bad-label"


def test_class_maps_parse_an_equal_map_once_and_each_read_has_its_own() -> None:
    maps = ClassMaps()
    first = maps.parse({"1": "cat", "0": "dog"})
    assert first == {1: "cat", 0: "dog"}
    assert maps.parse({"1": "cat", "0": "dog"}) is first  # consecutive lines: one parse
    assert maps.parse({"1": "cow"}) == {1: "cow"}
    assert maps.parse({"1": "cat", "0": "dog"}) is not first  # only the last map is kept
    with pytest.raises(InputError):
        maps.parse({"1": ""})  # a bad map is refused even right after a good one
    assert ClassMaps().parse({"1": "cow"}) == {1: "cow"}  # another read starts afresh
    assert parse_class_map({"1": "cat"}) is not parse_class_map({"1": "cat"})  # no hidden memo


def test_sparse_partial_unordered_maps_are_compacted_in_id_order() -> None:
    union = ClassUnion()
    union.add({3: "英文", 0: "符号"}, 1)
    union.add({1: "设备"}, 2)
    union.add({}, 3)
    union.add({7: "z", 0: "符号"}, 4)
    table = ClassTable.build(union)
    assert table.names == ("符号", "设备", "英文", "z")
    assert table.index("z") == 3


def test_same_name_under_two_ids_is_one_class() -> None:
    union = ClassUnion()
    union.add({0: "helmet", 1: "helmet", 2: "head"}, 1)
    assert ClassTable.build(union).names == ("helmet", "head")


def test_ids_that_disagree_between_lines_are_keyed_by_name() -> None:
    # Rekognition Custom Labels exports: id 4 is "dog" on one line and "cat" on another
    union = ClassUnion()
    union.add({0: "animal", 4: "dog", 5: "cat"}, 1)
    union.add({2: "lady", 3: "dog", 4: "cat"}, 3)
    union.add({0: "bulldog", 1: "baby"}, 5)
    assert set(union.clashes) == {0, 4}
    assert union.describe_clashes() == ("id 0 is 'animal' (line 1), 'bulldog' (line 5); "
                                        "id 4 is 'dog' (line 1), 'cat' (line 3)")
    # by smallest id, then first appearance: animal 0/1, bulldog 0/5, baby 1, lady 2, dog 3, cat 4
    assert ClassTable.build(union).names == ("animal", "bulldog", "baby", "lady", "dog", "cat")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([{0: "cat"}, {0: "dog"}, {0: "cat", 1: "dog"}, {1: "cat"},
                                 {2: "bird", 0: "dog"}, {}]), max_size=12),
       st.lists(st.integers(1, 4), max_size=12))
def test_a_run_of_lines_adds_like_each_line(maps, cuts) -> None:
    # the first pass hands on runs of lines that share a map: one add per run must record the
    # same names, first lines and per-line clashes as one add per line
    one = ClassUnion()
    for line, mapping in enumerate(maps, 1):
        one.add(mapping, line)
    runs = ClassUnion()
    start = 0
    for cut in cuts + [len(maps)]:
        end = min(len(maps), start + cut)
        while start < end:  # a run: consecutive lines with the very same map
            stop = start + 1
            while stop < end and maps[stop] == maps[start]:
                stop += 1
            runs.add(maps[start], *range(start + 1, stop + 1))
            start = stop
    assert runs == one


def test_classes_file_fixes_order_and_refuses_other_names(tmp_path: Path) -> None:
    path = tmp_path / "classes.txt"
    path.write_bytes("\ufeffdog\r\n\r\ncat\r\n bird \n".encode())
    names = read_classes_file(path)
    assert names == ["dog", "cat", "bird"]
    union = ClassUnion()
    union.add({0: "cat", 1: "dog"}, 1)
    table = ClassTable.build(union, names, str(path))
    assert table.index("cat") == 1
    with pytest.raises(InputError, match="not in the classes file") as err:
        table.index("fish")
    assert err.value.reason == "unknown-class"


def test_classes_file_errors(tmp_path: Path) -> None:
    dup = tmp_path / "dup.txt"
    dup.write_text("a\nb\na\n")
    with pytest.raises(InputError, match="listed twice") as err:
        read_classes_file(dup)
    assert err.value.line == 3
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match="no classes"):
        read_classes_file(empty)
    with pytest.raises(InputError, match="cannot read"):
        read_classes_file(tmp_path / "missing.txt")


# --- through the reader -----------------------------------------------------------------------

def _setup(tmp_path: Path, lines: list[dict]) -> tuple[Path, Path]:
    images = tmp_path / "images"
    for line in lines:
        make_image(images / line["source-ref"].split("/")[-1], 100, 100)
    return write_manifest(tmp_path / "out.manifest", lines), images


def test_reader_union_over_lines_and_classes_file(tmp_path: Path) -> None:
    lines = [det_line(f"s3://b/{n}.jpg", boxes, cmap) for n, (boxes, cmap) in enumerate([
        ([(3, 1, 1, 5, 5)], {3: "c3"}), ([(0, 1, 1, 5, 5), (1, 2, 2, 5, 5)], {1: "c1", 0: "c0"}),
        ([], {})])]
    manifest, images = _setup(tmp_path, lines)
    result = read_manifest(manifest, ReadOptions(images))
    assert result.classes == ["c0", "c1", "c3"]
    assert [b.class_index for b in result.samples[0].boxes] == [2]
    assert [b.class_index for b in result.samples[1].boxes] == [0, 1]
    assert result.samples[2].boxes == ()
    classes = tmp_path / "classes.txt"
    classes.write_text("c3\nextra\nc1\nc0\n")
    fixed = read_manifest(manifest, ReadOptions(images, classes_file=classes))
    assert fixed.classes == ["c3", "extra", "c1", "c0"]
    assert [b.class_index for b in fixed.samples[1].boxes] == [3, 2]
    classes.write_text("c0\nc1\n")
    with pytest.raises(InputError, match="'c3' is not in the classes file") as err:
        read_manifest(manifest, ReadOptions(images, classes_file=classes))
    assert err.value.line == 1
    skipped = read_manifest(manifest, ReadOptions(images, classes_file=classes, policy=SKIP))
    assert skipped.report.skipped == {"unknown-class": 1} and len(skipped.samples) == 2


def test_reader_keeps_each_box_with_its_own_lines_name(tmp_path: Path) -> None:
    lines = [det_line("s3://b/a.jpg", [(4, 1, 1, 5, 5)], {0: "animal", 4: "dog"}),
             det_line("s3://b/b.jpg", [(4, 1, 1, 5, 5), (3, 2, 2, 5, 5)], {3: "dog", 4: "cat"})]
    manifest, images = _setup(tmp_path, lines)
    result = read_manifest(manifest, ReadOptions(images))
    assert "id 4 is 'dog' (line 1), 'cat' (line 2)" in result.report.notices[0]
    assert result.classes == ["animal", "dog", "cat"]
    named = [[result.classes[b.class_index] for b in s.boxes] for s in result.samples]
    assert named == [["dog"], ["cat", "dog"]]
    assert result.report.class_clashes and not result.report.skipped
    # a box whose id its own line does not map is still refused: that is really ambiguous
    bad = [det_line("s3://b/a.jpg", [(4, 1, 1, 5, 5)], {0: "animal"})]
    manifest, images = _setup(tmp_path / "bad", bad)
    with pytest.raises(InputError, match="class_id 4 is not in this line's class-map"):
        read_manifest(manifest, ReadOptions(images))
