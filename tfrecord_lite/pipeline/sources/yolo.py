"""YOLO / Ultralytics datasets -> ``Found`` items: ``data.yaml`` (``names`` a list or a dict,
``path``, ``train`` and ``val``), images with ``labels/<stem>.txt`` beside their ``images/``.

A label row is ``k cx cy w h`` (normalised), or ``k x1 y1 x2 y2 ...`` (a polygon, normalised:
its bounds become the box and it is painted into the mask).  An image without a label file is
a negative; a label file without its image is an error naming it.  ``train`` and ``val`` may
each be a folder, a text file listing images, or a list of those.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import yaml

from tfrecord_lite.pipeline.errors import InputError
from tfrecord_lite.pipeline.publish import written_here
from tfrecord_lite.pipeline.sources.common import (
    TRAIN,
    VALIDATION,
    Found,
    PixelBox,
    Region,
    Source,
    read_lines,
)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                            ".mpo", ".dng", ".pfm"})


def config_file(annotations: Path) -> Path:
    """The data.yaml ``-a`` names (itself, or the one in the folder)."""
    if annotations.is_file():
        return annotations
    for name in ("data.yaml", "data.yml"):
        if (annotations / name).is_file():
            return annotations / name
    raise InputError(str(annotations), 0, "no data.yaml in this folder",
                     hint="a YOLO dataset names its classes and splits in data.yaml",
                     reason="bad-source")


def read(annotations: Path) -> Source:
    """Every image of the train and val lists (each once), with its label file's boxes."""
    path = config_file(annotations)
    config = _config(path)
    names = _names(path, config)
    root = _root(path, config)
    lists = {side: config.get(key) for side, key in ((TRAIN, "train"), (VALIDATION, "val"))}
    if lists[TRAIN] is None and lists[VALIDATION] is None:
        raise InputError(str(path), 0, "data.yaml names neither 'train' nor 'val'",
                         hint="give the image folders: train: images/train, val: images/val",
                         reason="bad-source")
    same = lists[TRAIN] == lists[VALIDATION]
    items: list[Found | InputError] = []
    seen: set[str] = set()
    folders: list[Path] = []
    for side, spec in lists.items():
        if spec is None or (same and side == VALIDATION):
            continue
        images, listed_in = _images(path, root, spec)
        folders += listed_in
        for image in images:
            if image in seen:
                continue
            seen.add(image)
            items.append(_item(image, len(names), None if same else side, str(root)))
    items += _orphans(folders, seen, root)
    return Source(str(path), "yolo", names, items)


def _root(path: Path, config: dict) -> Path:
    """The folder the split paths are relative to: data.yaml's ``path``, else its own."""
    root = Path(config["path"]) if isinstance(config.get("path"), str) else Path()
    return root if root.is_absolute() else path.parent / root


def dataset_root(annotations: Path) -> Path:
    """Where the images are looked for when -i is not given (a bad data.yaml is told later,
    when it is read)."""
    try:
        path = config_file(annotations)
        return _root(path, _config(path))
    except InputError:
        return annotations if annotations.is_dir() else annotations.parent


def _config(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            config = yaml.safe_load(handle)
    except OSError as exc:
        raise InputError(str(path), 0, f"cannot read data.yaml: {exc.strerror}",
                         reason="bad-source") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        raise InputError(str(path), line, f"not YAML ({getattr(exc, 'problem', exc)})",
                         reason="bad-source") from None
    if not isinstance(config, dict):
        raise InputError(str(path), 0, "data.yaml is not a mapping",
                         hint="expected names:, train: and val:", reason="bad-source")
    return config


def _names(path: Path, config: dict) -> list[str]:
    raw = config.get("names")
    if isinstance(raw, dict) and all(type(k) is int for k in raw) \
            and sorted(raw) == list(range(len(raw))):
        raw = [raw[k] for k in range(len(raw))]
    if not isinstance(raw, list) or not raw or not all(isinstance(n, (str, int)) for n in raw):
        raise InputError(str(path), 0, "'names' is not a list of class names or a dict of "
                         "ids 0..n-1 to names", value=raw, reason="bad-source")
    names = [str(n).strip() for n in raw]
    if len(set(names)) != len(names) or not all(names):
        raise InputError(str(path), 0, "'names' holds an empty or a repeated class name",
                         value=raw, reason="bad-source")
    nc = config.get("nc")
    if nc is not None and nc != len(names):
        raise InputError(str(path), 0, f"nc is {nc} but 'names' lists {len(names)} classes",
                         reason="bad-source")
    return names


def _images(path: Path, root: Path, spec: object) -> tuple[list[str], list[Path]]:
    """The images a split lists (paths relative to ``root``) and the folders they came from."""
    specs = spec if isinstance(spec, list) else [spec]
    images: list[str] = []
    folders: list[Path] = []
    for one in specs:
        if not isinstance(one, str):
            raise InputError(str(path), 0, "a split is not a path", value=one,
                             reason="bad-source")
        where = Path(one) if Path(one).is_absolute() else root / one
        if where.is_dir():
            folders.append(where)
            images += sorted(_walk(where, root))
        elif where.is_file():
            images += _listed(where, root)
        else:
            raise InputError(str(path), 0, f"the split {one!r} is neither a folder nor a list "
                             "file", value=str(where), reason="bad-source")
    return images, folders


def _walk(folder: Path, root: Path) -> list[str]:
    """The images under ``folder`` (by extension), relative to ``root``."""
    start = os.path.relpath(folder, root)
    out = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not written_here(os.path.join(here, d))]  # ours: no input
        rel = os.path.normpath(os.path.join(start, os.path.relpath(here, folder)))
        prefix = "" if rel == "." else rel.replace(os.sep, "/") + "/"
        out += [prefix + f for f in files if os.path.splitext(f)[1].lower() in IMAGE_SUFFIXES]
    return out


def _rel(p: Path, root: Path) -> str:
    return os.path.relpath(p, root).replace(os.sep, "/")


def _listed(listing: Path, root: Path) -> list[str]:
    """A list file's images: one path a line, relative to the dataset root (``./`` allowed)."""
    out = []
    for line in read_lines(listing):
        line = line.strip()
        if line:
            p = Path(line)
            out.append(_rel(p, root) if p.is_absolute() else line.removeprefix("./"))
    return out


def label_path(image: str) -> str:
    """Ultralytics' rule: the last ``images`` folder of the path becomes ``labels``, the
    extension ``.txt``."""
    parts = image.split("/")
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return "/".join(parts).rsplit(".", 1)[0] + ".txt"


def _item(image: str, classes: int, side: str | None, root: str) -> Found | InputError:
    labels = os.path.join(root, label_path(image))
    try:
        with open(labels, encoding="utf-8-sig") as handle:
            text = handle.read()
    except FileNotFoundError:  # a negative: counted when built
        return Found(image, os.path.join(root, image), 0, side=side, normalised=True)
    except (OSError, UnicodeDecodeError) as exc:
        return InputError(str(labels), 0, f"cannot read the label file ({exc})",
                          reason="bad-label")
    item = Found(image, labels, 0, side=side, normalised=True)
    for n, raw in enumerate(text.splitlines(), 1):
        fields = raw.split()
        if not fields:
            continue
        error = _row(item, fields, n, classes)
        if error is not None:
            return InputError(str(labels), n, error, value=raw.strip(), reason=(
                "unknown-category" if error.startswith("unknown") else "bad-label"),
                hint="a row is 'class cx cy w h' or 'class x1 y1 x2 y2 ...', normalised")
    return item


def _row(item: Found, fields: list[str], n: int, classes: int) -> str | None:
    try:
        k = int(fields[0])
        values = [float(v) for v in fields[1:]]
    except ValueError:
        return "a value is not a number"
    if not all(math.isfinite(v) for v in values):
        return "a value is not finite"
    if not 0 <= k < classes:
        return f"unknown class id {k} (data.yaml names {classes} classes)"
    if len(values) == 4:
        cx, cy, w, h = values
        if w < 0 or h < 0:
            return "a box of negative size"
        item.boxes.append(PixelBox(k, cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, "",
                                    line=n))
        return None
    if len(values) >= 6 and len(values) % 2 == 0:
        xs, ys = values[0::2], values[1::2]
        item.boxes.append(PixelBox(k, min(xs), min(ys), max(xs), max(ys), "", line=n))
        item.regions.append(Region(k, (tuple(values),)))
        return None
    return f"a row of {len(fields)} values is neither a box (5) nor a polygon (odd, 7 or more)"


def _orphans(folders: list[Path], seen: set[str], root: Path) -> list[Found | InputError]:
    """Label files of a split's folders whose image is not there."""
    base = os.path.abspath(root)
    wanted = {os.path.normpath(os.path.join(base, label_path(image))) for image in seen}
    out: list[Found | InputError] = []
    for folder in folders:
        parts = folder.parts
        if "images" not in parts:
            continue
        i = len(parts) - 1 - parts[::-1].index("images")
        labels = Path(*parts[:i], "labels", *parts[i + 1 :])
        for txt in sorted(labels.rglob("*.txt")):
            if os.path.abspath(txt) not in wanted:
                out.append(InputError(str(txt), 0, "label file without its image",
                                      hint=f"no image of stem {txt.stem!r} in {folder}",
                                      reason="label-without-image"))
    return out
