"""A disk that fails: file writes or reads that raise EIO, for the tests of what a failing disk does.

A real failing disk cannot be arranged on a test machine, so the one Python
call every file here is written or read through (``open``) is wrapped: files
whose path matches a pattern raise ``OSError(EIO)`` once ``after`` bytes have
gone through. Copies are made to take the same road (``shutil`` otherwise
copies with ``sendfile``, below Python). In a subprocess, :data:`PREAMBLE`
installs it from the environment before the real command runs::

    python -c PREAMBLE index build ...   # FAULT_EIO_PATH, FAULT_EIO_MODE, FAULT_EIO_AFTER
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import gc
import io
import os
import re
import shutil
import sys
from typing import Any, Iterator

import pytest

__all__ = ["PREAMBLE", "failing_disk", "eio_environment", "collect_leaked_files"]

#: Run as ``python -c PREAMBLE <article-search arguments>`` with the FAULT_EIO_* variables set.
PREAMBLE = (
    "import os, sys, fault_injection; "
    "fault_injection.install(os.environ['FAULT_EIO_PATH'], os.environ.get('FAULT_EIO_MODE', 'write'), "
    "int(os.environ.get('FAULT_EIO_AFTER', '0'))); "
    "from webapp.cli import main; sys.argv[0] = 'article-search'; main()"
)

_real_open = builtins.open


class _Budget:
    def __init__(self, after: int) -> None:
        self.left = after

    def spend(self, count: int, path: str) -> None:
        if count > self.left:
            raise OSError(errno.EIO, os.strerror(errno.EIO), path)
        self.left -= count


class _FailingFile:
    """A file object whose writes (or reads) fail once the budget is spent; all else passes through."""

    def __init__(self, handle: Any, path: str, budget: _Budget, mode: str) -> None:
        self._handle, self._path, self._budget, self._mode = handle, path, budget, mode

    def write(self, data: Any) -> int:
        if self._mode == "write":
            self._budget.spend(len(data), self._path)
        return self._handle.write(data)  # type: ignore[no-any-return]

    def read(self, size: int = -1) -> Any:
        data = self._handle.read(size)
        if self._mode == "read":
            self._budget.spend(len(data), self._path)
        return data

    def readinto(self, buffer: Any) -> int:
        count = self._handle.readinto(buffer)
        if self._mode == "read":
            self._budget.spend(count or 0, self._path)
        return count  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._handle)

    def __enter__(self) -> "_FailingFile":
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.close()


def install(pattern: str, mode: str = "write", after: int = 0) -> None:
    """From now on in this process, fail ``mode`` ("write" or "read") on paths matching ``pattern``."""
    matcher, budget = re.compile(pattern), _Budget(after)
    writing = ("w", "a", "x", "+")

    def open_failing(file: Any, open_mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = _real_open(file, open_mode, *args, **kwargs)
        if isinstance(file, int) or not matcher.search(os.fspath(file)):
            return handle
        if (mode == "write") == any(flag in open_mode for flag in writing):
            return _FailingFile(handle, os.fspath(file), budget, mode)
        return handle

    builtins.open = io.open = open_failing  # type: ignore[assignment]
    shutil._USE_CP_SENDFILE = False  # type: ignore[attr-defined]  # copies go through open() too


def uninstall() -> None:
    builtins.open = io.open = _real_open
    shutil._USE_CP_SENDFILE = sys.platform.startswith("linux")  # type: ignore[attr-defined]


@contextlib.contextmanager
def failing_disk(pattern: str, mode: str = "read", after: int = 0) -> Iterator[None]:
    """Within the block, in this process, fail ``mode`` on paths matching ``pattern``."""
    install(pattern, mode, after)
    try:
        yield
    finally:
        uninstall()


def eio_environment(pattern: str, mode: str = "write", after: int = 0) -> dict[str, str]:
    """The environment for a subprocess run with :data:`PREAMBLE`."""
    tests = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(tests)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([tests, root]), "FAULT_EIO_PATH": pattern,
            "FAULT_EIO_MODE": mode, "FAULT_EIO_AFTER": str(after)}


@pytest.fixture(autouse=True)
def collect_leaked_files() -> Iterator[None]:
    """Collect what Whoosh left open after an injected fault, while its warning is ignored, not in a later test.

    (Imported by the fault tests; autouse applies wherever it is imported.)
    """
    yield
    gc.collect()
