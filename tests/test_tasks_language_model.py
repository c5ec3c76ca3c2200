"""The language-model task (state as inputs/outputs), its bigram baseline, the streaming export and generation
without PyTorch."""
import subprocess
import sys

import numpy as np
import pytest
import torch

import seqkit
from seqkit.core.cell import CellConfig
from seqkit.errors import ConfigError, SeqkitError
from seqkit.runtime.generate import CharStream, generate
from seqkit.training import TrainConfig, prepare, train


def task(plugins, **options):
    cls = plugins.task("language-model")
    return cls(cls.config_from_dict(options))


def test_windows_vocabulary_and_bigram_baseline(plugins, tmp_path):
    (tmp_path / "t.txt").write_text("abcabcabd" * 10 + "zz")
    t = task(plugins, window=4, test_fraction=0.2)
    train_part, test_part = t.load_data(str(tmp_path / "t.txt"), "train"), t.load_data(str(tmp_path / "t.txt"), "test")
    assert len(train_part.text) + len(test_part.text) == 92 and len(train_part) == len(range(0, 74 - 4, 4))
    t.fit(train_part)
    assert t.config.vocab == ["a", "b", "c", "d"]  # 'z' (never twice in training) is unknown
    x, y = train_part[1]
    assert x.tolist() == [2, 3, 1, 2] and y.tolist() == [3, 1, 2, 4]  # "bcab" -> "cabd"
    unigram, bigram = t.bigram_probabilities()
    assert np.allclose(bigram.sum(1), 1) and bigram[1, 2] > 0.99 * (1 - 2 / 29)  # after 'a' comes 'b'
    base = t.baseline(None, test_part)
    assert base["bpc"] < base["unigram_bpc"]
    assert len(t.load_data(str(tmp_path / "t.txt"), "all").text) == 92
    with pytest.raises(SeqkitError, match="splits train and test"):
        t.load_data("fortunes", "val")
    with pytest.raises(SeqkitError, match="splits train, test"):
        t.load_data(str(tmp_path / "t.txt"), "later")


def test_data_goes_through_the_shared_dataset_dispatch(plugins, tmp_path):
    """Built-in names, files and their errors are Task.load_data's, like every other task's."""
    t = task(plugins)
    assert type(t).dataset_splits("fortunes") == ("train", "test")
    assert len(t.load_data("fortunes", "test").text) > 20_000
    with pytest.raises(SeqkitError, match=r"'novel' is neither a file nor a built-in dataset of this task "
                                          r"\(fortunes\); or give a .txt file"):
        t.load_data("novel")
    with pytest.raises(SeqkitError, match="is not a file; give a .txt file"):
        t.load_data(str(tmp_path))


def test_state_shapes_come_from_the_cell(plugins):
    lstm = seqkit.compose("lstm", "language-model", CellConfig(hidden_size=6, num_layers=2), plugins=plugins)
    names = [s.name for s in lstm.task.inputs()], [s.name for s in lstm.task.outputs()]
    assert names == (["tokens", "h0", "c0"], ["logits", "hn", "cn"])
    assert lstm.task.inputs()[1].shape == (2, "batch", 6)
    with pytest.raises(ConfigError, match="unidirectional"):
        seqkit.compose("gru", "language-model", CellConfig(bidirectional=True), plugins=plugins)


def test_state_carries_between_calls(plugins):
    """Two calls, the second starting from the first's final state, give what one call over both gives."""
    comp = seqkit.compose("lstm", "language-model", CellConfig(hidden_size=8), plugins=plugins)
    tokens = torch.randint(1, comp.task.vocab_size(), (2, 9))
    zeros = [torch.zeros(1, 2, 8), torch.zeros(1, 2, 8)]
    with torch.no_grad():
        whole = comp.model(tokens, *zeros)
        first = comp.model(tokens[:, :5], *zeros)
        second = comp.model(tokens[:, 5:], *first[1:])
    torch.testing.assert_close(torch.cat([first[0], second[0]], 1), whole[0])
    torch.testing.assert_close(second[1], whole[1])


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """A GRU trained for a few epochs on a text whose bigrams are ambiguous but whose longer context is not."""
    tmp = tmp_path_factory.mktemp("lm")
    rng = np.random.default_rng(0)
    words = ["hello world. ", "yellow wool. ", "low hollow. "]
    (tmp / "t.txt").write_text("".join(words[i] for i in rng.integers(0, 3, 400)))
    torch.set_num_threads(1)
    plugins = seqkit.load_plugins()
    prepared = prepare("gru", "language-model", str(tmp / "t.txt"), CellConfig(hidden_size=32),
                       {"window": 40, "embedding_dim": 8}, seed=0, plugins=plugins)
    result = train(prepared.composition, prepared.train_data, prepared.val_data,
                   TrainConfig(epochs=12, batch_size=16, lr=1e-2, progress=False), run_dir=tmp / "run")
    export = seqkit.export(result.composition, tmp / "lm.onnx")
    test = result.composition.task.load_data(str(tmp / "t.txt"), "test")
    return result, export, test, tmp


@pytest.mark.slow
def test_tiny_run_beats_the_bigram_and_exports_verified(tiny_lm):
    result, export, test, tmp = tiny_lm
    from seqkit.training import evaluate
    scored = evaluate(tmp / "run", test)
    assert export.report.ok
    assert scored["bpc"] < scored["baseline"]["bpc"] < scored["baseline"]["unigram_bpc"]


@pytest.mark.slow
def test_generation_is_seeded_and_streams(tiny_lm):
    _, export, _, tmp = tiny_lm
    path = tmp / "lm.onnx"
    a = generate(path, "hel", 60, temperature=1.0, seed=3)
    assert a == generate(path, "hel", 60, temperature=1.0, seed=3) and a.startswith("hel") and len(a) == 63
    assert len({generate(path, "hel", 60, temperature=1.5, seed=s) for s in range(4)}) > 1
    assert generate(path, "", 30, temperature=0, seed=1) == generate(path, "", 30, temperature=0, seed=2)
    # feeding one character at a time with the state gives the logits of one call over the whole text
    stream = CharStream(path)
    stepwise = [stream.feed(ch) for ch in "hello wor"]
    stream.reset()
    (whole,) = [stream.feed("hello wor")]
    np.testing.assert_allclose(stepwise[-1], whole, atol=1e-5)
    with pytest.raises(SeqkitError, match="empty"):
        stream.feed("")


@pytest.mark.slow
def test_generate_runs_with_torch_blocked_and_from_the_cli(tiny_lm):
    _, _, _, tmp = tiny_lm
    code = f"""
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, NoTorch())
from seqkit.cli import main
main(["generate", {str(tmp / 'lm.onnx')!r}, "--prompt", "yel", "--length", "25", "--seed", "7"])
"""
    blocked = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert blocked.returncode == 0, blocked.stderr
    assert blocked.stdout.strip() == generate(tmp / "lm.onnx", "yel", 25, temperature=0.8, seed=7)
    # a RUN directory: model.onnx is exported (verified) on first use
    cli = subprocess.run([sys.executable, "-m", "seqkit", "generate", str(tmp / "run"), "--length", "5"],
                         capture_output=True, text=True)
    assert cli.returncode == 0 and (tmp / "run" / "model.onnx").exists(), cli.stderr
    other = seqkit.export(seqkit.compose("gru", "classification"), tmp / "cls.onnx")
    bad = subprocess.run([sys.executable, "-m", "seqkit", "generate", other.path], capture_output=True, text=True)
    assert bad.returncode == 1 and "not a streaming language model" in bad.stderr
