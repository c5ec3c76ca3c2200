"""Strong baselines (seqkit.kit.baselines), forecasting metrics, per-class reports, plots and the backtest."""
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

import seqkit
from seqkit.cli import cli
from seqkit.core.cell import CellConfig
from seqkit.kit.baselines import (
    NaiveBayes,
    Ridge,
    RidgeClassifier,
    forecast_scores,
    mase_scale,
    pooled_statistics,
)
from seqkit.kit.video import motion_features, pan_clip
from seqkit.training import TrainConfig, evaluate, load_run, prepare, train
from seqkit.training.runs import CONFIG

PNG = b"\x89PNG\r\n\x1a\n"


def test_ridge_leave_one_out_error_is_exact_and_recovers_a_linear_map():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 4)) * [1, 10, 0.1, 3]
    y = x @ [[1.0, -2.0], [0.5, 0.0], [3.0, 1.0], [0.0, 0.2]] + 4.0 + 0.01 * rng.normal(size=(30, 2))
    model = Ridge(alphas=(0.3,)).fit(x, y)
    z = (x - x.mean(0)) / x.std(0)  # the standardisation stays fitted on all the data, as in the shortcut
    brute = []  # refit intercept and coefficients without each sample in turn
    for i in range(len(x)):
        keep = np.arange(len(x)) != i
        zk, yk = z[keep] - z[keep].mean(0), y[keep] - y[keep].mean(0)
        w = np.linalg.solve(zk.T @ zk + 0.3 * np.eye(4), zk.T @ yk)
        brute.append((z[i] - z[keep].mean(0)) @ w + y[keep].mean(0) - y[i])
    assert model.loo_mse == pytest.approx(float(np.mean(np.square(brute))), rel=1e-8)
    chosen = Ridge().fit(x, y)  # nearly noiseless: the smallest penalty wins and the map is found
    assert chosen.alpha == min(chosen.alphas)
    np.testing.assert_allclose(chosen.predict(x), y, atol=0.05)


def test_ridge_classifier_and_naive_bayes_learn_what_they_should():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(-2, 1, size=(20, 3)), rng.normal(2, 1, size=(20, 3))])
    labels = ["a"] * 20 + ["b"] * 20
    assert RidgeClassifier().fit(x, labels).predict(np.array([[-3, -3, -3], [3, 3, 3]])) == ["a", "b"]
    nb = NaiveBayes().fit([["cake", "sugar"], ["cake"], ["vote", "tax"], ["tax"]], ["food", "food", "pol", "pol"])
    # add-one smoothing by hand: P(cake|food) = (2+1)/(3+4), P(cake|pol) = (0+1)/(3+4)
    assert np.exp(nb.log_prob[0, nb.vocab["cake"]]) == pytest.approx(3 / 7)
    assert nb.predict([["cake", "unseen"], ["tax", "vote"], ["nothing"]]) == ["food", "pol", "food"]  # tie: prior


def test_pooled_statistics_and_forecast_scores_by_hand():
    x = np.array([[1.0, 10.0], [3.0, 10.0]])
    np.testing.assert_allclose(pooled_statistics(x), [2, 10, 1, 0, 1, 10, 3, 10, 2])
    pred, actual = np.array([[1.0], [3.0]]), np.array([[2.0], [1.0]])
    scores = forecast_scores(pred, actual, scale=[2.0])
    assert scores["mae"] == 1.5 and scores["mse"] == 2.5 and scores["rmse"] == pytest.approx(np.sqrt(2.5))
    assert scores["smape"] == pytest.approx(100 * (1 / 3 + 2 / 4)) and scores["mase"] == 0.75
    assert forecast_scores(np.zeros((2, 1)), np.zeros((2, 1)), [1.0])["smape"] == 0.0  # 0/0 counts as 0
    assert mase_scale(np.array([[0.0], [1.0], [4.0], [9.0]]), season=2) == [6.0]  # mean of |4-0| and |9-1|


def test_motion_features_tell_the_pan_direction():
    image = np.random.default_rng(0).uniform(0, 1, size=(48, 48)).astype(np.float32)
    image = np.cumsum(np.cumsum(image, 0), 1)  # smooth, so gradients mean something
    signs = {}
    for motion in ("left", "right", "up", "down"):
        clip = pan_clip(image, motion, length=8, speed=1, size=24, rng=np.random.default_rng(5), noise=0.0)
        f = motion_features(clip)
        assert f.shape == (8, 6) and np.all(f[0, :2] == 0)  # the first frame is paired with itself
        signs[motion] = np.sign(f[1:, :2].mean(0))
    assert (signs["left"] == -signs["right"]).all() and (signs["up"] == -signs["down"]).all()


def task(plugins, name, **options):
    cls = plugins.task(name)
    return cls(cls.config_from_dict(options))


CLASSICAL = {"AutoETS (statsforecast)", "AutoARIMA (statsforecast)"}  # forecasting's optional baselines, there
# when statsforecast is installed


def test_forecasting_baselines_fit_on_training_windows_and_refit_for_a_saved_run(plugins):
    from seqkit.builtin.tasks.forecasting import Windows

    series = np.zeros((120, 1), dtype=np.float32)
    series[:2, 0] = [1.0, 0.5]
    for t in range(2, 120):  # a noiseless AR(2): linear AR must be exact, drift and seasonal naive are not
        series[t] = 1.6 * series[t - 1] - 0.8 * series[t - 2] + 0.3
    t = task(plugins, "forecasting", lookback=6, horizon=3, season=2)
    train, test = Windows(series, np.arange(6, 90), 6, 3, ["v"], "ar2"), Windows(series, np.arange(90, 118), 6, 3,
                                                                                   ["v"], "ar2")
    t.fit(train)
    scores = t.baselines(train, test)
    assert set(scores) - CLASSICAL == {"seasonal naive", "drift", "linear AR"}
    assert scores["linear AR"]["mae"] < 1e-3 < scores["drift"]["mae"]
    assert set(scores["drift"]) == {"mae", "mse", "rmse", "smape", "mase"}
    assert set(t.baselines(None, test)) - CLASSICAL == {"seasonal naive", "drift"}  # no recorded source: no AR
    trend = Windows(np.arange(40, dtype=np.float32)[:, None] * 2 + 1, np.arange(6, 35), 6, 3, ["v"], "line")
    assert t.baselines(None, trend)["drift"]["mae"] == pytest.approx(0.0, abs=1e-5)

    sun = task(plugins, "forecasting", lookback=22, horizon=4)
    sun_train, sun_test = sun.load_data("sunspots", "train"), sun.load_data("sunspots", "test")
    assert sun.config.train_source == "sunspots"
    sun.fit(sun_train)
    assert sun.baselines(None, sun_test) == sun.baselines(sun_train, sun_test)  # refit on the recorded split
    assert sun.baselines(None, sun_test)["linear AR"]["mae"] < sun.baseline(None, sun_test)["mae"]


def test_labelled_baselines_and_per_class_report(plugins):
    t = task(plugins, "classification")
    train, test = t.load_data("basic-motions", "train"), t.load_data("basic-motions", "test")
    t.fit(train[:30])  # the model's training part; the saved-run baselines refit on the whole recorded split
    assert t.config.train_source == "basic-motions"
    saved = t.baselines(None, test)
    assert saved == t.baselines(train, test) and set(saved) == {"majority", "ridge"}
    assert saved["ridge"]["accuracy"] > saved["majority"]["accuracy"] + 0.4
    text = task(plugins, "classification")
    quotes = text.load_data("fortunes", "train")
    nb = text.baselines(quotes, text.load_data("fortunes", "test"))
    assert set(nb) == {"majority", "naive Bayes"} and nb["naive Bayes"]["accuracy"] > 0.5

    t.config.labels = ["a", "b", "c"]
    logits = np.eye(3)[[0, 0, 1, 2, 2, 2]]
    target = np.array([0, 1, 1, 2, 2, 0])
    r = t.report((logits,), target, None)
    assert r["confusion"]["matrix"] == [[1, 0, 1], [1, 1, 0], [0, 0, 2]] and r["accuracy"] == pytest.approx(4 / 6)
    assert r["per_class"]["a"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert r["per_class"]["b"]["precision"] == 1.0 and r["per_class"]["c"]["recall"] == 1.0
    assert r["macro_f1"] == pytest.approx(np.mean([0.5, 2 / 3, 0.8]))


def test_skip_head_is_a_linear_map_of_the_window_that_exports(plugins, tmp_path):
    c = seqkit.compose("gru", "forecasting", CellConfig(hidden_size=4), {"lookback": 3, "horizon": 2},
                       plugins=plugins)
    head = c.model.head
    assert head.uses_inputs and c.model.head_uses_inputs
    with torch.no_grad():
        head.proj.weight.zero_(), head.proj.bias.zero_()
        head.skip.weight.zero_()
        head.skip.weight[:, 2] = 1.0  # repeat the last step
    x = torch.arange(10, dtype=torch.float32).reshape(2, 5, 1)
    assert c.model(x)[0][:, :, 0].tolist() == [[4, 4], [9, 9]]
    assert c.model(x[:, :1])[0][:, :, 0].tolist() == [[0, 0], [5, 5]]  # shorter than lookback: zeros before
    plain = seqkit.compose("gru", "forecasting", CellConfig(hidden_size=4), {"linear_skip": False}, plugins=plugins)
    assert plain.model.head.skip is None
    level_free = seqkit.compose("gru", "forecasting", CellConfig(hidden_size=4),
                                {"horizon": 2, "linear_skip": False, "window_norm": True}, plugins=plugins)
    features, _ = level_free.model.encoder(x)
    assert features[:, -1].abs().max() == 0 and torch.equal(features[0, :, 0], torch.tensor([-4., -3, -2, -1, 0]))
    with torch.no_grad():
        level_free.model.head.proj.weight.zero_(), level_free.model.head.proj.bias.zero_()
    assert level_free.model(x)[0][:, :, 0].tolist() == [[4, 4], [9, 9]]  # no change forecast: the last value
    assert seqkit.export(level_free, tmp_path / "w.onnx").report.ok  # verified at time 1 and longer than traced


@pytest.fixture(scope="module")
def sunspot_run(tmp_path_factory):
    plugins = seqkit.load_plugins()
    torch.set_num_threads(1)
    run_dir = tmp_path_factory.mktemp("fc") / "run"
    p = prepare("gru", "forecasting", "sunspots", CellConfig(hidden_size=8), {"lookback": 22, "horizon": 4},
                plugins=plugins)
    train(p.composition, p.train_data, p.val_data, TrainConfig(epochs=3, lr=5e-3, batch_size=16, progress=False),
          run_dir=run_dir)
    return run_dir


def counted(monkeypatch, cls, *names) -> dict:
    """Calls of ``cls``'s methods ``names`` from now on, by name."""
    calls = dict.fromkeys(names, 0)
    for name in names:
        def wrapper(self, *args, _name=name, _original=getattr(cls, name), **kw):
            calls[_name] += 1
            return _original(self, *args, **kw)

        monkeypatch.setattr(cls, name, wrapper)
    return calls


def test_evaluate_reports_darts_metrics_every_baseline_and_a_forecast_plot(plugins, sunspot_run, monkeypatch):
    calls = counted(monkeypatch, plugins.task("forecasting"), "baseline", "training_data", "fit_linear_ar")
    scores = evaluate(sunspot_run, "sunspots", plugins=plugins)
    assert calls == {"baseline": 1, "training_data": 1, "fit_linear_ar": 1}  # shared by baselines and plots
    assert {"mae", "mse", "rmse", "smape", "mase"} <= set(scores)
    assert scores["rmse"] == pytest.approx(np.sqrt(scores["mse"]), rel=1e-6)
    assert set(scores["baselines"]) - CLASSICAL == {"seasonal naive", "drift", "linear AR"}
    assert scores["baselines"]["seasonal naive"] == scores["baseline"]
    assert [p.rsplit("/", 1)[-1] for p in scores["plots"]] == ["forecast-sunspots-test.png"]
    assert (sunspot_run / "forecast-sunspots-test.png").read_bytes()[:8] == PNG


def test_cli_backtest_scores_every_origin_by_lead_time(sunspot_run):
    runner = CliRunner()
    result = runner.invoke(cli, ["evaluate", str(sunspot_run), "--data", "sunspots", "--backtest", "--stride", "4",
                                 "--json"])
    assert result.exit_code == 0, result.output
    bt = json.loads(result.output)
    assert bt["origins"] == 15 and bt["stride"] == 4 and set(bt["scores"]) == {"model", "seasonal naive", "drift",
                                                                               "linear AR"}
    assert all(len(v["mae"]) == 4 for v in bt["by_lead_time"].values())
    every = runner.invoke(cli, ["evaluate", str(sunspot_run), "--data", "sunspots", "--backtest", "--json"])
    plain = evaluate(sunspot_run, "sunspots", plots=False)
    every = json.loads(every.output)
    assert every["scores"]["model"]["mae"] == pytest.approx(plain["mae"], rel=1e-5)  # stride 1
    for name, scores in (("linear AR", plain["baselines"]["linear AR"]), ("seasonal naive", plain["baseline"])):
        means = {k: v for k, v in scores.items() if k != "rmse"}  # rmse: of each origin, then averaged
        assert {k: every["scores"][name][k] for k in means} == pytest.approx(means, rel=1e-9)  # the same fits
    table = runner.invoke(cli, ["evaluate", str(sunspot_run), "--data", "sunspots", "--backtest", "--no-plots"])
    assert table.exit_code == 0 and "MAE by lead time" in table.output and "linear AR" in table.output
    assert (sunspot_run / "backtest-sunspots-test.png").read_bytes()[:8] == PNG


def test_cli_evaluate_classification_shows_baselines_per_class_and_a_confusion_matrix(tmp_path):
    runner = CliRunner()
    run = tmp_path / "run"
    args = ["train", "--data", "basic-motions", "--epochs", "2", "--hidden-size", "8", "--run-dir", str(run),
            "--no-progress"]
    assert runner.invoke(cli, args).exit_code == 0
    result = runner.invoke(cli, ["evaluate", str(run), "--data", "basic-motions"])
    assert result.exit_code == 0, result.output
    assert "ridge" in result.output and "majority" in result.output and "precision" in result.output
    scores = json.loads(runner.invoke(cli, ["evaluate", str(run), "--data", "basic-motions", "--json"]).output)
    assert set(scores["per_class"]) == {"Badminton", "Running", "Standing", "Walking"}
    assert sum(map(sum, scores["confusion"]["matrix"])) == 40 == sum(s["support"] for s in
                                                                    scores["per_class"].values())
    assert (run / "confusion-basic-motions-test.png").read_bytes()[:8] == PNG
    bad = runner.invoke(cli, ["evaluate", str(run), "--data", "basic-motions", "--backtest"])
    assert bad.exit_code == 1 and "has no backtest" in bad.output and "Traceback" not in bad.output


def test_adding_linear_baseline_cannot_solve_it(plugins):
    t = task(plugins, "adding", length=20, num_samples=1500, num_eval=300)
    scores = t.baselines(None, t.load_data("adding", "test"))  # a saved run regenerates its training data
    assert set(scores) == {"predict 1", "ridge"}
    assert 0.12 < scores["ridge"]["mse"] < 0.2 and 0.12 < scores["predict 1"]["mse"] < 0.2


def test_skip_path_can_start_at_the_ridge_ar_fit(plugins):
    p = prepare("gru", "forecasting", "sunspots", CellConfig(hidden_size=4),
                {"lookback": 22, "horizon": 4, "skip_init": "ridge"}, plugins=plugins)
    model, t = p.composition.model, p.composition.task
    assert "_skip_start" not in t.config_dict()  # a starting point, never saved
    test = t.load_data("sunspots", "test")
    x = np.stack([test[i][0] for i in range(len(test))])
    with torch.no_grad():
        model.head.proj.weight.zero_(), model.head.proj.bias.zero_()  # the cell's path off: the linear path alone
        pred = model(torch.from_numpy(x))[0].numpy()
    ar = t.fit_linear_ar(p.train_data).predict(x.reshape(len(x), -1))
    np.testing.assert_allclose(pred, ar, atol=1e-3)


def test_a_run_from_before_the_linear_path_reloads_with_its_own_head(plugins, sunspot_run):
    config = json.loads((sunspot_run / CONFIG).read_text())
    assert config["composition"]["task_config"]["linear_skip"] is True
    old = sunspot_run.parent / "old"
    old.mkdir()
    c = load_run(sunspot_run, plugins=plugins)
    plain = seqkit.compose("gru", "forecasting", CellConfig(hidden_size=8),
                           {**c.task.config_dict(), "linear_skip": False}, plugins=plugins)
    save_file({k: v.contiguous() for k, v in plain.model.state_dict().items()}, old / "weights.safetensors")
    task_config = {k: v for k, v in plain.task.config_dict().items() if k not in ("linear_skip", "skip_init",
                                                                                    "window_norm")}
    (old / CONFIG).write_text(json.dumps({**config, "composition": {**config["composition"],
                                                                     "task_config": task_config}}))
    assert load_run(old, plugins=plugins).model.head.skip is None  # an earlier seqkit's run still loads
