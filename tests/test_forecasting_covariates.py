"""Forecasting with covariates (darts' names): past_covariates, future_covariates and calendar features of the
time column; the exported file's second input future_covariates, and predict reading the CSV's future rows."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from deploy_cases import BLOCK

import seqkit
from seqkit.errors import ConfigError, SeqkitError
from seqkit.runtime.covariates import attribute, calendar_values, observed_count


def task(plugins, **options):
    cls = plugins.task("forecasting")
    return cls(cls.config_from_dict(options))


def _promotions(path, steps=300, seed=0, future=0):
    """Daily sales = a level + noise + 6 on promotion days (a random flag known in advance) + a price effect
    seen only in the past (a covariate observed with the target)."""
    rng = np.random.default_rng(seed)
    promo = (rng.random(steps + future) < 0.3).astype(int)
    price = np.round(rng.normal(0, 1, steps + future), 3)
    rows = ["date,sales,price,promo"]
    for t in range(steps + future):
        day = np.datetime64("2021-01-04") + t
        sales = 10 + 6 * promo[t] + rng.normal(0, 0.5)
        rows.append(f"{day},{sales:.3f},{price[t]},{promo[t]}" if t < steps else f"{day},,,{promo[t]}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_calendar_attributes_counted_from_zero():
    stamps = np.array(["2024-01-01T00:00", "2024-03-31T13:45", "2023-01-01T23:00"], dtype="datetime64[s]")
    assert attribute(stamps, "dayofweek").tolist() == [0, 6, 6]  # Monday, Sunday, Sunday
    assert attribute(stamps, "month").tolist() == [0, 2, 0]
    assert attribute(stamps, "quarter").tolist() == [0, 0, 0]
    assert attribute(stamps, "dayofmonth").tolist() == [0, 30, 0]
    assert attribute(stamps, "dayofyear").tolist() == [0, 90, 0]  # 2024 is a leap year
    assert attribute(stamps, "weekofyear").tolist() == [0, 12, 51]  # ISO: 2023-01-01 is in week 52 of 2022
    assert attribute(stamps, "hour").tolist() == [0, 13, 23] and attribute(stamps, "minute").tolist() == [0, 45, 0]
    values = calendar_values(stamps, ["dayofweek"])
    np.testing.assert_allclose(values[0], [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(values[1], [np.sin(2 * np.pi * 6 / 7), np.cos(2 * np.pi * 6 / 7)])


def test_options_windows_scaling_and_inputs(plugins):
    t = task(plugins, lookback=14, horizon=3, columns=["temp_max"], past_covariates="precipitation,wind",
             calendar="dayofyear,dayofweek")
    assert t.config.past_covariates == ["precipitation", "wind"] and t.config.calendar == ["dayofyear", "dayofweek"]
    tr = t.load_data("seattle-weather", "train")
    assert tr.series.shape == (1461, 1) and tr.covariates.shape == (1461, 6) and t.config.columns == ["temp_max"]
    t.fit(tr)
    end = int(tr.starts[-1]) + 3  # the training part only: the held-out tail does not reach the statistics
    np.testing.assert_allclose(t.config.covariate_mean[:2], tr.covariates[:end, :2].mean(0), rtol=1e-4)
    np.testing.assert_allclose(t.config.covariate_std[:2], tr.covariates[:end, :2].std(0), rtol=1e-4)
    assert [(s.name, s.shape) for s in t.inputs()] == [("series", ("batch", "time", 7)),
                                                       ("future_covariates", ("batch", 3, 4))]
    (series, future), y = t.collate([tr[0], tr[5]])
    s = int(tr.starts[5])
    np.testing.assert_array_equal(series[1, :, 0].numpy(), tr.series[s - 14:s, 0])  # targets, then covariates
    np.testing.assert_array_equal(series[1, :, 1:].numpy(), tr.covariates[s - 14:s])
    np.testing.assert_array_equal(future[1].numpy(), tr.covariates[s:s + 3, 2:])  # calendar of the horizon
    assert y.shape == (2, 3, 1)
    meta = t.metadata()["covariates"]
    assert meta["inputs"]["series"] == ["temp_max", "precipitation", "wind", "dayofyear_sin", "dayofyear_cos",
                                        "dayofweek_sin", "dayofweek_cos"]
    assert meta["inputs"]["future_covariates"] == meta["inputs"]["series"][3:] and len(meta["mean"]) == 6
    c = seqkit.compose("gru", "forecasting", task_config=t, plugins=plugins)
    x = series[:1].clone()
    with torch.no_grad():
        base = c.model(x, future[:1])[0]
        x[0, :, 1] += 100.0  # the past covariates reach the forecast ...
        assert not torch.allclose(c.model(x, future[:1])[0], base)
        later = future[:1].clone()
        later[0, :, 0] += 1.0  # ... and so do the future ones
        assert not torch.allclose(c.model(series[:1], later)[0], base)
    assert c.task.streaming_problem() and "future covariates" in c.task.streaming_problem()


@pytest.mark.parametrize("options, message", [
    ({"calendar": "weekday"}, "calendar attribute 'weekday' is unknown; choose from dayofweek"),
    ({"calendar": "month", "time_column": "none"}, "calendar=month needs a time column of dates"),
    ({"past_covariates": "promo", "future_covariates": "promo"}, "column 'promo' is given twice"),
    ({"past_covariates": "date"}, "covariate 'date' is the time column"),
])
def test_bad_options_are_one_line(plugins, options, message):
    with pytest.raises(ConfigError, match=message):
        task(plugins, lookback=7, **{"time_column": "date", **options})


def test_data_errors_name_the_column(plugins, tmp_path):
    path = _promotions(tmp_path / "shop.csv", steps=40)
    with pytest.raises(SeqkitError, match="no column 'visits' for the covariates"):
        task(plugins, lookback=7, past_covariates="visits").load_data(str(path), "train")
    years = tmp_path / "years.csv"
    years.write_text("year,v\n" + "".join(f"{1900 + i},{i % 5}\n" for i in range(40)))
    with pytest.raises(SeqkitError, match="time column 'year': a time column of plain numbers has no calendar"):
        task(plugins, lookback=7, calendar="month").load_data(str(years), "train")


def test_train_export_verify_and_predict_from_future_rows(tmp_path, run):
    from seqkit.runtime.model import load
    from seqkit.runtime.readers import forecast_times, read_samples
    from seqkit.training import load_run

    path = _promotions(tmp_path / "shop.csv", steps=120)
    r = run("train", "--task", "forecasting", "--data", path, "-T", "lookback=7", "-T", "horizon=3",
            "-T", "past_covariates=price", "-T", "future_covariates=promo", "-T", "calendar=dayofweek",
            "--hidden-size", "4", "--epochs", "2", "--run-dir", tmp_path / "r")
    assert r.exit_code == 0, r.output
    r = run("export", tmp_path / "r", "-o", tmp_path / "m.onnx")
    assert r.exit_code == 0, r.output  # export verifies the file against the PyTorch model
    model = load(str(tmp_path / "m.onnx"))
    assert [(s.name, s.shape) for s in model.inputs] == [("series", ("batch", "time", 5)),
                                                         ("future_covariates", ("batch", 3, 3))]
    assert model.task_metadata["covariates"]["inputs"]["future_covariates"] == ["promo", "dayofweek_sin",
                                                                                "dayofweek_cos"]
    future = _promotions(tmp_path / "ahead.csv", steps=120, future=4)  # 4 future rows: the first 3 are read
    samples, sources = read_samples(future, model)
    assert samples[0]["series"].shape == (7, 5) and samples[0]["future_covariates"].shape == (3, 3)
    assert "lines 115-121" in sources[0] and "future rows 122-124" in sources[0]
    lines = future.read_text().splitlines()
    promo = [float(v.split(",")[3]) for v in lines[121:124]]
    assert samples[0]["future_covariates"][:, 0].tolist() == promo
    assert forecast_times(future, model) == [[str(np.datetime64("2021-01-04") + 120 + i) for i in range(3)]]
    c = load_run(tmp_path / "r")
    with torch.no_grad():
        expected = c.model(*(torch.from_numpy(samples[0][k][None].astype(np.float32))
                             for k in ("series", "future_covariates")))[0][0, :, 0].numpy()
    r = run("predict", tmp_path / "m.onnx", future, "-o", tmp_path / "p.jsonl")
    assert r.exit_code == 0, r.output
    record = json.loads((tmp_path / "p.jsonl").read_text())
    np.testing.assert_allclose(record["forecast"]["sales"], expected, rtol=1e-4, atol=1e-4)
    assert record["time"] == forecast_times(future, model)[0]
    code = BLOCK + (f"from seqkit.cli import main\ntry:\n    main(['predict', {str(tmp_path / 'm.onnx')!r}, "
                    f"{str(future)!r}, '-o', {str(tmp_path / 'q.jsonl')!r}])\nexcept SystemExit as e:\n"
                    f"    assert not e.code, e.code")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr  # the runtime computes the calendar features without torch
    assert json.loads((tmp_path / "q.jsonl").read_text())["forecast"] == record["forecast"]
    short = tmp_path / "short.csv"
    short.write_text("\n".join(lines[:123]) + "\n")  # 2 future rows for a horizon of 3
    r = run("predict", tmp_path / "m.onnx", short)
    assert r.exit_code != 0 and "2 future row(s) after line 121" in r.output and "needs 3" in r.output
    assert "Traceback" not in r.output


def test_a_future_covariate_that_carries_the_signal_beats_the_model_without_it(plugins, tmp_path):
    from seqkit.builtin.tasks.forecast_covariates import linear_arx
    from seqkit.core.cell import CellConfig
    from seqkit.training import TrainConfig, load_run, prepare, train

    path = str(_promotions(tmp_path / "shop.csv", steps=240))
    mae = {}
    for name, options in (("without", {}), ("with", {"future_covariates": ["promo"]})):
        prepared = prepare("gru", "forecasting", path, CellConfig(hidden_size=8),
                           {"lookback": 7, "horizon": 3, "columns": ["sales"], **options}, plugins=plugins)
        train(prepared.composition, prepared.train_data, prepared.val_data,
              TrainConfig(epochs=3, lr=5e-3, batch_size=32, progress=False), run_dir=tmp_path / name)
        c = load_run(tmp_path / name, plugins=plugins)
        test = c.task.load_data(path, "test")
        inputs, target = c.task.collate([test[i] for i in range(len(test))])
        with torch.no_grad():
            mae[name] = float((c.model(*inputs)[0] - target).abs().mean())
        arx = linear_arx(c.task, c.task.load_data(path, "train"), test)
        if options:  # the baseline evaluate adds for a model with covariates: ridge on the same inputs
            mae["linear ARX"] = float(np.abs(arx - target.numpy()).mean())
        else:
            assert arx is None
    assert mae["with"] < 0.5 * mae["without"], mae  # the flag is worth 6 units, the noise has std 0.5
    assert mae["with"] < 0.6 and mae["linear ARX"] < 0.6, mae


def test_observed_and_future_rows():
    rows = [(2, {"v": "1"}), (3, {"v": "2"}), (4, {"v": ""}), (5, {"v": "NaN"})]
    assert observed_count(rows, ["v"]) == 2 and observed_count(rows[:2], ["v"]) == 2


def test_models_without_covariates_are_unchanged(plugins):
    t = task(plugins, lookback=8, horizon=2)
    tr = t.load_data("macro", "train")
    assert tr.covariates is None and tr[0].covariates is None and len(tr[0]) == 2  # (inputs, targets) as ever
    t.fit(tr)
    assert "covariates" not in t.metadata() and [s.name for s in t.inputs()] == ["series"]
    assert t.config.covariate_mean == [] and t.feature_size() == 3
