"""COCO instances JSON -> ``Found`` items: boxes, ``iscrowd``, polygon and RLE segmentation,
categories by id.

``-a`` names one file (no split of its own) or a folder of them: ``*train*.json`` and
``*val*.json`` are kept as the two sides.  Images are looked for under the images folder, in
the split's own folder first (``train2017/``, ``images/train/``), since COCO's splits may reuse
file names.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

from tfrecord_lite.pipeline.errors import InputError
from tfrecord_lite.pipeline.sources.common import (
    TRAIN,
    VALIDATION,
    Found,
    PixelBox,
    Region,
    Source,
    decode_rle_string,
)


def files(annotations: Path) -> list[tuple[Path, str | None]]:
    """The COCO files ``-a`` names, each with its side (None: one file, no split)."""
    if annotations.is_file():
        return [(annotations, None)]
    found = sorted(p for p in annotations.glob("*.json") if p.is_file())
    sides = []
    for path in found:
        side = _side(path.stem)
        if side is not None:
            sides.append((path, side))
    if len(found) == 1:
        return [(found[0], None)]
    if not found or len(sides) != len(found) or {s for _, s in sides} != {TRAIN, VALIDATION}:
        names = ", ".join(p.name for p in found) or "none"
        raise InputError(str(annotations), 0, f"cannot tell the COCO files of this folder apart "
                         f"(JSON files: {names})", hint="name one train and one val file "
                         "(instances_train.json, instances_val.json), or pass one file with -a",
                         reason="bad-source")
    if len(sides) != 2:
        names = ", ".join(p.name for p, _ in sides)
        raise InputError(str(annotations), 0, f"more than one COCO file per split ({names})",
                         hint="pass one file with -a, or keep one train and one val file",
                         reason="bad-source")
    return sides


def _side(stem: str) -> str | None:
    words = set(re.split(r"[^a-z]+", stem.lower()))
    if words & {"val", "valid", "validation"} or re.search(r"val\d", stem.lower()):
        return VALIDATION
    if "train" in words or re.search(r"train\d", stem.lower()):
        return TRAIN
    return None


def read(annotations: Path) -> Source:
    """Every image of every file, in file order, with its annotations."""
    classes: list[str] = []
    by_id: dict[int, tuple[int, str, str]] = {}  # category id -> (class index, name, file)
    items: list[Found | InputError] = []
    for path, side in files(annotations):
        doc = _load(path)
        categories = _categories(path, doc, by_id, classes)
        items += _items(path, doc, side, categories)
    return Source(str(annotations), "coco", classes, items)


def _load(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            doc = json.load(handle)
    except OSError as exc:
        raise InputError(str(path), 0, f"cannot read the COCO file: {exc.strerror}",
                         reason="bad-source") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(str(path), 0, f"not a JSON file ({exc})",
                         hint="a COCO instances file is one JSON object",
                         reason="bad-json") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("categories"), list) \
            or not isinstance(doc.get("annotations", []), list):
        raise InputError(str(path), 0, "not a COCO instances file",
                         hint="expected an object with 'images', 'annotations' and "
                         "'categories' lists", reason="bad-source")
    return doc


def _categories(path: Path, doc: dict, by_id: dict[int, tuple[int, str, str]],
                classes: list[str]) -> dict[int, int]:
    """Category id -> class index; the classes in id order, the same ids in every file."""
    mine: dict[int, int] = {}
    entries = []
    for n, cat in enumerate(doc["categories"]):
        cid = cat.get("id") if isinstance(cat, dict) else None
        name = cat.get("name") if isinstance(cat, dict) else None
        if type(cid) is not int or not isinstance(name, str) or not name.strip():
            raise InputError(str(path), 0, f"categories[{n}] has no integer id and name",
                             value=cat, reason="bad-category")
        if cid in mine or any(c == cid for c, _ in entries):
            raise InputError(str(path), 0, f"categories[{n}]: category id {cid} is listed "
                             "twice", value=cat, reason="bad-category")
        entries.append((cid, name.strip()))
    for cid, name in sorted(entries):
        known = by_id.get(cid)
        if known is not None and known[1] != name:
            raise InputError(str(path), 0, f"category id {cid} is {name!r} here but "
                             f"{known[1]!r} in {known[2]}", reason="bad-category",
                             hint="the split files must share their categories")
        if known is None:
            if name not in classes:
                classes.append(name)
            known = by_id[cid] = (classes.index(name), name, path.name)
        mine[cid] = known[0]
    return mine


def _number(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _box(bbox: object) -> tuple[float, float, float, float] | None:
    """``[x, y, width, height]`` of finite numbers and non-negative size, as floats, or None
    (one call, no per-value calls: a COCO file has some ten annotations an image)."""
    if type(bbox) is not list or len(bbox) != 4:
        return None
    x, y, w, h = bbox
    if type(x) not in _NUMBERS or type(y) not in _NUMBERS or type(w) not in _NUMBERS \
            or type(h) not in _NUMBERS:
        return None
    x, y, w, h = float(x), float(y), float(w), float(h)
    # v - v is 0.0 for every finite v and NaN for inf and NaN
    if x - x != 0.0 or y - y != 0.0 or w - w != 0.0 or h - h != 0.0 or w < 0 or h < 0:
        return None
    return x, y, w, h


_NUMBERS = (int, float)


def _items(path: Path, doc: dict, side: str | None,
           categories: dict[int, int]) -> list[Found | InputError]:
    where = str(path)
    split_dir = re.sub(r"^instances_", "", path.stem)
    found: dict[int, Found | InputError] = {}
    place: dict[int, int] = {}  # image id -> its position in ``order``
    order: list[Found | InputError] = []
    for n, image in enumerate(doc["images"]):
        iid = image.get("id") if isinstance(image, dict) else None
        name = image.get("file_name") if isinstance(image, dict) else None
        if type(iid) is not int or not isinstance(name, str) or not name.strip():
            order.append(InputError(where, 0, f"images[{n}] has no integer id and file_name",
                                    value=image, reason="bad-image-entry"))
            continue
        if iid in found:
            order.append(InputError(where, 0, f"images[{n}]: image id {iid} is listed twice",
                                    value=image, reason="bad-image-entry"))
            continue
        w, h = image.get("width"), image.get("height")
        size = (w, h) if type(w) is int and type(h) is int else None
        item = Found(name, where, 0, size=size, side=side,
                     candidates=(f"{split_dir}/{name}", f"images/{split_dir}/{name}"))
        found[iid] = item
        place[iid] = len(order)
        order.append(item)
    for n, ann in enumerate(doc.get("annotations", [])):
        is_dict = type(ann) is dict
        entry = f"annotations[{n}] (id {ann['id']})" if is_dict and "id" in ann \
            else f"annotations[{n}]"
        iid = ann.get("image_id") if is_dict else None
        item = found.get(iid) if type(iid) is int else None
        if item is None:
            order.append(InputError(where, 0, f"{entry}: image id {iid!r} is not in 'images'",
                                    hint="fix the annotation's image_id or drop it",
                                    reason="unknown-image-id"))
            continue
        if isinstance(item, InputError):
            continue  # its image already failed: the first problem is the one told
        try:
            _add(item, ann, entry, categories, where)
        except InputError as error:
            found[iid] = order[place[iid]] = error
    return order


def _add(item: Found, ann: dict, entry: str, categories: dict[int, int], where: str) -> None:
    cid = ann.get("category_id")
    k = categories.get(cid) if type(cid) is int else None
    if k is None:
        raise InputError(where, 0, f"{entry}: unknown category id {cid!r}",
                         value=item.ref, hint=f"the file's categories have ids "
                         f"{sorted(categories)[:10]}", reason="unknown-category")
    crowd = ann.get("iscrowd", 0) in (1, True)
    seg = ann.get("segmentation")
    region = None if seg is None or seg == [] else _region(seg, k, entry, where)
    bbox = ann.get("bbox")
    if bbox is None and region is not None and region.polygons:
        xs = [v for p in region.polygons for v in p[0::2]]
        ys = [v for p in region.polygons for v in p[1::2]]
        bbox = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
    box = _box(bbox)
    if box is None:
        raise InputError(where, 0, f"{entry}: bbox is not [x, y, width, height] of "
                         "non-negative size", value=bbox, reason="bad-box")
    x, y, w, h = box
    item.boxes.append(PixelBox(k, x, y, x + w, y + h, entry, crowd=crowd))
    if region is not None:
        item.regions.append(region)


def _region(seg: object, k: int, entry: str, where: str) -> Region | None:
    """Polygons (lists of x, y) or RLE (``counts`` a list or COCO's compressed string)."""
    if seg is None or seg == []:
        return None
    if isinstance(seg, list) and all(isinstance(p, list) for p in seg):
        polygons = tuple(tuple(float(v) for v in p) for p in seg
                         if len(p) >= 6 and len(p) % 2 == 0 and all(map(_number, p)))
        if len(polygons) != len(seg):
            raise InputError(where, 0, f"{entry}: a segmentation polygon is not an even list of "
                             "at least 6 numbers", value=seg, reason="bad-segmentation")
        return Region(k, polygons)
    if isinstance(seg, dict):
        size, counts = seg.get("size"), seg.get("counts")
        if isinstance(counts, str):
            try:
                counts = decode_rle_string(counts)
            except IndexError:
                counts = None
        if isinstance(size, list) and len(size) == 2 and all(type(v) is int and v > 0
                                                             for v in size) \
                and isinstance(counts, list) and all(type(c) is int and c >= 0 for c in counts) \
                and sum(counts) == size[0] * size[1]:
            return Region(k, rle=((size[0], size[1]), tuple(counts)))
    raise InputError(where, 0, f"{entry}: segmentation is neither polygons nor an RLE of its "
                     "size", value=seg, reason="bad-segmentation")
