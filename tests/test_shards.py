"""Sharded writing: the size bound, names, no empty shards, nothing left behind on error."""

from __future__ import annotations

import itertools
import os
import random

import pytest

from tfrecord_lite import ShardedWriter, ShardName, tf_record_iterator
from tfrecord_lite.format import shards


def test_name_template_formats_and_parses() -> None:
    name = ShardName("train", 3, 12)
    assert str(name) == "train-00003-of-00012.tfrecord"
    assert ShardName.parse(str(name)) == name
    assert ShardName.parse("/x/my-set-00000-of-00001.tfrecord.gz") == ShardName(
        "my-set", 0, 1, ".tfrecord.gz"
    )
    assert ShardName.parse("train.tfrecord") is None


@pytest.mark.parametrize("options", [None, "GZIP", "ZLIB"])
@pytest.mark.parametrize("sizes", [[100, 900, 3000, 50, 4000] * 20, [200, 37, 1000] * 150])
def test_no_file_exceeds_limit_and_shards_are_filled(tmp_path, options, sizes) -> None:
    # the second set is all small records, which the writer frames in batches: the compressed
    # size must still count the ones waiting in a batch
    records = [os.urandom(n) for n in sizes]
    limit = 10_000
    with ShardedWriter(tmp_path, "train", limit, options) as w:
        for r in records:
            w.write(r)
    paths = w.paths
    assert [p.name for p in paths] == [
        f"train-{i:05d}-of-{len(paths):05d}.tfrecord" for i in range(len(paths))
    ]
    sizes = [p.stat().st_size for p in paths]
    assert all(s <= limit for s in sizes)
    total = sum(len(r) + 16 for r in records)
    assert len(paths) <= total // (limit - 4016) + 1  # filled: each shard but the last is near full
    got = [r for p in paths for r in tf_record_iterator(p, options)]
    assert got == records
    assert sorted(os.listdir(tmp_path)) == [p.name for p in paths]  # no temporary files left


def test_oversized_record_gets_its_own_file(tmp_path) -> None:
    with ShardedWriter(tmp_path, "val", 1000) as w:
        for r in [b"a" * 10, b"b" * 5000, b"c" * 10]:
            w.write(r)
    assert w.records_per_shard == [1, 1, 1]
    assert w.paths[1].stat().st_size == 5016


def test_exact_fit(tmp_path) -> None:
    with ShardedWriter(tmp_path, "t", 2 * (84 + 16)) as w:
        for _ in range(5):
            w.write(b"x" * 84)
    assert w.records_per_shard == [2, 2, 1]


def test_no_records_no_files(tmp_path) -> None:
    with ShardedWriter(tmp_path, "t", 100) as w:
        pass
    assert w.paths == [] and os.listdir(tmp_path) == []


def test_error_removes_everything(tmp_path) -> None:
    with pytest.raises(RuntimeError):
        with ShardedWriter(tmp_path, "t", 100) as w:
            for _ in range(10):
                w.write(b"y" * 50)
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_write_parts_lays_out_as_write(tmp_path) -> None:
    records = [os.urandom(n) for n in [100, 900, 3000, 50, 4000] * 10]
    (tmp_path / "a").mkdir()
    with ShardedWriter(tmp_path / "a", "t", 10_000) as a:
        for r in records:
            a.write(r)
    (tmp_path / "b").mkdir()
    with ShardedWriter(tmp_path / "b", "t", 10_000) as b:
        for r in records:
            b.write_parts((r[:10], r[10:]))
    assert a.records_per_shard == b.records_per_shard
    assert [p.read_bytes() for p in a.paths] == [p.read_bytes() for p in b.paths]


@pytest.mark.parametrize("seed", range(5))
def test_plan_split_lays_out_what_sharded_writer_writes(tmp_path, seed) -> None:
    """The converter's plan and the streaming writer make the same files for the same records:
    same names, same records per shard, same bytes per shard."""
    rng = random.Random(seed)
    records = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 400))) for _ in range(60)]
    limit = rng.randrange(300, 3000)
    with ShardedWriter(tmp_path, "t", limit) as w:
        w.write_many(records)
    plan = shards.plan_split([len(r) + 16 for r in records], limit, "t", range_bytes=700)
    assert [s.name for s in plan.shards] == [p.name for p in w.paths]
    assert [s.count for s in plan.shards] == w.records_per_shard
    assert [s.bytes for s in plan.shards] == w.bytes_per_shard
    # the ranges cover every record once, in order, and each starts where the last one ended
    assert [r.first for r in plan.ranges] == list(
        itertools.accumulate([0] + [r.count for r in plan.ranges[:-1]]))
    assert sum(r.count for r in plan.ranges) == len(records)
    for r in plan.ranges:
        shard = plan.shards[r.shard]
        assert shard.first <= r.first and r.first + r.count <= shard.first + shard.count
        assert r.offset == sum(len(x) + 16 for x in records[shard.first : r.first])
        assert r.count >= 1


def test_plan_split_of_no_records_is_no_shards() -> None:
    assert shards.plan_split([], 100, "t", 10) == shards.ShardPlan((), ())


def test_plan_split_gives_an_oversized_record_a_shard_of_its_own() -> None:
    plan = shards.plan_split([50, 500, 50], 100, "t", 1000)
    assert [(s.first, s.count, s.bytes) for s in plan.shards] == [(0, 1, 50), (1, 1, 500),
                                                                 (2, 1, 50)]
    assert plan.shards[1].name == "t-00001-of-00003.tfrecord"


def test_sharded_writer_creates_its_folder_with_the_first_record(tmp_path) -> None:
    folder = tmp_path / "new" / "train"
    with ShardedWriter(folder, "t", 1000) as w:
        assert not folder.exists()  # nothing written yet, nothing made
        w.write(b"x")
    assert [p.name for p in folder.iterdir()] == ["t-00000-of-00001.tfrecord"]
    assert list(tf_record_iterator(w.paths[0])) == [b"x"]
