"""Record offsets of a TFRecord file, and reading records by position: one, a range, or shard
``i`` of ``n`` (what each PyTorch ``DataLoader`` worker needs).

The index is the text format of the ``tfrecord`` package's ``.index`` files (``tfrecord2idx``):
one line per record, ``<byte offset> <framed size>``, so indexes made by either tool serve both.
Only uncompressed files can be indexed: a GZIP/ZLIB stream cannot be entered in the middle.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Union

from tfrecord_lite.format.errors import TFRecordLiteError
from tfrecord_lite.format.records import (
    _READ_CHUNK,
    FRAME_OVERHEAD,
    _iter_frames,
    _open,
    _peek,
    detect_compression,
)

__all__ = [
    "IndexError_",
    "IndexedReader",
    "build_index",
    "find_index",
    "index_path",
    "read_index",
    "shard_bounds",
    "write_index",
]

Entries = list[tuple[int, int]]  # (offset, framed size) per record
IndexSource = Union[str, "os.PathLike[str]", Sequence[tuple[int, int]], None]


class IndexError_(TFRecordLiteError):  # the underscore: IndexError is Python's own
    """An index cannot be made or read (a compressed file, a malformed ``.index`` line)."""


def index_path(path: str | os.PathLike[str]) -> Path:
    """Where ``tfrecord-lite index`` writes a file's index: beside it, ``<name>.index``."""
    return Path(os.fspath(path) + ".index")


def find_index(path: str | os.PathLike[str]) -> Path | None:
    """An existing index of ``path``: ``<name>.index``, or ``<stem>.index`` (the ``tfrecord``
    package's examples name ``data.tfrecord``'s index ``data.index``)."""
    p = Path(path)
    for candidate in (index_path(p), p.with_suffix(".index") if p.suffix else None):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def build_index(path: str | os.PathLike[str], verify: bool = True) -> Entries:
    """``(offset, framed size)`` of every record, reading the file once (CRCs checked)."""
    raw, name, owned = _open(path, "rb")
    try:
        raw, head = _peek(raw, 12)
        kind = detect_compression(head)
        if kind:
            raise IndexError_(
                f"{name}: is {kind}-compressed; only uncompressed files can be indexed (a "
                "compressed stream cannot be read from the middle): decompress it first"
            )
        out: Entries = []
        offset = 0
        for data in _iter_frames(raw.read, name, verify):
            size = len(data) + FRAME_OVERHEAD
            out.append((offset, size))
            offset += size
        return out
    finally:
        if owned:
            raw.close()


def write_index(
    path: str | os.PathLike[str], index_file: str | os.PathLike[str] | None = None
) -> tuple[Path, int]:
    """Index ``path`` into ``index_file`` (default ``index_path(path)``), written whole or not at
    all; returns the index file and the number of records."""
    entries = build_index(path)
    target = Path(index_file) if index_file is not None else index_path(path)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "w", encoding="ascii") as f:
            f.writelines(f"{offset} {size}\n" for offset, size in entries)
        os.replace(temp, target)
    finally:
        if temp.exists():
            temp.unlink()
    return target, len(entries)


def read_index(index_file: str | os.PathLike[str]) -> Entries:
    """Parse a ``.index`` file: ``offset size`` per line (a lone offset is accepted too)."""
    out: Entries = []
    with open(index_file, encoding="ascii", errors="replace") as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            try:
                values = [int(v) for v in fields]
            except ValueError:
                values = []
            if not 1 <= len(values) <= 2 or min(values) < 0:
                raise IndexError_(
                    f"{index_file}:{number}: expected '<offset> <size>', found {line.strip()!r:.60}"
                )
            out.append((values[0], values[1] if len(values) == 2 else -1))
    return out


def shard_bounds(count: int, shard: int, shards: int) -> tuple[int, int]:
    """Records ``[start, stop)`` of shard ``shard`` of ``shards``: the ``tfrecord`` package's
    split (contiguous, sizes differing by at most one)."""
    if shards < 1 or not 0 <= shard < shards:
        raise ValueError(f"shard must be in [0, {shards}) and shards >= 1, not {shard}/{shards}")
    return count * shard // shards, count * (shard + 1) // shards


class IndexedReader:
    """Random access to the records of one uncompressed file, through its index.

    ``index``: a ``.index`` file, a list of ``(offset, size)``, or ``None`` to use the index
    beside the file if there is one, else to build it (one pass).  Each read opens the file
    anew, so one reader can be shared by forked ``DataLoader`` workers.
    """

    def __init__(
        self, path: str | os.PathLike[str], index: IndexSource = None, verify: bool = True
    ) -> None:
        self.path = path
        self.verify = verify
        if index is None:
            found = find_index(path)
            entries = read_index(found) if found is not None else build_index(path, verify)
        elif isinstance(index, (str, os.PathLike)):
            entries = read_index(index)
        else:
            entries = list(index)
        self.offsets = [offset for offset, _ in entries]
        self._sizes = [size for _, size in entries]  # -1 where the index gives none

    def __len__(self) -> int:
        return len(self.offsets)

    def __getitem__(self, i: int | slice) -> bytes | list[bytes]:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step == 1:
                return list(self.records(start, stop))
            return [self[j] for j in range(start, stop, step)]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"record {i} of {len(self)} in {self.path}")
        return next(self.records(i, i + 1))

    def records(self, start: int = 0, stop: int | None = None) -> Iterator[bytes]:
        """Records ``[start, stop)``, read from the first one's offset on."""
        stop = len(self) if stop is None else min(stop, len(self))
        if start >= stop:
            return
        raw, name, _ = _open(self.path, "rb")
        with raw:
            offset = self.offsets[start]
            raw.seek(offset)
            # read what the range spans, not a whole streaming chunk, for one small record
            span = self.offsets[stop] - offset if stop < len(self) else sum(self._sizes[start:stop])
            chunk = min(_READ_CHUNK, span) if span > 0 else 1 << 16
            frames = _iter_frames(raw.read, name, self.verify, offset, chunk)
            got = 0
            for data in islice(frames, stop - start):
                got += 1
                yield data
        if got < stop - start:
            raise IndexError_(
                f"{name}: the index lists {len(self)} records, the file ends after "
                f"{start + got}; rebuild the index (tfrecord-lite index {name})"
            )

    def shard(self, shard: int, shards: int) -> Iterator[bytes]:
        """The records of shard ``shard`` of ``shards`` (see ``shard_bounds``)."""
        return self.records(*shard_bounds(len(self), shard, shards))
