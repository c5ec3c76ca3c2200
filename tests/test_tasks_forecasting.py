"""The forecasting task on real data: windows, in-model scaling, seasonal-naive baseline, export, training."""
import numpy as np
import onnxruntime as ort
import pytest
import torch

import seqkit
from seqkit.core.cell import CellConfig
from seqkit.errors import ConfigError, SeqkitError
from seqkit.training import TrainConfig, evaluate, load_run, prepare, train


def task(plugins, **options):
    cls = plugins.task("forecasting")
    return cls(cls.config_from_dict(options))


def test_chronological_split_and_windows(plugins):
    t = task(plugins, lookback=22, horizon=4)
    tr, te = t.load_data("sunspots", "train"), t.load_data("sunspots", "test")
    n, tail = len(tr.series), len(tr.series) - round(len(tr.series) * 0.2)
    assert t.config.season == 11 and t.config.columns == ["sunactivity"]
    assert tr.starts.max() + 4 <= tail and te.starts.min() >= tail and te.starts.max() + 4 == n
    assert len(t.load_data("sunspots", "all")) == n - 22 - 4 + 1
    x, y = te[0]
    assert x.shape == (22, 1) and y.shape == (4, 1)
    np.testing.assert_array_equal(np.concatenate([x, y])[:, 0], tr.series[te.starts[0] - 22: te.starts[0] + 4, 0])


def test_validation_is_the_latest_training_windows(plugins):
    t = task(plugins, lookback=22, horizon=4)
    windows = t.load_data("sunspots", "train")
    tr, va = t.split_validation(windows, 0.1, seed=0)
    assert len(va) == round(len(windows) * 0.1) and va.starts.max() == windows.starts.max()
    assert tr.starts.max() + 4 <= va.starts.min()  # no validation target is a training target or input
    prepared = prepare("gru", "forecasting", "sunspots", CellConfig(hidden_size=4), {"lookback": 22},
                       plugins=plugins)
    assert list(prepared.val_data.starts) == list(va.starts)  # the trainer uses the task's split


def test_scaling_learned_on_training_part_only_and_applied_inside(plugins):
    t = task(plugins, lookback=22, horizon=4)
    tr = t.load_data("sunspots", "train")
    t.fit(tr)
    train_part = tr.series[: tr.starts[-1] + 4, 0]
    assert t.config.mean == pytest.approx([train_part.mean()], rel=1e-5)
    assert t.config.std == pytest.approx([train_part.std()], rel=1e-5)
    assert t.config.mean[0] != pytest.approx(tr.series[:, 0].mean(), rel=1e-3)  # the tail was left out
    c = seqkit.compose("gru", "forecasting", task_config=t.config, plugins=plugins)
    features, _ = c.model.encoder(torch.full((1, 5, 1), t.config.mean[0]))
    assert features.abs().max() < 1e-5  # the model itself standardises raw values
    for layer in (c.model.head.proj, c.model.head.skip):  # the cell's and the linear path both off
        torch.nn.init.zeros_(layer.weight), torch.nn.init.zeros_(layer.bias)
    (out,) = c.model(torch.randn(2, 7, 1))
    assert torch.allclose(out, torch.full_like(out, t.config.mean[0]))  # ... and maps back to data units
    assert "inside the model" in t.metadata()["scaling"]["applied"]


def test_seasonal_naive_baseline(plugins):
    t = task(plugins, lookback=6, horizon=5, season=3)
    x = np.arange(6, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(t.seasonal_naive(x)[:, 0], [3, 4, 5, 3, 4])
    periodic = np.tile([1.0, 5.0, 2.0], 40).astype(np.float32)[:, None]
    from seqkit.builtin.tasks.forecasting import Windows
    w = Windows(periodic, np.arange(6, 115), 6, 5, ["v"], "periodic")
    assert t.baseline(None, w) == {"mae": 0.0, "mse": 0.0, "rmse": 0.0, "smape": 0.0, "mase": 0.0}
    t2 = task(plugins, lookback=6, horizon=5, season=2)
    assert t2.baseline(None, w)["mae"] > 1.0


def test_user_csv_columns_and_errors(plugins, tmp_path):
    path = tmp_path / "shop.csv"
    rows = ["date,sales,visits"] + [f"2020-01-{d:02d},{10 + d % 7},{100 + d}" for d in range(1, 31)]
    path.write_text("\n".join(rows) + "\n")
    t = task(plugins, lookback=7, horizon=2)
    tr = t.load_data(str(path), "train")
    assert t.config.columns == ["sales", "visits"] and tr.series.shape == (30, 2) and t.config.season == 1
    rows[12] = "2020-01-12,11,oops"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(SeqkitError, match=r"shop.csv line 13: column 'visits' is 'oops'"):
        task(plugins, lookback=7, horizon=2).load_data(str(path), "train")
    with pytest.raises(SeqkitError, match="no column 'price'"):
        task(plugins, lookback=7, columns=["price"]).load_data(str(path), "train")
    short = tmp_path / "short.csv"
    short.write_text("t,v\n" + "".join(f"{i},{i % 3}\n" for i in range(20)))
    with pytest.raises(SeqkitError, match="short.csv: 20 steps leave no train window"):
        task(plugins, lookback=15, horizon=2).load_data(str(short), "train")
    with pytest.raises(SeqkitError, match="'no-such-series' is neither a file nor a built-in dataset"):
        task(plugins).load_data("no-such-series", "train")
    with pytest.raises(ConfigError, match="season 12 is longer than lookback 6"):
        task(plugins, lookback=6, season=12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fitted_model_exports_and_verifies(plugins, tmp_path, cell):
    prepared = prepare(cell, "forecasting", "macro", CellConfig(hidden_size=8), {"lookback": 8, "horizon": 3},
                       plugins=plugins)
    c = prepared.composition
    assert c.task.config.num_features == 3 and c.task.config.columns[0] == "realgdp_growth"
    result = seqkit.export(c, tmp_path / "f.onnx")
    assert result.report.ok, result.report.failures()
    shapes = {(k.batch, k.time) for k in result.report.checks}
    assert (1, 1) in shapes and any(t > 8 for _, t in shapes)  # times it was not trained or traced at


def test_train_evaluate_export_on_sunspots(plugins, tmp_path):
    options = {"lookback": 22, "horizon": 4}
    prepared = prepare("gru", "forecasting", "sunspots", CellConfig(hidden_size=16), options, plugins=plugins)
    result = train(prepared.composition, prepared.train_data, prepared.val_data,
                   TrainConfig(epochs=6, lr=5e-3, batch_size=16, progress=False), run_dir=tmp_path / "run")
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < losses[0]
    scores = evaluate(tmp_path / "run", "sunspots", plugins=plugins)
    assert scores["samples"] == 59 and scores["mae"] > 0
    assert set(scores["baseline"]) == {"mae", "mse", "rmse", "smape", "mase"}
    c = load_run(tmp_path / "run", plugins=plugins)
    seqkit.export(c, tmp_path / "s.onnx")
    test = c.task.load_data("sunspots", "test")
    x = np.stack([test[i][0] for i in range(4)])
    (onnx_out,) = ort.InferenceSession(str(tmp_path / "s.onnx")).run(None, {"series": x})
    assert onnx_out.shape == (4, 4, 1)
    with torch.no_grad():
        np.testing.assert_allclose(onnx_out, c.model(torch.from_numpy(x))[0].numpy(), rtol=1e-4, atol=1e-3)
    assert abs(onnx_out.mean() - test.series.mean()) < 3 * test.series.std()  # raw units in, raw units out
