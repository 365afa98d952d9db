"""Stable, seeded train/validation split.

An image's side depends only on its ``source-ref`` and the seed (a hash), so adding images to a
manifest never moves an existing image between train and validation.  The validation share is
therefore close to ``fraction`` (a binomial spread), and exact at 0 and 1.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def unit_hash(key: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by ``key`` and ``seed``, the same on every machine."""
    digest = hashlib.blake2b(f"{seed}\0{key}".encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2.0**64


def is_validation(key: str, seed: int, fraction: float) -> bool:
    return unit_hash(key, seed) < fraction


def split_indices(keys: Sequence[str], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of train and validation items, each list shuffled by the seed (records of one
    class are not clustered in shards), reproducibly."""
    train: list[int] = []
    val: list[int] = []
    for i, key in enumerate(keys):
        (val if is_validation(key, seed, fraction) else train).append(i)
    rng = random.Random(seed)
    rng.shuffle(train)
    rng.shuffle(val)
    return train, val
