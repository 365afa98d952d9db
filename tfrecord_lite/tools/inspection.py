"""``tfrecord-lite inspect PATH``: what a TFRecord file, a folder of shards or a dataset holds.

One streaming pass: per split and file the record count, size, compression and payload kind
(Example, SequenceExample, another protobuf, not protobuf); every feature's and feature list's
types and values per record; and for ModelPack data the images, objects per class, boxes per
image and image sizes.  ``--show N`` prints records readably, ``--json`` the report for scripts,
``--full`` every value exactly (bytes whole, floats unrounded, lists uncut).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tfrecord_lite.tools.layout import (
    KIND_NAMES,
    PATH_HELP,
    Layout,
    RecordWalk,
    Split,
    display,
    read_json_sample,
    resolve,
)

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
    p.add_argument("path", help=PATH_HELP)
    p.add_argument(
        "--show",
        type=int,
        default=0,
        metavar="N",
        help="also print the first N records as readable JSON",
    )
    p.add_argument("--json", action="store_true", help="print the whole report as JSON")
    p.add_argument(
        "--full",
        action="store_true",
        help="show records losslessly: bytes whole (UTF-8 text as a string, anything else as "
        '{"base64": ...}), floats unrounded, every value of every list',
    )
    return p


@dataclass
class CountStats:
    """A feature's (or a feature list's) types, and how many values (steps) it holds per
    record where present."""

    unit: str = "values"
    types: Counter[str] = field(default_factory=Counter)
    records: int = 0
    min: int = 0
    max: int = 0

    def add(self, kinds: Iterable[str], n: int) -> None:
        if self.records == 0 or n < self.min:
            self.min = n
        self.max = max(self.max, n)
        self.records += 1
        self.types.update(kinds)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "|".join(sorted(self.types)),
            "records": self.records,
            f"{self.unit}_min": self.min,
            f"{self.unit}_max": self.max,
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
    payload: str | None = None  # what the first record holds (example.payload_kind)
    unparsed: int = 0  # records that did not parse as the first one's kind


@dataclass
class SplitReport:
    name: str
    format: str
    folder: str | None
    declared: int | None
    files: list[FileReport] = field(default_factory=list)
    features: dict[str, CountStats] = field(default_factory=dict)
    feature_lists: dict[str, CountStats] = field(default_factory=dict)
    labels: Labels = field(default_factory=Labels)
    missing: bool = False
    skipped: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return sum(f.records for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)


class Inspector:
    """Builds the report in one pass, keeping at most ``show`` records aside."""

    def __init__(self, layout: Layout, show: int = 0, full: bool = False) -> None:
        self.layout = layout
        self.show = show
        self.full = full
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
                skipped=[display(p) for p in split.skipped],
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
        from tfrecord_lite.format.example import Example, SequenceExample, payload_kind

        for data_file in split.files:
            fr = FileReport(display(data_file.path), 0, data_file.size, data_file.compression_name)
            report.files.append(fr)
            walk = RecordWalk(data_file)
            for index, offset, data in walk:
                fr.records = index + 1
                if fr.payload is None:
                    fr.payload = payload_kind(data)
                feats = lists = None
                try:
                    if fr.payload == "Example":
                        feats = Example.FromString(data).features.feature
                    elif fr.payload == "SequenceExample":
                        seq = SequenceExample.FromString(data)
                        feats = seq.context.feature
                        lists = seq.feature_lists.feature_list
                except Exception:  # protobuf's DecodeError, or worse
                    fr.unparsed += 1
                if feats is not None:
                    self._count(report, feats, lists)
                if len(self.shown) < self.show:
                    self.shown.append(
                        _shown(split, fr.path, index, offset, fr.payload, data, self.full)
                    )
            failure = walk.failure
            if failure is not None and failure.record is None:
                fr.error = failure.message
            elif failure is not None:
                fr.error = f"record {failure.record} at byte {failure.offset}: {failure.message}"

    @staticmethod
    def _count(report: SplitReport, feats: Any, lists: Any) -> None:
        features = report.features
        for key, feat in feats.items():
            kind = feat.WhichOneof("kind")
            n = len(getattr(feat, kind).value) if kind else 0
            stats = features.get(key)
            if stats is None:
                stats = features[key] = CountStats()
            stats.add((KIND_NAMES[kind],), n)
        if lists is not None:
            for key, fl in lists.items():
                kinds = {KIND_NAMES[f.WhichOneof("kind")] for f in fl.feature}
                lists_stats = report.feature_lists.setdefault(key, CountStats("steps"))
                lists_stats.add(kinds or {"empty"}, len(fl.feature))
        if "objects" in feats and "width" in feats and "height" in feats:
            w = feats["width"].int64_list.value
            h = feats["height"].int64_list.value
            ids = list(feats["objects"].int64_list.value)
            report.labels.add(w[0] if w else 0, h[0] if h else 0, ids)

    def _darknet_split(self, split: Split, report: SplitReport) -> None:
        """Each image and its ``<stem>.txt``: one sample."""
        from tfrecord_lite.pipeline.formats.darknet_format import read_labels
        from tfrecord_lite.tools.verify import image_size

        for path in split.images:
            label = path.with_suffix(".txt")
            size = path.stat().st_size + (label.stat().st_size if label.is_file() else 0)
            report.files.append(FileReport(display(path), 1, size, "none"))
            w, h = image_size(path) or (0, 0)
            report.labels.add(w, h, [box[0] for box in read_labels(label)])

    def _json_split(self, split: Split, report: SplitReport) -> None:
        labels = report.labels
        for path in split.json_files:
            sample = read_json_sample(path)
            fr = FileReport(display(path), 1, sample.size, "none")
            report.files.append(fr)
            doc = sample.doc
            if sample.error is not None:
                fr.error = f"cannot read: {sample.error}"
                continue
            try:
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
            if s.format in ("tfrecord", "tfod"):  # both TFRecord files of Examples
                split["features"] = {k: v.as_dict() for k, v in sorted(s.features.items())}
                if s.feature_lists:
                    split["feature_lists"] = {
                        k: v.as_dict() for k, v in sorted(s.feature_lists.items())
                    }
            if s.skipped:
                split["skipped"] = s.skipped
            if s.labels.images:
                split["modelpack"] = s.labels.as_dict(layout.classes)
            out["splits"].append(split)
        out["errors"] = self.errors
        if self.show:
            out["shown"] = self.shown
        return out


def _shown(
    split: Split, path: str, index: int, offset: int, payload: str | None, data: bytes, full: bool
) -> dict[str, Any]:
    """One record as JSON: readable (short bytes as text, long ones as length + hex prefix,
    floats to 7 digits, lists cut), or with ``full`` lossless."""
    from tfrecord_lite.format.example import Example, SequenceExample

    out: dict[str, Any] = {
        "split": split.name,
        "file": path,
        "record": index,
        "offset": offset,
        "payload": payload,
    }
    try:
        if payload == "Example":
            out["features"] = _rendered(Example.FromString(data).features.feature, full)
            return out
        if payload == "SequenceExample":
            seq = SequenceExample.FromString(data)
            out["features"] = _rendered(seq.context.feature, full)
            out["feature_lists"] = {
                key: [_feature_values(f, full) for f in fl.feature]
                for key, fl in sorted(seq.feature_lists.feature_list.items())
            }
            return out
    except Exception as exc:  # protobuf's DecodeError, or worse
        out["error"] = f"not a tf.train.{payload}: {exc}"
    out["bytes"] = _one_bytes(data, full)
    return out


def _rendered(feats: Any, full: bool) -> dict[str, Any]:
    return {key: _feature_values(feats[key], full) for key in sorted(feats)}


def _feature_values(feat: Any, full: bool) -> dict[str, Any]:
    kind = feat.WhichOneof("kind")
    values = list(getattr(feat, kind).value) if kind else []
    shown = values if full else values[:_SHOW_VALUES]
    if kind == "bytes_list":
        rendered: list[Any] = [_one_bytes(v, full) for v in shown]
    elif kind == "float_list" and not full:
        rendered = [float(f"{v:.7g}") for v in shown]
    else:
        rendered = shown  # ints, and floats exactly (each float32 is a double exactly)
    if len(values) > len(shown):
        rendered.append(f"... {len(values) - len(shown)} more")
    return {"type": KIND_NAMES[kind], "values": rendered}


def _printable(value: bytes) -> str | None:
    """The bytes as text when they are printable UTF-8."""
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def _one_bytes(value: bytes, full: bool) -> Any:
    """Readable bytes, or with ``full`` exactly: printable UTF-8 as a string, else base64."""
    if not full:
        return readable_bytes(value)
    text = _printable(value)
    return text if text is not None else {"base64": base64.b64encode(value).decode("ascii")}


def readable_bytes(value: bytes) -> str:
    """Short utf-8 as text; anything else as ``<N bytes: hexprefix...>``."""
    text = _printable(value) if len(value) <= _SHORT_BYTES else None
    if text is not None:
        return text
    hex_prefix = value[:8].hex()
    return f"<{len(value)} bytes: {hex_prefix}{'...' if len(value) > 8 else ''}>"


def _size(n: int) -> str:
    """Binary units, as --partition (MiB) and the converter's summary use them."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
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
        if s["format"] in ("tfrecord", "tfod"):
            names = [_short(f["path"], s["folder"]) for f in s["files"]]
            width = max((len(n) for n in names), default=0)
            for name, f in zip(names, s["files"]):
                payload = f"  {f['payload']}" if f["payload"] else ""
                lines.append(
                    f"  {name:<{width}}  {f['records']:>8} records  {f['bytes']:>12,} bytes"
                    f"  {f['compression']:<4}{payload}"
                )
                if f["unparsed"]:
                    lines.append(f"    ! {f['unparsed']} records do not parse as {f['payload']}")
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
            if s.get("feature_lists"):
                lines.append("  feature lists:")
                kw = max(len(k) for k in s["feature_lists"])
                for key, st in s["feature_lists"].items():
                    lo, hi = st["steps_min"], st["steps_max"]
                    count = str(lo) if lo == hi else f"{lo}..{hi}"
                    where = (
                        "" if st["records"] == s["records"] else f" (in {st['records']} records)"
                    )
                    lines.append(
                        f"    {key:<{kw}}  {st['type']:<6} {count} steps per record{where}"
                    )
            if s.get("skipped"):
                names = [_short(p, s["folder"]) for p in s["skipped"]]
                more = f" and {len(names) - 8} more" if len(names) > 8 else ""
                shown = ", ".join(names[:8]) + more
                lines.append(f"  skipped (not TFRecord by name or first bytes): {shown}")
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
    head = {k: v for k, v in item.items() if k not in ("features", "feature_lists")}
    if "features" not in item:
        return json.dumps(head, ensure_ascii=False)
    lines = [json.dumps(head, ensure_ascii=False)[:-1]]
    for block in ("features", "feature_lists"):
        if block not in item:
            continue
        lines[-1] += f', "{block}": {{'
        entries = list(item[block].items())
        for i, (key, value) in enumerate(entries):
            comma = "," if i < len(entries) - 1 else ""
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}{comma}")
        lines.append("}")
    lines[-1] += "}"
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    inspector = Inspector(resolve(args.path), show=max(0, args.show), full=args.full)
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
