"""The split's hash with known answers: an image's side must not move between versions either.

The expected values were computed by the first implementation (commit 0780c3c, one
``blake2b(f"{seed}\\0{key}")`` per key); later ones must give the same bits.
"""

from __future__ import annotations

import pytest

from tfrecord_lite.dataset.split import split_indices, unit_hash

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
