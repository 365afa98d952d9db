"""Size-bounded shard writing, and the one template that formats and parses shard names.

Shards are written under temporary names and renamed to ``<prefix>-00000-of-00012.tfrecord``
(0-based, the TensorFlow/TFDS convention) once the count is known, so a crash never leaves a set
of files that looks complete.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tfrecord_lite.format.records import (
    FRAME_OVERHEAD,
    TFRecordOptions,
    TFRecordWriter,
    _Compressor,
)

__all__ = [
    "PlannedRange",
    "PlannedShard",
    "ShardName",
    "ShardPlan",
    "ShardedWriter",
    "plan_rollover",
    "plan_shards",
    "plan_split",
]

_NAME = re.compile(r"^(?P<prefix>.+)-(?P<index>\d{5,})-of-(?P<count>\d{5,})(?P<suffix>\..*)?$")


@dataclass(frozen=True)
class ShardName:
    """``prefix-IIIII-of-NNNNN.suffix``: format with ``str()``, read back with ``parse``."""

    prefix: str
    index: int
    count: int
    suffix: str = ".tfrecord"

    def __str__(self) -> str:
        return f"{self.prefix}-{self.index:05d}-of-{self.count:05d}{self.suffix}"

    @classmethod
    def parse(cls, name: str) -> ShardName | None:
        """The parts of a shard file name, or None when the name is not one."""
        m = _NAME.match(os.path.basename(name))
        if not m:
            return None
        return cls(m["prefix"], int(m["index"]), int(m["count"]), m["suffix"] or "")


def _deflate_bound(n: int) -> int:
    """zlib's compressBound: the most deflate can emit for n input bytes (plus a sync marker)."""
    return n + (n >> 12) + (n >> 14) + (n >> 25) + 13 + 5


def plan_rollover(current: int, pending: int, record: int, max_bytes: int, trailer: int) -> bool:
    """Whether a record of ``record`` framed bytes must start a new shard.

    ``current`` is what the open shard already holds on disk, ``pending`` an upper bound on what
    is still buffered, ``trailer`` what closing the shard adds.  A shard with no records never
    rolls over: a record larger than the limit gets a file of its own.
    """
    return current + pending + record + trailer > max_bytes


def plan_shards(framed_sizes: list[int], max_bytes: int) -> list[int]:
    """Records per shard for records of these framed sizes, uncompressed: the same layout
    ``ShardedWriter`` makes, computed before any byte is written."""
    counts: list[int] = []
    current = 0
    for size in framed_sizes:
        if not counts or (counts[-1] and plan_rollover(current, 0, size, max_bytes, 0)):
            counts.append(0)
            current = 0
        counts[-1] += 1
        current += size
    return counts


@dataclass(frozen=True)
class PlannedShard:
    """One file of a split: records ``first .. first + count - 1`` of it, ``bytes`` long."""

    name: str
    first: int
    count: int
    bytes: int


@dataclass(frozen=True)
class PlannedRange:
    """A run of records that one task writes into shard ``shard`` from byte ``offset``.

    Its bytes depend on the plan alone, so tasks may run in any process, in any order, or again
    after a failure, and the files come out the same.
    """

    shard: int
    offset: int
    first: int
    count: int


@dataclass(frozen=True)
class ShardPlan:
    shards: tuple[PlannedShard, ...]
    ranges: tuple[PlannedRange, ...]


def plan_split(
    framed_sizes: Sequence[int],
    max_bytes: int,
    prefix: str,
    range_bytes: int,
    suffix: str = ".tfrecord",
) -> ShardPlan:
    """The shards of one split of uncompressed records of these framed sizes (each record's
    length + 16), at most ``max_bytes`` a file, each cut into ranges of about ``range_bytes``."""
    counts = plan_shards(list(framed_sizes), max_bytes)
    planned: list[PlannedShard] = []
    ranges: list[PlannedRange] = []
    first = 0
    for k, count in enumerate(counts):
        offset = 0
        for run in plan_shards(list(framed_sizes[first : first + count]), range_bytes):
            ranges.append(PlannedRange(k, offset, first, run))
            offset += sum(framed_sizes[first : first + run])
            first += run
        planned.append(PlannedShard(str(ShardName(prefix, k, len(counts), suffix)),
                                    first - count, count, offset))
    return ShardPlan(tuple(planned), tuple(ranges))


class ShardedWriter:
    """Writes records into ``directory`` (created, with its parents, at the first record) so
    that no file exceeds ``max_bytes``.

    The limit counts the framing (16 bytes a record) and, with compression, the compressed bytes.
    After ``close()`` (or the ``with`` block), ``paths`` lists the files in order; if the block
    raised, the temporary files are removed instead.  No records, no files.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        prefix: str,
        max_bytes: int,
        options: None | str | TFRecordOptions = None,
        suffix: str = ".tfrecord",
    ) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, not {max_bytes}")
        self.directory = Path(directory)
        self.prefix = prefix
        self.max_bytes = int(max_bytes)
        self.options = TFRecordOptions.coerce(options)
        self.suffix = suffix
        self.paths: list[Path] = []
        self.records_per_shard: list[int] = []
        self.bytes_per_shard: list[int] = []
        self._tag = uuid.uuid4().hex[:8]
        self._temps: list[Path] = []
        self._writer: TFRecordWriter | None = None
        self._pending = 0  # uncompressed bytes fed to the compressor since its size was exact
        self._framed = 0
        self._closed = False
        self._trailer = {"GZIP": 8, "ZLIB": 4}.get(self.options.compression_type or "", 0)

    @property
    def records(self) -> int:
        return sum(self.records_per_shard)

    @property
    def _compressor(self) -> _Compressor | None:
        return self._writer._compressor if self._writer is not None else None

    def _open(self) -> None:
        path = self.directory / f".{self.prefix}-{len(self._temps):05d}.{self._tag}.tmp"
        self._temps.append(path)
        self._writer = TFRecordWriter(path, self.options)
        self._pending = 0
        self._framed = 0  # framed bytes in this shard, before compression
        self.records_per_shard.append(0)

    def _finish_shard(self) -> None:
        assert self._writer is not None
        self._writer.close()
        self.bytes_per_shard.append(os.path.getsize(self._temps[-1]))
        self._writer = None

    def write(self, record: bytes) -> None:
        """Append one record, first closing the current shard if the record would overflow it."""
        self._make_room(len(record))
        self._writer.write(record)

    def write_parts(self, parts: Sequence[bytes]) -> None:
        """Append one record given in pieces (see ``TFRecordWriter.write_parts``)."""
        self._make_room(sum(map(len, parts)))
        self._writer.write_parts(parts)

    def _make_room(self, size: int) -> None:
        """Count a record of ``size`` bytes into the shard that will hold it, opening a new
        shard when it would overflow this one."""
        framed = size + FRAME_OVERHEAD
        if self._writer is not None and self.records_per_shard[-1]:
            comp = self._compressor
            if comp is None:
                full = plan_rollover(self._framed, 0, framed, self.max_bytes, 0)
            else:
                bound = _deflate_bound(framed)
                full = plan_rollover(
                    comp.bytes_out,
                    _deflate_bound(self._pending) if self._pending else 0,
                    bound,
                    self.max_bytes,
                    self._trailer,
                )
                if full and self._pending:
                    self._writer.flush()  # the records it still holds go to the compressor
                    comp.sync()  # learn the exact size before giving up on this shard
                    self._pending = 0
                    full = plan_rollover(comp.bytes_out, 0, bound, self.max_bytes, self._trailer)
            if full:
                self._finish_shard()
        if self._writer is None:
            if not self._temps:
                self.directory.mkdir(parents=True, exist_ok=True)  # created with the first shard
            self._open()
        self._pending += framed
        self._framed += framed
        self.records_per_shard[-1] += 1

    def write_many(self, records) -> None:
        for record in records:
            self.write(record)

    def abort(self) -> None:
        """Remove every file written so far; nothing is left behind."""
        self._closed = True
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError:
                pass
            self._writer = None
        for p in self._temps + self.paths:
            try:
                p.unlink()
            except FileNotFoundError:
                pass
        self.paths = []

    def close(self) -> list[Path]:
        """Finish the last shard and give every shard its final name; returns ``paths``."""
        if self._closed:
            return self.paths
        self._closed = True
        if self._writer is not None:
            self._finish_shard()
        count = len(self._temps)
        for index, temp in enumerate(self._temps):
            final = self.directory / str(ShardName(self.prefix, index, count, self.suffix))
            os.replace(temp, final)
            self.paths.append(final)
        return self.paths

    def __enter__(self) -> ShardedWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
