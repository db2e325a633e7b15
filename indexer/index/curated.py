"""The maintainers' curation as the index keeps it: ``curation.json`` in each generation folder.

Copied from the corpus's ``synonyms.txt`` and ``pins.yaml`` by every build and
update (:mod:`indexer.corpus.curation`), so searches read it from the
generation they search and a replica gets it with the snapshot.
"""

from __future__ import annotations

import logging
from pathlib import Path

from indexer.corpus.curation import Curation
from indexer.index.atomic import write_atomically

log = logging.getLogger(__name__)

__all__ = ["CURATION_FILE", "save_curation", "load_curation"]

CURATION_FILE = "curation.json"


def save_curation(folder: Path, curation: Curation) -> bool:
    """Write ``curation`` into a generation folder; False when it already held the same."""
    if load_curation(folder) == curation and (folder / CURATION_FILE).exists():
        return False
    write_atomically(folder / CURATION_FILE, curation.to_json().encode("utf-8"))
    return True


def load_curation(folder: Path) -> Curation:
    """The curation a generation was written with (none for an index built before curation existed)."""
    try:
        return Curation.from_json((folder / CURATION_FILE).read_text("utf-8"))
    except FileNotFoundError:
        return Curation()
    except (OSError, ValueError, TypeError, AttributeError) as error:
        log.warning("%s is unreadable (%s): searching without synonyms and pins until the next update", folder / CURATION_FILE, error)
        return Curation()
