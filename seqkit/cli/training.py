"""seqkit train / evaluate."""
from __future__ import annotations

import json

import click

from seqkit.cli.common import (
    cell_config,
    json_option,
    lead_time_table,
    metrics_table,
    model_options,
    out,
    parse_options,
    per_class_table,
    positive,
    train_default,
)
from seqkit.training.config import TrainConfig


@click.command()
@model_options()
@click.option("--data", required=True, help="Built-in dataset name (e.g. basic-motions, fortunes) or a data file.")
@click.option("--val-data", default=None, help="Validation data [default: --val-fraction of --data, seeded].")
@click.option("--epochs", type=int, default=train_default("epochs"), show_default=True, callback=positive)
@click.option("--batch-size", type=int, default=train_default("batch_size"), show_default=True, callback=positive)
@click.option("--lr", type=float, default=train_default("lr"), show_default=True, help="AdamW learning rate.")
@click.option("--clip-norm", type=float, default=train_default("clip_norm"), show_default=True,
              help="Gradient norm clipping; 0 disables.")
@click.option("--patience", type=int, default=train_default("patience"), show_default=True,
              help="Stop after this many epochs without a better validation metric; 0 disables.")
@click.option("--val-fraction", type=float, default=train_default("val_fraction"), show_default=True)
@click.option("--weight-decay", type=float, default=train_default("weight_decay"), show_default=True)
@click.option("--seed", type=int, default=train_default("seed"), show_default=True,
              help="Seed for weights, split and shuffling.")
@click.option("--device", default=train_default("device"), show_default=True, help="cpu, cuda or cuda:N.")
@click.option("--run-dir", type=click.Path(file_okay=False), default=None,
              help="Where the run is written [default: runs/CELL-TASK-TIMESTAMP].")
@click.option("--resume", is_flag=True, help="Continue the run in --run-dir from its checkpoint (same options).")
@click.option("--no-progress", is_flag=True, help="No progress bar (it is off anyway when stderr is not a terminal).")
@json_option("Print the result as JSON.")
def train(cell, task, hidden_size, num_layers, bidirectional, dropout, cell_options, task_options, data, val_data,
          epochs, batch_size, lr, clip_norm, patience, val_fraction, weight_decay, seed, device, run_dir, resume,
          no_progress, as_json):
    """Fit the task's preprocessing on --data, train CELL on it and write a run directory.

    The run directory holds config.json, weights.safetensors (best validation epoch), metrics.json/.csv,
    curves.png and checkpoint.pt (for --resume). See docs/training.md.

    \b
    Examples:
      seqkit train --task classification --cell gru --data basic-motions --epochs 30 --run-dir runs/bm
      seqkit train --data reviews.csv -T text_column=review -T label_column=stars --hidden-size 64
      seqkit train --data basic-motions --epochs 60 --run-dir runs/bm --resume
    """
    from seqkit.training import prepare
    from seqkit.training import train as do_train

    config = cell_config(hidden_size, num_layers, bidirectional, dropout, cell_options)
    prepared = prepare(cell, task, data, config, parse_options(task_options, "task"), seed=seed, val_data=val_data,
                       val_fraction=val_fraction)
    result = do_train(prepared.composition, prepared.train_data, prepared.val_data,
                      TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, clip_norm=clip_norm, patience=patience,
                                  val_fraction=val_fraction, seed=seed, device=device, progress=not no_progress,
                                  weight_decay=weight_decay), run_dir=run_dir, resume=resume)
    if as_json:
        click.echo(json.dumps({"run_dir": str(result.run_dir), "best_epoch": result.best_epoch,
                               "metrics": result.metrics, "baseline": result.baseline,
                               "stopped_early": result.stopped_early, "history": result.history}, indent=2))
        return
    out.print(metrics_table(f"validation, best epoch {result.best_epoch} of {len(result.history)}"
                            + (" (stopped early)" if result.stopped_early else ""), result.metrics, result.baseline))
    out.print(f"wrote {result.run_dir}")


@click.command()
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--data", required=True, help="Built-in dataset name or a data file.")
@click.option("--split", default="test", show_default=True, help="Split of a built-in dataset.")
@click.option("--batch-size", type=int, default=None, callback=positive, help="[default: the run's]")
@click.option("--device", default="cpu", show_default=True)
@click.option("--backtest", is_flag=True, help="Forecasting: rolling-origin backtest over the split (see --stride).")
@click.option("--stride", type=int, default=1, show_default=True, callback=positive,
              help="With --backtest: steps between forecast origins.")
@click.option("--no-plots", is_flag=True, help="Write no PNG (forecast-*.png, confusion-*.png) into RUN.")
@json_option("Print the metrics as JSON.")
def evaluate(run, data, split, batch_size, device, backtest, stride, no_plots, as_json):
    """Score the trained model in RUN on --data, next to the task's baselines (majority class, seasonal naive,
    and strong non-recurrent models fitted on the training split: ridge, naive Bayes, linear AR...).

    Also writes a plot of the predictions into RUN (forecast-DATA-SPLIT.png or confusion-DATA-SPLIT.png) and,
    for classification, prints precision and recall per class.

    \b
    Examples:
      seqkit evaluate runs/bm --data basic-motions
      seqkit evaluate runs/reviews --data test.csv --json
      seqkit evaluate runs/sunspots --data sunspots --backtest --stride 4
    """
    from seqkit.training import evaluate as do_evaluate

    if backtest:
        from seqkit.training.evaluation import backtest as do_backtest

        result = do_backtest(run, data, split=split, stride=stride, device=device, plots=not no_plots)
        if as_json:
            click.echo(json.dumps(result, indent=2))
            return
        title = (f"{run} backtest on {data} ({split}): {result['origins']} origins every {stride} step(s), "
                 f"horizon {result['horizon']}; each forecast scored, then averaged")
        model = result["scores"].pop("model")
        out.print(metrics_table(title, model, {}, result["scores"]))
        result["scores"]["model"] = model
        out.print(lead_time_table("MAE by lead time", result["by_lead_time"]))
        for path in result.get("plots", []):
            out.print(f"wrote {path}")
        return
    result = do_evaluate(run, data, split=split, batch_size=batch_size, device=device, plots=not no_plots)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    out.print(metrics_table(f"{run} on {data} ({result['samples']} samples): the model and the baselines", result,
                            result["baseline"], result.get("baselines")))
    if result.get("per_class"):
        out.print(per_class_table("per class", result["per_class"]))
    for path in result.get("plots", []):
        out.print(f"wrote {path}")
