"""Record indexes: the ``tfrecord`` package's text format, reading one record, a range or a
shard through them, and ``tfrecord-lite index``."""

from __future__ import annotations

import io
import random

import pytest

from tfrecord_lite import LengthCRCError, TFRecordWriter, tf_record_iterator
from tfrecord_lite.format.index import (
    IndexedReader,
    IndexError_,
    build_index,
    find_index,
    index_path,
    read_index,
    shard_bounds,
    write_index,
)
from tfrecord_lite.tools.cli import main

RNG = random.Random(9)
RECORDS = [RNG.randbytes(RNG.randrange(0, 2000)) for _ in range(101)]


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.tfrecord"
    with TFRecordWriter(path) as w:
        w.write_many(RECORDS)
    return path


def test_index_lines_are_offset_and_framed_size(data_file) -> None:
    target, count = write_index(data_file)
    assert target == index_path(data_file) == data_file.with_name("data.tfrecord.index")
    assert count == len(RECORDS)
    lines = target.read_text().splitlines()
    offset = 0
    for line, record in zip(lines, RECORDS):
        assert line == f"{offset} {len(record) + 16}"
        offset += len(record) + 16
    assert len(lines) == len(RECORDS) and offset == data_file.stat().st_size
    assert read_index(target) == build_index(data_file)


def test_one_record_a_range_and_negative_positions(data_file) -> None:
    write_index(data_file)
    reader = IndexedReader(data_file)
    assert len(reader) == len(RECORDS)
    assert reader[0] == RECORDS[0] and reader[57] == RECORDS[57] and reader[-1] == RECORDS[-1]
    assert reader[10:20] == RECORDS[10:20]
    assert reader[::25] == RECORDS[::25]
    assert list(reader.records(95)) == RECORDS[95:]
    with pytest.raises(IndexError):
        reader[len(RECORDS)]


@pytest.mark.parametrize("shards", [1, 2, 3, 7, 200])
def test_shards_cover_every_record_once_in_order(data_file, shards) -> None:
    reader = IndexedReader(data_file, index=build_index(data_file))
    got = [r for i in range(shards) for r in reader.shard(i, shards)]
    assert got == RECORDS
    sizes = [len(list(reader.shard(i, shards))) for i in range(shards)]
    assert max(sizes) - min(sizes) <= 1


def test_shard_bounds_follow_the_tfrecord_package() -> None:
    assert [shard_bounds(10, i, 3) for i in range(3)] == [(0, 3), (3, 6), (6, 10)]
    with pytest.raises(ValueError):
        shard_bounds(10, 3, 3)


def test_the_stem_index_of_the_tfrecord_package_is_found(data_file) -> None:
    assert find_index(data_file) is None
    stem = data_file.with_suffix(".index")
    stem.write_text("".join(f"{o} {s}\n" for o, s in build_index(data_file)))
    assert find_index(data_file) == stem
    assert IndexedReader(data_file)[3] == RECORDS[3]


def test_a_wrong_index_fails_with_the_offset(data_file) -> None:
    reader = IndexedReader(data_file, index=[(0, 0), (5, 0)])
    with pytest.raises(LengthCRCError, match="byte offset 5"):
        reader[1]
    past_the_end = build_index(data_file) + [(data_file.stat().st_size, 16)]
    short = IndexedReader(data_file, index=past_the_end)
    with pytest.raises(IndexError_, match="rebuild the index"):
        short[-1]


def test_malformed_index_line_is_named(tmp_path, data_file) -> None:
    bad = tmp_path / "bad.index"
    bad.write_text("0 20\nzero 5\n")
    with pytest.raises(IndexError_, match=r"bad.index:2: expected"):
        read_index(bad)


def test_compressed_files_cannot_be_indexed(tmp_path) -> None:
    path = tmp_path / "z.tfrecord"
    with TFRecordWriter(path, "GZIP") as w:
        w.write(b"x")
    with pytest.raises(IndexError_, match="GZIP-compressed"):
        build_index(path)
    with pytest.raises(IndexError_):
        build_index(io.BytesIO(path.read_bytes()))


def test_cli_indexes_each_file_and_reports_failures(tmp_path, data_file, capsys) -> None:
    gz = tmp_path / "c.tfrecord.gz"
    with TFRecordWriter(gz, "GZIP") as w:
        w.write(b"x")
    assert main(["index", str(data_file)]) == 0
    assert f"{index_path(data_file)}: {len(RECORDS)} records" in capsys.readouterr().out
    index_path(data_file).unlink()
    assert main(["index", str(gz), str(data_file), str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "GZIP-compressed" in out and "is a folder" in out
    assert index_path(data_file).is_file() and not index_path(gz).exists()
    assert list(tf_record_iterator(data_file)) == RECORDS  # the data file is untouched
