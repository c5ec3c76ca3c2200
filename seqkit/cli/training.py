"""seqkit train / evaluate / datasets."""
from __future__ import annotations

import json

import click

from seqkit.cli.common import (
    cell_config,
    int_list,
    json_option,
    lead_time_table,
    metrics_table,
    model_options,
    nproc_option,
    out,
    parse_options,
    per_class_table,
    positive,
    summary_table,
    train_default,
)
from seqkit.errors import SeqkitError
from seqkit.training.config import LR_SCHEDULES, SELECT, VAL_FRACTION, TrainConfig

#: train's parameters that are not options of the run itself (never compared on --resume)
_NOT_RUN_OPTIONS = ("run_dir", "resume", "as_json", "seeds", "nproc")


@click.command()
@model_options()
@click.option("--data", default=None,
              help="A dataset of --task ('seqkit datasets' lists them) or a data file [with --resume: the run's].")
@click.option("--val-data", default=None,
              help="Validation data: a file, or a dataset name (its val split; the --data dataset itself: "
                   "--val-fraction of it) [default: --val-fraction of --data, seeded, carved before fitting].")
@click.option("--val-fraction", type=float, default=VAL_FRACTION, show_default=True)
@click.option("--epochs", type=int, default=train_default("epochs"), show_default=True, callback=positive)
@click.option("--batch-size", type=int, default=train_default("batch_size"), show_default=True, callback=positive)
@click.option("--lr", type=float, default=train_default("lr"), show_default=True, help="AdamW learning rate.")
@click.option("--lr-schedule", type=click.Choice(LR_SCHEDULES), default=train_default("lr_schedule"),
              show_default=True, help="plateau: halve lr after --plateau-patience epochs without a better score; "
                                      "cosine: lr down to ~0 at the last epoch.")
@click.option("--plateau-patience", type=int, default=train_default("plateau_patience"), show_default=True,
              callback=positive)
@click.option("--select", type=click.Choice(SELECT), default=train_default("select"), show_default=True,
              help="Best epoch: lowest validation loss, or best task metric (accuracy, MAE...); a tie never wins.")
@click.option("--clip-norm", type=float, default=train_default("clip_norm"), show_default=True,
              help="Gradient norm clipping; 0 disables.")
@click.option("--patience", type=int, default=train_default("patience"), show_default=True,
              help="Stop after this many epochs without a strictly better selection score; 0 disables.")
@click.option("--weight-decay", type=float, default=train_default("weight_decay"), show_default=True)
@click.option("--seed", type=int, default=train_default("seed"), show_default=True,
              help="Seed for weights, split and shuffling.")
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
@json_option("Print the result as JSON.")
@nproc_option
@click.pass_context
def train(ctx, cell, task, hidden_size, num_layers, bidirectional, dropout, cell_options, task_options, data,
          val_data, val_fraction, epochs, batch_size, lr, lr_schedule, plateau_patience, select, clip_norm, patience,
          weight_decay, seed, seeds, device, run_dir, resume, no_progress, as_json):
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
        if seeds:
            results = train_seeds(cell, task, data, seeds, config, options, how, run_dir, val_data=val_data,
                                  val_fraction=val_fraction)
        else:
            prepared = prepare(cell, task, data, config, options, seed=seed, val_data=val_data,
                               val_fraction=val_fraction)
            results = [do_train(prepared.composition, prepared.train_data, prepared.val_data, how, run_dir=run_dir,
                                sources=prepared.sources)]
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
    each task reads. 'seqkit train --data NAME' takes a name from here, with its --task.

    \b
    Examples:
      seqkit datasets
      seqkit datasets --task forecasting --json
    """
    from rich.table import Table

    from seqkit.core.plugins import load_plugins
    from seqkit.training import dataset_table

    rows = dataset_table(load_plugins(), task)
    if as_json:
        click.echo(json.dumps({"datasets": rows}, indent=2))
        return
    table = Table(title="datasets (seqkit train --task TASK --data DATASET)")
    for col in ("task", "dataset", "splits", "description"):
        table.add_column(col)
    for row in rows:
        table.add_row(row["task"], row["name"], ", ".join(row["splits"]) or "-",
                      row.get("problem") and f"[red]problem:[/red] {row['problem']}" or row["description"])
    out.print(table)
    files = {row["task"]: row["files"] for row in rows if row.get("files")}
    for name, what in files.items():
        out.print(f"[bold]{name}[/bold] also reads {what}")
