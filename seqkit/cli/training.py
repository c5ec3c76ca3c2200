"""seqkit train / evaluate / datasets."""
from __future__ import annotations

import json
from pathlib import Path

import click

from seqkit.cli.common import (
    cell_config,
    int_list,
    json_option,
    lead_time_table,
    log_options,
    metrics_table,
    nproc_option,
    out,
    parse_options,
    per_class_table,
    positive,
    run_options,
    summary_table,
    train_default,
)
from seqkit.errors import SeqkitError
from seqkit.training.config import TrainConfig

#: train's parameters that are not options of the run itself (never compared on --resume)
_NOT_RUN_OPTIONS = ("run_dir", "resume", "as_json", "seeds", "nproc", "log", "log_uri")


@click.command()
@run_options
@click.option("--seeds", default=None, callback=int_list, metavar="S,S,...",
              help="One run per seed (run folders RUN_DIR-seedS) and the mean +- std of their metrics.")
@click.option("--device", default=train_default("device"), show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="Where the run is written [default: runs/CELL-TASK-TIMESTAMP].")
@click.option("--resume", is_flag=True,
              help="Continue the run in --run-dir with its recorded model, data and options; --epochs, --patience, "
                   "--lr, --lr-schedule and --device may change (recorded in config.json).")
@click.option("--no-progress", is_flag=True,
              help="Print nothing while training (default: a bar on a terminal, else one line per epoch).")
@log_options
@json_option("Print the result as JSON.")
@nproc_option
@click.pass_context
def train(ctx, cell, task, hidden_size, num_layers, bidirectional, dropout, cell_options, task_options, data,
          val_data, val_fraction, epochs, batch_size, lr, lr_schedule, plateau_patience, select, clip_norm, patience,
          weight_decay, seed, seeds, device, run_dir, resume, no_progress, log, log_uri, as_json):
    """Fit the task's preprocessing on --data, train CELL on it and write a run directory.

    The run directory holds config.json (model, options and the data it came from), weights.safetensors (best
    epoch), metrics.json/.csv, curves.png and checkpoint.pt (for --resume). See docs/training.md.

    \b
    Examples:
      seqkit train --task classification --cell gru --data basic-motions --epochs 30 --run-dir runs/bm
      seqkit train --data reviews.csv -T text_column=review -T label_column=stars --hidden-size 64
      seqkit train --resume --run-dir runs/bm --epochs 60
      seqkit train --data basic-motions --seeds 0,1,2 --run-dir runs/bm      runs/bm-seed0 ... and mean +- std
      seqkit train --data shards/ --nproc 4 --batch-size 64 --run-dir runs/big   4 processes (DDP)
    """
    from seqkit.training import prepare, resume_seeds, train_seeds
    from seqkit.training import resume as resume_run
    from seqkit.training import train as do_train
    from seqkit.training.seeds import check_seeds

    given = {name for name in ctx.params if name not in _NOT_RUN_OPTIONS
             and ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT}
    if seeds is not None:
        check_seeds(seeds)
    if seeds and "seed" in given:
        raise SeqkitError("give --seed or --seeds, not both")
    if log != "csv":
        from seqkit.training.tracking import check

        check(log)
        if resume:
            raise SeqkitError(f"--log {log} logs new runs; resume without it (the run folder's metrics.csv "
                              f"continues)")
    if resume:
        if not run_dir:
            raise SeqkitError("--resume needs --run-dir RUN: the run folder to continue")
        changes = {_option(name): _value(name, ctx.params[name]) for name in given}
        results = resume_seeds(run_dir, seeds, changes) if seeds else [resume_run(run_dir, changes)]
    else:
        if data is None:
            raise SeqkitError("give --data: a dataset of the task ('seqkit datasets' lists them) or a data file")
        config = cell_config(hidden_size, num_layers, bidirectional, dropout, cell_options)
        options = parse_options(task_options, "task")
        how = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, clip_norm=clip_norm, patience=patience,
                          seed=seed, device=device, progress=not no_progress, weight_decay=weight_decay,
                          lr_schedule=lr_schedule, plateau_patience=plateau_patience, select=select)
        track = None
        if log != "csv":
            from seqkit.training.runs import default_run_dir
            from seqkit.training.tracking import describe_run, tracker

            run_dir = run_dir or default_run_dir(cell, task)
            params = describe_run(cell, task, data, config, options, how, val_data, val_fraction)
            extra = {"experiment": Path(run_dir).name} if log == "mlflow" else {}

            def track(folder, s):
                return tracker(log, folder, Path(folder).name, {**params, "seed": s}, log_uri, **extra)
        if seeds:
            results = train_seeds(cell, task, data, seeds, config, options, how, run_dir, val_data=val_data,
                                  val_fraction=val_fraction, track=track)
        else:
            from seqkit.training.tracking import tracked

            prepared = prepare(cell, task, data, config, options, seed=seed, val_data=val_data,
                               val_fraction=val_fraction)
            results = [tracked(track and track(run_dir, seed), lambda on_epoch: do_train(
                prepared.composition, prepared.train_data, prepared.val_data, how, run_dir=run_dir,
                sources=prepared.sources, on_epoch=on_epoch))]
    _print_trained(results, several=bool(seeds), as_json=as_json)


def _option(name: str) -> str:
    return "progress" if name == "no_progress" else name


def _value(name: str, value):
    if name == "no_progress":
        return not value
    if name in ("cell_options", "task_options"):
        return parse_options(value, name[:4])
    return value


def _print_trained(results, several: bool, as_json: bool) -> None:
    from seqkit.training import summarize

    if not several:
        result = results[0]
        if as_json:
            click.echo(json.dumps(result.to_dict(), indent=2))
            return
        split = "validation" if result.selected_on.split()[-1].startswith("val_") else "training data"
        out.print(metrics_table(f"{split}, best epoch {result.best_epoch} of {len(result.history)}"
                                + (" (stopped early)" if result.stopped_early else "")
                                + f", selected on {result.selected_on}", result.metrics, result.baseline,
                                result.baselines))
        out.print(f"wrote {result.run_dir}")
        return
    summary = summarize([r.metrics for r in results], [r.baselines for r in results])
    if as_json:
        click.echo(json.dumps({"runs": [r.to_dict() for r in results], "mean_std": summary}, indent=2))
        return
    for r in results:
        out.print(f"{r.run_dir}: best epoch {r.best_epoch} of {len(r.history)}, selected on {r.selected_on}")
    out.print(summary_table(f"validation, mean ± std over {len(results)} seeds", summary["metrics"],
                            summary["baselines"]))


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--data", default=None,
              help="Dataset name or data file [default: the test split of the data the run was trained on].")
@click.option("--split", default="test", show_default=True, help="Split of a named dataset (or of a file that has "
                                                                   "splits, as forecasting's do).")
@click.option("--batch-size", type=int, default=None, callback=positive, help="[default: the run's]")
@click.option("--device", default="cpu", show_default=True)
@click.option("--backtest", is_flag=True, help="Forecasting: rolling-origin backtest over the split (see --stride).")
@click.option("--stride", type=int, default=1, show_default=True, callback=positive,
              help="With --backtest: steps between forecast origins.")
@click.option("--no-plots", is_flag=True, help="Write no PNG (forecast-*.png, confusion-*.png) into RUN.")
@json_option("Print the metrics as JSON.")
def evaluate(runs, data, split, batch_size, device, backtest, stride, no_plots, as_json):
    """Score the trained model in RUN next to the task's baselines (e.g. the majority class).

    Without --data, RUN's config.json says what to score: the test split of the data it was trained on. Several
    RUNs (e.g. the runs of 'seqkit train --seeds') are reported one by one and as mean ± std. Baselines: the weak
    one (majority class, seasonal naive) and strong non-recurrent models fitted on the training split only (ridge,
    naive Bayes, linear AR, drift). A plot of the predictions goes into RUN (forecast-*.png or confusion-*.png)
    and classification prints precision and recall per class.

    \b
    Examples:
      seqkit evaluate runs/bm
      seqkit evaluate runs/reviews --data test.csv --json
      seqkit evaluate runs/bm-seed0 runs/bm-seed1 runs/bm-seed2
      seqkit evaluate runs/sunspots --data sunspots --backtest --stride 4
    """
    from seqkit.training import evaluate as do_evaluate
    from seqkit.training import summarize

    if backtest:
        if len(runs) != 1:
            raise SeqkitError(f"--backtest scores one run; give one RUN, not {len(runs)}")
        _print_backtest(runs[0], data, split, stride, device, no_plots, as_json)
        return
    results = [do_evaluate(run, data, split=split, batch_size=batch_size, device=device, plots=not no_plots)
               for run in runs]
    if len(runs) == 1:
        result = results[0]
        if as_json:
            click.echo(json.dumps(result, indent=2))
            return
        out.print(metrics_table(f"{runs[0]} on {_source(result)}, {result['samples']} samples: the model and the "
                                f"baselines", result, result["baseline"], result["baselines"]))
        if result.get("per_class"):
            out.print(per_class_table("per class", result["per_class"]))
        for name, signature in (result.get("signatures") or {}).items():  # sacrebleu's (translation)
            out.print(f"{name} signature: {signature}")
        for note in result.get("notes", []):
            out.print(note)
        for path in result.get("plots", []):
            out.print(f"wrote {path}")
        return
    summary = summarize([{k: v for k, v in r.items() if k != "samples"} for r in results],
                        [r["baselines"] for r in results])
    if as_json:
        click.echo(json.dumps({"runs": [{"run": run, **r} for run, r in zip(runs, results)], "mean_std": summary},
                              indent=2))
        return
    for run, r in zip(runs, results):
        values = ", ".join(f"{k} {v:.4f}" for k, v in r.items() if isinstance(v, float))
        out.print(f"{run} on {_source(r)}: {values}")
    out.print(summary_table(f"mean ± std over {len(runs)} runs", summary["metrics"], summary["baselines"]))


def _print_backtest(run, data, split, stride, device, no_plots, as_json) -> None:
    from seqkit.training.evaluation import backtest as do_backtest

    result = do_backtest(run, data, split=split, stride=stride, device=device, plots=not no_plots)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    split = result.get("data", {}).get("split", split)  # without --data: the split the run records
    title = (f"{run} backtest on {result.get('source', data)} ({split}): {result['origins']} origins every "
             f"{stride} step(s), horizon {result['horizon']}; each forecast scored, then averaged")
    if "first_origin_time" in result:
        title += f"; first forecasts {result['first_origin_time']} .. {result['last_origin_time']}"
    model = result["scores"].pop("model")
    out.print(metrics_table(title, model, {}, result["scores"]))
    result["scores"]["model"] = model
    out.print(lead_time_table("MAE by lead time", result["by_lead_time"]))
    for path in result.get("plots", []):
        out.print(f"wrote {path}")


def _source(result: dict) -> str:
    data = result.get("data", {})
    if "source" not in data:
        return "the given samples"
    return f"{data['source']} ({data['split']} split)"
@click.command()
@click.option("--task", default=None, help="Only this task's datasets.")
@json_option("Print the datasets as JSON.")
def datasets(task, as_json):
    """List each task's built-in datasets (Task.datasets(): no network needed), their splits, and which files
    each task reads. 'seqkit train --data NAME' takes a name from here, with its --task; a dataset marked 'not
    shipped' says where to download it (then give the downloaded folder or file as --data).

    \b
    Examples:
      seqkit datasets
      seqkit datasets --task forecasting --json
    """
    from seqkit.cli.listing import print_listing
    from seqkit.core.plugins import load_plugins
    from seqkit.training import dataset_table

    rows = dataset_table(load_plugins(), task)
    if as_json:
        click.echo(json.dumps({"datasets": rows}, indent=2))
        return
    shown = [{**row, "dataset": row["name"], "splits": ", ".join(row["splits"]) or "-",
              "description": f"problem: {row['problem']}" if row.get("problem") else
              row["description"] + (" (not shipped: see below)" if row.get("download") else "")}
             for row in rows]
    notes = [f"{row['name']} (task {row['task']}) is not shipped with seqkit: {row['download']}"
             for row in rows if row.get("download")]
    files = {r["task"]: r["files"] for r in rows if r.get("files")}
    print_listing("datasets (seqkit train --task TASK --data DATASET)", ("task", "dataset", "splits"), shown,
                  "description", lambda r: f"{r['task']} {r['dataset']}  (splits: {r['splits']})",
                  [*notes, *(f"{name} also reads {what}" for name, what in files.items())])
