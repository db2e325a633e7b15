"""Step 21 (scratch, tests/eval/RESULTS.md): ranking variants scored in one process over tune.py sets, by patching.

    .venv/bin/python tests/eval/step21/variants.py --on nfcorpus:train:500 --on scifact:train SETTINGS

SETTINGS keys: mode first|max|meanvec|maxmean and alpha (windows of windows.py), w3 (a third signal:
the static encoder on both sides), fit {query_encoder constants, "mean": true = fit to the windows' mean vectors} (refits the encoder), fusion constants.
"""
import sys, json, os, time, statistics, numpy as np
ROOT = __import__('pathlib').Path(__file__).resolve().parents[3]; sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / 'tests' / 'eval'))
import tune, run
from pathlib import Path
from indexer.semantic import vectors as V
from indexer.ranking import fusion

STATE = {"mode": "first", "alpha": 1.0, "fit": None, "w3": 0.0}
TEXTS = {}  # digest -> embedding text (all loaded collections)
ENCODERS = {}  # index folder name -> fitted QueryEncoder for the current variant

def newest_index(articles, collection, rebuild, log, semantic):
    return max((run.CACHE / collection).glob("index-*-semantic"), key=lambda p: p.stat().st_mtime)
run.cached_index = newest_index

import indexer.search.generation as G
from indexer.semantic import query_encoder as QE
_orig_load = QE.QueryEncoder.load.__func__
def load_encoder_patched(cls, folder):
    for key, enc in ENCODERS.items():
        if key in str(folder):
            return enc
    return _orig_load(cls, folder)
G.QueryEncoder.load = classmethod(load_encoder_patched)

def mean_rows(name, unique, rows):
    """Each article's vector replaced by the normalised mean of its first window's and later windows' vectors."""
    own, vv = CHUNKS[name]
    pos = {d: i for i, d in enumerate(unique)}
    s = rows.copy(); c = np.ones(len(s))
    idx = np.array([pos.get(h, -1) for h in own]); keep = idx >= 0
    np.add.at(s, idx[keep], vv[keep]); np.add.at(c, idx[keep], 1)
    return (s / np.linalg.norm(s, axis=1, keepdims=True).clip(1e-9)).astype(np.float32)

def refit(name, index, settings):
    """Fit the encoder with query_encoder settings (e.g. SENTENCE_WEIGHT) on the index's texts and vectors."""
    from fit_encoder import texts_of
    from indexer import IndexStore
    from indexer.semantic.vectors import ArticleVectors
    from indexer.semantic.model import load_encoder
    settings = dict(settings); mean = settings.pop("mean", False)
    saved = {k: getattr(QE, k) for k in settings}
    for k, v in settings.items(): setattr(QE, k, v)
    try:
        vectors = ArticleVectors.load(index / IndexStore(index).require_pointer().dir)
        texts, digests = texts_of(run.CACHE / name / "articles")
        unique = {d: t for t, d in zip(texts, digests) if d in vectors}
        matrix = np.array([vectors.rows[d] for d in unique], dtype=np.float32)
        if mean:
            matrix = mean_rows(name, list(unique), matrix)
        t = time.time()
        enc = QE.fit_query_encoder(load_encoder(), list(unique.values()), matrix, cache=index / QE.PIECES_CACHE_FILE)
        print(f"  refit {name} {settings}: {time.time()-t:.0f}s", flush=True)
        return enc
    finally:
        for k, v in saved.items(): setattr(QE, k, v)
CHUNKS = {}   # name -> (owners digests, vectors float32)

orig_lay_out = G.lay_out
def lay_out(hashes, table):
    m = orig_lay_out(hashes, table)
    m.hashes = list(hashes)
    return m
G.lay_out = lay_out

def extras(m):
    """Chunk matrix laid out by docnum for this VectorMatrix (built lazily)."""
    if getattr(m, "_chunks", None) is None:
        pos = {}
        for i, h in enumerate(m.hashes):
            pos.setdefault(h, []).append(i)
        owners, vecs = [], []
        for name, (own, vv) in CHUNKS.items():
            for h, v in zip(own, vv):
                for d in pos.get(h, []):
                    owners.append(d); vecs.append(v)
        m._chunks = (np.array(owners, dtype=np.int64), np.array(vecs, dtype=np.float32).reshape(len(vecs), -1))
        # mean-of-chunks matrix
        s = m.matrix.copy(); c = np.ones(len(s))
        np.add.at(s, m._chunks[0], m._chunks[1]); np.add.at(c, m._chunks[0], 1)
        mean = s / np.linalg.norm(s, axis=1, keepdims=True).clip(1e-9)
        m._mean = mean.astype(np.float32)
    return m._chunks

def doc_scores(m, q):
    mode = STATE["mode"]
    if mode == "meanvec" and getattr(m, "_is_mean", False):
        return m.matrix @ q
    first = m.matrix @ q
    if mode == "first":
        return first
    owners, cv = extras(m)
    if mode == "meanvec":  # the article vector itself becomes the mean: the feedback reads it too
        if not getattr(m, "_is_mean", False):
            m.matrix, m._is_mean = m._mean, True
        return m.matrix @ q
    best = first.copy()
    np.maximum.at(best, owners, cv @ q)
    if mode == "max":
        a = STATE["alpha"]
        return a * best + (1 - a) * first
    if mode == "maxmean":   # mix of max chunk and mean-vector cosine
        a = STATE["alpha"]
        return a * best + (1 - a) * (m._mean @ q)
    raise ValueError(mode)

def nearest(self, query, count, searcher):
    if not self.known.any():
        return {}
    sim = doc_scores(self, query).astype(np.float32)
    sim[~self.known] = -np.inf
    reader = searcher.reader()
    deletions = reader.has_deletions()
    wanted = min(len(sim), count + 32)
    top = np.argpartition(-sim, wanted - 1)[:wanted] if wanted < len(sim) else np.arange(len(sim))
    found = {}
    for d in top[np.argsort(-sim[top], kind="stable")].tolist():
        if len(found) == count or sim[d] == -np.inf: break
        if not (deletions and reader.is_deleted(d)): found[d] = float(sim[d])
    return found

def similarity(self, query, docnums):
    if STATE["mode"] == "first":
        rows = self.matrix[docnums] @ query
    else:
        rows = doc_scores(self, query)[docnums]
    return [float(v) if k else 0.0 for v, k in zip(rows.tolist(), self.known[docnums].tolist())]

V.VectorMatrix.nearest = nearest
V.VectorMatrix.similarity = similarity

def static_matrix(m, embed_texts):
    if getattr(m, "_static", None) is None:
        texts = [TEXTS.get(h, "") for h in m.hashes]
        m._static = np.asarray(embed_texts._encode(texts), dtype=np.float32)
    return m._static

_orig_fuse_once = getattr(fusion, "_fuse_once", None)  # (gone from fusion.py since the speed step: w3 no longer runs)
def fuse_once(scores, semantic, depth, weight):
    w3 = STATE["w3"]
    if not w3:
        return _orig_fuse_once(scores, semantic, depth, weight)
    depth = fusion.FUSION_DEPTH if depth is None else depth
    weight = fusion.SEMANTIC_WEIGHT if weight is None else weight
    import heapq
    lexical_best = heapq.nsmallest(depth, scores.items(), key=lambda item: (-item[1], item[0]))
    nearest = {d: c for d, c in semantic.nearest(depth).items() if d in scores or c >= fusion.SEMANTIC_MIN_SIMILARITY}
    candidates = list(dict.fromkeys([d for d, _ in lexical_best] + list(nearest)))
    if not candidates:
        return scores
    missing = [d for d in candidates if d not in nearest]
    similarity = {**dict(zip(missing, semantic.similarity(missing))), **nearest}
    lexical = fusion._min_max([scores.get(d, 0.0) for d in candidates])
    meaning = fusion._min_max([similarity[d] for d in candidates])
    S = static_matrix(semantic.dense, semantic.embed_texts)
    q0 = getattr(semantic, "_static_q", None)
    q0 = semantic.vector if q0 is None else q0
    third = fusion._min_max((S[candidates] @ q0).tolist())
    fused = {d: 1.0 + (1.0 - weight - w3) * lx + weight * sm + w3 * st for d, lx, sm, st in zip(candidates, lexical, meaning, third)}
    top = max(scores.values(), default=0.0)
    for d, sc in scores.items():
        if d not in fused:
            fused[d] = 0.999 * sc / top if top > 0 else 0.0
    return fused
if _orig_fuse_once is not None:
    fusion._fuse_once = fuse_once
STATIC_ENCODER = [None]
_orig_refined = V.SemanticQuery.refined
def refined(self, docnums, weight):
    new = _orig_refined(self, docnums, weight)
    if new is not self:
        new._static_q = getattr(self, "_static_q", None) if getattr(self, "_static_q", None) is not None else self.vector
    return new
V.SemanticQuery.refined = refined

def load_chunks(name):
    p = ROOT / '.cache' / 'exp' / f'{name}-chunks.npz'
    if p.exists():
        with np.load(p) as d:
            CHUNKS[name] = (d["owners"].tolist(), d["vectors"].astype(np.float32))

def main():
    import argparse
    ap = argparse.ArgumentParser(); ap.add_argument("--on", action="append"); ap.add_argument("settings", nargs="+")
    args = ap.parse_args()
    evaldata = Path(os.environ.get('EVALDATA') or ROOT.parent / 'shared' / 'evaldata').resolve()
    sets = []
    for spec in args.on:
        parts = spec.split(":")
        load_chunks(parts[0])
        from fit_encoder import texts_of
        t, d = texts_of(run.CACHE / parts[0] / "articles")
        TEXTS.update(zip(d, t))
        sets.append((spec, tune.prepare(evaldata, parts[0], parts[1], int(parts[2]) if len(parts) > 2 else None)))
    defaults = {n: getattr(fusion, n) for n in dir(fusion) if n.isupper()}
    for spec, s in sets:
        ref = s[4]; print(f"{spec:<22} FTS5 nDCG {ref['ndcg']:.4f} R@100 {ref['recall']:.4f}")
    for setting in args.settings:
        ch = json.loads(setting)
        STATE.update({"mode": "first", "alpha": 1.0})
        for n, v in defaults.items(): setattr(fusion, n, v)
        fit = ch.pop("fit", None)
        for spec, s in sets:
            name = spec.split(":")[0]
            index = newest_index(None, name, 0, 0, 1)
            ENCODERS.pop(index.name, None)
            if fit is not None:
                ENCODERS[index.name] = refit(name, index, fit)
            s[2].close()
            sets[sets.index((spec, s))] = (spec, (s[0], s[1], tune.SearchService(index), s[3], s[4]))
        for k, v in ch.items():
            if k in STATE: STATE[k] = v
            else:
                assert k in defaults, k; setattr(fusion, k, v)
        line = []
        for spec, (queries, qrels, service, source_of, ref) in sets:
            rankings, times = [], []
            for _, text in queries:
                t = time.perf_counter(); ids = service.ranked_ids(text, run.DEPTH); times.append((time.perf_counter() - t) * 1000)
                rankings.append([source_of[i] for i in ids])
            ours = tune.score(rankings, queries, qrels)
            line.append(f"{spec.split(':')[0][:3]} {ours['ndcg']:.4f} ({ours['ndcg']/ref['ndcg']:.3f}x) R {ours['recall']/ref['recall']:.3f}x p50 {statistics.median(times):.1f}")
        print(" | ".join(line), " ", setting, flush=True)

if __name__ == "__main__":
    main()
