"""tfrecord_train/ and tfrecord_val/: ModelPack Examples in size-bounded shards."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from ..shards import ShardedWriter
from .info import SplitInfo

FOLDERS = {"train": ("tfrecord_train", "train"), "validation": ("tfrecord_val", "val")}


def open_split(root: Path, split: str, max_bytes: int) -> ShardedWriter:
    """The shard writer of one split, its folder created."""
    folder, prefix = FOLDERS[split]
    out = root / folder
    out.mkdir(parents=True, exist_ok=True)
    return ShardedWriter(out, prefix, max_bytes)


def split_info(split: str, writer: ShardedWriter) -> SplitInfo:
    """What a closed writer wrote, for dataset_info.yaml."""
    files = [
        {"name": p.name, "records": n, "bytes": b}
        for p, n, b in zip(writer.paths, writer.records_per_shard, writer.bytes_per_shard)
    ]
    return SplitInfo(FOLDERS[split][0], writer.records, files)


def write_split(
    root: Path, split: str, records: Iterable[Sequence[bytes]], max_bytes: int
) -> SplitInfo:
    """Write serialised Examples of one split into ``root/<folder>/<prefix>-i-of-n.tfrecord``;
    each record comes in pieces (``prefix, image, suffix``), written without joining them."""
    with open_split(root, split, max_bytes) as writer:
        for parts in records:
            writer.write_parts(parts)
    return split_info(split, writer)
