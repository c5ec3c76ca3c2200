"""seqkit tune: search space specs, trials as run folders, pruning, the test split left for the end, the study in
Optuna's storage (resumed after Ctrl-C, shared by two processes). Tiny models, 1-2 epochs, a few trials."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from seqkit.core.task import Task
from seqkit.errors import ConfigError
from seqkit.training import TrainConfig, load_run
from seqkit.training.final import evaluate_once, retrain_best
from seqkit.training.space import parse_param, parse_space
from seqkit.training.tune import STUDY_FILE, Setup, tune

SMALL = ["--data", "basic-motions", "--hidden-size", "4", "--epochs", "2", "--batch-size", "16", "--patience", "0",
         "--no-progress"]


def small_setup(epochs: int = 2) -> Setup:
    return Setup("gru", "classification", "basic-motions",
                 config=TrainConfig(epochs=epochs, batch_size=16, patience=0, progress=False))


def test_param_specs_parse_by_kind_and_option_type():
    p = parse_param("hidden-size=int:16..128:log")
    assert (p.name, p.kind, p.low, p.high, p.log, p.section) == ("hidden_size", "int", 16, 128, True, "model")
    assert parse_param("lr=float:1e-4..1e-2:log").section == "training"
    assert parse_param("cell=choice:gru,lstm").choices == ("gru", "lstm")
    assert parse_param("bidirectional=choice:true,false").choices == (True, False)
    assert parse_param("dropout=float:0..0.5:step=0.1").step == 0.1
    task = parse_param("T.pooling=choice:mean,max")
    assert (task.section, task.key, task.choices) == ("task", "pooling", ("mean", "max"))
    assert parse_param("O.nonlinearity=choice:tanh,relu").section == "cell"


@pytest.mark.parametrize("spec, says", [
    ("hidden_size", "is not NAME=SPEC"), ("colour=choice:a,b", "unknown option"),
    ("lr=float:1e-2..1e-4", "LOW must be below HIGH"), ("lr=float:0..1:log", "needs LOW > 0"),
    ("hidden_size=int:a..9", "is not an integer"), ("lr=normal:0..1", "unknown kind"),
    ("cell=choice:", "list the choices"), ("lr=float:1..2:fast", "unknown flag"),
    ("bidirectional=choice:maybe", "is not true or false"), ("hidden_size=int:8", "LOW..HIGH")])
def test_a_bad_param_spec_is_one_line(spec, says):
    with pytest.raises(ConfigError, match=says) as caught:
        parse_param(spec)
    assert "\n" not in str(caught.value)


def test_a_bad_param_on_the_command_line_is_one_line_without_traceback(run):
    result = run("tune", *SMALL, "--param", "lr=float:1e-2..1e-4:log", "--trials", "1")
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0 and "LOW must be below HIGH" in result.output
    assert "Traceback" not in result.output
    with pytest.raises(ConfigError, match="given twice"):
        parse_space(["lr=float:1e-3..1e-2", "lr=float:1e-4..1e-2"])
    for param, says in (("T.pooling=choice:mean,median", "pooling"), ("cell=choice:gru,tcn", "tcn")):
        refused = run("tune", *SMALL, "--param", param, "--trials", "1", "--run-dir", "refused")
        assert refused.exit_code == 1 and says in refused.output and refused.output.strip().count("\n") == 0
    assert not (Path("refused") / "trial-0000").exists()  # refused before any trial trained


def test_search_reads_no_test_data_trials_are_run_folders_and_the_best_is_retrained_and_tested_once(
        tmp_path, monkeypatch, plugins):
    reads = []
    original = Task.load_data
    monkeypatch.setattr(Task, "load_data", lambda self, source, split="train": (
        reads.append(split), original(self, source, split))[1])
    space = parse_space(["hidden_size=int:2..6", "T.pooling=choice:mean,max"])
    study = tune(small_setup(1), space, tmp_path, trials=2, plugins=plugins)
    assert reads and "test" not in reads  # the search: training data (validation carved from it) only
    trials = study.get_trials()
    assert [t.state.name for t in trials] == ["COMPLETE"] * 2 and (tmp_path / STUDY_FILE).is_file()
    for t in trials:  # each trial is a normal run folder with the trial's values in it
        folder = Path(t.user_attrs["run_dir"])
        assert folder == tmp_path / f"trial-{t.number:04d}"
        saved = json.loads((folder / "config.json").read_text())
        assert saved["composition"]["cell_config"]["hidden_size"] == t.params["hidden_size"]
        assert saved["composition"]["task_config"]["pooling"] == t.params["T.pooling"]
        metrics = json.loads((folder / "metrics.json").read_text())
        assert t.value == pytest.approx(metrics["best"]["accuracy"])
        load_run(folder, plugins)
    reads.clear()
    best, runs = retrain_best(study, small_setup(1), space, tmp_path, [0, 1], plugins)
    assert "test" not in reads and best.number == study.best_trial.number
    assert [r.run_dir for r in runs] == [tmp_path / f"best-trial{best.number}-seed{s}" for s in (0, 1)]
    assert all(r.composition.model.cell.hidden_size == best.params["hidden_size"] for r in runs)
    scored = evaluate_once(runs, plugins)
    assert reads.count("test") == 2  # once per seed's run, only now
    summary = scored["summary"]
    assert len(summary["metrics"]["accuracy"]["values"]) == 2 and "ridge" in summary["baselines"]


def test_a_pruned_trial_stops_at_the_epoch_its_pruner_says(tmp_path, plugins, monkeypatch):
    from seqkit.training import tune as tune_module

    # a pruner that stops every trial after its first reported epoch: the hook must end training right there
    monkeypatch.setattr(tune_module, "pruner_of", lambda name, epochs: optuna.pruners.ThresholdPruner(upper=-1.0))
    study = tune(small_setup(), parse_space(["lr=float:1e-3..1e-2:log"]), tmp_path, trials=2, plugins=plugins)
    assert [t.state.name for t in study.get_trials()] == ["PRUNED", "PRUNED"]
    assert all(t.intermediate_values.keys() == {1} and t.user_attrs["pruned_at"] == 1 for t in study.trials)
    history = json.loads((tmp_path / "trial-0000" / "metrics.json").read_text())["history"]
    assert len(history) == 1  # of 2 epochs


def test_ctrl_c_is_one_line_and_the_same_command_continues_the_study(run, tmp_path, monkeypatch):
    from seqkit.training import loop

    epochs = {"n": 0}
    original = loop.Loop.train_epoch

    def interrupted_in_the_second_trial(self, *args, **kw):
        epochs["n"] += 1
        if epochs["n"] == 3:  # trial 0 has 2 epochs; Ctrl-C in trial 1's first
            raise KeyboardInterrupt
        return original(self, *args, **kw)

    monkeypatch.setattr(loop.Loop, "train_epoch", interrupted_in_the_second_trial)
    command = ["tune", *SMALL[:-1], "--param", "hidden_size=int:2..6", "--trials", "3", "--no-final", "--run-dir", "t",
               "--storage", f"sqlite:///{tmp_path / 'study.db'}"]
    first = run(*command)
    assert first.exit_code == 130 and first.output.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in first.output and "Trial" not in first.output  # no Optuna log with a traceback
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "FAIL"]
    interrupted = study.trials[1].params
    again = run(*command)
    assert again.exit_code == 0, again.output
    study = optuna.load_study(study_name="t", storage=f"sqlite:///{tmp_path / 'study.db'}")
    states = [t.state.name for t in study.trials]
    assert states == ["COMPLETE", "FAIL", "COMPLETE", "COMPLETE"]  # 3 finished: the study went on, not over
    assert study.trials[2].params == interrupted  # the interrupted trial's values were tried again first
    lines = [line for line in again.output.splitlines() if line.startswith("trial ")]
    assert len(lines) == 2 and "done 3/3" in lines[-1]  # one line per trial when not on a terminal
    changed = run(*[c if c != "hidden_size=int:2..6" else "hidden_size=int:2..8" for c in command])
    assert changed.exit_code == 1 and "was started with other options (space)" in changed.output


def test_two_processes_share_one_journal_study_and_finish_its_trials_together(tmp_path):
    journal = tmp_path / "shared.journal"
    command = [sys.executable, "-m", "seqkit", "tune", *SMALL, "--epochs", "1", "--param", "lr=float:1e-3..1e-2:log",
               "--trials", "6", "--no-final", "--storage", str(journal), "--study-name", "shared"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    workers_ = [subprocess.Popen([*command, "--run-dir", str(tmp_path / f"w{i}")], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for i in range(2)]
    outputs = [w.communicate(timeout=600)[0] for w in workers_]
    assert [w.returncode for w in workers_] == [0, 0], outputs
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    study = optuna.load_study(study_name="shared", storage=JournalStorage(JournalFileBackend(str(journal))))
    trials = study.trials
    assert {t.state.name for t in trials} == {"COMPLETE"}  # none failed, none left running
    assert 6 <= len(trials) <= 7  # two workers may each start the last one: at most one over
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(len(trials)))  # no trial lost, none run twice
    folders = sorted(p.name for w in (tmp_path / "w0", tmp_path / "w1") for p in w.glob("trial-*"))
    assert folders == sorted(f"trial-{n:04d}" for n in numbers)  # each trial ran in one process only
    workers = {t.user_attrs["worker"] for t in trials}  # which process ran it (one may start late on a busy machine)
    assert workers <= {f"{os.uname().nodename}:{w.pid}" for w in workers_} and all("study shared" in o for o in outputs)


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_shows_trials_done_and_the_best_so_far(terminal):
    import io

    from seqkit.training.progress import TrialLog

    class Stream(io.StringIO):
        def isatty(self):
            return terminal

    stream = Stream()
    study = optuna.create_study(direction="maximize")
    with TrialLog(True, 3, "accuracy", stream) as log:
        study.optimize(lambda t: t.suggest_float("lr", 0.0, 1.0), n_trials=3, callbacks=[log])
    text = stream.getvalue()
    best = f"best {study.best_value:.4f} (trial {study.best_trial.number})"
    assert "done 3/3" in text and best in text
    assert len(re.findall(r"trial \d  done \d/3", text)) == 3  # one line per trial, under the bar too
    assert ("3/3" in text.replace("done 3/3", "")) == terminal  # the bar's own count, on a terminal only
