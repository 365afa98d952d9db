"""The Beam steps as plain functions: a shard task run twice (a runner's retry) writes the same
file under the same name and leaves no partial file; the plan finds each record's shard."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tfrecord_lite.pipeline import beam_stages
from tfrecord_lite.pipeline.convert import ConvertOptions, _read_options, start_result
from tfrecord_lite.pipeline.groundtruth.reader import read_manifest

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample"


def test_a_retried_shard_task_writes_the_same_bytes(tmp_path) -> None:
    options = ConvertOptions(SAMPLE / "output.manifest", SAMPLE, tmp_path / "out",
                             partition_mb=0.05)
    read = read_manifest(options.annotations, _read_options(options, options.policy))
    result, train, _ = start_result(options, read)
    root = str(tmp_path / "stage")
    Path(root).mkdir()
    batch = [("train", pos, i, read.samples[i], None) for pos, i in enumerate(train)]
    measured = beam_stages.measure(root, options, batch)
    sizes = [size for _, size in sorted(map(beam_stages.framed, measured))]
    planned = beam_stages.plan(options, "train", sizes,
                               beam_stages.Summary(result, {"train": len(train)}))
    assert len(planned[0].shards) >= 2
    groups: dict[int, list] = {}
    for record in measured:
        k, rec = beam_stages.by_shard(record, planned)
        groups.setdefault(k, []).append(rec)
    assert sorted(groups) == list(range(len(planned[0].shards)))
    folder = Path(root) / "tfrecord_train"
    digests = []
    for _ in range(2):
        for k, records in groups.items():
            done = beam_stages.write_shard(root, options, "train", (k, records[::-1]), planned)
            assert done == ("train", k, planned[0].shards[k].count, planned[0].shards[k].bytes)
        digests.append({p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                        for p in sorted(folder.iterdir())})
    assert digests[0] == digests[1]
    assert sorted(digests[0]) == [s.name for s in planned[0].shards]
    assert not list((Path(root) / beam_stages.TMP).iterdir())  # no partial file left
