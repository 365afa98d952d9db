"""``tfrecord-lite verify PATH``: read everything, check everything, say exactly where it breaks.

Every record is read with both CRCs checked and parsed as what the file holds (Example or
SequenceExample; other payloads get framing and CRC checks, and a note saying what they are);
ModelPack records are also checked against the schema, their boxes, class ids and the real image
size, and a dataset's ``dataset_info.yaml`` against its files and shard names.  Problems stream
out one line each, as found, so a long run in CI shows them early; the exit code is 1 when there
was any.  ``--json`` prints the result for scripts instead.
"""

from __future__ import annotations

import argparse
import io
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfrecord_lite.format.shards import ShardName
from tfrecord_lite.pipeline.formats.modelpack import SCHEMA
from tfrecord_lite.tools import contract
from tfrecord_lite.tools.layout import (
    KIND_NAMES,
    PATH_HELP,
    DataFile,
    Layout,
    RecordWalk,
    Split,
    display,
    read_json_sample,
    resolve,
)

_WANT = {bytes: "bytes_list", int: "int64_list", float: "float_list"}
_SINGLE = ("image", "image_name", "width", "height")
_COORDS = ("cx", "cy", "w", "h")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "verify",
        help="check every record (CRC, Example, ModelPack schema); exit 1 on any problem",
        description="Read every record with CRC checks, parse every Example and, for ModelPack "
        "data, check the schema, boxes, class ids, image sizes, sample counts and shard names. "
        "Prints one line per problem (file, record index, byte offset) and exits 1, or one OK "
        "line and exits 0.",
    )
    p.add_argument("path", help=PATH_HELP)
    p.add_argument(
        "--schema",
        choices=("auto", "modelpack", "example", "none"),
        default="auto",
        help="what records must be: 'modelpack' checks the ModelPack schema, 'example' CRCs and "
        "Example parsing, 'none' framing and CRCs only (any payload); 'auto' (default) checks "
        "ModelPack for a dataset and for files whose first record looks like one, parses "
        "Examples and SequenceExamples, and for other payloads says what it found",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument(
        "--max-problems",
        type=int,
        default=100,
        metavar="N",
        help="print at most N problem lines (all are counted; 0 = print all; default 100)",
    )
    return p


@dataclass
class Problem:
    """One finding, located as precisely as we can: file, and record index/offset when known."""

    where: str
    message: str
    record: int | None = None
    offset: int | None = None

    def __str__(self) -> str:
        if self.record is None:
            return f"{self.where}: {self.message}"
        at = f" at byte {self.offset}" if self.offset is not None else ""
        return f"{self.where}: record {self.record}{at}: {self.message}"


@dataclass
class Verifier:
    """Walks a layout, handing every problem to ``emit`` as soon as it is found."""

    layout: Layout
    schema: str = "auto"
    emit: Callable[[Problem], None] = print
    problems: int = 0
    files: int = 0
    records: int = 0
    per_split: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was found, not wrong (payload kinds)
    _names: dict[str, str] = field(default_factory=dict)
    _labels: dict[int, str] | None = None  # -f tfod: label_map.pbtxt's ids and names

    @property
    def n_classes(self) -> int | None:
        return len(self.layout.classes) if self.layout.classes is not None else None

    def report(self, problem: Problem) -> None:
        self.problems += 1
        self.emit(problem)

    def run(self) -> None:
        if self.layout.format == "tfod":
            self._labels, problems = contract.tfod_label_map(self.layout)
            for message in problems:
                self.report(Problem(display(self.layout.info_path or self.layout.given),
                                    message))
        for split in self.layout.splits:
            self.split(split)
        where = display(self.layout.info_path or self.layout.given)
        for message in contract.info_problems(self.layout, self.per_split):
            self.report(Problem(where, message))

    # -- splits ----------------------------------------------------------------------------

    def split(self, split: Split) -> None:
        where = display(self.layout.info_path or split.folder or self.layout.given)
        if split.missing:
            self.report(Problem(where, f"split {split.name!r}: folder {split.folder} not found"))
            self.per_split[split.name] = 0
            return
        if split.format == "json":
            count, clean = self.json_split(split)
        elif split.format == "coco":
            count, clean = self.coco_split(split)
        elif split.format == "edgefirst":
            count, clean = self.edgefirst_split(split)
        elif split.format == "darknet":
            count, clean = self.darknet_split(split)
        else:
            if self.layout.kind != "file":  # one file of a set is checked alone: a folder is
                for p in shard_problems(split):  # where the set is
                    self.report(p)
            count, clean = self.tfrecord_split(split, tfod=split.format == "tfod")
        self.per_split[split.name] = count
        declared = split.declared_samples
        if clean and self.layout.kind == "dataset" and declared is not None and declared != count:
            self.report(
                Problem(
                    where,
                    f"split {split.name!r}: samples is {declared} but "
                    f"{display(split.folder or '')} holds {count}",
                )
            )

    def tfrecord_split(self, split: Split, tfod: bool = False) -> tuple[int, bool]:
        """TFRecord files of ModelPack records, or (``tfod``) of TF Object Detection ones."""
        modelpack: bool | None = {"modelpack": True, "example": False, "none": False}.get(
            self.schema
        )
        if modelpack is None and self.layout.kind == "dataset":
            modelpack = not tfod
        total = 0
        clean = True
        counts: dict[str, int] = {}
        for data_file in split.files:
            count, ok, modelpack = self.tfrecord_file(data_file, modelpack, tfod)
            counts[data_file.path.name] = count
            total += count
            clean = clean and ok
        if clean:
            self.listed_files(split, counts)
        return total, clean

    def listed_files(self, split: Split, counts: dict[str, int]) -> None:
        """The converter lists each file with its records and bytes; hold it to that list."""
        block = self.layout.info.get("tfrecord_lite")
        files = block.get("files") if isinstance(block, dict) else None
        listed = files.get(split.name) if isinstance(files, dict) else None
        if not isinstance(listed, list):
            return
        where = display(self.layout.info_path or self.layout.given)
        sizes = {f.path.name: f.size for f in split.files}
        for entry in listed:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                continue
            name = entry["name"]
            if name not in counts:
                self.report(Problem(where, f"split {split.name!r}: listed file {name} is missing"))
                continue
            records, size = entry.get("records"), entry.get("bytes")
            if isinstance(records, int) and records != counts[name]:
                self.report(
                    Problem(
                        where,
                        f"split {split.name!r}: {name} listed with {records} records, "
                        f"holds {counts[name]}",
                    )
                )
            if isinstance(size, int) and size != sizes[name]:
                self.report(
                    Problem(
                        where,
                        f"split {split.name!r}: {name} listed with {size} bytes, "
                        f"is {sizes[name]} bytes",
                    )
                )

    def tfrecord_file(
        self, data_file: DataFile, modelpack: bool | None, tfod: bool = False
    ) -> tuple[int, bool, bool | None]:
        """Check one file; returns (records read, read to the end, ModelPack decision)."""
        where = display(data_file.path)
        self.files += 1
        check: Callable[[bytes, int], list[str]] | None = None
        walk = RecordWalk(data_file)
        for index, offset, data in walk:
            if index == 0:
                check, modelpack = self.record_check(data, where, modelpack, tfod)
            if check is not None:
                for message in check(data, index):
                    self.report(Problem(where, message, index, offset))
        failure = walk.failure
        if failure is not None:
            message = failure.message
            if failure.record is not None:
                message += "; stopped reading this file"
            self.report(Problem(where, message, failure.record, failure.offset))
        self.records += walk.count
        return walk.count, failure is None, modelpack

    def record_check(
        self, first: bytes, where: str, modelpack: bool | None, tfod: bool = False
    ) -> tuple[Callable[[bytes, int], list[str]] | None, bool | None]:
        """How to check each record of a file, decided from its first record: by the payload it
        holds under ``--schema auto``, as asked otherwise.  Returns (check, ModelPack decision)."""
        from tfrecord_lite.format.example import Example, SequenceExample, payload_kind

        if self.schema == "none":
            return None, False
        if self.schema == "auto" and not modelpack:
            kind = payload_kind(first)
            if kind == "SequenceExample":
                self.notes.append(f"{where}: holds tf.train.SequenceExample records")
                return _parses(SequenceExample), False
            if kind != "Example":
                what = "protobuf messages of another type" if kind == "other" else "raw bytes"
                self.notes.append(
                    f"{where}: holds {what}, not tf.train.Example: checked framing and CRCs "
                    "only (--schema none asks for just that)"
                )
                return None, False

        if modelpack is None:  # the first Example of the folder or file decides
            try:
                features = Example.FromString(first).features.feature
                modelpack = sum(k in features for k in SCHEMA) >= 4
            except Exception:  # reported by the check below
                pass
        schema_too = bool(modelpack)

        def check(data: bytes, index: int) -> list[str]:
            try:
                features = Example.FromString(data).features.feature
            except Exception as exc:  # protobuf's DecodeError, or worse on hostile bytes
                return [f"not a tf.train.Example: {exc}"]
            if tfod and self.schema != "example":
                return contract.tfod_record_problems(
                    {k: (v.WhichOneof("kind"), getattr(v, v.WhichOneof("kind")).value
                         if v.WhichOneof("kind") else []) for k, v in features.items()},
                    self._labels)
            return self.modelpack_record(features, where, index) if schema_too else []

        return check, modelpack

    # -- one ModelPack record --------------------------------------------------------------

    def modelpack_record(self, features: Any, where: str, index: int) -> list[str]:
        out: list[str] = []
        ok: dict[str, Any] = {}
        for key, kind in SCHEMA.items():
            if key not in features:
                out.append(f"missing feature {key!r}")
                continue
            got = features[key].WhichOneof("kind")
            want = _WANT[kind]
            if got is None and key in ("objects", "bboxes"):
                ok[key] = ()  # an empty list without a kind: TensorFlow reads it as empty
                continue
            if got != want:
                out.append(
                    f"feature {key!r} is {KIND_NAMES.get(got, got)}, expected {KIND_NAMES[want]}"
                )
                continue
            values = getattr(features[key], got).value
            if key in _SINGLE and len(values) != 1:
                out.append(f"feature {key!r} has {len(values)} values, expected 1")
                continue
            ok[key] = values
        objects, bboxes = ok.get("objects"), ok.get("bboxes")
        if objects is not None and bboxes is not None and len(bboxes) != 4 * len(objects):
            out.append(
                f"{len(bboxes)} bboxes values for {len(objects)} objects (expected "
                f"{4 * len(objects)})"
            )
        if bboxes is not None:
            out += box_problems(bboxes)
        if objects is not None:
            out += class_problems(objects, self.n_classes)
        if "image" in ok:
            out += size_problems(ok["image"][0], ok.get("width"), ok.get("height"))
            out += contract.image_problems(ok["image"][0])
        if "image_name" in ok:
            name = ok["image_name"][0].decode("utf-8", "replace")
            if not name:
                out.append("image_name is empty")
            else:
                here = f"{where} record {index}"
                first = self._names.setdefault(name, here)
                if first != here:
                    out.append(f"image_name {name!r} already used by {first}")
        return out

    # -- JSON format -----------------------------------------------------------------------

    def edgefirst_split(self, split: Split) -> tuple[int, bool]:
        """The Arrow file is an Arrow IPC file and the images folder holds images; its rows are
        for Au-Zone's client to judge (``edgefirst_client.read_dataset_metadata``), which the
        core install does not have, so the split's size is taken as declared."""
        assert split.annotation_file is not None and split.folder is not None
        self.files += 1
        with open(split.annotation_file, "rb") as f:
            if f.read(6) != b"ARROW1":
                self.report(Problem(display(split.annotation_file), "not an Arrow IPC file"))
        if not any(p.is_file() for p in split.folder.iterdir()):
            self.report(Problem(display(split.folder), "the images folder is empty"))
        count = split.declared_samples or 0
        self.records += count
        return count, False

    def coco_split(self, split: Split) -> tuple[int, bool]:
        assert split.annotation_file is not None and split.folder is not None
        self.files += 1
        count, problems = contract.coco_problems(split.annotation_file, split.folder,
                                                 self.layout.classes)
        self.records += count
        for message in problems:
            self.report(Problem(display(split.annotation_file), message))
        return count, not problems

    def darknet_split(self, split: Split) -> tuple[int, bool]:
        self.files += len(split.images)
        self.records += len(split.images)
        for path, message in contract.darknet_split_problems(split, self.layout.classes):
            self.report(Problem(display(path), message))
        return len(split.images), True

    def json_split(self, split: Split) -> tuple[int, bool]:
        for path in split.json_files:
            self.files += 1
            self.records += 1
            sample = read_json_sample(path)
            for message in contract.json_sample_problems(sample, self.layout.classes):
                self.report(Problem(display(path), message))
        return len(split.json_files), True


def _parses(message: Any) -> Callable[[bytes, int], list[str]]:
    """A record check: the bytes parse as ``message``."""

    def check(data: bytes, index: int) -> list[str]:
        try:
            message.FromString(data)
        except Exception as exc:  # protobuf's DecodeError, or worse
            return [f"not a tf.train.{message.__name__}: {exc}"]
        return []

    return check


def _num(v: float) -> str:
    """A float32 as written (1.2, not 1.2000000476837158)."""
    return f"{v:.7g}"


def box_problems(flat: Iterable[float], per_box: int = 4) -> list[str]:
    """One message per bbox value outside [0, 1] (NaN included)."""
    out = []
    for i, v in enumerate(flat):
        if not 0.0 <= v <= 1.0:
            out.append(
                f"bbox {i // per_box} value {_num(v)} outside [0, 1] ({_COORDS[i % per_box]})"
            )
    return out


def class_problems(ids: Iterable[int], n_classes: int | None) -> list[str]:
    out = []
    for j, c in enumerate(ids):
        if c < 0 or (n_classes is not None and c >= n_classes):
            limit = f"[0, {n_classes})" if n_classes is not None else "0 or more"
            out.append(f"object {j} class id {c} not in {limit}")
    return out


def image_size(data: bytes | Path) -> tuple[int, int] | None:
    """(width, height) from the image header, without decoding pixels; None if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(data if isinstance(data, Path) else io.BytesIO(data)) as im:
            return im.size
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


def size_problems(image: bytes, width: Any, height: Any) -> list[str]:
    real = image_size(image)
    if real is None:
        return [
            f"image bytes are not an image Pillow can read ({len(image)} bytes: "
            f"{bytes(image[:8]).hex()}...)"
        ]
    if width is None or height is None:
        return []
    stated = (int(width[0]), int(height[0]))
    if stated != real:
        return [f"width x height is {stated[0]}x{stated[1]} but the image is {real[0]}x{real[1]}"]
    return []


def shard_problems(split: Split) -> list[Problem]:
    """Shard names in a split must agree on ``-of-N``, number N files, and leave no gap."""
    out: list[Problem] = []
    where = display(split.folder) if split.folder is not None else split.name
    named = [f for f in split.files if f.shard is not None]
    if not named:
        return out
    if len(split.files) > 1:
        for f in split.files:
            if f.shard is None:
                out.append(Problem(display(f.path), "not a shard name (prefix-NNNNN-of-NNNNN)"))
    groups: dict[tuple[str, str], list[ShardName]] = defaultdict(list)
    for f in named:
        assert f.shard is not None
        groups[(f.shard.prefix, f.shard.suffix)].append(f.shard)
    for (prefix, suffix), shards in sorted(groups.items()):
        counts = sorted({s.count for s in shards})
        if len(counts) > 1:
            sets = ", ".join(f"-of-{c:05d}" for c in counts)
            out.append(Problem(where, f"{prefix} shards disagree on the total: {sets}"))
        total = counts[-1]
        if len(shards) != total:
            out.append(
                Problem(
                    where,
                    f"{prefix} shard names say -of-{total:05d} but there are {len(shards)} files",
                )
            )
        indices = [s.index for s in shards]
        for i in sorted(set(range(total)) - set(indices)):
            out.append(Problem(where, f"missing shard {ShardName(prefix, i, total, suffix)}"))
        for i in sorted({i for i in indices if i >= total}):
            out.append(Problem(where, f"shard index {i} is not below its total {total}"))
    return out


def run(args: argparse.Namespace) -> int:
    limit = args.max_problems
    started = time.perf_counter()
    layout = resolve(args.path)
    shown = 0
    found: list[Problem] = []

    def emit(problem: Problem) -> None:
        nonlocal shown
        if args.json:
            found.append(problem)
            return
        if limit <= 0 or shown < limit:
            print(problem, flush=True)
        elif shown == limit:
            print(f"... more problems not shown (--max-problems {limit}; 0 shows all)")
        shown += 1

    verifier = Verifier(layout, schema=args.schema, emit=emit)
    verifier.run()
    seconds = time.perf_counter() - started
    if args.json:
        result = {
            "path": display(layout.given),
            "ok": not verifier.problems,
            "problems": [vars(p) for p in found],
            "notes": verifier.notes,
            "files": verifier.files,
            "records": verifier.records,
            "splits": verifier.per_split,
            "skipped": [display(p) for s in layout.splits for p in s.skipped],
            "seconds": round(seconds, 3),
        }
        print(json.dumps(result, indent=2))
        return 1 if verifier.problems else 0
    for note in verifier.notes:
        print(f"note: {note}")
    for split in layout.splits:
        if split.skipped:
            names = ", ".join(p.name for p in split.skipped[:8])
            more = f" and {len(split.skipped) - 8} more" if len(split.skipped) > 8 else ""
            print(f"note: skipped (not TFRecord by name or first bytes): {names}{more}")
    splits = ", ".join(f"{k} {v}" for k, v in verifier.per_split.items())
    counts = f"{verifier.records} records in {verifier.files} file"
    counts += "" if verifier.files == 1 else "s"
    if len(verifier.per_split) > 1 or layout.kind == "dataset":
        counts += f" ({splits})"
    if verifier.problems:
        plural = "s" if verifier.problems != 1 else ""
        print(f"FAILED: {verifier.problems} problem{plural}; {counts}; {seconds:.2f} s")
        return 1
    print(f"OK: {counts}; {seconds:.2f} s")
    return 0
