"""Forecasting with dates (the time column labels backtests and predict's output) and prediction intervals
(quantile head, weighted quantile loss and coverage, the split-conformal linear AR baseline)."""
import json

import numpy as np
import pytest
import torch

from seqkit.errors import SeqkitError
from seqkit.kit.intervals import conformal_linear_ar, interval_scores, pinball
from seqkit.runtime.times import parse


@pytest.mark.parametrize("values, freq, after", [
    (["1949-01", "1949-02", "1949-03"], "monthly", ["1949-04", "1949-05"]),
    (["1959Q3", "1959Q4", "1960Q1"], "quarterly", ["1960Q2", "1960Q3"]),
    (["1700", "1701", "1702"], "one step per row", ["1703", "1704"]),
    (["2012-02-27", "2012-02-28", "2012-02-29"], "daily", ["2012-03-01", "2012-03-02"]),
    (["2000-01-31", "2000-02-29", "2000-03-31"], "monthly", ["2000-04-30", "2000-05-31"]),
    (["2020-01-01 22:00", "2020-01-01 23:00"], "hourly", ["2020-01-02T00:00:00", "2020-01-02T01:00:00"]),
    (["2020-01-06", "2020-01-13", "2020-01-20"], "weekly", ["2020-01-27", "2020-02-03"]),
])
def test_time_column_frequency_and_what_follows(values, freq, after):
    index = parse(values, list(range(2, 2 + len(values))), "t.csv", "date")
    assert index.freq.name() == freq
    assert index.labels() == [v.replace(" ", "T") + (":00" if " " in v else "") for v in values]
    assert index.after(2) == after


@pytest.mark.parametrize("values, message", [
    (["2020-01-01", "2020-01-02", "2020-01-02", "2020-01-03"], r"t.csv line 4: time '2020-01-02' repeats line 3"),
    (["2020-01-01", "2020-01-02", "2020-01-05", "2020-01-06"], r"t.csv line 4: a gap: .* 2 step\(s\) missing"),
    (["2020-01-02", "2020-01-03", "2020-01-01"], r"t.csv line 4: time '2020-01-01' comes before"),
    (["2020-01-01", "tomorrow"], r"t.csv line 3: time column 'date' is 'tomorrow'"),
])
def test_gaps_and_duplicates_are_one_error_naming_the_line(values, message):
    with pytest.raises(SeqkitError, match=message):
        parse(values, list(range(2, 2 + len(values))), "t.csv", "date")


def test_task_records_the_frequency_and_a_gap_stops_loading(plugins, tmp_path):
    cls = plugins.task("forecasting")
    t = cls(cls.config_from_dict({"lookback": 6, "horizon": 2}))
    windows = t.load_data("macro", "test")
    assert t.config.time_column == "quarter" and t.config.frequency["name"] == "quarterly"
    assert windows.time_label(int(windows.starts[0])) == "1999Q4"  # row 162 of 202 (the last 20 % held out)
    assert t.metadata()["time"]["column"] == "quarter"
    rows = ["day,v"] + [f"2021-03-{d:02d},{d}" for d in range(1, 31) if d != 17]
    (tmp_path / "gap.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(SeqkitError, match="gap.csv line 18: a gap: '2021-03-18' follows '2021-03-16' on line 17"):
        cls(cls.config_from_dict({"lookback": 6})).load_data(str(tmp_path / "gap.csv"), "train")
    t = cls(cls.config_from_dict({"lookback": 6, "time_column": "none"}))  # opting out: row numbers
    assert t.load_data(str(tmp_path / "gap.csv"), "train").times is None and not t.metadata().get("time")


def test_interval_scores_and_pinball():
    actual = np.array([[1.0], [2.0], [3.0], [4.0]])
    q = np.stack([actual - 1, actual, actual + 1], -1)
    q[0, 0] = [1.5, 2.0, 2.5]  # one actual outside its interval
    scores = interval_scores(q, actual, [0.1, 0.5, 0.9])
    assert scores["coverage"] == 0.75
    # pinball per level: row 0 (actual 1 below all three) 0.9*0.5, 0.5*1, 0.1*1.5; rows 1-3: 0.1, 0, 0.1 each
    expected = np.mean([2 * (0.45 + 3 * 0.1) / 10, 2 * 0.5 / 10, 2 * (0.15 + 3 * 0.1) / 10])
    assert scores["wql"] == pytest.approx(expected)
    levels = torch.tensor([0.1, 0.9])
    loss = pinball(torch.zeros(1, 2), torch.ones(1), levels)  # under-forecast: 0.1 * 1 and 0.9 * 1
    assert float(loss) == pytest.approx(0.5)


def test_split_conformal_intervals_cover_about_their_level():
    rng = np.random.default_rng(0)
    y = np.zeros(3000)
    for t in range(2, len(y)):
        y[t] = 0.6 * y[t - 1] - 0.2 * y[t - 2] + rng.normal()
    x = np.stack([y[s - 8: s] for s in range(8, len(y) - 2)])
    target = np.stack([y[s: s + 2] for s in range(8, len(y) - 2)])[..., None]
    ridge, offsets = conformal_linear_ar(x[:2000], target[:2000], [0.1, 0.5, 0.9])
    qpred = ridge.predict(x[2000:])[..., None] + offsets
    coverage = interval_scores(qpred, target[2000:], [0.1, 0.5, 0.9])["coverage"]
    assert 0.75 <= coverage <= 0.85
    assert offsets[0, 0, 2] - offsets[0, 0, 0] < offsets[1, 0, 2] - offsets[1, 0, 0]  # wider further ahead


def test_quantile_head_trains_exports_and_predicts_with_times(plugins, tmp_path, run):
    from seqkit.runtime.model import load
    from seqkit.runtime.readers import forecast_times, read_samples

    r = run("train", "--task", "forecasting", "--data", "macro", "-T", "lookback=8", "-T", "horizon=3",
            "-T", "quantiles=0.1,0.5,0.9", "--hidden-size", "4", "--epochs", "2", "--run-dir", tmp_path / "air",
            "--batch-size", "64")
    assert r.exit_code == 0, r.output
    r = run("evaluate", tmp_path / "air", "--json")
    scores = json.loads(r.output)
    assert 0.0 <= scores["coverage"] <= 1.0 and scores["wql"] > 0 and scores["interval"] == 0.8
    conformal = scores["baselines"]["linear AR + conformal"]
    assert 0.5 <= conformal["coverage"] <= 1.0 and conformal["wql"] > 0
    assert (tmp_path / "air" / "forecast-macro-test.png").stat().st_size > 1000
    r = run("evaluate", tmp_path / "air", "--backtest", "--json", "--no-plots")
    back = json.loads(r.output)
    assert back["first_origin_time"] == "1999Q4" and back["frequency"] == "quarterly"  # row 162 of 202
    assert set(back["intervals"]) == {"model", "linear AR + conformal"}
    r = run("export", tmp_path / "air", "-o", tmp_path / "air.onnx")
    assert r.exit_code == 0, r.output
    csv = tmp_path / "tail.csv"
    lines = open(_macro()).read().splitlines()
    csv.write_text("\n".join([lines[0], *lines[-12:]]) + "\n")
    model = load(str(tmp_path / "air.onnx"))
    samples, _ = read_samples(csv, model)
    (result,) = model.predict(samples)
    q = result["quantiles"]["realgdp_growth"]
    assert list(q) == ["0.1", "0.5", "0.9"] and q["0.5"] == pytest.approx(result["forecast"]["realgdp_growth"])
    assert np.all(np.array(q["0.1"]) <= np.array(q["0.9"]))
    assert forecast_times(csv, model) == [["2009Q4", "2010Q1", "2010Q2"]]
    r = run("predict", tmp_path / "air.onnx", csv)
    assert json.loads(r.output)["time"] == ["2009Q4", "2010Q1", "2010Q2"]


def _macro():
    from importlib.resources import files

    return str(files("seqkit") / "datasets" / "forecasting" / "macro.csv")
