"""A TensorFlow-based COCO -> TFRecord converter: the baseline `convert --from coco` is timed
against.  Written in ``create_coco_tf_record.py``'s pattern (the OD API's and Model Garden's
COCO script): the instances JSON loaded whole, annotations grouped by image id, each image read
whole with ``tf.io.gfile``, opened with PIL and hashed with hashlib, one ``tf.train.Example``
per image, ``tf.io.TFRecordWriter`` shards.  ``-f tfod`` writes that script's keys (and a label
map); ``-f tfrecord`` the same loop writing ModelPack's features (no public script writes
ModelPack records from COCO, so the COCO script's reading with ModelPack's Example is the
honest stand-in).  Same split fraction (by a hash of the name) and shard size as ours.

    python benchmarks/tf_coco_converter.py -a instances.json -i IMAGES -o OUT -f tfod
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import io
import json
import os
from pathlib import Path

import tensorflow as tf
from PIL import Image
from tf_converter import Shards, bytes_feature, float_feature, int64_feature, side, write_info


def convert(annotations: Path, images: Path, out: Path, split: float, partition_mb: float,
            fmt: str) -> int:
    with tf.io.gfile.GFile(str(annotations), "r") as f:
        doc = json.load(f)
    categories = sorted(doc["categories"], key=lambda c: c["id"])
    classes = [c["name"] for c in categories]
    index = {c["id"]: k for k, c in enumerate(categories)}  # category id -> 0-based class
    by_image = collections.defaultdict(list)
    for ann in doc["annotations"]:
        by_image[ann["image_id"]].append(ann)
    folders = ("tfod_train", "tfod_val") if fmt == "tfod" else ("tfrecord_train", "tfrecord_val")
    max_bytes = int(partition_mb * 1024 * 1024)
    shards = {"train": Shards(out / folders[0], "train", max_bytes),
              "val": Shards(out / folders[1], "val", max_bytes)}
    for image in doc["images"]:
        name = image["file_name"]
        with tf.io.gfile.GFile(os.path.join(images, name), "rb") as f:
            encoded = f.read()
        with Image.open(io.BytesIO(encoded)) as img:
            fmt_name = (img.format or "jpeg").lower()
        key = hashlib.sha256(encoded).hexdigest()
        width, height = image["width"], image["height"]
        xmin, xmax, ymin, ymax, labels, texts, crowd, areas = [], [], [], [], [], [], [], []
        for ann in by_image[image["id"]]:
            x, y, w, h = ann["bbox"]
            if w <= 0 or h <= 0 or x + w > width or y + h > height:
                continue
            xmin.append(x / width)
            xmax.append((x + w) / width)
            ymin.append(y / height)
            ymax.append((y + h) / height)
            k = index[ann["category_id"]]
            labels.append(k)
            texts.append(classes[k].encode("utf-8"))
            crowd.append(ann["iscrowd"])
            areas.append(ann["area"])
        if fmt == "tfod":
            feature = {
                "image/height": int64_feature([height]),
                "image/width": int64_feature([width]),
                "image/filename": bytes_feature([name.encode("utf-8")]),
                "image/source_id": bytes_feature([str(image["id"]).encode("utf-8")]),
                "image/key/sha256": bytes_feature([key.encode("utf-8")]),
                "image/encoded": bytes_feature([encoded]),
                "image/format": bytes_feature([fmt_name.encode("utf-8")]),
                "image/object/bbox/xmin": float_feature(xmin),
                "image/object/bbox/xmax": float_feature(xmax),
                "image/object/bbox/ymin": float_feature(ymin),
                "image/object/bbox/ymax": float_feature(ymax),
                "image/object/class/text": bytes_feature(texts),
                "image/object/class/label": int64_feature([k + 1 for k in labels]),
                "image/object/is_crowd": int64_feature(crowd),
                "image/object/area": float_feature(areas),
                "image/object/difficult": int64_feature([0] * len(labels)),
            }
        else:
            bboxes = []
            for x0, x1, y0, y1 in zip(xmin, xmax, ymin, ymax):
                bboxes += [(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0]
            feature = {
                "image": bytes_feature([encoded]),
                "image_name": bytes_feature([name.encode()]),
                "width": int64_feature([width]),
                "height": int64_feature([height]),
                "objects": int64_feature(labels),
                "bboxes": float_feature(bboxes),
            }
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        shards[side(name, split)].write(example.SerializeToString())
    for s in shards.values():
        s.close()
    if fmt == "tfod":
        (out / "label_map.pbtxt").write_text("".join(
            f"item {{\n  id: {k}\n  name: '{n}'\n}}\n" for k, n in enumerate(classes, 1)))
    write_info(out, folders, classes, shards)
    return len(doc["images"])


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("-a", "--annotations", type=Path, required=True)
    parser.add_argument("-i", "--images", type=Path, required=True)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("-f", "--format", choices=["tfrecord", "tfod"], default="tfrecord")
    parser.add_argument("-s", "--split", type=float, default=0.2)
    parser.add_argument("-p", "--partition", type=float, default=100.0)
    args = parser.parse_args()
    n = convert(args.annotations, args.images, args.output, args.split, args.partition,
                args.format)
    print(f"converted {n} images into {args.output}")


if __name__ == "__main__":
    main()
