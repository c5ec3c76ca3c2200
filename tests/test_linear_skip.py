"""``-T linear_skip=true`` for classification, speech-frames and video-frames: the strong baseline as a path past
the cell."""
import numpy as np
import pytest
import torch

import seqkit
from seqkit.core.cell import CellConfig
from seqkit.kit.baselines import NaiveBayes, RidgeClassifier, pooled_statistics
from seqkit.kit.heads import BagSkipHead, StatsSkipHead, pooled_stats
from seqkit.training import TrainConfig, evaluate, load_run, prepare, train


def test_pooled_stats_match_the_ridge_baselines_features():
    rng = np.random.default_rng(0)
    x, lengths = rng.normal(size=(4, 9, 3)).astype(np.float32), np.array([9, 4, 1, 6])
    x[1, 4:] = 1e6  # padding must not count
    got = pooled_stats(torch.tensor(x), torch.tensor(lengths)).numpy()
    for i, n in enumerate(lengths):
        np.testing.assert_allclose(got[i], pooled_statistics(x[i, :n]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("task_name, data, options, atol", [
    ("speech-frames", "japanese-vowels", {}, 1e-3),
    ("video-frames", "camera-pan", {"train_clips": 200}, 2e-3),  # pools motion features, in the graph and in numpy
])
def test_the_skip_path_starts_as_the_ridge_baseline(plugins, task_name, data, options, atol):
    prepared = prepare("gru", task_name, data, CellConfig(hidden_size=8), {"linear_skip": True, **options},
                       plugins=plugins)
    task, head = prepared.composition.task, prepared.composition.model.head
    assert isinstance(head, StatsSkipHead)
    steps = task.baseline_steps
    ridge = RidgeClassifier().fit(np.stack([pooled_statistics(steps(s.x)) for s in prepared.train_data]),
                                  [s.label for s in prepared.train_data])
    test = task.load_data(data, "test")[:40]
    (x, lengths), _ = task.collate(test)
    with torch.no_grad():
        pooled = pooled_stats(x if head.steps is None else head.steps(x), lengths)
        skip = head.skip((pooled - head.stats_mean) / head.stats_std).numpy()
    expected = ridge.ridge.predict(np.stack([pooled_statistics(steps(s.x)) for s in test]))
    order = [ridge.classes.index(label) for label in task.config.labels]
    np.testing.assert_allclose(skip, expected[:, order], rtol=1e-3, atol=atol)


def test_text_skip_path_starts_as_naive_bayes(plugins):
    prepared = prepare("gru", "classification", "fortunes", CellConfig(hidden_size=8), {"linear_skip": True},
                       plugins=plugins)
    task, head = prepared.composition.task, prepared.composition.model.head
    assert isinstance(head, BagSkipHead)
    docs = [task.encode_text(s.x) for s in prepared.train_data]
    nb = NaiveBayes().fit(docs, [s.label for s in prepared.train_data])
    test = task.load_data("fortunes", "test")[:60]
    (tokens, lengths), _ = task.collate(test)
    mask = (torch.arange(tokens.shape[1])[None] < lengths[:, None]).unsqueeze(-1)
    with torch.no_grad():
        bag = ((head.bag(tokens) * mask).sum(1) + head.bag_bias).numpy()
    predicted = [task.config.labels[i] for i in bag.argmax(1)]
    assert predicted == nb.predict([task.encode_text(s.x) for s in test])


@pytest.mark.parametrize("task,data", [("speech-frames", "japanese-vowels"), ("classification", "fortunes"),
                                       ("classification", "basic-motions"), ("video-frames", "camera-pan")])
def test_a_trained_skip_model_reloads_exports_and_verifies(plugins, tmp_path, task, data):
    options = {"linear_skip": True, **({"train_clips": 100} if task == "video-frames" else {})}
    prepared = prepare("gru", task, data, CellConfig(hidden_size=8), options, plugins=plugins)
    result = train(prepared.composition, prepared.train_data[:64], prepared.val_data,
                   TrainConfig(epochs=1, progress=False), run_dir=tmp_path / "run", sources=prepared.sources)
    reloaded = load_run(tmp_path / "run", plugins)
    (x, lengths), _ = reloaded.task.collate(prepared.val_data[:5])
    with torch.no_grad():  # the skip path's standardisation is in the state dict, not refitted
        torch.testing.assert_close(reloaded.model(x, lengths)[0], result.composition.model(x, lengths)[0])
    scores = evaluate(tmp_path / "run", plugins=plugins, plots=False)
    assert scores["samples"] == len(reloaded.task.load_data(data, "test"))  # the recorded test split, no --data
    exported = seqkit.export(reloaded, tmp_path / "m.onnx")
    assert exported.report.ok, exported.report.failures()


@pytest.mark.parametrize("task, data", [("speech-frames", "japanese-vowels"), ("classification", "basic-motions")])
def test_the_ridge_is_fitted_once_for_the_skip_start_and_the_training_baseline(plugins, tmp_path, monkeypatch, task,
                                                                              data):
    fits, fit = [], RidgeClassifier.fit

    def counted(self, x, labels):
        fits.append(len(labels))
        return fit(self, x, labels)

    monkeypatch.setattr(RidgeClassifier, "fit", counted)
    p = prepare("gru", task, data, CellConfig(hidden_size=4), {"linear_skip": True}, plugins=plugins)
    result = train(p.composition, p.train_data, p.val_data, TrainConfig(epochs=1, batch_size=64, progress=False),
                   run_dir=tmp_path / "run")
    assert fits == [len(p.train_data)]  # the skip start's fit is the ridge baseline's (was fitted twice)
    steps = getattr(p.composition.task, "baseline_steps", lambda x: x)  # numeric classification: the raw steps
    again = RidgeClassifier().fit(np.stack([pooled_statistics(steps(s.x)) for s in p.train_data]),
                                  [s.label for s in p.train_data])
    predicted = again.predict(np.stack([pooled_statistics(steps(s.x)) for s in p.val_data]))
    assert result.baselines["ridge"]["accuracy"] == np.mean([a == s.label for a, s in zip(predicted, p.val_data)])
    before = len(fits)
    assert p.composition.task.baselines(p.train_data, p.val_data) == result.baselines
    assert len(fits) == before + 1  # the kept fit is taken once: a second call fits again
