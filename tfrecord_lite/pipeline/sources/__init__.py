"""Datasets people already have, read into the same ``ReadResult`` as a Ground Truth manifest:
COCO instances JSON, YOLO / Ultralytics folders, Pascal VOC folders.  ``detect`` tells which
``-a`` names when ``--from`` is not given; one module per layout parses it, ``common.build``
makes the Samples."""

from __future__ import annotations

import json
from pathlib import Path

from tfrecord_lite.pipeline.errors import InputError

GROUNDTRUTH = "groundtruth"
INPUTS = (GROUNDTRUTH, "coco", "yolo", "voc")
_HINT = "pass --from groundtruth, coco, yolo or voc"
_PEEK = 1 << 16  # bytes of a file looked at to tell a manifest's first line


def detect(path: Path) -> str:
    """Which input ``path`` (what ``-a`` names) is, from its layout and first bytes; one clear
    error when several fit, or a folder fits none.  A file that fits none is taken for a
    manifest (Ground Truth stays the default), whose reader then names its first bad line."""
    fits = _fits(path)
    if len(fits) == 1:
        return fits[0]
    if not fits and path.is_file():
        return GROUNDTRUTH
    if not path.exists():
        raise InputError(str(path), 0, "the annotations do not exist",
                         hint="pass the manifest, COCO file, YOLO data.yaml or VOC folder with -a",
                         reason="no-annotations")
    if fits:
        raise InputError(str(path), 0, f"could be {' or '.join(fits)}: cannot tell which input "
                         "this is", hint=_HINT, reason="ambiguous-input")
    raise InputError(str(path), 0, "not an input tfrecord-lite recognises (a Ground Truth "
                     "manifest, a COCO JSON, a YOLO data.yaml or a VOC folder)", hint=_HINT,
                     reason="unknown-input")


def _fits(path: Path) -> list[str]:
    if path.is_dir():
        fits = []
        if (path / "Annotations").is_dir() or (path.name == "Annotations"
                                              and (path.parent / "JPEGImages").is_dir()):
            fits.append("voc")
        if any((path / n).is_file() for n in ("data.yaml", "data.yml")):
            fits.append("yolo")
        if any(_is_coco(p) for p in path.glob("*.json")):
            fits.append("coco")
        return fits
    if not path.is_file():
        return []
    if path.suffix.lower() in (".yaml", ".yml"):
        return ["yolo"]
    head = _head(path)
    fits = []
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
    try:
        line = json.loads(first)
    except ValueError:
        line = None
    if isinstance(line, dict):  # a manifest's first line, or a COCO file on one line
        if "source-ref" in line:
            fits.append(GROUNDTRUTH)
        if _coco_keys(line):
            fits.append("coco")
    elif head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") and _is_coco(path):
        fits.append("coco")
    return fits


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(_PEEK)
    except OSError:
        return b""


def _coco_keys(doc: object) -> bool:
    return isinstance(doc, dict) and "images" in doc and "categories" in doc


def _is_coco(path: Path) -> bool:
    """A JSON object with ``images`` and ``categories`` lists."""
    try:
        with open(path, "rb") as handle:
            return _coco_keys(json.load(handle))
    except (OSError, ValueError, RecursionError):
        return False


def default_images(kind: str, annotations: Path) -> Path:
    """Where a layout keeps its images when ``-i`` is not given."""
    if kind == "coco":
        folder = annotations if annotations.is_dir() else annotations.parent
        return folder.parent if folder.name == "annotations" else folder
    if kind == "voc":
        return annotations.parent if annotations.name == "Annotations" else annotations
    if kind == "yolo":
        from tfrecord_lite.pipeline.sources import yolo

        return yolo.dataset_root(annotations)
    return annotations.parent


def read_source(kind: str, annotations: Path, options):
    """The ``ReadResult`` of a COCO, YOLO or VOC dataset (``options``: the reader's
    ``ReadOptions``)."""
    from tfrecord_lite.pipeline.sources import coco, common, voc, yolo

    parse = {"coco": coco.read, "yolo": yolo.read, "voc": voc.read}[kind]
    return common.build(parse(annotations), options)
