"""Non-neural translation baselines, fitted on training pairs only (numpy): an IBM Model 1 lexicon used word by
word, and a translation memory (the stored translation of the most similar training sentence, TF-IDF cosine)."""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np


class IBMModel1:
    """IBM Model 1 (Brown et al. 1993): lexical probabilities t(target token | source word) by EM, a NULL source
    word included. :meth:`translate` emits, for each source word, its most probable target token."""

    def __init__(self, iterations: int = 8):
        self.iterations = iterations

    def fit(self, sources: list[list[str]], targets: list[list[str]]) -> IBMModel1:
        self.src = {w: i for i, w in enumerate(["<null>"] + sorted({w for s in sources for w in s}))}
        self.tgt_vocab = sorted({t for s in targets for t in s})
        tgt = {t: i for i, t in enumerate(self.tgt_vocab)}
        pairs = [(np.array([0] + [self.src[w] for w in s]), np.array([tgt[t] for t in f]))
                 for s, f in zip(sources, targets) if f]
        t = np.full((len(self.src), len(tgt)), 1.0 / max(1, len(tgt)), dtype=np.float32)
        for _ in range(self.iterations):
            counts = np.zeros_like(t)
            for e, f in pairs:
                sub = t[np.ix_(e, f)]
                np.add.at(counts, (e[:, None], f[None, :]), sub / sub.sum(0, keepdims=True))
            t = counts / np.maximum(counts.sum(1, keepdims=True), 1e-12)
        self.best = t.argmax(1)
        return self

    def translate(self, words: list[str]) -> list[str]:
        return [self.tgt_vocab[self.best[self.src[w]]] for w in words if w in self.src]


class TranslationMemory:
    """Nearest training sentence by TF-IDF cosine over source words; its stored translation is the output."""

    def fit(self, sources: list[list[str]], targets: list[str]) -> TranslationMemory:
        self.targets = targets
        df: dict[str, int] = defaultdict(int)
        for s in sources:
            for w in set(s):
                df[w] += 1
        n = len(sources)
        self.idf = {w: math.log((1 + n) / (1 + c)) + 1.0 for w, c in df.items()}
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, s in enumerate(sources):
            vec = self._vector(s)
            for w, v in vec.items():
                self.postings[w].append((i, v))
        self.postings_np = {w: (np.array([i for i, _ in p]), np.array([v for _, v in p])) for w, p in
                            self.postings.items()}
        self.n = n
        return self

    def _vector(self, words: list[str]) -> dict[str, float]:
        counts: dict[str, int] = defaultdict(int)
        for w in words:
            if w in self.idf:
                counts[w] += 1
        vec = {w: c * self.idf[w] for w, c in counts.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {w: v / norm for w, v in vec.items()}

    def translate(self, words: list[str]) -> str:
        scores = np.zeros(self.n)
        for w, q in self._vector(words).items():
            ids, vals = self.postings_np[w]
            scores[ids] += q * vals
        return self.targets[int(scores.argmax())]
