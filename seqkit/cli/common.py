"""What the commands share: option decorators whose defaults come from the API's dataclasses, option parsing,
and the printers (one verification report for export and verify, one metrics table). Nothing heavy is imported
here: the dataclasses are torch-free."""
from __future__ import annotations

import json
from dataclasses import fields

import click

from seqkit.core.config import CellConfig
from seqkit.errors import SeqkitError
from seqkit.runtime.providers import PROVIDERS
from seqkit.training.config import TrainConfig

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


def parse_options(pairs: tuple[str, ...], what: str) -> dict:
    """``("a=1", "b=relu")`` -> ``{"a": 1, "b": "relu"}`` (values parsed as JSON where they can be)."""
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise SeqkitError(f"{what} option {pair!r} is not KEY=VALUE, e.g. nonlinearity=relu")
        try:
            values[key] = json.loads(raw)
        except ValueError:
            values[key] = raw
    return values


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


def print_report(report, columns=("batch", "time", "output", "max abs err", "max rel err", "ok")) -> None:
    """One verification table for export and verify; errors are shown where the report has them."""
    from rich.table import Table

    has_errors = report.atol is not None
    cols = [c for c in columns if has_errors or "err" not in c]
    table = Table(title=f"verification on {', '.join(report.providers_used)}"
                  + (f" (atol {report.atol:g}, rtol {report.rtol:g})" if has_errors else ""))
    for col in cols:
        table.add_column(col, justify="right" if col not in ("output", "ok") else "left")
    for c in report.checks:
        cells = {"batch": str(c.batch), "time": str(c.time), "output": c.output, "max abs err": f"{c.max_abs:.2e}",
                 "max rel err": f"{c.max_rel:.2e}", "ok": "ok" if c.ok else "FAIL " + c.note}
        table.add_row(*(cells[col] for col in cols))
    out.print(table)
    for problem in report.problems:
        out.print(f"[red]problem:[/red] {problem}")


def metrics_table(title: str, metrics: dict, baseline: dict, baselines: dict | None = None):
    """Metrics of the model beside the baseline, or, given ``baselines`` ({name: {metric: value}}), beside each
    named baseline."""
    from rich.table import Table

    columns = baselines if baselines else {"baseline": baseline}
    table = Table(title=title)
    table.add_column("metric", justify="left")
    table.add_column("model", justify="right")
    for col in columns:
        table.add_column(col, justify="right")
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
