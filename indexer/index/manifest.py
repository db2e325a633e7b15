"""A snapshot's manifest: every file with its size and SHA-256, written last.

Readers check a published snapshot against it before serving it, so one
copied half-way (by rsync, say) is refused rather than served.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from indexer.index.errors import SnapshotError

__all__ = ["MANIFEST", "snapshot_name", "is_snapshot", "sha256_of", "verify_snapshot"]

MANIFEST = "manifest.json"
_SNAPSHOT_NAME = re.compile(r"gen-\d+-[0-9a-f]{12}")


def snapshot_name(generation: int, content_hash: str) -> str:
    """The folder name of a snapshot: its generation and the start of its corpus hash."""
    return f"gen-{generation:06d}-{content_hash[:12]}"


def is_snapshot(name: str) -> bool:
    return _SNAPSHOT_NAME.fullmatch(name) is not None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_snapshot(folder: Path) -> dict[str, object]:
    """Check a snapshot against its manifest; return the manifest or raise SnapshotError."""
    manifest_path = folder / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except FileNotFoundError:
        raise SnapshotError(f"snapshot {folder} is incomplete (no {MANIFEST}); publish it again") from None
    except ValueError:
        raise SnapshotError(f"snapshot {folder} has an unreadable {MANIFEST}; publish it again") from None
    for name, expected in manifest.get("files", {}).items():
        path = folder / name
        try:
            if not path.is_file() or path.stat().st_size != expected["size"]:
                raise SnapshotError(f"snapshot {folder} is incomplete ({name} missing or of the wrong size); publish it again")
            if sha256_of(path) != expected["sha256"]:
                raise SnapshotError(f"snapshot {folder} fails its hash check ({name}); publish it again")
        except OSError as error:  # a failing disk (EIO) under the replica: refused like a damaged file
            raise SnapshotError(f"snapshot {folder} cannot be read ({name}: {error.strerror}); check the disk, or publish it again") from None
    return manifest
