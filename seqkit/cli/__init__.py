"""The ``seqkit`` command: a thin layer over the Python API (parse options, call, print).

Commands live in models.py (plugins, export, verify), training.py (train, evaluate) and diagnose.py.
"""
from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from .. import __version__
from ..errors import SeqkitError, VerificationError

out = Console(highlight=False, soft_wrap=True)


class SeqkitGroup(click.Group):
    """Turns :class:`SeqkitError` into one line on stderr and exit code 1, without a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except VerificationError as exc:
            if exc.report is not None and not ctx.meta.get("json"):
                print_report(exc.report)
            raise click.ClickException(str(exc)) from None
        except SeqkitError as exc:
            raise click.ClickException(str(exc)) from None


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


def print_report(report) -> None:
    table = Table(title=f"verification on {', '.join(report.providers_used)}"
                  + (f" (atol {report.atol:g}, rtol {report.rtol:g})" if report.atol is not None else ""))
    for col in ("batch", "time", "output", "max abs err", "max rel err", "ok"):
        table.add_column(col, justify="right" if col not in ("output", "ok") else "left")
    for c in report.checks:
        table.add_row(str(c.batch), str(c.time), c.output, f"{c.max_abs:.2e}", f"{c.max_rel:.2e}",
                      ("ok" if c.ok else "FAIL " + c.note))
    out.print(table)
    for problem in report.problems:
        out.print(f"[red]problem:[/red] {problem}")


@click.group(cls=SeqkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="seqkit")
def cli():
    """seqkit: recurrent sequence models from pluggable cells and tasks, exported to verified ONNX.

    \b
    Examples:
      seqkit plugins                     list cells and tasks, and where they come from
      seqkit export --cell gru           write gru-classification.onnx and verify it
      seqkit verify gru-classification.onnx
      seqkit train --data basic-motions --cell lstm --run-dir runs/bm
      seqkit evaluate runs/bm --data basic-motions
      seqkit export runs/bm -o bm.onnx
      seqkit diagnose gradients --cell rnn,lstm,gru
    """


def positive(ctx, param, value):
    if value is not None and value <= 0:
        raise click.BadParameter("must be > 0")
    return value


def metrics_table(title: str, metrics: dict, baseline: dict) -> Table:
    table = Table(title=title)
    for col in ("metric", "model", "baseline"):
        table.add_column(col, justify="left" if col == "metric" else "right")
    for name, value in metrics.items():
        if isinstance(value, float):
            table.add_row(name, f"{value:.4f}", f"{baseline[name]:.4f}" if name in baseline else "-")
    return table


def main(argv=None):
    cli.main(args=argv, prog_name="seqkit")


# the commands register themselves on `cli`
from . import diagnose, models, training  # noqa: E402,F401
