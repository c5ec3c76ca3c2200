"""Gradient diagnostics: exact Jacobian norms, the measured ordering at init (docs/gradients.md), the CLI."""
import json
import os

import pytest
import torch
from torch import nn

import seqkit
from seqkit import Cell, hookimpl
from seqkit.errors import ConfigError, SeqkitError
from seqkit.training.diagnose import CellSpec, jacobian_norms, measure_cells


def reference_norms(cell, x):
    jac = torch.autograd.functional.jacobian(lambda v: cell(v)[0][:, -1], x)  # [B, O, B, T, F]
    return torch.stack([jac[b, :, b].pow(2).sum(dim=(0, 2)).sqrt() for b in range(x.shape[0])])


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_norms_equal_the_full_jacobian(plugins, name, monkeypatch):
    torch.manual_seed(0)
    cell = plugins.cell(name)(3, seqkit.CellConfig(hidden_size=5))
    x = torch.randn(2, 6, 3)
    expected = reference_norms(cell.eval(), x)
    assert torch.allclose(jacobian_norms(cell, x), expected, rtol=1e-5, atol=1e-8)
    monkeypatch.setattr("seqkit.training.diagnose.MAX_REPEAT_BATCH", 4)  # several backward passes, same answer
    assert torch.allclose(jacobian_norms(cell, x), expected, rtol=1e-5, atol=1e-8)


class Leaky(Cell):
    """A third-party cell: h_t = a * h_{t-1} + W x_t, so ||d h_T / d x_t|| = a^(T-1-t) ||W||."""

    OPTIONS = {"decay": 0.5}

    def __init__(self, input_size, config):
        super().__init__(input_size, config)
        self.w = nn.Linear(input_size, config.hidden_size, bias=False)

    def forward(self, x, lengths=None, state=None):
        h = x.new_zeros(x.shape[0], self.hidden_size)
        outs = []
        for t in range(x.shape[1]):
            h = self.option("decay") * h + self.w(x[:, t])
            outs.append(h)
        return torch.stack(outs, 1), (h.unsqueeze(0),)


class LeakyPlugin:
    @staticmethod
    @hookimpl
    def seqkit_register_cells(registry):
        registry.register("leaky", Leaky)


def test_any_registered_cell_works_third_party_included():
    plugins = seqkit.load_plugins(extra={"leaky-plugin": LeakyPlugin})
    report = measure_cells([CellSpec("leaky", {"decay": 0.5})], length=8, hidden_size=4, seeds=[0, 1],
                           batch=2, plugins=plugins)
    (profile,) = report.profiles
    assert profile.label == "leaky(decay=0.5)"
    norms = torch.tensor(profile.per_seed[0])
    torch.manual_seed(0)
    w_norm = Leaky(2, seqkit.CellConfig(hidden_size=4)).w.weight.norm()
    expected = w_norm * 0.5 ** torch.arange(7, -1, -1, dtype=torch.float32)
    assert torch.allclose(norms, expected, rtol=1e-5)


def test_forget_bias_keeps_gradients_alive_where_gates_alone_do_not(plugins):
    """The ordering measured and documented in docs/gradients.md (hidden 128, T=100, 50 steps back, at init).

    Measured (5 seeds): lstm(forget_bias=1) ~6e-5; gru ~4e-11; lstm(PyTorch init) ~2e-11; rnn ~1e-12.
    """
    cells = ["rnn", "gru", CellSpec("lstm", {"forget_bias": None}), CellSpec("lstm", {"forget_bias": 1.0})]
    report = measure_cells(cells, length=100, hidden_size=128, seeds=[0, 1, 2], batch=2, plugins=plugins)
    rnn, gru, lstm_torch, lstm_fb1 = report.profiles
    t = 100 - 1 - 50
    others = (rnn, gru, lstm_torch)
    # forget bias 1 keeps d h_T / d x_t orders of magnitude larger than every other cell, on every seed
    assert lstm_fb1.norms[t] > 1e3 * max(p.norms[t] for p in others)
    for s in range(3):
        assert lstm_fb1.per_seed[s][t] > 1e2 * max(p.per_seed[s][t] for p in others)
    # gates alone do not help at init: without the bias every cell loses > 6 orders of magnitude in 50 steps
    for p in others:
        assert p.norms[t] < 1e-6 * p.norms[99], p.label
    assert lstm_fb1.norms[t] > 1e-6 * lstm_fb1.norms[99]


def test_seqkit_lstm_defaults_to_forget_bias_one(plugins):
    cell = plugins.cell("lstm")(2, seqkit.CellConfig(hidden_size=4))
    b = cell.rnn.bias_ih_l0 + cell.rnn.bias_hh_l0
    assert torch.allclose(b[4:8], torch.ones(4))


def test_bad_input_is_refused_before_any_work(plugins):
    with pytest.raises(SeqkitError, match="unknown cell 'nope'"):
        measure_cells(["gru", "nope"], plugins=plugins)
    with pytest.raises(ConfigError, match="length must be a positive"):
        measure_cells(["gru"], length=0, plugins=plugins)
    with pytest.raises(ConfigError, match="seeds"):
        measure_cells(["gru"], seeds=[], plugins=plugins)


def test_cli_table_and_png(run, tmp_path):
    result = run("diagnose", "gradients", "--cell", "rnn,gru", "--cell", "lstm:forget_bias=null", "--length", "30",
                 "--hidden-size", "16", "--seeds", "0,1", "--png", "g.png")
    assert result.exit_code == 0, result.output
    assert "rnn" in result.output and "gru" in result.output and "lstm(forget_bias=null)" in result.output
    assert "steps back" in result.output and "wrote g.png" in result.output
    rows = [line for line in result.output.splitlines() if line.strip("│ ").startswith("29 ")]
    assert len(rows) == 1  # the first step (29 back) is always a row
    png = (tmp_path / "g.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]  # no temporary file left
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "g.png").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's private 0600


def test_cli_json_has_every_step(run, tmp_path):
    result = run("diagnose", "gradients", "--cell", "lstm", "--length", "12", "--hidden-size", "8", "--seed", "3",
                 "--json", "--png", "x.png")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (profile,) = report["profiles"]
    assert report["length"] == 12 and report["seeds"] == [3] and report["png"] == "x.png"
    assert len(profile["norms"]) == 12 and profile["hidden_size"] == 8
    assert all(v > 0 for v in profile["norms"]) and profile["norms"][-1] > profile["norms"][0]


@pytest.mark.parametrize("args, code, message", [
    (["--cell", "nope"], 1, "unknown cell 'nope'"),
    (["--cell", "lstm:bogus=1"], 1, "has no option bogus"),
    (["--length", "0"], 2, "'--length': must be > 0"),
    (["--length", "-5"], 2, "'--length': must be > 0"),
    (["--seeds", "a,b"], 2, "not a comma-separated list"),
])
def test_cli_bad_input(run, tmp_path, args, code, message):
    result = run("diagnose", "gradients", "--length", "5", "--hidden-size", "4", *args)
    assert result.exit_code == code and message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "gradients.png").exists()


def tiny_run(path, cell, length, plugins):
    from seqkit.training import TrainConfig, train

    c = seqkit.compose(cell, "adding", seqkit.CellConfig(hidden_size=4),
                       {"length": length, "num_samples": 40, "num_eval": 10}, plugins=plugins)
    train(c, c.task.load_data("adding", "train"), c.task.load_data("adding", "val"),
          TrainConfig(epochs=1, batch_size=20, progress=False), run_dir=path)
    return str(path)


def test_cli_compares_trained_runs_on_their_data(run, tmp_path, plugins):
    a, b = tiny_run(tmp_path / "gru-run", "gru", 12, plugins), tiny_run(tmp_path / "rnn-run", "rnn", 12, plugins)
    result = run("diagnose", "gradients", "--run", a, "--run", b, "--data", "adding", "--seeds", "0", "--json",
                 "--png", "runs.png")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [p["label"] for p in report["profiles"]] == ["gru-run", "rnn-run"]
    assert report["length"] == 12 and all(len(p["norms"]) == 12 for p in report["profiles"])
    assert (tmp_path / "runs.png").exists()
    other = tiny_run(tmp_path / "long", "gru", 15, plugins)
    result = run("diagnose", "gradients", "--run", a, "--run", other, "--data", "adding")
    assert result.exit_code == 1 and "length 12 and 15" in result.output
    result = run("diagnose", "gradients", "--run", a, "--cell", "gru")
    assert result.exit_code == 1 and "either --run or --cell" in result.output
    result = run("diagnose", "gradients", "--cell", "gru", "--data", "adding")
    assert result.exit_code == 1 and "--data needs --run" in result.output
