"""Checks a libFuzzer log (scripts/asan.sh): the run must show coverage that grows past its
start (a flat or missing `cov:` means the fuzzer was blind: random bytes, not fuzzing), and
with FUZZ_RUNS set, RSS may grow at most FUZZ_RSS_GROWTH_MB MB from half the runs to the end
(the first half is warm-up: the corpus, ASan's quarantine and Python's caches fill there)."""

from __future__ import annotations

import os
import re
import sys

LINE = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) .*?rss: (\d+)Mb")


def main(path: str) -> int:
    rows = [(int(m[1]), m[2], int(m[3]), int(m[4]))
            for m in map(LINE.match, open(path, errors="replace")) if m]
    inited = [r for r in rows if r[1] == "INITED"]
    if not inited:
        print(f"{path}: no `cov:` in libFuzzer's log: the run had no coverage", file=sys.stderr)
        return 1
    start, end = inited[0][2], max(r[2] for r in rows)
    runs, last_rss = rows[-1][0], rows[-1][3]
    print(f"coverage: cov {start} at start -> {end} after {runs} runs; rss {last_rss} MB")
    if end <= start:
        print(f"{path}: coverage never grew past its start ({start}): fuzzing was blind",
              file=sys.stderr)
        return 1
    if os.environ.get("FUZZ_RUNS"):
        total = int(os.environ["FUZZ_RUNS"])
        limit = int(os.environ.get("FUZZ_RSS_GROWTH_MB", "16"))
        half = [r for r in rows if r[0] <= total // 2]
        if runs < total or not half:
            print(f"{path}: the run stopped at {runs} of {total} runs", file=sys.stderr)
            return 1
        grown = last_rss - half[-1][3]
        print(f"rss: {half[-1][3]} MB at run {half[-1][0]} -> {last_rss} MB at run {runs}: "
              f"+{grown} MB (limit {limit})")
        if grown > limit:
            print(f"{path}: RSS grew {grown} MB over the second half of the runs "
                  f"(FUZZ_RSS_GROWTH_MB={limit}): a leak?", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
