"""What the commands share: option decorators whose defaults come from the API's dataclasses, option parsing,
and the printers (one verification report for export and verify, one metrics table). Nothing heavy is imported
here: the dataclasses are torch-free."""
from __future__ import annotations

from dataclasses import fields

import click

from seqkit.core.config import CellConfig
from seqkit.core.options import TextOptions, parse_pairs
from seqkit.errors import SeqkitError
from seqkit.runtime.providers import PROVIDERS
from seqkit.training.config import LR_SCHEDULES, SELECT, VAL_FRACTION, TrainConfig

_CELL = {f.name: f.default for f in fields(CellConfig) if f.name != "options"}
_TRAIN = {f.name: f.default for f in fields(TrainConfig)}


class _Console:
    """rich's console, imported on first use (it costs ~0.1 s that --help need not pay)."""

    _console = None

    def __getattr__(self, name):
        if _Console._console is None:
            from rich.console import Console

            _Console._console = Console(highlight=False, soft_wrap=True)
        return getattr(_Console._console, name)


out = _Console()


def positive(ctx, param, value):
    if value is not None and value <= 0:
        raise click.BadParameter("must be > 0")
    return value


def non_negative(ctx, param, value):
    if value is not None and not value >= 0:
        raise click.BadParameter("must be >= 0")
    return value


def parse_options(pairs: tuple[str, ...], what: str) -> TextOptions:
    """``("a=1", "b=relu")`` -> ``{"a": 1, "b": "relu"}`` with each value's text kept: the task or cell parses it
    by the declared type of the option (so ``labels=abc`` is one label, ``num_classes=2.5`` is refused)."""
    return parse_pairs(pairs, what)


def _stack(*decorators):
    def apply(fn):
        for d in reversed(decorators):
            fn = d(fn)
        return fn
    return apply


def model_options(cell_help: str = "Registered cell name (see 'seqkit plugins')."):
    """--cell --task --hidden-size --num-layers --bidirectional --dropout -O -T, defaults from CellConfig."""
    return _stack(
        click.option("--cell", default="gru", show_default=True, help=cell_help),
        click.option("--task", default="classification", show_default=True, help="Registered task name."),
        click.option("--hidden-size", type=int, default=_CELL["hidden_size"], show_default=True, callback=positive),
        click.option("--num-layers", type=int, default=_CELL["num_layers"], show_default=True, callback=positive),
        click.option("--bidirectional/--unidirectional", default=_CELL["bidirectional"], show_default=True),
        click.option("--dropout", type=float, default=_CELL["dropout"], show_default=True,
                     help="Between layers, in training only."),
        click.option("-O", "--cell-option", "cell_options", multiple=True, metavar="KEY=VALUE",
                     help="Cell-specific option, e.g. -O nonlinearity=relu (rnn) or -O forget_bias=1.0 (lstm)."),
        click.option("-T", "--task-option", "task_options", multiple=True, metavar="KEY=VALUE",
                     help="Task option, e.g. -T num_classes=5 -T pooling=mean."),
    )


def cell_config(hidden_size, num_layers, bidirectional, dropout, cell_options) -> CellConfig:
    return CellConfig(hidden_size, num_layers, bidirectional, dropout, parse_options(cell_options, "cell"))


def provider_option(help: str = "onnxruntime execution provider; never silently another."):
    return click.option("--provider", type=click.Choice(sorted(PROVIDERS)), default="cpu", show_default=True,
                        help=help)


def json_option(help: str = "Print machine-readable JSON."):
    return click.option("--json", "as_json", is_flag=True, help=help)


def train_default(name: str):
    """TrainConfig's default for ``name`` (0 where the dataclass says None: 'off')."""
    value = _TRAIN[name]
    return 0 if value is None else value


#: the options of a run that `seqkit train` and `seqkit tune` share: model, data, training
run_options = _stack(
    model_options(),
    click.option("--data", default=None,
                 help="A dataset of --task ('seqkit datasets' lists them) or a data file [train --resume: the run's]."),
    click.option("--val-data", default=None,
                 help="Validation data: a file, or a dataset name (its val split; the --data dataset itself: "
                      "--val-fraction of it) [default: --val-fraction of --data, seeded, carved before fitting]."),
    click.option("--val-fraction", type=float, default=VAL_FRACTION, show_default=True),
    click.option("--epochs", type=int, default=train_default("epochs"), show_default=True, callback=positive),
    click.option("--batch-size", type=int, default=train_default("batch_size"), show_default=True,
                 callback=positive),
    click.option("--lr", type=float, default=train_default("lr"), show_default=True, help="AdamW learning rate."),
    click.option("--lr-schedule", type=click.Choice(LR_SCHEDULES), default=train_default("lr_schedule"),
                 show_default=True, help="plateau: halve lr after --plateau-patience epochs without a better "
                                         "score; cosine: lr down to ~0 at the last epoch."),
    click.option("--plateau-patience", type=int, default=train_default("plateau_patience"), show_default=True,
                 callback=positive),
    click.option("--select", type=click.Choice(SELECT), default=train_default("select"), show_default=True,
                 help="Best epoch: lowest validation loss, or best task metric (accuracy, MAE...); a tie never "
                      "wins."),
    click.option("--clip-norm", type=float, default=train_default("clip_norm"), show_default=True,
                 help="Gradient norm clipping; 0 disables."),
    click.option("--patience", type=int, default=train_default("patience"), show_default=True,
                 help="Stop after this many epochs without a strictly better selection score; 0 disables."),
    click.option("--weight-decay", type=float, default=train_default("weight_decay"), show_default=True),
    click.option("--seed", type=int, default=train_default("seed"), show_default=True,
                 help="Seed for weights, split and shuffling."),
)

#: --log / --log-uri: where a run is logged besides its folder (seqkit.training.tracking)
log_options = _stack(
    click.option("--log", "log", type=click.Choice(("csv", "tensorboard", "mlflow")), default="csv",
                 show_default=True, help="Also log each run to TensorBoard or MLflow (per-epoch scalars, "
                                         "hyperparameters, final metrics and baselines, PNGs); csv: only the run "
                                         "folder's metrics.csv."),
    click.option("--log-uri", default=None,
                 help="TensorBoard: a log folder [RUN/tensorboard]; MLflow: a tracking URI such as "
                      "http://host:5000 or sqlite:///mlflow.db [a file store in RUN/mlruns]."),
)


def print_report(report, columns=("runtime", "batch", "time", "output", "max abs err", "max rel err", "ok")) -> None:
    """One verification table for export and verify; errors are shown where the report has them, the runtime
    column where a second runtime (onnx.reference) ran."""
    from rich.markup import escape
    from rich.table import Table

    has_errors = report.atol is not None
    two_runtimes = any(c.runtime != "onnxruntime" for c in report.checks)
    cols = [c for c in columns if (has_errors or "err" not in c) and (two_runtimes or c != "runtime")]
    title = f"verification on {', '.join(report.providers_used)}" + (" and onnx.reference" if two_runtimes else "")
    table = Table(title=title + (f" (atol {report.atol:g}, rtol {report.rtol:g})" if has_errors else ""))
    for col in cols:
        table.add_column(col, justify="right" if col not in ("runtime", "output", "ok") else "left")

    def number(x):
        return "-" if x != x else f"{x:.2e}"  # NaN: nothing compared

    for c in report.checks:
        cells = {"runtime": c.runtime, "batch": str(c.batch), "time": str(c.time), "output": c.output,
                 "max abs err": number(c.max_abs), "max rel err": number(c.max_rel),
                 "ok": escape(("ok" + (" " + c.note if c.note else "")) if c.ok else "FAIL " + c.note)}
        table.add_row(*(cells[col] for col in cols))
    out.print(table)
    for problem in report.problems:
        out.print(f"[red]problem:[/red] {escape(problem)}")


def int_list(ctx, param, value):
    """Click callback: ``"0,1,2"`` -> ``[0, 1, 2]`` (None stays None)."""
    if value is None:
        return None
    try:
        return [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of integers, e.g. 0,1,2") from None


def metrics_table(title: str, metrics: dict, baseline: dict, baselines: dict | None = None):
    """Metric rows; a column for the model and one per baseline (``baselines`` {name: {metric: value}}, else the
    single ``baseline`` column)."""
    from rich.table import Table

    columns = baselines if baselines else {"baseline": baseline}
    table = Table(title=title)
    for col in ("metric", "model", *columns):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, value in metrics.items():
        if isinstance(value, float):
            table.add_row(name, f"{value:.4f}", *(f"{b[name]:.4f}" if name in b else "-" for b in columns.values()))
    return table


def per_class_table(title: str, per_class: dict):
    """Precision, recall, F1 and support per class (``task.report``'s ``per_class``)."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("class", "precision", "recall", "f1", "support"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for label, s in per_class.items():
        table.add_row(label, f"{s['precision']:.3f}", f"{s['recall']:.3f}", f"{s['f1']:.3f}", str(s["support"]))
    return table


def lead_time_table(title: str, by_lead_time: dict, metric: str = "mae"):
    """A backtest's ``metric`` per lead time (rows) for the model and each baseline (columns)."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("steps ahead", justify="right")
    for name in by_lead_time:
        table.add_column(name, justify="right")
    steps = len(next(iter(by_lead_time.values()))[metric]) if by_lead_time else 0
    for h in range(steps):
        table.add_row(str(h + 1), *(f"{v[metric][h]:.4f}" for v in by_lead_time.values()))
    return table


def summary_table(title: str, summary: dict, baselines: dict[str, dict] | None = None):
    """Mean +- sample std per metric over several runs (``seqkit.training.mean_std``), model and baselines."""
    from rich.table import Table

    def cell(stats, name):
        return f"{stats[name]['mean']:.4f} ± {stats[name]['std']:.4f}" if name in stats else "-"

    baselines = baselines or {}
    table = Table(title=title)
    for col in ("metric", "model", *baselines):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name in summary:
        table.add_row(name, cell(summary, name), *(cell(b, name) for b in baselines.values()))
    return table


def nproc_option(fn):
    """``--nproc N`` for a command that trains: N > 1 runs the same command in N processes on this machine
    (seqkit.training.launch.launch: torch's elastic launcher, DistributedDataParallel over loopback).
    In a process of such a job (or of torchrun's) the command runs inside the joined process group; only rank 0
    prints, and under --nproc an error is printed once, by the launcher."""
    import contextlib
    import functools
    import os

    @click.option("--nproc", type=int, default=1, show_default=True, callback=positive,
                  help="Train in N processes on this machine (DistributedDataParallel; --batch-size stays the "
                       "global batch). Several machines: torchrun, see docs/training.md.")
    @functools.wraps(fn)
    def command(*args, nproc, **kwargs):
        from seqkit.training.distributed import join, world_from_env
        from seqkit.training.launch import launch, record_failure

        ctx = click.get_current_context()
        if nproc > 1:
            given = {k: v for k, v in kwargs.items()
                     if ctx.get_parameter_source(k) != click.core.ParameterSource.DEFAULT}
            launch(nproc, [ctx.info_name or "train", *_as_arguments(ctx.command, given)])
            return None
        try:
            world = world_from_env()
            with join(kwargs.get("device") or "cpu") if world.size > 1 else contextlib.nullcontext():
                if world.main:
                    return fn(*args, **kwargs)
                with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                    return fn(*args, **kwargs)
        except SeqkitError as exc:
            if record_failure(exc):
                raise SystemExit(1) from None
            raise
    return command


def _as_arguments(command: click.Command, values: dict) -> list[str]:
    """Command-line arguments that give ``command`` the option ``values`` again (click's parsed values)."""
    args: list[str] = []
    for param in command.params:
        if not isinstance(param, click.Option) or param.name not in values or values[param.name] is None:
            continue
        value, name = values[param.name], max(param.opts, key=len)
        if param.is_flag and param.secondary_opts:
            args.append(name if value else max(param.secondary_opts, key=len))
        elif param.is_flag:
            args += [name] if value else []
        elif param.multiple:
            for item in value:
                args += [name, str(item)]
        elif isinstance(value, (list, tuple)):  # a list option parsed by a callback, e.g. --seeds 0,1,2
            args += [name, ",".join(map(str, value))]
        else:
            args += [name, str(value)]
    return args
