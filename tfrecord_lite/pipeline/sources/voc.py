"""Pascal VOC folders -> ``Found`` items: ``Annotations/*.xml`` (``filename``, ``size``, each
``object``'s ``name``, ``bndbox``, ``difficult`` and ``truncated``), images in ``JPEGImages/``,
splits from ``ImageSets/Main/train.txt`` and ``val.txt``.

VOC's pixel coordinates are 1-based and inclusive (the devkit's ``xmin = 1`` is the first
column), so a box covers ``xmin - 1`` to ``xmax``.  Classes are sorted by name, as VOC's own
twenty are.  ``truncated`` is kept on the Sample (``Sample.truncated``); no output format the
converter writes has a place the readers read for it.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

from tfrecord_lite.pipeline.errors import InputError
from tfrecord_lite.pipeline.sources.common import (
    TRAIN,
    VALIDATION,
    Found,
    PixelBox,
    Source,
    read_lines,
)


def root_of(annotations: Path) -> Path:
    """The VOC folder ``-a`` names (itself, or the parent of its Annotations folder)."""
    if annotations.name == "Annotations":
        return annotations.parent
    if not (annotations / "Annotations").is_dir():
        raise InputError(str(annotations), 0, "no Annotations folder here",
                         hint="a Pascal VOC folder holds Annotations/ and JPEGImages/",
                         reason="bad-source")
    return annotations


def _split_lists(root: Path) -> dict[str, str] | None:
    """Each listed stem's side, from ImageSets/Main/train.txt and val.txt (None: no split)."""
    main = root / "ImageSets" / "Main"
    lists = {TRAIN: main / "train.txt", VALIDATION: main / "val.txt"}
    if not all(p.is_file() for p in lists.values()):
        return None
    sides: dict[str, str] = {}
    for side, path in lists.items():
        for line in read_lines(path):
            stem = line.split()[0] if line.split() else ""
            if stem:
                sides.setdefault(stem, side)
    return sides


def read(annotations: Path) -> Source:
    """Every annotation file (those of the split lists, when there are lists), in name order."""
    root = root_of(annotations)
    folder = root / "Annotations"
    sides = _split_lists(root)
    xmls = sorted(folder.glob("*.xml"))
    if sides is not None:
        xmls = [p for p in xmls if p.stem in sides]
    parsed = [_parse(p) for p in xmls]
    names = sorted({o[0] for item in parsed if isinstance(item, tuple) for o in item[1]})
    index = {n: k for k, n in enumerate(names)}
    items: list[Found | InputError] = []
    for path, item in zip(xmls, parsed):
        if isinstance(item, InputError):
            items.append(item)
            continue
        found, objects = item
        found.side = sides.get(path.stem) if sides is not None else None
        for name, x1, y1, x2, y2, entry, difficult, truncated in objects:
            found.boxes.append(PixelBox(index[name], x1, y1, x2, y2, entry,
                                        difficult=difficult, truncated=truncated))
        items.append(found)
    if sides is not None:
        missing = sorted(set(sides) - {p.stem for p in xmls})
        items += [InputError(str(root / "ImageSets" / "Main"), 0, f"{stem!r} is listed but "
                             f"Annotations/{stem}.xml does not exist", reason="missing-label")
                  for stem in missing]
    return Source(str(root), "voc", names, items)


def _text(node: ET.Element, tag: str) -> str | None:
    found = node.find(tag)
    return found.text.strip() if found is not None and found.text else None


def _parse(path: Path) -> tuple[Found, list] | InputError:
    where = str(path)
    try:
        tree = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        return InputError(where, 0, f"not a readable XML file ({exc})", reason="bad-label")
    name = _text(tree, "filename") or f"{path.stem}.jpg"
    size = None
    node = tree.find("size")
    if node is not None:
        try:
            w, h = int(_text(node, "width") or 0), int(_text(node, "height") or 0)
            size = (w, h) if w > 0 and h > 0 else None
        except ValueError:
            size = None
    found = Found(f"JPEGImages/{name}", where, 0, size=size)
    objects = []
    for n, obj in enumerate(tree.findall("object"), 1):
        entry = f"object {n}"
        label = _text(obj, "name")
        box = obj.find("bndbox")
        if not label:
            return InputError(where, 0, f"{entry} has no name", reason="bad-label")
        try:
            coords = [float(_text(box, t) or "nan") for t in ("xmin", "ymin", "xmax", "ymax")] \
                if box is not None else []
        except ValueError:
            coords = []
        if len(coords) != 4 or not all(map(math.isfinite, coords)) \
                or coords[2] < coords[0] or coords[3] < coords[1]:
            return InputError(where, 0, f"{entry} ({label}): bndbox is not xmin <= xmax, "
                              "ymin <= ymax", reason="bad-box")
        x1, y1, x2, y2 = coords
        objects.append((label, x1 - 1, y1 - 1, x2, y2, f"{entry} ({label})",
                        _text(obj, "difficult") == "1", _text(obj, "truncated") == "1"))
    return found, objects
