"""Write the files beside each segment (:mod:`indexer.index.segment_files`) that a segment lacks.

After a build's commit, and after an update's: each segment that has no whole
postings file or listing file gets them, a process a segment when there are
several (a parallel build writes one segment a process): the work is decoding
what Whoosh stored, in Python, so threads would take turns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.index import listings, term_arrays
from indexer.index.segment_files import path_for, whole

__all__ = ["write_missing", "KINDS"]

#: The kinds of file, each a module with SUFFIX, MAGIC and write(folder, segment reader).
KINDS = (term_arrays, listings)


def write_missing(folder: Path, reader: Any, workers: int = 1, pieces: bool = False) -> list[Path]:
    """Write each kind's file for each segment of ``reader`` (an index's reader) that has none (whole) yet.

    :param pieces: the index ranks by meaning: keep each passage's word pieces in the listings
        (:mod:`indexer.semantic.pieces`), so that searches need not cut the passages themselves.
    """
    leaves = {leaf.segment().segment_id(): leaf for leaf, _ in reader.leaf_readers() if leaf.segment() is not None}
    wanted = [segment for segment in leaves
              if any(not whole(path_for(folder, segment, kind.SUFFIX), kind.MAGIC) for kind in KINDS)]
    if workers > 1 and len(wanted) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # (forked, as Whoosh's own parallel writer is: spawned workers would import the caller's
        # main module again, which a script without a __main__ guard cannot survive)
        with ProcessPoolExecutor(min(workers, len(wanted)), mp_context=multiprocessing.get_context("fork")) as pool:
            return [path for paths in pool.map(_write_segment, [folder] * len(wanted), wanted, [pieces] * len(wanted)) for path in paths]
    cut = _cutter(pieces, wanted)
    return [path for segment in wanted for path in _write_kinds(folder, leaves[segment], cut)]


def _cutter(pieces: bool, wanted: list[str]) -> listings.PieceCutter | None:
    """The model's tokenizer, where pieces are asked for and a listing is to be written (None without the model)."""
    if not (pieces and wanted):
        return None
    from indexer.semantic.pieces import piece_cutter

    return piece_cutter()


def _write_segment(folder: Path, segment_id: str, pieces: bool = False) -> list[Path]:
    """Open the index in ``folder`` and write one segment's files (a worker process's task)."""
    from whoosh import index as whoosh_index

    with whoosh_index.open_dir(str(folder)).reader() as reader:
        leaf = next(leaf for leaf, _ in reader.leaf_readers() if leaf.segment().segment_id() == segment_id)
        return _write_kinds(folder, leaf, _cutter(pieces, [segment_id]))


def _write_kinds(folder: Path, leaf: Any, cut: listings.PieceCutter | None = None) -> list[Path]:
    segment = leaf.segment().segment_id()
    missing = [kind for kind in KINDS if not whole(path_for(folder, segment, kind.SUFFIX), kind.MAGIC)]
    return [listings.write(folder, leaf, cut) if kind is listings else kind.write(folder, leaf) for kind in missing]
