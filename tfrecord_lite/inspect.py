"""``tfrecord-lite inspect PATH``: what a TFRecord file, a folder of shards or a dataset holds.

One streaming pass: per split and file the record count, size and compression; every feature's
types and values per record; and for ModelPack data the images, objects per class, boxes per
image and image sizes.  ``--show N`` prints records readably, ``--json`` the report for scripts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .dataset.layout import Layout, Split, display, iter_records, resolve
from .errors import RecordError

_KINDS = {"bytes_list": "bytes", "int64_list": "int64", "float_list": "float"}
_SHORT_BYTES = 64  # bytes values up to this long are shown whole (as text when utf-8)
_SHOW_VALUES = 32  # values per feature shown by --show before eliding


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "inspect",
        help="show what a TFRecord file, a folder of shards or a dataset holds",
        description="Summarise a TFRecord file, a folder of shards or a dataset (dataset_info.yaml "
        "or its folder): records, bytes and compression per file, feature types and value "
        "counts, and for ModelPack data images, objects per class, boxes per image and image "
        "sizes.  Exits 1 when a file cannot be read to its end.",
    )
    p.add_argument(
        "path",
        help="a TFRecord file, a folder of shards, or a dataset_info.yaml "
        "(or the dataset folder holding it)",
    )
    p.add_argument(
        "--show",
        type=int,
        default=0,
        metavar="N",
        help="also print the first N records as readable JSON",
    )
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    return p


@dataclass
class FeatureStats:
    """A feature's types and how many values it holds per record (where present)."""

    types: Counter[str] = field(default_factory=Counter)
    records: int = 0
    min: int = 0
    max: int = 0

    def add(self, kind: str, n: int) -> None:
        if self.records == 0 or n < self.min:
            self.min = n
        if n > self.max:
            self.max = n
        self.records += 1
        self.types[kind] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "|".join(sorted(self.types)),
            "records": self.records,
            "values_min": self.min,
            "values_max": self.max,
        }


@dataclass
class Labels:
    """Counts over labelled images: the ModelPack side of a split (either format)."""

    images: int = 0
    objects: Counter[int] = field(default_factory=Counter)
    boxes_min: int = 0
    boxes_max: int = 0
    boxes_total: int = 0
    sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    masks: int = 0
    tags: Counter[str] = field(default_factory=Counter)

    def add(self, width: int, height: int, ids: list[int]) -> None:
        n = len(ids)
        if self.images == 0 or n < self.boxes_min:
            self.boxes_min = n
        self.boxes_max = max(self.boxes_max, n)
        self.boxes_total += n
        self.images += 1
        self.objects.update(ids)
        self.sizes[(width, height)] += 1

    def as_dict(self, classes: list[str] | None) -> dict[str, Any]:
        ids = set(self.objects) | set(range(len(classes or ())))
        out: dict[str, Any] = {
            "images": self.images,
            "objects": self.boxes_total,
            "objects_per_class": {_class_name(i, classes): self.objects[i] for i in sorted(ids)},
            "boxes_per_image": {
                "min": self.boxes_min,
                "mean": round(self.boxes_total / self.images, 3) if self.images else 0,
                "max": self.boxes_max,
            },
            "image_sizes": {
                f"{w}x{h}": n for (w, h), n in sorted(self.sizes.items(), key=lambda t: -t[1])
            },
        }
        if self.masks:
            out["masks"] = self.masks
        if self.tags:
            out["tags"] = dict(sorted(self.tags.items()))
        return out


def _class_name(i: int, classes: list[str] | None) -> str:
    if classes is not None and 0 <= i < len(classes):
        return classes[i]
    return f"#{i}"


@dataclass
class FileReport:
    path: str
    records: int = 0
    bytes: int = 0
    compression: str = "none"
    error: str | None = None


@dataclass
class SplitReport:
    name: str
    format: str
    folder: str | None
    declared: int | None
    files: list[FileReport] = field(default_factory=list)
    features: dict[str, FeatureStats] = field(default_factory=dict)
    labels: Labels = field(default_factory=Labels)
    missing: bool = False

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)


class Inspector:
    """Builds the report in one pass, keeping at most ``show`` records aside."""

    def __init__(self, layout: Layout, show: int = 0) -> None:
        self.layout = layout
        self.show = show
        self.shown: list[dict[str, Any]] = []
        self.splits: list[SplitReport] = []

    def run(self) -> None:
        for split in self.layout.splits:
            report = SplitReport(
                split.name,
                split.format,
                display(split.folder) if split.folder is not None else None,
                split.declared_samples,
                missing=split.missing,
            )
            self.splits.append(report)
            if split.format == "json":
                self._json_split(split, report)
            elif split.format == "darknet":
                self._darknet_split(split, report)
            else:
                self._tfrecord_split(split, report)

    @property
    def errors(self) -> list[str]:
        out = [f"split {s.name!r}: folder {s.folder} not found" for s in self.splits if s.missing]
        return out + [f"{f.path}: {f.error}" for s in self.splits for f in s.files if f.error]

    def _tfrecord_split(self, split: Split, report: SplitReport) -> None:
        from .example import Example

        features = report.features
        labels = report.labels
        for data_file in split.files:
            fr = FileReport(display(data_file.path), 0, data_file.size, data_file.compression_name)
            report.files.append(fr)
            try:
                for index, offset, data in iter_records(data_file):
                    fr.records = index + 1
                    try:
                        feats = Example.FromString(data).features.feature
                    except Exception as exc:  # protobuf's DecodeError, or worse
                        features.setdefault("(not an Example)", FeatureStats()).add("?", 0)
                        if len(self.shown) < self.show:
                            self.shown.append(_shown(split, fr.path, index, offset, None, exc))
                        continue
                    for key, feat in feats.items():
                        kind = feat.WhichOneof("kind")
                        n = len(getattr(feat, kind).value) if kind else 0
                        stats = features.get(key)
                        if stats is None:
                            stats = features[key] = FeatureStats()
                        stats.add(_KINDS.get(kind, "empty"), n)
                    if "objects" in feats and "width" in feats and "height" in feats:
                        w = feats["width"].int64_list.value
                        h = feats["height"].int64_list.value
                        ids = list(feats["objects"].int64_list.value)
                        labels.add(w[0] if w else 0, h[0] if h else 0, ids)
                    if len(self.shown) < self.show:
                        self.shown.append(_shown(split, fr.path, index, offset, feats))
            except RecordError as exc:
                fr.error = f"record {fr.records} at byte {exc.offset}: {exc.check}: {exc.detail}"
            except OSError as exc:
                fr.error = f"cannot read: {exc.strerror or exc}"

    def _darknet_split(self, split: Split, report: SplitReport) -> None:
        """Each image and its ``<stem>.txt``: one sample."""
        from .dataset.darknet_format import read_labels
        from .verify import image_size

        for path in split.images:
            label = path.with_suffix(".txt")
            size = path.stat().st_size + (label.stat().st_size if label.is_file() else 0)
            report.files.append(FileReport(display(path), 1, size, "none"))
            w, h = image_size(path) or (0, 0)
            report.labels.add(w, h, [box[0] for box in read_labels(label)])

    def _json_split(self, split: Split, report: SplitReport) -> None:
        labels = report.labels
        for path in split.json_files:
            fr = FileReport(display(path), 1, 0, "none")
            report.files.append(fr)
            try:
                raw = path.read_bytes()
                fr.bytes = len(raw)
                doc = json.loads(raw)
                if not isinstance(doc, dict):
                    raise ValueError("not a JSON object")
                boxes = [b for b in doc.get("boxes") or () if isinstance(b, list) and len(b) == 5]
                ids = [b[4] for b in boxes if isinstance(b[4], int)]
                w, h = (list(doc.get("dimension") or ()) + [0, 0])[:2]
                labels.add(w if isinstance(w, int) else 0, h if isinstance(h, int) else 0, ids)
                if doc.get("segment"):
                    labels.masks += 1
                labels.tags.update(str(t) for t in doc.get("tags") or ())
                image = doc.get("image")
                if isinstance(image, str) and (path.parent / image).is_file():
                    fr.bytes += (path.parent / image).stat().st_size
            except (OSError, ValueError) as exc:
                fr.error = f"cannot read: {exc}"
                continue
            if len(self.shown) < self.show:
                self.shown.append({"split": split.name, "file": fr.path, "json": doc})

    def as_dict(self) -> dict[str, Any]:
        layout = self.layout
        out: dict[str, Any] = {
            "path": display(layout.given),
            "kind": layout.kind,
            "format": layout.format,
            "classes": layout.classes,
            "records": sum(s.records for s in self.splits),
            "bytes": sum(s.bytes for s in self.splits),
            "splits": [],
        }
        for s in self.splits:
            split: dict[str, Any] = {
                "name": s.name,
                "format": s.format,
                "folder": s.folder,
                "records": s.records,
                "bytes": s.bytes,
                "samples_declared": s.declared,
                "files": [vars(f).copy() for f in s.files],
            }
            if s.missing:
                split["missing"] = True
            if s.format == "tfrecord":
                split["features"] = {k: v.as_dict() for k, v in sorted(s.features.items())}
            if s.labels.images:
                split["modelpack"] = s.labels.as_dict(layout.classes)
            out["splits"].append(split)
        out["errors"] = self.errors
        if self.show:
            out["shown"] = self.shown
        return out


def _shown(
    split: Split, path: str, index: int, offset: int, feats: Any, exc: Exception | None = None
) -> dict[str, Any]:
    """One record as readable JSON: short bytes as text, long ones as length + hex prefix."""
    out: dict[str, Any] = {"split": split.name, "file": path, "record": index, "offset": offset}
    if feats is None:
        out["error"] = f"not a tf.train.Example: {exc}"
        return out
    shown: dict[str, Any] = {}
    for key in sorted(feats):
        feat = feats[key]
        kind = feat.WhichOneof("kind")
        values = list(getattr(feat, kind).value) if kind else []
        if kind == "bytes_list":
            rendered: list[Any] = [readable_bytes(v) for v in values[:_SHOW_VALUES]]
        elif kind == "float_list":
            rendered = [float(f"{v:.7g}") for v in values[:_SHOW_VALUES]]
        else:
            rendered = values[:_SHOW_VALUES]
        if len(values) > _SHOW_VALUES:
            rendered.append(f"... {len(values) - _SHOW_VALUES} more")
        shown[key] = {"type": _KINDS.get(kind, "empty"), "values": rendered}
    out["features"] = shown
    return out


def readable_bytes(value: bytes) -> str:
    """Short utf-8 as text; anything else as ``<N bytes: hexprefix...>``."""
    if len(value) <= _SHORT_BYTES:
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if text.isprintable():
                return text
    hex_prefix = value[:8].hex()
    return f"<{len(value)} bytes: {hex_prefix}{'...' if len(value) > 8 else ''}>"


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def format_text(report: dict[str, Any]) -> str:
    """The report for a terminal or a CI log: aligned, one fact a line."""
    lines: list[str] = []
    classes = report["classes"]
    head = f"{report['path']}: {report['kind']}, {report['format']} format"
    head += f", {report['records']} records, {_size(report['bytes'])}"
    lines.append(head)
    if classes is not None:
        lines.append(f"classes ({len(classes)}): {', '.join(classes) if classes else '-'}")
    for s in report["splits"]:
        lines.append("")
        what = "samples" if s["format"] == "json" else "records"
        n_files = len(s["files"])
        line = f"split {s['name']}: {s['records']} {what} in {n_files} file"
        line += "" if n_files == 1 else "s"
        line += f", {_size(s['bytes'])}"
        if s["folder"]:
            line += f"  [{s['folder']}]"
        lines.append(line)
        if s.get("missing"):
            lines.append("  ! folder not found")
        declared = s["samples_declared"]
        if declared is not None and declared != s["records"]:
            lines.append(f"  ! dataset_info.yaml says samples: {declared}")
        if s["format"] == "tfrecord":
            names = [_short(f["path"], s["folder"]) for f in s["files"]]
            width = max((len(n) for n in names), default=0)
            for name, f in zip(names, s["files"]):
                lines.append(
                    f"  {name:<{width}}  {f['records']:>8} records  {f['bytes']:>12,} bytes"
                    f"  {f['compression']}"
                )
                if f["error"]:
                    lines.append(f"    ! {f['error']}")
            if s["features"]:
                lines.append("  features:")
                kw = max(len(k) for k in s["features"])
                for key, st in s["features"].items():
                    count = (
                        str(st["values_min"])
                        if st["values_min"] == st["values_max"]
                        else f"{st['values_min']}..{st['values_max']}"
                    )
                    where = (
                        "" if st["records"] == s["records"] else f" (in {st['records']} records)"
                    )
                    values = "value" if count == "1" else "values"
                    lines.append(
                        f"    {key:<{kw}}  {st['type']:<6} {count} {values} per record{where}"
                    )
        else:
            for f in s["files"]:
                if f["error"]:
                    lines.append(f"  ! {f['path']}: {f['error']}")
        mp = s.get("modelpack")
        if mp:
            lines.append(f"  images: {mp['images']}, objects: {mp['objects']}")
            per_class = ", ".join(f"{k} {v}" for k, v in mp["objects_per_class"].items())
            lines.append(f"  objects per class: {per_class or '-'}")
            b = mp["boxes_per_image"]
            lines.append(f"  boxes per image: min {b['min']}, mean {b['mean']:g}, max {b['max']}")
            sizes = ", ".join(f"{k} x{v}" for k, v in mp["image_sizes"].items())
            lines.append(f"  image sizes: {sizes}")
            if "masks" in mp:
                lines.append(f"  masks: {mp['masks']}")
            if "tags" in mp:
                lines.append("  tags: " + ", ".join(f"{k} {v}" for k, v in mp["tags"].items()))
    return "\n".join(lines)


def _short(path: str, folder: str | None) -> str:
    """A file's name relative to its split folder, as the split line already names the folder."""
    if folder and path.startswith(folder.rstrip("/\\") + os.sep):
        return path[len(folder.rstrip("/\\")) + 1 :]
    return path


def dump_record(item: dict[str, Any]) -> str:
    """One shown record as JSON: the location on one line, then one line per feature."""
    head = {k: v for k, v in item.items() if k != "features"}
    if "features" not in item:
        return json.dumps(head, ensure_ascii=False)
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ', "features": {']
    feats = list(item["features"].items())
    for i, (key, value) in enumerate(feats):
        comma = "," if i < len(feats) - 1 else ""
        lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
    lines.append("}}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    inspector = Inspector(resolve(args.path), show=max(0, args.show))
    inspector.run()
    report = inspector.as_dict()
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_text(report))
        if inspector.shown:
            print()
            for item in inspector.shown:
                print(dump_record(item))
        for error in inspector.errors:
            print(f"error: {error}", file=sys.stderr)
    return 1 if inspector.errors else 0


__all__ = ["Inspector", "format_text", "readable_bytes"]
