"""A small TensorFlow-based Ground Truth -> ModelPack converter: the baseline `convert` is timed
against.  Written the way such scripts usually are (tf.train.Example + tf.io.TFRecordWriter),
doing the same job: same manifest, same features, same split fraction and shard size.

    python benchmarks/tf_converter.py -a MANIFEST -i IMAGES -o OUT -s 0.2 -p 100
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path

import tensorflow as tf
import yaml
from PIL import Image


def find_label(line: dict) -> tuple[str, dict, dict]:
    """The object-detection attribute of a manifest line, and its metadata."""
    for key, value in line.items():
        meta = line.get(f"{key}-metadata")
        if isinstance(value, dict) and "annotations" in value and isinstance(meta, dict):
            return key, value, meta
    raise ValueError(f"no object-detection label in line with source-ref {line.get('source-ref')}")


def bytes_feature(values: list[bytes]) -> tf.train.Feature:
    return tf.train.Feature(bytes_list=tf.train.BytesList(value=values))


def int64_feature(values: list[int]) -> tf.train.Feature:
    return tf.train.Feature(int64_list=tf.train.Int64List(value=values))


def float_feature(values: list[float]) -> tf.train.Feature:
    return tf.train.Feature(float_list=tf.train.FloatList(value=values))


class Shards:
    """tf.io.TFRecordWriter files of at most ``max_bytes``, renamed -0000k-of-0000n at the end."""

    def __init__(self, folder: Path, prefix: str, max_bytes: int) -> None:
        self.folder, self.prefix, self.max_bytes = folder, prefix, max_bytes
        self.temps: list[Path] = []
        self.writer: tf.io.TFRecordWriter | None = None
        self.size = 0
        self.samples = 0
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, record: bytes) -> None:
        framed = len(record) + 16
        if self.writer is None or (self.size and self.size + framed > self.max_bytes):
            if self.writer is not None:
                self.writer.close()
            self.temps.append(self.folder / f".{self.prefix}-{len(self.temps)}.tmp")
            self.writer = tf.io.TFRecordWriter(str(self.temps[-1]))
            self.size = 0
        self.writer.write(record)
        self.size += framed
        self.samples += 1

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        n = len(self.temps)
        for i, temp in enumerate(self.temps):
            os.replace(temp, self.folder / f"{self.prefix}-{i:05d}-of-{n:05d}.tfrecord")


def read_job(manifest: Path, images: Path) -> tuple[dict[str, str], list[dict], dict[int, str]]:
    """Image file name -> path, the manifest's lines, and its class map (also what
    tf_tfod_converter.py starts from)."""
    by_name: dict[str, str] = {}
    for dirpath, _dirs, files in os.walk(images):
        for name in files:
            by_name.setdefault(name, os.path.join(dirpath, name))
    lines = []
    class_map: dict[int, str] = {}
    with open(manifest, encoding="utf-8") as f:
        for raw in f:
            if raw.strip():
                line = json.loads(raw)
                _key, _label, meta = find_label(line)
                class_map.update({int(k): v for k, v in meta.get("class-map", {}).items()})
                lines.append(line)
    return by_name, lines, class_map


def side(name: str, split: float) -> str:
    """The split of an image, by a hash of its name."""
    digest = hashlib.sha1(name.encode()).digest()
    return "val" if int.from_bytes(digest[:8], "big") / 2**64 < split else "train"


def write_info(out: Path, folders: tuple[str, str], classes: list[str],
               shards: dict[str, Shards]) -> None:
    train, val = (str(out / f) for f in folders)
    info = {
        "classes": classes,
        "train": {"annotations": train, "images": train, "samples": shards["train"].samples},
        "validation": {"annotations": val, "images": val, "samples": shards["val"].samples},
    }
    (out / "dataset_info.yaml").write_text(yaml.safe_dump(info, sort_keys=False))


def convert(manifest: Path, images: Path, out: Path, split: float, partition_mb: float) -> int:
    by_name, lines, class_map = read_job(manifest, images)
    classes = [class_map[k] for k in sorted(class_map)]
    index = {name: i for i, name in enumerate(classes)}
    max_bytes = int(partition_mb * 1024 * 1024)
    shards = {
        "train": Shards(out / "tfrecord_train", "train", max_bytes),
        "val": Shards(out / "tfrecord_val", "val", max_bytes),
    }
    for line in lines:
        _key, label, _meta = find_label(line)
        name = line["source-ref"].rsplit("/", 1)[-1]
        path = by_name[name]
        with open(path, "rb") as f:
            image = f.read()
        with Image.open(path) as img:
            width, height = img.size
        objects, bboxes = [], []
        for box in label["annotations"]:
            objects.append(index[class_map[int(box["class_id"])]])
            bboxes += [
                (box["left"] + box["width"] / 2) / width,
                (box["top"] + box["height"] / 2) / height,
                box["width"] / width,
                box["height"] / height,
            ]
        example = tf.train.Example(features=tf.train.Features(feature={
            "image": bytes_feature([image]),
            "image_name": bytes_feature([name.encode()]),
            "width": int64_feature([width]),
            "height": int64_feature([height]),
            "objects": int64_feature(objects),
            "bboxes": float_feature(bboxes),
        }))
        shards[side(name, split)].write(example.SerializeToString())
    for s in shards.values():
        s.close()
    write_info(out, ("tfrecord_train", "tfrecord_val"), classes, shards)
    return len(lines)


def main(convert=convert, doc: str | None = __doc__) -> None:
    """The command line of this script and of tf_tfod_converter.py."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("-a", "--annotations", type=Path, required=True)
    parser.add_argument("-i", "--images", type=Path, required=True)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("-s", "--split", type=float, default=0.2)
    parser.add_argument("-p", "--partition", type=float, default=100.0)
    args = parser.parse_args()
    n = convert(args.annotations, args.images, args.output, args.split, args.partition)
    print(f"converted {n} images into {args.output}")


if __name__ == "__main__":
    main()
