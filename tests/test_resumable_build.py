"""A semantic build stopped while embedding (Ctrl-C, SIGKILL) keeps what it embedded, and a rerun continues.

Real `article-search index build` processes and real signals. The live index
serves its old generation throughout; the rerun embeds only the articles the
stopped build had not checkpointed, and its vectors equal an uninterrupted
build's.
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from indexer.index.store import IndexStore
from indexer.semantic.checkpoint import CHECKPOINT_DIR, EmbeddingCheckpoint
from support.embedding import (
    ARTICLES,
    build_vectors,
    checkpoint_files,
    embedding_corpus,
    live_vectors,
    lowest_cosine,
    reference_vectors,
    start_build,
    wait_for_chunks,
)
from support.processes import group_members

pytestmark = pytest.mark.slow

#: Articles of the live index before the build that is stopped: their vectors are reused, not embedded.
OLD = 16
STOPPED = re.compile(r"^stopped: (\d+) of (\d+) articles' vectors are kept in (.+); run `article-search index build` again "
                     r"to continue from them \(the live index is unchanged\)$")


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return reference_vectors(tmp_path_factory.mktemp("reference"))


def _live_index(tmp_path: Path) -> tuple[Path, Path, int]:
    """An index of the first OLD articles, then the corpus grown to ARTICLES: (corpus, index, live generation)."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    build_vectors(embedding_corpus(corpus, OLD), index)
    embedding_corpus(corpus)
    pointer = IndexStore(index).require_pointer()
    return corpus, index, pointer.generation


def _still_serves(index: Path, generation: int) -> None:
    pointer = IndexStore(index).require_pointer()
    assert (pointer.generation, pointer.documents) == (generation, OLD)
    assert len(live_vectors(index)) == OLD


def test_ctrl_c_while_embedding_keeps_the_vectors_and_a_rerun_continues(tmp_path: Path, reference) -> None:  # type: ignore[no-untyped-def]
    corpus, index, generation = _live_index(tmp_path)
    build = start_build(corpus, index)
    wait_for_chunks(index, 1, build)
    os.killpg(build.pid, signal.SIGINT)  # what Ctrl-C at a terminal does: the whole group
    _, stderr = build.communicate(timeout=30)
    assert build.returncode == 130, stderr
    stopped = STOPPED.match(stderr.strip().splitlines()[-1])
    assert stopped, stderr
    kept, total = int(stopped.group(1)), int(stopped.group(2))
    assert total == ARTICLES - OLD and 0 < kept < total
    assert Path(stopped.group(3)) == index / CHECKPOINT_DIR
    _still_serves(index, generation)
    assert not list(index.glob("tmp-*")), "the stopped build left its folder"

    vectors, summary = build_vectors(corpus, index)
    assert f"embedded {total - kept} articles; took {kept} from an interrupted build's checkpoint and {OLD} unchanged from the live index" in summary
    assert lowest_cosine(vectors, reference) > 1 - 1e-3
    assert not (index / CHECKPOINT_DIR).exists(), "the published build left its checkpoint"


def test_killed_build_keeps_its_vectors_its_workers_end_and_a_damaged_chunk_is_embedded_again(tmp_path: Path, reference) -> None:  # type: ignore[no-untyped-def]
    corpus, index, generation = _live_index(tmp_path)
    build = start_build(corpus, index)
    wait_for_chunks(index, 2, build)
    os.kill(build.pid, signal.SIGKILL)  # the build process alone, as the OOM killer would
    build.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while group_members(build.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not group_members(build.pid), "the killed build's embedding processes went on"
    _still_serves(index, generation)

    files = checkpoint_files(index)
    files[0].write_bytes(files[0].read_bytes()[:200])  # cut short, as a failing disk might
    (files[0].parent / "chunk-0-000000-00000000.npz").write_bytes(b"not a chunk")
    resumed = len(EmbeddingCheckpoint(index, reference.model).load(reference.rows))
    assert 0 < resumed < ARTICLES - OLD

    vectors, summary = build_vectors(corpus, index)
    assert f"embedded {ARTICLES - OLD - resumed} articles; took {resumed} from an interrupted build's checkpoint" in summary
    assert lowest_cosine(vectors, reference) > 1 - 1e-3
