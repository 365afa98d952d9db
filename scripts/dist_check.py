"""make dist-check: build the sdist and the wheel and check what a package index would get.

- ``twine check --strict`` on both (metadata valid, the README renders as the long description);
- the wheel: every module, ``.pyi`` and ``py.typed`` of the tree's package, the LICENSE file
  (``.dist-info/licenses/``), nothing outside the package and its ``.dist-info``, and metadata
  that says what ``pyproject.toml`` says (licence expression, Requires-Python, dependencies);
- the sdist: LICENSE, README, pyproject.toml, ``proto/`` (the schema the gencode is made from),
  the package with its gencode and ``py.typed``;
- a wheel built from the unpacked sdist holds the same files, byte for byte, as one built
  from the tree.

Exits 1 listing every problem found.  Run by ``make dist-check`` in ``.venv-dist`` (pinned
build and twine); the checks themselves are plain functions, tested in tests/test_dist_check.py.
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "tfrecord_lite"
PACKAGE_SUFFIXES = (".py", ".pyi", ".typed")


def tree_package_files(root: Path = ROOT) -> set[str]:
    """The package's files in the tree that belong in a wheel (no caches)."""
    return {
        p.relative_to(root).as_posix()
        for p in (root / PACKAGE).rglob("*")
        if p.is_file() and p.name.endswith(PACKAGE_SUFFIXES) and "__pycache__" not in p.parts
    }


def read_wheel(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {info.filename: z.read(info) for info in z.infolist() if not info.is_dir()}


def read_sdist(path: Path) -> dict[str, bytes]:
    """Members of the sdist without its top folder (``name-version/``)."""
    out: dict[str, bytes] = {}
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if m.isfile():
                f = t.extractfile(m)
                assert f is not None
                out[m.name.split("/", 1)[1]] = f.read()
    return out


def check_wheel(files: dict[str, bytes], *, want_package: set[str], license_text: bytes,
                metadata_want: dict[str, str], requires_want: set[str]) -> list[str]:
    """Problems of one wheel's contents (empty when it is right)."""
    problems = []
    dist_info = {n.split("/", 1)[0] for n in files if n.split("/", 1)[0].endswith(".dist-info")}
    if len(dist_info) != 1:
        return [f"wheel: expected one .dist-info folder, found {sorted(dist_info)}"]
    (info,) = dist_info
    for name in sorted(want_package - set(files)):
        problems.append(f"wheel: {name} is missing")
    for name in sorted(files):
        if not (name.startswith(f"{PACKAGE}/") or name.startswith(f"{info}/")):
            problems.append(f"wheel: {name} is outside the package")
    for name in (f"{PACKAGE}/py.typed", f"{PACKAGE}/_protos/example_pb2.pyi"):
        if name not in files:
            problems.append(f"wheel: {name} is missing (typing)")
    lic = files.get(f"{info}/licenses/LICENSE")
    if lic is None:
        problems.append(f"wheel: {info}/licenses/LICENSE is missing")
    elif lic != license_text:
        problems.append("wheel: its LICENSE differs from the tree's")
    raw = files.get(f"{info}/METADATA")
    if raw is None:
        return [*problems, f"wheel: {info}/METADATA is missing"]
    problems += check_metadata(raw, metadata_want, requires_want, where="wheel METADATA")
    return problems


def check_metadata(raw: bytes, want: dict[str, str], requires_want: set[str], *,
                   where: str) -> list[str]:
    msg = email.parser.BytesParser().parsebytes(raw)
    problems = []
    for key, value in want.items():
        got = msg.get_all(key) or []
        if value not in got:
            problems.append(f"{where}: {key} is {got or 'absent'}, want {value!r}")
    got_requires = {_norm_req(r) for r in msg.get_all("Requires-Dist") or [] if "extra ==" not in r}
    if got_requires != requires_want:
        problems.append(f"{where}: Requires-Dist {sorted(got_requires)} != pyproject's "
                        f"{sorted(requires_want)}")
    if not (msg.get_payload() or "").strip():
        problems.append(f"{where}: no long description (README)")
    return problems


def _norm_req(req: str) -> str:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # outside .venv-dist: compare as written, spaces dropped
        return req.replace(" ", "")
    return str(Requirement(req))


def check_sdist(files: dict[str, bytes], *, want_package: set[str], protos: set[str],
                license_text: bytes) -> list[str]:
    problems = []
    for name in ("PKG-INFO", "pyproject.toml", "README.md", "LICENSE"):
        if name not in files:
            problems.append(f"sdist: {name} is missing")
    if files.get("LICENSE", license_text) != license_text:
        problems.append("sdist: its LICENSE differs from the tree's")
    for name in sorted((protos | want_package) - set(files)):
        problems.append(f"sdist: {name} is missing")
    return problems


def compare_wheels(a: dict[str, bytes], b: dict[str, bytes], *, a_name: str = "from the tree",
                   b_name: str = "from the sdist") -> list[str]:
    """The same files with the same bytes (zip timestamps aside)."""
    problems = [f"wheel {a_name} has {n}, the one {b_name} has not" for n in sorted(a.keys() - b)]
    problems += [f"wheel {b_name} has {n}, the one {a_name} has not" for n in sorted(b.keys() - a)]
    problems += [f"wheels differ in {n}" for n in sorted(set(a) & set(b)) if a[n] != b[n]]
    return problems


def clean_copy(dest: Path) -> Path:
    """The checkout's files (tracked, and new ones git does not ignore) copied to dest: what a
    fresh clone builds, without the egg-info an editable install leaves (setuptools would take
    the files its stale SOURCES.txt lists into the sdist, hiding a MANIFEST.in gap)."""
    listing = subprocess.run(["git", "ls-files", "-z", "-c", "-o", "--exclude-standard"],
                             cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listing.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True)


def main() -> int:
    try:
        import tomllib
    except ImportError:  # Python 3.10: build depends on tomli there
        import tomli as tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    out = ROOT / "build" / "dist"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    py = sys.executable
    tree = clean_copy(out / "tree")
    _run(py, "-m", "build", "-q", "--sdist", "--outdir", out / "sdist", tree)
    _run(py, "-m", "build", "-q", "--wheel", "--outdir", out / "from-tree", tree)
    (sdist,) = (out / "sdist").glob("*.tar.gz")
    (out / "unpacked").mkdir()
    with tarfile.open(sdist) as t:
        if hasattr(tarfile, "data_filter"):
            t.extractall(out / "unpacked", filter="data")
        else:  # Python 3.10 before 3.10.12
            t.extractall(out / "unpacked")
    (src,) = (out / "unpacked").iterdir()
    _run(py, "-m", "build", "-q", "--wheel", "--outdir", out / "from-sdist", src)
    (wheel,) = (out / "from-tree").glob("*.whl")
    (wheel2,) = (out / "from-sdist").glob("*.whl")
    _run(py, "-m", "twine", "check", "--strict", sdist, wheel, wheel2)

    license_text = (ROOT / "LICENSE").read_bytes()
    want_package = tree_package_files()
    protos = {p.relative_to(ROOT).as_posix() for p in (ROOT / "proto").rglob("*.proto")}
    metadata_want = {
        "Name": project["name"],
        "License-Expression": project["license"],
        "License-File": "LICENSE",
        "Requires-Python": project["requires-python"],
        "Description-Content-Type": "text/markdown",
    }
    requires_want = {_norm_req(r) for r in project["dependencies"]}
    whl, whl2, sd = read_wheel(wheel), read_wheel(wheel2), read_sdist(sdist)
    problems = check_wheel(whl, want_package=want_package, license_text=license_text,
                           metadata_want=metadata_want, requires_want=requires_want)
    problems += check_sdist(sd, want_package=want_package, protos=protos,
                            license_text=license_text)
    problems += check_metadata(sd.get("PKG-INFO", b""), metadata_want, requires_want,
                               where="sdist PKG-INFO")
    problems += compare_wheels(whl, whl2)
    print(f"\n{sdist.name}: {len(sd)} files, {sum(n.startswith('proto/') for n in sd)} of them "
          f"under proto/ (the tree has {len(protos)} .proto files)")
    print(f"{wheel.name}: {len(whl)} files, {wheel.stat().st_size} bytes; built again from the "
          f"sdist: {len(whl2)} files, {'same' if whl == whl2 else 'DIFFERENT'} contents")
    if problems:
        print("dist-check: FAILED", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print("dist-check: metadata valid, LICENSE + py.typed + gencode in both, proto/ in the "
          "sdist, the sdist builds the same wheel")
    return 0


if __name__ == "__main__":
    sys.exit(main())
