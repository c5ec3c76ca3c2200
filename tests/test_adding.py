"""The built-in ``adding`` task: generated data of the promised form, baseline, export, and that it is learnable."""
import numpy as np
import pytest
import torch

import seqkit
from seqkit.builtin.tasks.adding import generate
from seqkit.errors import ConfigError, SeqkitError
from seqkit.training.diagnose import measure_composition


def task(plugins, **options):
    return plugins.task("adding")(plugins.task("adding").config_from_dict(options))


def test_generated_data_have_the_arjovsky_form():
    data = generate(500, 20, seed=3)
    assert data.series.shape == (500, 20, 2) and data.series.dtype == np.float32 and len(data) == 500
    values, markers = data.series[..., 0], data.series[..., 1]
    assert values.min() >= 0 and values.max() <= 1
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert (markers[:, :10].sum(1) == 1).all() and (markers[:, 10:].sum(1) == 1).all()  # one marker per half
    assert np.allclose(data.target, (values * markers).sum(1), atol=1e-6)
    first = markers[:, :10].argmax(1)
    assert len(np.unique(first)) == 10  # positions vary over the whole half
    again = generate(500, 20, seed=3)
    assert np.array_equal(again.series, data.series) and not np.array_equal(generate(500, 20, 4).series, data.series)


def test_splits_sizes_and_seeds_come_from_the_task_config(plugins):
    t = task(plugins, length=30, num_samples=64, num_eval=16, seed=1)
    train, val, test = (t.load_data("adding", s) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (64, 16, 16)
    assert train[0][0].shape == (30, 2)
    assert not np.array_equal(val.series, test.series)
    assert np.array_equal(t.load_data("adding", "test").series, test.series)
    (series,), target = t.collate([train[0], train[1], train[2]])
    assert series.shape == (3, 30, 2) and target.shape == (3, 1) and target.dtype == torch.float32


def test_baseline_is_one_sixth_and_matches_the_loss_of_predicting_one(plugins):
    t = task(plugins, length=10, num_eval=4000)
    test = t.load_data("adding", "test")
    baseline = t.baseline(None, test)["mse"]
    assert abs(baseline - 1 / 6) < 0.02
    _, target = t.collate(list(test))
    ones = (torch.ones_like(target),)
    assert t.loss(ones, target).item() == pytest.approx(baseline, rel=1e-5)
    assert t.metrics(ones, target)["mse"] == pytest.approx(baseline, rel=1e-5)
    assert t.baseline(None, [test[i] for i in range(100)])["mse"] > 0  # a list of samples works too


@pytest.mark.parametrize("options, message", [
    ({"length": 1}, "length must be an integer >= 2"),
    ({"num_samples": 0}, "num_samples must be a positive"),
    ({"seed": -1}, "seed must be a non-negative"),
    ({"size": 3}, "has no option size"),
])
def test_bad_config_is_refused(plugins, options, message):
    with pytest.raises(ConfigError, match=message):
        task(plugins, **options)


def test_bad_source_and_split_are_refused(plugins):
    t = task(plugins)
    with pytest.raises(SeqkitError, match=r"'data.csv' is neither a file nor a built-in dataset of this task "
                                          r"\(adding\)$"):
        t.load_data("data.csv")
    with pytest.raises(SeqkitError, match="this task reads no files"):
        t.load_data(__file__)
    with pytest.raises(SeqkitError, match="dataset 'adding' has splits train, val and test, not 'dev'"):
        t.load_data("adding", "dev")


def test_exports_and_verifies_with_every_builtin_cell(plugins, tmp_path):
    builtin = [n for n in plugins.cells.names() if plugins.cells.entries[n].source.distribution == "seqkit"]
    assert {"rnn", "lstm", "gru"} <= set(builtin)
    for cell in builtin:
        c = seqkit.compose(cell, "adding", seqkit.CellConfig(hidden_size=8), plugins=plugins)
        result = seqkit.export(c, tmp_path / f"{cell}.onnx")
        assert result.report.ok, cell
        names = [c.output for c in result.report.checks]
        assert set(names) == {"prediction"}


def test_a_gru_learns_a_short_adding_problem_and_diagnose_reads_the_run(plugins, tmp_path):
    from seqkit.training import TrainConfig, load_run, train

    c = seqkit.compose("gru", "adding", seqkit.CellConfig(hidden_size=16),
                       {"length": 10, "num_samples": 1000, "num_eval": 200}, plugins=plugins)
    data = c.task.load_data("adding", "train"), c.task.load_data("adding", "val")
    result = train(c, *data, TrainConfig(epochs=4, batch_size=20, lr=1e-2, progress=False), run_dir=tmp_path / "r")
    assert result.metrics["mse"] < 0.25 * result.baseline["mse"]  # measured: ~0.005 against ~0.16
    report = measure_composition(load_run(tmp_path / "r", plugins), seeds=[0], batch=4, data="adding")
    assert report.length == 10 and len(report.profiles[0].norms) == 10
    assert all(v > 0 for v in report.profiles[0].norms)
