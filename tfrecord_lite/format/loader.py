"""``TFRecordDataset``: the records of TFRecord files as an iterable dataset that PyTorch's
``DataLoader`` can run in several workers, each reading its own share.

PyTorch treats a dataset as iterable only if it subclasses ``torch.utils.data.IterableDataset``,
so the class is made on first use: on that base when torch is installed, on ``object`` when it is
not.  Nothing else in the package imports torch; this module only does when asked for the class.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from itertools import islice
from typing import Any

from tfrecord_lite.format.index import IndexedReader, find_index, shard_bounds
from tfrecord_lite.format.records import (
    Sources,
    detect_compression,
    expand_paths,
    reader_compression,
    tf_record_iterator,
)

__all__ = ["TFRecordDataset", "worker_share"]


def worker_share() -> tuple[int, int]:
    """``(worker id, workers)`` inside a torch ``DataLoader`` worker, else ``(0, 1)``; asks
    torch only when the program has imported it."""
    data = sys.modules.get("torch.utils.data")
    info = data.get_worker_info() if data is not None else None
    return (int(info.id), int(info.num_workers)) if info is not None else (0, 1)


class _Records:
    """The body of ``TFRecordDataset`` (the same on either base)."""

    def __init__(
        self,
        paths: Sources,
        compression: str | None = "auto",
        transform: Callable[[bytes], Any] | None = None,
        verify: bool = True,
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        """``paths``: a path, a list or a glob.  ``transform`` maps each record (for example
        ``decode_example``).  ``shard=(rank, world)`` splits the records among processes (one
        per GPU) before the ``DataLoader`` workers split each process's share."""
        self.files = expand_paths(paths)
        self.compression = reader_compression(None, compression)
        self.transform = transform
        self.verify = verify
        shard_bounds(1, *shard)  # checks it
        self.shard = shard

    def __iter__(self) -> Iterator[Any]:
        worker, workers = worker_share()
        rank, world = self.shard
        me, share = rank * workers + worker, world * workers
        for path in self.files:
            yield from map(self.transform or _same, self._file_share(path, me, share))

    def _file_share(self, path: Any, me: int, share: int) -> Iterator[bytes]:
        """A file's share for reader ``me`` of ``share``: a contiguous run of records when the
        file has an index (only that run is read), else every ``share``-th record."""
        if share > 1 and self.compression in ("", "auto") and find_index(path) is not None:
            with open(path, "rb") as f:
                plain = detect_compression(f.read(12)) is None
            if plain:
                return IndexedReader(path, verify=self.verify).shard(me, share)
        records = tf_record_iterator(path, compression=self.compression, verify=self.verify)
        return islice(records, me, None, share)


def _same(record: bytes) -> bytes:
    return record


def _make_class(base: type) -> type:
    return type("TFRecordDataset", (_Records, base), {"__module__": __name__})


def _torch_base() -> type:
    try:
        from torch.utils.data import IterableDataset
    except ImportError:
        return object
    return IterableDataset


def __getattr__(name: str) -> Any:
    if name == "TFRecordDataset":
        cls = _make_class(_torch_base())
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


TFRecordDataset: type  # made by __getattr__ on first use
