"""Is the live generation sound? Every file a search reads, read back and checked.

``index verify`` runs :func:`verify_index`; a searcher about to switch to a
new generation runs the cheap half, :func:`refusal`. A file is found damaged
by what it should hold, not only by its hash, so an index written before
file lists existed (or whose list is stale) is checked too:

* the file list or snapshot manifest, where one describes the live commit:
  every file present, of its size, with its SHA-256;
* Whoosh's table of contents, then per segment its terms (``.trm``), every
  posting list (``.pst``), every stored document (``_stored.col``), every
  field length and every column value (``.col``);
* ``vectors.npz`` and ``query-encoder.npz``: loadable, of the same model and
  dimensions, and a vector for every article; the spelling vocabulary readable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from whoosh import index as whoosh_index

from indexer.index.files import recorded_files, size_problems
from indexer.index.manifest import MANIFEST, sha256_of
from indexer.index.store import IndexStore

__all__ = ["Problem", "verify_index", "verify_generation", "refusal"]

#: How often :func:`refusal` looks again when an update committed while it looked.
RECHECKS = 5


@dataclass(frozen=True)
class Problem:
    """One damaged or inconsistent file: its path and what is wrong."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


#: A further check of a generation's own files (index, folder) -> problems, e.g. of its article
#: vectors (:func:`indexer.semantic.checks.semantic_problems`, which the command line passes).
Check = Callable[[whoosh_index.Index, Path], list["Problem"]]


def verify_index(root: Path, checks: Sequence[Check] = ()) -> tuple[Path | None, list[Problem]]:
    """Check the live generation of the index folder ``root``; return it and its problems (none: sound).

    :param checks: more checks of the generation, beyond Whoosh's files and the file lists.
    :raises IndexStoreError: there is no index at ``root``.
    """
    store = IndexStore(root)
    pointer = store.require_pointer()
    folder = root / pointer.dir
    if not folder.is_dir():
        return folder, [Problem(str(store.pointer_path), f"names {pointer.dir}, which does not exist")]
    return folder, verify_generation(folder, checks)


def verify_generation(folder: Path, checks: Sequence[Check] = ()) -> list[Problem]:
    """Every problem found in one generation (or snapshot) folder."""
    problems = _listed_files(folder, hashes=True)
    try:
        ix = whoosh_index.open_dir(str(folder))
    except Exception as error:  # an unreadable table of contents raises what unpickling raises
        return [*problems, Problem(str(_toc(folder)), f"table of contents unreadable ({_reason(error)})")]
    try:
        problems += _whoosh_problems(ix, folder)
        problems += _vocabulary_problems(folder)
        for check in checks:
            problems += check(ix, folder)
    finally:
        ix.close()
    first = {problem.path: problem for problem in reversed(problems)}  # one line per file: what was found first
    return [problem for problem in problems if first[problem.path] is problem]


def refusal(folder: Path, ix: whoosh_index.Index) -> str | None:
    """Why a searcher must not switch to ``folder``, in one line naming the file; None if it may.

    Cheap enough for every switch: a ``stat`` per listed file, and a read of
    each segment's first and last document. A damage these miss surfaces as an
    error on first use, and ``index verify`` finds it. A file that is missing
    is not a verdict here: an update's merge deletes files as it commits, and
    the optional ones (query encoder, vocabulary) have their fallbacks.
    """
    for _ in range(RECHECKS):
        commit = ix.latest_generation()
        problems = [problem for problem in _listed_files(folder, hashes=False) if not problem.reason.startswith("missing")]
        problems = problems or _whoosh_problems(ix, folder, sample=True)
        if not problems:
            return None
        if ix.latest_generation() == commit:  # not a commit landing while we looked: real damage
            return str(problems[0])
    return None  # commits kept landing; opening the searcher will tell


def _listed_files(folder: Path, hashes: bool) -> list[Problem]:
    """Check the snapshot manifest, or the file list if it describes the live commit."""
    files: dict[str, Any] | None = None
    try:
        files = json.loads((folder / MANIFEST).read_text("utf-8")).get("files")
    except FileNotFoundError:
        try:
            files = recorded_files(folder, whoosh_index.open_dir(str(folder)).latest_generation())
        except Exception:
            files = None  # the table of contents is checked on its own
    except (OSError, ValueError, AttributeError) as error:
        return [Problem(str(folder / MANIFEST), f"unreadable ({_reason(error)})")]
    if not files:
        return []
    problems = [Problem(*line.split(": ", 1)) for line in size_problems(folder, files)]
    if hashes:
        for name, expected in files.items():
            path = folder / name
            if any(problem.path == str(path) for problem in problems):
                continue
            try:
                if sha256_of(path) != expected["sha256"]:
                    problems.append(Problem(str(path), "contents differ from those written (SHA-256 mismatch)"))
            except OSError as error:
                problems.append(Problem(str(path), f"unreadable ({_reason(error)})"))
    return problems


def _whoosh_problems(ix: whoosh_index.Index, folder: Path, sample: bool = False) -> list[Problem]:
    """Read back every segment's terms, postings, stored documents, lengths and columns (or a sample)."""
    problems: list[Problem] = []
    schema = ix.schema
    try:
        reader = ix.reader()
    except Exception as error:
        return _unopenable_segments(ix, folder) or [Problem(str(_toc(folder)), f"segments cannot be opened ({_reason(error)})")]
    try:
        for leaf, _ in reader.leaf_readers():
            problems += _segment_problems(leaf, folder, schema, sample)
    finally:
        reader.close()
    return problems


def _segment_problems(leaf: Any, folder: Path, schema: Any, sample: bool) -> list[Problem]:
    """Read one segment back, file by file; a failure names the file that failed."""
    problems: list[Problem] = []
    segment = leaf.segment().segment_id()
    count = leaf.doc_count_all()
    docnums = sorted({0, count - 1}) if sample and count else list(range(count))

    def check(suffix: str, read: Callable[..., object], *arguments: Any) -> None:
        try:
            read(*arguments)
        except Exception as error:  # Whoosh reports a damaged file with whatever its decoder raised
            problems.append(Problem(str(folder / f"{segment}{suffix}"), f"unreadable ({_reason(error)})"))

    check("._stored.col", lambda: [leaf.stored_fields(n) for n in docnums])
    for name in schema.names():
        if schema[name].scorable:
            check(f"._{name}_len.col", _lengths, leaf, name, docnums)
        if schema[name].column_type and leaf.has_column(name):
            check(f".{name}.col", _column, leaf, name, docnums)
    if not sample:
        check(".trm", lambda: list(leaf.all_terms()))
        if not problems or not problems[-1].path.endswith(".trm"):
            check(".pst", lambda: [list(leaf.postings(field, text).all_ids()) for field, text in leaf.all_terms()])
    return problems


def _unopenable_segments(ix: whoosh_index.Index, folder: Path) -> list[Problem]:
    """The segments whose terms file cannot even be opened (opening a segment reads it first)."""
    from whoosh.reading import SegmentReader

    problems = []
    for segment in ix._segments():
        try:
            SegmentReader(ix.storage, ix.schema, segment).close()
        except Exception as error:
            problems.append(Problem(str(folder / f"{segment.segment_id()}.trm"), f"unreadable ({_reason(error)})"))
    return problems


def _lengths(leaf: Any, name: str, docnums: list[int]) -> None:
    for docnum in docnums:
        leaf.doc_field_length(docnum, name, 0)  # (None is a length of 0: only a truncation the file list sees tells)


def _column(leaf: Any, name: str, docnums: list[int]) -> None:
    column = leaf.column_reader(name)
    for docnum in docnums:
        column[docnum]


def _vocabulary_problems(folder: Path) -> list[Problem]:
    from indexer.index.vocabulary import VOCABULARY_FILE, Vocabulary

    if (folder / VOCABULARY_FILE).exists() and Vocabulary.load(folder) is None:
        return [Problem(str(folder / VOCABULARY_FILE), "unreadable: rebuild for spelling suggestions")]
    return []


def _load(load: Callable[[Path], Any], folder: Path) -> Any:
    try:
        return load(folder)
    except ImportError:
        raise
    except Exception:  # a damaged zip raises BadZipFile, among others
        return None


def _toc(folder: Path) -> Path:
    tocs = sorted(folder.glob("_*_*.toc"), key=lambda path: int(path.stem.rsplit("_", 1)[1]) if path.stem.rsplit("_", 1)[1].isdigit() else -1)
    return tocs[-1] if tocs else folder / "_MAIN_0.toc"


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

