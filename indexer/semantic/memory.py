"""Giving a layout's scratch memory back to the system, so that a worker's size is what it holds."""

from __future__ import annotations

import contextlib

__all__ = ["give_back_freed_memory"]


def give_back_freed_memory() -> None:
    """Return freed memory to the system: glibc keeps freed blocks under 32 MB, and each thread's
    heap keeps its own (a layout's float32 copies of the vectors, tens of MB at 100,000 articles)."""
    import ctypes
    import ctypes.util

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
