"""A TensorFlow-based Ground Truth -> TF Object Detection records converter: the baseline
`convert -f tfod` is timed against.  Written the way the OD API's dataset scripts are
(``create_coco_tf_record.py``'s pattern: the image read whole, PIL for its size and format,
hashlib for its key, ``tf.train.Example`` + ``tf.io.TFRecordWriter`` shards, a label map),
doing the same job as ours: same manifest, same keys, same split fraction and shard size.

    python benchmarks/tf_tfod_converter.py -a MANIFEST -i IMAGES -o OUT -s 0.2 -p 100
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import tensorflow as tf
from PIL import Image
from tf_converter import (
    Shards,
    bytes_feature,
    find_label,
    float_feature,
    int64_feature,
    main,
    read_job,
    side,
    write_info,
)


def convert(manifest: Path, images: Path, out: Path, split: float, partition_mb: float) -> int:
    by_name, lines, class_map = read_job(manifest, images)
    classes = [class_map[k] for k in sorted(class_map)]
    label_of = {name: i + 1 for i, name in enumerate(classes)}
    max_bytes = int(partition_mb * 1024 * 1024)
    shards = {
        "train": Shards(out / "tfod_train", "train", max_bytes),
        "val": Shards(out / "tfod_val", "val", max_bytes),
    }
    for source_id, line in enumerate(lines, 1):
        _key, label, _meta = find_label(line)
        name = line["source-ref"].rsplit("/", 1)[-1]
        with tf.io.gfile.GFile(by_name[name], "rb") as f:
            encoded = f.read()
        with Image.open(io.BytesIO(encoded)) as img:
            width, height = img.size
            fmt = (img.format or "jpeg").lower()
        key = hashlib.sha256(encoded).hexdigest()
        xmin, xmax, ymin, ymax, labels, texts, areas = [], [], [], [], [], [], []
        for box in label["annotations"]:
            x, y, w, h = box["left"], box["top"], box["width"], box["height"]
            xmin.append(x / width)
            xmax.append((x + w) / width)
            ymin.append(y / height)
            ymax.append((y + h) / height)
            text = class_map[int(box["class_id"])]
            labels.append(label_of[text])
            texts.append(text.encode("utf-8"))
            areas.append(float(w * h))
        zeros = [0] * len(labels)
        example = tf.train.Example(features=tf.train.Features(feature={
            "image/height": int64_feature([height]),
            "image/width": int64_feature([width]),
            "image/filename": bytes_feature([name.encode("utf-8")]),
            "image/source_id": bytes_feature([str(source_id).encode("utf-8")]),
            "image/key/sha256": bytes_feature([key.encode("utf-8")]),
            "image/encoded": bytes_feature([encoded]),
            "image/format": bytes_feature([fmt.encode("utf-8")]),
            "image/object/bbox/xmin": float_feature(xmin),
            "image/object/bbox/xmax": float_feature(xmax),
            "image/object/bbox/ymin": float_feature(ymin),
            "image/object/bbox/ymax": float_feature(ymax),
            "image/object/class/text": bytes_feature(texts),
            "image/object/class/label": int64_feature(labels),
            "image/object/is_crowd": int64_feature(zeros),
            "image/object/area": float_feature(areas),
            "image/object/difficult": int64_feature(zeros),
        }))
        shards[side(name, split)].write(example.SerializeToString())
    for s in shards.values():
        s.close()
    (out / "label_map.pbtxt").write_text("".join(
        f"item {{\n  id: {k}\n  name: '{n}'\n}}\n" for n, k in label_of.items()))
    write_info(out, ("tfod_train", "tfod_val"), classes, shards)
    return len(lines)


if __name__ == "__main__":
    main(convert, __doc__)
