"""What a PATH given to inspect/verify/preview is: one TFRecord file, a folder of shards, or a
dataset (``dataset_info.yaml`` or the folder holding it), in TFRecord or JSON format.

One resolver for the three commands, so they agree on which files belong to which split, how
each file is compressed, and which class names apply; and one way to read a file's records
(``RecordWalk``) and a JSON sample (``read_json_sample``), so they agree on where reading fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tfrecord_lite.format.crc import masked_crc
from tfrecord_lite.format.errors import RecordError
from tfrecord_lite.format.records import FRAME_OVERHEAD, detect_compression, tf_record_iterator
from tfrecord_lite.format.shards import ShardName
from tfrecord_lite.pipeline.dataset_info import FILENAME
from tfrecord_lite.pipeline.errors import InputError

__all__ = [
    "DataFile",
    "Split",
    "Layout",
    "detect_compression",
    "resolve",
    "iter_records",
    "RecordWalk",
    "ReadFailure",
    "JsonSample",
    "read_json_sample",
    "display",
]

_TFRECORD_SUFFIXES = (".tfrecord", ".tfrecords", ".tfrec", ".record", ".records", ".tfr")
_COMPRESSED_SUFFIXES = ("", ".gz", ".gzip", ".zz", ".zlib")
#: a Feature's kind (``WhichOneof("kind")``, None when unset) as inspect and verify name it
KIND_NAMES = {"bytes_list": "bytes", "int64_list": "int64", "float_list": "float", None: "empty"}


@dataclass
class DataFile:
    """One TFRecord file (``path`` as shown to the user) and how it is stored."""

    path: Path
    size: int
    compression: str | None
    shard: ShardName | None

    @property
    def compression_name(self) -> str:
        return (self.compression or "none").lower()


@dataclass
class Split:
    """One split: its TFRecord files (TFRecord format) or its ``.json`` files (JSON format)."""

    name: str
    folder: Path | None
    format: str  # "tfrecord", "json", "darknet", "coco", "edgefirst" or "tfod"
    files: list[DataFile] = field(default_factory=list)
    json_files: list[Path] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)  # Darknet format: the split's images
    declared_samples: int | None = None
    missing: bool = False  # the folder dataset_info.yaml names does not exist
    skipped: list[Path] = field(default_factory=list)  # files of the folder that are not records
    annotation_file: Path | None = None  # COCO's instances_*.json, EdgeFirst's <name>.arrow


@dataclass
class Layout:
    """What a PATH holds.  ``kind`` is ``"file"``, ``"folder"`` or ``"dataset"``."""

    given: Path
    kind: str
    splits: list[Split]
    info_path: Path | None = None
    classes: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def format(self) -> str:
        formats = {s.format for s in self.splits}
        return formats.pop() if len(formats) == 1 else "mixed"

    def split(self, name: str) -> Split:
        for s in self.splits:
            if s.name == name or (s.folder is not None and s.folder.name == name):
                return s
        aliases = {"val": "validation", "validation": "val", "test": "testing"}
        for s in self.splits:
            if s.name == aliases.get(name):
                return s
        names = ", ".join(s.name for s in self.splits) or "none"
        raise InputError(str(self.given), 0, f"no split {name!r} (splits: {names})")


def display(path: os.PathLike[str] | str) -> str:
    """A path for messages: as built from what the user typed (kept short, never resolved)."""
    return os.fspath(path)


def _data_file(path: Path) -> DataFile:
    with open(path, "rb") as f:
        head = f.read(12)
        size = os.fstat(f.fileno()).st_size
    return DataFile(path, size, detect_compression(head), ShardName.parse(path.name))


_NAME_HINTS = ("tfrecord", "tfrec", "tfevents")  # TFX, YDF, tf.summary event files...
_NOT_RECORDS = frozenset(
    ".jpg .jpeg .png .gif .bmp .webp .tif .tiff .json .jsonl .yaml .yml .txt .md .csv .tsv "
    ".index .manifest .py .npy .npz .parquet .zip .tar .pdf .html .xml .pbtxt .log".split()
)  # never sniffed: images, text and the index files beside records


def _looks_like_tfrecord(path: Path) -> bool:
    """A TFRecord file by its name (a shard name, ``tfrecord``/``tfrec``/``tfevents`` anywhere
    in it, a TFRecord suffix, compressed or not), else by its first bytes: a record header
    whose length CRC holds, plainly or once inflated."""
    name = path.name
    lower = name.lower()
    if ShardName.parse(name) is not None or any(hint in lower for hint in _NAME_HINTS):
        return True
    if any(lower.endswith(s + c) for s in _TFRECORD_SUFFIXES for c in _COMPRESSED_SUFFIXES):
        return True
    if os.path.splitext(lower)[1] in _NOT_RECORDS:
        return False
    return _starts_with_a_record(path)


def _starts_with_a_record(path: Path) -> bool:
    import zlib

    try:
        with open(path, "rb") as f:
            head = f.read(1024)
    except OSError:
        return False
    kind = detect_compression(head[:12])
    if kind is not None:
        try:
            head = zlib.decompressobj(31 if kind == "GZIP" else 15).decompress(head, 12)
        except zlib.error:
            return False
    return len(head) >= 12 and masked_crc(head[:8]) == int.from_bytes(head[8:12], "little")


def _listing(folder: Path) -> tuple[list[Path], list[Path], list[Path]]:
    """(TFRecord files, JSON sample files, other files skipped) in a folder, sorted;
    hidden/temporary files are left out silently."""
    records: list[Path] = []
    jsons: list[Path] = []
    skipped: list[Path] = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            path = folder / entry.name
            if entry.name.lower().endswith(".json"):
                jsons.append(path)
            elif _looks_like_tfrecord(path):
                records.append(path)
            else:
                skipped.append(path)
    return sorted(records), sorted(jsons), sorted(skipped)


DARKNET_IMAGES = (".jpg", ".jpeg", ".png")  # what Darknet readers list, in any letter case


def _darknet_split(name: str, folder: Path, declared: int | None = None) -> Split:
    images = sorted(p for p in folder.iterdir() if p.suffix.lower() in DARKNET_IMAGES
                    and not p.name.startswith("."))
    return Split(name, folder, "darknet", images=images, declared_samples=declared)


def _folder_split(name: str, folder: Path, declared: int | None = None) -> Split:
    if folder.name.startswith("darknet_"):
        return _darknet_split(name, folder, declared)
    records, jsons, skipped = _listing(folder)
    if not records and (jsons or folder.name.startswith("json_")):
        return Split(name, folder, "json", json_files=jsons, declared_samples=declared)
    return Split(
        name,
        folder,
        "tfrecord",
        files=[_data_file(p) for p in records],
        declared_samples=declared,
        skipped=[p for p in skipped + jsons if not p.name.endswith(".index")],
    )


def _load_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise InputError(str(path), 0, f"not valid YAML: {exc}") from exc
    except OSError as exc:
        raise InputError(str(path), 0, f"cannot read: {exc.strerror or exc}") from exc
    if not isinstance(data, dict):
        raise InputError(str(path), 0, "dataset_info.yaml must hold a mapping", value=data)
    return data


def _classes(raw: Any) -> list[str] | None:
    """``classes`` as a list (index = id); a mapping ``{id: name}`` is accepted too."""
    if isinstance(raw, list):
        return [str(c) for c in raw]
    if isinstance(raw, dict):
        try:
            ids = {int(k): str(v) for k, v in raw.items()}
        except (TypeError, ValueError):
            return None
        return [ids.get(i, f"#{i}") for i in range(max(ids) + 1)] if ids else []
    return None


def _split_folder(info_path: Path, raw: dict[str, Any]) -> Path | None:
    """The split's folder: the path written in the yaml, or (when that path was rewritten with
    a prefix for another machine) the folder of the same name next to the yaml file."""
    target = raw.get("annotations") or raw.get("images")
    if not isinstance(target, str) or not target:
        return None
    written = Path(target)
    beside = info_path.parent / written.name
    if beside.is_dir() and (not written.is_dir() or _same(beside, written)):
        return beside  # keeps paths in messages as short as the user typed them
    if not written.is_absolute():
        relative = info_path.parent / written
        if relative.is_dir():
            return relative
    return written if written.is_dir() else beside


def _beside(info_path: Path, written: str, parts: int) -> Path:
    """A path the yaml names: as written if it exists, else its last ``parts`` parts next to
    the yaml (a dataset moved, or written with --path-prefix for another machine)."""
    path = Path(written)
    if not path.is_absolute():
        path = info_path.parent / path
    if path.exists():
        return path
    return info_path.parent.joinpath(*Path(written).parts[-parts:])


def _annotated_split(info_path: Path, name: str, raw: dict[str, Any], declared: int | None
                     ) -> Split:
    """A split whose annotations are one file beside an images folder: COCO's
    ``annotations/instances_*.json``, or the EdgeFirst Dataset Format's ``<name>.arrow``."""
    coco = raw["annotations"].endswith(".json")
    annotations = _beside(info_path, raw["annotations"], 2 if coco else 1)
    images = raw.get("images")
    folder = _beside(info_path, images, 1) if isinstance(images, str) else None
    missing = not annotations.is_file() or folder is None or not folder.is_dir()
    return Split(name, folder, "coco" if coco else "edgefirst", declared_samples=declared,
                 missing=missing, annotation_file=annotations)


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _dataset(info_path: Path) -> Layout:
    info = _load_yaml(info_path)
    splits: list[Split] = []
    for key, raw in info.items():
        if not isinstance(raw, dict) or not ({"annotations", "images"} & raw.keys()):
            continue  # classes, the converter's own block, future keys
        samples = raw.get("samples")
        declared = samples if isinstance(samples, int) and not isinstance(samples, bool) else None
        annotations = raw.get("annotations")
        if isinstance(annotations, str) and annotations.endswith((".json", ".arrow")):
            splits.append(_annotated_split(info_path, str(key), raw, declared))  # COCO, EdgeFirst
            continue
        folder = _split_folder(info_path, raw)
        darknet = info.get("type") == "darknet"
        if folder is None or not folder.is_dir():
            guess = "json" if folder is not None and folder.name.startswith("json_") else "tfrecord"
            guess = "darknet" if darknet else guess
            splits.append(Split(str(key), folder, guess, declared_samples=declared, missing=True))
        elif darknet:
            splits.append(_darknet_split(str(key), folder, declared))
        else:
            split = _folder_split(str(key), folder, declared)
            if split.format == "tfrecord" and _converter_format(info) == "tfod":
                split.format = "tfod"  # TF Object Detection Examples, checked by their contract
            splits.append(split)
    return Layout(
        given=info_path,
        kind="dataset",
        splits=splits,
        info_path=info_path,
        classes=_classes(info.get("classes")),
        info=info,
    )


def _converter_format(info: dict) -> str | None:
    """The ``-f`` the converter wrote a dataset with, from its own block."""
    block = info.get("tfrecord_lite")
    return block.get("format") if isinstance(block, dict) else None


def _nearby_classes(folder: Path) -> list[str] | None:
    """Class names from a ``dataset_info.yaml`` one level up, for a split folder given alone."""
    candidate = folder.parent / FILENAME
    if not candidate.is_file():
        return None
    try:
        return _classes(_load_yaml(candidate).get("classes"))
    except InputError:
        return None


#: what the ``path`` argument of inspect, verify and preview may name (what ``resolve`` takes)
PATH_HELP = "a TFRecord file, a folder of shards, or a dataset_info.yaml (or the dataset " \
    "folder holding it)"


def resolve(path: str | os.PathLike[str]) -> Layout:
    """Find out what ``path`` is; raises ``InputError`` when it is nothing we can read."""
    given = Path(path)
    if given.is_dir():
        info = given / FILENAME
        if info.is_file():
            return _dataset(info)
        split = _folder_split(_folder_split_name(given), given)
        if split.format == "tfrecord" and not split.files and not split.json_files:
            names = ", ".join(p.name for p in split.skipped[:5])
            more = f" (and {len(split.skipped) - 5} more)" if len(split.skipped) > 5 else ""
            seen = f"; skipped {names}{more}: not TFRecord by name or first bytes" if names else ""
            raise InputError(
                str(given), 0, f"no TFRecord files, JSON samples or dataset_info.yaml here{seen}"
            )
        return Layout(given, "folder", [split], classes=_nearby_classes(given.resolve()))
    if given.is_file():
        if given.suffix.lower() in (".yaml", ".yml"):
            return _dataset(given)
        if given.suffix.lower() == ".json":
            split = Split(given.stem, given.parent, "json", json_files=[given])
        else:
            data_file = _data_file(given)
            name = data_file.shard.prefix if data_file.shard else given.name
            split = Split(name, given.parent, "tfrecord", files=[data_file])
        return Layout(given, "file", [split], classes=_nearby_classes(given.resolve().parent))
    raise InputError(str(given), 0, "no such file or folder")


def _folder_split_name(folder: Path) -> str:
    """``tfrecord_train`` -> ``train``: the split a converter folder holds."""
    name = folder.resolve().name
    for prefix in ("tfrecord_", "json_", "darknet_", "tfod_"):
        if name.startswith(prefix) and len(name) > len(prefix):
            return name[len(prefix) :]
    return name


def iter_records(data_file: DataFile, verify: bool = True) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(index, byte offset, record)``; offsets are in the uncompressed stream.

    Raises ``RecordError`` (CRC, truncation, corrupt compression) where the file stops making
    sense; the caller knows the failing record's index as the count yielded so far.
    """
    offset = 0
    for index, data in enumerate(
        tf_record_iterator(data_file.path, data_file.compression, verify=verify)
    ):
        yield index, offset, data
        offset += len(data) + FRAME_OVERHEAD


@dataclass(frozen=True)
class ReadFailure:
    """Why a file's records stopped: at ``record`` (and byte ``offset``), or with ``record``
    None when the file as a whole cannot be read or is not TFRecord."""

    message: str
    record: int | None = None
    offset: int | None = None


@dataclass
class RecordWalk:
    """``iter_records`` that ends quietly where the file stops making sense, keeping why in
    ``failure``: verify and inspect read files alike and word the failure each their own way."""

    data_file: DataFile
    count: int = 0  # records read
    failure: ReadFailure | None = None

    def __iter__(self) -> Iterator[tuple[int, int, bytes]]:
        try:
            for index, offset, data in iter_records(self.data_file):
                self.count = index + 1
                yield index, offset, data
        except RecordError as exc:
            looks_like = getattr(exc, "looks_like", None)
            if looks_like and not self.count:
                self.failure = ReadFailure(f"not a TFRecord file: it looks like {looks_like}")
            else:
                self.failure = ReadFailure(f"{exc.check}: {exc.detail}", self.count, exc.offset)
        except OSError as exc:
            self.failure = ReadFailure(f"cannot read: {exc.strerror or exc}")


@dataclass
class JsonSample:
    """One JSON-format sample file, read and parsed; ``error`` says why not when it could not
    be (``size`` is what was read)."""

    path: Path
    size: int = 0
    doc: Any = None
    error: OSError | ValueError | None = None


def read_json_sample(path: Path) -> JsonSample:
    sample = JsonSample(path)
    try:
        raw = path.read_bytes()
        sample.size = len(raw)
        sample.doc = json.loads(raw)
    except (OSError, ValueError) as exc:
        sample.error = exc
    return sample
