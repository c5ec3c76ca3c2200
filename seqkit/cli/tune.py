"""seqkit tune: a search over train's options on Optuna (seqkit.training.tune), then the best setting retrained at
several seeds and scored once on the test split."""
from __future__ import annotations

import json
from pathlib import Path

import click

from seqkit.cli.common import (
    cell_config,
    int_list,
    json_option,
    log_options,
    out,
    parse_options,
    positive,
    run_options,
    summary_table,
)
from seqkit.errors import SeqkitError
from seqkit.training.config import TrainConfig


@click.command()
@run_options
@click.option("--param", "params", multiple=True, metavar="NAME=SPEC",
              help="A searched option: int:LOW..HIGH[:log], float:LOW..HIGH[:log|:step=X] or choice:A,B; NAME is "
                   "a train option (hidden_size, lr, cell...), T.KEY a task option, O.KEY a cell option.")
@click.option("--trials", type=int, default=None, callback=positive,
              help="Finished (complete or pruned) trials the study should hold, over every process.")
@click.option("--timeout", type=float, default=None, callback=positive, help="Stop starting trials after SECONDS.")
@click.option("--metric", default=None,
              help="The validation value to optimise [default: the task's main metric, e.g. accuracy or mae]; "
                   "loss, or another metric of the task with --direction.")
@click.option("--direction", type=click.Choice(("minimize", "maximize")), default=None,
              help="[default: from the metric]")
@click.option("--pruner", type=click.Choice(("median", "hyperband", "none")), default="median", show_default=True,
              help="Stop unpromising trials early from their per-epoch validation values.")
@click.option("--storage", default=None,
              help="Optuna storage shared by several tune processes: an RDB URL (sqlite:///tune.db, "
                   "postgresql://...) or a journal file path [default: RUN_DIR/study.journal].")
@click.option("--study-name", default=None, help="[default: the name of --run-dir]")
@click.option("--seeds", default="0,1,2", show_default=True, callback=int_list, metavar="S,S,...",
              help="Seeds at which the best setting is trained again and scored on test.")
@click.option("--no-final", is_flag=True,
              help="Only search: no retraining, no test score (e.g. for the extra workers of a shared study).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="The tune folder: trial-NNNN run folders, the study, best-trialN-seedS [default: "
                   "runs/tune-TASK-DATA]; the same command again continues its study.")
@click.option("--no-progress", is_flag=True, help="Print nothing while searching.")
@log_options
@json_option("Print the result as JSON.")
def tune(cell, task, hidden_size, num_layers, bidirectional, dropout, cell_options, task_options, data, val_data,
         val_fraction, epochs, batch_size, lr, lr_schedule, plateau_patience, select, clip_norm, patience,
         weight_decay, seed, params, trials, timeout, metric, direction, pruner, storage, study_name, seeds,
         no_final, device, run_dir, no_progress, log, log_uri, as_json):
    """Search train's options on Optuna: every trial is a run folder in the tune folder, chosen on validation data
    only (pruned early when unpromising); then the best setting is trained again at --seeds and scored once on
    the test split, mean +- std next to the baselines. See docs/training.md.

    \b
    Examples:
      seqkit tune --data basic-motions --param hidden_size=int:16..128:log --param lr=float:1e-4..1e-2:log \\
          --param cell=choice:gru,lstm --trials 20 --epochs 30 --run-dir runs/tune-bm
      seqkit tune --task forecasting --data sunspots -T lookback=22 --param T.skip_init=choice:zeros,ridge \\
          --param lr=float:1e-3..1e-2:log --timeout 600
      seqkit tune ... --storage sqlite:///tune.db --no-final      one more worker on the same study
    """
    from seqkit.core.plugins import load_plugins
    from seqkit.training.final import evaluate_once, retrain_best
    from seqkit.training.progress import TrialLog
    from seqkit.training.space import parse_space
    from seqkit.training.tune import Setup, optuna
    from seqkit.training.tune import tune as run_tune

    space = parse_space(params)
    if not space:
        raise SeqkitError("give at least one --param NAME=SPEC to search, e.g. --param lr=float:1e-4..1e-2:log")
    if data is None:
        raise SeqkitError("give --data: a dataset of the task ('seqkit datasets' lists them) or a data file")
    optuna()
    plugins = load_plugins()
    folder = Path(run_dir or f"runs/tune-{task}-{Path(str(data)).name.split('.')[0]}")
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, clip_norm=clip_norm, patience=patience,
                         seed=seed, device=device, progress=False, weight_decay=weight_decay,
                         lr_schedule=lr_schedule, plateau_patience=plateau_patience, select=select)
    config.validate()
    setup = Setup(cell, task, data, cell_config(hidden_size, num_layers, bidirectional, dropout, cell_options),
                  parse_options(task_options, "task"), config, val_data, val_fraction)
    track = _trackers(log, log_uri, folder, study_name or folder.resolve().name)
    from seqkit.training.tune import objective_of

    shown_metric = objective_of(setup, metric, direction, plugins)[0]
    try:
        with TrialLog(not no_progress, trials, shown_metric) as show:
            study = run_tune(setup, space, folder, trials=trials, timeout=timeout, metric=metric,
                             direction=direction, pruner=pruner, storage=storage, study_name=study_name,
                             callbacks=[show], tracker=track, plugins=plugins)
        if track is not None and hasattr(track, "parent"):
            track.parent.status = "FINISHED"
    finally:
        if track is not None and hasattr(track, "parent"):
            track.parent.close()
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    counts = {s.lower(): states.count(s) for s in ("COMPLETE", "PRUNED", "FAIL", "RUNNING") if states.count(s)}
    result = {"study": study.study_name, "run_dir": str(folder), "trials": counts}
    if not no_final:
        best, runs = retrain_best(study, setup, space, folder, seeds, plugins, progress=not no_progress)
        scored = evaluate_once(runs, plugins)
        result.update({"best": {"trial": best.number, "value": best.value, "params": best.params,
                                "metric": shown_metric, "run_dir": best.user_attrs.get("run_dir")},
                       "final": scored})
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    out.print(f"study {study.study_name}: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + f" ({folder})")
    if no_final:
        return
    best = result["best"]
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in best["params"].items())
    out.print(f"best: trial {best['trial']}, validation {shown_metric} {best['value']:.4f}: {shown}")
    for path in scored["runs"]:
        out.print(f"wrote {path}")
    summary = scored["summary"]
    out.print(summary_table(f"test split, the best setting at seeds {','.join(map(str, seeds))}: mean ± std",
                            summary["metrics"], summary["baselines"]))


def _trackers(log: str, uri: str | None, folder: Path, name: str):
    """``tracker(run_dir, name, params)`` for each trial under ``--log``; None for csv. MLflow's trials are children
    of one run named after the study, in one store (default: TUNE_DIR/mlruns)."""
    if log == "csv":
        return None
    from seqkit.training.tracking import check, tracker

    check(log)
    if log == "tensorboard":
        base = uri or str(folder / "tensorboard")
        return lambda run_dir, trial, params: tracker(log, run_dir, trial, params, base)
    folder.mkdir(parents=True, exist_ok=True)
    parent = tracker(log, folder, name, {"study": name}, uri, experiment=name)

    def child(run_dir, trial, params):
        return tracker(log, run_dir, trial, params, parent.uri, experiment=name, parent=parent.run_id)
    child.parent = parent
    return child
