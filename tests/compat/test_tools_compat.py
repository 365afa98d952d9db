"""inspect and verify on files TensorFlow writes the way other programs name and fill them:
one shard of a set checked alone, compressed shards under names without a TFRecord suffix,
SequenceExample and non-Example payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tfrecord_lite.tools.cli import main


def tf_write(tf: Any, path: Path, records: list[bytes], kind: str = "") -> Path:
    with tf.io.TFRecordWriter(str(path), tf.io.TFRecordOptions(compression_type=kind)) as w:
        for record in records:
            w.write(record)
    return path


def example(tf: Any, i: int) -> bytes:
    feature = tf.train.Feature(int64_list=tf.train.Int64List(value=[i]))
    return tf.train.Example(features=tf.train.Features(feature={"i": feature})).SerializeToString()


def test_one_tf_shard_verifies_alone_and_the_folder_finds_every_shard(
    tf: Any, tmp_path: Path, capsys: Any
) -> None:
    shards = [
        tf_write(tf, tmp_path / f"toy.tfe-tfrecord-{i:05d}-of-00002", [example(tf, i)], "GZIP")
        for i in range(2)
    ]
    tf_write(tf, tmp_path / "data_tfrecord-00000.gz", [example(tf, 9)], "GZIP")
    assert main(["verify", str(shards[0])]) == 0
    assert "OK: 1 records in 1 file" in capsys.readouterr().out
    assert main(["inspect", "--json", str(tmp_path)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["records"] == 3
    assert {f["payload"] for f in report["splits"][0]["files"]} == {"Example"}


def test_tf_sequence_examples_and_other_payloads(tf: Any, tmp_path: Path, capsys: Any) -> None:
    seq = tf.train.SequenceExample()
    seq.context.feature["n"].int64_list.value.append(2)
    for step in range(2):
        seq.feature_lists.feature_list["s"].feature.add().float_list.value.append(step)
    seq_file = tf_write(tf, tmp_path / "seq.tfrecord", [seq.SerializeToString()] * 3, "ZLIB")
    raw_file = tf_write(tf, tmp_path / "raw.tfrecord", [b"\xff\xfe not protobuf"] * 4)
    assert main(["verify", str(seq_file)]) == 0
    assert "SequenceExample" in capsys.readouterr().out
    assert main(["verify", str(raw_file)]) == 0
    assert "holds raw bytes" in capsys.readouterr().out
    assert main(["verify", "--schema", "none", "--json", str(raw_file)]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 4
    assert main(["inspect", "--json", str(seq_file)]) == 0
    split = json.loads(capsys.readouterr().out)["splits"][0]
    assert split["files"][0]["payload"] == "SequenceExample"
    assert split["feature_lists"]["s"]["steps_max"] == 2
