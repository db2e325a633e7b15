"""Churn (issue 16): zero failed requests while six articles come and go through 30 writer runs.

About 210 articles on `article-search serve --workers 2`; 16 loopback clients
ask for searches, result pages and the pages of six articles that are added,
edited and deleted by 29 `index update`s 0.2 s apart and one full `index
build` (all by words alone, `--no-semantic`: with meaning the first build of
these 210 articles takes about a minute and each update about 3 s here, which
would not fit the test's minute). A failed request is any 5xx or connection
error, or a page of an article the answering generation holds (and the next
one too) answering 404: an article just deleted may 404, one present before
and after a commit never. The run is recorded by support/churn.py;
tests/bench/churn.py repeats it, against another checkout's code too.
"""

from __future__ import annotations

import pytest

from support.churn import BUILD_STEP, CHURNED, STEPS, ChurnRun, churn_run, present_at

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> ChurnRun:
    # The writers end the run: about 45 s here when the machine is not shared. The bound only
    # stops a hung run: at a load average of 15 on these 2 cores the 30 writers took 120 s, and
    # on a host 2.4 times slower with two busy loops beside the suite, 288 s (over the 300 s
    # this bound was, so the load stopped first and the run proved nothing).
    recorded = churn_run(tmp_path_factory.mktemp("churn"), max_seconds=900)
    print(f"churn run: {recorded.figures()}")
    return recorded


def test_every_writer_committed_a_new_generation_under_load(run: ChurnRun) -> None:
    verbs = ["build"] + ["build" if step == BUILD_STEP else "update" for step in range(STEPS)]
    assert [(step.command, step.code) for step in run.steps] == [(verb, 0) for verb in verbs], [
        step.output for step in run.steps if step.code]
    generations = [step.generation for step in run.steps]
    assert generations == sorted(set(generations)), f"a writer committed nothing new: {generations}"
    assert run.load_outlived_writers, f"the load stopped after {len(run.samples)} requests, before the writers had finished"
    # The churn happened: every step added one of the six and deleted another.
    for step in range(STEPS):
        assert any(present_at(step, n) and not present_at(step - 1, n) for n in range(CHURNED))
        assert any(present_at(step - 1, n) and not present_at(step, n) for n in range(CHURNED))


def test_no_request_failed(run: ChurnRun) -> None:
    assert run.failed == []
    assert len(run.workers) == 2 and sorted(run.workers_after) == sorted(run.workers), "a worker crashed or timed out"


def test_the_six_were_asked_for_throughout_and_answered_as_their_generation_holds_them(run: ChurnRun) -> None:
    pages = [sample for sample in run.samples if sample.kind.startswith("churn-page:")]
    searches = [sample for sample in run.samples if sample.kind.startswith("churn-search:")]
    assert len(pages) >= 10 * STEPS and len(searches) >= 5 * STEPS
    # Both answers happened: the pages of the six were found and, when deleted, not found.
    assert {sample.status for sample in pages} == {200, 404}
    assert all(sample.status == 200 for sample in searches), {sample.status for sample in searches}
