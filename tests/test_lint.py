"""Content lint: `index check` warns (path, line, what to fix), `--strict` fails on it, builds and updates count it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner

from indexer.cli import cli
from indexer.corpus.checking import check_corpus

BENZODIAZEPINES = "medicine/how-do-benzodiazepines-work.md"
#: Long enough not to be a short answer, so each case below shows one warning.
ANSWER = "Tests check that code does what its authors meant. " * 6


def line_of(path: Path, text: str) -> int:
    """The file line (from 1) of the first line that starts with ``text``."""
    lines = path.read_text("utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if line.startswith(text))


def break_related_id(corpus: Path) -> tuple[Path, int]:
    """Point the benzodiazepines article's second related link at an id no article has."""
    path = corpus / BENZODIAZEPINES
    text = path.read_text("utf-8")
    assert "    id: 500005\n" in text
    path.write_text(text.replace("    id: 500005\n", "    id: 999999\n"), "utf-8")
    return path, line_of(path, "related_article2:")


def test_the_sample_corpus_is_lint_clean(corpus_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["index", "check", "--strict", "--corpus", str(corpus_dir)])
    assert result.exit_code == 0, result.output
    assert "warning:" not in result.stdout
    assert result.stderr.endswith(", 0 bad file(s), 0 content warning(s)\n")


def test_check_reports_a_broken_related_link_with_its_path_and_line(corpus_dir: Path) -> None:
    _, line = break_related_id(corpus_dir)
    result = CliRunner().invoke(cli, ["index", "check", "--corpus", str(corpus_dir)])
    assert result.exit_code == 0, "a warning is not a bad file"
    assert result.stdout == (
        f"warning: {BENZODIAZEPINES}:{line}: a related link's id 999999 is not in the corpus: "
        "fix it to an article's id and url, or remove the link\n"
    )
    assert "1 content warning(s)" in result.stderr


@pytest.mark.parametrize("strict", [False, True])
def test_check_json_carries_the_warnings_and_strict_fails_on_them(corpus_dir: Path, strict: bool) -> None:
    _, line = break_related_id(corpus_dir)
    result = CliRunner().invoke(cli, ["index", "check", "--json", "--corpus", str(corpus_dir), *(["--strict"] if strict else [])])
    assert result.exit_code == (1 if strict else 0)
    data = json.loads(result.stdout)
    assert data["ok"] is not strict and data["errors"] == []
    assert data["warnings"] == [{
        "path": BENZODIAZEPINES, "line": line, "rule": "related-missing",
        "reason": "a related link's id 999999 is not in the corpus: fix it to an article's id and url, or remove the link",
    }]


RELATED_TO_A = {"id": 910001, "title": "Article A?", "subject": "Testing", "url": "/learn/testing/questions/a"}


@pytest.mark.parametrize(
    ("fields", "rule", "line_starts", "reason"),
    [
        ({"related_article1": {**RELATED_TO_A, "id": 910002, "url": "/learn/testing/questions/b"}}, "related-self", "related_article1:",
         "a related link points to this article itself"),
        ({"related_article1": {**RELATED_TO_A, "url": "/learn/testing/questions/gone"}}, "related-missing", "related_article1:",
         "a related link's url /learn/testing/questions/gone is not in the corpus"),
        ({"related_article1": {**RELATED_TO_A, "id": 1, "url": "/nowhere"}}, "related-missing", "related_article1:",
         "a related link's id 1 and url /nowhere are not in the corpus"),
        ({"title": "  article A? "}, "duplicate-title", "title:", "title 'article A?' is also the title of a.md: give each article its own title"),
        ({"subject": None}, "no-subject", None, "no 'subject': add one"),
        ({"subject": ""}, "no-subject", None, "no 'subject': add one"),
        ({"seo": {"title": "B", "page_description": "B."}}, "no-keywords", "seo:", "no keywords: add seo.page_keywords"),
        ({"answer": "Too short to answer anything."}, "short-answer", "answer:", "the answer has 5 word(s): write at least 40"),
        ({"subject": "Medicine"}, "url-subject", "url:", "'url' files it under /learn/testing/ but 'subject' is 'Medicine': "
         "move it to /learn/medicine/questions/... or fix 'subject'"),
    ],
)
def test_each_check_names_the_line_and_the_fix(
    tmp_path: Path, make_article: Callable[..., Path], fields: dict[str, Any], rule: str, line_starts: str | None, reason: str
) -> None:
    corpus = tmp_path / "corpus"
    make_article(corpus, slug="a", id=910001, title="Article A?", answer=ANSWER)
    path = make_article(corpus, slug="b", **{"id": 910002, "title": "Article B?", "answer": ANSWER, **fields})
    report = check_corpus(corpus)
    assert report.errors == [] and report.articles == 2
    assert [(warning.source, warning.rule) for warning in report.warnings] == [("b.md", rule)]
    warning = report.warnings[0]
    assert warning.reason.startswith(reason)
    assert warning.line == (line_of(path, line_starts) if line_starts else None)


def test_a_clean_pair_has_no_warnings(tmp_path: Path, make_article: Callable[..., Path]) -> None:
    corpus = tmp_path / "corpus"
    make_article(corpus, slug="a", id=910001, title="Article A?", answer=ANSWER, subject="Computer Science",
                 url="/learn/computer-science/questions/a", related_article1={**RELATED_TO_A, "id": 910002, "url": "/learn/testing/questions/b"})
    make_article(corpus, slug="b", id=910002, title="Article B?", answer=ANSWER, related_article1={**RELATED_TO_A, "url": "/learn/computer-science/questions/a"})
    assert check_corpus(corpus).warnings == []


def test_build_and_update_print_the_count_and_never_stop_for_lint(corpus_dir: Path, tmp_path: Path, make_article: Callable[..., Path]) -> None:
    runner, index = CliRunner(), str(tmp_path / "ix")
    break_related_id(corpus_dir)
    built = runner.invoke(cli, ["index", "build", "--strict", "--no-semantic", "--corpus", str(corpus_dir), "--index", index])
    assert built.exit_code == 0, "lint never stops a build, --strict or not"
    assert built.stdout.splitlines()[1:] == ["1 content warning(s): `article-search index check` lists them with their paths and lines"]
    assert "999999" not in built.output, "a build counts warnings, it does not list them"
    # An added article linking to an id no article has, titled like an article before it in the walk.
    make_article(corpus_dir / "medicine", slug="zz-again", id=910009, title="How do BENZODIAZEPINES work?", answer=ANSWER, subject="Medicine",
                 url="/learn/medicine/questions/zz-again", related_article1={**RELATED_TO_A, "subject": "Medicine"})
    updated = runner.invoke(cli, ["index", "update", "--strict", "--corpus", str(corpus_dir), "--index", index])
    assert updated.exit_code == 0, updated.output
    assert updated.stdout.splitlines()[1:] == [
        "  + medicine/zz-again.md",
        "2 content warning(s) in the added and changed articles: `article-search index check` lists them with their paths and lines",
    ]
    checked = runner.invoke(cli, ["index", "check", "--json", "--corpus", str(corpus_dir)])
    rules = [(warning["path"], warning["rule"]) for warning in json.loads(checked.stdout)["warnings"]]
    assert rules == [(BENZODIAZEPINES, "related-missing"), ("medicine/zz-again.md", "duplicate-title"), ("medicine/zz-again.md", "related-missing")]
