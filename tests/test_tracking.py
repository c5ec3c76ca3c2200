"""seqkit train/tune --log tensorboard|mlflow: what a run logs, read back with each library's own reader."""
import json
import sys

import mlflow
import pytest

SMALL = ["--data", "basic-motions", "--hidden-size", "4", "--epochs", "2", "--batch-size", "16", "--patience", "0",
         "--no-progress"]


def test_train_logs_epochs_hyperparameters_final_metrics_and_curves_to_tensorboard(run, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = run("train", *SMALL, "--log", "tensorboard", "--run-dir", "bm")
    assert result.exit_code == 0, result.output
    events = EventAccumulator(str(tmp_path / "bm" / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2]
    assert [e.step for e in events.Scalars("val/accuracy")] == [1, 2]
    metrics = json.loads((tmp_path / "bm" / "metrics.json").read_text())
    assert events.Scalars("best/accuracy")[0].value == pytest.approx(metrics["best"]["accuracy"])
    ridge = metrics["baselines"]["ridge"]["accuracy"]
    assert events.Scalars("baseline/ridge/accuracy")[0].value == pytest.approx(ridge)
    assert "curves" in tags["images"] and events.Images("curves")[0].width == 900
    assert "params/text_summary" in tags["tensors"]  # the hyperparameters as text
    hparams = EventAccumulator(str(tmp_path / "bm" / "tensorboard" / "hparams"))
    hparams.Reload()
    assert hparams.Scalars("hparam/best/accuracy")[0].value == pytest.approx(metrics["best"]["accuracy"])


def test_train_seeds_log_runs_to_a_local_mlflow_store_read_back_by_search_runs(run, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    result = run("train", *SMALL, "--seeds", "0,1", "--log", "mlflow", "--run-dir", "bm")
    assert result.exit_code == 0, result.output
    mlflow.set_tracking_uri((tmp_path / "bm-seed0" / "mlruns").as_uri())
    runs = mlflow.search_runs(experiment_names=["bm"], output_format="list")
    assert [r.info.run_name for r in runs] == ["bm-seed0"] and runs[0].info.status == "FINISHED"
    data = runs[0].data
    assert data.params["cell_config/hidden_size"] == "4" and data.params["seed"] == "0"
    assert data.params["train/epochs"] == "2" and data.params["task"] == "classification"
    assert {"val_loss", "train_accuracy", "best/accuracy", "baseline/majority/accuracy", "best_epoch"} <= set(
        data.metrics)
    client = mlflow.tracking.MlflowClient()
    assert [m.step for m in client.get_metric_history(runs[0].info.run_id, "val_loss")] == [1, 2]
    assert [a.path for a in client.list_artifacts(runs[0].info.run_id)] == ["curves.png"]


def test_tune_logs_each_trial_as_a_child_run_of_the_study(run, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    result = run("tune", *SMALL, "--epochs", "1", "--param", "hidden_size=int:2..6", "--trials", "2", "--no-final",
                 "--log", "mlflow", "--run-dir", "t")
    assert result.exit_code == 0, result.output
    mlflow.set_tracking_uri((tmp_path / "t" / "mlruns").as_uri())
    runs = {r.info.run_name: r for r in mlflow.search_runs(experiment_names=["t"], output_format="list")}
    assert set(runs) == {"t", "trial-0000", "trial-0001"}
    study = runs["t"].info.run_id
    assert all(runs[f"trial-000{i}"].data.tags["mlflow.parentRunId"] == study for i in range(2))
    assert all(r.info.status == "FINISHED" for r in runs.values())
    assert "val_accuracy" in runs["trial-0000"].data.metrics


@pytest.mark.parametrize("command, module, extra", [
    (["train", *SMALL, "--log", "mlflow"], "mlflow", "mlflow"),
    (["train", *SMALL, "--log", "tensorboard"], "tensorboard", "tensorboard"),
    (["tune", *SMALL, "--param", "lr=float:1e-3..1e-2", "--trials", "1"], "optuna", "tune")])
def test_without_the_extra_the_option_names_it_in_one_line(run, monkeypatch, command, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    result = run(*command)
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {'seqkit tune' if module == 'optuna' else '--log ' + module} needs " \
                                    f"{'Optuna' if module == 'optuna' else module}: pip install 'seqkit[{extra}]'"
