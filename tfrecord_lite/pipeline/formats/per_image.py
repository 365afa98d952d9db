"""What the formats with files per image (JSON, Darknet) share: one stem per sample, unique in
its split folder, naming the image and its label file alike."""

from __future__ import annotations

from collections.abc import Sequence


def stems(names: Sequence[str]) -> list[str]:
    """A unique file stem per sample name: ``a.jpg`` and ``a.png`` must not share ``a.json`` or
    ``a.txt``, and stems differing only in letter case collide on case-insensitive disks."""
    seen: set[str] = set()
    out = []
    for name in names:
        stem = name.rsplit(".", 1)[0] if "." in name else name
        if stem.casefold() in seen:
            stem = name.replace(".", "_")
        n = 1
        base = stem
        while stem.casefold() in seen:
            n += 1
            stem = f"{base}_{n}"
        seen.add(stem.casefold())
        out.append(stem)
    return out


def image_file(stem: str, name: str) -> str:
    """The image's file name in the split folder: the stem with the sample name's extension."""
    ext = name.rsplit(".", 1)[1] if "." in name else "img"
    return f"{stem}.{ext}"
