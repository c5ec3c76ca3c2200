"""Forecasting's distribution head (-T likelihood=gaussian|studentt): the torch-free Student-t quantiles, the
closed-form CRPS, the likelihood, and a run that trains, scores, exports and predicts quantiles from the learnt
distribution."""
import json
import math
from statistics import NormalDist

import numpy as np
import pytest
import torch

from seqkit.errors import ConfigError
from seqkit.kit.distributions import crps, multipliers, nll, student_t_cdf, student_t_ppf


@pytest.mark.parametrize("q, df, expected", [  # textbook t-table values
    (0.975, 1.0, 12.706204736), (0.975, 10.0, 2.228138852), (0.9, 5.0, 1.475884049), (0.95, 30.0, 1.697260887),
    (0.1, 3.0, -1.637744354),
])
def test_student_t_quantiles_match_the_tables(q, df, expected):
    assert student_t_ppf(q, df) == pytest.approx(expected, abs=1e-8)
    assert student_t_cdf(student_t_ppf(q, df), df) == pytest.approx(q, abs=1e-12)


def test_multipliers_gaussian_and_student_t_approach_it():
    levels = [0.05, 0.5, 0.8]
    assert np.allclose(multipliers("gaussian", levels), [NormalDist().inv_cdf(q) for q in levels])
    wide, near = multipliers("studentt", levels, [2.5, 1e6])
    assert np.allclose(near, multipliers("gaussian", levels), atol=1e-5) and abs(wide[0]) > abs(near[0])
    assert student_t_ppf(0.5, 4.2) == 0.0


@pytest.mark.parametrize("family, df", [("gaussian", None), ("studentt", 3.5)])
def test_crps_closed_form_matches_the_integral(family, df):
    # CRPS(F, y) = integral of (F(x) - 1{x >= y})^2 dx, by the trapezoid rule on a wide grid
    loc, scale, y = 1.0, 2.0, 2.7
    x = np.linspace(-400, 400, 400_001)
    z = (x - loc) / scale
    cdf = (np.array([NormalDist().cdf(v) for v in z[::100]]) if df is None else
           np.array([student_t_cdf(v, df) for v in z[::100]]))
    x = x[::100]
    integral = np.trapezoid((cdf - (x >= y)) ** 2, x)
    got = crps(family, np.array([loc]), np.array([scale]), np.array([y]), None if df is None else np.array([df]))
    assert got[0] == pytest.approx(integral, rel=2e-3)


def test_nll_is_the_log_density():
    loc, scale, y = torch.tensor([0.5, -1.0]), torch.tensor([2.0, 0.3]), torch.tensor([1.0, -0.2])
    normal = -torch.distributions.Normal(loc, scale).log_prob(y).mean()
    assert float(nll(loc, scale, None, y)) == pytest.approx(float(normal), rel=1e-6)
    df = torch.tensor([4.0, 7.0])
    t = -torch.distributions.StudentT(df, loc, scale).log_prob(y).mean()
    assert float(nll(loc, scale, df, y)) == pytest.approx(float(t), rel=1e-6)


def test_likelihood_option_checked_and_levels_default(plugins):
    cls = plugins.task("forecasting")
    assert cls.config_from_dict({"likelihood": "gaussian"}).quantiles == [0.1, 0.5, 0.9]
    assert cls.config_from_dict({"likelihood": "studentt", "quantiles": "0.05,0.95"}).quantiles == [0.05, 0.95]
    with pytest.raises(ConfigError, match="likelihood must be gaussian or studentt"):
        cls(cls.config_from_dict({"likelihood": "poisson"})).validate()


def test_student_t_head_trains_exports_and_predicts_its_quantiles(tmp_path, run):
    from seqkit.runtime.model import load
    from seqkit.runtime.readers import read_samples

    r = run("train", "--task", "forecasting", "--data", "macro", "-T", "lookback=8", "-T", "horizon=3",
            "-T", "likelihood=studentt", "-T", "quantiles=0.1,0.9", "-T", "calibrate=cqr", "--hidden-size", "4",
            "--epochs", "2",
            "--run-dir", tmp_path / "t")
    assert r.exit_code == 0, r.output
    scores = json.loads(run("evaluate", tmp_path / "t", "--json", "--no-plots").output)
    assert scores["crps"] > 0 and 0 < scores["crps_weighted"] < 1 and 0 <= scores["coverage"] <= 1
    r = run("export", tmp_path / "t", "-o", tmp_path / "t.onnx")
    assert r.exit_code == 0, r.output
    model = load(str(tmp_path / "t.onnx"))
    assert model.metadata["task_metadata"]["distribution"]["parameters"] == ["loc", "scale", "df"]
    from importlib.resources import files

    samples, _ = read_samples(str(files("seqkit") / "datasets" / "forecasting" / "macro.csv"), model)
    (result,) = model.predict(samples)
    d, q = result["distribution"]["realgdp_growth"], result["quantiles"]["realgdp_growth"]
    assert d["loc"] == pytest.approx(result["forecast"]["realgdp_growth"]) and min(d["scale"]) > 0
    assert min(d["df"]) > 2 and len(set(d["df"])) == 1  # one learnt df per column
    assert result["distribution"]["realcons_growth"]["df"] != d["df"]
    assert model.metadata["task_metadata"]["calibration"].startswith("cqr")
    from safetensors.numpy import load_file

    offsets = load_file(tmp_path / "t" / "weights.safetensors")["head.calibration.offsets"]  # model units (std)
    std = model.metadata["task_metadata"]["scaling"]["std"][0]
    for k, level in enumerate(("0.1", "0.9")):  # exact quantiles of the learnt Student-t + CQR's offset, in the graph
        want = [m + s * student_t_ppf(float(level), d["df"][0]) + offsets[0, k] * std
                for m, s in zip(d["loc"], d["scale"])]
        assert q[level] == pytest.approx(want, rel=1e-5, abs=1e-4)
    assert not math.isclose(student_t_ppf(0.9, d["df"][0]), NormalDist().inv_cdf(0.9), rel_tol=1e-3)


@pytest.mark.parametrize("options", [{"quantiles": [0.1, 0.5, 0.9]}, {"likelihood": "gaussian"}])
def test_cqr_calibration_sets_the_validation_coverage_to_nominal(options):
    from seqkit.builtin.tasks.forecast_windows import items
    from seqkit.kit.intervals import interval_scores
    from seqkit.training.trainer import prepare

    prepared = prepare("gru", "forecasting", "us-employment", task_config={"lookback": 8, "horizon": 3,
                                                                           "calibrate": "cqr", **options})
    model, task, val = prepared.composition.model.eval(), prepared.composition.task, prepared.val_data
    inputs, target = task.collate([val[i] for i in range(len(val))])
    actual = np.stack([y for _, y in items(val)])
    before = [o.detach().numpy() for o in model(*inputs)]
    assert task.calibrate(model, val)
    after = [o.detach().numpy() for o in model(*inputs)]
    cover = interval_scores(after[1], actual, [0.1, 0.5, 0.9])["coverage"]
    assert interval_scores(before[1], actual, [0.1, 0.5, 0.9])["coverage"] != cover
    assert 0.78 <= cover <= 0.84  # by construction on the calibration windows themselves (finite-sample level)
    assert np.allclose(after[0], before[0]) and np.all(np.diff(after[1], axis=-1) >= 0)  # median kept, no crossing
    offsets = model.state_dict()["head.calibration.offsets"]
    assert offsets.shape == (1, 3) and offsets[0, 1] == 0 and offsets[0, 0] != 0
    with pytest.raises(ConfigError, match="calibrate=cqr recalibrates quantiles"):
        task.__class__(task.config_from_dict({"calibrate": "cqr"})).validate()


def test_calibration_leaves_training_alone_and_sorts_when_evaluating():
    """calibrate=cqr must not change how a model trains: the layer is the identity in training (crossed quantiles
    keep their own pinball losses) and adds its offsets and sorts in eval mode (what the export holds)."""
    from seqkit.builtin.tasks.forecast_calibration import Calibration

    layer = Calibration(1, 3)
    crossed = torch.tensor([[[[0.5, 0.2, 0.9]]]], requires_grad=True)
    layer.train()
    out = layer(crossed)
    assert torch.equal(out, crossed)
    out[..., 0].sum().backward()
    assert crossed.grad.flatten().tolist() == [1.0, 0.0, 0.0]  # the gradient stays with level 0
    layer.eval()
    layer.offsets.copy_(torch.tensor([[-0.1, 0.0, 0.1]]))
    assert torch.allclose(layer(crossed.detach()), torch.tensor([[[[0.2, 0.4, 1.0]]]]))
