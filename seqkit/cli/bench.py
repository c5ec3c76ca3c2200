"""seqkit bench: PyTorch eager vs onnxruntime latency over a grid of cells and shapes, or for one file."""
from __future__ import annotations

import json

import click

from seqkit.cli.common import json_option, out, parse_options, positive, provider_option
from seqkit.errors import SeqkitError
from seqkit.onnx import LOWERINGS


def _ints(ctx, param, value):
    try:
        values = [int(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers, got {value!r}") from None
    if not values or any(v < 1 for v in values):
        raise click.BadParameter("expected positive integers, e.g. 1,32,64")
    return values


def _names(ctx, param, value):
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command()
@click.argument("model", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--cells", default="rnn,lstm,gru", show_default=True, callback=_names,
              help="Comma-separated registered cells (ignored with MODEL).")
@click.option("--batch", "batches", default="1,32,64", show_default=True, callback=_ints, help="Batch sizes.")
@click.option("--time", "times", default="20,200", show_default=True, callback=_ints, help="Sequence lengths.")
@click.option("--hidden", "hiddens", default="128,256", show_default=True, callback=_ints,
              help="Hidden sizes (ignored with MODEL).")
@click.option("--task", default="classification", show_default=True, help="Registered task (ignored with MODEL).")
@click.option("-T", "--task-option", "task_options", multiple=True, metavar="KEY=VALUE", help="Task option.")
@click.option("--lowering", "lowerings", default="auto", show_default=True, callback=_names,
              help=f"Comma-separated lowerings to time side by side: {', '.join(LOWERINGS)} (not with MODEL).")
@click.option("--repeats", type=int, default=15, show_default=True, callback=positive,
              help="Timed samples per engine and point (after warm-up); the median is reported.")
@click.option("--threads", type=int, default=2, show_default=True, callback=positive,
              help="Threads for both PyTorch and onnxruntime.")
@click.option("--clock", type=click.Choice(["wall", "cpu"]), default="wall", show_default=True,
              help="wall: elapsed time. cpu: this process's CPU time, robust to other load (only with --threads 1).")
@provider_option("Where both sides run: cpu, or cuda (PyTorch on the GPU vs onnxruntime's CUDA provider).")
@click.option("--precision", type=click.Choice(["float32", "tf32"]), default="float32", show_default=True,
              help="Matched on both sides (cuda only; tf32 lets both use TF32).")
@json_option("Print the points, summary, machine and warnings as JSON.")
def bench(model, cells, batches, times, hiddens, task, task_options, lowerings, repeats, threads, clock, provider,
          precision, as_json):
    """Time PyTorch eager against onnxruntime: median ms per point, torch/ort ratio, geometric mean.

    Without MODEL: each cell x hidden size is composed with TASK, exported with each --lowering and timed at
    every batch x time point. With MODEL (a seqkit ONNX file): the file against its PyTorch model rebuilt from
    the file's metadata (same architecture; the weights do not change the time). Inputs are full-length batches
    with lengths. Both sides use --threads threads; the engines take turns so that load hits both. A warning is
    printed when the machine is loaded or a point's samples spread widely: measure on an idle machine.

    \b
    Examples:
      seqkit bench                                         the default grid (3 cells x 12 points)
      seqkit bench --cells rnn --batch 64 --time 200 --hidden 256 --lowering native,scan
      seqkit bench gru-classification.onnx --batch 1,32 --time 50 --json
      seqkit bench --threads 1 --clock cpu         on a machine other work shares
    """
    from seqkit.onnx.bench import bench_grid, bench_model

    progress = None if as_json else _progress
    if model:
        if lowerings != ["auto"]:
            raise SeqkitError(f"--lowering {','.join(lowerings)} does not apply to MODEL: a file's lowering was "
                              f"chosen at export (seqkit export --lowering ...); drop --lowering")
        result = bench_model(model, batches, times, repeats, threads, provider, precision, progress=progress,
                             clock=clock)
    else:
        result = bench_grid(cells, batches, times, hiddens, task, parse_options(task_options, "task") or None,
                            None, lowerings, repeats, threads, provider, precision, progress=progress, clock=clock)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    print_bench(result)


def _progress(point):
    ort_ms = " ".join(f"{k} {v:.3g} ms" for k, v in point.ort_ms.items())
    out.print(f"  {point.cell} H={point.hidden} B={point.batch} T={point.time}: torch {point.torch_ms:.3g} ms, "
              f"{ort_ms}", style="dim")


def print_bench(result) -> None:
    from rich.table import Table

    from seqkit.onnx.bench import NOISY_SPREAD

    m = result.machine
    title = (f"PyTorch eager vs onnxruntime on {result.settings['provider']} ({result.settings['precision']}), "
             f"{m['threads']} threads, median ms ({result.settings['clock']} clock) of {result.settings['repeats']}; "
             f"ratio = torch / ort")
    table = Table(title=title)
    for col in ("cell", "H", "B", "T", "torch"):
        table.add_column(col, justify="right" if col != "cell" else "left", no_wrap=True)
    for low in result.lowerings:
        table.add_column(f"ort {low}", justify="right", no_wrap=True)
    for low in result.lowerings:
        table.add_column("ratio" if len(result.lowerings) == 1 else f"x {low}", justify="right", no_wrap=True)

    def ms(value, spread):
        return ("~" if spread > NOISY_SPREAD else "") + f"{value:.3g}"

    for p in result.points:
        row = [p.cell, str(p.hidden), str(p.batch), str(p.time), ms(p.torch_ms, p.torch_spread)]
        row += [ms(p.ort_ms[low], p.ort_spread[low]) for low in result.lowerings]
        row += [_ratio(p.ratio(low)) for low in result.lowerings]
        table.add_row(*row)
    out.print(table)
    summary = result.summary()
    for low in result.lowerings:
        parts = [f"{cell} {v['geomean']:.2f}x (min {v['min']:.2f}x)" for cell, v in summary[low].items()]
        out.print(f"geometric mean torch/ort, lowering {low}: " + ", ".join(parts))
    out.print(f"machine: {m['cpu']}, {m['cpus']} CPUs, load {m['load_average']} -> {m.get('load_average_end')}; "
              f"torch {m['torch']}, onnxruntime {m['onnxruntime']}, seqkit {m['seqkit']}, {m['date']}")
    for warning in result.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}")


def _ratio(value: float) -> str:
    text = f"{value:.2f}x"
    return f"[red]{text}[/red]" if value < 1 else text
