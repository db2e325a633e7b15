"""Vectors kept as a build embeds them, so a killed or interrupted build continues where it stopped.

Embedding is most of a semantic build's time (hours at 100,000 articles), and
a build's own folder is cleared by the next build, so finished chunks are
kept in the index root instead: ``.embedding-checkpoint/<model>/``, one
file per chunk (content hashes and float32 rows, the model's name inside),
each written atomically, never changed after. The next build takes every
row it still needs from them, as it takes unchanged articles' rows from the
live index, and clears the folder once its generation is published. A file
that cannot be read whole (a crash mid-write leaves only a dot-named
temporary, but a disk can still damage one) is skipped: its articles are
embedded again. Only the process holding the index's write lock writes here.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from indexer.index.atomic import atomic_file

if TYPE_CHECKING:
    import numpy as np

__all__ = ["CHECKPOINT_DIR", "EmbeddingCheckpoint", "clear_checkpoint"]

log = logging.getLogger(__name__)

CHECKPOINT_DIR = ".embedding-checkpoint"


class EmbeddingCheckpoint:
    """The chunks of vectors one model made for builds of the index at ``root`` that did not finish."""

    def __init__(self, root: Path, model: str) -> None:
        self.root = root / CHECKPOINT_DIR
        self.model = model
        # Named for the model (a digest: model names hold ':' and '/'), so another model's rows are never read.
        self.folder = self.root / hashlib.sha256(model.encode("utf-8")).hexdigest()[:16]
        self._serial = itertools.count()

    def load(self, wanted: Iterable[str]) -> dict[str, "np.ndarray"]:
        """The checkpointed rows of the content hashes in ``wanted``, from every readable chunk file."""
        wanted = set(wanted)
        found: dict[str, np.ndarray] = {}
        for path in sorted(self.folder.glob("chunk-*.npz")) if self.folder.is_dir() else []:
            rows = self._read(path)
            if rows is None:
                log.warning("skipped the damaged embedding checkpoint file %s (its articles are embedded again)", path)
                continue
            found.update((digest, vector) for digest, vector in rows.items() if digest in wanted)
        return found

    def add(self, digests: Sequence[str], vectors: "np.ndarray") -> None:
        """Keep one finished chunk's rows, durably, before the build goes on."""
        import numpy as np

        self.folder.mkdir(parents=True, exist_ok=True)
        hashes = np.array([bytes.fromhex(digest) for digest in digests], dtype="S16")
        name = f"chunk-{os.getpid()}-{next(self._serial):06d}-{os.urandom(4).hex()}.npz"
        with atomic_file(self.folder / name) as handle:
            np.savez(handle, hashes=hashes, vectors=np.asarray(vectors, dtype=np.float32), model=np.array(self.model))

    def clear(self) -> None:
        clear_checkpoint(self.root.parent)

    def _read(self, path: Path) -> "dict[str, np.ndarray] | None":
        import numpy as np

        try:
            # Opened here, not by np.load, which leaves a file it cannot parse open.
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
                hashes, vectors, model = data["hashes"], data["vectors"], str(data["model"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError):
            return None
        if model != self.model or vectors.ndim != 2 or len(hashes) != len(vectors) or hashes.dtype != np.dtype("S16"):
            return None
        if not np.isfinite(vectors).all():
            return None
        # (Through uint8: numpy drops a fixed-width string's trailing zero bytes, one hash in 256.)
        digests = hashes.view("u1").reshape(len(hashes), 16)
        return {bytes(digest).hex(): vector for digest, vector in zip(digests, vectors)}


def clear_checkpoint(root: Path) -> None:
    """Remove every model's checkpoint from the index at ``root``: a published generation holds what it had."""
    shutil.rmtree(root / CHECKPOINT_DIR, ignore_errors=True)
