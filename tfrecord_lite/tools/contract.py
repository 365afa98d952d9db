"""What ModelPack requires of a dataset, per format, checked by ``verify``.

Each message names the rule it breaks (``ModelPack: ...``), so a user knows why a dataset that
reads fine elsewhere would still not train.  The rules are those of the ModelPack 2.2 readers'
own documentation: ``type`` picks the reader, both splits need samples, images are decoded by
``tf.io.decode_jpeg`` to 3 channels, coordinates are normalised, class ids index ``classes``,
and ModelPack adds the background class itself.  ``-f tfod`` is held to the Object Detection
API's rules instead (only its train split must have records).
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tfrecord_lite.pipeline import decodable
from tfrecord_lite.tools.layout import JsonSample, Layout, Split

_TYPES = {"tfrecord": "tfrecord", "darknet": "darknet", "json": None}
_NOT_EMPTY = "ModelPack refuses empty train or validation samples"
_NO_TRAIN = "the Object Detection API's train input reads no records"
_DECODE = "ModelPack decodes images with tf.io.decode_jpeg and needs 3 channels"


def info_problems(layout: Layout, counts: dict[str, int]) -> list[str]:
    """Problems of ``dataset_info.yaml`` itself and of the splits' sizes (``counts``)."""
    if layout.kind != "dataset" or not layout.splits:
        return []
    info, fmt, out = layout.info, layout.format, []
    if not layout.classes:
        out.append("classes is empty or missing: ModelPack needs the class names")
    elif fmt != "json" and any(c.strip().lower() == "background" for c in layout.classes):
        out.append("classes has a background entry: ModelPack adds background itself, so the "
                   "ids would shift by one")
    want = _TYPES.get(fmt)
    if want is not None and info.get("type") != want:
        out.append(f"type is {info.get('type')!r}, not {want!r}: ModelPack picks its reader by "
                   "this key")
    for split in ("train", "validation"):
        raw = info.get(split)
        if fmt == "tfod":
            # The Object Detection API's train job reads its own input and evaluation is a
            # job of its own, so only an empty train split stops training.
            if split == "train" and (not isinstance(raw, dict) or counts.get(split) == 0):
                out.append(f"split 'train' has no samples: {_NO_TRAIN}")
            continue
        if not isinstance(raw, dict):
            out.append(f"no {split!r} split: {_NOT_EMPTY}")
            continue
        keys = ("path", "images", "annotations") if fmt == "tfrecord" else ("images",
                                                                             "annotations")
        missing = [k for k in keys if not isinstance(raw.get(k), str)]
        if missing:
            out.append(f"{split} has no {', '.join(missing)}: the ModelPack {fmt} reader reads "
                       "them")
        if counts.get(split) == 0:
            out.append(f"split {split!r} has no samples: {_NOT_EMPTY}")
    return out


def image_problems(data: bytes, width: Any = None, height: Any = None) -> list[str]:
    """An image ModelPack would not decode to (height, width, 3)."""
    why = decodable.of_bytes(data)
    if why is not None:
        return [f"image is {why}: {_DECODE} (convert again without --keep-image-bytes)"]
    return []


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _class_problem(what: str, k: Any, n_classes: int | None) -> list[str]:
    if not _is_int(k) or k < 0 or (n_classes is not None and k >= n_classes):
        limit = f"[0, {n_classes})" if n_classes is not None else "0 or more"
        return [f"{what} class {k!r} is not an index into classes {limit}"]
    return []


def _unit(what: str, values: Sequence[Any]) -> list[str]:
    bad = [v for v in values if not _is_num(v) or not 0.0 <= v <= 1.0]
    if bad:
        return [f"{what} value {bad[0]!r} is outside [0, 1]: ModelPack reads normalised "
                "coordinates"]
    return []


def _image_file(path: Path) -> tuple[tuple[int, int] | None, list[str]]:
    """The image's size and its decoding problems."""
    from PIL import Image

    data = path.read_bytes()
    try:
        with Image.open(io.BytesIO(data)) as image:
            size = image.size
    except Exception:
        return None, [f"image {path.name!r} is not an image Pillow can read"]
    return size, image_problems(data)


def json_sample_problems(sample: JsonSample, classes: list[str] | None) -> list[str]:
    """Everything wrong with one sample of ModelPack's JSON format."""
    if sample.error is not None:
        return [f"not valid JSON: {sample.error}"]
    path, doc = sample.path, sample.doc
    if not isinstance(doc, dict):
        return [f"expected a JSON object, found {type(doc).__name__}"]
    out: list[str] = []
    n_classes = len(classes) if classes is not None else None
    real = None
    name = doc.get("image")
    if not isinstance(name, str) or not name:
        out.append("no 'image' file name")
    elif not (path.parent / name).is_file():
        out.append(f"image {name!r} not found in {path.parent}")
    else:
        real, problems = _image_file(path.parent / name)
        out += problems
    dim = doc.get("dimension")
    if not (isinstance(dim, list) and len(dim) == 2 and all(_is_int(v) for v in dim)):
        out.append(f"dimension must be [width, height], found {dim!r}")
    elif real is not None and tuple(dim) != real:
        out.append(f"dimension is {dim[0]}x{dim[1]} but the image is {real[0]}x{real[1]}")
    boxes = doc.get("boxes")
    if not isinstance(boxes, list):
        out.append(f"boxes must be a list of [cx, cy, w, h, class], found {boxes!r}")
        boxes = []
    for j, box in enumerate(boxes):
        if not isinstance(box, list) or len(box) != 5:
            out.append(f"box {j} must be [cx, cy, w, h, class], found {box!r}")
            continue
        out += _unit(f"box {j}", box[:4]) + _class_problem(f"box {j}", box[4], n_classes)
    segments = doc.get("segment")
    if not isinstance(segments, list):
        out.append(f"segment must be a list of {{polygon, class}}, found {segments!r}")
        segments = []
    for j, seg in enumerate(segments):
        polygon = seg.get("polygon") if isinstance(seg, dict) else None
        if not isinstance(polygon, list) or len(polygon) < 3 or not all(
            isinstance(p, list) and len(p) == 2 for p in polygon
        ):
            out.append(f"segment {j} polygon must be 3 or more [x, y] points")
            continue
        out += _unit(f"segment {j} polygon", [v for p in polygon for v in p])
        out += _class_problem(f"segment {j}", seg.get("class"), n_classes)
    return out


def darknet_split_problems(split: Split, classes: list[str] | None) -> list[tuple[Path, str]]:
    """Everything wrong with one Darknet split: images ModelPack can't decode, stems that
    collide, label files missing or with lines that are not ``k cx cy w h``."""
    out: list[tuple[Path, str]] = []
    n_classes = len(classes) if classes is not None else None
    seen: dict[str, Path] = {}
    for image in split.images:
        stem = image.stem
        if stem in seen:
            out.append((image, f"stem {stem!r} also names {seen[stem].name}: one {stem}.txt "
                        "cannot label both"))
        seen[stem] = image
        _, problems = _image_file(image)
        out += [(image, m) for m in problems]
        label = image.with_suffix(".txt")
        if not label.is_file():
            out.append((image, f"no label file {label.name}: ModelPack's darknet reader pairs "
                        "each image with <stem>.txt"))
            continue
        for n, line in enumerate(label.read_text(encoding="utf-8", errors="replace")
                                 .splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            where = f"line {n}"
            try:
                k, values = int(fields[0]), [float(v) for v in fields[1:]]
            except ValueError:
                out.append((label, f"{where}: {line!r} is not 'class cx cy w h'"))
                continue
            if len(values) != 4:
                out.append((label, f"{where}: {len(fields)} fields, expected 5 (class cx cy w h)"))
                continue
            out += [(label, f"{where}: {m}") for m in
                    _unit("box", values) + _class_problem("box", k, n_classes)]
    return out


def coco_problems(path: Path, images: Path, classes: Sequence[str] | None) -> tuple[int, list[str]]:
    """Check one annotation file against the COCO schema and its images folder: how many
    images it lists, and what is wrong (every box must lie inside its image)."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        return 0, [f"not valid JSON: {exc}"]
    if not isinstance(doc, dict) or not all(
            isinstance(doc.get(k), list) for k in ("images", "annotations", "categories")):
        return 0, ["not COCO: images, annotations and categories must be lists"]
    out: list[str] = []
    categories = {c.get("id"): c.get("name") for c in doc["categories"] if isinstance(c, dict)}
    if classes is not None and [categories.get(k + 1) for k in range(len(classes))] != list(
            classes):
        out.append("categories do not match dataset_info.yaml's classes (id k+1 = classes[k])")
    sizes: dict[object, tuple[int, int]] = {}
    for im in doc["images"]:
        if not isinstance(im, dict) or not all(
                _is_int(im.get(k)) and im[k] >= 0 for k in ("id", "width", "height")):
            out.append(f"image entry without integer id, width and height: {im!r:.120}")
            continue
        if im["id"] in sizes:
            out.append(f"image id {im['id']} is used twice")
        sizes[im["id"]] = (im["width"], im["height"])
        name = im.get("file_name")
        if not isinstance(name, str) or not (images / name).is_file():
            out.append(f"image {name!r} (id {im['id']}) not found in {images}")
    ids = set()
    for a in doc["annotations"]:
        if not isinstance(a, dict):
            out.append(f"annotation is not an object: {a!r:.120}")
            continue
        where = f"annotation {a.get('id')!r}"
        if a.get("id") in ids:
            out.append(f"{where}: id used twice")
        ids.add(a.get("id"))
        if a.get("category_id") not in categories:
            out.append(f"{where}: category_id {a.get('category_id')!r} is not a category")
        size = sizes.get(a.get("image_id"))
        if size is None:
            out.append(f"{where}: image_id {a.get('image_id')!r} is not an image")
            continue
        box = a.get("bbox")
        if not (isinstance(box, list) and len(box) == 4 and all(_is_num(v) for v in box)):
            out.append(f"{where}: bbox must be [x, y, w, h], found {box!r}")
            continue
        x, y, w, h = box
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > size[0] + 1e-3 or \
                y + h > size[1] + 1e-3:
            out.append(f"{where}: bbox {box} is not inside its {size[0]}x{size[1]} image")
    return len(sizes), out



# -- -f tfod: what TF Object Detection API / Model Garden decoders read ------------------------

_TFOD_KINDS = {bytes: "bytes_list", int: "int64_list", float: "float_list"}


def tfod_label_map(layout: Layout) -> tuple[dict[int, str] | None, list[str]]:
    """``label_map.pbtxt`` beside ``dataset_info.yaml``: its ids and names, and how it differs
    from ``classes`` (ids 1..N in class order, what the records' labels index)."""
    from tfrecord_lite.pipeline.formats import tfod_format

    if layout.info_path is None:
        return None, []
    path = layout.info_path.parent / tfod_format.LABEL_MAP
    try:
        labels = tfod_format.read_label_map(path.read_text(encoding="utf-8"))
    except OSError:
        return None, [f"no {tfod_format.LABEL_MAP}: the Object Detection API reads the class "
                      "names from it"]
    except ValueError as exc:
        return None, [f"{tfod_format.LABEL_MAP} is not a label map: {exc}"]
    want = {k: tfod_format.class_text(c) for k, c in enumerate(layout.classes or [], 1)}
    if labels != want:
        return labels, [f"{tfod_format.LABEL_MAP} holds {labels} but classes give {want} "
                        "(ids 1..N in class order)"]
    return labels, []


def tfod_record_problems(features: dict[str, tuple[str | None, list]],
                         labels: dict[int, str] | None) -> list[str]:
    """One record's problems against the tfod contract: every key of the schema with its kind,
    one value for the image's keys and one per object for the objects' keys, boxes inside
    [0, 1] and not inverted, labels 1..N naming what ``class/text`` says, the stated size,
    hash and format those of the image."""
    import hashlib

    from tfrecord_lite.pipeline.formats import tfod_format

    out: list[str] = []
    ok: dict[str, list] = {}
    for key, kind in tfod_format.SCHEMA.items():
        got = features.get(key)
        if got is None:
            out.append(f"missing feature {key!r}")
            continue
        have, values = got
        if have is None and key.startswith("image/object/"):
            ok[key] = []  # an empty list without a kind: TensorFlow reads it as empty
        elif have != _TFOD_KINDS[kind]:
            out.append(f"feature {key!r} is {have}, expected {_TFOD_KINDS[kind]}")
        elif not key.startswith("image/object/") and len(values) != 1:
            out.append(f"feature {key!r} has {len(values)} values, expected 1")
        else:
            ok[key] = list(values)
    if tfod_format.MASK in features:
        ok[tfod_format.MASK] = list(features[tfod_format.MASK][1])
    per_object = {k: len(ok[k]) for k in tfod_format.PER_OBJECT if k in ok}
    if len(set(per_object.values())) > 1:
        out.append("objects' features disagree on the number of objects: " +
                   ", ".join(f"{k.removeprefix('image/object/')} {n}"
                             for k, n in per_object.items()))
    for axis in ("x", "y"):
        lo, hi = ok.get(f"image/object/bbox/{axis}min"), ok.get(f"image/object/bbox/{axis}max")
        for name, values in ((f"{axis}min", lo), (f"{axis}max", hi)):
            for j, v in enumerate(values or []):
                if not 0.0 <= v <= 1.0:
                    out.append(f"object {j} {name} {v:.7g} outside [0, 1]")
        for j, (a, b) in enumerate(zip(lo or [], hi or [])):
            if a > b:
                out.append(f"object {j} {axis}min {a:.7g} above {axis}max {b:.7g}")
    texts = ok.get("image/object/class/text")
    for j, k in enumerate(ok.get("image/object/class/label", [])):
        if labels is not None and k not in labels:
            out.append(f"object {j} label {k} not in the label map (1..{len(labels)})")
        elif labels is not None and texts is not None and j < len(texts) and \
                texts[j].decode("utf-8", "replace") != labels[k]:
            out.append(f"object {j} label {k} is {labels[k]!r} in the label map, class/text "
                       f"says {texts[j].decode('utf-8', 'replace')!r}")
        elif labels is None and k < 1:
            out.append(f"object {j} label {k} is not 1 or more (0 is the background)")
    for j, v in enumerate(ok.get("image/object/area", [])):
        if not v >= 0.0:
            out.append(f"object {j} area {v:.7g} is negative or NaN")
    for key in ("image/object/is_crowd", "image/object/difficult"):
        for j, v in enumerate(ok.get(key, [])):
            if v not in (0, 1):
                out.append(f"object {j} {key.rsplit('/', 1)[1]} is {v}, not 0 or 1")
    source = ok.get("image/source_id")
    if source is not None and not source[0].isdigit():
        out.append(f"image/source_id {source[0]!r} is not a decimal number: Model Garden's "
                   "parsers read it as the int64 image id")
    image = ok.get("image/encoded")
    if image is not None:
        image = image[0]
        sha = ok.get("image/key/sha256")
        if sha is not None and sha[0] != hashlib.sha256(image).hexdigest().encode():
            out.append("image/key/sha256 is not the hash of image/encoded")
        fmt = ok.get("image/format")
        name = (ok.get("image/filename") or [b""])[0].decode("utf-8", "replace")
        if fmt is not None and fmt[0] != tfod_format.image_format(image, name):
            out.append(f"image/format is {fmt[0]!r}, the image is "
                       f"{tfod_format.image_format(image, name)!r}")
    return out
