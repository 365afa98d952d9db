"""tfrecord_train/ and tfrecord_val/: ModelPack Examples in size-bounded shards."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..shards import ShardedWriter
from .info import SplitInfo

FOLDERS = {"train": ("tfrecord_train", "train"), "validation": ("tfrecord_val", "val")}


def write_split(root: Path, split: str, records: Iterable[bytes], max_bytes: int) -> SplitInfo:
    """Write serialised Examples of one split into ``root/<folder>/<prefix>-i-of-n.tfrecord``."""
    folder, prefix = FOLDERS[split]
    out = root / folder
    out.mkdir(parents=True, exist_ok=True)
    with ShardedWriter(out, prefix, max_bytes) as writer:
        for record in records:
            writer.write(record)
    files = [
        {"name": p.name, "records": n, "bytes": b}
        for p, n, b in zip(writer.paths, writer.records_per_shard, writer.bytes_per_shard)
    ]
    return SplitInfo(folder, writer.records, files)
