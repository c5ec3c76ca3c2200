"""Training API, run directory, reproducibility, resume and the train -> evaluate -> export CLI (small and fast)."""
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from click.testing import CliRunner

import seqkit
from seqkit.cli import cli
from seqkit.core.cell import CellConfig
from seqkit.errors import SeqkitError
from seqkit.onnx.verify import read_metadata
from seqkit.training import TrainConfig, evaluate, load_run, prepare, train

SMALL = CellConfig(hidden_size=8)
FAST = TrainConfig(epochs=2, batch_size=8, lr=1e-2, progress=False)


def small_slice(plugins, dataset):
    """Every 4th motion (all 4 classes, 10 items) or 48 quotes: enough to train a step, fast to run."""
    data = plugins.task("classification")().load_data(dataset, "train")
    return data[::4] if dataset == "basic-motions" else data[:48]


def run(plugins, tmp_path, cell="gru", dataset="basic-motions", config=FAST, name="run", seed=0, **kw):
    p = prepare(cell, "classification", small_slice(plugins, dataset), SMALL, seed=seed, val_fraction=0.25,
                plugins=plugins)
    return train(p.composition, p.train_data, p.val_data, config, run_dir=tmp_path / name, **kw)


@pytest.mark.parametrize("dataset", ["basic-motions", "fortunes"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_each_cell_trains_on_real_data_and_its_run_exports_verified(plugins, tmp_path, cell, dataset):
    result = run(plugins, tmp_path, cell, dataset)
    assert len(result.history) == 2 and 1 <= result.best_epoch <= 2
    assert all(np.isfinite(row["train_loss"]) and 0 <= row["val_accuracy"] <= 1 for row in result.history)
    composition = load_run(result.run_dir, plugins=plugins)
    exported = seqkit.export(composition, tmp_path / "m.onnx")  # verified at unseen (batch, time), padded
    assert exported.report.ok
    meta = read_metadata(onnx.load(tmp_path / "m.onnx"))["task_metadata"]
    assert meta["labels"] == (["Badminton", "Running", "Standing", "Walking"] if dataset == "basic-motions"
                              else ["computers", "food", "politics", "science"])
    assert ("normalisation" in meta) == (dataset == "basic-motions") and ("vocab" in meta) == (dataset == "fortunes")


def test_run_directory_holds_config_weights_metrics_curves_and_checkpoint(plugins, tmp_path):
    result = run(plugins, tmp_path, dataset="fortunes")
    files = sorted(p.name for p in result.run_dir.iterdir())
    assert files == ["checkpoint.pt", "config.json", "curves.png", "metrics.csv", "metrics.json",
                     "weights.safetensors"]
    config = json.loads((result.run_dir / "config.json").read_text())
    task_config = config["composition"]["task_config"]
    assert task_config["labels"] == ["computers", "food", "politics", "science"]
    assert task_config["vocab_size"] == len(task_config["vocab"]) + 2 > 2
    assert config["train"]["epochs"] == 2 and config["train"]["clip_norm"] == 1.0
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["best_epoch"] == result.best_epoch and len(metrics["history"]) == 2
    assert metrics["baseline"]["accuracy"] == result.baseline["accuracy"] > 0
    csv_lines = (result.run_dir / "metrics.csv").read_text().splitlines()
    assert csv_lines[0].startswith("epoch,train_loss") and len(csv_lines) == 3
    assert (result.run_dir / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in result.run_dir.iterdir() if p.name.endswith(".tmp")]
    # the saved model is the best epoch's, and evaluate() recomputes its validation metrics
    again = evaluate(result.run_dir, result_val(plugins), plugins=plugins)
    assert again["accuracy"] == pytest.approx(result.metrics["accuracy"])
    assert again["loss"] == pytest.approx(result.metrics["loss"], rel=1e-5)


def result_val(plugins):
    p = prepare("gru", "classification", small_slice(plugins, "fortunes"), SMALL, seed=0, val_fraction=0.25,
                plugins=plugins)
    return p.val_data


def weights(run_dir):
    return load_run(run_dir).model.state_dict()


def test_same_seed_same_weights_and_metrics_other_seed_differs(plugins, tmp_path):
    config = TrainConfig(epochs=2, batch_size=4, lr=1e-2, progress=False, seed=3)
    a = run(plugins, tmp_path, "lstm", config=config, name="a")
    b = run(plugins, tmp_path, "lstm", config=config, name="b")
    c = run(plugins, tmp_path, "lstm", config=TrainConfig(**{**config.__dict__, "seed": 4}), name="c")
    wa, wb, wc = weights(a.run_dir), weights(b.run_dir), weights(c.run_dir)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert [r["train_loss"] for r in a.history] == [r["train_loss"] for r in b.history]
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)


def test_interrupted_then_resumed_run_reaches_the_uninterrupted_weights(plugins, tmp_path, monkeypatch):
    config = TrainConfig(epochs=4, batch_size=4, lr=1e-2, patience=0, progress=False)
    whole = run(plugins, tmp_path, "gru", config=config, name="whole")

    task_cls = plugins.task("classification")
    original, calls = task_cls.loss, {"n": 0}

    def loss_that_stops_in_epoch_3(self, outputs, target):  # 2 train batches per epoch: batch 6 is in epoch 3
        calls["n"] += torch.is_grad_enabled()
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return original(self, outputs, target)

    monkeypatch.setattr(task_cls, "loss", loss_that_stops_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        run(plugins, tmp_path, "gru", config=config, name="cut")
    monkeypatch.setattr(task_cls, "loss", original)
    assert len(json.loads((tmp_path / "cut" / "metrics.json").read_text())["history"]) == 2
    resumed = run(plugins, tmp_path, "gru", config=config, name="cut", resume=True)
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in whole.history]
    last_whole = torch.load(whole.run_dir / "checkpoint.pt", weights_only=True)["model"]
    last_resumed = torch.load(resumed.run_dir / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(last_whole[k], last_resumed[k]) for k in last_whole)
    assert resumed.best_epoch == whole.best_epoch


def test_run_dir_rules_and_device_errors(plugins, tmp_path, monkeypatch):
    first = run(plugins, tmp_path, name="r")
    with pytest.raises(SeqkitError, match="already holds a run"):
        run(plugins, tmp_path, name="r")
    with pytest.raises(SeqkitError, match="another composition"):
        run(plugins, tmp_path, "lstm", name="r", resume=True)
    with pytest.raises(SeqkitError, match="not a seqkit run directory"):
        run(plugins, tmp_path, name="never", resume=True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SeqkitError, match="sees no CUDA GPU"):
        run(plugins, tmp_path, config=TrainConfig(epochs=1, device="cuda", progress=False), name="gpu")
    with pytest.raises(SeqkitError, match="epochs must be a positive"):
        TrainConfig(epochs=0).validate()
    with pytest.raises(SeqkitError, match="not a seqkit run directory"):
        load_run(tmp_path)
    assert first.stopped_early is False


def test_early_stopping_stops_after_patience_epochs_without_improvement(plugins, tmp_path, monkeypatch):
    calls = {"n": 0}

    def worse_every_call(self, outputs, target):  # the watched metric only gets worse after epoch 1
        calls["n"] += 1
        return {"accuracy": 1.0 / calls["n"]}

    monkeypatch.setattr(plugins.task("classification"), "metrics", worse_every_call)
    config = TrainConfig(epochs=30, batch_size=8, patience=2, progress=False, select="metric")
    result = run(plugins, tmp_path, config=config)
    assert result.stopped_early and result.best_epoch == 1 and len(result.history) == 3
    assert result.selected_on == "highest val_accuracy"


def test_a_tie_is_not_an_improvement_so_early_stopping_fires_on_a_small_validation_set(plugins, tmp_path,
                                                                                      monkeypatch):
    # 8 validation items: accuracy moves in steps of 1/8 and repeats; the loss still falls every epoch
    monkeypatch.setattr(plugins.task("classification"), "metrics", lambda self, outputs, target: {"accuracy": 0.5})
    config = TrainConfig(epochs=30, batch_size=8, lr=1e-2, patience=3, progress=False, select="metric")
    result = run(plugins, tmp_path, config=config)
    assert result.best_epoch == 1 and result.stopped_early and len(result.history) == 4


def test_cli_train_evaluate_export_and_onnxruntime_reads_labels_and_vocab(tmp_path):
    rows = [{"review": t, "stars": s} for t, s in [("good fine great", "pos"), ("bad awful poor", "neg")] * 12]
    data = tmp_path / "reviews.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runner = CliRunner()
    args = ["train", "--data", str(data), "--cell", "rnn", "--epochs", "8", "--lr", "0.03", "--batch-size", "4",
            "--hidden-size", "8",
            "--val-fraction", "0.25", "--run-dir", str(tmp_path / "run"), "-T", "text_column=review",
            "-T", "label_column=stars", "-T", "min_count=1", "--json"]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    trained = json.loads(result.stdout)
    assert trained["metrics"]["accuracy"] == 1.0 and trained["baseline"]["accuracy"] == 0.5
    assert trained["baselines"]["majority"] == trained["baseline"]  # the weak baseline first, then strong ones
    assert set(trained["baselines"]) == {"majority", "naive Bayes"}
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("epoch ")]  # stderr is no terminal here
    assert len(lines) == len(trained["history"]) and "eta" in lines[0] and "val_loss" in lines[0]
    result = runner.invoke(cli, ["evaluate", str(tmp_path / "run"), "--data", str(data), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["accuracy"] == 1.0 and scores["samples"] == 24 and scores["baseline"]["accuracy"] == 0.5
    result = runner.invoke(cli, ["export", str(tmp_path / "run"), "-o", str(tmp_path / "m.onnx"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verification"]["ok"] is True
    # what docs/training.md shows: tokenise with the file's own vocabulary, read logits
    session = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    meta = {k: json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}
    task_meta = meta["seqkit.task_metadata"]
    ids = {word: i + 2 for i, word in enumerate(task_meta["vocab"])}
    tokens = np.array([[ids.get(w, 1) for w in "awful bad".split()] + [0]], dtype=np.int64)
    logits, = session.run(None, {"tokens": tokens, "lengths": np.array([2], dtype=np.int64)})
    assert task_meta["labels"][int(logits.argmax())] == "neg"
    result = runner.invoke(cli, ["export", str(tmp_path / "run"), "--cell", "lstm"])
    assert result.exit_code == 1 and "RUN fixes the model" in result.output


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 7])
def test_prepare_refuses_a_validation_fraction_outside_0_1(plugins, fraction):
    with pytest.raises(SeqkitError, match=r"val_fraction must be in \[0, 1\)"):
        prepare("gru", "classification", small_slice(plugins, "basic-motions"), SMALL, val_fraction=fraction,
                val_data="basic-motions", plugins=plugins)


def test_train_reads_task_options_by_their_declared_type(run, tmp_path):
    """-T text_column=123 names a column called "123" (a str field), for train as for export."""
    rows = ["123,label"] + [f"{word} {i},{'a' if i % 2 else 'b'}" for i, word in enumerate(["red", "blue"] * 12)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    result = run("train", "--data", "d.csv", "-T", "text_column=123", "--epochs", "1", "--hidden-size", "4",
                 "--run-dir", "r", "--no-progress")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "config.json").read_text())["composition"]["task_config"]["text_column"] \
        == "123"
