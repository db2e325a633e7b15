"""Ranking by meaning is what `article-search index build` does unless told otherwise.

The command line's default is what a student gets from `make run`; the choice
of `--semantic` or `--no-semantic` is remembered by the index; and where the
model is missing, a build says so once and ranks by words.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import indexer.semantic.model
from indexer import IndexStore, build_index
from indexer.semantic.model import INSTALL_HINT
from indexer.writing.build import has_vectors
from webapp.cli import cli


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_an_index_built_by_words_alone_before_gains_meaning_at_its_next_build(corpus_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    build_index(corpus_dir, index)  # as every index was built before meaning was the default
    assert not has_vectors(index) and IndexStore(index).ranking_choice() is None

    code, _, err = run("index", "update", "--corpus", str(corpus_dir), "--index", str(index))
    assert code == 0 and not has_vectors(index), "an update stays incremental"
    assert "ranks by words alone: run `article-search index build`" in err

    code, out, err = run("index", "build", "--corpus", str(corpus_dir), "--index", str(index))
    assert code == 0, err
    assert has_vectors(index), "the next build ranks by meaning as well"
    assert "ranking by words alone" not in err
    assert IndexStore(index).ranking_choice() is None, "a default is not a choice to remember"
    code, _, err = run("index", "update", "--corpus", str(corpus_dir), "--index", str(index))
    assert code == 0 and "ranks by words alone" not in err


def test_no_semantic_is_remembered_until_asked_otherwise(corpus_dir: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    code, _, err = run("index", "build", "--no-semantic", "--corpus", str(corpus_dir), "--index", str(index))
    assert code == 0, err
    assert json.loads((index / "settings.json").read_text()) == {"semantic": False}
    for command in ("build", "update"):  # no flag: as chosen, and no nagging about it
        code, _, err = run("index", command, "--corpus", str(corpus_dir), "--index", str(index))
        assert code == 0 and not has_vectors(index) and err == "", err
    assert IndexStore(index).ranking_choice() is False


def test_without_the_model_a_build_says_so_once_and_ranks_by_words(
    corpus_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(indexer.semantic.model, "find_model", lambda: None)
    index = tmp_path / "index"
    code, out, err = run("index", "build", "--corpus", str(corpus_dir), "--index", str(index))
    assert code == 0 and "indexed" in out
    notices = [line for line in err.splitlines() if line]
    assert notices == [f"ranking by words alone: the embedding model is not installed: {INSTALL_HINT}"]
    assert not has_vectors(index)
    code, _, err = run("search", "drug tolerance", "--index", str(index), "--json")
    assert code == 0
    code, _, err = run("index", "build", "--semantic", "--corpus", str(corpus_dir), "--index", str(index))
    assert code == 1 and "not installed" in err, "asked for by name, meaning without the model is an error"
