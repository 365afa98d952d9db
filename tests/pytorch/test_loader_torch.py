"""``TFRecordDataset`` under the real PyTorch ``DataLoader`` (``make torch``, in .venv-torch):
worker processes forked or spawned, each reading its own share, every record exactly once;
default collation of decoded values; ranks (one per GPU) split before the workers.

tests/test_loader.py proves the same rules against a stand-in torch module; this suite proves
that torch itself sees the class as an ``IterableDataset``, pickles it into spawned workers and
calls ``get_worker_info`` the way the class expects."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader, IterableDataset  # noqa: E402

from tfrecord_lite import TFRecordWriter, decode_example, encode_example  # noqa: E402
from tfrecord_lite.format.index import write_index  # noqa: E402
from tfrecord_lite.format.loader import TFRecordDataset  # noqa: E402

COUNT = 203  # not a multiple of any worker count used here: uneven shares


def _record(i: int) -> bytes:
    return encode_example({"i": i, "x": [float(i), -float(i)], "name": f"r{i}".encode()})


@pytest.fixture
def shards(tmp_path):
    """Three shards: two plain (the first indexed), one GZIP."""
    cuts = [0, 90, 150, COUNT]
    paths = []
    for k, options in enumerate((None, None, "GZIP")):
        path = tmp_path / f"data-{k:05d}-of-00003.tfrecord"
        with TFRecordWriter(path, options) as writer:
            writer.write_many([_record(i) for i in range(cuts[k], cuts[k + 1])])
        paths.append(path)
    write_index(paths[0])
    return paths


def _ids(batches) -> list[int]:
    return [int(v) for batch in batches for v in batch["i"].reshape(-1).tolist()]


def _ints(record: bytes) -> dict:
    f = decode_example(record)
    return {"i": torch.tensor(f["i"][0]), "x": torch.tensor(f["x"], dtype=torch.float32)}


def test_the_class_is_a_torch_iterable_dataset(shards) -> None:
    assert issubclass(TFRecordDataset, IterableDataset)


@pytest.mark.parametrize(("workers", "context"), [
    (0, None), (1, "fork"), (2, "fork"), (3, "fork"), (1, "spawn"), (2, "spawn"),
])
def test_every_record_once_across_dataloader_workers(shards, workers, context) -> None:
    """Spawned workers get the dataset pickled: the class must be found again by its name."""
    ds = TFRecordDataset([str(p) for p in shards], transform=_ints)
    loader = DataLoader(ds, batch_size=8, num_workers=workers, multiprocessing_context=context)
    ids = _ids(loader)
    assert sorted(ids) == list(range(COUNT))


def test_a_glob_names_the_shards(shards) -> None:
    pattern = str(shards[0].parent / "data-*-of-00003.tfrecord")
    loader = DataLoader(TFRecordDataset(pattern, transform=_ints), batch_size=16,
                        num_workers=2)
    assert sorted(_ids(loader)) == list(range(COUNT))


def test_default_collation_stacks_decoded_values(shards) -> None:
    loader = DataLoader(TFRecordDataset(str(shards[0]), transform=_ints), batch_size=4)
    first = next(iter(loader))
    assert first["i"].tolist() == [0, 1, 2, 3]
    assert first["x"].shape == (4, 2)
    assert first["x"][3].tolist() == [3.0, -3.0]


def test_ranks_then_workers_share_the_records(shards) -> None:
    seen: list[int] = []
    for rank in range(2):
        ds = TFRecordDataset([str(p) for p in shards], transform=_ints, shard=(rank, 2))
        seen += _ids(DataLoader(ds, batch_size=5, num_workers=2))
    assert sorted(seen) == list(range(COUNT))


def test_raw_records_come_through_unchanged(shards) -> None:
    loader = DataLoader(TFRecordDataset([str(p) for p in shards]), batch_size=None,
                        num_workers=2)
    assert sorted(loader) == sorted(_record(i) for i in range(COUNT))


def test_decoded_examples_one_at_a_time_as_the_readme_shows(shards) -> None:
    """``batch_size=None``: each item is ``decode_example``'s dict, variable lengths and all
    (default collation would transpose its lists)."""
    ds = TFRecordDataset(str(shards[0].parent / "data-*.tfrecord"), transform=decode_example)
    items = list(DataLoader(ds, batch_size=None, num_workers=2))
    assert sorted(item["i"][0] for item in items) == list(range(COUNT))
    first = min(items, key=lambda item: item["i"][0])
    assert first == {"i": [0], "x": [0.0, -0.0], "name": [b"r0"]}
