"""make dist-check: build the sdist and the wheel and check what a package index would get.

- ``twine check --strict`` on both (metadata valid, the README renders as the long description);
- the wheel: every module, ``.pyi`` and ``py.typed`` of the tree's package, the LICENSE file
  (``.dist-info/licenses/``), nothing outside the package and its ``.dist-info``, and metadata
  that says what ``pyproject.toml`` says (licence expression, Requires-Python, dependencies);
- the sdist: LICENSE, README, pyproject.toml, ``proto/`` (the schema the gencode is made from),
  the package with its gencode and ``py.typed``;
- a wheel built from the unpacked sdist holds the same files, byte for byte, as one built
  from the tree;
- the optional C core: the sdist holds ``setup.py`` and its C source, the wheels hold the
  compiled module (a compiler works here), and the sdist built where no compiler works
  (``CC=/bin/false``) still gives a wheel, the same files without the compiled module, with
  setup.py's one line saying so in the build log;
- each wheel's tag says what it holds: platform-tagged (and not purelib) with the compiled C
  core, ``py3-none-any`` (purelib) without it, the file name's tag the one in its WHEEL file.

``dist_check.py --tag WHEEL...`` runs the last check alone (``make wheel`` does, on dist/).

Exits 1 listing every problem found.  Run by ``make dist-check`` in ``.venv-dist`` (pinned
build and twine); the checks themselves are plain functions, tested in tests/test_dist_check.py.
"""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "tfrecord_lite"
PACKAGE_SUFFIXES = (".py", ".pyi", ".typed")
# the C core: the format library's speedups and the converter's mask tracer
EXT_SOURCES = ("setup.py", f"{PACKAGE}/format/_speedups.c",
               f"{PACKAGE}/pipeline/formats/_tracer.c")
EXT_PREFIXES = (f"{PACKAGE}/format/_speedups.", f"{PACKAGE}/pipeline/formats/_tracer.")
SKIP_LINE = "tfrecord_lite: C speedups not built ("


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


def ext_files(files: dict[str, bytes]) -> list[str]:
    """The wheel's compiled C core (``_speedups.<abi>.so`` or ``.pyd``, the same of
    ``_tracer``) and its C source."""
    return sorted(n for n in files if n.startswith(EXT_PREFIXES))


def check_ext(files: dict[str, bytes], *, compiled: bool, where: str = "wheel") -> list[str]:
    """Problems of the C core in one wheel: one compiled module of each when built, none (and
    never the C source) when not."""
    found = ext_files(files)
    modules = [n for n in found if n.endswith((".so", ".pyd"))]
    problems = [f"{where}: {n} holds the C source" for n in found if n.endswith(".c")]
    for prefix in EXT_PREFIXES if compiled else ():
        mine = [n for n in modules if n.startswith(prefix)]
        if len(mine) != 1:
            problems.append(f"{where}: expected one compiled {prefix}* module, found {mine}")
    if not compiled and modules:
        problems.append(f"{where}: built without a compiler, yet holds {modules}")
    return problems


def wheel_tag(name: str) -> str:
    """The tag of a wheel's file name: ``cp311-cp311-linux_x86_64`` of
    ``pkg-1.0-cp311-cp311-linux_x86_64.whl``."""
    return "-".join(Path(name).name.removesuffix(".whl").split("-")[-3:])


def check_tag(name: str, files: dict[str, bytes]) -> list[str]:
    """Problems of one wheel's tag against its content: a wheel with the compiled C core is
    platform-tagged and not purelib, one without it ``py3-none-any`` and purelib (a pure wheel
    tagged for a platform would be taken for the compiled one by pip and by an index)."""
    where = Path(name).name
    wheel_files = [n for n in files if n.endswith(".dist-info/WHEEL")]
    if len(wheel_files) != 1:
        return [f"{where}: expected one .dist-info/WHEEL, found {wheel_files}"]
    msg = email.parser.BytesParser().parsebytes(files[wheel_files[0]])
    tag, tags = wheel_tag(name), msg.get_all("Tag") or []
    pure = (msg.get("Root-Is-Purelib") or "").strip().lower() == "true"
    compiled = [n for n in ext_files(files) if n.endswith((".so", ".pyd"))]
    problems = [] if tags == [tag] else [f"{where}: its WHEEL file says Tag {tags}, its name {tag}"]
    if compiled and (tag.endswith("-none-any") or pure):
        problems.append(f"{where}: holds the compiled {compiled} yet is tagged {tag}"
                        f"{' (purelib)' if pure else ''}; want the platform's tag")
    if not compiled and (tag != "py3-none-any" or not pure):
        problems.append(f"{where}: holds no compiled C core yet is tagged {tag}"
                        f"{'' if pure else ' (not purelib)'}; want py3-none-any")
    return problems


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
    for name in sorted((protos | want_package | set(EXT_SOURCES)) - set(files)):
        problems.append(f"sdist: {name} is missing")
    return problems


def check_pure_build(log: str, files: dict[str, bytes], compiled: dict[str, bytes]) -> list[str]:
    """Problems of the wheel built where no compiler works: setup.py's one line in the log,
    and the compiled wheel's files without the compiled module (the same bytes otherwise)."""
    problems = []
    lines = [line.strip() for line in log.splitlines() if SKIP_LINE in line]
    if len(lines) != 1 or not lines[0].endswith("); using pure Python"):
        problems.append(f"no-compiler build: want one line {SKIP_LINE}...), got {lines}")
    problems += check_ext(files, compiled=False, where="no-compiler wheel")
    want = {n: b for n, b in compiled.items() if not n.startswith(EXT_PREFIXES) and
            not n.endswith((".dist-info/RECORD", ".dist-info/WHEEL"))}
    got = {n: b for n, b in files.items() if not n.endswith((".dist-info/RECORD",
                                                             ".dist-info/WHEEL"))}
    return problems + compare_wheels(want, got, a_name="compiled", b_name="without a compiler")


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


def _unpack(sdist: Path, dest: Path) -> Path:
    """The sdist unpacked into ``dest``: its one top folder."""
    dest.mkdir()
    with tarfile.open(sdist) as t:
        if hasattr(tarfile, "data_filter"):
            t.extractall(dest, filter="data")
        else:  # Python 3.10 before 3.10.12
            t.extractall(dest)
    (src,) = dest.iterdir()
    return src


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
    src = _unpack(sdist, out / "unpacked")
    _run(py, "-m", "build", "-q", "--wheel", "--outdir", out / "from-sdist", src)
    src = _unpack(sdist, out / "unpacked-no-compiler")  # a fresh copy: no build/ to reuse
    print(f"+ CC=/bin/false {py} -m build --wheel --outdir {out / 'no-compiler'} {src}",
          flush=True)
    env = dict(os.environ, CC="/bin/false", CXX="/bin/false")
    built = subprocess.run([py, "-m", "build", "--wheel", "--outdir", str(out / "no-compiler"),
                            str(src)], env=env, capture_output=True, text=True)
    if built.returncode:
        print(built.stdout, built.stderr, sep="\n", file=sys.stderr)
        print("dist-check: FAILED: the sdist does not build without a compiler", file=sys.stderr)
        return 1
    (wheel,) = (out / "from-tree").glob("*.whl")
    (wheel2,) = (out / "from-sdist").glob("*.whl")
    (wheel3,) = (out / "no-compiler").glob("*.whl")
    _run(py, "-m", "twine", "check", "--strict", sdist, wheel, wheel2, wheel3)

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
    problems += check_ext(whl, compiled=True)
    whl3 = read_wheel(wheel3)
    problems += check_pure_build(built.stdout + built.stderr, whl3, whl)
    for path, files in ((wheel, whl), (wheel2, whl2), (wheel3, whl3)):
        problems += check_tag(path.name, files)
    print(f"\n{sdist.name}: {len(sd)} files, {sum(n.startswith('proto/') for n in sd)} of them "
          f"under proto/ (the tree has {len(protos)} .proto files)")
    print(f"{wheel.name}: {len(whl)} files, {wheel.stat().st_size} bytes; built again from the "
          f"sdist: {len(whl2)} files, {'same' if whl == whl2 else 'DIFFERENT'} contents")
    print(f"compiled C core: {ext_files(whl)}; without a compiler: {wheel3.name}, "
          f"{len(whl3)} files, {ext_files(whl3) or 'no compiled module'}")
    if problems:
        print("dist-check: FAILED", *problems, sep="\n  ", file=sys.stderr)
        return 1
    print("dist-check: metadata valid, LICENSE + py.typed + gencode in both, proto/ in the "
          "sdist, the sdist builds the same wheel, with the C core where a compiler works and "
          f"without it where none does, each tagged for what it holds ({wheel_tag(wheel.name)}, "
          f"{wheel_tag(wheel3.name)})")
    return 0


def main_tag(paths: list[str]) -> int:
    """``--tag WHEEL...``: each wheel's tag against its content, one line per wheel."""
    failed = False
    for path in paths:
        files = read_wheel(Path(path))
        problems = check_tag(path, files)
        core = [n.rsplit("/", 1)[1] for n in ext_files(files) if n.endswith((".so", ".pyd"))]
        print(f"{path}: {', '.join(core) or 'no C core (pure Python)'}; tag "
              f"{wheel_tag(path)} {'FAILED' if problems else 'matches'}")
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        failed |= bool(problems)
    return int(failed)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--tag"]:
        sys.exit(main_tag(sys.argv[2:]))
    sys.exit(main())
