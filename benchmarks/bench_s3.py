"""Images per second fetched from an S3 API (moto's server on loopback) with 1, 8 and 32
concurrent fetches: the input stage of ``convert -a s3://... -i s3://...``.

Runs in the dev venv (boto3 and moto are in the ``dev`` extra, not in .venv-tf); ``run.py
--full`` calls it and prints its table.  On loopback a request costs the server's CPU only, so
a second case adds 20 ms before each request, about the first-byte latency of S3 from outside
its region, where concurrency matters most.  Medians of interleaved repeats and ratios only.

    .venv/bin/python benchmarks/bench_s3.py [--images N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
CONCURRENCY = (1, 8, 32)
LATENCY = 0.020


def _server() -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                             str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.05)


def measure(images: int, repeats: int) -> dict:
    from synth import average_image_bytes, make_dataset
    from timing import Contender, race

    from tfrecord_lite.pipeline import s3store

    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_CONFIG_FILE": "/nonexistent",
                       "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"})
    job = make_dataset(HERE.parent / "build" / "bench" / f"s3-{images}", images)
    proc, endpoint = _server()
    work = Path(tempfile.mkdtemp(prefix="bench-s3-"))
    try:
        s3 = s3store.client(s3store.Settings(None, endpoint, max(CONCURRENCY)))
        s3.create_bucket(Bucket="bench")
        for path in sorted((job / "images").iterdir()):
            s3.upload_file(str(path), "bench", f"images/{path.name}")
        s3.upload_file(str(job / "output.manifest"), "bench", "job/output.manifest")
        delay = {"on": False}

        def slow(**kwargs) -> None:
            if delay["on"]:
                time.sleep(LATENCY)

        s3.meta.events.register("before-send.s3", slow)
        out: dict = {"images": images, "image_bytes": average_image_bytes(job), "cases": {}}
        for case, latency in (("loopback", False), (f"+{LATENCY * 1000:.0f} ms per request",
                                                    True)):
            delay["on"] = latency

            def fetch(n: int):
                def run(_state: object) -> None:
                    cache = work / f"c{n}"
                    shutil.rmtree(cache, ignore_errors=True)
                    got = s3store.fetch_inputs(s3, "s3://bench/job/output.manifest",
                                               "s3://bench/images/", cache, concurrency=n)
                    assert got.fetched == images, got
                return run

            contenders = [Contender(f"{n}", fetch(n)) for n in CONCURRENCY]
            times = race(contenders, repeats=repeats)
            out["cases"][case] = {n: images / times[f"{n}"] for n in map(str, CONCURRENCY)}
            out["cases"][case]["ratios"] = {
                n: times.ratio("1", n) for n in map(str, CONCURRENCY[1:])}
        return out
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def table(result: dict) -> list[str]:
    lines = [f"{result['images']} images of about {result['image_bytes'] // 1024} KiB from "
             "moto's S3 server on loopback (listing + manifest + every image; medians of "
             "interleaved repeats)", "",
             "| case | " + " | ".join(f"{n} at once" for n in CONCURRENCY) + " | " +
             " | ".join(f"{n} vs 1" for n in CONCURRENCY[1:]) + " |",
             "|---|" + "---|" * (2 * len(CONCURRENCY) - 1)]
    for case, row in result["cases"].items():
        rates = " | ".join(f"{row[str(n)]:,.0f} img/s" for n in CONCURRENCY)
        ratios = " | ".join(f"{row['ratios'][str(n)]:.2f}x" for n in CONCURRENCY[1:])
        lines.append(f"| {case} | {rates} | {ratios} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = measure(args.images, args.repeats)
    print(json.dumps(result) if args.json else "\n".join(table(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
