"""Fixtures for the JavaScript runtime's own tests (js/test/*.test.mjs): what seqkit.runtime's tokenizer,
encoder, checks, results, CTC decoding and sampling RNG give for a set of cases, written as JSON; and a small
translation model (encoder + decoder-step files) with the Python runtime's greedy translations of a few sentences
(:func:`write_translation`).

Non-finite floats and dtypes travel as ``{"$float": "nan"}`` and ``{"type", "data", "dims"}``; the JavaScript
side decodes them the same way (js/test/fixtures.mjs).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from seqkit.errors import InputError
from seqkit.runtime.checks import Spec, check_feeds
from seqkit.runtime.encode import Encoder, Tokenizer, pad_batch
from seqkit.runtime.results import interpret
from seqkit.runtime.rng import Mulberry32, sample
from seqkit.runtime.translate import detokenize, words

WORD_PATTERN = r"\w+|[^\w\s]"  # classification's TOKEN_RE (tests/test_js.py checks they agree)
TEXTS = ["You will travel far and meet a stranger.", "Über alles: 42 cats, 7 dogs!", "x", "THE END",
         "naïve café — ½ price_tag (déjà-vu)…", "tabs\tand\nnew lines\u2003em space", "", "   ", "日本語のテキスト。",
         "it's \"quoted\"", "émoji 😀 ok", "ǅ title-case", "\x1c\x1dseparators"]
VOCAB = ["you", "will", "travel", "far", "and", ".", "cats", ",", "the", "end", "x", "über", "!", "42", "a"]
WORD_META = {"tokenizer": {"kind": "word", "lowercase": True, "pattern": WORD_PATTERN, "padding_id": 0,
                           "unknown_id": 1, "max_length": 6}, "vocab": VOCAB}
CHAR_META = {"tokenizer": {"kind": "char", "lowercase": False, "pattern": None, "padding_id": 0, "unknown_id": 1,
                           "max_length": 0}, "vocab": list("abcdefghijklmnopqrstuvwxyz .!ÜÄ")}
IDS_INPUTS = [{"name": "tokens", "shape": ["batch", "time"], "dtype": "int64", "kind": "ids", "high": 17},
              {"name": "lengths", "shape": ["batch"], "dtype": "int64", "kind": "lengths"}]
DATA_INPUTS = [{"name": "features", "shape": ["batch", "time", 3], "dtype": "float32"},
               {"name": "lengths", "shape": ["batch"], "dtype": "int64", "kind": "lengths"}]


def enc(value):
    """JSON for floats that JSON cannot spell, and for arrays with their dtype."""
    if isinstance(value, float) and not math.isfinite(value):
        return {"$float": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}
    if isinstance(value, np.ndarray):
        return {"type": value.dtype.name, "data": [enc(v) for v in value.ravel().tolist()], "dims": list(value.shape)}
    if isinstance(value, dict):
        return {k: enc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [enc(v) for v in value]
    return value


def outcome(fn, *args):
    try:
        return {"ok": fn(*args)}
    except InputError as exc:
        return {"error": str(exc)}


def tokenizer_cases() -> list[dict]:
    cases = []
    for meta in (WORD_META, CHAR_META):
        tok = Tokenizer(meta, {})
        for text in TEXTS:
            tokens = tok.tokens(text)
            cases.append({"meta": meta, "text": text, "tokens": tokens, "ids": tok.encode(tokens)})
    return cases


def encoder_cases() -> list[dict]:
    nan, inf = float("nan"), float("inf")
    cases = []
    samples = {"ids": [*TEXTS, ["you", "zzz", "far"], [2, 3, 16], [2, 17], [-1], [2, 2.5], [True, 3], [], 3.5, None,
                       {"tokens": [2, 3]}, {"other": 1}],
               "data": [[[1, 2, 3], [4, 5, 6]], [[1, 2, 3]], [[1, 2], [3, 4]], [[1, 2, 3], [4, 5]], [[1, nan, 3]],
                        [[1, 2, inf]], [[1e300, 0, 0]], [1, 2, 3], [], "clip.wav", [["a", "b", "c"]]]}
    for kind, inputs, meta in (("ids", IDS_INPUTS, WORD_META), ("data", DATA_INPUTS, {})):
        encoder = Encoder([Spec.from_dict(d) for d in inputs], meta, {})
        for i, s in enumerate(samples[kind]):
            where = f"line {i + 2}"
            cases.append({"inputs": inputs, "meta": meta, "sample": enc(s), "where": where,
                          "want": enc(outcome(encoder, s, where))})
    # a padded batch with lengths
    encoder = Encoder([Spec.from_dict(d) for d in IDS_INPUTS], WORD_META, {})
    encoded = [encoder(t, "s") for t in TEXTS[:4]]
    feeds = pad_batch(encoded, encoder.specs, encoder.lengths, 0)
    cases.append({"inputs": IDS_INPUTS, "meta": WORD_META, "batch": TEXTS[:4], "want": {"ok": enc(feeds)}})
    return cases


def check_cases() -> list[dict]:
    f32, i64 = np.float32, np.int64
    x = np.zeros((2, 4, 3), f32)
    bad_x = x.copy()
    bad_x[1, 2, 0] = np.nan
    feeds = [
        {"features": x, "lengths": np.array([4, 2], i64)},
        {"features": x},
        {"features": x, "lengths": np.array([4, 2], i64), "extra": x},
        {"features": x.astype(np.float64), "lengths": np.array([4, 2], np.int32)},
        {"features": np.full((2, 4, 3), 1e300), "lengths": np.array([4, 2], i64)},
        {"features": x.astype(i64), "lengths": np.array([4, 2], i64)},
        {"features": x, "lengths": np.array([4.0, 2.0])},
        {"features": x[0], "lengths": np.array([4], i64)},
        {"features": np.zeros((2, 4, 5), f32), "lengths": np.array([4, 2], i64)},
        {"features": x, "lengths": np.array([4, 2, 1], i64)},
        {"features": np.zeros((2, 0, 3), f32), "lengths": np.array([4, 2], i64)},
        {"features": bad_x, "lengths": np.array([4, 2], i64)},
        {"features": x, "lengths": np.array([4, 5], i64)},
        {"features": x, "lengths": np.array([0, 2], i64)},
    ]
    specs = [Spec.from_dict(d) for d in DATA_INPUTS]
    cases = []
    for i, f in enumerate(feeds):
        names = None if i % 2 else ["a.csv line 2", "a.csv line 3"]
        cases.append({"specs": DATA_INPUTS, "feeds": enc(f), "samples": names,
                      "want": enc(outcome(check_feeds, specs, f, names))})
    ids = [np.array([[2, 3, 0], [4, 0, 0]], i64), np.array([[2, 3, 17], [4, 0, 0]], i64),
           np.array([[2, 3, 0], [4, -2, 0]], i64), np.array([[2.0, 3.0]])]
    for t in ids:
        f = {"tokens": t, "lengths": np.array([t.shape[1]] * len(t), i64)}
        cases.append({"specs": IDS_INPUTS, "feeds": enc(f), "samples": None,
                      "want": enc(outcome(check_feeds, [Spec.from_dict(d) for d in IDS_INPUTS], f))})
    return cases


def paths(best: list[list[int]], k: int) -> np.ndarray:
    """Scores [batch, time, k] whose best symbol per frame is ``best``."""
    scores = np.zeros((len(best), len(best[0]), k), np.float32)
    for b, row in enumerate(best):
        scores[b, np.arange(len(row)), row] = 5.0
    return scores


def result_cases() -> list[dict]:
    rng = np.random.default_rng(0)
    f32 = np.float32
    cases = []
    specs = {
        "label": ([{"name": "logits", "shape": ["batch", 3]}], {"logits": rng.normal(size=(2, 3)).astype(f32)},
                  {"labels": ["neg", "neu", "pos"]}),
        "unnamed": ([{"name": "logits", "shape": ["batch", 4]}], {"logits": rng.normal(size=(2, 4)).astype(f32)},
                    {"labels": ["a"]}),
        "tags": ([{"name": "tag_logits", "shape": ["batch", "time", 3]}],
                 {"tag_logits": rng.normal(size=(2, 5, 3)).astype(f32)}, {"labels": ["O", "B", "I"]}),
        "ctc": ([{"name": "log_probs", "shape": ["batch", "time", 4]}],
                {"log_probs": rng.normal(size=(2, 12, 4)).astype(f32) * 3}, {"alphabet": [" ", "a", "b"]}),
        "ctc-spaces": ([{"name": "log_probs", "shape": ["batch", "time", 5]}],
                       {"log_probs": paths([[1, 1, 3, 0, 3, 2, 4, 3, 1, 0, 2, 2],
                                            [4, 3, 0, 1, 1, 3, 2, 0, 3, 1, 1, 1]], 5)},
                       {"alphabet": [" ", "\u3000", "a", "\x1c"]}),
        "forecast": ([{"name": "forecast", "shape": ["batch", 4, 2]}], {"forecast": rng.normal(size=(2, 4, 2)).astype(
            f32)}, {"columns": ["sunspots", "temp"]}),
        "scalar": ([{"name": "sum", "shape": ["batch", 1]}], {"sum": rng.normal(size=(2, 1)).astype(f32)}, {}),
        "steps": ([{"name": "values", "shape": ["batch", "time", 2]}],
                  {"values": rng.normal(size=(2, 5, 2)).astype(f32)}, {}),
        "several": ([{"name": "logits", "shape": ["batch", 2]}, {"name": "sum", "shape": ["batch", 1]},
                     {"name": "hn", "shape": [1, "batch", 4], "kind": "state"}],
                    {"logits": rng.normal(size=(2, 2)).astype(f32), "sum": rng.normal(size=(2, 1)).astype(f32),
                     "hn": rng.normal(size=(2, 1, 4)).astype(f32)}, {"labels": ["no", "yes"]}),
    }
    for name, (outputs, values, meta) in specs.items():
        lengths = np.array([12, 7], np.int64) if name.startswith("ctc") else np.array([5, 3], np.int64)
        got = interpret([Spec.from_dict(d) for d in outputs], values, lengths, meta)
        cases.append({"name": name, "outputs": outputs, "values": enc(values), "lengths": lengths.tolist(),
                      "meta": meta, "want": got})
    return cases


def rng_cases() -> dict:
    draws = {str(seed): [Mulberry32(seed).next_uint32() for _ in range(1)] for seed in (0, 1, 42, -1, 2**40 + 7)}
    for seed in draws:
        r = Mulberry32(int(seed))
        draws[seed] = [r.next_uint32() for _ in range(6)]
    logits = np.random.default_rng(1).normal(size=(30, 12)).astype(np.float32) * 2
    samples = []
    for temperature, seed in ((1.0, 3), (0.5, 7), (2.0, 0), (0.0, 1)):
        r = Mulberry32(seed)
        samples.append({"temperature": temperature, "seed": seed, "banned": 0,
                        "ids": [sample(row, temperature, r, banned=0) for row in logits]})
    return {"draws": draws, "logits": enc(logits), "samples": samples}


def repr_cases() -> list[list[str]]:
    texts = ["plain", "it's", "say \"hi\"", "both ' and \"", "back\\slash", "tab\tnew\nline\r", "\x00\x7f\x85",
             "\u00ad\u200b\u2028", "é日😀", "\U000e0001"]
    return [[t, repr(t)] for t in texts]


def translation_text_cases() -> dict:
    """The translation tokenizer (lowercased or not) and detokenizer (char, word) on the tokenizer's texts."""
    texts = [*TEXTS, "Don't! I'm here.", "ΣΊΣΥΦΟΣ ΟΔΟΣ", "İstanbul", "x²+y₂ ⅷ", "ﬁne ǈ ß"]
    tokens = [["我", "喜欢", "茶"], ["I", "like", "tea", "."], [], ["<", "a", ">"]]
    return {"words": [[t, words(t), words(t, False)] for t in texts],
            "detokenize": [[t, unit, detokenize(t, unit)] for t in tokens for unit in ("char", "word")]}


def write(path: Path) -> Path:
    data = {"tokenizer": tokenizer_cases(), "encoder": encoder_cases(), "checks": check_cases(),
            "results": result_cases(), "rng": rng_cases(), "repr": repr_cases(),
            "translation_text": translation_text_cases()}
    path.write_text(json.dumps(data, ensure_ascii=False, allow_nan=False))
    return path


# -- translation ----------------------------------------------------------------------------------------------
SUBJECTS = {"I": "我", "you": "你", "he": "他", "she": "她", "we": "我们", "they": "他们"}
VERBS = {"like": "喜欢", "drink": "喝", "want": "想要", "see": "看"}
OBJECTS = {"tea": "茶", "water": "水", "coffee": "咖啡", "books": "书", "cats": "猫", "milk": "牛奶"}
#: what the translations are checked on: seen and unseen sentences, case, punctuation, unknown words, an empty
#: sentence (<unk> alone), one longer than the maximum source length (cut), Chinese in the source
SENTENCES = ["I like tea.", "They don't drink coffee!", "We see cats.", "she wants milk", "You like books and tea.",
             "", "HE DRINK WATER", "Cats, tea, milk, books, water, coffee, I, you, we, they, he, she, see.",
             "我喜欢茶", "Don't you see?", "we want water!", "The end"]


def generated_pairs() -> str:
    """English -> Chinese pairs generated from a tiny lexicon (subject verb object, and its negation): 288
    lines of TSV, nothing copied from anywhere."""
    rows = []
    for s, zs in SUBJECTS.items():
        for v, zv in VERBS.items():
            for o, zo in OBJECTS.items():
                rows.append(f"{s.capitalize()} {v} {o}.\t{zs}{zv}{zo}。")
                rows.append(f"{s.capitalize()} don't {v} {o}!\t{zs}不{zv}{zo}！")
    return "\n".join(rows) + "\n"


def write_translation(folder: Path, data: Path | None = None, sentences: list[str] | None = None,
                      options: dict | None = None, epochs: int = 5) -> Path:
    """A GRU translation model trained for a few seconds (on :func:`generated_pairs`, or on ``data``), exported
    to ``folder`` (encoder + decoder step), and the Python runtime's greedy decodes of ``sentences``, batched
    (4 at a time, padded), one by one and cut at 3 tokens; also the first step's logits and the errors Python
    gives for bad files and inputs. Written as ``folder/translation.json``; returns its path."""
    import shutil

    import torch

    import seqkit
    from seqkit.errors import SeqkitError
    from seqkit.runtime.translate import Translator
    from seqkit.training import TrainConfig, prepare, train

    folder.mkdir(parents=True, exist_ok=True)
    if data is None:
        data = folder / "pairs.tsv"
        data.write_text(generated_pairs(), encoding="utf-8")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        config = {"embedding_dim": 16, "attention_size": 16, "min_count": 1, "max_source_length": 8,
                  "max_target_length": 12, **(options or {})}
        prepared = prepare("gru", "translation", str(data), seqkit.CellConfig(hidden_size=16), config, seed=0)
        trained = train(prepared.composition, prepared.train_data, prepared.val_data,
                        TrainConfig(epochs=epochs, batch_size=16, lr=0.02, progress=False), run_dir=folder / "run")
        encoder = folder / "en-zh.onnx"
        seqkit.export(trained.composition, encoder, verify=False)  # the decode is compared with Python below
    finally:
        torch.set_num_threads(threads)
    sentences = SENTENCES if sentences is None else sentences
    translator = Translator(encoder)
    sources = [translator.source_ids(t) for t in sentences]
    batched = [ids for start in range(0, len(sources), 4) for ids in translator.greedy_ids(sources[start: start + 4])]
    ids, lengths = translator.pad(sources[:4])
    state, memory, mask = translator.start(translator.encode(ids, lengths))
    logits, _ = translator.step(np.full(4, 2, dtype=np.int64), state, memory, mask)
    lonely = folder / "lonely"
    lonely.mkdir()
    shutil.copy(encoder, lonely / encoder.name)
    decoder = folder / translator.meta["decoder_file"]
    errors = []
    for path in (decoder, lonely / encoder.name, data):
        try:
            Translator(path)
            raise AssertionError(f"{path} loaded")
        except SeqkitError as exc:
            errors.append({"load": str(path), "error": str(exc)})
    for texts in ([5], ["ok", None], [["a", "list"]]):
        try:
            translator.translate(texts)
            raise AssertionError(f"{texts} translated")
        except InputError as exc:
            errors.append({"translate": texts, "error": str(exc)})
    fixture = {"encoder": str(encoder), "sentences": sentences, "source_ids": sources,
               "batched": batched, "alone": [translator.greedy_ids([s])[0] for s in sources],
               "cut": translator.greedy_ids(sources, max_length=3),
               "translations": translator.translate(sentences, batch_size=4),
               "first_logits": enc(logits), "errors": errors}
    path = folder / "translation.json"
    path.write_text(json.dumps(fixture, ensure_ascii=False, allow_nan=False), encoding="utf-8")
    return path
