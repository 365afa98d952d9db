"""Video frame jobs: a sequence file and a SeqLabel.json per line, one sample per frame.

A ``groundtruth/video-object-detection`` or ``-tracking`` line names a *sequence file* in its
``source-ref`` (``{"prefix": "s3://.../", "frames": [{"frame-no", "frame"}, ...]}``) and the
job's ``SeqLabel.json`` in its ``<name>-ref`` attribute (``{"tracking-annotations" |
"detection-annotations": [{"frame-no", "frame", "annotations": [boxes]}, ...]}``).  Real files
differ from the documentation (``../shared/notes/ground-truth-formats.md`` §7): ``frame-no`` and
``class-id`` are strings, ``frame-no`` is a position in the sequence and not the number in the
file name, so frames are joined on ``frame``; frames may carry no annotations.  Polygons,
polylines and keypoints of video tools are counted and skipped: ModelPack trains boxes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from tfrecord_lite.pipeline.errors import problem
from tfrecord_lite.pipeline.groundtruth.classes import class_id

SHAPES = ("polygons", "polylines", "keypoints")  # video tools' other shapes: skipped, counted
_SEQUENCE_SUFFIX = re.compile(r"(?:-sequence-\d+)?\.json$", re.IGNORECASE)


@dataclass(frozen=True)
class VideoLabel:
    """The ``<name>-ref`` value of a video line: where its SeqLabel.json is, and its classes."""

    seqlabel_ref: str
    class_map: dict[int, str]


@dataclass(frozen=True)
class FrameBoxes:
    """One frame's boxes: ``(class id, left, top, width, height)`` and each box's track."""

    boxes: tuple[tuple[int, float, float, float, float], ...] = ()
    tracks: tuple[str, ...] = ()


def _load(data: bytes, what: str, ref: str) -> dict:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise problem(f"{what} is not JSON ({exc})", value=ref,
                      hint=f"the line's {what} must be the JSON file the labelling job used",
                      reason="bad-video") from None
    if not isinstance(doc, dict):
        raise problem(f"{what} is not a JSON object", value=ref,
                      reason="bad-video")
    return doc


def video_name(sequence_ref: str) -> str:
    """The name frames of one sequence share in their output names: the sequence file's stem
    (without the ``-sequence-<epoch>`` that automated setup appends)."""
    base = sequence_ref.rstrip("/").rsplit("/", 1)[-1]
    return _SEQUENCE_SUFFIX.sub("", base) or "video"


def parse_sequence(data: bytes, ref: str) -> list[str]:
    """The frame references of a sequence file, in its order: ``prefix + frame``."""
    doc = _load(data, "sequence file", ref)
    prefix, frames = doc.get("prefix", ""), doc.get("frames")
    if not isinstance(prefix, str) or not isinstance(frames, list):
        raise problem("sequence file has no 'prefix' and 'frames' list",
                      value=ref, hint='expected {"prefix": "s3://.../", "frames": '
                      '[{"frame-no": 0, "frame": "frame0001.jpg"}, ...]}', reason="bad-video")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    out = []
    for entry in frames:
        frame = entry.get("frame") if isinstance(entry, dict) else None
        if not isinstance(frame, str) or not frame.strip():
            raise problem("sequence file lists a frame without a file name",
                          value=entry, reason="bad-video")
        out.append(frame if "://" in frame else prefix + frame)
    return out


def _box(ann: object, class_map: dict[int, str]
         ) -> tuple[tuple[int, float, float, float, float], str]:
    if not isinstance(ann, dict):
        raise problem("SeqLabel annotation is not an object", value=ann,
                      reason="bad-label")
    cid = class_id(ann.get("class-id", ann.get("class_id")))
    if cid is None or cid not in class_map:
        raise problem(f"SeqLabel box has class-id {ann.get('class-id')!r}, "
                      "which the line's class-map does not name", value=ann,
                      hint=f"class-map has {sorted(class_map)}", reason="unknown-class")
    values = []
    for key in ("left", "top", "width", "height"):
        v = ann.get(key)
        if isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                v = None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1e15:
            raise problem(f"SeqLabel box has a bad {key}", value=ann,
                          hint="left/top/width/height are pixel numbers", reason="bad-box")
        values.append(float(v))
    track = ann.get("object-name", ann.get("object-id"))
    left, top, width, height = values
    return (cid, left, top, width, height), "" if track is None else str(track)


def parse_seqlabel(data: bytes, label: VideoLabel, frames: list[str]
                   ) -> tuple[list[FrameBoxes], int]:
    """Each listed frame's boxes (in ``frames`` order) and how many other shapes were skipped.

    Frames are matched on their file name; an entry without one is placed by ``frame-no``."""
    doc = _load(data, "SeqLabel.json", label.seqlabel_ref)
    entries = doc.get("tracking-annotations", doc.get("detection-annotations"))
    if not isinstance(entries, list):
        raise problem("SeqLabel.json has no tracking-annotations or "
                      "detection-annotations list", value=label.seqlabel_ref,
                      reason="bad-video")
    position = {ref.rsplit("/", 1)[-1]: k for k, ref in enumerate(frames)}
    found: dict[int, FrameBoxes] = {}
    skipped = 0
    for entry in entries:
        if not isinstance(entry, dict):
            raise problem("SeqLabel entry is not an object", value=entry,
                          reason="bad-video")
        frame = entry.get("frame")
        k = position.get(frame.rsplit("/", 1)[-1]) if isinstance(frame, str) else None
        if k is None and frame is None:
            k = class_id(entry.get("frame-no"))  # the position, as the real files use it
            k = k if k is not None and k < len(frames) else None
        if k is None:
            continue  # a frame the sequence does not list: no image to store it with
        pairs = [_box(a, label.class_map) for a in entry.get("annotations") or ()]
        skipped += sum(len(entry.get(s) or ()) for s in SHAPES)
        old = found.get(k, FrameBoxes())
        found[k] = FrameBoxes(old.boxes + tuple(b for b, _ in pairs),
                              old.tracks + tuple(t for _, t in pairs))
    return [found.get(k, FrameBoxes()) for k in range(len(frames))], skipped
