"""tfrecord_train/ and tfrecord_val/: ModelPack Examples in size-bounded shards, named
``train-00000-of-00003.tfrecord`` (the converter plans and writes them, ``shards.plan_split``)."""

from __future__ import annotations

FOLDERS = {"train": ("tfrecord_train", "train"), "validation": ("tfrecord_val", "val")}
