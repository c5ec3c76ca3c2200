"""The translation task: split, padding, export (encoder + decoder step), torch-free decoding and the CLI, on the
Tatoeba English-Chinese pairs in ../shared/data (never committed; see its SOURCE.md)."""
import json
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import shared_data_path

import seqkit
from seqkit.builtin.tasks.translation import TranslationConfig, TranslationTask
from seqkit.cli import cli
from seqkit.core.config import CellConfig
from seqkit.kit.pairs import source_key
from seqkit.runtime.translate import BOS, EOS, SPECIALS, Translator

CMN = shared_data_path("tatoeba-eng-cmn/cmn.txt")
#: small and quick: 300 pairs of at most 6 English words, a 16-unit GRU, 2 epochs
TASK_OPTIONS = ["-T", "max_pairs=300", "-T", "max_source_length=6", "-T", "embedding_dim=16", "-T",
                "attention_size=16"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny GRU with additive attention trained, evaluated and exported once through the CLI."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("translation")
    run_dir, model = folder / "run", folder / "en-zh.onnx"
    result = invoke("train", "--task", "translation", "--cell", "gru", "--data", CMN, *TASK_OPTIONS,
                    "--hidden-size", 16, "--epochs", 2, "--lr", 0.01, "--run-dir", run_dir)
    assert result.exit_code == 0, result.output
    evaluated = invoke("evaluate", run_dir, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    exported = invoke("export", run_dir, "-o", model, "--json")
    assert exported.exit_code == 0, exported.output
    torch.set_num_threads(threads)
    return {"run": run_dir, "model": model, "evaluation": json.loads(evaluated.output),
            "export": json.loads(exported.output)}


def test_test_split_holds_out_whole_english_sentences():
    task = TranslationTask(TranslationConfig(max_source_length=3))
    train, test = task.load_data(CMN, "train"), task.load_data(CMN, "test")
    train_keys, test_keys = ({source_key(s) for s, _ in d.pairs} for d in (train, test))
    assert train_keys.isdisjoint(test_keys)
    counts = Counter(source_key(s) for s, _ in train.pairs + test.pairs)
    assert sum(n > 1 for n in counts.values()) > 20  # the file repeats sentences: the property is not vacuous
    assert 0.07 < len(test_keys) / len(counts) < 0.13
    again = TranslationTask(TranslationConfig(max_source_length=3)).load_data(CMN, "test")
    assert again.pairs == test.pairs  # seeded: the same split every time
    other = TranslationTask(TranslationConfig(max_source_length=3, split_seed=1)).load_data(CMN, "test")
    assert other.pairs != test.pairs
    fit, val = task.split_validation(train, 0.1, seed=0)
    assert {source_key(s) for s, _ in fit.pairs}.isdisjoint(source_key(s) for s, _ in val.pairs)
    assert len(fit) + len(val) == len(train)


@pytest.mark.parametrize("cell, bidirectional, attention", [("gru", True, "additive"), ("lstm", False, "dot"),
                                                            ("rnn", False, "none"), ("indrnn", False, "additive")])
def test_decoder_from_the_same_plugin_and_padding_invariance(cell, bidirectional, attention):
    config = {"source_vocab": SPECIALS[:2] + list("abcdefgh"), "target_vocab": SPECIALS + list("xyzw"),
              "embedding_dim": 8, "attention_size": 8, "attention": attention}
    composition = seqkit.compose(cell, "translation", CellConfig(hidden_size=8, bidirectional=bidirectional),
                                 config, seed=3)
    task, model = composition.task, composition.model
    decoder = task._step.cell
    assert type(decoder) is type(model.cell) and decoder.num_directions == 1
    rng = np.random.default_rng(0)
    samples = [(rng.integers(2, 10, size=n), np.array([BOS, *rng.integers(4, 8, size=m), EOS]), i)
               for i, (n, m) in enumerate([(5, 2), (1, 6), (3, 3)])]
    inputs, target = task.collate(samples)
    with torch.no_grad():
        together = model(*inputs)[0]
        polluted = [x.clone() for x in inputs]
        polluted[0][polluted[0] == 0] = 9  # garbage in padded source steps
        polluted[2][target == 0] = 7       # and in padded target steps
        assert torch.allclose(model(*polluted)[0][target != 0], together[target != 0], atol=1e-5)
        for row, sample in enumerate(samples):
            alone_inputs, alone_target = task.collate([sample])
            alone = model(*alone_inputs)[0][0]
            steps = len(sample[1]) - 1
            assert torch.allclose(together[row, :steps], alone[:steps], atol=1e-5)
    # the loss ignores padded target positions: the same whether computed in a batch or per sample
    per_token = sum(task.loss((together[r:r + 1],), target[r:r + 1]) * (target[r] != 0).sum() for r in range(3))
    assert torch.isclose(task.loss((together,), target), per_token / (target != 0).sum(), atol=1e-5)


def test_evaluate_scores_model_and_baselines_with_sacrebleu(trained):
    result = trained["evaluation"]
    for name in ("bleu", "chrf"):
        assert 0.0 <= result[name] <= 100.0
        for baseline in ("ibm1_word_by_word", "translation_memory"):
            assert 0.0 <= result["baselines"][baseline][name] <= 100.0
    assert "tok:zh" in result["signatures"]["bleu"] and "nc:6" in result["signatures"]["chrf"]
    buckets = result["translation"]["bleu_by_length"]
    assert sum(b["sentences"] for b in buckets.values()) == result["translation"]["sentences"]
    task = TranslationTask(TranslationConfig(max_pairs=300, max_source_length=6))
    distinct = {source_key(s) for s, _ in task.load_data(CMN, "test").pairs}
    assert result["translation"]["sentences"] == len(distinct)
    # the translation memory on training pairs alone: it returns a training translation for every test sentence
    assert result["baselines"]["translation_memory"]["chrf"] > 0.0


def test_export_writes_linked_verified_pair(trained):
    model, report = trained["model"], trained["export"]["verification"]
    decoder = model.with_name("en-zh.decoder.onnx")
    assert model.is_file() and decoder.is_file() and report["ok"]
    outputs = {c["output"] for c in report["checks"]}
    assert {"encoder_outputs", "decoder logits", "decoder h_out", "greedy decode"} <= outputs
    assert len({(c["batch"], c["time"]) for c in report["checks"] if c["output"] == "encoder_outputs"}) >= 3
    translator = Translator(model)
    # the encoder is verified on the sources it can be given: up to max_source_length (6 here), not 300 steps
    times = {c["time"] for c in report["checks"] if c["output"] == "encoder_outputs"}
    assert max(times) == translator.meta["max_source_length"] == 6 and len(times) >= 3
    assert translator.meta["decoder_file"] == decoder.name and translator.meta["role"] == "encoder"
    assert translator.target_vocab[:4] == SPECIALS and translator.meta["max_length"] >= 2
    # two thread pools spinning at once halved the decode's speed (docs/tasks.md): the encoder has no pool
    two = Translator(model, threads=2)
    assert two.encoder.session.get_session_options().intra_op_num_threads == 1
    assert two.decoder.session.get_session_options().intra_op_num_threads == 2


def test_runtime_greedy_equals_pytorch_and_beam_scores_at_least_greedy(trained):
    from seqkit.training.trainer import load_run

    composition = load_run(trained["run"])
    task = composition.task
    sentences, _ = task.load_data(CMN, "test").references()
    sentences = sentences[:12]
    translator = Translator(trained["model"])
    with torch.no_grad():
        assert translator.translate(sentences, batch_size=5) == task.translate_texts(sentences)
    for sentence in sentences[:6]:
        source = translator.source_ids(sentence)
        greedy = translator.greedy_ids([source])[0]
        beam, beam_score = translator.beam_ids(source, width=5, length_penalty=0.0)
        assert beam_score == pytest.approx(translator.score(source, beam), abs=1e-4)
        assert beam_score >= translator.score(source, greedy) - 1e-4


def test_verification_fails_loudly_on_a_different_decode(trained):
    from seqkit.onnx.seq2seq import verify_greedy
    from seqkit.training.trainer import load_run

    parts = load_run(trained["run"]).task.seq2seq_parts()
    translator = Translator(trained["model"])
    assert all(c.ok for c in verify_greedy(parts, translator, translator.meta))
    real = parts.greedy
    parts.greedy = lambda sources, n=None: [ids + [4] for ids in real(sources, n)]
    assert not any(c.ok for c in verify_greedy(parts, translator, translator.meta))


def test_predict_translates_text_and_files_without_torch(trained, tmp_path):
    sentences = tmp_path / "sentences.txt"
    sentences.write_text("I am happy.\n\nTom is here.\n", encoding="utf-8")
    child = ("import sys\nclass B:\n def find_spec(self, name, path=None, target=None):\n"
             "  if name.split('.')[0] in ('torch', 'onnx', 'onnxscript'): raise ImportError(name)\n"
             "sys.meta_path.insert(0, B())\nfrom seqkit.cli import main\n"
             "sys.argv = ['seqkit'] + sys.argv[1:]\nmain()\n")
    for extra in ([sentences], ["--text", "I am happy.", "--beam", "3", "--length-penalty", "0.6"]):
        done = subprocess.run([sys.executable, "-c", child, "predict", str(trained["model"]), *map(str, extra)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        records = [json.loads(line) for line in done.stdout.splitlines()]
        assert all(isinstance(r["translation"], str) for r in records)
        assert [r["text"] for r in records] == (["I am happy.", "Tom is here."] if len(extra) == 1 else
                                                ["I am happy."])
    greedy = Translator(trained["model"]).translate(["I am happy.", "Tom is here."])
    assert [r["translation"] for r in records] != [] and greedy == [json.loads(line)["translation"] for line in
                                                                   invoke("predict", trained["model"], sentences)
                                                                   .output.splitlines()]


@pytest.mark.parametrize("name, text", [("bad.txt", "no tab here\nnor here\n"), ("bad.jsonl", "{\"source\": 1\n"),
                                        ("empty.csv", "source,target\n")])
def test_bad_pair_files_are_one_line_errors(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["train", "--task", "translation", "--data", str(path), "--run-dir",
                                      str(tmp_path / "run")])
    lines = result.output.strip().splitlines()
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit), result.output
    assert len(lines) == 1 and lines[0].startswith("Error: ") and name in lines[0], result.output
    assert not (tmp_path / "run").exists()


def test_user_formats_read_alike(tmp_path):
    pairs = [("I like tea.", "我喜欢茶。"), ("Hello, Tom!", "你好，汤姆！")]
    (tmp_path / "p.tsv").write_text("".join(f"{s}\t{t}\tCC-BY\n" for s, t in pairs), encoding="utf-8")
    (tmp_path / "p.csv").write_text("target,source\n" + "".join(f"{t},\"{s}\"\n" for s, t in pairs),
                                    encoding="utf-8")
    (tmp_path / "p.jsonl").write_text("".join(json.dumps({"source": s, "target": t}) + "\n" for s, t in pairs),
                                      encoding="utf-8")
    task = TranslationTask()
    for suffix in ("tsv", "csv", "jsonl"):
        assert task.load_data(tmp_path / f"p.{suffix}", "all").pairs == pairs
