"""Indexes and the ``tfrecord`` package: the same ``.index`` bytes, and each side reads the
other's index into the same shards, over a file TensorFlow wrote.

The ``tfrecord`` package runs in a subprocess: its ``example_pb2`` and TensorFlow's register the
same proto names, and one process cannot hold both.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from compat_util import run_python, tf_records

from tfrecord_lite.format.index import IndexedReader, index_path, write_index

RNG = random.Random(2024)
RECORDS = [RNG.randbytes(RNG.randrange(0, 5000)) for _ in range(97)]


@pytest.fixture
def tf_file(tf: Any, tmp_path: Path) -> Path:
    path = tmp_path / "tf.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as w:
        for record in RECORDS:
            w.write(record)
    return path


CREATE = "import sys; from tfrecord.tools.tfrecord2idx import create_index as c; c(*sys.argv[1:])"
SHARDS = """
import sys
from tfrecord.reader import tfrecord_iterator
data, index, out, shards = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(out, "wb") as f:
    for i in range(shards):
        for record in tfrecord_iterator(data, index, shard=(i, shards)):
            f.write(b"%d %d\\n" % (i, len(record)) + bytes(record))
"""


def their_shards(data: Path, index: Path, out: Path, shards: int) -> list[list[bytes]]:
    """Each shard's records as the tfrecord package reads them through ``index``."""
    run_python(SHARDS, str(data), str(index), str(out), str(shards))
    raw = out.read_bytes()
    got: list[list[bytes]] = [[] for _ in range(shards)]
    at = 0
    while at < len(raw):
        end = raw.index(b"\n", at)
        shard, size = map(int, raw[at:end].split())
        got[shard].append(raw[end + 1 : end + 1 + size])
        at = end + 1 + size
    return got


def test_same_index_bytes_as_tfrecord2idx(tf_file: Path, tmp_path: Path) -> None:
    theirs = tmp_path / "theirs.index"
    run_python(CREATE, str(tf_file), str(theirs))
    ours, count = write_index(tf_file)
    assert count == len(RECORDS)
    assert ours.read_bytes() == theirs.read_bytes()


@pytest.mark.parametrize("shards", [1, 2, 5])
def test_each_side_reads_shards_through_the_others_index(
    tf: Any, tf_file: Path, tmp_path: Path, shards: int
) -> None:
    theirs = tmp_path / "theirs.index"
    run_python(CREATE, str(tf_file), str(theirs))
    ours, _ = write_index(tf_file)
    assert ours == index_path(tf_file)
    reader = IndexedReader(tf_file, index=theirs)  # we read through their index ...
    other = their_shards(tf_file, ours, tmp_path / "shards.bin", shards)  # ... they through ours
    everything = tf_records(tf, tf_file)
    got_ours = []
    for i in range(shards):
        mine = list(reader.shard(i, shards))
        assert mine == other[i]
        got_ours += mine
    assert got_ours == everything
    assert reader[40] == everything[40]
