"""An answer cut into blocks as Markdown writes them, and the blocks into passages.

The blocks are the answer's paragraphs, list items and headings, as plain text:
the same blocks the article page gives an ``id`` (``passage-N``, :func:`block_ids`),
so a result can link to the paragraph that holds its passage. A block of up to
:data:`WHOLE_BLOCK_WORDS` words is one passage; a longer one is cut into its
sentences. Nothing here depends on a query: search scores the passages
(:mod:`indexer.search.passages`), and the index keeps each answer's parts ready
(:mod:`indexer.index.listings`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple, Protocol

from indexer.corpus.rendering import plain_text

__all__ = ["Passage", "PassagePieces", "AnswerParts", "answer_blocks", "passages_of", "answer_parts", "places_in", "block_ids", "WHOLE_BLOCK_WORDS"]

#: A block this short is read whole; a longer one sentence by sentence.
WHOLE_BLOCK_WORDS = 45

_BLOCK_BREAK = re.compile(r"\n\s*\n")
_LIST_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d{1,9}[.)])\s+")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_WORD = re.compile(r"\w+")


class Passage(NamedTuple):
    """A sentence, or a short block kept whole (a tuple: a results page makes hundreds)."""

    block: int  # which block of the answer (1-based, as the page's passage-N ids)
    text: str


def answer_blocks(markdown: str) -> list[str]:
    """The answer's blocks in order, as plain text: paragraphs, list items and headings."""
    blocks: list[str] = []
    for paragraph in _BLOCK_BREAK.split(markdown.strip()):
        current: list[str] = []
        # As Python-Markdown reads it: a list starts only at a paragraph's first line
        # (marker lines after ordinary text continue that text); '#' headings stand alone.
        listing = bool(_LIST_ITEM.match(paragraph.lstrip("\n")))
        for line in paragraph.split("\n"):
            if (listing and _LIST_ITEM.match(line)) or _HEADING.match(line):
                if current:
                    blocks.append(" ".join(current))
                current = [line]
                if _HEADING.match(line):
                    blocks.append(line)
                    current = []
            else:
                current.append(line)
        if current:
            blocks.append(" ".join(current))
    texts = [_plain_block(block) for block in blocks]
    return [text for text in texts if text]


#: What plain_text's rules need to see to change a line: without any of these, and with no
#: list or heading mark at its start, a line's plain text is the line with its spacing tidied.
_MARKUP = re.compile(r"[<\[*_`~&]")
_LINE_START_MARK = re.compile(r"\s{0,3}(?:#{1,6}\s|>|[-*+]\s|\d{1,9}[.)]\s)")


def _plain_block(block: str) -> str:
    """One block (a single line) as plain text, words separated by single spaces.

    Most blocks are prose with no Markdown in them: they skip plain_text's seven
    regular expressions (a results page splits ten answers into their blocks).
    """
    if _MARKUP.search(block) or _LINE_START_MARK.match(block):
        block = plain_text(block)
    return " ".join(block.split())


def passages_of(markdown: str) -> list[Passage]:
    """Every passage of an answer, in order."""
    return _passages_in(answer_blocks(markdown))


def _passages_in(blocks: list[str]) -> list[Passage]:
    found: list[Passage] = []
    for number, block in enumerate(blocks, start=1):
        if len(block.split()) <= WHOLE_BLOCK_WORDS:
            found.append(Passage(number, block))
        else:
            found.extend(Passage(number, sentence) for sentence in _SENTENCE_END.split(block) if sentence.strip())
    return found


@dataclass(frozen=True)
class AnswerParts:
    """What a results page reads from one answer, whatever the query: worth keeping per generation."""

    plain: str  # the whole answer as plain text (for the keyword snippet)
    passages: tuple[Passage, ...]
    #: Where each passage is in ``plain`` (start, end), so that one reading of the plain text
    #: serves the snippet and every passage; None if one could not be placed (never seen).
    places: tuple[tuple[int, int], ...] | None = None
    #: Each passage's word pieces, where the index read them when it was built (the listing
    #: files): they are what any other reading of the same answer gives, so not compared.
    pieces: "PassagePieces | None" = field(default=None, compare=False)


class PassagePieces(Protocol):
    """Every passage's word-piece ids, cut at build time, and by which tokenizer.

    Reading a passage by meaning at query time cut it into pieces first (about 80 µs a
    passage, the larger part of what reading passages by meaning cost); the pieces of a
    text depend on the tokenizer only, so the index keeps them beside the passages
    (:class:`indexer.index.listings.StoredPieces`).
    """

    tokenizer: str  # the tokenizer's fingerprint (indexer.semantic.pieces.tokenizer_fingerprint)

    def of(self, index: int) -> "Any":
        """The ids of passage ``index`` (a numpy array), or None if they cannot be read."""
        ...


def answer_parts(markdown: str) -> AnswerParts:
    """Split an answer once: its plain text and its passages.

    The plain text is the blocks' text a line each: what plain_text gives but for
    spacing (a paragraph's line breaks, and Unicode spaces, become plain spaces), for
    half the cost of reading the answer twice.
    """
    blocks = answer_blocks(markdown)
    plain, passages = "\n".join(blocks), tuple(_passages_in(blocks))
    return AnswerParts(plain, passages, places_in(plain, passages))


def places_in(plain: str, passages: tuple[Passage, ...]) -> tuple[tuple[int, int], ...] | None:
    """Each passage's (start, end) in ``plain``, found in order; None if one is not found.

    (A passage is a block, or a sentence of one, and the plain text is the blocks a
    line each, so every passage is in it, in order.)
    """
    places = []
    cursor = 0
    for passage in passages:
        start = plain.find(passage.text, cursor)
        if start < 0:
            return None
        cursor = start + len(passage.text)
        places.append((start, cursor))
    return tuple(places)


def block_ids(fragment: str, blocks: Iterable[str]) -> str:
    """Give each block element of a rendered answer the ``id`` its passages link to.

    ``fragment`` is the answer's sanitised HTML; ``blocks`` its
    :func:`answer_blocks`. Elements are matched to blocks in order by their
    text, so a block the two readings cut differently gets no id, and its
    link lands at the top of the answer instead of at the wrong paragraph.
    """
    wanted = [_words(block) for block in blocks]
    out: list[str] = []
    position, number = 0, 0
    for match in _BLOCK_ELEMENT.finditer(fragment):
        text = _words(html.unescape(_INNER_TAG.sub(" ", match.group("inner"))))
        for candidate in range(number, min(number + 3, len(wanted))):
            if wanted[candidate] and wanted[candidate] == text:
                out.append(fragment[position : match.start()])
                out.append(f'<{match.group("tag")} id="passage-{candidate + 1}"{match.group("attrs")}>{match.group("inner")}</{match.group("tag")}>')
                position, number = match.end(), candidate + 1
                break
    out.append(fragment[position:])
    return "".join(out)


_BLOCK_ELEMENT = re.compile(
    r"<(?P<tag>p|li|h[2-6])(?P<attrs>(?:\s[^>]*)?)>(?P<inner>(?:(?!<(?:p|li|ul|ol|h[2-6])[\s>]).)*?)</(?P=tag)>", re.DOTALL
)
_INNER_TAG = re.compile(r"<[^>]*>")


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))
