"""The optional C core (tfrecord_lite/format/_speedups.c, and the mask tracer
tfrecord_lite/pipeline/formats/_tracer.c): each built where a compiler works, skipped with one
line where none does, so ``pip install .`` succeeds either way and the package then
runs its pure-Python reference path; the wheel's tag says which it holds (platform-tagged with
the C core, ``py3-none-any`` without).  Everything else about the package is in pyproject.toml."""

from __future__ import annotations

import os
import re
import sys

from setuptools import Extension, setup
from setuptools.command.bdist_wheel import bdist_wheel
from setuptools.command.build_ext import build_ext

SKIP_LINE = "tfrecord_lite: C speedups not built ({}); using pure Python"


class OptionalBuildExt(build_ext):
    """build_ext that reports a failed build in one line instead of failing the install."""

    def run(self) -> None:
        if os.environ.get("TFRECORD_LITE_NO_EXT", "") not in ("", "0"):
            self._skip("TFRECORD_LITE_NO_EXT is set")
            return
        try:
            super().run()
        except Exception as exc:  # no compiler at all (DistutilsPlatformError and the like)
            self._skip(_reason(exc))

    def build_extension(self, ext: Extension) -> None:
        if not self.extensions:  # one failed: the others go too (one line, one path)
            return
        try:
            super().build_extension(ext)
        except Exception as exc:  # CompileError, LinkError, a missing Python.h
            self._skip(_reason(exc))

    def _skip(self, reason: str) -> None:
        print(SKIP_LINE.format(reason), file=sys.stderr, flush=True)
        self.extensions = []
        # nothing compiled: the distribution has no extension, so its wheel is a pure one
        self.distribution.ext_modules = []


class TaggedBdistWheel(bdist_wheel):
    """bdist_wheel that decides pure or platform after the build, not before: a wheel whose
    C core could not compile is ``py3-none-any`` (in purelib), so an index or a wheel cache
    never offers a pure-Python wheel as the platform's compiled one."""

    def run(self) -> None:
        if not self.skip_build:
            self.reinitialize_command("build_ext").inplace = False
            self.run_command("build")
        self.root_is_pure = not self.distribution.has_ext_modules()
        super().run()


def _reason(exc: BaseException) -> str:
    """The failure in a few words: a failed compiler command by its program and exit status,
    not its whole command line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    failed = re.search(r"[Cc]ommand '\[?'?([^',\]]+).*(exit (?:status|code) -?\d+)", text)
    if failed:
        return f"{os.path.basename(failed.group(1))} failed, {failed.group(2)}"
    return text if len(text) <= 120 else text[:117] + "..."


# -g0: no debug info, so the built file does not hold the build folder's path and a wheel built
# from the sdist is byte for byte the one built from the tree (make dist-check)
FLAGS = ["-O3", "-g0", "-Wall", "-Wextra"] if os.name != "nt" else []

setup(
    ext_modules=[
        Extension(
            "tfrecord_lite.format._speedups",
            sources=["tfrecord_lite/format/_speedups.c"],
            extra_compile_args=FLAGS,
        ),
        Extension(  # no fused multiply-adds: the same roundings as Python's float operations
            "tfrecord_lite.pipeline.formats._tracer",
            sources=["tfrecord_lite/pipeline/formats/_tracer.c"],
            extra_compile_args=FLAGS + (["-ffp-contract=off"] if os.name != "nt" else []),
            libraries=["m"] if os.name != "nt" else [],
        ),
    ],
    cmdclass={"build_ext": OptionalBuildExt, "bdist_wheel": TaggedBdistWheel},
)
