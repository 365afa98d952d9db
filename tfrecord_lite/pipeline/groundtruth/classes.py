"""The class table: union of per-line class maps, classes keyed by name, classes file.

Ground Truth writes on each line only the classes present on that line, keyed by the job's class
id, so the dataset's class list has to be assembled from all lines (or fixed by a file shared
between datasets so they agree on indices).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tfrecord_lite.pipeline.errors import InputError, problem


def class_id(value: object) -> int | None:
    """A class id as Ground Truth writes it: an int, or a string / float holding one."""
    if type(value) is int:
        return value if value >= 0 else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit() and value.strip().isascii():
        return int(value.strip())
    return None


def class_name(value: object) -> str | None:
    """A usable class name: a non-empty string, surrounding whitespace removed."""
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def parse_class_map(raw: object, what: str = "class-map") -> dict[int, str]:
    """Turn ``{"<id>": "<name>"}`` into ``{id: name}``; anything else is an InputError."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise problem(f"{what} is not an object", value=raw,
                      hint='expected {"<class id>": "<class name>", ...}', reason="bad-label")
    result = {}
    for key, name in raw.items():
        cid, cname = class_id(key), class_name(name)
        if cid is None or cname is None:
            raise problem(f"{what} entry is not '<id>: <name>'",
                          value={key: name}, hint="class ids are non-negative integers and "
                          "names non-empty strings", reason="bad-label")
        result[cid] = cname
    return result


class ClassMaps:
    """``parse_class_map`` for one read of a manifest, remembering the last map: consecutive
    lines usually repeat it, and an equal map then costs one comparison instead of a parse
    (1.8 -> 0.15 us a line).  Equal maps get the same dict back: callers must not modify it."""

    __slots__ = ("_raw", "_result")

    def __init__(self) -> None:
        self._raw: dict | None = None
        self._result: dict[int, str] = {}

    def parse(self, raw: object, what: str = "class-map") -> dict[int, str]:
        if type(raw) is dict and type(self._raw) is dict and raw == self._raw:
            return self._result
        result = parse_class_map(raw, what)
        if type(raw) is dict:
            self._raw, self._result = raw, result
        return result


@dataclass
class ClassUnion:
    """Union of the id -> name maps of one attribute over all lines.

    Every box takes its class name from its own line's map, so ids that mean different classes
    on different lines (Rekognition Custom Labels exports, manifests concatenated from several
    jobs) are no ambiguity: classes are keyed by name, and the clashes only reported."""

    #: id -> {name: first line with that id and name}, names in the order first seen
    ids: dict[int, dict[str, int]] = field(default_factory=dict)

    def add(self, mapping: dict[int, str], *lines: int) -> None:
        """Add the map of one or more lines (in manifest order) that all carry ``mapping``."""
        for cid, name in mapping.items():
            self.ids.setdefault(cid, {}).setdefault(name, lines[0])

    @property
    def clashes(self) -> dict[int, dict[str, int]]:
        """The ids that name more than one class, with each name's first line."""
        return {cid: names for cid, names in sorted(self.ids.items()) if len(names) > 1}

    def describe_clashes(self, limit: int = 5) -> str:
        parts = [f"id {cid} is " + ", ".join(f"{n!r} (line {ln})" for n, ln in names.items())
                 for cid, names in self.clashes.items()]
        more = len(parts) - limit
        return "; ".join(parts[:limit]) + (f"; and {more} more" if more > 0 else "")

    def ordered_names(self, skip_ids: frozenset[int] = frozenset()) -> list[str]:
        """One entry per distinct name, ordered by the smallest id naming it, then by the line
        it first appears on (without clashes: plain id order)."""
        rank: dict[str, tuple[int, int]] = {}
        for cid, names in self.ids.items():
            if cid in skip_ids:
                continue
            for name, line in names.items():
                known = rank.get(name)
                if known is None or (cid, line) < known:
                    rank[name] = (cid, line)
        return sorted(rank, key=rank.__getitem__)


@dataclass(frozen=True)
class ClassTable:
    """The dataset's class list; a class's index is its position (0-based)."""

    names: tuple[str, ...]
    index_of: dict[str, int]
    from_file: str | None = None

    @classmethod
    def build(cls, union: ClassUnion, fixed: list[str] | None = None,
              fixed_path: str | None = None, skip_ids: frozenset[int] = frozenset()) -> ClassTable:
        """One entry per distinct name (see ``ClassUnion.ordered_names``), unless a fixed list
        is given."""
        return cls.of(fixed if fixed is not None else union.ordered_names(skip_ids), fixed_path)

    @classmethod
    def of(cls, names: Sequence[str], from_file: str | None = None) -> ClassTable:
        """The table of these names, in this order."""
        return cls(tuple(names), {n: i for i, n in enumerate(names)}, from_file)

    def index(self, name: str) -> int:
        """The index of a class name; a name outside a classes file is an InputError."""
        found = self.index_of.get(name)
        if found is None:
            where = f"the classes file {self.from_file}" if self.from_file else "the class list"
            raise problem(f"class {name!r} is not in {where}", value=name,
                          hint="add it to the classes file or fix the label",
                          reason="unknown-class")
        return found


def read_classes_file(path: Path) -> list[str]:
    """One class name per line (UTF-8, BOM allowed, blank lines ignored); duplicates are errors."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), 0, f"cannot read classes file: {exc}",
                         hint="one class name per line, UTF-8", reason="bad-classes-file") from exc
    names: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        name = raw.strip()
        if not name:
            continue
        if name in seen:
            raise InputError(str(path), number, f"class {name!r} listed twice (first on line "
                             f"{seen[name]})", value=name, hint="each class once",
                             reason="bad-classes-file")
        seen[name] = number
        names.append(name)
    if not names:
        raise InputError(str(path), 0, "classes file lists no classes",
                         hint="one class name per line", reason="bad-classes-file")
    return names
