"""Passages cut into word pieces at build time, so that a search need not cut them.

The fitted query encoder (:mod:`indexer.semantic.query_encoder`) reads a passage
as the sum of its word pieces' vectors. Summing costs microseconds; cutting the
text into pieces with the model's tokenizer cost about 80 µs a passage, most of
what reading a page's passages by meaning cost. The pieces depend on the
tokenizer alone (a refit of the encoder changes the vectors, not the pieces),
so the listing files (:mod:`indexer.index.listings`) keep them, with the
tokenizer's fingerprint: a search uses them only where that fingerprint is its
encoder's, and cuts the text as before anywhere else, to the same vectors.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Sequence

__all__ = ["MAX_PASSAGE_PIECES", "PieceCutter", "QueryCutter", "WordPieces", "tokenizer_settings", "tokenizer_fingerprint", "configured", "piece_cutter"]

#: Word pieces of a query or passage that count; a longer text is cut.
MAX_PASSAGE_PIECES = 256
#: Query words whose pieces a worker keeps (about 2 MB at most); the set starts again when full.
WORDS_KEPT = 20_000
#: Text the tokenizer reads a word at a time: printable ASCII, tabs and line ends (it drops other
#: control characters, which would join the words around them).
_PLAIN_ASCII = re.compile(r"[\t\n\r\x20-\x7e]*")


def configured(tokenizer: Any) -> Any:
    """``tokenizer`` set up as the query encoder reads texts: no padding, at most :data:`MAX_PASSAGE_PIECES`."""
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_PASSAGE_PIECES)
    return tokenizer


def tokenizer_settings(tokenizer: Any) -> dict[str, Any]:
    """A tokenizer's settings as its JSON holds them (vocabulary included: read once where two need them)."""
    return json.loads(tokenizer.to_str())


def tokenizer_fingerprint(tokenizer: Any, settings: dict[str, Any] | None = None) -> str:
    """What decides how a tokenizer cuts text (its settings for padding and cutting left out), hashed."""
    settings = tokenizer_settings(tokenizer) if settings is None else settings
    cutting = {key: value for key, value in settings.items() if key not in ("padding", "truncation")}
    return hashlib.sha256(json.dumps(cutting, sort_keys=True).encode("utf-8")).hexdigest()[:16]


class PieceCutter:
    """Texts -> their word-piece ids as the query encoder cuts them (at build time)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = configured(tokenizer)
        self.fingerprint = tokenizer_fingerprint(tokenizer)
        self.vocabulary_size: int = tokenizer.get_vocab_size()

    def __call__(self, texts: Sequence[str]) -> list[list[int]]:
        if not texts:
            return []
        return [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]


class QueryCutter:
    """A query's word-piece ids, as the tokenizer cuts the whole text (``tokenizer`` as :func:`configured` sets it).

    Plain ASCII text is cut a word (a run between spaces) at a time, each word's pieces kept:
    the tokenizer reads ASCII words apart (it splits at spaces before anything else, and its
    cap keeps the first pieces, which a cap per word cannot change), and most of a query's
    words have been asked before. A query's call into the tokenizer cost 75-190 us in the flow
    of searches (13-30 us timed alone); a known word costs a dictionary look-up, and a new one
    is cut by :class:`WordPieces` where the tokenizer is BERT's kind.
    """

    def __init__(self, tokenizer: Any, settings: dict[str, Any] | None = None) -> None:
        """``settings``: the tokenizer's (:func:`tokenizer_settings`), if already read."""
        self.tokenizer = tokenizer
        self._known: dict[str, list[int]] = {}
        self._cut_word = WordPieces.of(tokenizer, settings) or (lambda word: tokenizer.encode(word, add_special_tokens=False).ids)

    def __call__(self, text: str) -> list[int]:
        if not _PLAIN_ASCII.fullmatch(text):
            return self.tokenizer.encode(text, add_special_tokens=False).ids
        ids: list[int] = []
        known = self._known
        for word in text.split():
            pieces = known.get(word)
            if pieces is None:
                pieces = self._cut_word(word)
                if len(known) >= WORDS_KEPT:
                    known.clear()
                known[word] = pieces
            ids.extend(pieces)
        return ids[:MAX_PASSAGE_PIECES]


class WordPieces:
    """One plain ASCII word's pieces, cut in Python as a BERT tokenizer cuts it: lower case, each
    punctuation mark apart, then the longest pieces of the vocabulary first (WordPiece).

    A new word cost a call into the tokenizer, several times dearer in the flow of searches than
    a few dictionary look-ups. Words that hold one of the tokenizer's own tokens ([MASK]) go to it.
    """

    def __init__(self, tokenizer: Any, vocabulary: dict[str, int], unknown: int, prefix: str, longest: int, added: list[str]) -> None:
        self._tokenizer, self._vocabulary, self._unknown, self._prefix, self._longest = tokenizer, vocabulary, unknown, prefix, longest
        self._added = [token.lower() for token in added]

    @classmethod
    def of(cls, tokenizer: Any, settings: dict[str, Any] | None = None) -> "WordPieces | None":
        """For a tokenizer that lower-cases, splits as BERT does and cuts by WordPiece; None for any other."""
        settings = tokenizer_settings(tokenizer) if settings is None else settings
        normalizer, splitter, model = settings.get("normalizer") or {}, settings.get("pre_tokenizer") or {}, settings.get("model") or {}
        if normalizer.get("type") != "BertNormalizer" or not normalizer.get("lowercase") or splitter.get("type") != "BertPreTokenizer" \
                or model.get("type") != "WordPiece" or model.get("unk_token") not in model.get("vocab", {}):
            return None
        return cls(tokenizer, model["vocab"], model["vocab"][model["unk_token"]], model.get("continuing_subword_prefix", "##"),
                   int(model.get("max_input_chars_per_word", 100)), [token["content"] for token in settings.get("added_tokens", [])])

    def __call__(self, word: str) -> list[int]:
        lowered = word.lower()
        if any(token in lowered for token in self._added):
            return self._tokenizer.encode(word, add_special_tokens=False).ids
        ids: list[int] = []
        for part in _BERT_PARTS.findall(lowered):
            ids.extend(self._pieces(part))
        return ids

    def _pieces(self, part: str) -> list[int]:
        if len(part) > self._longest:
            return [self._unknown]
        ids, start = [], 0
        while start < len(part):
            for end in range(len(part), start, -1):
                found = self._vocabulary.get(part[start:end] if start == 0 else self._prefix + part[start:end])
                if found is not None:
                    break
            else:  # (no piece fits: the whole part is unknown)
                return [self._unknown]
            ids.append(found)
            start = end
        return ids


#: A lower-cased ASCII word's parts as BERT splits it: each punctuation mark alone, or a run of the rest.
_BERT_PARTS = re.compile(r"[!-/:-@\[-`{-~]|[^!-/:-@\[-`{-~]+")


def piece_cutter() -> PieceCutter | None:
    """A cutter with the installed model's tokenizer; None without the model or ``tokenizers``
    (the index then keeps no pieces, and searches cut passages themselves)."""
    from indexer.semantic.model import find_model

    folder = find_model()
    try:
        from tokenizers import Tokenizer

        return PieceCutter(Tokenizer.from_file(str(folder / "tokenizer.json"))) if folder is not None else None
    except Exception:  # (ImportError, or a tokenizer file tokenizers cannot read: a bare Exception)
        return None
