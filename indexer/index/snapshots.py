"""Publish the live index as immutable, verified snapshots for replicas to serve.

A snapshot folder looks like an index folder (see :mod:`indexer.index.store`), so
``SearchService`` serves it unchanged::

    CURRENT                        pointer to the newest complete snapshot (replaced atomically)
    gen-000012-3f9a0c1d2e4b/       one generation's files plus manifest.json
    gen-000011-77c1e0a9b3f2/       kept for the grace period, then pruned

``manifest.json`` is written last and lists every file with its size and
SHA-256, so a snapshot copied half-way (by rsync, say) is refused by
:func:`verify_snapshot` rather than served.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from indexer.index.disk import disk_problem
from indexer.index.errors import SnapshotError
from indexer.index.manifest import MANIFEST, sha256_of, snapshot_name, verify_snapshot
from indexer.index.store import IndexStore, Pointer

__all__ = ["Snapshot", "SnapshotError", "publish_index", "verify_snapshot", "MANIFEST"]

#: Old snapshots stay this long after being replaced, for replicas still switching.
GRACE_SECONDS = 600.0


@dataclass(frozen=True)
class Snapshot:
    path: Path
    generation: int
    documents: int
    content_hash: str
    created: bool  # False when this generation was already published


def _corpus_hash(index_dir: Path, pointer: Pointer) -> str:
    """Hash of every indexed (path, content hash) pair: equal corpora, equal hashes."""
    from whoosh import index as whoosh_index

    ix = whoosh_index.open_dir(str(index_dir / pointer.dir))
    digest = hashlib.sha256()
    with ix.reader() as reader:
        paths, hashes = reader.column_reader("path"), reader.column_reader("content_hash")
        for pair in sorted(f"{paths[n]}\0{hashes[n]}" for n in reader.all_doc_ids()):
            digest.update(pair.encode() + b"\n")
    return digest.hexdigest()


def publish_index(index_dir: Path, to: Path, *, grace_seconds: float = GRACE_SECONDS, lock_timeout: float = 30.0) -> Snapshot:
    """Copy the live generation into ``to`` as a verified snapshot and point ``CURRENT`` at it.

    :param index_dir: the index folder that builds and updates write.
    :param to: the snapshot folder replicas serve (``serve --index-from``).
    :param grace_seconds: how long replaced snapshots are kept before pruning.
    :raises SnapshotError: the disk under ``to`` (or the index) is full or failing; nothing was published.
    """
    try:
        return _publish(index_dir, to, grace_seconds, lock_timeout)
    except OSError as error:
        problem = disk_problem(error, to, "publish again", kept="replicas keep serving the snapshot they have")
        if problem is None:
            raise
        raise SnapshotError(problem) from None


def _publish(index_dir: Path, to: Path, grace_seconds: float, lock_timeout: float) -> Snapshot:
    store = IndexStore(index_dir)
    to.mkdir(parents=True, exist_ok=True)
    with store.write_lock(lock_timeout):  # no update may change files mid-copy
        pointer = store.require_pointer()
        source = index_dir / pointer.dir
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=to))
        try:
            files = {}
            for item in sorted(source.iterdir()):
                # Not the write lock, nor dot files such as the update ledger: replicas only read.
                if item.is_file() and not item.name.endswith("WRITELOCK") and not item.name.startswith("."):
                    shutil.copy2(item, staging / item.name)
                    files[item.name] = {"size": item.stat().st_size, "sha256": sha256_of(staging / item.name)}
            content_hash = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
            corpus_hash = _corpus_hash(index_dir, pointer)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    name = snapshot_name(pointer.generation, content_hash)
    final = to / name
    current = IndexStore(to).pointer()
    if final.exists() and current is not None and current.dir == name:
        shutil.rmtree(staging, ignore_errors=True)
        return Snapshot(final, pointer.generation, pointer.documents, content_hash, created=False)
    manifest = {
        "generation": pointer.generation,
        "documents": pointer.documents,
        "schema_version": pointer.schema_version,
        "built_at": pointer.built_at,
        "updated_at": pointer.updated_at,
        "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "corpus_hash": corpus_hash,
        "content_hash": content_hash,
        "files": files,
    }
    try:
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # a failed publish leaves no half snapshot behind
        raise
    IndexStore(to).write_pointer(dataclasses.replace(pointer, dir=name))
    _prune(to, keep=name, grace_seconds=grace_seconds)
    return Snapshot(final, pointer.generation, pointer.documents, content_hash, created=True)


def _prune(to: Path, keep: str, grace_seconds: float) -> None:
    """Remove snapshots replaced more than ``grace_seconds`` ago, and stale staging folders."""
    now = time.time()
    snapshots = sorted((path for path in to.glob("gen-*") if path.is_dir()), key=lambda path: path.stat().st_mtime)
    # A snapshot was replaced when the next newer one was published.
    for older, newer in zip(snapshots, snapshots[1:]):
        if older.name != keep and now - newer.stat().st_mtime > grace_seconds:
            shutil.rmtree(older, ignore_errors=True)
    for staging in to.glob(".incoming-*"):
        if now - staging.stat().st_mtime > grace_seconds:
            shutil.rmtree(staging, ignore_errors=True)
