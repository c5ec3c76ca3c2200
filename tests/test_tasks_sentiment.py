"""The sentiment task: the shipped corpus, the naive Bayes baseline, training and a saved run's baseline."""
import numpy as np
import pytest

from seqkit.core.cell import CellConfig
from seqkit.errors import SeqkitError
from seqkit.kit.labels import Item
from seqkit.training import TrainConfig, evaluate, prepare, train


def task(plugins, **options):
    cls = plugins.task("sentiment")
    return cls(cls.config_from_dict(options))


def test_shipped_corpus_is_balanced_and_split_by_site(plugins):
    t = task(plugins)
    tr, te = t.load_data("sentiment-sentences", "train"), t.load_data("sentiment-sentences", "test")
    assert (len(tr), len(te)) == (2400, 600)
    assert sum(s.label == "positive" for s in te) == 300 and {s.label for s in tr} == {"positive", "negative"}
    assert len({s.x for s in tr} & {s.x for s in te}) == 5  # the corpus repeats a few sentences
    with pytest.raises(SeqkitError, match="splits train and test"):
        t.load_data("sentiment-sentences", "val")
    with pytest.raises(SeqkitError, match="'sentences' is neither a file nor a built-in dataset of this task"):
        t.load_data("sentences")


def test_naive_bayes_reads_words(plugins):
    t = task(plugins, min_count=1)
    words = ["good", "great", "fine", "bad", "awful", "poor"]
    data = [Item(f"a {w} film", "positive" if i < 3 else "negative", f"row {i}") for i, w in enumerate(words)] * 3
    t.fit(data)
    assert t.config.labels == ["negative", "positive"]
    assert np.array(t.config.nb_counts).shape == (2, t.config.vocab_size)
    assert list(t.naive_bayes(["a great film", "an awful film", "good good"])) == [1, 0, 1]
    assert t.baseline(None, [Item("so good", "positive", "x"), Item("poor", "negative", "y")])["accuracy"] == 1.0


def test_baseline_beats_majority_and_survives_a_saved_run(plugins, tmp_path):
    prepared = prepare("gru", "sentiment", "sentiment-sentences", CellConfig(hidden_size=8), seed=0,
                       plugins=plugins)
    t = prepared.composition.task
    test = t.load_data("sentiment-sentences", "test")
    base = t.baseline(prepared.train_data, test)
    assert base["majority_accuracy"] == 0.5 and base["accuracy"] > 0.75  # naive Bayes: ~0.80
    subset = prepared.train_data[:400]
    result = train(prepared.composition, subset, prepared.val_data[:100],
                   TrainConfig(epochs=1, batch_size=32, lr=3e-3, progress=False), run_dir=tmp_path / "run")
    assert result.history[0]["train_loss"] > 0
    saved = evaluate(tmp_path / "run", "sentiment-sentences", plugins=plugins)
    assert saved["samples"] == 600 and saved["baseline"] == pytest.approx(base)  # counts travel in config.json
