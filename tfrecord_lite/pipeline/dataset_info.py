"""dataset_info.yaml: the ModelPack keys, plus our own block of facts about the run."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FILENAME = "dataset_info.yaml"


class _Quoted(str):
    """A string always written double-quoted, so names like ``no``, ``null`` or ``1e3`` read back
    as the same strings in every YAML reader (1.1 and 1.2 alike)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    _Quoted, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"')
)


@dataclass
class SplitInfo:
    """What one split folder holds."""

    folder: str  # e.g. "tfrecord_train": the split's images (and annotations, unless below)
    samples: int
    files: list[dict[str, Any]] = field(default_factory=list)  # {name, records, bytes}
    annotations: str | None = None  # where the annotations are when not in ``folder`` (COCO)


def render(
    classes: Sequence[str],
    train: SplitInfo,
    validation: SplitInfo,
    base: str,
    extra: dict[str, Any],
    kind: str | None = None,
) -> str:
    """The YAML text. ``base`` is the folder the split paths hang under (absolute output folder,
    or the user's ``--path-prefix``).  ``kind`` is ModelPack's reader ``type`` (``tfrecord`` or
    ``darknet``; none for the JSON format).  A TFRecord split carries ModelPack 2.2's ``path``
    beside the seed article's ``annotations``/``images``/``samples``: each reader finds its own
    keys."""
    base = base.rstrip("/") or "/"

    def under(name: str) -> str:
        return f"{base}/{name}" if base != "/" else f"/{name}"

    def split(info: SplitInfo) -> dict[str, Any]:
        where = under(info.folder)
        keys = {"path": where} if kind == "tfrecord" else {}
        return {**keys, "annotations": under(info.annotations) if info.annotations else where,
                "images": where, "samples": info.samples}

    doc = {
        **({"type": kind} if kind else {}),
        "classes": [_Quoted(c) for c in classes],
        "train": split(train),
        "validation": split(validation),
        "tfrecord_lite": {
            **extra,
            "files": {"train": train.files, "validation": validation.files},
        },
    }
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
