"""The answering passage: chosen per result, linked to its paragraph, shown first when it answers confidently."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from indexer import SearchService, build_index, update_index
from indexer.corpus.rendering import render_markdown
from indexer.search.highlight import Highlighter
from indexer.corpus.blocks import WHOLE_BLOCK_WORDS, answer_blocks, block_ids, passages_of
from indexer.search.passages import best_passage
from support.corpora import article_text, write_synthetic

TOLERANCE_URL = "/learn/medicine/questions/what-mechanisms-contribute-to-the-development-of-drug-tolerance"
ANSWER = (
    "Inflation is a rise in the general level of prices.\n\n"
    "## Causes\n\n"
    "1. **Demand-pull**: too much money chases too few goods.\n"
    "2. **Cost-push**: wages and materials cost more.\n\n"
    + " ".join(f"Sentence {n} says something ordinary about prices." for n in range(8))
    + " Central banks raise interest rates to slow inflation down."
)


def test_blocks_and_passages_follow_the_markdown() -> None:
    blocks = answer_blocks(ANSWER)
    assert blocks[:4] == [
        "Inflation is a rise in the general level of prices.",
        "Causes",
        "Demand-pull: too much money chases too few goods.",
        "Cost-push: wages and materials cost more.",
    ]
    passages = passages_of(ANSWER)
    assert len(blocks[4].split()) > WHOLE_BLOCK_WORDS
    long_block = [passage for passage in passages if passage.block == 5]
    assert len(long_block) == 9 and long_block[-1].text == "Central banks raise interest rates to slow inflation down."


def test_the_passage_holding_the_rare_words_wins_and_is_marked() -> None:
    highlighter = Highlighter(["interest", "rate", "bank"])
    weights = {"interest": 2.0, "rate": 1.0, "bank": 2.0}
    best = best_passage(passages_of(ANSWER), highlighter, lambda term: weights.get(term, 0.1))
    assert best is not None and best.passage.block == 5
    assert best.passage.text.startswith("Central banks")
    assert best.html.count("<mark>") == 3 and best.score == 1.0


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.text: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(dict(attrs).get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        for name in self.stack:
            if name:
                self.text[name] = self.text.get(name, "") + data


def ids_of(fragment: str) -> dict[str, str]:
    parser = _Ids()
    parser.feed(fragment)
    return {name: " ".join(text.split()) for name, text in parser.text.items()}


def test_each_rendered_block_gets_the_id_its_passages_link_to() -> None:
    ids = ids_of(block_ids(render_markdown(ANSWER), answer_blocks(ANSWER)))
    assert ids["passage-1"] == "Inflation is a rise in the general level of prices."
    assert ids["passage-2"] == "Causes"
    assert ids["passage-4"] == "Cost-push: wages and materials cost more."
    assert ids["passage-5"].endswith("Central banks raise interest rates to slow inflation down.")


def test_a_passage_link_lands_on_the_paragraph_that_holds_it(client: Any) -> None:
    body = client.get("/api/search?q=drug+tolerance+mechanisms").get_json()
    for hit in body["results"][:5]:
        url = urlsplit(hit["passage_url"])
        assert url.path == hit["url"] and url.query.startswith("q=") and url.fragment.startswith("passage-")
        page = client.get(f"{url.path}?{url.query}").get_data(as_text=True)
        held = ids_of(page)[url.fragment]
        passage = " ".join(re.sub(r"</?mark>", "", hit["passage_html"]).split())
        assert passage.replace("&#x27;", "'").replace("&quot;", '"') in held.replace("&#x27;", "'"), (url.fragment, passage, held)


def test_the_answer_box_opens_the_results_only_when_the_passage_answers(client: Any) -> None:
    answered = client.get("/api/search?q=drug+tolerance+mechanisms").get_json()
    assert answered["answer"]["url"] == TOLERANCE_URL
    assert "<mark>" in answered["answer"]["passage_html"]
    page = client.get("/search?q=drug+tolerance+mechanisms").get_data(as_text=True)
    assert 'class="answer-box"' in page and answered["answer"]["passage_url"].replace("&", "&amp;") in page
    unanswered = client.get("/api/search?q=blue").get_json()
    assert unanswered["total"] > 0 and unanswered["answer"] is None
    assert 'class="answer-box"' not in client.get("/search?q=blue").get_data(as_text=True)
    assert client.get("/api/search?q=drug+tolerance+mechanisms&page=2&per_page=3").get_json()["answer"] is None


def test_an_updated_answer_shows_its_new_passage(tmp_path: Path) -> None:
    """Answers are split once per generation: an update that rewrites one must not show the old passage."""
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    article = corpus / "prices.md"
    article.write_text(article_text(answer="Stagflation is a rise in the general level of prices during a slump."), encoding="utf-8")
    write_synthetic(corpus, 5)
    build_index(corpus, index, semantic=False)
    with SearchService(index, refresh_seconds=0) as service:
        before = service.search("stagflation").results[0]
        assert "general level of prices" in before.passage_html
        article.write_text(article_text(answer="Stagflation ends when central banks raise interest rates."), encoding="utf-8")
        update_index(corpus, index, semantic=False)
        after = service.search("stagflation").results[0]
    assert after.id == before.id
    assert "central banks raise interest rates" in after.passage_html and "general level" not in after.passage_html


def test_a_question_in_plain_words_is_answered_first_from_the_article_that_answers_it(client: Any) -> None:
    # Issue 18: no word of the tolerance article's title is in the question, and its question word
    # ("what", rare in answers but in nearly every title) must not decide which passage answers.
    body = client.get("/api/search?q=what+makes+drugs+stop+working+over+time").get_json()
    assert body["results"][0]["url"] == TOLERANCE_URL
    assert body["answer"] is not None and body["answer"]["url"] == TOLERANCE_URL
    assert "stop working over time" in re.sub(r"</?mark>", "", body["answer"]["passage_html"])
    assert body["answer"]["passage_url"].startswith(TOLERANCE_URL + "?q=") and "#passage-1" in body["answer"]["passage_url"]
