"""SequenceExample, typed empty features and numpy inputs against TensorFlow: the same bytes as
``tf.train`` builds, and files TensorFlow writes read back value for value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tfrecord_lite import (
    FloatValues,
    IntValues,
    decode_example,
    decode_sequence_example,
    encode_example,
    encode_sequence_example,
    tf_record_iterator,
)
from tfrecord_lite.format.example import payload_kind


def tf_sequence(tf: Any, i: int) -> Any:
    """A SequenceExample as TFX/TFT files hold them: a kindless context feature, an empty
    bytes_list step, the same name in the context and the feature lists."""
    f = tf.train.Feature
    seq = tf.train.SequenceExample()
    seq.context.feature["int_feature"].CopyFrom(f(int64_list=tf.train.Int64List(value=[i])))
    seq.context.feature["f"].CopyFrom(f())
    seq.context.feature["w"].CopyFrom(f(float_list=tf.train.FloatList(value=[0.1 * i])))
    fl = seq.feature_lists.feature_list
    for step in range(i % 4):
        fl["int_feature"].feature.add().int64_list.value.extend([step, -step])
        fl["s"].feature.add().bytes_list.value.extend([b"x" * step] if step else [])
    fl["empty"].CopyFrom(tf.train.FeatureList())
    return seq


def test_we_read_tf_written_sequence_examples(tf: Any, tmp_path: Path) -> None:
    path = tmp_path / "seq.tfrecord.gz"
    seqs = [tf_sequence(tf, i) for i in range(20)]
    with tf.io.TFRecordWriter(str(path), "GZIP") as w:
        for seq in seqs:
            w.write(seq.SerializeToString())
    for seq, record in zip(seqs, tf_record_iterator(path, compression="auto")):
        assert payload_kind(record) == "SequenceExample" or not seq.feature_lists.feature_list
        context, lists = decode_sequence_example(record)
        assert set(context) == set(seq.context.feature)
        assert context["f"] == [] and type(context["f"]) is list  # no kind, kept apart
        assert context["int_feature"] == list(seq.context.feature["int_feature"].int64_list.value)
        for name, fl in seq.feature_lists.feature_list.items():
            want = [list(getattr(x, x.WhichOneof("kind")).value) if x.WhichOneof("kind") else []
                    for x in fl.feature]
            assert lists[name] == want
        # and our encoding of what we read is TensorFlow's deterministic bytes
        assert encode_sequence_example(context, lists) == seq.SerializeToString(
            deterministic=True
        )


def test_tf_parses_our_sequence_examples(tf: Any) -> None:
    data = encode_sequence_example(
        {"length": 3, "name": "a"},
        {"tokens": [[1, 2], [3], [4, 5, 6]], "score": [[0.5], [0.25], [1.0]]},
    )
    context, lists = tf.io.parse_single_sequence_example(
        data,
        context_features={
            "length": tf.io.FixedLenFeature([], tf.int64),
            "name": tf.io.FixedLenFeature([], tf.string),
        },
        sequence_features={
            "tokens": tf.io.RaggedFeature(tf.int64),
            "score": tf.io.FixedLenSequenceFeature([1], tf.float32),
        },
    )
    assert int(context["length"]) == 3 and context["name"].numpy() == b"a"
    assert lists["tokens"].to_list() == [[1, 2], [3], [4, 5, 6]]
    assert lists["score"].numpy().ravel().tolist() == [0.5, 0.25, 1.0]


def test_typed_empty_features_match_tf(tf: Any) -> None:
    f = tf.train.Feature
    ex = tf.train.Example()
    ex.features.feature["none"].CopyFrom(f())
    ex.features.feature["floats"].CopyFrom(f(float_list=tf.train.FloatList()))
    ex.features.feature["ints"].CopyFrom(f(int64_list=tf.train.Int64List()))
    data = ex.SerializeToString(deterministic=True)
    got = decode_example(data)
    assert type(got["none"]) is list and type(got["floats"]) is FloatValues
    assert type(got["ints"]) is IntValues
    assert encode_example(got) == data


@pytest.mark.parametrize(
    "values",
    [
        {"f": np.array([0.1, 0.2, 3e38], np.float32), "i": np.array([1, -2, 1 << 40])},
        {"s": np.float32(0.1), "i": np.int64(-3), "b": np.bool_(True), "u": np.uint8(200)},
        {"f64": np.array([0.1, 1e-30]), "list_of_scalars": [np.float32(1.5), np.float32(2)]},
        {"bytes": np.array([b"ab", b"c"]), "strs": np.array(["x", "\u00fc"])},
        {"typed": FloatValues(np.array([0.1, 0.2], np.float32)), "ti": IntValues(np.arange(5))},
    ],
)
def test_numpy_inputs_give_tf_train_example_bytes(tf: Any, values: dict) -> None:
    def feature(v: Any) -> Any:
        a = np.asarray(list(v) if isinstance(v, list) else v).reshape(-1)
        if a.dtype.kind == "f":
            return tf.train.Feature(float_list=tf.train.FloatList(value=a))
        if a.dtype.kind in "iub":
            return tf.train.Feature(int64_list=tf.train.Int64List(value=a.astype(np.int64)))
        return tf.train.Feature(
            bytes_list=tf.train.BytesList(value=[x.encode() if isinstance(x, str) else x
                                                 for x in a.tolist()])
        )

    ex = tf.train.Example(
        features=tf.train.Features(feature={k: feature(v) for k, v in values.items()})
    )
    assert encode_example(values) == ex.SerializeToString(deterministic=True)
