"""Step 21 (scratch, tests/eval/RESULTS.md): embed the later windows of every article longer than the model reads, into .cache/exp/<collection>-chunks.npz.

    .venv/bin/python tests/eval/step21/windows.py nfcorpus scifact
"""
import sys, time, os, numpy as np, multiprocessing
ROOT = __import__('pathlib').Path(__file__).resolve().parents[3]; sys.path.insert(0, str(ROOT)); sys.path.insert(0, str(ROOT / 'tests' / 'eval'))
from fit_encoder import texts_of
from run import CACHE
from indexer.semantic.model import load_encoder
OVERLAP = 32
READ = 254
def chunk_texts(text, tok):
    title = text.split("\n", 1)[0]
    enc = tok.encode(text, add_special_tokens=False)
    n = len(enc.ids)
    if n <= READ:
        return []
    tlen = len(tok.encode(title, add_special_tokens=False).ids)
    width = READ - tlen - 1
    if width < 64:
        title, width = "", READ
    out = []
    start = READ - OVERLAP
    while start < n:
        end = min(start + width, n)
        a, b = enc.offsets[start][0], enc.offsets[end - 1][1]
        out.append((title + "\n" + text[a:b]) if title else text[a:b])
        if end == n: break
        start = end - OVERLAP
    return out
def work(batch):
    return load_encoder().encode(batch)
if __name__ == '__main__':
    enc = load_encoder()
    from tokenizers import Tokenizer
    tok = Tokenizer.from_str(enc.tokenizer.to_str()); tok.no_padding(); tok.no_truncation()
    for name in sys.argv[1:]:
        texts, digests = texts_of(CACHE / name / 'articles')
        seen = {}
        for t, d in zip(texts, digests): seen.setdefault(d, t)
        owners, chunks = [], []
        for d, t in seen.items():
            for c in chunk_texts(t, tok):
                owners.append(d); chunks.append(c)
        print(name, len(seen), 'articles', len(chunks), 'chunks', flush=True)
        started = time.time()
        batches = [chunks[i:i+32] for i in range(0, len(chunks), 32)]
        with multiprocessing.get_context('fork').Pool(2) as pool:
            vecs = np.concatenate(list(pool.imap(work, batches)))
        took = time.time() - started
        print(name, f'{took:.0f}s, {len(chunks)/took:.1f} chunks/s', flush=True)
        np.savez(ROOT / '.cache' / 'exp' / f'{name}-chunks.npz', owners=np.array(owners), vectors=vecs.astype(np.float16), texts=np.array(chunks))
