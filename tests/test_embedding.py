"""The numpy sentence encoder: the same vectors as a plain, position-by-position BERT.

A tiny random model made here checks the batched, padded arithmetic against a
deliberately naive implementation (one position and one head at a time), so a
slip in masking, transposes or pooling shows. The installed model then checks
what users rely on: texts that mean the same are nearer than texts that do not.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

from indexer.semantic.model import MAX_TOKENS, SemanticUnavailable, TextEncoder, find_model, load_encoder, read_safetensors

WORDS = ["drug", "tolerance", "the", "body", "cell", "light", "plant", "energy", "water", "##s", "##ing", "a", "of"]
HIDDEN, HEADS, LAYERS, FFN = 8, 2, 2, 16


def write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header: dict[str, Any] = {}
    offset = 0
    blobs = []
    for name, array in tensors.items():
        blob = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = {token: index for index, token in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])]
    )
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {"hidden_size": HIDDEN, "num_attention_heads": HEADS, "num_hidden_layers": LAYERS, "hidden_act": "gelu", "layer_norm_eps": 1e-12}
    (folder / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(7)

    def random(*shape: int) -> np.ndarray:
        return rng.normal(0, 0.5, shape).astype(np.float32)

    tensors = {
        "embeddings.word_embeddings.weight": random(len(vocab), HIDDEN),
        "embeddings.position_embeddings.weight": random(MAX_TOKENS, HIDDEN),
        "embeddings.token_type_embeddings.weight": random(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + random(HIDDEN),
        "embeddings.LayerNorm.bias": random(HIDDEN),
    }
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        for name, (rows, cols) in {
            "attention.self.query": (HIDDEN, HIDDEN), "attention.self.key": (HIDDEN, HIDDEN), "attention.self.value": (HIDDEN, HIDDEN),
            "attention.output.dense": (HIDDEN, HIDDEN), "intermediate.dense": (FFN, HIDDEN), "output.dense": (HIDDEN, FFN),
        }.items():
            tensors[p + name + ".weight"], tensors[p + name + ".bias"] = random(rows, cols), random(rows)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[p + norm + ".weight"], tensors[p + norm + ".bias"] = 1 + random(HIDDEN), random(HIDDEN)
    write_safetensors(folder / "model.safetensors", tensors)
    return folder


def naive_vector(folder: Path, text: str) -> np.ndarray:
    """BERT as the paper describes it, one position and one head at a time, in float64."""
    w = {name: np.asarray(array, dtype=np.float64) for name, array in read_safetensors(folder / "model.safetensors").items()}
    ids = Tokenizer.from_file(str(folder / "tokenizer.json")).encode(text).ids[:MAX_TOKENS]
    size = HIDDEN // HEADS

    def norm(vector: np.ndarray, name: str) -> np.ndarray:
        mean, var = vector.mean(), vector.var()
        return (vector - mean) / math.sqrt(var + 1e-12) * w[name + ".weight"] + w[name + ".bias"]

    def dense(vector: np.ndarray, name: str) -> np.ndarray:
        return w[name + ".weight"] @ vector + w[name + ".bias"]

    states = [
        norm(w["embeddings.word_embeddings.weight"][token] + w["embeddings.position_embeddings.weight"][position]
             + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        for position, token in enumerate(ids)
    ]
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}."
        queries = [dense(s, p + "attention.self.query") for s in states]
        keys = [dense(s, p + "attention.self.key") for s in states]
        values = [dense(s, p + "attention.self.value") for s in states]
        new_states = []
        for i, state in enumerate(states):
            attended = np.zeros(HIDDEN)
            for head in range(HEADS):
                part = slice(head * size, (head + 1) * size)
                logits = [float(queries[i][part] @ keys[j][part]) / math.sqrt(size) for j in range(len(states))]
                top = max(logits)
                weights = [math.exp(logit - top) for logit in logits]
                total = sum(weights)
                attended[part] = sum(weight / total * values[j][part] for j, weight in enumerate(weights))
            middle = norm(state + dense(attended, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            hidden = dense(middle, p + "intermediate.dense")
            hidden = np.array([0.5 * x * (1 + math.erf(x / math.sqrt(2))) for x in hidden])
            new_states.append(norm(middle + dense(hidden, p + "output.dense"), p + "output.LayerNorm"))
        states = new_states
    pooled = np.mean(states, axis=0)
    return pooled / np.linalg.norm(pooled)


TEXTS = ["drug tolerance", "The body of a plant cell uses light energy and water", "a", "plants drinking water of the cells " * 3]


def test_batched_vectors_equal_the_naive_model(tiny_model: Path) -> None:
    encoder = TextEncoder(tiny_model)
    batched = encoder.encode(TEXTS)  # different lengths: padded together
    for text, vector in zip(TEXTS, batched):
        assert np.allclose(vector, naive_vector(tiny_model, text), atol=1e-5), text


def test_vectors_are_unit_length_and_independent_of_their_batch(tiny_model: Path) -> None:
    encoder = TextEncoder(tiny_model)
    together = encoder.encode(TEXTS)
    alone = np.vstack([encoder.encode([text]) for text in TEXTS])
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.allclose(together, alone, atol=1e-6)
    assert encoder.encode([]).shape == (0, HIDDEN)


def test_long_texts_are_cut_to_the_models_limit(tiny_model: Path) -> None:
    encoder = TextEncoder(tiny_model)
    long = "water " * (MAX_TOKENS + 50)
    assert np.allclose(encoder.encode([long])[0], encoder.encode(["water " * (MAX_TOKENS + 500)])[0], atol=1e-6)


def test_a_folder_without_a_model_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(SemanticUnavailable, match="cannot load the embedding model"):
        TextEncoder(tmp_path)


def test_the_installed_model_puts_paraphrases_nearer_than_other_topics() -> None:
    assert find_model() is not None, "`make test` installs the model (make install)"
    encoder = load_encoder()
    question, paraphrase, other = encoder.encode(
        ["why do medicines stop working after repeated use", "drug tolerance mechanisms", "how photosynthesis turns light into sugar"]
    )
    assert float(question @ paraphrase) > float(question @ other) + 0.2


#: SHA-256 of the files of sentence-transformers/all-MiniLM-L6-v2 as published by its authors.
OFFICIAL_FILES = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}


def test_the_installed_model_is_byte_for_byte_the_published_one() -> None:
    import hashlib

    folder = find_model()
    assert folder is not None
    for name, digest in OFFICIAL_FILES.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_a_copy_of_the_model_elsewhere_is_the_same_model(tiny_model: Path, tmp_path: Path) -> None:
    """Vectors name their model; moving the model's folder must not make an index's vectors 'foreign'."""
    import shutil

    copy = tmp_path / "somewhere-else"
    shutil.copytree(tiny_model, copy)
    assert TextEncoder(copy).name == TextEncoder(tiny_model).name
