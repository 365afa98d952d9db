"""``TFRecordDataset``: every record once across DataLoader workers and processes, torch asked
only when the program imported it (a stand-in torch module plays the DataLoader's part)."""

from __future__ import annotations

import sys
import types

import pytest

from tfrecord_lite import TFRecordWriter, decode_example, encode_example
from tfrecord_lite.format import loader
from tfrecord_lite.format.index import write_index

RECORDS = [encode_example({"i": i}) for i in range(50)]


def write(path, records, options=None):
    with TFRecordWriter(path, options) as w:
        w.write_many(records)
    return path


@pytest.fixture
def files(tmp_path):
    a = write(tmp_path / "a-00000-of-00002.tfrecord", RECORDS[:30])
    b = write(tmp_path / "a-00001-of-00002.tfrecord", RECORDS[30:], "GZIP")
    return [a, b]


class FakeTorch:
    """sys.modules entries for ``torch`` / ``torch.utils.data`` with a settable worker."""

    def __init__(self, monkeypatch) -> None:
        self.info = None
        data = types.ModuleType("torch.utils.data")
        data.get_worker_info = lambda: self.info
        data.IterableDataset = type("IterableDataset", (), {})
        monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
        monkeypatch.setitem(sys.modules, "torch.utils", types.ModuleType("torch.utils"))
        monkeypatch.setitem(sys.modules, "torch.utils.data", data)
        self.data = data

    def worker(self, i: int, n: int) -> None:
        self.info = types.SimpleNamespace(id=i, num_workers=n)


def test_plain_iteration_reads_every_file_in_order(files) -> None:
    ds = loader._make_class(object)(files, transform=decode_example)
    assert [r["i"][0] for r in ds] == list(range(50))


def test_class_subclasses_torch_iterable_dataset_when_torch_is_there(monkeypatch) -> None:
    fake = FakeTorch(monkeypatch)
    cls = loader._make_class(loader._torch_base())
    assert issubclass(cls, fake.data.IterableDataset)


def test_without_torch_the_base_is_object(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    assert loader._torch_base() is object


@pytest.mark.parametrize("workers", [1, 2, 3, 4])
@pytest.mark.parametrize("indexed", [False, True])
def test_workers_share_the_records_without_overlap(monkeypatch, files, workers, indexed) -> None:
    if indexed:
        write_index(files[0])  # the plain file is split by its index, the GZIP one by stride
    fake = FakeTorch(monkeypatch)
    ds = loader._make_class(object)(files)
    seen = []
    for w in range(workers):
        fake.worker(w, workers)
        seen += list(ds)
    assert sorted(seen) == sorted(RECORDS) and len(seen) == len(RECORDS)


def test_processes_then_workers(monkeypatch, files) -> None:
    fake = FakeTorch(monkeypatch)
    seen = []
    for rank in range(2):
        ds = loader._make_class(object)(files, shard=(rank, 2))
        for w in range(3):
            fake.worker(w, 3)
            seen += list(ds)
    assert sorted(seen) == sorted(RECORDS) and len(seen) == len(RECORDS)


def test_bad_shard_is_refused(files) -> None:
    with pytest.raises(ValueError):
        loader._make_class(object)(files, shard=(2, 2))


def test_the_core_does_not_import_torch() -> None:
    import subprocess

    code = (
        "import sys, tfrecord_lite as t; t.tf_record_iterator; t.encode_example; "
        "import tfrecord_lite.format.index; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
