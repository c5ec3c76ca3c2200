"""Forecasting's options together: covariates (past, future, calendar) with a learnt series embedding, a
distribution head and calibrated intervals in one panel model that trains, exports and predicts from the
CSV's future rows; and the head of a model without covariates unchanged by them."""
import json

import numpy as np
import torch

STORES = ("north", "south", "west")


def _stores(path, steps=80, future=0, seed=0):
    """Long format: three stores, each a level of its own + 5 on promotion days (a flag known in advance) +
    noise; price is observed with the sales only."""
    rng = np.random.default_rng(seed)
    rows = ["store,date,sales,price,promo"]
    for k, store in enumerate(STORES):
        for t in range(steps + future):
            day, promo = np.datetime64("2022-03-07") + t, int(rng.random() < 0.3)
            sales = 20 + 10 * k + 5 * promo + rng.normal(0, 0.5)
            rows.append(f"{store},{day},{sales:.3f},{rng.normal():.3f},{promo}" if t < steps else
                        f"{store},{day},,,{promo}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_covariates_series_embedding_likelihood_and_calibration_together(tmp_path, run):
    from seqkit.runtime.model import load
    from seqkit.runtime.readers import forecast_times, read_samples
    from seqkit.training import load_run

    data = _stores(tmp_path / "stores.csv")
    r = run("train", "--task", "forecasting", "--data", data, "-T", "id_column=store", "-T", "lookback=7",
            "-T", "horizon=3", "-T", "past_covariates=price", "-T", "future_covariates=promo",
            "-T", "calendar=dayofweek", "-T", "series_embedding=2", "-T", "likelihood=studentt",
            "-T", "calibrate=cqr", "--hidden-size", "4", "--epochs", "2", "--run-dir", tmp_path / "r")
    assert r.exit_code == 0, r.output
    c = load_run(tmp_path / "r")
    assert c.task.config.series_ids == list(STORES)
    assert c.model.head.calibration.offsets.abs().sum() > 0  # calibrated on the validation windows
    assert [s.name for s in c.task.inputs()] == ["series", "future_covariates", "series_id"]
    r = run("evaluate", tmp_path / "r", "--json")
    assert r.exit_code == 0, r.output
    scores = json.loads(r.output[r.output.index("{"):])
    assert 0.0 <= scores["coverage"] <= 1.0 and scores["crps"] > 0 and set(scores["per_series"]) == set(STORES)
    r = run("export", tmp_path / "r", "-o", tmp_path / "m.onnx")
    assert r.exit_code == 0, r.output  # export verifies the file against the PyTorch model
    model = load(str(tmp_path / "m.onnx"))
    assert [(s.name, s.shape) for s in model.inputs] == [("series", ("batch", "time", 5)),
                                                         ("future_covariates", ("batch", 3, 3)),
                                                         ("series_id", ("batch",))]
    ahead = _stores(tmp_path / "ahead.csv", future=3, seed=1)
    samples, sources = read_samples(ahead, model)
    assert [int(s["series_id"]) for s in samples] == [0, 1, 2] and "future rows" in sources[2]
    assert samples[2]["future_covariates"].shape == (3, 3) and samples[2]["series"].shape == (7, 5)
    with torch.no_grad():
        expected = c.model(*(torch.from_numpy(np.stack([s[k] for s in samples]))
                             .to(torch.int64 if k == "series_id" else torch.float32)
                             for k in ("series", "future_covariates", "series_id")))
    r = run("predict", tmp_path / "m.onnx", ahead, "-o", tmp_path / "p.jsonl")
    assert r.exit_code == 0, r.output
    records = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(records) == 3 and records[1]["time"] == forecast_times(ahead, model)[1]
    for k, record in enumerate(records):
        np.testing.assert_allclose(record["forecast"]["sales"], expected[0][k, :, 0].numpy(), rtol=1e-4, atol=1e-4)
        low, high = record["quantiles"]["sales"]["0.1"], record["quantiles"]["sales"]["0.9"]
        np.testing.assert_allclose(high, expected[1][k, :, 0, 2].numpy(), rtol=1e-4, atol=1e-4)
        assert all(lo < hi for lo, hi in zip(low, high))
        assert set(record["distribution"]["sales"]) == {"loc", "scale", "df"}


def test_window_norm_with_the_skip_path_adds_no_last_value(plugins):
    """With a skip path, window_norm only changes what the cell reads; the head adds the window's last value
    only without one (as before covariates)."""
    import seqkit

    cls = plugins.task("forecasting")
    task = cls(cls.config_from_dict({"lookback": 12, "horizon": 2, "window_norm": True, "skip_init": "zeros"}))
    task.fit(task.load_data("airline", "train"))
    c = seqkit.compose("gru", "forecasting", task_config=task, plugins=plugins)
    with torch.no_grad():
        c.model.head.proj.weight.zero_()
        c.model.head.proj.bias.zero_()  # cell path 0, skip path 0: the forecast is the training mean
        x = torch.full((1, 12, 1), 400.0)
        np.testing.assert_allclose(c.model(x)[0].numpy(), task.config.mean[0], rtol=1e-5)
