"""Manifest streaming, label pairs and attribute choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gt_helpers import FIXTURES, det_line, write_manifest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tfrecord_lite.pipeline.errors import RAISE, SKIP, InputError
from tfrecord_lite.pipeline.groundtruth import manifest as mf
from tfrecord_lite.pipeline.groundtruth.labels import class_map_of, parse_label, task_of
from tfrecord_lite.pipeline.groundtruth.manifest import (
    AttributeCensus,
    find_pairs,
    iter_lines,
    orphan_types,
    parse_date,
)
from tfrecord_lite.pipeline.groundtruth.reader import ReadOptions, read_manifest


def test_crlf_bom_and_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "m", [{"a": 1}, "", "   ", {"b": 2}], newline="\r\n",
                          bom=True)
    assert list(iter_lines(path)) == [(1, {"a": 1}), (4, {"b": 2})]


def test_bad_lines_are_yielded_as_errors_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.write_bytes(b'{"a": 1}\n{not json\n[1, 2]\n\xff\xfe\n' + b"[" * 100_000 + b"\n")
    items = list(iter_lines(path))
    assert items[0] == (1, {"a": 1})
    for (line, err), expected in zip(items[1:], (2, 3, 4, 5)):
        assert isinstance(err, InputError) and err.line == line == expected
        assert err.reason == "bad-json" and f":{expected}:" in str(err)


def test_enormous_line_is_refused_without_reading_it_whole(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(mf, "MAX_LINE_BYTES", 100)
    path = tmp_path / "m"
    path.write_text('{"a": "' + "x" * 5000 + '"}\n{"b": 1}\n')
    items = list(iter_lines(path))
    assert items[0][1].reason == "line-too-long" and items[0][0] == 1
    assert items[1] == (2, {"b": 1})


def _spanned(path: Path, size: int) -> list:
    spans = mf.plan_spans(path, size)
    assert [s.start for s in spans[1:]] == [s.end for s in spans[:-1]]  # no gap, no overlap
    return [(n, raw if isinstance(raw, bytes) else raw.reason)
            for span in spans for n, raw in mf.iter_raw_lines(path, span)]


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 16])
@pytest.mark.parametrize("tail", [b"\n", b""])
def test_spans_read_the_same_lines_as_one_pass(tmp_path: Path, monkeypatch, size, tail) -> None:
    # workers read their own spans of the manifest: together they must see every line once,
    # with its number, whatever the span size (a long line stays whole)
    monkeypatch.setattr(mf, "MAX_LINE_BYTES", 100)
    path = tmp_path / "m"
    path.write_bytes(mf._BOM + b'{"a": 1}\r\n\n  \n' + b'{"x": "' + b"y" * 300 + b'"}\n'
                     + b"".join(b'{"k": %d}\n' % i for i in range(40)) + b'{"end": 1}' + tail)
    whole = [(n, raw if isinstance(raw, bytes) else raw.reason)
             for n, raw in mf.iter_raw_lines(path)]
    assert whole[0] == (1, b'{"a": 1}\r\n') and whole[1] == (4, "line-too-long")
    assert _spanned(path, size) == whole


@pytest.mark.parametrize("size", [3000, 1 << 16, 3 << 20])
def test_spans_across_read_blocks(tmp_path: Path, size) -> None:
    # plan_spans reads the file a MiB at a time: cuts and line counts must carry across blocks
    path = tmp_path / "m"
    path.write_bytes(b"".join(b'{"k": "%s"}\n' % (b"z" * (i % 997)) for i in range(5000)))
    assert path.stat().st_size > 2 << 20
    assert _spanned(path, size) == [(n, raw) for n, raw in mf.iter_raw_lines(path)]


def test_spans_of_an_empty_manifest(tmp_path: Path) -> None:
    path = tmp_path / "m"
    path.write_bytes(b"")
    assert mf.plan_spans(path, 1 << 16) == []
    with pytest.raises(InputError, match="cannot open manifest"):
        mf.plan_spans(tmp_path / "nope", 1 << 16)


def test_missing_manifest_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot open manifest"):
        list(iter_lines(tmp_path / "nope"))


def test_pairs_found_in_any_key_order_and_other_keys_ignored() -> None:
    line = {"job-metadata": {"type": "GroundTruth/Object-Detection"}, "x-metadata": "str",
            "job": {"annotations": []}, "source-ref": "s3://b/k.jpg", "$job-object-id": "7",
            "seg-ref": "s3://b/m.png",
            "seg-ref-metadata": {"type": "groundtruth/semantic-segmentation"}}
    pairs = {p.attribute: p for p in find_pairs(line)}
    assert set(pairs) == {"job", "seg-ref"}
    assert pairs["job"].type == "groundtruth/object-detection"  # case-insensitive
    assert task_of(pairs["job"]) == "object-detection"


def test_orphan_metadata_and_failed_pairs() -> None:
    assert orphan_types({"normal": 0, "auto-label-metadata": {"type": "groundtruth/x"}}) == [
        "groundtruth/x"]
    no_type = find_pairs({"a": 1, "a-metadata": {"job-name": "j"}})[0]
    failure = find_pairs({"a": 1, "a-metadata": {"type": "t", "failure-reason": "x"}})[0]
    ok = find_pairs({"a": 1, "a-metadata": {"type": "t"}})[0]
    assert no_type.failed and failure.failed and not ok.failed


@pytest.mark.parametrize("text", [
    "2019-01-29T13:29:11.798957", "2020-05-25T12:53:54+0000", "2021-08-04T17:02:49.583",
    "2021-06-22T10:11:18.006Z", "2013-11-18T02:53:27", "2020-07-19 16:59:25"])
def test_dates_parse_leniently(text: str) -> None:
    assert isinstance(parse_date(text), float)


def test_date_zones_and_garbage() -> None:
    assert parse_date("2020-01-01T01:00:00+0100") == parse_date("2020-01-01T00:00:00")
    assert parse_date("2020-01-01T00:00:00.5") > parse_date("2020-01-01T00:00:00")
    for bad in ("yesterday", "2020-13-45", 12, None):
        assert parse_date(bad) is None


def _census(*lines: dict) -> AttributeCensus:
    census = AttributeCensus()
    for n, line in enumerate(lines, 1):
        census.add_line(find_pairs(line), orphan_types(line), n)
    return census


def test_newest_creation_date_wins_and_explicit_choice() -> None:
    old = det_line("s3://b/a.jpg", [], {}, attr="orig", date="2025-07-04T02:18:05")
    both = dict(old, **{k: v for k, v in det_line("s3://b/a.jpg", [], {}, attr="orig-chain",
                                                  date="2025-07-10T04:42:14").items()})
    census = _census(old, both)
    assert census.choose(None, "m").attribute == "orig-chain"
    assert census.choose("orig", "m").attribute == "orig"
    with pytest.raises(InputError, match="'nope' not found") as err:
        census.choose("nope", "m")
    assert "orig-chain" in err.value.hint


def test_no_usable_labels_names_the_types_found() -> None:
    census = _census({"source-ref": "x", "v-ref": "y", "v-ref-metadata": {
        "type": "groundtruth/point_cloud_object_detection"}})
    with pytest.raises(InputError, match="no usable labels") as err:
        census.choose(None, "m")
    assert "point_cloud_object_detection" in str(err.value)


@pytest.mark.parametrize("fixture", sorted(FIXTURES.glob("*.manifest")), ids=lambda p: p.stem)
def test_census_merged_from_spans_is_the_census_of_all_lines(fixture: Path) -> None:
    lines = [json.loads(x) for x in fixture.read_text(encoding="utf-8").splitlines() if x.strip()]
    lines = lines + [dict(x, **{"source-ref": "again"}) for x in reversed(lines)]
    whole = _census(*lines)
    for cut in range(len(lines) + 1):
        first, later = _census(*lines[:cut]), AttributeCensus()
        for n, line in enumerate(lines[cut:], cut + 1):
            later.add_line(find_pairs(line), orphan_types(line), n)
        first.merge(later)
        assert first == whole
        assert list(first.attributes) == list(whole.attributes)  # first-seen order kept


# --- property: arbitrary lines only ever produce InputErrors that carry a line number --------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["source-ref", "a", "a-metadata", "type", "annotations", "class-map",
                         "class_id", "left", "width", "image_size", "internal-color-map",
                         "class-name", "0", "hex-color"]) | st.text(max_size=4), inner,
        max_size=5),
    max_leaves=20)
_types = st.sampled_from(["groundtruth/object-detection", "groundtruth/semantic-segmentation",
                          "groundtruth/image-classification", "groundtruth/custom",
                          "groundtruth/image-classification-multilabel", 3, None])
_labelled = st.builds(lambda v, m, t: {"source-ref": "s3://b/k.jpg", "a": v,
                                       "a-metadata": dict(m, type=t) if isinstance(m, dict) else m},
                      _json, _json, _types)
_lines = st.lists(st.one_of(
    st.text(max_size=30).map(lambda s: s.replace("\n", " ")),
    _json.map(lambda v: json.dumps(v)), _labelled.map(json.dumps)), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=_lines)
def test_arbitrary_lines_only_raise_input_errors_located_once(tmp_path: Path, lines) -> None:
    path = tmp_path / "m.manifest"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for line_no, obj in iter_lines(path):
        assert line_no >= 1
        if isinstance(obj, InputError):
            assert obj.line == line_no
            continue
        for pair in find_pairs(obj):
            if task_of(pair) is None:
                continue
            for parse in (parse_label, class_map_of):
                try:
                    parse(pair)
                except InputError as err:
                    assert not err.path and err.at(str(path), line_no).line == line_no
    (tmp_path / "img").mkdir(exist_ok=True)
    for policy in (RAISE, SKIP):
        try:
            read_manifest(path, ReadOptions(tmp_path / "img", policy=policy))
        except InputError as err:
            assert err.line >= 1 or err.reason in ("no-labels", "empty")
