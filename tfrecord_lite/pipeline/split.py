"""Stable, seeded train/validation split.

An image's side depends only on its ``source-ref`` and the seed (a hash), so adding images to a
manifest never moves an existing image between train and validation.  The validation share is
therefore close to ``fraction`` (a binomial spread), and exact at 0 and 1.

ModelPack refuses a dataset with an empty train or validation split, so when ``0 < fraction < 1``
leaves one side empty, :func:`fill_empty_side` moves the one image whose hash lies nearest the
threshold: reproducible, and an image added later that lands on the empty side makes it
unnecessary again.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence


def _unit_hasher(seed: int) -> Callable[[str], float]:
    """A key's uniform number in [0, 1) for ``seed``, the same on every machine; the seed's part
    of the hash is done once, not per key."""
    seeded = hashlib.blake2b(f"{seed}\0".encode(), digest_size=8)

    def unit(key: str) -> float:
        h = seeded.copy()
        h.update(key.encode("utf-8", "surrogatepass"))
        return int.from_bytes(h.digest(), "big") / 2.0**64

    return unit


def split_indices(keys: Sequence[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of train and validation items, each list shuffled by the seed (records of one
    class are not clustered in shards), reproducibly."""
    train: list[int] = []
    val: list[int] = []
    unit = _unit_hasher(seed)
    for i, key in enumerate(keys):
        (val if unit(key) < fraction else train).append(i)
    return _shuffled(train, val, seed)


def source_indices(in_val: Sequence[bool], seed: int) -> tuple[list[int], list[int]]:
    """Indices of train and validation items where the source says each item's side (COCO,
    YOLO and VOC splits), shuffled by the seed as ``split_indices`` shuffles its own."""
    return _shuffled([i for i, v in enumerate(in_val) if not v],
                     [i for i, v in enumerate(in_val) if v], seed)


def _shuffled(train: list[int], val: list[int], seed: int) -> tuple[list[int], list[int]]:
    rng = random.Random(seed)
    rng.shuffle(train)
    rng.shuffle(val)
    return train, val


def fill_empty_side(
    train: list[int], val: list[int], keys: Sequence[str], fraction: float, seed: int
) -> int:
    """Make both sides non-empty when ``0 < fraction < 1`` and there are two distinct images, by
    moving the image whose hash is nearest the threshold (all samples of it, so one image never
    sits on both sides); the lists change in place.  Returns how many samples moved."""
    if not 0.0 < fraction < 1.0 or (train and val):
        return 0
    source, target = (train, val) if not val else (val, train)
    if len({keys[i] for i in source}) < 2:
        return 0
    unit = _unit_hasher(seed)
    pick = min if source is train else max  # train holds hashes >= fraction, val those below
    chosen = keys[pick(source, key=lambda i: (unit(keys[i]), keys[i]))]
    moved = [i for i in source if keys[i] == chosen]
    source[:] = [i for i in source if keys[i] != chosen]
    target.extend(moved)
    return len(moved)
