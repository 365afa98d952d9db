"""The split's hash with known answers: an image's side must not move between versions either.

The expected values were computed by the first implementation (commit 0780c3c, one
``blake2b(f"{seed}\\0{key}")`` per key); later ones must give the same bits.
"""

from __future__ import annotations

import pytest
from dataset_helpers import unit_hash

from tfrecord_lite.pipeline.split import fill_empty_side, split_indices

KEYS = ["s3://bucket/images/img_000000.jpg", "images/a.png", "", "ünïcødé/画像.jpg", "x\udc80y"]
KNOWN = {
    0: [0.47877306677903847, 0.8581475192957523, 0.8193018466044045, 0.4953774798359533,
        0.98183493580492],
    1: [0.41447896686832597, 0.1544467775974834, 0.22941026338311654, 0.8402814596021045,
        0.3846765437272492],
    -7: [0.4806737369747635, 0.9948388357608418, 0.11566845401775862, 0.8107365895357967,
         0.864298983880738],
    2**70: [0.5173119938530484, 0.10932364811627168, 0.8335117495913859, 0.21033988601957287,
            0.7707506025361249],
}


@pytest.mark.parametrize("seed", sorted(KNOWN))
def test_unit_hash_known_answers(seed) -> None:
    assert [unit_hash(key, seed) for key in KEYS] == KNOWN[seed]


def test_split_indices_known_answer() -> None:
    keys = [f"img_{i}.jpg" for i in range(12)]
    assert split_indices(keys, 0.5, 3) == ([3, 7, 8, 10, 9, 5], [1, 4, 2, 0, 6, 11])


@pytest.mark.parametrize("seed", [0, 5])
def test_split_indices_follow_unit_hash(seed) -> None:
    keys = [f"s3://b/{i:05d}.jpg" for i in range(500)]
    train, val = split_indices(keys, 0.3, seed)
    assert sorted(val) == [i for i, k in enumerate(keys) if unit_hash(k, seed) < 0.3]
    assert sorted(train + val) == list(range(500))


def _sides(keys, fraction, seed):
    train, val = split_indices(keys, fraction, seed)
    moved = fill_empty_side(train, val, keys, fraction, seed)
    return train, val, moved


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("fraction", [0.01, 0.2, 0.99])
def test_fill_empty_side_moves_the_image_nearest_the_threshold(n, fraction) -> None:
    for seed in range(20):
        keys = [f"s3://b/{seed}/{i}.jpg" for i in range(n)]
        plain_train, plain_val = split_indices(keys, fraction, seed)
        train, val, moved = _sides(keys, fraction, seed)
        assert train and val and sorted(train + val) == list(range(n))
        hashes = {i: unit_hash(keys[i], seed) for i in range(n)}
        if plain_train and plain_val:
            assert moved == 0 and (train, val) == (plain_train, plain_val)
        elif not plain_val:
            assert moved == 1 and val == [min(hashes, key=hashes.get)]
        else:
            assert moved == 1 and train == [max(hashes, key=hashes.get)]


def test_fill_empty_side_moves_every_line_of_the_image_and_never_empties_the_other() -> None:
    keys = ["a.jpg", "a.jpg", "b.jpg"]
    train, val = [0, 1, 2], []
    assert fill_empty_side(train, val, keys, 0.5, 0) in (1, 2)
    assert {keys[i] for i in train}.isdisjoint(keys[i] for i in val) and train and val
    same = ["a.jpg", "a.jpg"]  # one image: nothing to move without emptying train
    train, val = [0, 1], []
    assert fill_empty_side(train, val, same, 0.5, 0) == 0 and train == [0, 1]


@pytest.mark.parametrize("fraction", [0.0, 1.0])
def test_fill_empty_side_keeps_the_ends(fraction) -> None:
    keys = [f"{i}.jpg" for i in range(4)]
    train, val, moved = _sides(keys, fraction, 0)
    assert moved == 0 and len(val) == (4 if fraction else 0)
