"""Runs that describe themselves (evaluate / resume without retyping), restarts, several seeds, dataset listing,
where validation data comes from, the selection rule and the learning-rate schedules."""
import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from seqkit.cli import cli
from seqkit.core.cell import CellConfig
from seqkit.errors import SeqkitError
from seqkit.training import TrainConfig, evaluate, prepare, resume, train
from seqkit.training.progress import EpochLog, duration
from seqkit.training.selection import Selection, learning_rate
from seqkit.training.sources import validation_record

# BasicMotions in full (40 train items, 4 classes): a 2-epoch run with hidden size 8 takes about a second
TINY = ["--data", "basic-motions", "--hidden-size", "8", "--batch-size", "8", "--lr", "1e-2"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def row(epoch, val_loss, val_accuracy=0.5):
    return {"epoch": epoch, "val_loss": val_loss, "val_accuracy": val_accuracy}


# -- the rules, as pure functions --------------------------------------------------------------------------------
def test_a_tie_is_never_the_new_best_and_patience_counts_ties():
    s = Selection("val", "accuracy", "max", patience=2)
    assert [s.update(row(e, 1.0, a)) for e, a in enumerate([0.5, 0.5, 0.75, 0.75, 0.75], 1)] == \
        [True, False, True, False, False]
    assert s.best_epoch == 3 and not s.should_stop(4) and s.should_stop(5)
    by_loss = Selection("val", "loss", "min", patience=0).replay([row(1, 1.2), row(2, 0.9), row(3, 0.9),
                                                                   row(4, math.nan)])
    assert by_loss.best_epoch == 2 and not by_loss.should_stop(100)  # NaN never wins; patience 0: never stop


def test_learning_rate_schedules_are_functions_of_the_history():
    cosine = TrainConfig(epochs=4, lr=0.1, lr_schedule="cosine")  # half at the middle, > 0 in the last epoch
    assert [round(learning_rate(cosine, e, []), 6) for e in (1, 3, 4)] == [0.1, 0.05, round(0.05 * (1 - 0.5 ** 0.5), 6)]
    plateau = TrainConfig(lr=0.1, lr_schedule="plateau", plateau_patience=2)
    scores = [-1.0, -0.9, -0.9, -0.95, -0.8, -0.8, -0.8]   # better, better, tie, worse (cut), better, tie, tie (cut)
    assert [learning_rate(plateau, e, scores) for e in range(1, 9)] == [0.1] * 4 + [0.05] * 3 + [0.025]
    assert learning_rate(TrainConfig(lr=0.1), 7, scores) == 0.1
    with pytest.raises(SeqkitError, match="unknown lr_schedule 'step'"):
        TrainConfig(lr_schedule="step").validate()


def test_epoch_lines_without_a_terminal_carry_the_best_epoch_and_an_estimate(tmp_path):
    with open(tmp_path / "log.txt", "w") as stream, EpochLog(True, epochs=3, steps=2, stream=stream) as log:
        for epoch in (1, 2, 3):
            log.start(epoch)
            log.end({"epoch": epoch, "train_loss": 1.0 / epoch, "lr": 0.001, "seconds": 0.5}, best_epoch=epoch)
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert lines[0].startswith("epoch 1/3  train_loss 1.0000  lr 0.001  best 1") and "eta" in lines[0]
    assert "eta" not in lines[2] and duration(3725) == "1h02m" and duration(65) == "1m05s"


# -- where validation comes from: decided once, before fit --------------------------------------------------------
def test_validation_is_decided_in_prepare_before_fit_and_train_never_carves(plugins, tmp_path):
    p = prepare("gru", "classification", "basic-motions", CellConfig(hidden_size=8), val_fraction=0, plugins=plugins)
    assert p.val_data is None and sum(p.composition.task.config.class_counts) == len(p.train_data) == 40
    result = train(p.composition, p.train_data, None, TrainConfig(epochs=1, progress=False), tmp_path / "r",
                   sources=p.sources)
    assert result.selected_on == "lowest train_loss"
    assert json.loads((tmp_path / "r" / "config.json").read_text())["samples"] == {"train": 40, "val": 0}
    carved = prepare("gru", "classification", "basic-motions", val_data="basic-motions", val_fraction=0.25,
                     plugins=plugins)
    assert (len(carved.train_data), len(carved.val_data)) == (32, 8)  # 2 of each class's 10
    assert carved.sources["val"] == {"source": "basic-motions", "kind": "dataset", "split": "train", "carved": 0.25,
                                     "seed": 0}
    assert sum(carved.composition.task.config.class_counts) == 32  # fit never saw the validation part
    real = prepare("gru", "adding", "adding", task_config={"length": 6, "num_samples": 20, "num_eval": 10},
                   val_data="adding", plugins=plugins)
    assert real.sources["val"]["split"] == "val" and len(real.val_data) == 10 and len(real.train_data) == 20
    with pytest.raises(SeqkitError, match="dataset 'basic-motions' has no val split"):
        prepare("gru", "classification", "fortunes", val_data="basic-motions", plugins=plugins)
    later = tmp_path / "later.csv"  # a forecasting file given as validation data: all of its windows
    later.write_text("t,y\n" + "".join(f"{i},{i % 7}\n" for i in range(40)))
    train_record = {"source": "sunspots", "kind": "dataset", "split": "train"}
    assert validation_record(plugins, "forecasting", train_record, str(later), 0.1, 0) == \
        {"source": str(later.resolve()), "kind": "file", "split": "all"}


def test_another_tasks_dataset_names_its_task_and_datasets_lists_every_task(plugins):
    result = invoke("train", "--data", "spoken-digits")
    assert result.exit_code == 1
    assert "dataset 'spoken-digits' belongs to task 'speech-frames', not 'classification'" in result.output
    assert "Traceback" not in result.output
    listed = json.loads(invoke("datasets", "--json").stdout)["datasets"]
    for task in ("classification", "forecasting", "speech-frames", "video-frames", "adding", "tagging"):
        names = {r["name"]: r for r in listed if r["task"] == task}
        assert set(names) == set(plugins.task(task).datasets()), task
    assert {r["name"]: r["splits"] for r in listed if r["task"] == "forecasting"}["sunspots"] == ["train", "test",
                                                                                                   "all"]
    table = invoke("datasets", "--task", "speech-frames")
    assert table.exit_code == 0 and "japanese-vowels" in table.output and "basic-motions" not in table.output


# -- runs that describe themselves ----------------------------------------------------------------------------------
def config_reads(monkeypatch) -> list:
    """The run folders whose config.json is read from now on, one entry per read."""
    reads, read_text = [], Path.read_text

    def counted(self, *args, **kw):
        if self.name == "config.json":
            reads.append(self.parent)
        return read_text(self, *args, **kw)

    monkeypatch.setattr(Path, "read_text", counted)
    return reads


def test_evaluate_and_resume_need_no_option_retyped(tmp_path, plugins, monkeypatch):
    run = tmp_path / "bm"
    assert invoke("train", *TINY, "--epochs", 2, "--run-dir", run, "-T", "pooling=mean").exit_code == 0
    config = json.loads((run / "config.json").read_text())
    assert config["data"]["train"] == {"source": "basic-motions", "kind": "dataset", "split": "train"}
    assert config["data"]["test"]["split"] == "test" and config["data"]["val"]["carved"] == 0.1
    assert config["data"]["task_options"] == {"pooling": "mean"}
    reads = config_reads(monkeypatch)
    scores = json.loads(invoke("evaluate", run, "--json").stdout)   # no --data: the recorded test split
    assert reads == [run]  # config.json read once, its records passed down
    assert scores["samples"] == 40 and scores["data"] == {"source": "basic-motions", "split": "test",
                                                          "kind": "dataset"}
    assert scores == evaluate(run, "basic-motions", plugins=plugins) | {"data": scores["data"]}

    refused = invoke("train", "--resume", "--run-dir", run, "--epochs", 3, "--batch-size", 4, "-T", "pooling=max")
    assert refused.exit_code == 1 and "batch_size 4 (trained with 8)" in refused.output
    assert "task option pooling='max' (trained with 'mean')" in refused.output
    assert "only epochs, patience, lr, lr_schedule, device, progress can change" in refused.output
    reads.clear()
    same = invoke("train", "--resume", "--run-dir", run, "--epochs", 3, "--lr", 5e-3, *TINY[:2], "-T",
                  "pooling=mean", "--no-progress", "--json")  # options given again with the recorded values: fine
    assert same.exit_code == 0, same.output
    assert reads == [run]  # resume reads config.json once, then writes it
    history = json.loads(same.stdout)["history"]
    assert [r["lr"] for r in history] == [1e-2, 1e-2, 5e-3]   # the new learning rate from epoch 3 on
    config = json.loads((run / "config.json").read_text())
    assert config["train"]["lr"] == 5e-3 and config["train"]["epochs"] == 3
    assert config["resumes"] == [{"after_epoch": 2, "changed": {"epochs": [2, 3], "lr": [1e-2, 5e-3]}}]


def test_a_run_with_no_finished_epoch_is_restarted_or_resumed(plugins, tmp_path, monkeypatch):
    p = prepare("lstm", "classification", "basic-motions", CellConfig(hidden_size=8), plugins=plugins)
    task_cls, original = plugins.task("classification"), plugins.task("classification").loss
    calls = {"n": 0}

    def killed_in_epoch_2(self, outputs, target):  # 5 batches of 8 per epoch
        calls["n"] += torch.is_grad_enabled()
        if calls["n"] == 7:
            raise KeyboardInterrupt
        return original(self, outputs, target)

    config = TrainConfig(epochs=2, batch_size=8, progress=False)
    monkeypatch.setattr(task_cls, "loss", killed_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(p.composition, p.train_data, p.val_data, config, tmp_path / "a", sources=p.sources)
    assert (tmp_path / "a" / "curves.png").exists()  # drawn after epoch 1 already
    calls["n"] = 0
    with pytest.raises(KeyboardInterrupt):  # killed in its first epoch: config.json, no checkpoint
        train(p.composition, p.train_data, p.val_data, TrainConfig(epochs=1, batch_size=4, progress=False),
              tmp_path / "b", sources=p.sources)
    monkeypatch.setattr(task_cls, "loss", original)
    assert (tmp_path / "b" / "config.json").exists() and not (tmp_path / "b" / "checkpoint.pt").exists()
    again = prepare("lstm", "classification", "basic-motions", CellConfig(hidden_size=8), plugins=plugins)
    restarted = train(again.composition, again.train_data, again.val_data, config, tmp_path / "b",
                      sources=again.sources)
    assert len(restarted.history) == 2 and json.loads((tmp_path / "b" / "config.json").read_text())["resumes"] == []
    resumed = resume(tmp_path / "a", {"progress": False}, plugins=plugins)  # epoch 2 redone from the checkpoint
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in restarted.history]


def test_several_seeds_give_one_run_each_and_mean_and_std(tmp_path):
    result = invoke("train", *TINY, "--epochs", 1, "--seeds", "0,1", "--run-dir", tmp_path / "s", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [r["run_dir"] for r in out["runs"]] == [str(tmp_path / "s-seed0"), str(tmp_path / "s-seed1")]
    accuracy = out["mean_std"]["metrics"]["accuracy"]
    values = [r["metrics"]["accuracy"] for r in out["runs"]]
    assert accuracy["values"] == values and accuracy["mean"] == pytest.approx(sum(values) / 2)
    assert accuracy["std"] == pytest.approx(abs(values[0] - values[1]) / math.sqrt(2))
    assert json.loads((tmp_path / "s-seed1" / "config.json").read_text())["train"]["seed"] == 1
    scores = json.loads(invoke("evaluate", tmp_path / "s-seed0", tmp_path / "s-seed1", "--json").stdout)
    assert [r["run"] for r in scores["runs"]] == [str(tmp_path / "s-seed0"), str(tmp_path / "s-seed1")]
    assert {"loss", "accuracy"} <= set(scores["mean_std"]["metrics"])  # and whole-set scores (macro_f1)
    assert {"majority", "ridge"} <= set(scores["mean_std"]["baselines"])  # the weak and the strong baseline
    both = invoke("train", *TINY, "--seed", 1, "--seeds", "0,1")
    assert both.exit_code == 1 and "give --seed or --seeds, not both" in both.output


def test_several_seeds_from_python_are_the_cli_runs(tmp_path):
    """The CLI's --seeds is train_seeds + summarize: the same runs, the same numbers."""
    from seqkit.training import resume_seeds, summarize, train_seeds

    cli = json.loads(invoke("train", *TINY, "--epochs", 1, "--seeds", "0,1", "--run-dir", tmp_path / "cli",
                            "--json").stdout)
    config = TrainConfig(epochs=1, batch_size=8, lr=1e-2, progress=False)
    results = train_seeds("gru", "classification", "basic-motions", [0, 1], CellConfig(hidden_size=8), None, config,
                          tmp_path / "api")
    assert [r.run_dir for r in results] == [tmp_path / "api-seed0", tmp_path / "api-seed1"]
    assert [r.metrics for r in results] == [r["metrics"] for r in cli["runs"]]
    assert summarize([r.metrics for r in results], [r.baselines for r in results]) == cli["mean_std"]
    with pytest.raises(SeqkitError, match=r"seeds must be distinct non-negative integers, e.g. 0,1,2 \(got \[1, 1\]\)"):
        train_seeds("gru", "classification", "basic-motions", [1, 1])
    resumed = resume_seeds(tmp_path / "api", [0, 1], {"epochs": 2, "progress": False})
    assert [len(r.history) for r in resumed] == [2, 2]
