"""The ``seqkit`` command: a thin layer over the Python API (parse options, call, print)."""
from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from . import __version__
from .cell import CellConfig
from .errors import SeqkitError, VerificationError
from .export import DEFAULT_OPSET
from .runtime import PROVIDERS

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
    """


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json):
    """List registered cells and tasks with the plugin and distribution each comes from.

    Plugins that failed to load are listed under "problems". Set SEQKIT_DISABLE_PLUGINS=name1,name2 to skip
    plugins by name.

    \b
    Example:
      seqkit plugins --json
    """
    from .plugins import load_plugins

    loaded = load_plugins()
    rows = [{"kind": reg.kind, "name": e.name, "plugin": e.source.plugin, "distribution": e.source.distribution,
             "version": e.source.version, "description": e.description}
            for reg in (loaded.cells, loaded.tasks) for e in (reg.entries[n] for n in reg.names())]
    conflicts = [f"{reg.kind} '{name}' claimed by {' and '.join(str(e.source) for e in entries)}"
                 for reg in (loaded.cells, loaded.tasks) for name, entries in reg.conflicts.items()]
    problems = [str(p) for p in loaded.problems] + conflicts
    if as_json:
        click.echo(json.dumps({"plugins": rows, "problems": problems, "disabled": loaded.disabled}, indent=2))
        return
    table = Table(title="seqkit plugins")
    for col in ("kind", "name", "plugin", "distribution", "version", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(r[k] for k in ("kind", "name", "plugin", "distribution", "version", "description")))
    out.print(table)
    for p in problems:
        out.print(f"[red]problem:[/red] {p}")
    if loaded.disabled:
        out.print(f"disabled by SEQKIT_DISABLE_PLUGINS: {', '.join(loaded.disabled)}")


def positive(ctx, param, value):
    if value is not None and value <= 0:
        raise click.BadParameter("must be > 0")
    return value


@cli.command()
@click.option("--cell", default="gru", show_default=True, help="Registered cell name (see 'seqkit plugins').")
@click.option("--task", default="classification", show_default=True, help="Registered task name.")
@click.option("--hidden-size", type=int, default=32, show_default=True, callback=positive)
@click.option("--num-layers", type=int, default=1, show_default=True, callback=positive)
@click.option("--bidirectional/--unidirectional", default=False, show_default=True)
@click.option("--dropout", type=float, default=0.0, show_default=True, help="Between layers, in training only.")
@click.option("-O", "--cell-option", "cell_options", multiple=True, metavar="KEY=VALUE",
              help="Cell-specific option, e.g. -O nonlinearity=relu (rnn) or -O forget_bias=1.0 (lstm).")
@click.option("-T", "--task-option", "task_options", multiple=True, metavar="KEY=VALUE",
              help="Task option, e.g. -T num_classes=5 -T pooling=mean.")
@click.option("--opset", type=int, default=DEFAULT_OPSET, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="Output file [default: CELL-TASK.onnx].")
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@click.option("--provider", type=click.Choice(sorted(PROVIDERS)), default="cpu", show_default=True,
              help="onnxruntime provider that runs the verification.")
@click.option("--atol", type=float, default=None, help="Absolute tolerance [default: per provider].")
@click.option("--rtol", type=float, default=None, help="Relative tolerance [default: per provider].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the initial weights.")
@click.option("--no-verify", is_flag=True, help="Skip the onnxruntime comparison (the file is still checked).")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON report.")
@click.pass_context
def export(ctx, cell, task, hidden_size, num_layers, bidirectional, dropout, cell_options, task_options, opset,
           output, force, provider, atol, rtol, seed, no_verify, as_json):
    """Compose CELL and TASK into a model, export it to ONNX and verify it on onnxruntime.

    The file uses native ONNX recurrent ops (or a Scan for custom cells), has symbolic batch and time axes,
    and carries seqkit metadata. Verification compares onnxruntime with PyTorch at the trace shape and at
    unseen (batch, time) shapes with padded batches; any mismatch exits with code 1 and writes nothing.

    \b
    Examples:
      seqkit export --cell gru
      seqkit export --cell lstm --bidirectional --num-layers 2 -o lstm.onnx --force
      seqkit export --cell rnn -O nonlinearity=relu -T pooling=max --json
    """
    from .export import export as do_export
    from .model import compose

    ctx.meta["json"] = as_json
    config = CellConfig(hidden_size, num_layers, bidirectional, dropout, parse_options(cell_options, "cell"))
    composition = compose(cell, task, config, parse_options(task_options, "task"), seed=seed)
    result = do_export(composition, output or f"{cell}-{task}.onnx", opset=opset, force=force,
                       verify=not no_verify, provider=provider, atol=atol, rtol=rtol)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    if result.report:
        print_report(result.report)
    verdict = "verified" if result.report else "checked (not verified: --no-verify)"
    out.print(f"wrote {result.path} ({verdict}, opset {result.opset}, {result.seconds:.1f} s)")


@cli.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.option("--provider", type=click.Choice(sorted(PROVIDERS)), default="cpu", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable JSON report.")
def verify(model, provider, as_json):
    """Run a seqkit ONNX file alone (no PyTorch model) at several shapes and print its metadata.

    Checks the file (onnx.checker, symbolic batch/time axes), then runs it on random valid inputs at the
    trace shape, batch 1, time 1 and longer times: outputs must be finite with the declared shapes.

    \b
    Example:
      seqkit verify gru-classification.onnx --provider cpu
    """
    from .verify import verify_file

    report = verify_file(model, provider)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        meta = report.metadata
        out.print(f"{model}: seqkit {meta.get('version')} cell '{meta.get('cell')}' task '{meta.get('task')}'")
        out.print(f"config: {json.dumps(meta.get('config'))}")
        for kind in ("inputs", "outputs"):
            for s in meta.get(kind, []):
                out.print(f"  {kind[:-1]} {s['name']} {s['dtype']}{s['shape']}: {s['description']}")
        table = Table(title=f"run on {', '.join(report.providers_used)}")
        for col in ("batch", "time", "output", "ok"):
            table.add_column(col)
        for c in report.checks:
            table.add_row(str(c.batch), str(c.time), c.output, "ok" if c.ok else "FAIL " + c.note)
        out.print(table)
        for p in report.problems:
            out.print(f"[red]problem:[/red] {p}")
    if not report.ok:
        raise SeqkitError(f"{model} failed verification: {report.failures()[0]}")


def main(argv=None):
    cli.main(args=argv, prog_name="seqkit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
