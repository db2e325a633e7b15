"""The evaluation harness's metrics (tests/eval/metrics.py) on hand-computed cases."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

import pytest

EVAL = Path(__file__).parent / "eval"


def _load(name: str) -> ModuleType:
    # tests/eval is a folder of scripts, not a package: load by path so pytest never collects it
    spec = importlib.util.spec_from_file_location(f"eval_{name}", EVAL / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


metrics = _load("metrics")
fts5 = _load("fts5")

GRADED = {"d1": 2, "d3": 1, "d4": 1}


def test_ndcg_uses_graded_gains_and_an_ideal_from_all_judged_documents() -> None:
    # DCG = 2/log2(2) + 0 + 1/log2(4) = 2.5; ideal = 2 + 1/log2(3) + 1/log2(4)
    expected = 2.5 / (2 + 1 / math.log2(3) + 0.5)
    assert metrics.ndcg_at(["d1", "d2", "d3"], GRADED, 10) == pytest.approx(expected)
    assert expected == pytest.approx(0.798485, abs=1e-6)


def test_ndcg_is_one_for_the_ideal_ranking_and_zero_without_relevant_documents() -> None:
    assert metrics.ndcg_at(["d1", "d3", "d4", "d9"], GRADED, 10) == pytest.approx(1.0)
    assert metrics.ndcg_at(["d1"], {"d1": 0}, 10) == 0.0
    assert metrics.ndcg_at([], GRADED, 10) == 0.0


def test_ideal_ranking_sorts_judgments_listed_in_any_order() -> None:
    # Judged low grades first: an ideal built in listing order (1, 1, 3) would give
    # DCG 1 + 1/log2(3) + 3/log2(4) and score the perfect ranking below 1.
    qrels = {"low": 1, "mid": 1, "top": 3}
    assert metrics.ndcg_at(["top", "low", "mid"], qrels, 10) == pytest.approx(1.0)
    # DCG = 1 + 1/log2(3) + 3/log2(4); ideal = 3 + 1/log2(3) + 1/log2(4)
    expected = (1 + 1 / math.log2(3) + 1.5) / (3 + 1 / math.log2(3) + 0.5)
    assert metrics.ndcg_at(["low", "mid", "top"], qrels, 10) == pytest.approx(expected)
    assert expected == pytest.approx(0.7579, abs=1e-4)
    # cut at k=1: the ideal's top is the grade-3 document, not the first listed
    assert metrics.ndcg_at(["low"], qrels, 1) == pytest.approx(1 / 3)


def test_ideal_ranking_is_cut_at_k() -> None:
    # one retrieved grade-1 document at rank 1, the ideal top 1 is the grade-2 one
    assert metrics.ndcg_at(["d3"], GRADED, 1) == pytest.approx(0.5)


def test_documents_judged_zero_are_not_relevant() -> None:
    qrels = {"a": 0, "b": 1}
    assert metrics.ndcg_at(["a", "b"], qrels, 10) == pytest.approx(1 / math.log2(3))
    assert metrics.mrr_at(["a", "b"], qrels, 10) == 0.5
    assert metrics.recall_at(["a", "b"], qrels, 100) == 1.0
    assert not metrics.has_relevant({"a": 0})
    assert metrics.has_relevant(qrels)


def test_cut_offs_hide_what_comes_later() -> None:
    ranking = ["x", "y", "d1"]
    assert metrics.ndcg_at(ranking, GRADED, 2) == 0.0
    assert metrics.mrr_at(ranking, GRADED, 2) == 0.0
    assert metrics.mrr_at(ranking, GRADED, 3) == pytest.approx(1 / 3)
    assert metrics.recall_at(ranking, GRADED, 2) == 0.0
    assert metrics.recall_at(ranking, GRADED, 3) == pytest.approx(1 / 3)


def test_a_document_listed_twice_counts_once() -> None:
    qrels = {"a": 1, "b": 1}
    assert metrics.ndcg_at(["a", "a", "b"], qrels, 10) == pytest.approx(1.0)
    assert metrics.recall_at(["a", "a"], qrels, 100) == 0.5


def test_mean_of_nothing_is_zero() -> None:
    assert metrics.mean([]) == 0.0
    assert metrics.mean([0.25, 0.75]) == 0.5


def test_fts5_queries_quote_every_word(tmp_path: Path) -> None:
    assert fts5.match_expression('IL-6 "NOT" (x) OR y*') == '"il" OR "6" OR "not" OR "x" OR "or" OR "y"'
    assert fts5.match_expression("  -- ") == ""
    reference = fts5.Fts5Reference.build(
        tmp_path / "ref.sqlite",
        [("Running shoes", "People ran far.", "S1", 1), ("Tea", "Green tea and NOT coffee.", "S2", 2)],
    )
    assert sorted(reference.search("run AND (NOT")) == ["S1", "S2"]  # operators are words here
    assert reference.search("runs") == ["S1"]  # porter stems "running" and "runs" alike
    assert reference.search("coffee NEAR tea") == ["S2"]
    assert reference.source_ids() == {1: "S1", 2: "S2"}
