"""Parsing articles: the seed's every field, and a clear error for each kind of bad file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from helpers import SEED, article_text
from indexer import ArticleError, load_corpus, parse_article, render_markdown
from indexer.corpus.files import CorpusFile, read_article



@pytest.fixture(scope="module")
def seed_text() -> str:
    """The real article in ../shared/seed (CI lays shared/ beside the clone)."""
    files = sorted(SEED.glob("*")) if SEED.is_dir() else []
    if not files:
        pytest.fail(f"the seed article is missing: expected a file in {SEED} (the project's shared/ folder)")
    return files[0].read_text("utf-8")


def test_seed_yields_every_field(seed_text: str) -> None:
    article = parse_article(seed_text, "seed.md")
    assert article.id == 190457
    assert article.date == dt.date(2025, 2, 24)
    assert article.title == "What mechanisms contribute to the development of drug tolerance?"
    assert article.article_title == article.title == article.question
    assert article.subject == "Medicine"
    assert article.author == "QuickTakes"
    assert article.score == -1.0
    assert article.file_name == "what-mechanisms-contribute-to-the-development-of-drug-tolerance.md"
    assert article.url == "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
    assert article.seo_title == "QuickTakes | Medicine"
    assert article.page_description.startswith("This content discusses the mechanisms")
    assert article.keywords[:3] == ("drug tolerance", "pharmacokinetic tolerance", "pharmacodynamic tolerance")
    assert len(article.keywords) == 10
    assert len(article.related) == 1
    link = article.related[0]
    assert (link.id, link.subject) == (190448, "Psychology")
    assert link.url == "/learn/psychology/questions/what-are-the-common-mental-and-emotional-impacts-of-psychoactive-drugs"
    # Unknown fields are kept, not dropped.
    assert article.extra == {"_schema": "default", "date_format": "MMM DD, YYYY", "post_on_text": "Posted on"}


def test_seed_answer_renders_a_real_list_and_bold(seed_text: str) -> None:
    article = parse_article(seed_text, "seed.md")
    assert "\\n" not in article.answer
    html = render_markdown(article.answer)
    assert "<ol>" in html and html.count("<li>") == 6
    assert "<strong>Pharmacokinetic Tolerance</strong>" in html
    assert "\\n" not in html


def test_article_round_trips_through_dict(seed_text: str) -> None:
    article = parse_article(seed_text, "seed.md")
    from indexer import Article

    again = Article.from_dict(article.to_dict())
    assert again == article


def test_keywords_as_a_list_are_accepted() -> None:
    article = parse_article(article_text(seo={"page_keywords": ["alpha", "beta"]}), "x.md")
    assert article.keywords == ("alpha", "beta")


def test_missing_question_falls_back_to_title() -> None:
    article = parse_article(article_text(question=None), "x.md")
    assert article.question == article.title


def _bad_files(tmp_path: Path) -> dict[str, tuple[bytes, str, int | None]]:
    """name -> (file bytes, expected words in the reason, expected line or None)."""
    good = article_text()
    bomb = "---\n" + "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    ) + "title: t\n---\n"
    return {
        "malformed_yaml": (good.replace("author: QuickTakes", "author: [unclosed"), "invalid YAML", 13),
        "no_front_matter": (b"Just some text\n".decode().encode(), "no front matter", 1),
        "unclosed_front_matter": (good.replace("---\n\n&nbsp;", "").encode().decode().encode(), "not closed", None),
        "empty": (b"", "empty", 1),
        "whitespace_only": (b"  \n\n", "empty", 1),
        "binary_nul": (b"\x00\x01\x02PNG\x00" * 10, "NUL", None),
        "not_utf8": (good.replace("What is a test", "Caf\udce9 test").encode("utf-8", "surrogateescape"), "UTF-8", 5),
        "huge_answer": (good.replace("answer: ", "answer: " + "word " * 2_100_000, 1).encode(), "MB limit", None),
        "missing_title": (article_text(title=None).encode(), "missing field 'title'", None),
        "missing_answer": (article_text(answer=None).encode(), "missing field 'answer'", None),
        "title_is_list": (article_text(title=["a", "b"]).encode(), "'title' must be text", 5),
        "title_is_mapping": (article_text(title={"a": 1}).encode(), "'title' must be text", 5),
        "bad_date": (article_text(date="next tuesday").encode(), "not a date", 4),
        "id_not_number": (article_text(id="abc").encode(), "'id' must be a whole number", 3),
        "alias_bomb": (bomb.encode(), "over 10000 values", None),
        "deep_nesting": (("---\ntitle: t\nx: " + "[" * 200 + "]" * 200 + "\n---\n").encode(), "nested", None),
        "url_climbs_out": (article_text(url="/learn/../../etc/passwd").encode(), "without '..'", None),
        "url_not_a_path": (article_text(url="javascript:alert(1)").encode(), "site path", None),
        "file_name_climbs_out": (article_text(file_name="../../evil.md").encode(), "plain file name", None),
        "front_matter_is_list": (b"---\n- a\n- b\n---\n", "not 'key: value'", 2),
    }


BAD_NAMES = [
    "malformed_yaml", "no_front_matter", "unclosed_front_matter", "empty", "whitespace_only", "binary_nul",
    "not_utf8", "huge_answer", "missing_title", "missing_answer", "title_is_list", "title_is_mapping",
    "bad_date", "id_not_number", "alias_bomb", "deep_nesting", "url_climbs_out", "url_not_a_path",
    "file_name_climbs_out", "front_matter_is_list",
]


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_file_is_reported_with_path_line_and_reason(name: str, tmp_path: Path) -> None:
    data, reason, line = _bad_files(tmp_path)[name]
    path = tmp_path / f"{name}.md"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    with pytest.raises(ArticleError) as caught:
        read_article(CorpusFile(path.name, str(path)))
    error = caught.value
    assert error.source == f"{name}.md"
    assert reason in error.reason
    if line is not None:
        assert error.line == line
    assert str(error).startswith(f"{name}.md")


def test_bad_files_are_skipped_and_the_rest_loaded(tmp_path: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    make_article(corpus, slug="good-one", id=1)
    make_article(corpus / "sub", slug="good-two", id=2)
    for name, (data, _, _) in _bad_files(tmp_path).items():
        (corpus / f"{name}.md").write_bytes(data.encode() if isinstance(data, str) else data)
    scan = load_corpus(corpus)
    assert sorted(article.id for article, _ in scan.articles) == [1, 2]
    assert sorted(error.source for error in scan.errors) == sorted(f"{name}.md" for name in BAD_NAMES)


def test_duplicate_ids_and_urls_keep_the_first(tmp_path: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    make_article(corpus, slug="a", id=7)
    make_article(corpus, slug="b", id=7)
    make_article(corpus, slug="c", id=8, url="/learn/testing/questions/a")
    scan = load_corpus(corpus)
    assert [article.source for article, _ in scan.articles] == ["a.md"]
    reasons = {error.source: error.reason for error in scan.errors}
    assert "duplicate id 7: a.md already uses it" in reasons["b.md"]
    assert "duplicate url /learn/testing/questions/a" in reasons["c.md"]


def test_symlink_outside_the_corpus_is_refused(tmp_path: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    outside = make_article(tmp_path / "elsewhere", slug="secret", id=5)
    corpus = tmp_path / "corpus"
    make_article(corpus, slug="inside", id=6)
    (corpus / "link.md").symlink_to(outside)
    scan = load_corpus(corpus)
    assert [article.id for article, _ in scan.articles] == [6]
    assert scan.errors[0].source == "link.md"
    assert "outside the corpus" in scan.errors[0].reason


def test_symlink_inside_the_corpus_is_followed(tmp_path: Path, make_article) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    make_article(corpus / "real", slug="inside", id=6)
    (corpus / "alias").mkdir()
    (corpus / "alias" / "same.md").symlink_to(corpus / "real" / "inside.md")
    scan = load_corpus(corpus)
    # The link is read, then refused as a duplicate of the real file's id: reported, not lost.
    assert [article.source for article, _ in scan.articles] == ["alias/same.md"]
    assert "duplicate id 6" in scan.errors[0].reason
