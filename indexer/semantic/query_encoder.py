"""A query encoder that costs microseconds: word-piece vectors fitted to the index's own articles.

Running the embedding model on a query takes 12-15 ms on one core, because
every layer's weights are read for every query; that more than doubled a
search's time. Articles are embedded once, when they are indexed, so only the
query needs to be fast. Here a query's vector is the normalised sum of one
stored vector per word piece, which costs about 0.05 ms.

Those piece vectors are fitted, at build time, to the index's own articles:
ridge regression makes each article's text, read as the same sum, give back
the vector the model made for it. A piece starts from the model's reading of
it alone (:meth:`indexer.semantic.model.TextEncoder.lone_piece_vectors`), weighted
by its idf in the corpus, and the fit moves it only as far as the articles
ask. No relevance judgments are involved, so a build can make the fit.

On the judged collections this keeps most of what the full model's query
vectors gained (tests/eval/RESULTS.md, steps 17 and 18).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from indexer.index.atomic import atomic_file, write_atomically
from indexer.semantic.pieces import QueryCutter, configured, tokenizer_fingerprint, tokenizer_settings

if TYPE_CHECKING:
    import numpy as np

    from indexer.semantic.model import TextEncoder

__all__ = ["QUERY_ENCODER_FILE", "PIECES_CACHE_FILE", "REFIT_SHARE", "QueryEncoder", "fit_query_encoder", "require_fitting", "due_for_refit"]

QUERY_ENCODER_FILE = "query-encoder.npz"
#: Beside it: how many articles it was fitted on, and how many have been embedded since.
FIT_STATE_FILE = "query-encoder.json"
#: An update refits the encoder once the articles embedded since the fit reach this share of
#: the index. A fit on 80% or 50% of the articles scored 0.009-0.012 lower on NFCorpus dev and
#: 0.006-0.008 lower on SciFact than one on all of them (tests/eval/RESULTS.md, step 18).
REFIT_SHARE = 0.1
#: An index of at most this many articles is fitted again by every update that embeds one:
#: the fit takes a few seconds there, and a word new to the corpus then reads as its article
#: at once (the title rows and the feedback pull a query towards the articles the fit knows).
REFIT_ALWAYS_UPTO = 2000
#: The model's lone-piece vectors, kept in the index folder for the next build (about 1 ms a piece to make).
PIECES_CACHE_FILE = "model-pieces.npz"
#: Ridge strength, as a fraction of the mean squared length of an article's pooling row
#: (chosen on the train splits: 0.03, 0.1 and 0.3 lie within 0.003 nDCG of each other).
RIDGE = 0.1
#: Up to this many articles the fit is solved exactly (an articles-by-articles system, 290 MB
#: at the limit); beyond it by conjugate gradient, whose memory grows with the text only.
EXACT_LIMIT = 6000
#: Conjugate-gradient steps at most, and the relative residual that ends them sooner.
CG_STEPS = 30
CG_TOLERANCE = 1e-4
#: Word pieces of an article the fit reads. All of an article's text, not only the 254 pieces
#: the model read, fits better (NFCorpus dev 1.117x against 1.114x, SciFact 1.036x against
#: 1.033x); the cap only bounds a book-length article's cost.
MAX_FIT_PIECES = 4096
#: Each article's title (the first line of its embedding text) is fitted to the article's vector
#: too, with this weight against its whole text's row (0: not). A title is short and query-like,
#: so the fit learns to map short texts where their articles lie: on the train splits SciFact
#: 1.035x -> 1.047x and NFCorpus 1.073x -> 1.078x (tests/eval/RESULTS.md, step 19).
TITLE_WEIGHT = 1.0


class QueryEncoder:
    """Query text -> unit vector in the space of the index's article vectors, without the model.

    Only the pieces the corpus gave a vector are kept (a 54-article site uses a
    tenth of the vocabulary); any other piece reads as zero. They are stored as
    float16 and held as float32: numpy widens float16 one element at a time, which
    made summing a page's passages cost four times what the sums do (0.27 against
    0.07 ms a search on NFCorpus dev), for twice the table's memory (11 -> 22 MB there).
    """

    def __init__(self, model: str, ids: "np.ndarray", rows: "np.ndarray", size: int, tokenizer_json: str, articles: int = 0) -> None:
        import numpy as np
        from tokenizers import Tokenizer

        self.model = model
        self.articles = articles  # how many it was fitted on
        self.ids = ids  # (kept,) vocabulary ids, ascending
        self.size = size  # the vocabulary's
        self.dimensions = rows.shape[1]
        # (float16 first: the stored precision, whatever ``rows`` came as; the last row is zero)
        self._rows = np.vstack([rows.astype(np.float16).astype(np.float32), np.zeros((1, rows.shape[1]), dtype=np.float32)])
        self._slot = np.full(size, len(ids), dtype=np.int32)
        self._slot[ids] = np.arange(len(ids), dtype=np.int32)
        self.tokenizer_json = tokenizer_json
        self.tokenizer = configured(Tokenizer.from_str(tokenizer_json))
        settings = tokenizer_settings(self.tokenizer)  # (read once for both: about 20 ms with the vocabulary)
        self.fingerprint = tokenizer_fingerprint(self.tokenizer, settings)  # which passages' stored pieces are its own
        self.query_pieces = QueryCutter(self.tokenizer, settings)  # a query's word-piece ids

    @classmethod
    def from_pieces(cls, model: str, pieces: "np.ndarray", tokenizer_json: str, articles: int = 0) -> "QueryEncoder":
        """From a full (vocabulary, dimensions) table; its all-zero rows are dropped."""
        import numpy as np

        ids = np.flatnonzero(pieces.any(axis=1)).astype(np.int32)
        return cls(model, ids, pieces[ids], len(pieces), tokenizer_json, articles)

    @property
    def pieces(self) -> "np.ndarray":
        """The full (vocabulary, dimensions) table, float16 (for inspection: queries use the kept rows)."""
        import numpy as np

        return self._rows[self._slot].astype(np.float16)

    def encode_query(self, text: str) -> "np.ndarray":
        """The query's unit vector (all zeros if none of its pieces carries meaning)."""
        import numpy as np

        ids = self.query_pieces(text)
        vector = np.add.reduce(self._rows[self._slot[ids]], axis=0) if ids else np.zeros(self.dimensions, np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def encode_texts(self, texts: list[str]) -> "np.ndarray":
        """Unit vectors of several texts at once, one row each (passages at query time)."""
        import numpy as np

        return self.encode_pieces([self.cut(text) for text in texts])

    def cut(self, text: str) -> "np.ndarray":
        """A text's word-piece ids (cut one text at a time: encode_batch hands a few short
        texts to a thread pool, which costs more than it saves)."""
        import numpy as np

        return np.array(self.tokenizer.encode(text, add_special_tokens=False).ids, dtype=np.int64)

    def encode_pieces(self, pieces: "Sequence[np.ndarray]") -> "np.ndarray":
        """Unit vectors of texts already cut into word pieces (each an array of ids, as the
        tokenizer gives them: :mod:`indexer.semantic.pieces`), one row each."""
        import numpy as np

        if not pieces:
            return np.zeros((0, self.dimensions), np.float32)
        rows = self._rows[self._slot[np.concatenate(pieces).astype(np.int64, copy=False)]]
        sums = np.zeros((len(pieces), self.dimensions), np.float32)
        end = 0
        for row, ids in enumerate(pieces):
            # (each text summed on its own, as a query is: its vector never hangs on the others beside it)
            start, end = end, end + len(ids)
            if end > start:
                np.add.reduce(rows[start:end], axis=0, out=sums[row])
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0)

    def save(self, folder: Path) -> None:
        """Write into a generation folder, atomically."""
        import numpy as np

        tokenizer = np.frombuffer(self.tokenizer_json.encode("utf-8"), dtype=np.uint8)
        with atomic_file(folder / QUERY_ENCODER_FILE) as handle:
            np.savez(handle, ids=self.ids, rows=self._rows[:-1].astype(np.float16), size=np.array(self.size), tokenizer=tokenizer, model=np.array(self.model))
        _save_state(folder, {"articles": self.articles, "embedded_since": 0})

    @classmethod
    def load(cls, folder: Path) -> "QueryEncoder | None":
        """The encoder saved in a generation folder; None if it has none or it is unreadable.

        :raises ImportError: tokenizers is not installed.
        """
        import numpy as np

        try:
            with np.load(folder / QUERY_ENCODER_FILE, allow_pickle=False) as data:
                ids, rows, size = data["ids"], data["rows"], int(data["size"])
                tokenizer, model = data["tokenizer"].tobytes().decode("utf-8"), str(data["model"])
        except (OSError, ValueError, KeyError, UnicodeDecodeError, zipfile.BadZipFile, EOFError):  # (BadZipFile: truncated)
            return None
        if rows.ndim != 2 or ids.ndim != 1 or len(ids) != len(rows) or (len(ids) and not 0 <= ids.min() <= ids.max() < size):
            return None
        try:
            encoder = cls(model, ids, rows, size, tokenizer, articles=0)
        except ImportError:
            raise  # a missing library, not a damaged file: the caller says what to install
        except Exception:  # tokenizers reports a malformed tokenizer as a bare Exception
            return None
        try:
            encoder.articles = int(json.loads((folder / FIT_STATE_FILE).read_text("utf-8"))["articles"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return encoder


def due_for_refit(folder: Path, embedded: int) -> bool:
    """Count ``embedded`` more articles since the fit in ``folder``; True once they call for a new fit.

    False, and nothing written, for a folder without an encoder (or its count).
    """
    try:
        state = json.loads((folder / FIT_STATE_FILE).read_text("utf-8"))
        articles, since = int(state["articles"]), int(state["embedded_since"]) + embedded
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if since >= max(1.0, REFIT_SHARE * articles) or (embedded and articles <= REFIT_ALWAYS_UPTO):
        return True
    _save_state(folder, {"articles": articles, "embedded_since": since})
    return False


def _save_state(folder: Path, state: dict[str, int]) -> None:
    write_atomically(folder / FIT_STATE_FILE, json.dumps(state).encode("utf-8"))


def require_fitting() -> None:
    """Raise :class:`SemanticUnavailable` now if a build could not fit the encoder later."""
    from indexer.semantic.model import INSTALL_HINT, SemanticUnavailable

    try:
        import scipy.linalg  # noqa: F401
        import scipy.sparse  # noqa: F401
    except ImportError as error:
        raise SemanticUnavailable(f"semantic search needs SciPy to fit its query encoder ({error}): {INSTALL_HINT}") from None


def fit_query_encoder(
    encoder: "TextEncoder",
    texts: Sequence[str],
    vectors: "np.ndarray",
    cache: Path | None = None,
    exact_limit: int = EXACT_LIMIT,
    ridge: float = RIDGE,
    title_weight: float | None = None,
) -> QueryEncoder:
    """Fit piece vectors so that each of ``texts``, summed piece by piece, gives back its row of ``vectors``.

    :param texts: the articles' embedding texts, in the order of ``vectors``' rows.
    :param vectors: the model's unit vectors for them, (articles, dimensions).
    :param cache: a file to keep the model's lone-piece vectors in between builds.
    :param exact_limit: the most articles solved exactly (more use conjugate gradient).
    :param ridge: how strongly pieces keep their starting vectors (see :data:`RIDGE`).
    :param title_weight: the weight of each text's first line (its title) as a row of its own
        (default :data:`TITLE_WEIGHT`; 0 fits the whole texts only).
    """
    import numpy as np
    from scipy import sparse

    title_weight = TITLE_WEIGHT if title_weight is None else title_weight
    size = encoder.tokenizer.get_vocab_size()
    markers = np.array(encoder.special_ids(), dtype=np.int64)
    rows = len(texts) * (2 if title_weight > 0 else 1)
    exact = rows <= exact_limit
    dtype: Any = np.float64 if exact else np.float32  # the iterative fit is for large corpora: half the memory
    # Each row: a text's piece counts over its length, so that row @ pieces is the mean of its pieces.
    pooling = _pooling_matrix(encoder, texts, size, dtype)
    # idf as a text's pieces are weighted: log((N + 1) / (df + 1)) + 1; unseen pieces weigh most.
    frequency = np.bincount(pooling.indices, minlength=size)
    idf = np.log((len(texts) + 1) / (frequency + 1.0)) + 1.0
    strength = ridge * float(pooling.multiply(pooling).sum()) / max(len(texts), 1)
    targets = np.asarray(vectors, dtype=dtype)
    if title_weight > 0:
        # Weighting a row by w in least squares = scaling the row and its target by sqrt(w);
        # the target scales with the row here (it is aimed at the row's own length below).
        titles = _pooling_matrix(encoder, [text.split("\n", 1)[0] for text in texts], size, dtype) * np.sqrt(title_weight)
        pooling = sparse.vstack([pooling, titles], format="csr")
        targets = np.vstack([targets, targets])

    used = np.setdiff1d(np.flatnonzero(frequency), markers)
    start: np.ndarray = _lone_pieces(encoder, size, used, cache).astype(dtype) * idf[:, None].astype(dtype)
    base = pooling @ start
    # The sum's length carries no meaning (queries are normalised): aim at each text's own length.
    residual = targets * np.linalg.norm(base, axis=1, keepdims=True) - base
    del base, targets
    if strength > 0:  # (zero only if no text has a single piece: nothing to fit)
        start = start + (_solve_exactly(pooling, residual, strength) if exact else _solve_iteratively(pooling, residual, strength))
    fitted = start
    fitted[markers] = 0.0
    return QueryEncoder.from_pieces(encoder.name, fitted.astype(np.float16), encoder.tokenizer.to_str(), articles=len(texts))


def _pooling_matrix(encoder: "TextEncoder", texts: Sequence[str], size: int, dtype: Any, batch: int = 1024) -> Any:
    """Sparse (texts, vocabulary): each text's count of each piece, over its piece count.

    Built a batch of texts at a time, as compact arrays (at 100,000 long articles,
    lists of every piece would take gigabytes).
    """
    import numpy as np
    from scipy import sparse

    pointers, columns, values = [0], [], []
    for first in range(0, len(texts), batch):
        for ids in encoder.piece_ids(texts[first : first + batch], MAX_FIT_PIECES):
            found, counts = np.unique(np.asarray(ids, dtype=np.int32), return_counts=True)
            columns.append(found)
            values.append((counts / max(len(ids), 1)).astype(dtype))
            pointers.append(pointers[-1] + len(found))
    indices = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int32)
    data = np.concatenate(values) if values else np.zeros(0, dtype=dtype)
    return sparse.csr_matrix((data, indices, np.array(pointers, dtype=np.int64)), shape=(len(texts), size))


def _solve_exactly(pooling: Any, residual: "np.ndarray", ridge: float) -> "np.ndarray":
    """Pooling^T (P P^T + ridge I)^-1 R: the smallest piece correction that fits the articles."""
    import numpy as np
    from scipy import linalg

    count = pooling.shape[0]
    gram = np.empty((count, count))
    for first in range(0, count, 1024):  # in row blocks: the sparse product of all rows at once is larger
        gram[first : first + 1024] = (pooling[first : first + 1024] @ pooling.T).toarray()
    gram[np.diag_indices(count)] += ridge
    coefficients = linalg.cho_solve(linalg.cho_factor(gram, overwrite_a=True), residual, overwrite_b=False)
    return np.asarray(pooling.T @ coefficients)


def _solve_iteratively(pooling: Any, residual: "np.ndarray", ridge: float) -> "np.ndarray":
    """The same correction from (P^T P + ridge I) X = P^T R by conjugate gradient, every column at once.

    Preconditioned by the system's diagonal (each piece's squared pooling weights):
    on NFCorpus 30 such steps reach what 50 plain ones do (query vectors at cosine
    0.9992 to the exact fit's on average).
    """
    import numpy as np

    forward = pooling
    backward = forward.T.tocsr()
    target = np.asarray(backward @ residual)
    diagonal = (np.asarray(forward.multiply(forward).sum(axis=0)).ravel() + ridge).astype(target.dtype)[:, None]
    solution = np.zeros_like(target)
    remaining = target.copy()
    scaled = remaining / diagonal
    direction = scaled.copy()
    product = np.einsum("ij,ij->j", remaining, scaled)
    goal = (CG_TOLERANCE**2) * np.einsum("ij,ij->j", target, target)
    for _ in range(CG_STEPS):
        applied = np.asarray(backward @ (forward @ direction)) + ridge * direction
        step = product / np.maximum(np.einsum("ij,ij->j", direction, applied), 1e-30)
        solution += direction * step
        remaining -= applied * step
        if (np.einsum("ij,ij->j", remaining, remaining) <= goal).all():
            break
        scaled = remaining / diagonal
        new_product = np.einsum("ij,ij->j", remaining, scaled)
        direction *= new_product / np.maximum(product, 1e-30)
        direction += scaled
        product = new_product
    return solution


def _lone_pieces(encoder: "TextEncoder", size: int, wanted: "np.ndarray", cache: Path | None) -> "np.ndarray":
    """The model's lone-piece vectors of the ``wanted`` pieces (other rows zero), (size, dimensions).

    Only the pieces the corpus uses are needed: the fit leaves any other piece
    where it starts, and a query's piece that no article uses adds as little as
    the word adds to the words' ranking (measured in tests/eval/RESULTS.md, step 18).
    ``cache`` keeps them between builds; a build computes only the pieces it lacks.
    """
    import numpy as np

    known_ids = np.zeros(0, dtype=np.int64)
    known = np.zeros((0, encoder.dimensions), dtype=np.float16)
    if cache is not None:
        try:
            with np.load(cache, allow_pickle=False) as data:
                if str(data["model"]) == encoder.name and data["vectors"].shape == (len(data["ids"]), encoder.dimensions):
                    known_ids, known = data["ids"].astype(np.int64), data["vectors"]
        except (OSError, ValueError, KeyError):
            pass
    missing = np.setdiff1d(wanted, known_ids)
    if len(missing):
        # Rounded as the cache keeps them, so a build fits the same with or without the cache.
        known_ids = np.concatenate([known_ids, missing])
        known = np.concatenate([known, encoder.lone_piece_vectors(missing).astype(np.float16)])
        if cache is not None:
            try:
                with atomic_file(cache) as handle:
                    np.savez(handle, ids=known_ids, vectors=known, model=np.array(encoder.name))
            except OSError:
                pass  # only the next build is slower
    vectors = np.zeros((size, encoder.dimensions), dtype=np.float32)
    take = np.isin(known_ids, wanted)
    vectors[known_ids[take]] = known[take]
    return vectors
