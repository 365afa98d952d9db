"""scripts/dist_check.py (make dist-check) finds what it is there to find: a wheel or sdist
missing LICENSE, py.typed, a module, proto/ or the C core, wrong metadata, two wheels that
differ, and a build without a compiler that fails to say so or differs in more than the C core."""

from __future__ import annotations

import importlib.util
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("dist_check", ROOT / "scripts" / "dist_check.py")
assert _spec is not None and _spec.loader is not None
dist_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dist_check)

INFO = "tfrecord_lite_tools-0.1.0.dist-info"
LICENSE = b"Apache License\nVersion 2.0\n"
PACKAGE = {"tfrecord_lite/__init__.py", "tfrecord_lite/py.typed",
           "tfrecord_lite/_protos/example_pb2.py", "tfrecord_lite/_protos/example_pb2.pyi"}
WANT = {"Name": "tfrecord-lite-tools", "License-Expression": "Apache-2.0",
        "License-File": "LICENSE", "Requires-Python": ">=3.10"}
REQUIRES = {"protobuf<8,>=6.31.1", "pillow<14,>=9.1"}
METADATA = (b"Metadata-Version: 2.4\nName: tfrecord-lite-tools\nVersion: 0.1.0\n"
            b"License-Expression: Apache-2.0\nLicense-File: LICENSE\nRequires-Python: >=3.10\n"
            b"Requires-Dist: protobuf<8,>=6.31.1\nRequires-Dist: pillow<14,>=9.1\n"
            b"Requires-Dist: pytest>=7; extra == \"dev\"\n"
            b"Description-Content-Type: text/markdown\n\n# tfrecord_lite\n")


def good_wheel() -> dict[str, bytes]:
    files = {name: b"x" for name in PACKAGE}
    files[f"{INFO}/METADATA"] = METADATA
    files[f"{INFO}/licenses/LICENSE"] = LICENSE
    return files


def wheel_problems(files: dict[str, bytes]) -> list[str]:
    return dist_check.check_wheel(files, want_package=PACKAGE, license_text=LICENSE,
                                  metadata_want=WANT, requires_want=REQUIRES)


def test_a_right_wheel_has_no_problems() -> None:
    assert wheel_problems(good_wheel()) == []


@pytest.mark.parametrize(
    ("drop", "expect"),
    [
        (f"{INFO}/licenses/LICENSE", "LICENSE is missing"),
        ("tfrecord_lite/py.typed", "py.typed is missing"),
        ("tfrecord_lite/_protos/example_pb2.py", "example_pb2.py is missing"),
        (f"{INFO}/METADATA", "METADATA is missing"),
    ],
)
def test_a_wheel_missing_a_file_fails(drop: str, expect: str) -> None:
    files = good_wheel()
    del files[drop]
    assert any(expect in p for p in wheel_problems(files)), wheel_problems(files)


def test_wrong_metadata_and_strays_fail() -> None:
    files = good_wheel()
    files[f"{INFO}/METADATA"] = METADATA.replace(b">=3.10", b">=3.9").replace(b"<14", b"<13")
    files["tests/test_x.py"] = b""
    files[f"{INFO}/licenses/LICENSE"] = b"MIT"
    problems = "\n".join(wheel_problems(files))
    assert "Requires-Python is ['>=3.9']" in problems
    assert "Requires-Dist" in problems
    assert "tests/test_x.py is outside the package" in problems
    assert "LICENSE differs" in problems


def test_an_sdist_without_proto_or_license_fails() -> None:
    protos = {"proto/tfrecord_lite/_protos/example.proto"}
    top = {"PKG-INFO", "pyproject.toml", "README.md", *dist_check.EXT_SOURCES}
    files = {n: b"x" for n in PACKAGE | protos | top}
    files["LICENSE"] = LICENSE
    kw = {"want_package": PACKAGE, "protos": protos, "license_text": LICENSE}
    assert dist_check.check_sdist(files, **kw) == []
    del files["proto/tfrecord_lite/_protos/example.proto"], files["LICENSE"]
    del files["tfrecord_lite/format/_speedups.c"]
    problems = "\n".join(dist_check.check_sdist(files, **kw))
    assert "sdist: LICENSE is missing" in problems and "example.proto is missing" in problems
    assert "sdist: tfrecord_lite/format/_speedups.c is missing" in problems


SO = "tfrecord_lite/format/_speedups.cpython-311-x86_64-linux-gnu.so"
TRACER_SO = "tfrecord_lite/pipeline/formats/_tracer.cpython-311-x86_64-linux-gnu.so"
SKIPPED = "tfrecord_lite: C speedups not built (gcc failed, exit status 1); using pure Python\n"


def test_the_c_core_is_in_a_compiled_wheel_and_its_source_is_not() -> None:
    both = {SO: b"elf", TRACER_SO: b"elf"}
    assert dist_check.check_ext(dict(good_wheel(), **both), compiled=True) == []
    assert "expected one compiled" in dist_check.check_ext(good_wheel(), compiled=True)[0]
    (missing,) = dist_check.check_ext(dict(good_wheel(), **{SO: b"elf"}), compiled=True)
    assert "expected one compiled tfrecord_lite/pipeline/formats/_tracer.* module" in missing
    with_source = dict(good_wheel(), **{SO: b"elf", "tfrecord_lite/format/_speedups.c": b""})
    assert "holds the C source" in dist_check.check_ext(with_source, compiled=True)[0]
    assert "yet holds" in dist_check.check_ext(with_source, compiled=False)[-1]


def test_the_wheel_built_without_a_compiler_says_so_and_lacks_only_the_c_core() -> None:
    compiled = dict(good_wheel(), **{SO: b"elf", TRACER_SO: b"elf", f"{INFO}/RECORD": b"1"})
    pure = dict(good_wheel(), **{f"{INFO}/RECORD": b"2"})
    assert dist_check.check_pure_build("build...\n" + SKIPPED, pure, compiled) == []
    problems = dist_check.check_pure_build("build...\n", pure, compiled)
    assert problems and "want one line" in problems[0]
    problems = dist_check.check_pure_build(SKIPPED, dict(pure, **{SO: b"elf"}), compiled)
    assert any("yet holds" in p for p in problems)
    pure["tfrecord_lite/__init__.py"] = b"other"
    assert "wheels differ in tfrecord_lite/__init__.py" in dist_check.check_pure_build(
        SKIPPED, pure, compiled)


def test_wheels_that_differ_in_a_file_or_its_bytes_fail() -> None:
    a = good_wheel()
    assert dist_check.compare_wheels(a, dict(a)) == []
    b = dict(a, **{"tfrecord_lite/extra.py": b""})
    b["tfrecord_lite/__init__.py"] = b"y"
    problems = dist_check.compare_wheels(a, b)
    assert any("extra.py" in p for p in problems)
    assert "wheels differ in tfrecord_lite/__init__.py" in problems


def test_archives_are_read_by_member_name(tmp_path: Path) -> None:
    whl = tmp_path / "x.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("tfrecord_lite/__init__.py", b"a")
    sdist = tmp_path / "x.tar.gz"
    with tarfile.open(sdist, "w:gz") as t:
        data = b"b"
        info = tarfile.TarInfo("tfrecord_lite_tools-0.1.0/LICENSE")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    assert dist_check.read_wheel(whl) == {"tfrecord_lite/__init__.py": b"a"}
    assert dist_check.read_sdist(sdist) == {"LICENSE": b"b"}


def test_the_tree_lists_the_gencode_and_py_typed() -> None:
    files = dist_check.tree_package_files()
    assert {"tfrecord_lite/py.typed", "tfrecord_lite/_protos/feature_pb2.pyi"} <= files
    assert not any("__pycache__" in f for f in files)


def _wheel_file(tag: str, *, purelib: bool) -> bytes:
    return (f"Wheel-Version: 1.0\nGenerator: setuptools\nRoot-Is-Purelib: "
            f"{str(purelib).lower()}\nTag: {tag}\n\n").encode()


def test_a_wheel_is_platform_tagged_exactly_when_it_holds_the_c_core() -> None:
    platform, pure = "cp311-cp311-linux_x86_64", "py3-none-any"
    compiled = dict(good_wheel(), **{SO: b"elf", TRACER_SO: b"elf"})
    compiled[f"{INFO}/WHEEL"] = _wheel_file(platform, purelib=False)
    name = f"tfrecord_lite_tools-0.1.0-{platform}.whl"
    assert dist_check.wheel_tag(f"dist/{name}") == platform
    assert dist_check.check_tag(name, compiled) == []
    plain = dict(good_wheel(), **{f"{INFO}/WHEEL": _wheel_file(pure, purelib=True)})
    assert dist_check.check_tag(f"tfrecord_lite_tools-0.1.0-{pure}.whl", plain) == []
    # built where the C core could not compile, yet tagged for the platform (setuptools' default
    # when setup.py declares extensions): the case pip would install as the compiled wheel
    pure_as_platform = dict(good_wheel(), **{f"{INFO}/WHEEL": _wheel_file(platform, purelib=False)})
    (problem,) = dist_check.check_tag(name, pure_as_platform)
    assert "holds no compiled C core yet is tagged cp311-cp311-linux_x86_64" in problem
    # the C core in a wheel tagged as pure, or marked purelib, or named apart from its WHEEL file
    compiled_as_pure = dict(compiled, **{f"{INFO}/WHEEL": _wheel_file(pure, purelib=True)})
    (problem,) = dist_check.check_tag(f"tfrecord_lite_tools-0.1.0-{pure}.whl", compiled_as_pure)
    assert "yet is tagged py3-none-any (purelib)" in problem
    purelib = dict(compiled, **{f"{INFO}/WHEEL": _wheel_file(platform, purelib=True)})
    assert "want the platform's tag" in dist_check.check_tag(name, purelib)[0]
    assert "its WHEEL file says Tag ['py3-none-any']" in dist_check.check_tag(
        name, dict(plain))[0]
    assert "expected one .dist-info/WHEEL" in dist_check.check_tag(name, good_wheel())[0]


def test_the_tag_check_runs_from_the_command_line_on_built_wheels(tmp_path: Path) -> None:
    good = tmp_path / "tfrecord_lite_tools-0.1.0-py3-none-any.whl"
    bad = tmp_path / "tfrecord_lite_tools-0.1.0-cp311-cp311-linux_x86_64.whl"
    for path, tag in ((good, "py3-none-any"), (bad, "cp311-cp311-linux_x86_64")):
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("tfrecord_lite/__init__.py", b"")
            z.writestr(f"{INFO}/WHEEL", _wheel_file(tag, purelib=tag.endswith("any")))
    assert dist_check.main_tag([str(good)]) == 0
    assert dist_check.main_tag([str(good), str(bad)]) == 1
