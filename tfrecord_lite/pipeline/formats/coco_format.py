"""COCO: ``annotations/instances_train.json`` and ``instances_val.json`` with the images in
``train/`` and ``val/``, the extracted layout COCO tools (pycocotools, Datumaro, FiftyOne,
Detectron2, MMDetection) and Au-Zone's ``edgefirst_client.coco_to_arrow`` read.

Boxes are ``[x, y, w, h]`` in pixels of the stored image; category ids are 1-based positions in
``classes`` (COCO keeps 0 for no category).  Image-level classification tags, which COCO has
no annotation type for, are listed on each image entry as ``"tags"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from tfrecord_lite.pipeline.sample import Sample, box_flags

FOLDERS = {"train": "train", "validation": "val"}  # image folders
ANNOTATIONS = {"train": "annotations/instances_train.json",
               "validation": "annotations/instances_val.json"}

#: (class index, [x1, y1, x2, y2, ...] in pixels): one polygon of a segmentation region
Polygon = tuple[int, list[float]]


def mask_polygons(pixels: bytes, width: int, height: int) -> list[Polygon]:
    """A segmentation mask's regions (its pixels, ``polygons.mask_pixels``) as COCO polygons:
    the same tracing as -f json, taken on the pixels' outer edges, since COCO's coordinates are
    continuous (pixel ``i`` spans ``[i, i + 1)``) and its readers rasterise the area a polygon
    encloses."""
    from tfrecord_lite.pipeline.formats import polygons

    return [(value - 1, [round(c, 3) + 0.0 for x, y in outline for c in (x, y)])
            for value, outline in polygons.region_outlines(pixels, width, height, on_edges=True)]


def box_segments(pixels: bytes, sample: Sample) -> list[list[list[float]]]:
    """Each box's segmentation when the mask (its pixels) paints the boxes' own objects
    (``Sample.mask_of_boxes``): the outlines of its class's mask pixels whose centres the box
    holds, so a COCO source's objects come back one annotation each."""
    from tfrecord_lite.pipeline.formats import polygons

    width, height = sample.width, sample.height
    out = []
    for box in sample.boxes:
        c0 = max(0, round((box.cx - box.w / 2) * width))
        c1 = min(width, round((box.cx + box.w / 2) * width))
        r0 = max(0, round((box.cy - box.h / 2) * height))
        r1 = min(height, round((box.cy + box.h / 2) * height))
        value = box.class_index + 1
        crop = b"".join(bytes(v == value for v in pixels[y * width + c0 : y * width + c1])
                        for y in range(r0, r1))
        out.append([[round(c, 3) + 0.0 for x, y in outline for c in (x + c0, y + r0)]
                    for _, outline in polygons.region_outlines(crop, c1 - c0, r1 - r0,
                                                               on_edges=True)]
                   if c1 > c0 and r1 > r0 else [])
    return out


def _pixels(value: float) -> float:
    """A coordinate in pixels, without the float noise of normalising and back."""
    return round(value, 3) + 0.0


def image_entry(image_id: int, sample: Sample) -> dict:
    entry = {"id": image_id, "file_name": sample.name, "width": sample.width,
             "height": sample.height}
    if sample.tags:
        entry["tags"] = list(sample.tags)
    return entry


def annotation_entries(image_id: int, sample: Sample, first_id: int,
                       polygons: Sequence[Polygon] = (),
                       segments: Sequence[list[list[float]]] = ()) -> list[dict]:
    """The sample's boxes (each with its ``segments``, from ``box_segments``), then its
    segmentation regions (``polygons``, each with the polygon's bounds)."""
    out = []
    width, height = sample.width, sample.height
    crowd = box_flags(sample.crowd, len(sample.boxes))  # a COCO source's iscrowd
    for j, box in enumerate(sample.boxes):
        w, h = box.w * width, box.h * height
        x, y = box.cx * width - w / 2, box.cy * height - h / 2
        out.append({"id": first_id + len(out), "image_id": image_id,
                    "category_id": box.class_index + 1, "iscrowd": crowd[j],
                    "bbox": [_pixels(x), _pixels(y), _pixels(w), _pixels(h)],
                    "area": _pixels(w * h),
                    "segmentation": segments[j] if j < len(segments) else []})
    for class_index, flat in polygons:
        xs, ys = flat[0::2], flat[1::2]
        x, y = min(xs), min(ys)
        out.append({"id": first_id + len(out), "image_id": image_id,
                    "category_id": class_index + 1, "iscrowd": 0,
                    "bbox": [x, y, max(xs) - x, max(ys) - y], "area": _area(flat),
                    "segmentation": [flat]})
    return out


def _area(flat: Sequence[float]) -> float:
    """The shoelace area of one polygon."""
    xs, ys = flat[0::2], flat[1::2]
    n = len(xs)
    return abs(sum(xs[i] * ys[(i + 1) % n] - xs[(i + 1) % n] * ys[i] for i in range(n))) / 2


def document(classes: Sequence[str], images: Iterable[dict], annotations: Iterable[dict]
             ) -> dict:
    return {
        "info": {"description": "converted from SageMaker Ground Truth by tfrecord-lite"},
        "licenses": [],
        "images": list(images),
        "annotations": list(annotations),
        "categories": [{"id": k + 1, "name": name, "supercategory": ""}
                       for k, name in enumerate(classes)],
    }


def write_annotations(path: Path, doc: dict) -> int:
    """Write one annotation file; returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in a name: its escape, as JSON allows
        data = json.dumps(doc).encode("ascii")
    path.write_bytes(data)
    return len(data)

