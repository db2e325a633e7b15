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
from typing import Any, Sequence

__all__ = ["MAX_PASSAGE_PIECES", "PieceCutter", "tokenizer_fingerprint", "configured", "piece_cutter"]

#: Word pieces of a query or passage that count; a longer text is cut.
MAX_PASSAGE_PIECES = 256


def configured(tokenizer: Any) -> Any:
    """``tokenizer`` set up as the query encoder reads texts: no padding, at most :data:`MAX_PASSAGE_PIECES`."""
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_PASSAGE_PIECES)
    return tokenizer


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """What decides how a tokenizer cuts text (its settings for padding and cutting left out), hashed."""
    settings = json.loads(tokenizer.to_str())
    settings.pop("padding", None)
    settings.pop("truncation", None)
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode("utf-8")).hexdigest()[:16]


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
