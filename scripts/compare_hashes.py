"""Compare two ``TFRECORD_LITE_HASH_LOG`` logs (see tests/conftest.py): every dataset file a test
wrote must have the same bytes in both.  Exit 1 and list the differences otherwise."""

from __future__ import annotations

import json
import sys


def load(path: str) -> dict[tuple[str, str], str]:
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            for name, digest in entry["files"].items():
                out[(entry["test"], name)] = digest
    return out


def main(before: str, after: str) -> int:
    a, b = load(before), load(after)
    changed = sorted(k for k in a.keys() & b.keys() if a[k] != b[k])
    gone = sorted(a.keys() - b.keys())
    for test, name in changed:
        print(f"changed: {test}: {name}")
    for test, name in gone:
        print(f"missing: {test}: {name}")
    same = len(a.keys() & b.keys()) - len(changed)
    print(f"{same} files identical, {len(changed)} changed, {len(gone)} missing, "
          f"{len(b.keys() - a.keys())} new")
    return 1 if changed or gone else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
