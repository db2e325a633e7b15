"""Scores as arrays (indexer.ranking.scores) answer as the dict and heapq they replace did."""

from __future__ import annotations

import heapq

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from indexer.ranking.scores import Scores

# Few distinct scores, so that ties (decided by document number) are common.
SCORES = st.dictionaries(st.integers(0, 500), st.sampled_from([0.5, 1.0, 1.25, 2.0, 3.5]), max_size=60)


@given(SCORES, st.integers(0, 70))
def test_the_best_are_heapqs(scores: dict[int, float], count: int) -> None:
    expected = heapq.nsmallest(count, scores.items(), key=lambda item: (-item[1], item[0]))
    assert Scores.of(scores).top(count) == expected
    docs, values = Scores.of(scores).best(count)
    assert list(zip(docs.tolist(), values.tolist())) == expected and docs.dtype == np.int64


@given(SCORES, st.lists(st.integers(-5, 510), max_size=30))
def test_lookups_and_membership_are_the_dicts(scores: dict[int, float], asked: list[int]) -> None:
    array = Scores.of(scores)
    found, values = array.lookup(np.asarray(asked, dtype=np.int64))
    assert found.tolist() == [docnum in scores for docnum in asked]
    assert values.tolist() == [scores.get(docnum, 0.0) for docnum in asked]
    assert [docnum in array for docnum in asked] == [docnum in scores for docnum in asked]
    assert [np.int64(docnum) in array for docnum in asked] == [docnum in scores for docnum in asked]
    assert "1" not in array and None not in array
    assert [array.get(docnum, -1.0) for docnum in asked] == [scores.get(docnum, -1.0) for docnum in asked]
    assert sorted(array) == sorted(scores) and len(array) == len(scores)


@given(SCORES, st.dictionaries(st.integers(0, 520), st.floats(1.0, 2.0), max_size=20), st.lists(st.integers(0, 500), max_size=40))
def test_updates_and_restrictions_are_the_dicts(scores: dict[int, float], overrides: dict[int, float], allowed: list[int]) -> None:
    array = Scores.of(scores)
    assert dict(array.updated(Scores.of(overrides)).items()) == {**scores, **overrides}
    assert dict(array.within(np.asarray(allowed, dtype=np.int64)).items()) == {d: s for d, s in scores.items() if d in set(allowed)}
    assert list(array.updated(Scores.of(overrides)).docs) == sorted(set(scores) | set(overrides)), "still ascending"

