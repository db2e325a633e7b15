"""A disk that is full or failing, told in one line that says what to do.

Builds, updates and publishing all write next to a live index. When the disk
refuses (``ENOSPC``, ``EDQUOT``: full; ``EIO``: the device failed a read or a
write; ``EROFS``: remounted read-only, as ext4 does after errors), each of them
has already left the live index as it was; what the user needs is which disk,
what to do, and that nothing was lost.
"""

from __future__ import annotations

import errno
from pathlib import Path

__all__ = ["DISK_FULL", "DISK_FAILING", "disk_problem"]

DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})
DISK_FAILING = frozenset({errno.EIO, errno.EROFS})


def disk_problem(error: BaseException, where: Path, again: str, kept: str = "the live index is unchanged") -> str | None:
    """The one-line explanation of ``error`` if it is a full or failing disk under ``where``, else None.

    :param again: what to do once the disk is fixed, e.g. ``"build again"``.
    :param kept: what the failure left as it was.
    """
    if not isinstance(error, OSError):
        return None
    if error.errno in DISK_FULL:
        return f"the disk holding {where} is full; free space and {again} ({kept})"
    if error.errno in DISK_FAILING:
        name = f" on {error.filename}" if error.filename else ""
        return (
            f"the disk holding {where} failed a read or write ({error.strerror}{name}); "
            f"check the disk (dmesg, smartctl) and {again} ({kept})"
        )
    return None
