"""Translation scores from sacrebleu (no hand-written BLEU): corpus BLEU and chrF against every reference of a
source sentence, their signatures, and BLEU by source-length bucket."""
from __future__ import annotations

from seqkit.errors import SeqkitError

EXTRA = "translation"


def _sacrebleu():
    try:
        import sacrebleu
    except ImportError:
        raise SeqkitError(f"translation scores need sacrebleu; pip install 'seqkit[{EXTRA}]'") from None
    return sacrebleu


def _streams(references: list[list[str]]) -> list[list[str]]:
    """sacrebleu's reference streams; a sentence with fewer references repeats its first (which changes neither
    BLEU's clipped counts nor chrF's best-reference score)."""
    most = max(len(r) for r in references)
    return [[r[j] if j < len(r) else r[0] for r in references] for j in range(most)]


def tokenizer(target_tokens: str) -> str:
    return "zh" if target_tokens == "char" else "13a"


def scores(hypotheses: list[str], references: list[list[str]], target_tokens: str) -> dict:
    """``{"bleu": .., "chrf": .., "signatures": {...}}`` (corpus level; hypothesis i against references[i])."""
    sacrebleu = _sacrebleu()
    if not hypotheses:
        return {}
    streams = _streams(references)
    bleu = sacrebleu.metrics.BLEU(tokenize=tokenizer(target_tokens))
    chrf = sacrebleu.metrics.CHRF()
    b = bleu.corpus_score(hypotheses, streams)
    c = chrf.corpus_score(hypotheses, streams)
    return {"bleu": round(b.score, 3), "chrf": round(c.score, 3),
            "signatures": {"bleu": str(bleu.get_signature()), "chrf": str(chrf.get_signature())}}


def bucket_names(edges: list[int]) -> list[str]:
    names, low = [], 1
    for edge in edges:
        names.append(f"{low}-{edge}" if edge > low else f"{low}")
        low = edge + 1
    return names + [f"{low}+"]


def bucket_of(length: int, edges: list[int]) -> int:
    return next((i for i, edge in enumerate(edges) if length <= edge), len(edges))


def bleu_by_bucket(hypotheses: list[str], references: list[list[str]], lengths: list[int], edges: list[int],
                   target_tokens: str) -> dict[str, dict]:
    """``{"1-4": {"bleu": .., "sentences": n}, ...}`` by source length in words."""
    sacrebleu = _sacrebleu()
    out = {}
    for i, name in enumerate(bucket_names(edges)):
        idx = [k for k, n in enumerate(lengths) if bucket_of(n, edges) == i]
        if not idx:
            continue
        bleu = sacrebleu.metrics.BLEU(tokenize=tokenizer(target_tokens))
        score = bleu.corpus_score([hypotheses[k] for k in idx], _streams([references[k] for k in idx]))
        out[name] = {"bleu": round(score.score, 3), "sentences": len(idx)}
    return out
