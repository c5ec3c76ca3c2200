"""Many series, one model: long-format tables, per-series splits, mean scaling inside the model, M4 scores."""
import json

import numpy as np
import pytest
import torch

import seqkit


def _panel(path, levels=(10.0, 1000.0, 1e5), steps=60):
    rng = np.random.default_rng(0)
    rows = ["store,date,sales"]
    for k, level in enumerate(levels):
        for t in range(steps):
            day = np.datetime64("2021-01-04") + t
            value = level * (1 + 0.3 * np.sin(2 * np.pi * t / 7) + 0.05 * rng.normal())
            rows.append(f"s{k},{day},{value:.4f}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_windows_stay_inside_their_series_and_split_per_series(plugins, tmp_path):
    cls = plugins.task("forecasting")
    t = cls(cls.config_from_dict({"lookback": 7, "horizon": 3, "id_column": "store"}))
    path = _panel(tmp_path / "shops.csv")
    train, test = t.load_data(str(path), "train"), t.load_data(str(path), "test")
    assert [s for s, _, _ in train.segments] == ["s0", "s1", "s2"] and t.config.scaling == "mean"
    assert t.config.frequency["name"] == "daily" and t.config.time_column == "date"
    for data in (train, test):
        seg = data.segment_of(data.starts)
        for k, (_, lo, hi) in enumerate(data.segments):
            mine = data.starts[seg == k]
            assert mine.min() - 7 >= lo and mine.max() + 3 <= hi  # no window crosses into another series
    tail_start = [lo + 60 - 12 for _, lo, _ in test.segments]
    assert [int(test.starts[test.segment_of(test.starts) == k].min()) for k in range(3)] == tail_start
    assert all(int(train.starts[train.segment_of(train.starts) == k].max()) + 3 <= tail_start[k] for k in range(3))
    tr, va = t.split_validation(train, 0.2, seed=0)
    assert set(va.segment_of(va.starts)) == {0, 1, 2}  # every series keeps its latest windows for validation
    assert test.time_label(int(test.starts[0])) == str(np.datetime64("2021-01-04") + 48)


def test_mean_scaling_makes_one_model_fit_every_level(plugins, tmp_path):
    cls = plugins.task("forecasting")
    t = cls(cls.config_from_dict({"lookback": 7, "horizon": 3, "id_column": "store", "quantiles": [0.1, 0.5, 0.9]}))
    t.fit(t.load_data(str(_panel(tmp_path / "shops.csv")), "train"))
    c = seqkit.compose("gru", "forecasting", task_config=t.config, plugins=plugins)
    x = torch.rand(2, 7, 1) + 0.5
    with torch.no_grad():
        small, big = c.model(x), c.model(x * 1000.0)
    for a, b in zip(small, big):  # a window 1000 times higher gets a forecast 1000 times higher
        torch.testing.assert_close(b, a * 1000.0, rtol=1e-4, atol=1e-3)
    assert t.metadata()["scaling"]["kind"] == "mean" and t.metadata()["id_column"] == "store"


def test_panel_trains_evaluates_the_m4_way_and_predicts_per_series(tmp_path, run):
    from seqkit.runtime.model import load
    from seqkit.runtime.readers import forecast_times, read_samples

    path = _panel(tmp_path / "shops.csv")
    r = run("train", "--task", "forecasting", "--data", path, "-T", "id_column=store", "-T", "lookback=7",
            "-T", "horizon=3", "--hidden-size", "4", "--epochs", "2", "--run-dir", tmp_path / "r")
    assert r.exit_code == 0, r.output
    scores = json.loads(run("evaluate", tmp_path / "r", "--json").output)
    per = scores["per_series"]
    assert set(per) == {"s0", "s1", "s2"} and scores["series"] == 3
    assert scores["mase"] == pytest.approx(np.mean([v["mase"] for v in per.values()]))
    assert per["s2"]["mae"] > 100 * per["s0"]["mae"]  # data units per series; MASE puts them on one scale
    assert "linear AR (per series)" in scores["baselines"] and "linear AR" not in scores["baselines"]
    back = json.loads(run("evaluate", tmp_path / "r", "--backtest", "--json", "--no-plots").output)
    assert back["scores"]["model"]["series"] == 3
    r = run("export", tmp_path / "r", "-o", tmp_path / "p.onnx")
    assert r.exit_code == 0, r.output
    model = load(str(tmp_path / "p.onnx"))
    samples, sources = read_samples(path, model)
    assert len(samples) == 3 and "series 's1'" in sources[1] and samples[2].shape == (7, 1)
    assert forecast_times(path, model) == [[str(np.datetime64("2021-01-04") + 60 + i) for i in range(3)]] * 3


def test_shipped_datasets(plugins):
    cls = plugins.task("forecasting")
    t = cls(cls.config_from_dict({"lookback": 12, "horizon": 3}))
    emp = t.load_data("us-employment", "test")
    assert len(emp.segments) == 14 and t.config.id_column == "sector" and t.config.frequency["name"] == "monthly"
    t = cls(cls.config_from_dict({"lookback": 14, "horizon": 3}))
    weather = t.load_data("seattle-weather", "train")
    assert weather.series.shape == (1461, 4) and t.config.columns[0] == "temp_max"
    assert t.config.frequency["name"] == "daily"


def test_auto_ets_baseline_from_statsforecast(plugins):
    """statsforecast is in the test extra: the baseline is there, and on a noise-free level it forecasts it."""
    from seqkit.builtin.tasks import forecast_classical as classical
    from seqkit.builtin.tasks.forecast_windows import Windows

    assert classical.available(), classical.MISSING
    series = np.concatenate([np.full(30, 5.0), np.full(30, 7.0)]).astype(np.float32)[:, None]
    data = Windows(series, [25, 55], 6, 3, ["v"], "two", segments=[("a", 0, 30), ("b", 30, 60)])
    pred = classical.auto_ets(data, 3, 1)
    np.testing.assert_allclose(pred[:, :, 0], [[5.0] * 3, [7.0] * 3], atol=0.05)
    cls = plugins.task("forecasting")
    t = cls(cls.config_from_dict({"lookback": 6, "horizon": 3, "season": 1}))
    assert {classical.NAME, classical.ARIMA} <= set(t.baselines(None, data))


def test_auto_arima_fits_once_per_series_and_forwards_at_later_origins():
    """An AR(1) around 10 per series: AutoARIMA fitted at each series' first origin, applied to later histories
    without refitting (its forecast moves with the new last value), and close to the true conditional mean."""
    from seqkit.builtin.tasks import forecast_classical as classical
    from seqkit.builtin.tasks.forecast_windows import Windows

    rng = np.random.default_rng(0)
    y = np.zeros(160)
    for t in range(1, 160):
        y[t] = 0.7 * y[t - 1] + rng.normal(0, 0.1)
    series = (10 + y).astype(np.float32)[:, None]
    data = Windows(series, [60, 70, 140, 150], 6, 2, ["v"], "ar1", segments=[("a", 0, 80), ("b", 80, 160)])
    pred = classical.auto_arima(data, 2, 1)
    for i, s in enumerate([60, 70, 140, 150]):
        expect = 10 + 0.7 * (series[s - 1, 0] - 10)
        assert abs(pred[i, 0, 0] - expect) < 0.1
