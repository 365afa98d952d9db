"""Stream a Ground Truth manifest line by line and find the label pairs on each line.

Knows the JSON Lines framing and the ``<attr>`` / ``<attr>-metadata`` pairing rule, nothing about
what a given label type means (that is ``labels.py``).  Everything a bad line can do ends up as an
:class:`InputError` with the line number, so callers can apply the error policy uniformly.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tfrecord_lite.pipeline.errors import InputError

#: A line longer than this is refused without being held in memory.  Ground Truth itself caps
#: lines at 100,000 characters; 4 MiB leaves room for hand-made manifests.
MAX_LINE_BYTES = 4 * 1024 * 1024

_BOM = b"\xef\xbb\xbf"
_CHUNK = 1 << 16

#: The task types this reader turns into samples, keyed by the lower-cased ``type`` string.
SUPPORTED_TYPES = {
    "groundtruth/object-detection": "object-detection",
    "groundtruth/semantic-segmentation": "semantic-segmentation",
    "groundtruth/image-classification": "image-classification",
    "groundtruth/image-classification-multilabel": "image-classification-multilabel",
    "groundtruth/video-object-detection": "video-object-detection",
    "groundtruth/video-object-tracking": "video-object-detection",  # boxes with track ids
}
VERIFICATION_TYPE = "groundtruth/label-verification"

Line = dict | InputError


def iter_lines(path: Path) -> Iterator[tuple[int, Line]]:
    """Yield ``(line_no, object)`` for every non-blank line, or ``(line_no, InputError)``."""
    name = str(path)
    for line_no, raw in iter_raw_lines(path):
        yield line_no, raw if isinstance(raw, InputError) else parse_line(name, line_no, raw)


@dataclass(frozen=True)
class Span:
    """A run of whole lines of a manifest: bytes ``[start, end)``, the first being ``line``."""

    start: int
    end: int
    line: int


def _open_manifest(path: Path) -> Any:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise InputError(str(path), 0, f"cannot open manifest: {exc.strerror or exc}",
                         hint="check the manifest path", reason="no-manifest") from exc


def plan_spans(path: Path, size: int) -> list[Span]:
    """Cut a manifest into spans of about ``size`` bytes at line ends (a long line stays whole),
    so that workers read their own lines and only these numbers cross a pipe.  The reader
    chooses ``size`` (``reader.SPAN_BYTES``)."""
    spans: list[Span] = []
    start, line, newlines, base = 0, 1, 0, 0  # span start, its line, newlines since, block start
    with _open_manifest(path) as handle:
        while True:
            block = handle.read(1 << 20)
            if not block:
                break
            pos = 0
            while True:
                cut = block.find(b"\n", max(start + size - base, pos))
                if cut < 0:
                    newlines += block.count(b"\n", pos)
                    break
                newlines += block.count(b"\n", pos, cut + 1)
                spans.append(Span(start, base + cut + 1, line))
                start, line, newlines, pos = base + cut + 1, line + newlines, 0, cut + 1
            base += len(block)
    if base > start:
        spans.append(Span(start, base, line))
    return spans


def iter_raw_lines(
    path: Path, span: Span | None = None
) -> Iterator[tuple[int, bytes | InputError]]:
    """Yield ``(line_no, bytes)`` for every non-blank line (of ``span`` only, when given), or
    ``(line_no, InputError)``.

    Streams with a bounded read per line so one enormous line cannot exhaust memory.  Accepts a
    UTF-8 BOM and ``\\r\\n`` endings.  Errors are yielded, not raised, so one bad line does not
    end the iteration.  Lines stay undecoded so the decoding can happen in a worker process.
    """
    with _open_manifest(path) as handle:
        pos, end, line_no = 0, None, 0
        if span is not None:
            handle.seek(span.start)
            pos, end, line_no = span.start, span.end, span.line - 1
        while end is None or pos < end:
            raw = handle.readline(MAX_LINE_BYTES + 1)
            if not raw:
                return
            pos += len(raw)
            line_no += 1
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                pos += _skip_rest_of_line(handle)
                yield line_no, InputError(
                    str(path), line_no, f"line longer than {MAX_LINE_BYTES} bytes",
                    value=raw[:60].decode("utf-8", "replace"),
                    hint="a Ground Truth line is at most 100,000 characters; is this a manifest?",
                    reason="line-too-long")
                continue
            if line_no == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            if not raw.strip():
                continue
            yield line_no, raw


def _skip_rest_of_line(handle: Any) -> int:
    skipped = 0
    while True:
        chunk = handle.readline(_CHUNK)
        skipped += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return skipped


def parse_line(path: str, line_no: int, raw: bytes) -> Line:
    """Decode one line into a dict, or return the InputError saying why it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return InputError(path, line_no, f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                          value=raw[:60], hint="save the manifest as UTF-8", reason="bad-json")
    try:
        obj = json.loads(text)
    except RecursionError:
        return InputError(path, line_no, "JSON nested too deeply", value=text[:60],
                          hint="a manifest line is a flat JSON object", reason="bad-json")
    except ValueError as exc:  # JSONDecodeError, and int literals too long to convert
        return InputError(path, line_no, f"malformed JSON: {exc}", value=text.strip()[:80],
                          hint="each line must be one JSON object (JSON Lines)",
                          reason="bad-json")
    if not isinstance(obj, dict):
        return InputError(path, line_no, f"line is a JSON {type(obj).__name__}, not an object",
                          value=text.strip()[:80],
                          hint="each line must be one JSON object (JSON Lines)", reason="bad-json")
    return obj


@dataclass(frozen=True)
class LabelPair:
    """One ``<attr>`` value with its ``<attr>-metadata`` object, as found on a line."""

    attribute: str
    value: Any
    metadata: dict
    type: str            # lower-cased ``type``; "" when the metadata has none
    date: float | None   # creation-date as a UTC timestamp, None when absent or unreadable
    failed: bool = False  # metadata without ``type`` or with a failure/error key: a failed item


def _failed(kind: str, meta: dict) -> bool:
    return not kind or any(
        k[:1] in "fFeE" and k.lower().startswith(("failure", "error")) for k in meta
    )


def find_pairs(obj: dict, dates: bool = True) -> list[LabelPair]:
    """All ``<attr>`` + ``<attr>-metadata`` pairs on a line (metadata must be an object);
    ``dates=False`` leaves ``date`` None (the second pass does not need it)."""
    pairs = []
    for key, meta in obj.items():
        if not key.endswith("-metadata") or not isinstance(meta, dict):
            continue
        attribute = key[: -len("-metadata")]
        if not attribute or attribute not in obj:
            continue
        kind = meta.get("type")
        kind = kind.strip().lower() if isinstance(kind, str) else ""
        date = parse_date(creation_date(meta)) if dates else None
        pairs.append(LabelPair(attribute, obj[attribute], meta, kind, date, _failed(kind, meta)))
    return pairs


def creation_date(meta: dict) -> object:
    return meta.get("creation-date", meta.get("creation_date"))


def orphan_types(obj: dict) -> list[str]:
    """Types of ``*-metadata`` objects with no partner attribute (reported, never converted)."""
    found = []
    for key, meta in obj.items():
        if key.endswith("-metadata") and isinstance(meta, dict) and key[:-9] not in obj:
            kind = meta.get("type")
            if isinstance(kind, str) and kind.strip():
                found.append(kind.strip().lower())
    return found


_DATE = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*$", re.IGNORECASE)


def parse_date(value: object) -> float | None:
    """Parse the creation-date spellings seen in the wild into a UTC timestamp (no zone = UTC)."""
    if not isinstance(value, str):
        return None
    match = _DATE.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second, frac, zone = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                          int(second or 0), int((frac or "0")[:6].ljust(6, "0")),
                          tzinfo=timezone.utc)
    except ValueError:
        return None
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        moment -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return moment.timestamp()


@dataclass
class AttributeStats:
    """What the first pass learned about one label attribute, to choose between attributes."""

    attribute: str
    type: str
    lines: int = 0
    newest: float | None = None
    first_line: int = 0

    def add(self, pair: LabelPair, line_no: int) -> None:
        self.lines += 1
        if not self.first_line:
            self.first_line = line_no
        self._dated(pair.date)

    def merge(self, later: AttributeStats) -> None:
        """Add the stats of the same attribute over lines that follow these."""
        self.lines += later.lines
        self._dated(later.newest)

    def _dated(self, date: float | None) -> None:
        if date is not None and (self.newest is None or date > self.newest):
            self.newest = date


@dataclass
class AttributeCensus:
    """Per-attribute and per-type counts over the whole manifest (first pass)."""

    attributes: dict[str, AttributeStats] = field(default_factory=dict)
    found_types: dict[str, int] = field(default_factory=dict)

    def add_line(self, pairs: list[LabelPair], orphans: list[str], line_no: int) -> None:
        seen = set()
        for pair in pairs:
            kind = pair.type or "(no type)"
            if kind not in seen:
                seen.add(kind)
                self.found_types[kind] = self.found_types.get(kind, 0) + 1
            if pair.type in SUPPORTED_TYPES and not pair.failed:
                stats = self.attributes.get(pair.attribute)
                if stats is None:
                    stats = self.attributes[pair.attribute] = AttributeStats(
                        pair.attribute, pair.type)
                stats.add(pair, line_no)
        for kind in orphans:
            label = f"{kind} (metadata without its attribute)"
            if label not in seen:
                seen.add(label)
                self.found_types[label] = self.found_types.get(label, 0) + 1

    def merge(self, later: AttributeCensus) -> None:
        """Add the census of the lines that follow these (a worker's span), as if line by line."""
        for attribute, theirs in later.attributes.items():
            mine = self.attributes.setdefault(attribute, theirs)
            if mine is not theirs:
                mine.merge(theirs)
        for kind, count in later.found_types.items():
            self.found_types[kind] = self.found_types.get(kind, 0) + count

    def describe(self) -> str:
        """The label types found, for 'no usable labels' messages."""
        if not self.found_types:
            return "no label pairs (<attr> + <attr>-metadata with a type) at all"
        return ", ".join(f"{k} ({n} lines)" for k, n in sorted(self.found_types.items()))

    def choose(self, requested: str | None, path: str) -> AttributeStats:
        """Pick the attribute to convert: the requested one, else the newest creation-date."""
        listing = ", ".join(
            f"{s.attribute!r} ({SUPPORTED_TYPES[s.type]}, {s.lines} lines)"
            for s in self.attributes.values()) or "none"
        if requested is not None:
            stats = self.attributes.get(requested)
            if stats is None:
                raise InputError(
                    path, 0, f"label attribute {requested!r} not found with a supported type",
                    value=requested, hint=f"usable attributes: {listing}; label types found: "
                    f"{self.describe()}", reason="no-labels")
            return stats
        if not self.attributes:
            raise InputError(path, 0, "no usable labels in the manifest",
                             hint=f"label types found: {self.describe()}; supported: "
                             + ", ".join(SUPPORTED_TYPES), reason="no-labels")
        # newest creation-date wins; undated attributes lose to dated ones; then most lines
        ranked = sorted(self.attributes.values(), key=lambda s: (
            s.newest is not None, s.newest or 0.0, s.lines, -s.first_line), reverse=True)
        return ranked[0]
